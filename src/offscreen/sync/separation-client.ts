/**
 * The main-thread side of the separation worker: request/reply over postMessage, and a
 * `StreamSeparator` per job for the AheadSeparator.
 */

import { readModelConfig } from '../../core/onnx-model';
import type { ChunkingOptions, SeparationOptions } from '../../core/separator';
import type { EngineFault } from '../../extension/messages';
import type { Calibration } from '../engine-choice';
import type { StreamSeparator } from './ahead';
import type { FromSeparationWorker, ToSeparationWorker, WorkerEngine } from './separation-protocol';
import SeparationWorker from './separation-worker.ts?worker';

const now = () => performance.timeOrigin + performance.now();

type Done = Extract<FromSeparationWorker, { type: 'done' }>;
type Pending = { ok: (done: Done) => void; fail: (e: Error) => void };

/** Where the worker's engine calibration is kept between workers (the offscreen document's storage). */
export interface CalibrationCache {
  read(modelBytes: number): Calibration | null;
  /** null: forget it (the WebGPU engine failed, so the next worker measures again). */
  write(modelBytes: number, calibration: Calibration | null): void;
}

export class SeparationClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextJob = 1;
  private closed = false;
  private optimised: Promise<void> | null = null;
  /** The model file's size (the calibration cache's key). */
  private modelSize = 0;
  /** The engine the worker runs its chunks on (`optimise` may move it to WebGPU). */
  engine: WorkerEngine | null = null;
  /** Why WASM took over from WebGPU during a run, if it did. */
  failover: string | null = null;
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

  private constructor(private readonly cache: CalibrationCache | null) {
    this.worker = new SeparationWorker();
    this.worker.onmessage = (e: MessageEvent<FromSeparationWorker>) => {
      const m = e.data;
      if (m.type === 'failover') {
        this.failover = m.reason;
        this.cache?.write(this.modelSize, null);
        return;
      }
      if (m.type === 'engine') {
        this.engine = m.engine;
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === 'done') {
        if (m.took) this.steps.push([`${m.took[0]} ${m.took[1].toFixed(0)} ms`, now()]);
        p.ok(m);
      } else p.fail(new Error(m.error));
    };
    this.worker.onerror = (e) => this.failAll(new Error(`the separation worker failed: ${e.message}`));
  }

  /**
   * Starts a worker with the model (`model`'s bytes, transferred) and onnxruntime's files at
   * `ortPath`: the client at once (so that `close` stops it even mid-start) and a promise of it ready.
   * `cache` keeps the engine calibration for the next worker (none: every worker measures again).
   */
  static start(
    model: Promise<Uint8Array>,
    ortPath: string,
    threads: number,
    cache: CalibrationCache | null = null,
  ): { client: SeparationClient; ready: Promise<SeparationClient> } {
    const c = new SeparationClient(cache);
    const prepared = c.request({ type: 'prepare', id: 0, ortPath, threads });
    prepared.catch(() => undefined); // awaited below, unless reading the model failed first
    const ready = (async () => {
      try {
        const bytes = await model;
        c.steps.push(['model read', now()]);
        c.targets = readModelConfig(bytes).targets;
        c.modelSize = bytes.length;
        c.threads = threads;
        await prepared;
        await c.call({ type: 'init', id: 0, bytes }, [bytes.buffer]);
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
   * Has the worker build its optimised session and pick its engine (once; later calls return at
   * once). It holds the worker for about a second the first time — seconds where the WebGPU engine
   * is built and timed — so call it when the stems ahead can wait that long.
   */
  optimise(): Promise<void> {
    this.optimised ??= (async () => {
      const cached = this.cache?.read(this.modelSize) ?? null;
      const { engine } = await this.call({ type: 'optimise', id: 0, cached });
      this.engine = engine ?? null;
      if (engine?.store) this.cache?.write(this.modelSize, engine.store);
    })();
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

  private async request(msg: ToSeparationWorker & { id: number }, transfer: Transferable[] = []) {
    return (await this.call(msg, transfer)).out;
  }

  private call(msg: ToSeparationWorker & { id: number }, transfer: Transferable[] = []): Promise<Done> {
    const id = this.nextId++;
    return new Promise<Done>((ok, fail) => {
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
