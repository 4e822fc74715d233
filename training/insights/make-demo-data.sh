#!/usr/bin/env bash
# Builds a small GTZAN-shaped folder for trying `npm run insights` without GTZAN — a demonstration,
# not GTZAN: the "genres" are the two bundled CC-BY songs (one genre per song) and the instrument
# folders of ../shared/data/instruments (bass, guitar, piano, vocals, other). Each source is decoded to
# 22.05 kHz mono 16-bit (GTZAN's format) and cut into consecutive 30-s clips (the last one shorter).
#
#   bash training/insights/make-demo-data.sh [OUT=out/insights-demo-data] [MAX_SECONDS=120]
#
# At most MAX_SECONDS of each instrument folder are used (its files in name order, concatenated).
# Writes OUT/genres/<genre>/<genre>.NNNNN.wav; needs ffmpeg. The source licences (CC BY etc., listed in
# ../shared/data/instruments/README.md and demo/) apply to the clips; keep them out of the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-out/insights-demo-data}
max=${2:-120}
shared=../shared/data
[ -d "$shared/instruments" ] || { echo "error: $shared/instruments not found" >&2; exit 1; }
songs=demo
ls "$songs"/*.ogg >/dev/null 2>&1 || songs=$shared/songs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cut RAW GENRE: s16le 22.05 kHz mono → OUT/genres/GENRE/GENRE.00000.wav, …
cut() {
  mkdir -p "$out/genres/$2"
  ffmpeg -v error -y -f s16le -ar 22050 -ac 1 -i "$1" -f segment -segment_time 30 -segment_start_number 0 \
    -c:a pcm_s16le "$out/genres/$2/$2.%05d.wav"
}

for song in "$songs"/*.ogg; do
  genre=$(basename "$song" .ogg)
  ffmpeg -v error -y -i "$song" -ac 1 -ar 22050 -f s16le "$tmp/$genre.raw"
  cut "$tmp/$genre.raw" "$genre"
done

for dir in "$shared"/instruments/*/; do
  genre=$(basename "$dir")
  : >"$tmp/$genre.raw"
  find "$dir" -type f \( -name '*.flac' -o -name '*.mp3' -o -name '*.wav' -o -name '*.ogg' \) | LC_ALL=C sort |
    while read -r f; do
      [ "$(stat -c %s "$tmp/$genre.raw")" -lt $((max * 22050 * 2)) ] || break
      ffmpeg -v error -nostdin -i "$f" -ac 1 -ar 22050 -f s16le - >>"$tmp/$genre.raw"
    done
  truncate -s "<$((max * 22050 * 2))" "$tmp/$genre.raw"
  cut "$tmp/$genre.raw" "$genre"
done
echo "$(find "$out/genres" -name '*.wav' | wc -l) clips in $out/genres (a demonstration set, not GTZAN)"
