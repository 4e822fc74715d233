/**
 * The training loop, in one place: Open-Unmix's recipe (one network per target, MSE on magnitudes,
 * random-chunk / gain / swap / track-mix augmentation, Adam(W), LR-on-plateau, early stopping) on
 * tfjs-backend-wasm (or `backend`: webgpu, cpu). Each target has its own network, optimiser,
 * learning rate and stopping counters — or, with `model.joint`, all targets share one network (a trunk and a head per target) trained on
 * the sum of their losses, with one optimiser and stopping state (`trainingUnits`); all targets of a
 * run see the same batches (one sampler, one mixture STFT per batch).
 *
 *   for epoch:                                  every batch: STFT → per target: loss, grads,
 *     samplesPerEpoch / batchSize batches          global-norm clip, AdamW, BN running stats
 *     validation loss (whole held-out tracks)   → LR plateau / early stopping per target
 *     validation SDR every `sdrEvery` epochs    → log.jsonl, curves.svg, checkpoint (atomic)
 *
 * Determinism: the weight init, the sampler and the dropout masks are seeded from `data.seed` (the
 * dropout masks per step and target: tfjs draws dropout seeds from Math.random, which is swapped for
 * a seeded generator around each step), and the checkpoint holds every bit of state, so a resumed run
 * continues exactly as an uninterrupted one (tested). A stop request (`signal`, e.g. SIGINT) is
 * honoured between batches: the checkpoint then records the position within the epoch.
 *
 * Every read of a tensor back to JS is asynchronous (`data()`, not `dataSync()`): tfjs-backend-webgpu
 * in Node has no synchronous readback (its readSync needs OffscreenCanvas). Same values on wasm.
 */

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SingleBar } from 'cli-progress';
import { initUmxWeights, type UmxTargetWeights, type UmxWeights } from '../../src/core/model';
import { mulberry32 } from '../../src/core/random';
import type { NetworkName } from '../../src/core/stems';
import { frameCount } from '../../src/core/stft';
import { type CachedDataset, openCache } from '../data/cache';
import { createSampler } from '../data/sampler';
import { trainingSubset } from '../data/split';
import { concatTables, groupedTable, withoutStems } from '../data/table';
import { readWeightsFile, sameArchitecture, writeWeightsFile } from '../export/weights-file';
import { assertBackendHealthy, type TrainBackend, useBackend } from '../model/backend';
import { type TrainingUnit, trainingUnits, type UmxTf, unitModel, withSeededRandom } from '../model/umx-tf';
import { AdamW, type AdamWState } from './adamw';
import { type Checkpoint, readCheckpoint, type TrainState, writeCheckpoint } from './checkpoint';
import { type TrainConfig, trainConfig, umxOf } from './config';
import { type Scalar, ScalarLog, writeCurves } from './log';
import { batchMagnitudes, inputScaler } from './spectra';
import { validate } from './validate';

export interface TrainOptions {
  /** Output folder: checkpoint.ckpt, best.umxw, config.json, log.jsonl, curves.svg. */
  readonly out: string;
  /** Continue from `<out>/checkpoint.ckpt`. */
  readonly resume?: boolean;
  /** When aborted, the loop checkpoints after the current batch and returns. */
  readonly signal?: AbortSignal;
  /** Progress bar on stderr (default off). */
  readonly progress?: boolean;
  /** One line per epoch and per event (default: none). */
  readonly print?: (line: string) => void;
  /** Stop (with a checkpoint) after this many epochs of this invocation — tests. */
  readonly epochs?: number;
  /** tfjs backend (default wasm); started before anything is read or written. */
  readonly backend?: TrainBackend;
}

export interface TrainResult {
  readonly state: TrainState;
  readonly interrupted: boolean;
  readonly weights: UmxWeights;
}

export const outPaths = (out: string) => ({
  checkpoint: join(out, 'checkpoint.ckpt'),
  best: join(out, 'best.umxw'),
  config: join(out, 'config.json'),
  log: join(out, 'log.jsonl'),
  curves: join(out, 'curves.svg'),
});

/** Fresh weights: PyTorch init from the run's seed (one stream per target), input scaler from the data. */
function initialWeights(config: TrainConfig, data: CachedDataset): UmxWeights {
  const c = umxOf(config);
  const { mean, scale } = inputScaler(c, data.stats);
  const targets: Partial<Record<NetworkName, UmxTargetWeights>> = {};
  for (const [j, t] of c.targets.entries()) {
    const w = initUmxWeights(c, mulberry32((config.data.seed * 7919 + j + 1) >>> 0));
    w.input_mean = Float32Array.from(mean);
    w.input_scale = Float32Array.from(scale);
    targets[t] = w;
  }
  return { config: c, targets };
}

/**
 * Warm start: each target's network from `config.init.weights` (its own target, or `init.from[t]`).
 * The architecture must match exactly; the file's scalers come along (the network was trained with
 * them), so the new data's statistics are not used — unless `init.dataScaler` asks for them (`data`).
 */
export async function warmStartWeights(config: TrainConfig, data?: CachedDataset): Promise<UmxWeights> {
  const init = config.init!;
  const file = await readWeightsFile(init.weights);
  const c = umxOf(config);
  if (!sameArchitecture(file.config, c)) {
    throw new Error(`init: ${init.weights} has another architecture than this run's model config`);
  }
  const targets: Partial<Record<NetworkName, UmxTargetWeights>> = {};
  for (const t of c.targets) {
    const src = (init.from[t] ?? t) as NetworkName;
    const w = file.targets[src];
    if (!w) {
      throw new Error(
        `init: ${init.weights} has no "${src}" network (it has ${file.config.targets.join(', ')}); map "${t}" with init.from`,
      );
    }
    targets[t] = structuredClone(w);
  }
  if (init.dataScaler) {
    if (!data) throw new Error('init.dataScaler: no dataset to take the input scaler from');
    const { mean, scale } = inputScaler(c, data.stats);
    for (const w of Object.values(targets)) {
      w!.input_mean = Float32Array.from(mean);
      w!.input_scale = Float32Array.from(scale);
    }
  }
  return { config: c, targets };
}

/**
 * The config keys (dotted paths) in which a checkpoint's config and the given one differ; empty when
 * the run may resume. maxEpochs may be raised to train longer; everything else must match. Both pass
 * through trainConfig first, so a checkpoint written before a config key existed (`init`,
 * `data.extra`, `data.trainTracks`) compares equal to today's defaults; an empty extra list is the
 * same as none, and trainTracks 0 the same as absent.
 */
export function configDifferences(a: TrainConfig, b: TrainConfig): string[] {
  const normal = (x: TrainConfig): unknown => {
    const c = trainConfig(x);
    const { extra, trainTracks, ...data } = c.data;
    return JSON.parse(
      JSON.stringify({
        ...c,
        data: { ...data, ...(extra?.length ? { extra } : {}), ...(trainTracks ? { trainTracks } : {}) },
        optim: { ...c.optim, maxEpochs: 0 },
      }),
    );
  };
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (isObject(x) && isObject(y)) {
      const keys = new Set([...Object.keys(x as object), ...Object.keys(y as object)]);
      for (const k of [...keys].sort())
        walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) {
      out.push(`${path} (${JSON.stringify(x) ?? 'absent'} → ${JSON.stringify(y) ?? 'absent'})`);
    }
  };
  walk(normal(a), normal(b), '');
  return out;
}

export async function train(config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  await useBackend(opts.backend ?? 'wasm');
  const print = opts.print ?? (() => undefined);
  const paths = outPaths(opts.out);
  if (opts.resume && !existsSync(paths.checkpoint))
    throw new Error(
      `--resume: there is no checkpoint at ${paths.checkpoint} (leave out --resume to start the run)`,
    );
  const c = umxOf(config);
  const targets = [...c.targets];
  const units = trainingUnits(c);
  const { data: d, optim: o } = config;
  const data = await openCache(d.cache);
  let trainNames = data.index.split.train;
  if (d.trainTracks) {
    trainNames = trainingSubset(trainNames, d.trainTracks, d.seed);
    print(
      `training on ${trainNames.length} of ${data.index.split.train.length} training tracks (data.trainTracks)`,
    );
  }
  const trainTracks = trainNames.map((n) => data.trackIndex(n));
  const validTracks = data.index.split.valid.map((n) => data.trackIndex(n));
  const extra = await Promise.all(
    (d.extra ?? []).map(async (e) => {
      const set = await openCache(e.cache);
      const grouped = e.stems ? groupedTable(set, e.stems) : set;
      return { set, table: e.drop ? withoutStems(grouped, e.drop) : grouped, weight: e.weight };
    }),
  );
  const combined = concatTables([data, ...extra.map((e) => e.table)]);
  const sampler = createSampler(combined.table, {
    seed: d.seed,
    chunkSeconds: d.chunkSeconds,
    batchSize: d.batchSize,
    targets,
    randomTrackMix: d.randomTrackMix,
    pools: [
      { tracks: trainTracks, weight: 1 },
      ...extra.map((e, k) => ({
        tracks: e.set.index.split.train.map((n) => combined.offsets[k + 1] + e.set.trackIndex(n)),
        weight: e.weight,
      })),
    ],
  });
  const stepsPerEpoch = Math.ceil(d.samplesPerEpoch / d.batchSize);
  const chunkFrames = frameCount(sampler.chunkLength, c.hop);
  const batchSeconds = (d.batchSize * sampler.chunkLength) / c.sampleRate;
  await mkdir(opts.out, { recursive: true });
  const log = new ScalarLog(paths.log);

  // ---- state: fresh or from the checkpoint
  let ck: Checkpoint;
  if (opts.resume) {
    ck = await readCheckpoint(paths.checkpoint);
    const differences = configDifferences(ck.config, config);
    if (differences.length > 0) {
      throw new Error(
        `${paths.checkpoint} was written with another config (see ${paths.config}); only optim.maxEpochs may change on --resume. Differs: ${differences.join('; ')}`,
      );
    }
    print(`resuming from ${paths.checkpoint}: epoch ${ck.state.epoch} done, step ${ck.state.globalStep}`);
  } else {
    if (existsSync(paths.checkpoint)) {
      throw new Error(`${paths.checkpoint} exists: pass --resume to continue it, or choose another --out`);
    }
    const fresh = Object.fromEntries(
      units.map((u) => [
        u.name,
        {
          lr: o.lr,
          best: Number.POSITIVE_INFINITY,
          bestEpoch: 0,
          badEpochs: 0,
          plateauEpochs: 0,
          stopped: false,
        },
      ]),
    );
    ck = {
      config,
      weights: config.init ? await warmStartWeights(config, data) : initialWeights(config, data),
      adam: {},
      state: {
        epoch: 0,
        stepInEpoch: 0,
        globalStep: 0,
        sampler: sampler.state(),
        epochLossSum: Object.fromEntries(targets.map((t) => [t, 0])),
        targets: fresh,
        logBytes: 0,
        seconds: 0,
      },
    };
  }
  const state = ck.state;
  log.truncate(state.logBytes);
  sampler.restore(state.sampler);
  await writeFile(paths.config, JSON.stringify(config, null, 2) + '\n');

  // By unit name (a target's, or 'joint').
  const models = new Map<string, UmxTf>();
  const optims = new Map<string, AdamW>();
  const paramNames = new Map<string, string>(); // tfjs variable name → parameter key
  for (const unit of units) {
    const model = unitModel(c, unit, ck.weights.targets);
    models.set(unit.name, model);
    for (const [name, v] of model.params) paramNames.set(v.name, name);
    const opt = new AdamW(model.params, { ...o });
    const saved = ck.adam[unit.name];
    if (saved) opt.load(saved);
    optims.set(unit.name, opt);
  }
  const unitWeights = (u: TrainingUnit) => models.get(u.name)!.exportHeadsAsync(u.targets[0]);
  const best: Partial<Record<NetworkName, UmxTargetWeights>> =
    opts.resume && existsSync(paths.best) ? (await readWeightsFile(paths.best)).targets : {};

  const currentWeights = async (): Promise<UmxWeights> => {
    const targets: UmxWeights['targets'] = {};
    for (const u of units) Object.assign(targets, await unitWeights(u));
    return { config: c, targets };
  };
  const save = async () => {
    state.sampler = sampler.state();
    state.logBytes = log.bytes();
    const adam: Record<string, AdamWState> = {};
    for (const u of units) adam[u.name] = await optims.get(u.name)!.stateAsync();
    await writeCheckpoint(paths.checkpoint, { config, state, weights: await currentWeights(), adam });
  };
  const active = () => units.filter((u) => !state.targets[u.name].stopped);

  const bar = opts.progress
    ? new SingleBar({
        format:
          'epoch {epoch} |{bar}| {value}/{total} | loss {loss} | {speed} audio-s/s | ETA {eta_formatted}',
        noTTYOutput: true,
        notTTYSchedule: 30_000,
        etaBuffer: 20,
        hideCursor: true,
      })
    : undefined;

  let epochsRun = 0;
  let interrupted = false;
  try {
    while (state.epoch < o.maxEpochs && active().length > 0) {
      if (opts.epochs !== undefined && epochsRun >= opts.epochs) break;
      const epoch = state.epoch + 1;
      const epochStart = performance.now();
      let epochAudio = 0;
      bar?.start(stepsPerEpoch, state.stepInEpoch, { epoch, loss: '—', speed: '—' });

      // ---- training batches
      while (state.stepInEpoch < stepsPerEpoch) {
        // A step is one long synchronous computation: yield so signal handlers and the progress bar run.
        await new Promise((r) => setImmediate(r));
        if (opts.signal?.aborted) break;
        const t0 = performance.now();
        const batch = sampler.next();
        const shape = (m: { frames: number }): [number, number, number, number] => [
          d.batchSize,
          m.frames,
          c.nbChannels,
          c.nbBins,
        ];
        const mixMag = batchMagnitudes(batch.mixture, d.batchSize, batch.channels, batch.length, c);
        const mix = tf.tensor4d(mixMag.data, shape(mixMag));
        const scalars: Scalar[] = [];
        const scalar = (tag: string, value: number): Scalar => ({
          step: state.globalStep + 1,
          epoch,
          tag,
          value,
          wall: 0,
        });
        const finiteLoss = (value: number, what: string): number => {
          if (!Number.isFinite(value)) throw new Error(`non-finite ${what} at step ${state.globalStep + 1}`);
          return value;
        };
        const losses: string[] = [];
        for (const [j, unit] of units.entries()) {
          if (state.targets[unit.name].stopped) continue;
          const model = models.get(unit.name)!;
          const tensors = unit.targets.map((t) => {
            const tm = batchMagnitudes(batch.targets[t], d.batchSize, batch.channels, batch.length, c);
            return tf.tensor4d(tm.data, shape(tm));
          });
          const seed = (d.seed * 1_000_003 + state.globalStep * 31 + j) >>> 0;
          let values: number[];
          let byParam: Record<string, tf.Tensor>;
          if (unit.heads) {
            // The joint network trains on the sum of its targets' losses, one head at a time.
            const r = await model.jointGradsAsync(mix, tensors, seed, {}, o.sumLossWeight ?? 0);
            values = r.losses;
            byParam = r.grads;
            if (r.sumLoss !== undefined)
              scalars.push(
                scalar(`train/sum_loss/${unit.name}`, finiteLoss(r.sumLoss, 'summed-estimate loss')),
              );
          } else {
            const { value, grads } = withSeededRandom(seed, () =>
              tf.variableGrads(() => model.loss(mix, tensors[0]), [...model.params.values()]),
            );
            values = [(await value.data())[0]];
            value.dispose();
            byParam = Object.fromEntries(Object.entries(grads).map(([k, g]) => [paramNames.get(k)!, g]));
          }
          const norm = await optims.get(unit.name)!.applyAsync(byParam, state.targets[unit.name].lr);
          model.updateRunningStats(d.batchSize * mixMag.frames);
          tf.dispose([...tensors, ...Object.values(byParam)]);
          for (const [k, t] of unit.targets.entries()) {
            const loss = finiteLoss(values[k], `training loss for ${t}`);
            state.epochLossSum[t] += loss;
            losses.push(`${t} ${loss.toFixed(4)}`);
            scalars.push(scalar(`train/loss/${t}`, loss));
          }
          scalars.push(scalar(`train/grad_norm/${unit.name}`, norm));
        }
        mix.dispose();
        // webgpu: a dispatch that failed validation leaves garbage behind; stop before it is logged or saved.
        assertBackendHealthy();
        state.globalStep++;
        state.stepInEpoch++;
        const dt = (performance.now() - t0) / 1000;
        state.seconds += dt;
        epochAudio += batchSeconds;
        const speed = batchSeconds / dt;
        log.write([
          ...scalars.map((s) => ({ ...s, wall: state.seconds })),
          { step: state.globalStep, epoch, tag: 'train/audio_s_per_s', value: speed, wall: state.seconds },
        ]);
        bar?.update(state.stepInEpoch, { epoch, loss: losses.join(', '), speed: speed.toFixed(1) });
      }
      bar?.stop();
      if (state.stepInEpoch < stepsPerEpoch) {
        interrupted = true;
        await save();
        await writeCurves(paths.curves, log.read(), `${config.name} (${targets.join(', ')})`);
        print(
          `interrupted in epoch ${epoch} after step ${state.stepInEpoch}/${stepsPerEpoch}: checkpoint ${paths.checkpoint}`,
        );
        break;
      }
      const trainSeconds = (performance.now() - epochStart) / 1000;

      // ---- validation, scheduler, early stopping
      const run = active();
      const sdrNow = config.valid.sdrEvery > 0 && epoch % config.valid.sdrEvery === 0;
      const v = await validate(
        data,
        validTracks,
        run.map((u) => ({ targets: u.targets, model: models.get(u.name)! })),
        c,
        {
          chunkFrames,
          sdrTracks: sdrNow ? config.valid.sdrTracks || validTracks.length : undefined,
          wienerIterations: config.valid.wienerIterations,
          onNote: print,
        },
      );
      assertBackendHealthy();
      const at = (tag: string, value: number): Scalar => ({
        step: state.globalStep,
        epoch,
        tag,
        value,
        wall: state.seconds,
      });
      const scalars: Scalar[] = [];
      const notes: string[] = [];
      let improved = false;
      const trainLoss: Record<string, number> = {};
      for (const unit of run) {
        const t = unit.name;
        const p = state.targets[t];
        for (const target of unit.targets) {
          trainLoss[target] = state.epochLossSum[target] / stepsPerEpoch;
          scalars.push(
            at(`train/epoch_loss/${target}`, trainLoss[target]),
            at(`valid/loss/${target}`, v.loss[target]),
          );
          if (v.sdr) scalars.push(at(`valid/sdr/${target}`, v.sdr[target]));
        }
        scalars.push(at(`train/lr/${t}`, p.lr));
        // A joint network stops and decays on the sum of its targets' losses (what it trains on).
        const validLoss = unit.targets.reduce((sum, target) => sum + v.loss[target], 0);
        if (unit.heads) scalars.push(at(`valid/loss/${t}`, validLoss));
        if (validLoss < p.best) {
          Object.assign(p, { best: validLoss, bestEpoch: epoch, badEpochs: 0, plateauEpochs: 0 });
          Object.assign(best, await unitWeights(unit));
          improved = true;
        } else {
          p.badEpochs++;
          p.plateauEpochs++;
          if (p.plateauEpochs > o.lrPatience && p.lr > o.minLr) {
            p.lr = Math.max(o.minLr, p.lr * o.lrFactor);
            p.plateauEpochs = 0;
            notes.push(`${t}: lr → ${p.lr.toExponential(2)}`);
          }
          if (p.badEpochs >= o.earlyStopPatience) {
            p.stopped = true;
            notes.push(`${t}: early stop (best ${p.best.toFixed(5)} at epoch ${p.bestEpoch})`);
          }
        }
      }
      scalars.push(
        at('valid/seconds', v.seconds),
        at('train/epoch_audio_s_per_s', epochAudio / trainSeconds),
      );
      log.write(scalars);
      state.epoch = epoch;
      state.stepInEpoch = 0;
      state.epochLossSum = Object.fromEntries(targets.map((t) => [t, 0]));
      epochsRun++;

      // ---- outputs: best weights (when improved), checkpoint, curves
      if (improved) {
        const bw = await currentWeights();
        for (const t of targets)
          if (best[t as NetworkName]) bw.targets[t as NetworkName] = best[t as NetworkName];
        await writeWeightsFile(paths.best, bw);
      }
      await save();
      await writeCurves(paths.curves, log.read(), `${config.name} (${targets.join(', ')})`);
      const fmt = (r: Record<string, number>, digits: number) =>
        run
          .flatMap((u) => u.targets)
          .map((t) => `${t} ${r[t].toFixed(digits)}`)
          .join(', ');
      print(
        `epoch ${epoch}: train ${fmt(trainLoss, 5)}` +
          ` | valid ${fmt(v.loss, 5)}${v.sdr ? ` | SDR ${fmt(v.sdr, 2)} dB` : ''}` +
          ` | ${trainSeconds.toFixed(0)} s train (${(epochAudio / trainSeconds).toFixed(1)} audio-s/s), ${v.seconds.toFixed(1)} s valid` +
          `${notes.length ? ` | ${notes.join('; ')}` : ''} | checkpoint ${paths.checkpoint}`,
      );
    }
  } finally {
    bar?.stop();
  }
  const weights = await currentWeights();
  for (const m of models.values()) m.dispose();
  for (const x of optims.values()) x.dispose();
  return { state, interrupted, weights };
}
