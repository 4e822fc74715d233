/// <reference types="@webgpu/types" />
/**
 * TensorFlow.js backend selection for the Node trainer. tfjs-node cannot be installed offline (its
 * install step downloads libtensorflow), so training runs on tfjs-backend-wasm (XNNPACK, SIMD, one
 * thread in Node), the pure-JS cpu backend, or tfjs-backend-webgpu on a WebGPU adapter from Dawn's
 * Node bindings (npm `webgpu`, the implementation the WebGPU inference engine's tests use): a real GPU
 * through Vulkan / Metal / D3D12, or Mesa's lavapipe (software Vulkan) on a machine without one.
 * `npm run bench:train` measures them.
 *
 * The wasm kernel patches (wasm-slice.ts) are registered for the wasm backend only; the webgpu backend
 * runs tfjs' own kernels, with the workarounds of webgpu-kernels.ts.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import './gradients';
import { patchWasmSlicing } from './wasm-slice';

export const TRAIN_BACKENDS = ['wasm', 'cpu', 'webgpu'] as const;
export type TrainBackend = (typeof TRAIN_BACKENDS)[number];

/** A backend that cannot start here (e.g. no WebGPU adapter): the message is one line, for users. */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

/** `wasm`, `cpu` or `webgpu`, for option parsers. */
export function parseTrainBackend(text: string): TrainBackend {
  if (!(TRAIN_BACKENDS as readonly string[]).includes(text))
    throw new Error(`backend must be one of ${TRAIN_BACKENDS.join(', ')}, got "${text}"`);
  return text as TrainBackend;
}

let wasmPathsSet = false;

/** Makes `name` the active tfjs backend (idempotent). Throws BackendUnavailableError when it cannot start. */
export async function useBackend(name: TrainBackend): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    // In Node the wasm backend would look for its .wasm files next to the calling script; point it at
    // the package's dist folder instead (trailing slash: a prefix, not a file).
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(`${dist}${path.sep}`);
    wasmPathsSet = true;
    patchWasmSlicing();
  }
  if (name === 'webgpu') await registerWebGpu();
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) {
      if (name === 'webgpu') throw new BackendUnavailableError(`--backend webgpu: ${webGpuFailure()}`);
      throw new Error(`tfjs backend "${name}" failed to initialise`);
    }
  }
  await tf.ready();
}

/** The WebGPU adapter tfjs trains on, e.g. "mesa / software / llvmpipe…" (null before useBackend('webgpu')). */
export function webGpuAdapter(): string | null {
  return webgpu.adapter;
}

/**
 * Throws when the webgpu device reported an error (a WebGPU validation error, out of memory, device
 * lost) since the backend started: tfjs does not watch for them, and a dispatch that failed validation
 * is dropped with the rest of its command buffer, so every result after it may be garbage. The trainer
 * calls this after each step, before anything is written. No-op on the other backends.
 */
export function assertBackendHealthy(): void {
  if (tf.getBackend() === 'webgpu' && webgpu.deviceError)
    throw new Error(
      `webgpu backend: ${webgpu.deviceError} (results after it are not trustworthy; nothing written)`,
    );
}

/**
 * Dawn's objects, kept reachable for the life of the process (as training/node/webgpu.ts does: when V8
 * collected the GPU instance or the adapter while their device was in use, the process died in native
 * code). `error`: why the backend could not start; `deviceError`: the first error the device reported.
 */
const webgpu: {
  registered: boolean;
  adapter: string | null;
  error: string | null;
  deviceError: string | null;
  keep: unknown[];
} = {
  registered: false,
  adapter: null,
  error: null,
  deviceError: null,
  keep: [],
};

function webGpuFailure(): string {
  return webgpu.error ?? 'tfjs-backend-webgpu failed to initialise (see the warnings above)';
}

/**
 * Registers the `webgpu` tfjs backend on Dawn's Node bindings: `navigator.gpu` as in a browser (tfjs'
 * backend checks for it), then tfjs-backend-webgpu's WebGPUBackend on a device with the limits its own
 * browser factory asks for. Records the reason in `webgpu.error` when there is no adapter.
 */
async function registerWebGpu(): Promise<void> {
  if (webgpu.registered) {
    if (webgpu.error) throw new BackendUnavailableError(`--backend webgpu: ${webgpu.error}`);
    return;
  }
  webgpu.registered = true;
  let dawn: { create(flags: string[]): GPU; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (err) {
    webgpu.error = `npm package "webgpu" (Dawn's Node bindings) could not be loaded: ${err instanceof Error ? err.message.split('\n')[0] : err}`;
    throw new BackendUnavailableError(`--backend webgpu: ${webgpu.error}`);
  }
  // Dawn's classes (GPUBufferUsage, GPUMapMode, …) as globals, as in a browser.
  for (const [k, v] of Object.entries(dawn.globals))
    if (!(k in globalThis)) Object.assign(globalThis, { [k]: v });
  const gpu = dawn.create([]);
  webgpu.keep.push(gpu);
  // tfjs-backend-webgpu looks for navigator.gpu (Node 20 has no navigator; Node ≥ 21 one without gpu).
  const nav = ((globalThis as { navigator?: object }).navigator ?? {}) as { gpu?: GPU };
  if (!nav.gpu) {
    try {
      Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
    } catch {
      // A frozen navigator: replace the whole object.
    }
    if (nav.gpu !== gpu)
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true });
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    webgpu.error =
      'no WebGPU adapter: Dawn found no GPU driver it accepts (Vulkan/Metal/D3D12); on a machine without a GPU install Mesa ≥ 24 lavapipe (scripts/install-system-deps.sh)';
    throw new BackendUnavailableError(`--backend webgpu: ${webgpu.error}`);
  }
  webgpu.keep.push(adapter);
  const info = adapter.info;
  webgpu.adapter = [info.vendor, info.architecture, info.device, info.description]
    .filter(Boolean)
    .join(' / ');
  // Imported only now: at import, the package registers its browser factory when navigator.gpu exists.
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  const { patchWebGpuKernels } = await import('./webgpu-kernels');
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  const limits = adapter.limits;
  tf.registerBackend(
    'webgpu',
    async () => {
      // The limits tfjs-backend-webgpu's own (browser) factory requests.
      const device = await adapter.requestDevice({
        requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
        requiredLimits: {
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
          // Not asked for by tfjs: fewer partial sums in AddN and Concat (webgpu-kernels.ts).
          maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
        },
      });
      webgpu.keep.push(device);
      device.addEventListener('uncapturederror', (e) => {
        webgpu.deviceError ??= `WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message.split('\n')[0]}`;
      });
      void device.lost.then((info) => {
        webgpu.deviceError ??= `WebGPU device lost (${info.reason}): ${info.message}`;
      });
      return new WebGPUBackend(device, info as never);
    },
    // Below wasm's and cpu's default priority: only ever chosen by name.
    0,
  );
  patchWebGpuKernels();
}
