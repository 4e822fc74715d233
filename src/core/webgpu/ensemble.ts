/// <reference types="@webgpu/types" />
/**
 * An ensemble model file (`npm run export -- --ensemble`) on the WebGPU engine: one engine per
 * member, since members may differ in size, input representation or joint trunk, which the engine
 * batches only within one config; the model's targets are all the members' (`ensembleTargets`: a
 * hierarchical model's top level may be one member and the networks splitting its group another),
 * and each target's estimate is the mean over the members that have it, as in the ONNX graph.
 * Second-stage networks (`config.inputFrom`) get engines of their own, run after the others on their
 * group's estimate (the members' mean), as in the graph.
 */
import type { UmxConfig } from '../model/config';
import type { UmxWeights } from '../model/parameters';
import { ensembleConfig } from '../onnx-model';
import { meanOf } from '../separator';
import type { NetworkName } from '../stems';
import { createWebGpuModel, type WebGpuMagnitudeModel, type WebGpuModelOptions } from './engine';

/** The engine for a model file's network sets (`umxMembersFromOnnx`): one, or the mean of several. */
export async function createWebGpuEnsemble(
  device: GPUDevice,
  members: readonly UmxWeights[],
  options: WebGpuModelOptions = {},
): Promise<WebGpuMagnitudeModel> {
  if (members.length === 0) throw new Error('webgpu engine: no model');
  const parts = members.flatMap(stages);
  const models: WebGpuMagnitudeModel[] = [];
  try {
    for (const p of parts) models.push(await createWebGpuModel(device, p.config, p.targets, options));
  } catch (err) {
    for (const m of models) m.release();
    throw err;
  }
  if (models.length === 1) return models[0];
  // As `stemdeck.config` reads (the first member's config with every member's targets).
  const config = ensembleConfig(members.map((m) => m.config));
  const targets = config.targets;
  // Per target, the engines that have it and where: the mean is over those.
  const sources = targets.map((t) =>
    models.flatMap((m, k) => (m.targets.includes(t) ? [[k, m.targets.indexOf(t)] as const] : [])),
  );
  const byTarget = (estimates: Float32Array[][]): Float32Array[] =>
    sources.map((from) => meanOf(from.map(([k, j]) => estimates[k][j])));
  /** Runs the engines (`run(k, input)`), the second stage on the group estimates the first gives. */
  const runAll = async (
    magnitude: Float32Array,
    run: (k: number, input: Float32Array) => Promise<Float32Array[]>,
  ): Promise<Float32Array[]> => {
    // One after another: each engine's command buffer fills the GPU on its own.
    const estimates: Float32Array[][] = [];
    for (const [k, p] of parts.entries()) if (!p.reads) estimates[k] = await run(k, magnitude);
    const groups = new Map<string, Float32Array>();
    for (const [k, p] of parts.entries()) {
      if (!p.reads) continue;
      let group = groups.get(p.reads);
      if (!group) {
        const from = sources[targets.indexOf(p.reads as NetworkName)];
        group = meanOf(from.map(([i, j]) => estimates[i][j]));
        groups.set(p.reads, group);
      }
      estimates[k] = await run(k, group.slice());
    }
    return byTarget(estimates);
  };
  return {
    config,
    targets,
    // Diagnostics only: the first member's (they differ only where the members' sizes do).
    recurrentWeights: models[0].recurrentWeights,
    subgroups: models.every((m) => m.subgroups),
    estimate: (magnitude, channels, bins, frames) =>
      runAll(magnitude, (k, input) => models[k].estimate(input, channels, bins, frames)),
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
        estimate: (magnitude, channels, bins, frames) =>
          runAll(magnitude, (k, input) => streams[k].estimate(input, channels, bins, frames)),
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

/**
 * A member's engines: its networks that read the mixture, then per group its networks that read
 * that group's estimate (`reads`), each as a set of its own without `inputFrom`.
 */
function stages(
  m: UmxWeights,
): { config: UmxConfig; targets: UmxWeights['targets']; reads: string | null }[] {
  const from = m.config.inputFrom ?? {};
  const reads = [null, ...new Set(Object.values(from))];
  return reads.flatMap((group) => {
    const names = m.config.targets.filter((t) => (from[t] ?? null) === group);
    if (names.length === 0) return [];
    const { inputFrom: _, ...rest } = m.config;
    const targets: UmxWeights['targets'] = {};
    for (const t of names) targets[t] = m.targets[t];
    return [{ config: { ...rest, targets: names }, targets, reads: group ?? null }];
  });
}
