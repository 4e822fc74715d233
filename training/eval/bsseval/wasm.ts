/**
 * The evaluator's SIMD kernels (kernels.wat, embedded by `npm run build:wasm` as kernels.wasm.ts) and a
 * bump allocator over their memory. Working arrays are Float64Array views of that memory, allocated in one
 * call per phase (growing the memory detaches earlier views, so a phase must not keep views across
 * `allocate` calls). Where WebAssembly SIMD is unavailable, or after `setWasmKernelsEnabled(false)`
 * (the tests' pure-JS reference), `wasmKernels()` returns null and callers use their JS loops.
 */
import { KERNELS_WASM_BASE64 } from './kernels.wasm';

interface KernelExports {
  memory: WebAssembly.Memory;
  rows2w8(ma: number, mb: number, panel: number, cols: number, out: number): void;
  panel8(panel: number, rows: number, small: number, base: number, out: number): void;
  rowDot2(row: number, panel: number, stride: number, cols: number, out: number): void;
  panelGen(panel: number, rows: number, q: number, small: number, s: number, base: number, out: number): void;
  crossAcc(
    xr: number,
    xi: number,
    yr: number,
    yi: number,
    stride: number,
    blocks: number,
    accRe: number,
    accIm: number,
    count: number,
  ): void;
  filterEnergies(
    refs: number,
    m: number,
    own: number,
    nown: number,
    allF: number,
    ownF: number,
    tgt: number,
    est: number,
    w: number,
    nb: number,
    count: number,
    out: number,
  ): void;
}

export class WasmKernels {
  readonly k: KernelExports;

  constructor(bytes: Uint8Array) {
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    this.k = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
  }

  /**
   * Zeroed views of the given numbers of doubles, each 16-byte aligned, replacing everything allocated
   * before (whose views must no longer be used).
   */
  allocate(sizes: readonly number[]): Float64Array<ArrayBuffer>[] {
    const padded = sizes.map((n) => n + (n & 1));
    const total = padded.reduce((a, b) => a + b, 0) * 8;
    const memory = this.k.memory;
    const have = memory.buffer.byteLength;
    if (total > have) memory.grow(Math.ceil((total - have) / 65536));
    const buffer = memory.buffer as ArrayBuffer;
    new Uint8Array(buffer, 0, total).fill(0);
    let offset = 0;
    return padded.map((n, i) => {
      const view = new Float64Array(buffer, offset, sizes[i]);
      offset += n * 8;
      return view;
    });
  }
}

/** Byte offset of a view into the kernels' memory, as the kernels take pointers. */
export const ptr = (view: Float64Array): number => view.byteOffset;

let instance: WasmKernels | null | undefined;
let enabled = true;

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The kernels, or null where they are disabled or WebAssembly SIMD is unavailable. */
export function wasmKernels(): WasmKernels | null {
  if (!enabled) return null;
  if (instance === undefined) {
    try {
      const bytes = decodeBase64(KERNELS_WASM_BASE64);
      instance = WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>) ? new WasmKernels(bytes) : null;
    } catch {
      instance = null;
    }
  }
  return instance;
}

/** Switches between the SIMD kernels (default) and the pure-JS reference loops. */
export function setWasmKernelsEnabled(on: boolean): void {
  enabled = on;
}
