/**
 * The one typed object that describes a training run (nanoGPT style): read from JSON, every field
 * defaulted and checked, and saved beside each checkpoint (`<out>/config.json` and inside the
 * checkpoint file) so that a run can always be reproduced or resumed.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type UmxConfig, umxConfig } from '../../src/core/model/config';
import { isStemName, type StemName } from '../../src/core/stems';

export interface TrainConfig {
  /** Free-form name, shown in logs and plots. */
  readonly name: string;
  /**
   * Open-Unmix architecture; `targets` are trained one network each (as Open-Unmix does), or as one
   * joint network with `joint: true`.
   */
  readonly model: Pick<
    UmxConfig,
    'targets' | 'hiddenSize' | 'nbLayers' | 'bidirectional' | 'maxBin' | 'input'
  > &
    Partial<Pick<UmxConfig, 'lstmDropout' | 'nbChannels' | 'bnMomentum' | 'bnEps' | 'joint' | 'inputFrom'>>;
  readonly data: {
    /** Preprocessed dataset folder (`npm run preprocess`), relative to the repository root or absolute. */
    readonly cache: string;
    /** Seeds the weight init, the sampler and the dropout masks. */
    readonly seed: number;
    readonly chunkSeconds: number;
    readonly batchSize: number;
    /** Training examples per epoch (rounded up to whole batches). */
    readonly samplesPerEpoch: number;
    readonly randomTrackMix: boolean;
    /**
     * Train on only this many of the cache's training tracks, drawn by `seed` (nested: a smaller count
     * takes a subset of a larger one's tracks) — for learning curves over the amount of data.
     * Validation keeps the whole validation split. 0 or absent: all.
     */
    readonly trainTracks?: number;
    /**
     * More training data beside `cache` (validation stays on `cache`'s own split): each entry's train
     * split is a pool drawn `weight` times as often as `cache`'s (weight 1), with `stems` summing its
     * stems into the targets' names, e.g. generated 6-stem songs as 4-stem ones with
     * `{ "other": ["guitar", "piano", "other"] }`.
     */
    readonly extra?: readonly ExtraData[];
  };
  readonly optim: {
    readonly lr: number;
    /** Decoupled (AdamW) weight decay, applied to the weight matrices only. */
    readonly weightDecay: number;
    readonly beta1: number;
    readonly beta2: number;
    readonly eps: number;
    /** Global-norm gradient clipping per target network; 0 = off. */
    readonly gradClip: number;
    /** LR × factor after `patience` epochs without a new best validation loss (per target). */
    readonly lrFactor: number;
    readonly lrPatience: number;
    readonly minLr: number;
    /** A target stops training after this many epochs without a new best validation loss. */
    readonly earlyStopPatience: number;
    readonly maxEpochs: number;
    /**
     * A joint network only: weight μ of a combination-loss term, μ · MSE of the heads' summed
     * estimate against the summed targets (CrossNet-Open-Unmix's idea; UmxTf.jointGrads). 0 or
     * absent: Open-Unmix's plain per-target MSE.
     */
    readonly sumLossWeight?: number;
  };
  /**
   * Warm start (fine-tuning): every target's network, input/output scalers included, starts from a
   * `.umxw` file of the same architecture — its own target, or the one `from` names (e.g. a new
   * `guitar` network from a 4-stem model's `other`). null: fresh PyTorch-style init.
   */
  readonly init: {
    readonly weights: string;
    readonly from: Readonly<Record<string, string>>;
    /**
     * The input scaler from this run's data instead of the file's: for a network that will read
     * another input than it was trained on (a second-stage member reading its group's estimate,
     * `model.inputFrom`).
     */
    readonly dataScaler?: boolean;
  } | null;
  readonly valid: {
    /** Validation SDR (museval median) every this many epochs; 0 = never. Loss is every epoch. */
    readonly sdrEvery: number;
    /** At most this many validation tracks for the SDR (the first ones of the split); 0 = all. */
    readonly sdrTracks: number;
    /** Wiener EM iterations for the SDR estimate; 0 = model magnitude × mixture phase. */
    readonly wienerIterations: number;
  };
}

export interface ExtraData {
  /** Preprocessed dataset folder, relative to the repository root or absolute. */
  readonly cache: string;
  readonly weight: number;
  readonly stems?: Readonly<Record<string, readonly string[]>>;
  /**
   * Stems of this set left out of every mixture, e.g. MUSDB18's `other` beside a guitar target (its
   * guitars are not labelled guitar, so they would teach the network to leave guitar alone).
   */
  readonly drop?: readonly string[];
}

export const TRAIN_DEFAULTS = {
  name: 'umx',
  model: {
    targets: ['vocals', 'drums', 'bass', 'other'],
    hiddenSize: 512,
    nbLayers: 3,
    bidirectional: true,
    maxBin: 1487,
    input: { kind: 'linear' },
  },
  data: { cache: '', seed: 42, chunkSeconds: 6, batchSize: 16, samplesPerEpoch: 1024, randomTrackMix: true },
  optim: {
    lr: 1e-3,
    weightDecay: 1e-5,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    gradClip: 5,
    lrFactor: 0.3,
    lrPatience: 80,
    minLr: 1e-6,
    earlyStopPatience: 140,
    maxEpochs: 1000,
  },
  init: null,
  valid: { sdrEvery: 5, sdrTracks: 0, wienerIterations: 0 },
} as const satisfies TrainConfig;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

/** Defaults overridden section by section; throws on an unknown key or a bad value. */
export function trainConfig(partial: DeepPartial<TrainConfig> = {}): TrainConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in TRAIN_DEFAULTS)) throw new Error(`TrainConfig: unknown key "${key}"`);
  }
  const section = <K extends 'model' | 'data' | 'optim' | 'valid'>(k: K): TrainConfig[K] => {
    const given = (partial[k] ?? {}) as Record<string, unknown>;
    const known = new Set([
      ...Object.keys(TRAIN_DEFAULTS[k]),
      ...(k === 'model' ? ['lstmDropout', 'nbChannels', 'bnMomentum', 'bnEps', 'joint', 'inputFrom'] : []),
      ...(k === 'data' ? ['extra', 'trainTracks'] : []),
      ...(k === 'optim' ? ['sumLossWeight'] : []),
    ]);
    for (const key of Object.keys(given))
      if (!known.has(key)) throw new Error(`TrainConfig: unknown key "${k}.${key}"`);
    return { ...TRAIN_DEFAULTS[k], ...given } as TrainConfig[K];
  };
  const config: TrainConfig = {
    name: partial.name ?? TRAIN_DEFAULTS.name,
    model: section('model'),
    data: section('data'),
    optim: section('optim'),
    init: initSection(partial.init),
    valid: section('valid'),
  };
  validateTrainConfig(config);
  return config;
}

function initSection(given: unknown): TrainConfig['init'] {
  if (given === undefined || given === null) return null;
  if (typeof given !== 'object') throw new Error('TrainConfig: init must be {weights, from} or null');
  const g = given as Record<string, unknown>;
  for (const key of Object.keys(g))
    if (key !== 'weights' && key !== 'from' && key !== 'dataScaler')
      throw new Error(`TrainConfig: unknown key "init.${key}"`);
  if (g.dataScaler !== undefined && typeof g.dataScaler !== 'boolean')
    throw new Error('TrainConfig: init.dataScaler must be true or false');
  if (typeof g.weights !== 'string' || !g.weights)
    throw new Error('TrainConfig: init.weights must name a .umxw file');
  const from = (g.from ?? {}) as Record<string, unknown>;
  if (typeof from !== 'object' || Array.isArray(from))
    throw new Error("TrainConfig: init.from must map targets to the init file's targets");
  for (const [t, src] of Object.entries(from)) {
    if (typeof src !== 'string' || !isStemName(src))
      throw new Error(`TrainConfig: init.from.${t} must be a stem name, not ${JSON.stringify(src)}`);
  }
  return {
    weights: g.weights,
    from: from as Record<string, string>,
    ...(g.dataScaler ? { dataScaler: true } : {}),
  };
}

export function validateTrainConfig(c: TrainConfig): void {
  const fail = (msg: string): never => {
    throw new Error(`TrainConfig: ${msg}`);
  };
  for (const t of c.model.targets) {
    const group = t.includes('+')
      ? ' (group networks come from training/train/merge.ts, not from training)'
      : '';
    if (!isStemName(t)) fail(`unknown target "${t}"${group}`);
  }
  umxOf(c); // validates the architecture
  const { data: d, optim: o, valid: v } = c;
  const posInt = (x: number) => Number.isInteger(x) && x > 0;
  const nonNegInt = (x: number) => Number.isInteger(x) && x >= 0;
  if (!d.cache) fail('data.cache is required (a folder written by `npm run preprocess`)');
  if (!Number.isInteger(d.seed)) fail(`data.seed must be an integer`);
  if (!(d.chunkSeconds > 0)) fail('data.chunkSeconds must be positive');
  if (!posInt(d.batchSize)) fail('data.batchSize must be a positive integer');
  if (!posInt(d.samplesPerEpoch)) fail('data.samplesPerEpoch must be a positive integer');
  if (d.trainTracks !== undefined && !nonNegInt(d.trainTracks))
    fail('data.trainTracks must be an integer ≥ 0 (0: all training tracks)');
  if (d.extra !== undefined && !Array.isArray(d.extra)) fail('data.extra must be a list');
  for (const [i, e] of (d.extra ?? []).entries()) {
    const at = `data.extra[${i}]`;
    for (const key of Object.keys(e))
      if (!['cache', 'weight', 'stems', 'drop'].includes(key)) fail(`unknown key "${at}.${key}"`);
    if (typeof e.cache !== 'string' || !e.cache) fail(`${at}.cache is required`);
    if (!(e.weight > 0) || !Number.isFinite(e.weight)) fail(`${at}.weight must be positive`);
    for (const [name, members] of Object.entries(e.stems ?? {})) {
      if (!isStemName(name)) fail(`${at}.stems: unknown stem "${name}"`);
      if (!Array.isArray(members) || members.length === 0 || !members.every((m) => typeof m === 'string'))
        fail(`${at}.stems.${name} must be a non-empty list of stem names`);
    }
    if (
      e.drop !== undefined &&
      !(Array.isArray(e.drop) && e.drop.every((m: unknown) => typeof m === 'string' && m))
    )
      fail(`${at}.drop must be a list of stem names`);
  }
  if (!(o.lr > 0)) fail('optim.lr must be positive');
  if (!(o.weightDecay >= 0)) fail('optim.weightDecay must be ≥ 0');
  if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1)) fail('optim betas must be in [0, 1)');
  if (!(o.eps > 0)) fail('optim.eps must be positive');
  if (!(o.gradClip >= 0)) fail('optim.gradClip must be ≥ 0');
  if (!(o.lrFactor > 0 && o.lrFactor <= 1)) fail('optim.lrFactor must be in (0, 1]');
  if (!nonNegInt(o.lrPatience) || !nonNegInt(o.earlyStopPatience)) fail('patiences must be integers ≥ 0');
  if (!posInt(o.maxEpochs)) fail('optim.maxEpochs must be a positive integer');
  if (o.sumLossWeight !== undefined) {
    if (!(o.sumLossWeight >= 0) || !Number.isFinite(o.sumLossWeight)) fail('optim.sumLossWeight must be ≥ 0');
    if (o.sumLossWeight > 0 && !c.model.joint)
      fail('optim.sumLossWeight needs a joint network (model.joint: true): it couples the heads');
  }
  for (const t of Object.keys(c.init?.from ?? {}))
    if (!c.model.targets.includes(t as StemName)) fail(`init.from names "${t}", which is not a target`);
  if (!nonNegInt(v.sdrEvery) || !nonNegInt(v.sdrTracks) || !nonNegInt(v.wienerIterations))
    fail('valid.* must be integers ≥ 0');
}

/** The UmxConfig of the run (44.1 kHz, n_fft 4096, hop 1024: the cache's statistics are for those). */
export function umxOf(c: TrainConfig): UmxConfig {
  return umxConfig({ ...c.model, targets: c.model.targets as readonly StemName[] });
}

/** Reads a config file; `data.cache` is resolved against `root` (the repository). */
export async function loadTrainConfig(path: string, root: string): Promise<TrainConfig> {
  let raw: DeepPartial<TrainConfig>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  try {
    const c = trainConfig(raw);
    return {
      ...c,
      data: {
        ...c.data,
        cache: resolve(root, c.data.cache),
        ...(c.data.extra && {
          extra: c.data.extra.map((e) => ({ ...e, cache: resolve(root, e.cache) })),
        }),
      },
      init: c.init && { ...c.init, weights: resolve(root, c.init.weights) },
    };
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** The same config training only `targets` (a subset, e.g. one process per pair of targets). */
export function withTargets(c: TrainConfig, targets: readonly string[]): TrainConfig {
  for (const t of targets) {
    if (!c.model.targets.includes(t as StemName))
      throw new Error(`target "${t}" is not in the config's targets (${c.model.targets.join(', ')})`);
  }
  return { ...c, model: { ...c.model, targets: targets as StemName[] } };
}
