/**
 * The AudioWorklet side of the remix (audio thread): wraps RemixCore, moves input blocks to the
 * main thread and stems back, and reports late frames. Bundled on its own by vite (`?worker&url`).
 */

import { errorText } from '../core/errors';
import { RemixCore, type RemixCoreOptions } from './remix-core';
import { type FromWorklet, REMIX_PROCESSOR, type ToWorklet } from './worklet-protocol';

// The AudioWorkletGlobalScope is not in TypeScript's DOM lib.
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: { processorOptions?: unknown });
}
declare function registerProcessor(name: string, ctor: new (options: never) => AudioWorkletProcessor): void;

class RemixProcessor extends AudioWorkletProcessor {
  private readonly core: RemixCore;
  private frames = 0;
  private failed = false;

  constructor(options: { processorOptions: Omit<RemixCoreOptions, 'sampleRate'> }) {
    super(options);
    this.core = new RemixCore({ ...options.processorOptions, sampleRate });
    this.port.onmessage = (e: MessageEvent<ToWorklet>) => {
      try {
        if (e.data.type === 'stems') this.core.pushStems(e.data.start, e.data.data);
        else this.core.setGains(e.data.gains);
      } catch (err) {
        this.fail(err);
      }
    };
  }

  private fail(err: unknown): void {
    this.failed = true;
    this.port.postMessage({ type: 'error', message: errorText(err) });
  }

  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const output = outputs[0];
    if (this.failed) {
      // Fail open on the audio thread too: pass the original through.
      const input = inputs[0] ?? [];
      output.forEach((ch, c) => {
        if (input.length > 0) ch.set(input[Math.min(c, input.length - 1)]);
      });
      return true;
    }
    try {
      const ev = this.core.process(inputs[0] ?? [], output);
      if (ev.input) {
        this.port.postMessage(
          { type: 'input', start: ev.input.start, channels: ev.input.channels } satisfies FromWorklet,
          ev.input.channels.map((c) => c.buffer),
        );
      }
      if (ev.tap) this.port.postMessage({ type: 'tap', ...ev.tap } satisfies FromWorklet);
      this.frames += output[0].length;
      if (this.frames >= sampleRate / 4) {
        this.frames = 0;
        this.port.postMessage({
          type: 'stats',
          running: this.core.isRunning,
          lateFrames: this.core.lateFrames,
          written: this.core.writtenFrames,
        } satisfies FromWorklet);
      }
    } catch (err) {
      this.fail(err);
    }
    return true;
  }
}

registerProcessor(
  REMIX_PROCESSOR,
  RemixProcessor as unknown as new (
    options: never,
  ) => AudioWorkletProcessor,
);
