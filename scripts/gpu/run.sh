#!/usr/bin/env bash
# Runs the kit that scripts/gpu/bundle.sh built: bench:webgpu (engine, ORT WebGPU EP, ORT wasm) under the
# carried Node and dawn.node, then the PyTorch timing of the same network. Results and logs go to $OUT
# (or a temporary folder): webgpu-bench.json, torch.json, run.log. Also runs on a machine with Mesa's
# lavapipe instead of a GPU (that is how it was tested).
#   OUT=dir bash run.sh [extra bench:webgpu options, e.g. --hidden 128 --runs 11]
set -uo pipefail
kit=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d /tmp/stemdeck-gpu.XXXXXX)
res=${OUT:-$work/results}
mkdir -p "$res" "$work/bin" "$work/sys"
exec > >(tee -a "$res/run.log") 2>&1
say() { echo "[run.sh $(date -u +%H:%M:%S)] $*"; }
say "kit=$kit work=$work results=$res host=$(uname -srm) cpus=$(nproc)"

xz -dc "$kit/node.xz" > "$work/bin/node" && chmod +x "$work/bin/node"
tar -C "$work" -xJf "$kit/app.tar.xz"
export PATH="$work/bin:$PATH"

unpack_deb() { # file.deb destdir, without dpkg if need be
  if command -v dpkg >/dev/null 2>&1; then dpkg -x "$1" "$2"; return; fi
  python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], 'rb').read(); assert data[:8] == b'!<arch>\n'; p = 8
while p < len(data):
    name = data[p:p + 16].decode().strip().rstrip('/'); size = int(data[p + 48:p + 58])
    body = data[p + 60:p + 60 + size]; p += 60 + size + (size & 1)
    if name.startswith('data.tar'): tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
PY
}
libs=$work/sys/usr/lib/x86_64-linux-gnu
dawn=$work/app/node_modules/webgpu/dist/linux-x64/dawn.node
if ldd "$dawn" 2>&1 | grep -q 'not found'; then
  say "dawn.node: libraries missing, using the carried libstdc++"
  unpack_deb "$kit"/debs/libstdc++6_*.deb "$work/sys"
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  say "no Vulkan loader on the host: using the carried one"
  unpack_deb "$kit"/debs/libvulkan1_*.deb "$work/sys"
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/nvidia-smi: /'

say "bench:webgpu $*"
(cd "$work/app" && STEMDECK_ORT_DIST="$work/app/ort" timeout 480 node stemdeck-webgpu-bench.mjs \
  --wasm-threads "$(nproc)" --json "$res/webgpu-bench.json" "$@") || say "bench:webgpu failed (exit $?)"
if python3 -c 'import torch' 2>/dev/null; then
  say "PyTorch timing"
  timeout 300 python3 "$kit/torch_umx.py" --json "$res/torch.json" || say "torch_umx.py failed (exit $?)"
else
  say "no PyTorch here: skipping its timing"
fi
say done
