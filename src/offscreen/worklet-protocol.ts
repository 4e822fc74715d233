/** Messages between the offscreen document's main thread and its remix AudioWorklet. */

/** Main thread → worklet. */
export type ToWorklet =
  | { type: 'stems'; start: number; data: Float32Array[] }
  | { type: 'gains'; gains: number[] };
/** Worklet → main thread. */
export type FromWorklet =
  | { type: 'input'; start: number; channels: Float32Array[] }
  | { type: 'stats'; running: boolean; lateFrames: number; written: number }
  | {
      type: 'tap';
      start: number;
      output: Float32Array[];
      original: Float32Array[];
      remixed: Uint8Array;
    }
  | { type: 'error'; message: string };

export const REMIX_PROCESSOR = 'stemdeck-remix';
