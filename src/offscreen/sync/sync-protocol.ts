/** Messages between the offscreen document's main thread and its in-sync AudioWorklet. */
import type { Schedule, StemChunk } from './sync-core';

export const SYNC_PROCESSOR = 'stemdeck-sync';

/** Main thread → worklet. */
export type ToSyncWorklet =
  | { type: 'chunk'; index: number; chunk: StemChunk }
  | { type: 'keep'; from: number; to: number }
  | { type: 'schedule'; schedule: Schedule }
  | { type: 'gains'; gains: number[] };

/** Worklet → main thread. */
export type FromSyncWorklet =
  | {
      type: 'stats';
      /** Media frame the stems play at, or null while the page's own audio plays. */
      position: number | null;
      /** Frames of page audio played while the element played and stems were wanted but missing. */
      missingFrames: number;
      /** The context frame of these stats. */
      ctxFrame: number;
    }
  | {
      type: 'tap';
      /** Context frame of the quantum's first frame. */
      ctxFrame: number;
      output: Float32Array[];
      original: Float32Array[];
      remixed: Uint8Array;
      positions: Float64Array;
      /** Context frames after `ctxFrame` at which `positions` are heard (the pitch shifter's delay). */
      lead: number;
    }
  /** Chunk memory the worklet let go (transferred back, to be freed off the audio thread). */
  | { type: 'release'; buffers: ArrayBuffer[] }
  | { type: 'error'; message: string };
