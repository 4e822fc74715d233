#!/usr/bin/env bash
# Stemdeck, first command on a fresh Debian/Ubuntu machine: install what the project needs, build the
# extension and run it on the bundled demo song (a Chromium window where a display exists; headless
# elsewhere, writing the remix and a popup screenshot to out/try/), then the command-line demo.
# Needs Node.js >= 20.19 with npm (https://nodejs.org or nvm); everything else comes from apt and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "Stemdeck needs Node.js >= 20.19 (found: $(node --version 2>/dev/null || echo none)). Install it from https://nodejs.org or with nvm, then rerun." >&2
  exit 1
fi
bash scripts/install-system-deps.sh
# onnxruntime-node (a devDependency for tests) would download CUDA binaries on install: not needed, and offline it fails.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci
npm run build
npm run try
npm run demo
