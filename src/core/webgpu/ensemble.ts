/// <reference types="@webgpu/types" />
/**
 * An ensemble model file (`npm run export -- --ensemble`) on the WebGPU engine: one engine per
 * member, since members may differ in size, input representation or joint trunk, which the engine
 * batches only within one config; each target's estimate is the mean over the members that have it,
 * as in the ONNX graph.
 */
import type { UmxWeights } from '../model/parameters';
import { meanOf } from '../separator';
import { createWebGpuModel, type WebGpuMagnitudeModel, type WebGpuModelOptions } from './engine';

/** The engine for a model file's network sets (`umxMembersFromOnnx`): one, or the mean of several. */
export async function createWebGpuEnsemble(
  device: GPUDevice,
  members: readonly UmxWeights[],
  options: WebGpuModelOptions = {},
): Promise<WebGpuMagnitudeModel> {
  if (members.length === 0) throw new Error('webgpu engine: no model');
  const models: WebGpuMagnitudeModel[] = [];
  try {
    for (const m of members) models.push(await createWebGpuModel(device, m.config, m.targets, options));
  } catch (err) {
    for (const m of models) m.release();
    throw err;
  }
  if (models.length === 1) return models[0];
  const [first] = models;
  // Per target of the first member, the members that have it and where: the mean is over those.
  const sources = first.targets.map((t) =>
    models.flatMap((m, k) => (m.targets.includes(t) ? [[k, m.targets.indexOf(t)] as const] : [])),
  );
  const byTarget = (estimates: Float32Array[][]): Float32Array[] =>
    sources.map((from) => meanOf(from.map(([k, j]) => estimates[k][j])));
  return {
    config: first.config,
    targets: first.targets,
    // Diagnostics only: the first member's (they differ only where the members' sizes do).
    recurrentWeights: first.recurrentWeights,
    subgroups: models.every((m) => m.subgroups),
    async estimate(magnitude, channels, bins, frames) {
      // One after another: each member's command buffer fills the GPU on its own.
      const estimates: Float32Array[][] = [];
      for (const m of models) estimates.push(await m.estimate(magnitude, channels, bins, frames));
      return byTarget(estimates);
    },
    dispatches: (frames) => models.reduce((sum, m) => sum + m.dispatches(frames), 0),
    async profile(frames) {
      const all: { label: string; ms: number }[] = [];
      for (const [k, m] of models.entries()) {
        for (const p of await m.profile(frames)) all.push({ label: `m${k}/${p.label}`, ms: p.ms });
      }
      return all;
    },
    stream() {
      const streams = models.map((m) => m.stream());
      return {
        async estimate(magnitude, channels, bins, frames) {
          const estimates: Float32Array[][] = [];
          for (const s of streams) estimates.push(await s.estimate(magnitude, channels, bins, frames));
          return byTarget(estimates);
        },
        reset: () => {
          for (const s of streams) s.reset();
        },
      };
    },
    release: () => {
      for (const m of models) m.release();
    },
  };
}
