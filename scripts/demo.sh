#!/usr/bin/env bash
# `npm run demo`: Stemdeck's main job until a trained model ships — the three oracle separators on the
# MUSDB18-HQ sample track, their stems written to out/demo/<oracle>/stems and scored by the evaluator
# into out/demo/<oracle>/report (summary table, per-track JSON, box plots, index.md).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${STEMDECK_DATA:-../shared/data}"
root="$data/musdb18-hq-sample"
if [ ! -d "$root/test" ]; then
  echo "demo: the MUSDB18-HQ sample is not at $root (set STEMDECK_DATA to the folder holding musdb18-hq-sample)." >&2
  exit 1
fi
for oracle in mix irm1 irm2; do
  npx tsx training/cli/eval.ts --musdb "$root" --subset test --oracle "$oracle" \
    --report "out/demo/$oracle/report" --save-estimates "out/demo/$oracle/stems"
  echo
done
echo "demo: stems in out/demo/<oracle>/stems/<track>/<stem>.wav, reports in out/demo/<oracle>/report/index.md"
