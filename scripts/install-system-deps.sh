#!/usr/bin/env bash
# Debian/Ubuntu packages Stemdeck's tools and tests use: ffmpeg (decoding, MUSDB18 .stem.mp4) and
# Chromium (the extension's end-to-end tests). Installs only what is missing.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v ffprobe >/dev/null || need+=(ffmpeg)
[ -x /usr/bin/chromium ] || need+=(chromium)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi
