#!/usr/bin/env bash
# Debian/Ubuntu packages Stemdeck's tools and tests use: ffmpeg (decoding, MUSDB18 .stem.mp4),
# Chromium (the extension's end-to-end tests), and FluidSynth with three GM soundfonts (the synthetic
# multitrack generator, training/synth), and Mesa's software Vulkan driver (lavapipe) from
# bookworm-backports on Debian 12 (the WebGPU engine's tests in Node: Dawn rejects Mesa 22's lavapipe,
# Mesa ≥ 24 works). Installs only what is missing.
#
# --data also installs the Frets on Fire song packages (8 real songs with an isolated guitar track,
# CC BY-SA 3.0 / MIT), which training and the real-guitar evaluation read (training/data/fretsonfire.ts),
# and lv2file + guitarix-lv2 (real amp, cabinet and pedal models for DI guitar: `npm run synth --
# --amp guitarix`); the tests do not need them.
set -euo pipefail
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
need=()
if [ "${1:-}" = --data ]; then
  for p in fretsonfire-songs-muldjord fretsonfire-songs-sectoid lv2file guitarix-lv2; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
  done
fi
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v ffprobe >/dev/null || need+=(ffmpeg)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v fluidsynth >/dev/null || need+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || need+=(timgm6mb-soundfont)
[ -e /usr/share/sounds/sf3/MuseScore_General.sf3 ] || need+=(musescore-general-soundfont)
updated=""
if ((${#need[@]})); then
  $sudo apt-get update
  updated=1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi

# Software Vulkan (lavapipe) new enough for Dawn: Mesa ≥ 24. Debian 12 ships 22.3, so take it from
# bookworm-backports there; other releases take their own if it is new enough.
mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [ -z "$mesa" ] || dpkg --compare-versions "$mesa" lt 24; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  if [ "$codename" = bookworm ]; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo 'deb http://deb.debian.org/debian bookworm-backports main' |
        $sudo tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
      updated=""
    fi
    [ -n "$updated" ] || $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends \
      -t bookworm-backports mesa-vulkan-drivers libvulkan1
  else
    [ -n "$updated" ] || $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends \
      mesa-vulkan-drivers libvulkan1 || echo "install-system-deps: no Vulkan driver; WebGPU tests will skip" >&2
  fi
fi
