/**
 * Loads the shipped model once per offscreen document and picks the engine that runs it on this
 * machine: onnxruntime-web's WASM execution provider (SIMD, threads), or the project's own WebGPU
 * engine (src/core/webgpu) where a calibration says it is faster (engine-choice.ts). The ORT loader
 * and .wasm ship inside the extension (`ort/`, copied by vite.config.ts); nothing is fetched from the
 * network.
 *
 * ORT's own WebGPU execution provider is not used: it runs one GPU program per LSTM time step, which
 * made it slower than its WASM provider even on a data-centre GPU (docs/ARCHITECTURE.md).
 */
import * as ort from 'onnxruntime-web/wasm';
import browser from 'webextension-polyfill';
import type { UmxConfig } from '../core/model/config';
import { createOnnxModel, type OnnxMagnitudeModel } from '../core/onnx-model';
import type { MagnitudeModel } from '../core/separator';
import { SHIPPED_MODEL_PATH } from '../core/shipped-model';
import type { WebGpuMagnitudeModel } from '../core/webgpu';
import { adapterName, calibrate, chooseEngine, requestAdapter } from './calibration';
import { type Calibration, decideEngine, type EngineDecision } from './engine-choice';
import { failoverModel } from './failover';
import type { CalibrationCache } from './sync/separation-client';

declare const __STEMDECK_MODEL_PATH__: string;
/** The model this build ships (vite.config.ts: `STEMDECK_MODEL` or the default). */
export const MODEL_PATH: string =
  typeof __STEMDECK_MODEL_PATH__ === 'undefined' ? SHIPPED_MODEL_PATH : __STEMDECK_MODEL_PATH__;
export const ORT_PATH = 'ort/';
const CACHE_PREFIX = 'engine:';
const SYNC_CACHE_PREFIX = 'engine-sync:';

export interface LoadedModel {
  readonly model: MagnitudeModel & { readonly config: UmxConfig };
  /** The engine running now (WebGPU falls back to WASM for good on a device loss). */
  readonly backend: 'wasm' | 'webgpu';
  readonly threads: number;
  readonly decision: EngineDecision;
  readonly calibration: Calibration;
  /** Set when the WebGPU engine failed during a run and WASM took over. */
  readonly failover: string | null;
}

let loading: Promise<LoadedModel> | null = null;

/** WASM threads: only in a cross-origin-isolated page (the manifest's COOP/COEP keys), at most 4. */
export function wasmThreads(): number {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

/**
 * WASM threads of the in-sync remix's separation worker: one core fewer than the machine has. That
 * path also decodes the page's feed, schedules against its clock and plays from the audio thread
 * while it separates; with every core separating, all of that waited (on two cores: a slower
 * switch-on, a higher load and no fewer underruns than with one thread —
 * docs/experiments/2026-12-07-read-ahead-sync.md). The delayed path keeps every core: there the
 * extra thread is measurably faster.
 */
export function syncWorkerThreads(): number {
  return Math.max(1, Math.min(4, wasmThreads(), (navigator.hardwareConcurrency || 1) - 1));
}

export async function modelBytes(): Promise<Uint8Array> {
  const response = await fetch(browser.runtime.getURL(MODEL_PATH));
  if (!response.ok) throw new Error(`the model file is missing from the extension (${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
}

async function loadWasm(bytes: Uint8Array, threads: number): Promise<OnnxMagnitudeModel> {
  ort.env.wasm.wasmPaths = browser.runtime.getURL(ORT_PATH);
  ort.env.wasm.numThreads = threads;
  return createOnnxModel<ort.InferenceSession.SessionOptions>(ort, bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
}

/**
 * The calibration cache lives in the offscreen document's own `localStorage` (same extension origin,
 * kept across documents): offscreen documents get no `chrome.storage`. A cache that cannot be read
 * or written only means calibrating again.
 */
function readCachedCalibration(key: string): Calibration | null {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? 'null') as Calibration | null;
    return value !== null && typeof value.fallbackAdapter === 'boolean' ? value : null;
  } catch {
    return null;
  }
}

function writeCachedCalibration(key: string, calibration: Calibration | null): void {
  try {
    if (calibration === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(calibration));
  } catch {
    // no cache: the next load calibrates again
  }
}

/**
 * The in-sync remix's separation worker keeps its own calibration (it runs one WASM thread fewer
 * than the delayed path, so its timings differ); the worker checks the adapter's name in it.
 */
export const syncCalibrationCache: CalibrationCache = {
  read: (size) => readCachedCalibration(`${SYNC_CACHE_PREFIX}${size}`),
  write: (size, calibration) => writeCachedCalibration(`${SYNC_CACHE_PREFIX}${size}`, calibration),
};

export function loadModel(): Promise<LoadedModel> {
  loading ??= (async () => {
    const threads = wasmThreads();
    const bytes = await modelBytes();
    const wasm = await loadWasm(bytes, threads);
    const adapter = await requestAdapter().catch(() => null);
    // The calibration is cached per adapter and model size, so later sessions start at once.
    const key = `${CACHE_PREFIX}${adapterName(adapter) ?? 'none'}:${bytes.length}`;
    const { calibration, decision, gpu, store } = await chooseEngine(
      wasm,
      bytes,
      adapter,
      readCachedCalibration(key),
    );
    if (store) writeCachedCalibration(key, store);
    if (gpu) return withFailover(gpu, wasm, threads, decision, calibration, key);
    return { model: wasm, backend: 'wasm', threads, decision, calibration, failover: null };
  })();
  // A failed load may succeed next time (e.g. memory pressure): do not cache the failure.
  loading.catch(() => {
    loading = null;
  });
  return loading;
}

/** The WebGPU engine with WASM behind it (failover.ts); a failure clears the cached calibration. */
function withFailover(
  gpu: WebGpuMagnitudeModel,
  wasm: OnnxMagnitudeModel,
  threads: number,
  decision: EngineDecision,
  calibration: Calibration,
  cacheKey: string,
): LoadedModel {
  const f = failoverModel(gpu, wasm, () => writeCachedCalibration(cacheKey, null));
  return {
    model: f.model,
    get backend() {
      return f.backend();
    },
    threads,
    decision,
    calibration,
    get failover() {
      return f.failure();
    },
  };
}

/**
 * Test builds: calibrates even on a software adapter (SwiftShader in headless Chromium), so the
 * WebGPU engine's numerics are checked in the browser; returns what the normal rule would decide.
 */
export async function calibrateForced(): Promise<{ calibration: Calibration; decision: EngineDecision }> {
  const bytes = await modelBytes();
  const wasm = await loadWasm(bytes, wasmThreads());
  try {
    const { calibration, gpu } = await calibrate(wasm, bytes, await requestAdapter(), true);
    gpu?.release();
    return { calibration, decision: decideEngine(calibration) };
  } finally {
    await wasm.release();
  }
}
