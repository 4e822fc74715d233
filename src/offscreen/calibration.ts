/**
 * Timing the two engines against each other on this machine, and the choice that follows: shared by
 * the delayed path's model loader (model.ts, the offscreen document) and the in-sync remix's
 * separation worker (sync/separation-worker.ts), so both decide by the same calibration and rule
 * (engine-choice.ts). No extension API here (a worker has none): only `navigator.gpu`, which pages
 * and dedicated workers both have.
 */
import { errorText } from '../core/errors';
import type { UmxConfig } from '../core/model/config';
import { mulberry32 } from '../core/random';
import type { MagnitudeModel } from '../core/separator';
import {
  createWebGpuEnsemble,
  engineFeatures,
  umxMembersFromOnnx,
  type WebGpuMagnitudeModel,
} from '../core/webgpu';
import {
  type Calibration,
  decideEngine,
  type EngineDecision,
  MAX_RELATIVE_ERROR,
  relativeError,
} from './engine-choice';

/** Calibration chunk: 4 s of frames, the streaming segment's size. */
const CALIBRATION_FRAMES = 173;

export function describeAdapter(adapter: GPUAdapter): { name: string; fallback: boolean } {
  const info = adapter.info;
  const name =
    [info.vendor, info.architecture, info.description].filter((s) => s).join(' ') || 'unnamed adapter';
  // `isFallbackAdapter` moved from the adapter to its info; read both.
  const fallback =
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { name, fallback };
}

/** The adapter's name as calibrations record it (null: none). */
export function adapterName(adapter: GPUAdapter | null): string | null {
  return adapter ? describeAdapter(adapter).name : null;
}

async function timeEstimate(
  model: MagnitudeModel,
  input: Float32Array,
  bins: number,
): Promise<{ ms: number; out: Float32Array[] }> {
  await model.estimate(input.slice(), 2, bins, CALIBRATION_FRAMES); // warm-up (compilation, buffers)
  const t0 = performance.now();
  const out = await model.estimate(input.slice(), 2, bins, CALIBRATION_FRAMES);
  return { ms: performance.now() - t0, out };
}

export async function requestAdapter(): Promise<GPUAdapter | null> {
  return (await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' })) ?? null;
}

/**
 * Where `adapter` is a hardware one (or any adapter, with `force`), times WASM and the WebGPU engine
 * on one 4-s chunk and compares their outputs; without one there is nothing to choose between, so
 * nothing is timed (start-up stays short). Returns the calibration and, when built, the WebGPU model.
 */
export async function calibrate(
  wasm: MagnitudeModel & { readonly config: UmxConfig },
  bytes: Uint8Array,
  adapter: GPUAdapter | null,
  force = false,
): Promise<{ calibration: Calibration; gpu: WebGpuMagnitudeModel | null }> {
  const untimed = { wasmMs: null, webgpuMs: null, relativeError: null, webgpuError: null };
  if (!adapter) return { calibration: { adapter: null, fallbackAdapter: false, ...untimed }, gpu: null };
  const { name, fallback } = describeAdapter(adapter);
  if (fallback && !force) {
    return { calibration: { adapter: name, fallbackAdapter: true, ...untimed }, gpu: null };
  }
  const { config } = wasm;
  const random = mulberry32(7);
  const input = Float32Array.from({ length: 2 * config.nbBins * CALIBRATION_FRAMES }, () => random());
  const wasmRun = await timeEstimate(wasm, input, config.nbBins);
  let gpu: WebGpuMagnitudeModel | null = null;
  try {
    const device = await adapter.requestDevice({
      requiredFeatures: engineFeatures(adapter),
      requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize },
    });
    gpu = await createWebGpuEnsemble(device, umxMembersFromOnnx(bytes));
    const gpuRun = await timeEstimate(gpu, input, config.nbBins);
    return {
      calibration: {
        adapter: name,
        fallbackAdapter: fallback,
        wasmMs: wasmRun.ms,
        webgpuMs: gpuRun.ms,
        relativeError: relativeError(gpuRun.out, wasmRun.out),
        webgpuError: null,
        webgpuSubgroups: gpu.subgroups,
      },
      gpu,
    };
  } catch (e) {
    gpu?.release();
    return {
      calibration: {
        adapter: name,
        fallbackAdapter: fallback,
        ...untimed,
        wasmMs: wasmRun.ms,
        webgpuError: errorText(e),
      },
      gpu: null,
    };
  }
}

export interface EngineChoice {
  readonly calibration: Calibration;
  readonly decision: EngineDecision;
  /** The WebGPU model when it is the choice (the caller owns it), else null. */
  readonly gpu: WebGpuMagnitudeModel | null;
  /** A new calibration for the caller's cache, or null to leave the cache as it is. */
  readonly store: Calibration | null;
}

/**
 * The engine for this machine, given the calibration cached for this adapter and model (null: none).
 * A cached WASM decision stands without timing anything (later starts stay quick); otherwise the
 * engines are timed — never calibrated here, or WebGPU won before and must be built again — and a
 * cached WebGPU win stands while the engine still builds. `forceWebGpu` (test builds only): WebGPU
 * runs wherever it builds and agrees with WASM, even on a software adapter, so the browser tests can
 * exercise that path; nothing is stored then.
 */
export async function chooseEngine(
  wasm: MagnitudeModel & { readonly config: UmxConfig },
  bytes: Uint8Array,
  adapter: GPUAdapter | null,
  cached: Calibration | null,
  forceWebGpu = false,
): Promise<EngineChoice> {
  const mine = cached !== null && cached.adapter === adapterName(adapter) ? cached : null;
  if (!forceWebGpu && mine !== null && decideEngine(mine).engine === 'wasm') {
    return { calibration: mine, decision: decideEngine(mine), gpu: null, store: null };
  }
  const run = await calibrate(wasm, bytes, adapter, forceWebGpu);
  if (forceWebGpu) {
    const c = run.calibration;
    const agrees = run.gpu !== null && c.relativeError !== null && c.relativeError <= MAX_RELATIVE_ERROR;
    if (agrees) {
      const reason = `WebGPU forced by the test build on ${c.adapter} (${c.webgpuMs?.toFixed(0)} ms vs WASM ${c.wasmMs?.toFixed(0)} ms per 4-s chunk)`;
      return { calibration: c, decision: { engine: 'webgpu', reason }, gpu: run.gpu, store: null };
    }
    run.gpu?.release();
    return { calibration: c, decision: decideEngine(c), gpu: null, store: null };
  }
  const calibration = mine !== null && run.gpu !== null ? mine : run.calibration;
  const decision = decideEngine(calibration);
  const store = mine === null ? run.calibration : null;
  if (decision.engine === 'webgpu' && run.gpu) return { calibration, decision, gpu: run.gpu, store };
  run.gpu?.release();
  return { calibration, decision, gpu: null, store };
}
