/** Messages between the in-sync session and its separation worker (separation-worker.ts). */

import type { ChunkingOptions, SeparationOptions } from '../../core/separator';
import type { EngineFault } from '../../extension/messages';

export type ToSeparationWorker =
  /** Starts onnxruntime (its WebAssembly and threads) while the model file is still being read. */
  | { type: 'prepare'; id: number; ortPath: string; threads: number }
  | { type: 'init'; id: number; bytes: Uint8Array }
  | {
      type: 'job';
      id: number;
      job: number;
      channels: number;
      /** The input's sample rate; the worker resamples it to `modelRate`. */
      rate: number;
      modelRate: number;
      options: SeparationOptions;
      chunking: ChunkingOptions;
    }
  | { type: 'push'; id: number; job: number; block: Float32Array[] }
  | { type: 'flush'; id: number; job: number }
  /** Swap in the model with onnxruntime's graph optimisations (see separation-worker.ts). */
  | { type: 'optimise'; id: number }
  | { type: 'end'; job: number }
  | { type: 'fault'; fault: EngineFault };

export type FromSeparationWorker =
  | {
      type: 'done';
      id: number;
      out: Record<string, Float32Array[]> | null;
      /** `prepare`, `init`: what took how many milliseconds (the switch-on's trace). */
      took?: [string, number];
    }
  | { type: 'failed'; id: number; error: string };

/**
 * An ONNX model of one Identity node (x → y, float32 [1]), 68 bytes: the worker's `prepare` starts
 * onnxruntime on it (separation-protocol.test.ts runs it).
 */
export const WARM_UP_MODEL = Uint8Array.from(
  atob('CAg6OgoQCgF4EgF5IghJZGVudGl0eRIEd2FybVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEBE='),
  (c) => c.charCodeAt(0),
);
