/**
 * Which engine runs the model on this machine: the project's WebGPU engine (src/core/webgpu) or
 * onnxruntime-web's WASM. Never by the mere presence of an adapter (ORT's own WebGPU EP lost to WASM
 * even on an H100): a short calibration times both on a real-size chunk, off the audio path, checks
 * they agree, and the faster wins. Software adapters (SwiftShader, `isFallbackAdapter`) are never
 * chosen. The rule is pure and unit-tested; the timing lives in model.ts.
 */

export interface Calibration {
  /** Adapter description, null when `navigator.gpu` gave none. */
  readonly adapter: string | null;
  readonly fallbackAdapter: boolean;
  readonly wasmMs: number | null;
  /** null: the WebGPU engine was not timed (no adapter, fallback adapter, or it failed to build). */
  readonly webgpuMs: number | null;
  /** Largest |WebGPU − WASM| over the calibration chunk's estimates, relative to their peak. */
  readonly relativeError: number | null;
  /** Why the WebGPU engine could not be built or run, if it could not. */
  readonly webgpuError: string | null;
  /** Whether the timed WebGPU engine ran its subgroup kernels (absent in older cached calibrations). */
  readonly webgpuSubgroups?: boolean;
}

export interface EngineDecision {
  readonly engine: 'wasm' | 'webgpu';
  /** In words, for the popup and the logs. */
  readonly reason: string;
}

/** The two engines must agree this closely (fp32 both; the model stores fp16 weights). */
export const MAX_RELATIVE_ERROR = 1e-3;
/** WebGPU must beat WASM by this factor to be worth a second engine's risks (device loss). */
export const WEBGPU_MARGIN = 0.9;

export function decideEngine(c: Calibration): EngineDecision {
  if (c.adapter === null) return { engine: 'wasm', reason: 'no WebGPU adapter' };
  if (c.fallbackAdapter) {
    return { engine: 'wasm', reason: `the WebGPU adapter (${c.adapter}) is a software fallback` };
  }
  if (c.webgpuError !== null || c.webgpuMs === null) {
    return { engine: 'wasm', reason: `the WebGPU engine failed: ${c.webgpuError ?? 'not timed'}` };
  }
  if (c.relativeError === null || !(c.relativeError <= MAX_RELATIVE_ERROR)) {
    return {
      engine: 'wasm',
      reason: `the WebGPU engine disagreed with WASM (relative error ${c.relativeError})`,
    };
  }
  if (c.wasmMs === null || c.webgpuMs < WEBGPU_MARGIN * c.wasmMs) {
    return {
      engine: 'webgpu',
      reason: `WebGPU ${c.webgpuMs.toFixed(0)} ms vs WASM ${c.wasmMs?.toFixed(0) ?? '?'} ms per 4-s chunk on ${c.adapter}`,
    };
  }
  return {
    engine: 'wasm',
    reason: `WASM measured faster (${c.wasmMs.toFixed(0)} ms vs WebGPU ${c.webgpuMs.toFixed(0)} ms per 4-s chunk)`,
  };
}

/** Largest |a − b| relative to the peak |b| over all targets' estimates. */
export function relativeError(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let diff = 0;
  let peak = 0;
  for (let j = 0; j < b.length; j++) {
    for (let i = 0; i < b[j].length; i++) {
      diff = Math.max(diff, Math.abs(a[j][i] - b[j][i]));
      peak = Math.max(peak, Math.abs(b[j][i]));
    }
  }
  return peak > 0 ? diff / peak : diff;
}
