/**
 * Loads the shipped model into onnxruntime-web's WASM execution provider, once per offscreen
 * document. The ORT loader and .wasm ship inside the extension (`ort/`, copied by vite.config.ts),
 * so nothing is fetched from the network.
 *
 * Why WASM and not ORT's WebGPU EP: measured on an H100, that EP runs this network 4–6× slower
 * than WASM on the same machine (one GPU program per LSTM time step; docs/BENCHMARKS.md,
 * ../shared/notes), and on machines without a GPU the only adapter is a software fallback. A GPU
 * engine that wins is issue 9's work; until then WASM is the engine on every machine.
 */
import * as ort from 'onnxruntime-web/wasm';
import browser from 'webextension-polyfill';
import { createOnnxModel, type OnnxMagnitudeModel } from '../core/onnx-model';

export const MODEL_PATH = 'models/stemdeck-umx4.onnx';
export const ORT_PATH = 'ort/';

export interface LoadedModel {
  readonly model: OnnxMagnitudeModel;
  readonly backend: 'wasm';
  readonly threads: number;
}

let loading: Promise<LoadedModel> | null = null;

/** WASM threads: only in a cross-origin-isolated page (the manifest's COOP/COEP keys), at most 4. */
export function wasmThreads(): number {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

export function loadModel(): Promise<LoadedModel> {
  loading ??= (async () => {
    const threads = wasmThreads();
    ort.env.wasm.wasmPaths = browser.runtime.getURL(ORT_PATH);
    ort.env.wasm.numThreads = threads;
    const response = await fetch(browser.runtime.getURL(MODEL_PATH));
    if (!response.ok) throw new Error(`the model file is missing from the extension (${response.status})`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const model = await createOnnxModel<ort.InferenceSession.SessionOptions>(ort, bytes, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    return { model, backend: 'wasm' as const, threads };
  })();
  // A failed load may succeed next time (e.g. memory pressure): do not cache the failure.
  loading.catch(() => {
    loading = null;
  });
  return loading;
}
