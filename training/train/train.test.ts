import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initUmxWeights } from '../../src/core/model';
import { mulberry32 } from '../../src/core/random';
import { type CachedDataset, openCache } from '../data/cache';
import { preprocess } from '../data/preprocess';
import { createSampler } from '../data/sampler';
import { memoryTable } from '../data/table';
import { REPO_ROOT, testSignal, writeStemsTrack } from '../data/testing';
import { readWeightsFile } from '../export/weights-file';
import { useBackend } from '../model/backend';
import { UmxTf } from '../model/umx-tf';
import { AdamW } from './adamw';
import { readCheckpoint, writeCheckpoint } from './checkpoint';
import { type TrainConfig, trainConfig, umxOf } from './config';
import { ScalarLog } from './log';
import { configDifferences, outPaths, train, warmStartWeights } from './loop';
import { mergeWeights, pickTargets } from './merge';
import { inputScaler } from './spectra';
import { validate } from './validate';

const STEMS = ['vocals', 'drums', 'bass', 'other'];
let dir: string;
let cache: string;

beforeAll(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'stemdeck-train-'));
  cache = await stemsCache('stems', 'song', STEMS, 4, 0, 0.25);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A preprocessed folder of `tracks` generated 1-s songs with these stems, seeded from `seed0`. */
async function stemsCache(
  folder: string,
  prefix: string,
  stems: readonly string[],
  tracks: number,
  seed0: number,
  validFraction: number,
): Promise<string> {
  const root = join(dir, folder);
  for (let t = 0; t < tracks; t++) await writeStemsTrack(root, `${prefix}${t}`, stems, seed0 + t, 1);
  const res = await preprocess({
    dataset: 'stems',
    root,
    cacheRoot: join(dir, 'cache'),
    onBadData: 'stop',
    split: 'seeded',
    seed: 1,
    validFraction,
  });
  return res.dir;
}

/** A tiny model (hidden 8, 32 input bins) with dropout on, 3 batches of 2 × 0.5 s per epoch. */
function tinyConfig(extra: Partial<TrainConfig['optim']> = {}, joint = false): TrainConfig {
  return trainConfig({
    name: 'tiny',
    model: {
      ...(joint ? { joint } : {}),
      targets: ['vocals', 'bass'],
      hiddenSize: 8,
      nbLayers: 2,
      bidirectional: true,
      maxBin: 32,
      input: { kind: 'linear' },
      lstmDropout: 0.4,
    },
    data: { cache, seed: 3, chunkSeconds: 0.5, batchSize: 2, samplesPerEpoch: 6, randomTrackMix: true },
    optim: { lr: 1e-2, gradClip: 1, weightDecay: 1e-2, ...extra },
    valid: { sdrEvery: 1, sdrTracks: 1, wienerIterations: 0 },
  });
}

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** Weights, optimiser moments and logged values (minus wall times) of a finished run. */
async function snapshot(out: string) {
  const ck = await readCheckpoint(outPaths(out).checkpoint);
  // Timings differ from run to run; every other logged value must not.
  const timing = /audio_s_per_s|seconds/;
  const log = new ScalarLog(outPaths(out).log)
    .read()
    .filter((s) => !timing.test(s.tag))
    .map(({ wall: _, ...s }) => s);
  return { ck, log };
}

function expectSameRun(a: Awaited<ReturnType<typeof snapshot>>, b: Awaited<ReturnType<typeof snapshot>>) {
  const { seconds: _a, logBytes: _la, ...sa } = a.ck.state;
  const { seconds: _b, logBytes: _lb, ...sb } = b.ck.state;
  expect(sb).toEqual(sa);
  for (const t of ['vocals', 'bass'] as const) {
    for (const [name, w] of Object.entries(a.ck.weights.targets[t]!))
      expect(sameBytes(b.ck.weights.targets[t]![name], w), `${t} ${name}`).toBe(true);
  }
  for (const t of Object.keys(a.ck.adam)) {
    for (const [name, m] of Object.entries(a.ck.adam[t]!.m)) {
      expect(sameBytes(b.ck.adam[t]!.m[name], m), `${t} m ${name}`).toBe(true);
      expect(sameBytes(b.ck.adam[t]!.v[name], a.ck.adam[t]!.v[name]), `${t} v ${name}`).toBe(true);
    }
    expect(b.ck.adam[t]!.step).toBe(a.ck.adam[t]!.step);
  }
  expect(b.log).toEqual(a.log);
}

describe('sampler state', () => {
  it('restores the stream position exactly and rejects another seed', () => {
    const table = memoryTable(
      [0, 1, 2].map((t) => ({
        dataset: 'stems' as const,
        name: `t${t}`,
        path: '',
        length: 30_000,
        files: [],
        stems: { a: testSignal(t, 30_000), b: testSignal(t + 5, 30_000) },
      })),
    );
    const opts = { seed: 9, chunkSeconds: 0.1, batchSize: 3, targets: ['a'], randomTrackMix: true };
    const s1 = createSampler(table, opts);
    s1.next();
    s1.next();
    const st = JSON.parse(JSON.stringify(s1.state()));
    expect(st.draws).toBe(2 * 3 * 2 * 4);
    const want = s1.next();
    const s2 = createSampler(table, opts);
    s2.restore(st);
    const got = s2.next();
    expect(got.draws).toEqual(want.draws);
    expect(sameBytes(got.mixture, want.mixture)).toBe(true);
    expect(() => createSampler(table, { ...opts, seed: 1 }).restore(st)).toThrow(/seed/);
  });
});

describe('AdamW', () => {
  it('clips by global norm, decays only matrices, and matches the AdamW formula', () => {
    const w = tf.variable(tf.tensor2d([1, -2, 3, 0.5], [2, 2]));
    const b = tf.variable(tf.tensor1d([0.25, -1]));
    const opt = new AdamW(
      new Map<string, tf.Variable>([
        ['w', w],
        ['b', b],
      ]),
      { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1 },
    );
    const gw = [3, 0, 0, 4];
    const gb = [0, 0];
    const norm = opt.apply({ w: tf.tensor2d(gw, [2, 2]), b: tf.tensor1d(gb) }, 0.01);
    expect(norm).toBeCloseTo(5, 5);
    // Step 1: m̂ = g', v̂ = g'² so the update is lr · sign(g') (where g' ≠ 0), plus decay on w only.
    const scale = 1 / (5 + 1e-6);
    const wantW = [1, -2, 3, 0.5].map(
      (p, i) => p * (1 - 0.01 * 0.1) - (gw[i] !== 0 ? 0.01 * Math.sign(gw[i] * scale) : 0),
    );
    const gotW = w.dataSync();
    for (let i = 0; i < 4; i++) expect(gotW[i]).toBeCloseTo(wantW[i], 6);
    expect(Array.from(b.dataSync())).toEqual([0.25, -1]); // zero gradient, no decay on vectors
    const st = opt.state();
    expect(st.step).toBe(1);
    expect(st.m.w[0]).toBeCloseTo(0.1 * 3 * scale, 7);
    opt.dispose();
    tf.dispose([w, b]);
  });
});

describe('trainConfig', () => {
  it('fills defaults and rejects unknown keys and bad values', () => {
    const c = trainConfig({ data: { cache: '/x' } });
    expect(c.optim.lr).toBe(1e-3);
    expect(c.model.targets).toEqual(['vocals', 'drums', 'bass', 'other']);
    expect(() => trainConfig({ data: { cache: '/x' }, optim: { lrr: 1 } as never })).toThrow(/optim\.lrr/);
    expect(() => trainConfig({ data: { cache: '/x', batchSize: 0 } })).toThrow(/batchSize/);
    expect(() => trainConfig({ data: { cache: '/x' }, model: { targets: ['kazoo'] as never } })).toThrow(
      /kazoo/,
    );
  });
});

describe('train', () => {
  it('resumes bit-for-bit: 2 epochs straight = 1 epoch + resume + 1 epoch = interrupted mid-epoch + resume', async () => {
    const config = tinyConfig();
    const straight = join(dir, 'straight');
    const r = await train(config, { out: straight, epochs: 2 });
    expect(r.interrupted).toBe(false);
    expect(r.state).toMatchObject({ epoch: 2, globalStep: 6, stepInEpoch: 0 });

    const split = join(dir, 'split');
    await train(config, { out: split, epochs: 1 });
    expect((await readCheckpoint(outPaths(split).checkpoint)).state.epoch).toBe(1);
    await train(config, { out: split, epochs: 1, resume: true });

    // Stop request seen before the 3rd batch (mid-epoch 1), then resume to the end of epoch 2.
    const cut = join(dir, 'cut');
    let checks = 0;
    const signal = {
      get aborted() {
        return ++checks > 2;
      },
    } as AbortSignal;
    const c1 = await train(config, { out: cut, signal, epochs: 2 });
    expect(c1.interrupted).toBe(true);
    expect(c1.state).toMatchObject({ epoch: 0, stepInEpoch: 2 });
    await train(config, { out: cut, resume: true, epochs: 2 });

    const a = await snapshot(straight);
    expectSameRun(a, await snapshot(split));
    expectSameRun(a, await snapshot(cut));

    // The run did something: weights moved, validation was logged, outputs exist.
    const tags = new Set(a.log.map((s) => s.tag));
    for (const t of ['valid/loss/vocals', 'valid/sdr/bass', 'train/lr/vocals', 'train/grad_norm/bass'])
      expect(tags).toContain(t);
    const best = await readWeightsFile(outPaths(straight).best);
    expect(best.config.targets).toEqual(['vocals', 'bass']);
    expect(readFileSync(outPaths(straight).curves, 'utf8')).toMatch(/^<svg/);
    expect(JSON.parse(readFileSync(outPaths(straight).config, 'utf8')).name).toBe('tiny');
    expect(a.ck.state.targets.vocals.best).toBeLessThan(Number.POSITIVE_INFINITY);
  });

  it('joint network: one trunk, a head per target; resumes bit-for-bit; best.umxw stores the trunk once', async () => {
    const config = tinyConfig({}, true);
    const straight = join(dir, 'joint-straight');
    await train(config, { out: straight, epochs: 2 });
    const split = join(dir, 'joint-split');
    await train(config, { out: split, epochs: 1 });
    await train(config, { out: split, epochs: 1, resume: true });
    const a = await snapshot(straight);
    expectSameRun(a, await snapshot(split));
    // One optimiser and stopping state for the network; losses still per target.
    expect(Object.keys(a.ck.adam)).toEqual(['joint']);
    expect(Object.keys(a.ck.state.targets)).toEqual(['joint']);
    expect(Object.keys(a.ck.adam.joint.m)).toContain('bass/fc3.weight');
    const tags = new Set(a.log.map((s) => s.tag));
    for (const t of [
      'valid/loss/vocals',
      'valid/loss/bass',
      'valid/loss/joint',
      'train/lr/joint',
      'train/loss/bass',
    ])
      expect(tags).toContain(t);
    const w = a.ck.weights;
    expect(w.targets.bass!['lstm.weight_ih_l0']).toBe(w.targets.vocals!['lstm.weight_ih_l0']);
    expect(sameBytes(w.targets.bass!['fc3.weight'], w.targets.vocals!['fc3.weight'])).toBe(false);
    const best = await readWeightsFile(outPaths(straight).best);
    expect(best.config.joint).toBe(true);
    expect(best.targets.bass!['fc1.weight']).toBe(best.targets.vocals!['fc1.weight']);
    // The trunk is stored once: the file is smaller than two whole networks.
    const perTarget = await readWeightsFile(outPaths(join(dir, 'straight')).best);
    const bytes = (f: string) => readFileSync(f).length;
    expect(bytes(outPaths(straight).best)).toBeLessThan(bytes(outPaths(join(dir, 'straight')).best));
    expect(perTarget.config.joint).toBeUndefined();
  });

  it('joint network with optim.sumLossWeight: trains on the summed-estimate term too and logs it', async () => {
    const plainOut = join(dir, 'joint-plain-1');
    const sumOut = join(dir, 'joint-sum-1');
    await train(tinyConfig({}, true), { out: plainOut, epochs: 1 });
    await train(tinyConfig({ sumLossWeight: 1 }, true), { out: sumOut, epochs: 1 });
    const plain = await snapshot(plainOut);
    const withSum = await snapshot(sumOut);
    const tags = (log: typeof plain.log) => new Set(log.map((s) => s.tag));
    expect(tags(withSum.log)).toContain('train/sum_loss/joint');
    expect(tags(plain.log)).not.toContain('train/sum_loss/joint');
    const sumLosses = withSum.log.filter((s) => s.tag === 'train/sum_loss/joint').map((s) => s.value);
    expect(sumLosses.length).toBeGreaterThan(0);
    expect(sumLosses.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    // Same seed and data: only the loss differs, so the weights do.
    const fc1 = (s: typeof plain) => s.ck.weights.targets.vocals!['fc1.weight'];
    expect(sameBytes(fc1(plain), fc1(withSum))).toBe(false);
    expect(withSum.ck.config.optim.sumLossWeight).toBe(1);
    expect(() => tinyConfig({ sumLossWeight: 1 })).toThrow(/sumLossWeight needs a joint network/);
    expect(() => tinyConfig({ sumLossWeight: -0.5 }, true)).toThrow(/sumLossWeight must be ≥ 0/);
  });

  it('trains on extra data sets with stems summed into the targets, and checks their config', async () => {
    const six = ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other'];
    const extraCache = await stemsCache('six', 'six', six, 3, 10, 0.34);
    const base = tinyConfig({ maxEpochs: 1 });
    const withExtra = trainConfig({
      ...base,
      model: { ...base.model, targets: ['other'] },
      data: {
        ...base.data,
        extra: [{ cache: extraCache, weight: 2, stems: { other: ['guitar', 'piano', 'other'] } }],
      },
    });
    const without = trainConfig({ ...withExtra, data: { ...base.data } });
    await train(withExtra, { out: join(dir, 'extra') });
    await train(without, { out: join(dir, 'no-extra') });
    const fc1 = async (run: string) =>
      (await readCheckpoint(outPaths(join(dir, run)).checkpoint)).weights.targets.other?.['fc1.weight'];
    const [a, b] = [await fc1('extra'), await fc1('no-extra')];
    // Same seed and config but for the extra pool: the batches, hence the weights, must differ.
    expect(a && b && a.length === b.length).toBe(true);
    expect(a && b && sameBytes(a, b)).toBe(false);
    expect(() =>
      trainConfig({ ...base, data: { ...base.data, extra: [{ cache: extraCache, weight: 0 }] } }),
    ).toThrow(/extra\[0\]\.weight/);
    expect(() =>
      trainConfig({
        ...base,
        data: { ...base.data, extra: [{ cache: extraCache, weight: 1, stems: { kazoo: ['x'] } }] },
      }),
    ).toThrow(/unknown stem "kazoo"/);
    expect(() =>
      trainConfig({
        ...base,
        data: {
          ...base.data,
          extra: [{ cache: extraCache, weight: 1, drop: 'other' as unknown as string[] }],
        },
      }),
    ).toThrow(/extra\[0\]\.drop must be a list/);
    await expect(
      train(
        trainConfig({ ...base, data: { ...base.data, extra: [{ cache: join(dir, 'nope'), weight: 1 }] } }),
        {
          out: join(dir, 'bad-extra'),
        },
      ),
    ).rejects.toThrow(/nope: not a preprocessed dataset/);
  });

  it('trains on a seeded subset of the training tracks (data.trainTracks) and refuses more than there are', async () => {
    const base = tinyConfig({ maxEpochs: 1 });
    const subset = trainConfig({ ...base, data: { ...base.data, trainTracks: 1 } });
    const all = trainConfig({ ...base, data: { ...base.data, trainTracks: 0 } });
    const lines: string[] = [];
    await train(subset, { out: join(dir, 'subset'), print: (l) => lines.push(l) });
    await train(all, { out: join(dir, 'subset-all') });
    expect(lines.join('\n')).toMatch(/training on 1 of 3 training tracks/);
    const fc1 = async (run: string) =>
      (await readCheckpoint(outPaths(join(dir, run)).checkpoint)).weights.targets.vocals?.['fc1.weight'];
    const [a, b] = [await fc1('subset'), await fc1('subset-all')];
    // Same seed and config but for the pool of tracks: the batches, hence the weights, must differ.
    expect(a && b && a.length === b.length).toBe(true);
    expect(a && b && sameBytes(a, b)).toBe(false);
    await expect(
      train(trainConfig({ ...base, data: { ...base.data, trainTracks: 4 } }), { out: join(dir, 'subset-4') }),
    ).rejects.toThrow(/4 tracks asked for, the split has only 3 training tracks/);
    expect(() => trainConfig({ ...base, data: { ...base.data, trainTracks: -1 } })).toThrow(
      /data\.trainTracks/,
    );
    expect(() => trainConfig({ ...base, data: { ...base.data, trainTracks: 1.5 } })).toThrow(
      /data\.trainTracks/,
    );
  });

  it('merges the best weights of runs on different targets into one model', async () => {
    const best = await readWeightsFile(outPaths(join(dir, 'straight')).best);
    const only = (t: 'vocals' | 'bass') => ({
      config: { ...best.config, targets: [t] },
      targets: { [t]: best.targets[t] },
    });
    const merged = mergeWeights([only('bass'), only('vocals')]);
    expect(merged.config.targets).toEqual(['bass', 'vocals']);
    expect(merged.targets.vocals).toBe(best.targets.vocals);
    expect(() => mergeWeights([only('bass'), best])).toThrow(/"bass" appears twice/);
    const wider = { ...only('vocals'), config: { ...only('vocals').config, hiddenSize: 16 } };
    expect(() => mergeWeights([only('bass'), wider])).toThrow(/another architecture/);
    const picked = pickTargets(best, ['bass']);
    expect(picked.config.targets).toEqual(['bass']);
    expect(Object.keys(picked.targets)).toEqual(['bass']);
    expect(() => pickTargets(best, ['guitar'], 'x.umxw')).toThrow(/x\.umxw has no target "guitar"/);
    // A network under another name: the group network of a hierarchical model.
    const group = pickTargets(best, ['vocals=vocals+bass']);
    expect(group.config.targets).toEqual(['vocals+bass']);
    expect(group.targets['vocals+bass']).toBe(best.targets.vocals);
    const hierarchical = mergeWeights([best, group]);
    expect(hierarchical.config.targets).toEqual([...best.config.targets, 'vocals+bass']);
    // …whose members must be networks of the merged model.
    expect(() => mergeWeights([only('bass'), group])).toThrow(/member "vocals" is not a target/);
  });

  it('warm-starts each network from a .umxw: its own target or the one init.from maps', async () => {
    const path = outPaths(join(dir, 'straight')).best;
    const best = await readWeightsFile(path);
    const base = tinyConfig();
    const config = trainConfig({
      ...base,
      model: { ...base.model, targets: ['guitar', 'vocals'] },
      init: { weights: path, from: { guitar: 'bass' } },
    });
    const w = await warmStartWeights(config);
    expect(w.config.targets).toEqual(['guitar', 'vocals']);
    expect(sameBytes(w.targets.guitar!['fc1.weight'], best.targets.bass!['fc1.weight'])).toBe(true);
    expect(sameBytes(w.targets.vocals!.input_scale, best.targets.vocals!.input_scale)).toBe(true);
    expect(w.targets.guitar!['fc1.weight']).not.toBe(best.targets.bass!['fc1.weight']); // a copy
    // a target the file lacks, unmapped; another architecture; a mapping for a non-target
    const unmapped = trainConfig({ ...config, init: { weights: path, from: {} } });
    await expect(warmStartWeights(unmapped)).rejects.toThrow(/no "guitar" network.*init\.from/);
    const wider = trainConfig({ ...config, model: { ...config.model, hiddenSize: 16 } });
    await expect(warmStartWeights(wider)).rejects.toThrow(/another architecture/);
    expect(() => trainConfig({ ...config, init: { weights: path, from: { piano: 'bass' } } })).toThrow(
      /init\.from names "piano"/,
    );
    expect(() => trainConfig({ ...config, init: { weights: path, from: { guitar: 'kazoo' } } })).toThrow(
      /stem name/,
    );
  });

  it('init.dataScaler: a warm start with the input scaler of this run’s data (a second-stage network)', async () => {
    const path = outPaths(join(dir, 'straight')).best;
    const best = await readWeightsFile(path);
    const base = tinyConfig();
    const config = trainConfig({
      ...base,
      model: { ...base.model, targets: ['guitar'], inputFrom: { guitar: 'guitar+piano' } },
      init: { weights: path, from: { guitar: 'bass' }, dataScaler: true },
    });
    const data = await openCache(cache);
    const w = await warmStartWeights(config, data);
    const want = inputScaler(umxOf(config), data.stats);
    expect(sameBytes(w.targets.guitar!.input_scale, want.scale)).toBe(true);
    expect(sameBytes(w.targets.guitar!.input_mean, want.mean)).toBe(true);
    expect(sameBytes(w.targets.guitar!.input_scale, best.targets.bass!.input_scale)).toBe(false);
    expect(sameBytes(w.targets.guitar!['fc1.weight'], best.targets.bass!['fc1.weight'])).toBe(true);
    // The network set keeps what it will read, for the merge into the model that has the group.
    expect(w.config.inputFrom).toEqual({ guitar: 'guitar+piano' });
    await expect(warmStartWeights(config)).rejects.toThrow(/no dataset/);
    expect(() =>
      trainConfig({ ...config, init: { weights: path, from: {}, dataScaler: 'yes' as never } }),
    ).toThrow(/dataScaler must be true or false/);
  });

  it('validation SDR leaves out a target silent for a whole track and never throws', async () => {
    const c = umxOf(tinyConfig());
    const models = c.targets.map((t, j) => ({
      targets: [t],
      model: new UmxTf(c, initUmxWeights(c, mulberry32(j + 1))),
    }));
    const length = 44_100;
    const silent = [new Float32Array(length), new Float32Array(length)];
    const vocals = testSignal(1, length);
    // track 0: no bass at all; track 1: nothing at all (BSS Eval has no reference to score)
    const tracks = [
      { mixture: vocals, stems: { vocals, bass: silent } },
      { mixture: silent, stems: { vocals: silent, bass: silent } },
    ];
    const data = {
      tracks: tracks.map((_, i) => ({ name: `t${i}` })),
      readTrack: (i: number) => tracks[i],
    } as unknown as CachedDataset;
    const notes: string[] = [];
    const v = await validate(data, [0, 1], models, c, {
      chunkFrames: 16,
      sdrTracks: 2,
      onNote: (m) => notes.push(m),
    });
    expect(Number.isFinite(v.sdr!.vocals)).toBe(true);
    expect(v.sdr!.bass).toBeNaN();
    expect(Number.isFinite(v.loss.bass)).toBe(true);
    for (const n of notes) expect(n).toMatch(/validation SDR skipped for "t\d"/);
  });

  it('refuses to overwrite a run without --resume, a resume with another config (naming the keys) and a resume of nothing', async () => {
    const out = join(dir, 'straight');
    await expect(train(tinyConfig(), { out, epochs: 1 })).rejects.toThrow(/--resume/);
    await expect(train(tinyConfig({ lr: 0.5 }), { out, resume: true, epochs: 1 })).rejects.toThrow(
      /another config.*Differs: optim\.lr \(0\.01 → 0\.5\)$/,
    );
    // Raising maxEpochs is allowed; so is a key the checkpoint predates, at its default.
    expect(configDifferences(tinyConfig(), tinyConfig({ maxEpochs: 99 }))).toEqual([]);
    const base = tinyConfig();
    expect(configDifferences(base, trainConfig({ ...base, data: { ...base.data, trainTracks: 0 } }))).toEqual(
      [],
    );
    expect(configDifferences(base, trainConfig({ ...base, data: { ...base.data, trainTracks: 2 } }))).toEqual(
      ['data.trainTracks (absent → 2)'],
    );
    const nowhere = join(dir, 'never-started');
    await expect(train(tinyConfig(), { out: nowhere, resume: true })).rejects.toThrow(
      /--resume: there is no checkpoint at .*never-started.*leave out --resume/,
    );
    expect(existsSync(nowhere)).toBe(false);
  });

  it('resumes a checkpoint written before a config key existed (no "init" in its config)', async () => {
    const out = join(dir, 'old-checkpoint');
    await train(tinyConfig({ maxEpochs: 1 }), { out });
    const path = outPaths(out).checkpoint;
    const ck = await readCheckpoint(path);
    const { init: _init, ...older } = ck.config;
    await writeCheckpoint(path, { ...ck, config: older as TrainConfig });
    await train(tinyConfig({ maxEpochs: 2 }), { out, resume: true });
    expect((await readCheckpoint(path)).state.epoch).toBe(2);
  });

  it('lowers the LR on a plateau and stops early', async () => {
    // lr tiny so validation barely moves: patience 0 → every non-improving epoch counts.
    const config = tinyConfig({
      lr: 1e-12,
      minLr: 0,
      lrPatience: 0,
      earlyStopPatience: 1,
      lrFactor: 0.5,
      maxEpochs: 6,
    });
    const { state } = await train(
      { ...config, valid: { ...config.valid, sdrEvery: 0 } },
      { out: join(dir, 'plateau') },
    );
    for (const t of ['vocals', 'bass']) {
      const p = state.targets[t];
      expect(p.stopped).toBe(true);
      expect(state.epoch).toBeLessThan(6);
      expect(p.lr).toBeLessThan(1e-12);
    }
  });

  it('CLI: SIGINT writes a checkpoint mid-epoch and exits with 130', async () => {
    const config = { ...tinyConfig(), data: { ...tinyConfig().data, samplesPerEpoch: 10_000 } };
    const file = join(dir, 'sigint.json');
    writeFileSync(file, JSON.stringify(config));
    const out = join(dir, 'sigint');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'training/cli/train.ts', '--config', file, '--out', out],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    child.stderr.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    for (let i = 0; i < 600 && !existsSync(outPaths(out).log); i++)
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited, output).toBe(130);
    expect(output).toMatch(/SIGINT: finishing the current batch/);
    const ck = await readCheckpoint(outPaths(out).checkpoint);
    expect(ck.state.epoch).toBe(0);
    expect(ck.state.stepInEpoch).toBeGreaterThan(0);
  });
  it('CLI: Ctrl-C to `npm run train` (the whole process group, as a terminal sends it) writes the checkpoint', async () => {
    const config = { ...tinyConfig(), data: { ...tinyConfig().data, samplesPerEpoch: 10_000 } };
    const file = join(dir, 'npm-sigint.json');
    writeFileSync(file, JSON.stringify(config));
    const out = join(dir, 'npm-sigint');
    // npm's own process group (detached), so the signal can go to the group as from a terminal.
    const child = spawn(
      'npm',
      ['run', '-s', 'train', '--', '--config', file, '--out', out, '--no-progress'],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    child.stderr.on('data', (b) => (output += b));
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    for (let i = 0; i < 600 && !existsSync(outPaths(out).log); i++)
      await new Promise((r) => setTimeout(r, 50));
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    // npm may exit before its script does: wait for the checkpoint the training process writes.
    for (let i = 0; i < 600 && !output.includes('stopped; resume with'); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(output).toMatch(/SIGINT: finishing the current batch/);
    expect(output).not.toMatch(/again: exiting/);
    const ck = await readCheckpoint(outPaths(out).checkpoint);
    expect(ck.state.stepInEpoch).toBeGreaterThan(0);
  }, 60_000);
});
