#!/usr/bin/env bash
# Debian/Ubuntu packages Stemdeck's tools and tests use: ffmpeg (decoding, MUSDB18 .stem.mp4),
# Chromium (the extension's end-to-end tests), and FluidSynth with three GM soundfonts (the synthetic
# multitrack generator, training/synth). Installs only what is missing.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v ffprobe >/dev/null || need+=(ffmpeg)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v fluidsynth >/dev/null || need+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || need+=(timgm6mb-soundfont)
[ -e /usr/share/sounds/sf3/MuseScore_General.sf3 ] || need+=(musescore-general-soundfont)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi
