/**
 * The AudioWorklet side of the in-sync remix (audio thread): wraps SyncCore, takes stem chunks,
 * schedules and gains from the main thread, reports where it plays. Bundled on its own by vite
 * (`?worker&url`). A fault here passes the capture through: the page's own audio, never silence.
 */
// Registers the pitch shifter's processor ('signalsmith-stretch') in this same worklet scope, so
// the main thread can create it without loading a second module (sync-session.ts, `shifter`).
import 'signalsmith-stretch';
import { errorText } from '../../core/errors';
import { SyncCore, type SyncCoreOptions } from './sync-core';
import { type FromSyncWorklet, SYNC_PROCESSOR, type ToSyncWorklet } from './sync-protocol';

// The AudioWorkletGlobalScope is not in TypeScript's DOM lib.
declare const sampleRate: number;
declare const currentFrame: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: { processorOptions?: unknown });
}
declare function registerProcessor(name: string, ctor: new (options: never) => AudioWorkletProcessor): void;

class SyncProcessor extends AudioWorkletProcessor {
  private readonly core: SyncCore;
  private frames = 0;
  private failed = false;

  constructor(options: { processorOptions: Omit<SyncCoreOptions, 'sampleRate'> }) {
    super(options);
    this.core = new SyncCore({ ...options.processorOptions, sampleRate });
    this.port.onmessage = (e: MessageEvent<ToSyncWorklet>) => {
      try {
        const m = e.data;
        if (m.type === 'chunk') this.core.putChunk(m.index, m.chunk);
        else if (m.type === 'keep') this.release(this.core.keepChunks(m.from, m.to));
        else if (m.type === 'schedule') this.core.setSchedule(m.schedule);
        else this.core.setGains(m.gains);
      } catch (err) {
        this.fail(err);
      }
    };
  }

  /**
   * Hands chunks it no longer keeps back to the main thread (transferred), so that their memory is
   * freed there: left to this thread's garbage collector, a few hundred of them were swept in one
   * go, 180 ms that the audio thread did not render (a Chrome trace of the e2e sync scenario).
   */
  private release(dropped: (Int16Array | Float32Array)[]): void {
    if (dropped.length === 0) return;
    const buffers = [...new Set(dropped.map((d) => d.buffer as ArrayBuffer))];
    this.port.postMessage({ type: 'release', buffers } satisfies FromSyncWorklet, buffers);
  }

  private fail(err: unknown): void {
    this.failed = true;
    this.port.postMessage({ type: 'error', message: errorText(err) } satisfies FromSyncWorklet);
  }

  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const output = outputs[0];
    const shifted = outputs[1];
    const input = inputs[0] ?? [];
    if (this.failed) {
      output.forEach((ch, c) => {
        if (input.length > 0) ch.set(input[Math.min(c, input.length - 1)]);
      });
      return true;
    }
    try {
      const ev = this.core.process(currentFrame, input, output, shifted);
      if (ev.tap)
        this.port.postMessage({ type: 'tap', ctxFrame: currentFrame, ...ev.tap } satisfies FromSyncWorklet);
      this.frames += output[0].length;
      if (this.frames >= sampleRate / 20) {
        this.frames = 0;
        this.port.postMessage({
          type: 'stats',
          position: this.core.position,
          missingFrames: this.core.missingFrames,
          ctxFrame: currentFrame,
        } satisfies FromSyncWorklet);
      }
    } catch (err) {
      this.fail(err);
    }
    return true;
  }
}

registerProcessor(SYNC_PROCESSOR, SyncProcessor as unknown as new (options: never) => AudioWorkletProcessor);
