/**
 * The main-thread side of the separation worker: request/reply over postMessage, and a
 * `StreamSeparator` per job for the AheadSeparator.
 */

import { readModelConfig } from '../../core/onnx-model';
import type { ChunkingOptions, SeparationOptions } from '../../core/separator';
import type { EngineFault } from '../../extension/messages';
import type { StreamSeparator } from './ahead';
import type { FromSeparationWorker, ToSeparationWorker } from './separation-protocol';
import SeparationWorker from './separation-worker.ts?worker';

const now = () => performance.timeOrigin + performance.now();

type Pending = { ok: (out: Record<string, Float32Array[]> | null) => void; fail: (e: Error) => void };

export class SeparationClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextJob = 1;
  private closed = false;
  private optimised: Promise<void> | null = null;
  /** The model's networks (read from the file before it goes to the worker). */
  targets: readonly string[] = [];
  /** WASM threads the worker's onnxruntime uses. */
  threads = 1;
  /**
   * Seconds from a job's start to its first stems, as the last remix on this worker measured them
   * (null before one ran): a remix switched on again on a kept worker times its first job's lead by it.
   */
  firstOutputSeconds: number | null = null;
  /** [what, wall ms] of the start (the model read, the session made), for the switch-on's trace. */
  readonly steps: [string, number][] = [];

  private constructor() {
    this.worker = new SeparationWorker();
    this.worker.onmessage = (e: MessageEvent<FromSeparationWorker>) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.type === 'done') {
        if (e.data.took) this.steps.push([`${e.data.took[0]} ${e.data.took[1].toFixed(0)} ms`, now()]);
        p.ok(e.data.out);
      } else p.fail(new Error(e.data.error));
    };
    this.worker.onerror = (e) => this.failAll(new Error(`the separation worker failed: ${e.message}`));
  }

  /**
   * Starts a worker with the model (`model`'s bytes, transferred) and onnxruntime's files at
   * `ortPath`: the client at once (so that `close` stops it even mid-start) and a promise of it ready.
   */
  static start(
    model: Promise<Uint8Array>,
    ortPath: string,
    threads: number,
  ): { client: SeparationClient; ready: Promise<SeparationClient> } {
    const c = new SeparationClient();
    const prepared = c.request({ type: 'prepare', id: 0, ortPath, threads });
    prepared.catch(() => undefined); // awaited below, unless reading the model failed first
    const ready = (async () => {
      try {
        const bytes = await model;
        c.steps.push(['model read', now()]);
        c.targets = readModelConfig(bytes).targets;
        c.threads = threads;
        await prepared;
        await c.request({ type: 'init', id: 0, bytes }, [bytes.buffer]);
      } catch (e) {
        c.close();
        throw e;
      }
      return c;
    })();
    return { client: c, ready };
  }

  newSeparator(
    channels: number,
    rate: number,
    modelRate: number,
    options: SeparationOptions,
    chunking: ChunkingOptions,
  ): StreamSeparator {
    const job = this.nextJob++;
    const ready = this.request({ type: 'job', id: 0, job, channels, rate, modelRate, options, chunking });
    return {
      push: async (block) => {
        await ready;
        const copy = block.map((b) => b.slice());
        return this.request(
          { type: 'push', id: 0, job, block: copy },
          copy.map((c) => c.buffer),
        );
      },
      flush: async () => {
        await ready;
        return this.request({ type: 'flush', id: 0, job });
      },
      end: () => this.send({ type: 'end', job }),
    };
  }

  /**
   * Has the worker build its optimised session (once; later calls return at once). It holds the
   * worker for about a second the first time, so call it when the stems ahead can wait that long.
   */
  optimise(): Promise<void> {
    this.optimised ??= this.request({ type: 'optimise', id: 0 }).then(() => undefined);
    return this.optimised;
  }

  injectFault(fault: EngineFault): void {
    this.send({ type: 'fault', fault });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker.terminate();
    this.failAll(new Error('the separation worker was closed'));
  }

  private send(msg: ToSeparationWorker, transfer: Transferable[] = []): void {
    if (!this.closed) this.worker.postMessage(msg, transfer);
  }

  private request(msg: ToSeparationWorker & { id: number }, transfer: Transferable[] = []) {
    const id = this.nextId++;
    return new Promise<Record<string, Float32Array[]> | null>((ok, fail) => {
      if (this.closed) return fail(new Error('the separation worker was closed'));
      this.pending.set(id, { ok, fail });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.fail(e);
    this.pending.clear();
  }
}
