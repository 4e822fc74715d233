/** Messages between the in-sync session and its separation worker (separation-worker.ts). */

import type { ChunkingOptions, SeparationOptions } from '../../core/separator';
import type { EngineFault } from '../../extension/messages';
import type { Calibration } from '../engine-choice';

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
  /**
   * Swap in the model with onnxruntime's graph optimisations, then pick the engine (WebGPU or WASM)
   * by the calibration cached for this worker's kind (null: none yet), timing them if need be.
   */
  | { type: 'optimise'; id: number; cached: Calibration | null }
  | { type: 'end'; job: number }
  | { type: 'fault'; fault: EngineFault };

export type FromSeparationWorker =
  | {
      type: 'done';
      id: number;
      out: Record<string, Float32Array[]> | null;
      /** `prepare`, `init`: what took how many milliseconds (the switch-on's trace). */
      took?: [string, number];
      /** `optimise`: the engine that runs the model from now on. */
      engine?: WorkerEngine;
    }
  /** Unasked: the WebGPU engine failed during a run; WASM re-ran that chunk and runs from now on. */
  | { type: 'failover'; reason: string }
  /** Unasked: the engine changed outside `optimise` (test builds: `force-webgpu` after it). */
  | { type: 'engine'; engine: WorkerEngine }
  | { type: 'failed'; id: number; error: string };

/** The separation worker's engine, as its `optimise` chose it (calibration.ts `chooseEngine`). */
export interface WorkerEngine {
  readonly backend: 'wasm' | 'webgpu';
  /** Why, in words (engine-choice.ts). */
  readonly reason: string;
  readonly calibration: Calibration;
  /** A new calibration to cache for the next worker (null: keep the cache as it is). */
  readonly store: Calibration | null;
}

/**
 * An ONNX model of one Identity node (x → y, float32 [1]), 68 bytes: the worker's `prepare` starts
 * onnxruntime on it (separation-protocol.test.ts runs it).
 */
export const WARM_UP_MODEL = Uint8Array.from(
  atob('CAg6OgoQCgF4EgF5IghJZGVudGl0eRIEd2FybVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEBE='),
  (c) => c.charCodeAt(0),
);
