/**
 * Workarounds for tfjs-backend-webgpu 4.22 kernels that the trainer needs and that are wrong as
 * shipped; registered for the `webgpu` backend only (the wasm backend's numerics never change; its own
 * patches, wasm-slice.ts, are registered for `wasm` only). Checked in webgpu.test.ts.
 *
 * - AddN binds every input as its own storage buffer in one shader. A WebGPU device has a per-stage
 *   limit (maxStorageBuffersPerShaderStage: 8 by default, 16 on lavapipe, 8–32+ on GPUs); beyond it
 *   pipeline creation fails validation, the command buffer holding the dispatch is dropped, and the
 *   result is whatever the output buffer held before (seen: addN of 29 scalars → 28). AdamW's global
 *   gradient norm is an addN over every parameter (29 for one target network). tfjs' own Concat splits
 *   its inputs into groups under the limit; this does the same for AddN: groups of at most
 *   (limit − 1) inputs, summed, then the partial sums, until one dispatch remains.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WebGpuBackendLike {
  device: GPUDevice;
  disposeData(dataId: tf.DataId): boolean;
}

let patched = false;

/** Replaces the webgpu backend's AddN kernel (idempotent). */
export function patchWebGpuKernels(): void {
  if (patched) return;
  patched = true;
  const original = tf.getKernel(tf.AddN, 'webgpu');
  if (!original) throw new Error('tfjs-backend-webgpu has no AddN kernel');
  const addN = original.kernelFunc as (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }) => tf.TensorInfo;
  tf.unregisterKernel(tf.AddN, 'webgpu');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const backend = args.backend as unknown as WebGpuBackendLike;
      // AddN's inputs arrive as an array (tf.addN passes its list as the input map).
      const inputs = Object.values(args.inputs) as tf.TensorInfo[];
      // One storage binding is the output.
      const max = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
      if (inputs.length <= max) return addN(args as never);
      let level = inputs;
      const partial: tf.TensorInfo[] = [];
      while (level.length > max) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < level.length; i += max) {
          const group = level.slice(i, i + max);
          if (group.length === 1) next.push(group[0]);
          else {
            const sum = addN({ ...args, inputs: group as unknown as tf.NamedTensorInfoMap } as never);
            partial.push(sum);
            next.push(sum);
          }
        }
        level = next;
      }
      const out = addN({ ...args, inputs: level as unknown as tf.NamedTensorInfoMap } as never);
      for (const t of partial) backend.disposeData(t.dataId);
      return out;
    },
  });
}
