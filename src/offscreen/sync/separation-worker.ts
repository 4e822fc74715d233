/**
 * The in-sync remix's separation, off the offscreen document's main thread: that thread must stay
 * free to follow the page's clock (a seek must reach the audio thread in milliseconds, and a
 * 3-s separation step holds a thread for about a second on a small machine, and loading the
 * resampler's WebAssembly for a new job as long). Runs the shipped model with onnxruntime-web (WASM,
 * its own threads) inside the shared ChunkedSeparator, one per job, behind its resampler.
 * Requests are handled strictly in order.
 */
import * as ort from 'onnxruntime-web/wasm';
import { errorText } from '../../core/errors';
import { createOnnxModel, type OnnxMagnitudeModel } from '../../core/onnx-model';
import { ChunkedSeparator } from '../../core/separator';
import type { EngineFault } from '../../extension/messages';
import type { StreamSeparator } from './ahead';
import { resampling } from './resample';
import type { FromSeparationWorker, ToSeparationWorker } from './separation-protocol';

let model: OnnxMagnitudeModel | null = null;
let fault: EngineFault | null = null;
const jobs = new Map<number, StreamSeparator>();
let chain: Promise<void> = Promise.resolve();

const post = (msg: FromSeparationWorker, transfer: Transferable[] = []) =>
  (self as unknown as Worker).postMessage(msg, transfer);

async function handle(m: ToSeparationWorker): Promise<void> {
  try {
    switch (m.type) {
      case 'init': {
        ort.env.wasm.wasmPaths = m.ortPath;
        ort.env.wasm.numThreads = m.threads;
        model = await createOnnxModel<ort.InferenceSession.SessionOptions>(ort, m.bytes, {
          executionProviders: ['wasm'],
          graphOptimizationLevel: 'all',
        });
        post({ type: 'done', id: m.id, out: null });
        return;
      }
      case 'job': {
        const loaded = model;
        if (!loaded) throw new Error('the separation worker has no model');
        const faulty = {
          targets: loaded.targets,
          estimate: async (...args: Parameters<OnnxMagnitudeModel['estimate']>) => {
            if (fault === 'model-error') throw new Error('injected model fault');
            if (fault === 'too-slow') await new Promise((r) => setTimeout(r, 4000));
            return loaded.estimate(...args);
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

self.onmessage = (e: MessageEvent<ToSeparationWorker>) => {
  chain = chain.then(() => handle(e.data));
};
