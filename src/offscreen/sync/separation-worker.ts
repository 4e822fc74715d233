/**
 * The in-sync remix's separation, off the offscreen document's main thread: that thread must stay
 * free to follow the page's clock (a seek must reach the audio thread in milliseconds, and a
 * 3-s separation step holds a thread for about a second on a small machine, and loading the
 * resampler's WebAssembly for a new job as long). Runs the shipped model with onnxruntime-web (WASM,
 * its own threads) inside the shared ChunkedSeparator, one per job, behind its resampler.
 * Requests are handled strictly in order.
 *
 * Two sessions, for a quick switch-on: onnxruntime's graph optimiser folds the int8/fp16 weights to
 * float32, which the first time in a page costs over a second of one core; a session without it
 * is ready at once but runs each chunk slower (the weights are dequantised per run). So `init` makes
 * the quick one, and the session asks for `optimise` once the stems ahead no longer need the worker
 * flat out; the swap happens between two requests, so no chunk sees two models.
 *
 * `optimise` also picks the engine, as the delayed path does (calibration.ts): where a hardware
 * WebGPU adapter is there and the calibration (cached by the offscreen document, or timed here the
 * first time) says the project's WebGPU engine is faster, it runs the chunks from then on, with the
 * optimised WASM session behind it (failover.ts: a failed run is re-run on WASM, which stays).
 * Not before: building and timing it takes seconds, which the switch-on cannot wait for.
 */
import * as ort from 'onnxruntime-web/wasm';
import { errorText } from '../../core/errors';
import { createOnnxModel, type OnnxMagnitudeModel } from '../../core/onnx-model';
import { ChunkedSeparator, type MagnitudeModel } from '../../core/separator';
import type { EngineFault } from '../../extension/messages';
import { chooseEngine, requestAdapter } from '../calibration';
import type { Calibration } from '../engine-choice';
import { failoverModel } from '../failover';
import type { StreamSeparator } from './ahead';
import { resampling } from './resample';
import {
  type FromSeparationWorker,
  type ToSeparationWorker,
  WARM_UP_MODEL,
  type WorkerEngine,
} from './separation-protocol';

/** The model the jobs run: the quick session, then the optimised one, or WebGPU in front of it. */
let model: (MagnitudeModel & { readonly targets: readonly string[] }) | null = null;
/** The quick or the optimised WASM session (released when replaced). */
let wasm: OnnxMagnitudeModel | null = null;
/** The model file, until the optimised session and the engine choice are made from it. */
let modelBytes: Uint8Array | null = null;
let optimised = false;
let fault: EngineFault | null = null;
/** Test builds: run WebGPU wherever it builds (`force-webgpu`). */
let forceWebGpu = false;
/** The engine `optimise` chose, and the calibration it was given (for a later forced choice). */
let engine: WorkerEngine | null = null;
let cachedCalibration: Calibration | null = null;
const jobs = new Map<number, StreamSeparator>();

let chain: Promise<void> = Promise.resolve();

const post = (msg: FromSeparationWorker, transfer: Transferable[] = []) =>
  (self as unknown as Worker).postMessage(msg, transfer);

async function handle(m: ToSeparationWorker): Promise<void> {
  try {
    switch (m.type) {
      case 'prepare': {
        ort.env.wasm.wasmPaths = m.ortPath;
        ort.env.wasm.numThreads = m.threads;
        const t0 = performance.now();
        // The first session loads onnxruntime's WebAssembly and starts its threads: on a tiny model,
        // while the main thread still reads the real one.
        const warm = await ort.InferenceSession.create(WARM_UP_MODEL, { executionProviders: ['wasm'] });
        await warm.release();
        post({ type: 'done', id: m.id, out: null, took: ['onnxruntime', performance.now() - t0] });
        return;
      }
      case 'init': {
        const t0 = performance.now();
        wasm = await session(m.bytes, 'disabled');
        model = wasm;
        modelBytes = m.bytes;
        post({ type: 'done', id: m.id, out: null, took: ['session', performance.now() - t0] });
        return;
      }
      case 'optimise': {
        if (!optimised && modelBytes && wasm) {
          const quick = wasm;
          wasm = await session(modelBytes, 'all');
          model = wasm;
          optimised = true;
          await quick.release();
          cachedCalibration = m.cached;
          engine = await pickEngine(wasm, modelBytes);
          // Test builds keep the file for a `force-webgpu` that comes after this choice.
          if (import.meta.env.MODE !== 'test') modelBytes = null;
        }
        post({ type: 'done', id: m.id, out: null, engine: engine ?? undefined });
        return;
      }
      case 'job': {
        if (!model) throw new Error('the separation worker has no model');
        const faulty = {
          targets: model.targets,
          // Whichever session is current (`optimise` swaps it between requests).
          estimate: async (...args: Parameters<OnnxMagnitudeModel['estimate']>) => {
            if (fault === 'model-error') throw new Error('injected model fault');
            if (fault === 'too-slow') await new Promise((r) => setTimeout(r, 4000));
            if (!model) throw new Error('the separation worker has no model');
            return model.estimate(...args);
          },
        };
        const separator = new ChunkedSeparator(faulty, m.channels, m.options, m.chunking);
        jobs.set(m.job, await resampling(separator, m.rate, m.modelRate, m.channels));
        post({ type: 'done', id: m.id, out: null });
        return;
      }
      case 'push':
      case 'flush': {
        const job = jobs.get(m.job);
        if (!job) throw new Error(`no separation job ${m.job}`);
        const out = m.type === 'push' ? await job.push(m.block) : await job.flush();
        if (m.type === 'flush') {
          job.end?.();
          jobs.delete(m.job);
        }
        const buffers = out ? Object.values(out).flatMap((chs) => chs.map((c) => c.buffer)) : [];
        post({ type: 'done', id: m.id, out }, buffers);
        return;
      }
      case 'end':
        jobs.get(m.job)?.end?.();
        jobs.delete(m.job);
        return;
      case 'fault':
        if (m.fault === 'force-webgpu') {
          forceWebGpu = true;
          // Already optimised on WASM: choose again, now forced (between two requests, as always).
          if (optimised && modelBytes && wasm && engine?.backend !== 'webgpu') {
            engine = await pickEngine(wasm, modelBytes);
            post({ type: 'engine', engine });
          }
        } else fault = m.fault;
        return;
    }
  } catch (e) {
    if ('id' in m) post({ type: 'failed', id: m.id, error: errorText(e) });
  }
}

/**
 * Puts the engine the calibration picks in front of the optimised WASM session. The failover's
 * model checks the injected `gpu-lost` fault (test builds) before each WebGPU run, as a lost
 * device would fail it.
 */
async function pickEngine(optimisedWasm: OnnxMagnitudeModel, bytes: Uint8Array): Promise<WorkerEngine> {
  const adapter = await requestAdapter().catch(() => null);
  const choice = await chooseEngine(optimisedWasm, bytes, adapter, cachedCalibration, forceWebGpu);
  const { gpu } = choice;
  if (gpu) {
    let runs = 0;
    const lossy = {
      targets: gpu.targets,
      estimate: async (...args: Parameters<MagnitudeModel['estimate']>) => {
        if (fault === 'gpu-lost') throw new Error('injected device loss');
        const out = await gpu.estimate(...args);
        runs++;
        return out;
      },
      release: () => gpu.release(),
    };
    model = failoverModel(lossy, optimisedWasm, (reason) =>
      post({ type: 'failover', reason: `${reason} (after ${runs} WebGPU run${runs === 1 ? '' : 's'})` }),
    ).model;
  }
  return {
    backend: gpu ? 'webgpu' : 'wasm',
    reason: choice.decision.reason,
    calibration: choice.calibration,
    store: choice.store,
  };
}

function session(bytes: Uint8Array, graphOptimizationLevel: 'disabled' | 'all'): Promise<OnnxMagnitudeModel> {
  return createOnnxModel<ort.InferenceSession.SessionOptions>(ort, bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel,
  });
}

self.onmessage = (e: MessageEvent<ToSeparationWorker>) => {
  chain = chain.then(() => handle(e.data));
};
