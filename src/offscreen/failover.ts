/**
 * The WebGPU engine with WASM behind it (fail open): if a WebGPU run fails — device lost, out of
 * memory, a driver fault — that same chunk is re-run on WASM, so the audio has no gap, WASM serves
 * every later chunk, the GPU model is released and `onFailure` runs once (the offscreen document
 * clears its cached calibration there, so the next load measures again). No browser API here: unit
 * tested with fake models.
 */
import { errorText } from '../core/errors';
import type { MagnitudeModel } from '../core/separator';

export interface FailoverModel<C> {
  /** Estimates on WebGPU until it fails once, then on WASM. */
  readonly model: MagnitudeModel & { readonly config: C };
  /** The engine that serves the next chunk. */
  backend(): 'webgpu' | 'wasm';
  /** Why WASM took over, or null while WebGPU runs. */
  failure(): string | null;
}

export function failoverModel<C>(
  gpu: MagnitudeModel & { release(): void },
  wasm: MagnitudeModel & { readonly config: C },
  onFailure: (reason: string) => void,
): FailoverModel<C> {
  let broken: string | null = null;
  const model = {
    config: wasm.config,
    targets: wasm.targets,
    async estimate(magnitude: Float32Array, channels: number, bins: number, frames: number) {
      if (broken === null) {
        try {
          // The engine copies `magnitude` into a GPU buffer, so it is intact for a WASM re-run.
          return await gpu.estimate(magnitude, channels, bins, frames);
        } catch (e) {
          broken = `WebGPU failed (${errorText(e)}), WASM took over`;
          try {
            gpu.release();
          } catch {
            // A lost device may refuse even this; WASM carries on regardless.
          }
          onFailure(broken);
        }
      }
      return wasm.estimate(magnitude, channels, bins, frames);
    },
  };
  return { model, backend: () => (broken === null ? 'webgpu' : 'wasm'), failure: () => broken };
}
