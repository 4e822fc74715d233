#!/usr/bin/env bash
# Builds a self-contained kit (≈ 35 MB) that runs `npm run bench:webgpu` — the project's WebGPU engine vs
# onnxruntime-web's WebGPU and wasm EPs — plus a PyTorch CUDA timing of the same network on a lent GPU
# machine, which has CUDA and PyTorch but no Node, npm, Chromium or Vulkan loader (DEVELOPERS.md).
# After ../shared/tools/webgpu-node/build-bundle.sh, which showed how; this one carries our own bench.
#
#   bash scripts/gpu/bundle.sh .gpu-kit            # here (needs npm ci done, apt-get download)
#   device run, carry [".gpu-kit"]:  OUT=$OUT bash .gpu-kit/run.sh
#
# The kit folder is git-ignored (/.gpu-kit/ in .gitignore); the device tool carries at most 64 MiB.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mkdir -p "${1:?destination folder}" && cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
app=$work/app
mkdir -p "$app/node_modules/webgpu/dist/linux-x64" "$app/ort" "$dest/debs"

# The bench as one ES module; only dawn.node (npm "webgpu") stays external, ORT-web is loaded from files.
(cd "$root" && npx esbuild training/bench/webgpu-speed.ts --bundle --platform=node --format=esm \
  --target=node20 --external:webgpu --log-level=warning --outfile="$app/stemdeck-webgpu-bench.mjs" \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);")
w=$root/node_modules/webgpu
cp "$w"/{index.js,package.json,LICENSE.md} "$app/node_modules/webgpu/"
cp "$w/dist/linux-x64/dawn.node" "$app/node_modules/webgpu/dist/linux-x64/"
o=$root/node_modules/onnxruntime-web/dist
cp "$o"/{ort.webgpu.min.mjs,ort-wasm-simd-threaded.asyncify.mjs,ort-wasm-simd-threaded.asyncify.wasm} "$app/ort/"
cp "$root/node_modules/onnxruntime-web/package.json" "$app/ort/"
tar -C "$work" -cJf "$dest/app.tar.xz" app
xz -9 -c "$(command -v node)" > "$dest/node.xz"
cp "$root/scripts/gpu/run.sh" "$root/scripts/gpu/torch_umx.py" "$dest/"
# Vulkan loader (the GPU machine has the NVIDIA ICD but no loader) and a libstdc++ new enough for dawn.node.
(cd "$dest/debs" && apt-get download libvulkan1 libstdc++6 >/dev/null)
du -sh "$dest"
