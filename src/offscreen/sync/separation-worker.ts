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
 */
import * as ort from 'onnxruntime-web/wasm';
import { errorText } from '../../core/errors';
import { createOnnxModel, type OnnxMagnitudeModel } from '../../core/onnx-model';
import { ChunkedSeparator } from '../../core/separator';
import type { EngineFault } from '../../extension/messages';
import type { StreamSeparator } from './ahead';
import { resampling } from './resample';
import { type FromSeparationWorker, type ToSeparationWorker, WARM_UP_MODEL } from './separation-protocol';

let model: OnnxMagnitudeModel | null = null;
/** The model file, kept until the optimised session replaces the quick one. */
let modelBytes: Uint8Array | null = null;
let fault: EngineFault | null = null;
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
        model = await session(m.bytes, 'disabled');
        modelBytes = m.bytes;
        post({ type: 'done', id: m.id, out: null, took: ['session', performance.now() - t0] });
        return;
      }
      case 'optimise': {
        if (modelBytes) {
          const quick = model;
          model = await session(modelBytes, 'all');
          modelBytes = null;
          await quick?.release();
        }
        post({ type: 'done', id: m.id, out: null });
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
        fault = m.fault;
        return;
    }
  } catch (e) {
    if ('id' in m) post({ type: 'failed', id: m.id, error: errorText(e) });
  }
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
