#!/usr/bin/env bash
# `npm run demo`: Stemdeck's main job — the shipped model separates the two bundled CC-BY songs (demo/)
# into out/demo/model/<song>/<stem>.wav; then, where the MUSDB18-HQ sample is available, the three oracle
# separators run on it with their stems in out/demo/<oracle>/stems and evaluator reports in
# out/demo/<oracle>/report (summary table, per-track JSON, box plots, index.md).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsx training/cli/separate.ts demo/*.ogg --out out/demo/model
echo
data="${STEMDECK_DATA:-../shared/data}"
root="$data/musdb18-hq-sample"
if [ ! -d "$root/test" ]; then
  echo "demo: the MUSDB18-HQ sample is not at $root, so the oracle/evaluator part is skipped (set STEMDECK_DATA to the folder holding musdb18-hq-sample)."
  exit 0
fi
for oracle in mix irm1 irm2; do
  npx tsx training/cli/eval.ts --musdb "$root" --subset test --oracle "$oracle" \
    --report "out/demo/$oracle/report" --save-estimates "out/demo/$oracle/stems"
  echo
done
echo "demo: model stems in out/demo/model/<song>/, oracle stems in out/demo/<oracle>/stems/<track>/, reports in out/demo/<oracle>/report/index.md"
