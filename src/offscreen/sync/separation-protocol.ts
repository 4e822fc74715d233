/** Messages between the in-sync session and its separation worker (separation-worker.ts). */

import type { ChunkingOptions, SeparationOptions } from '../../core/separator';
import type { EngineFault } from '../../extension/messages';

export type ToSeparationWorker =
  | { type: 'init'; id: number; bytes: Uint8Array; ortPath: string; threads: number }
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
  | { type: 'done'; id: number; out: Record<string, Float32Array[]> | null }
  | { type: 'failed'; id: number; error: string };
