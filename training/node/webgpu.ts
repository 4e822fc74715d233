/// <reference types="@webgpu/types" />
import { engineFeatures } from '../../src/core/webgpu/engine';

/**
 * A WebGPU device in Node through Dawn's Node bindings (npm `webgpu`, a devDependency): for the WebGPU
 * engine's tests and benchmark. Resolves to the reason instead when there is no adapter (the package,
 * its native module or a Vulkan driver missing — on Debian 12 Dawn needs Mesa ≥ 24's lavapipe, see
 * scripts/install-system-deps.sh).
 */
export interface NodeGpu {
  readonly device: GPUDevice;
  /** vendor / architecture / device / description of the adapter, for reports. */
  readonly adapter: string;
  /** Dawn's `create()` result (navigator.gpu equivalent), for code that wants its own device. */
  readonly gpu: GPU;
}

/**
 * Dawn objects kept reachable for the life of the process: when V8 collected the GPU instance or the
 * adapter while their device was in use, the process died in native code (seen as random crashes of
 * vitest workers, "__pthread_tpp_change_priority: Assertion" or std::system_error).
 */
const keepAlive: unknown[] = [];

export async function nodeGpuDevice(): Promise<NodeGpu | { readonly unavailable: string }> {
  let mod: { create(flags: string[]): GPU; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (err) {
    return { unavailable: `npm package "webgpu" not loadable (${err instanceof Error ? err.message : err})` };
  }
  // Dawn's classes (GPUBufferUsage, …) as globals, as in a browser.
  for (const [k, v] of Object.entries(mod.globals))
    if (!(k in globalThis)) Object.assign(globalThis, { [k]: v });
  const gpu = mod.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { unavailable: 'no WebGPU adapter (no Vulkan driver Dawn accepts?)' };
  const i = adapter.info;
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: engineFeatures(adapter),
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  keepAlive.push(gpu, adapter, device);
  const adapterName = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ');
  return { device, adapter: adapterName, gpu };
}
