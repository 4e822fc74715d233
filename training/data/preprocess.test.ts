/**
 * preprocess → cache → openCache on small generated datasets: what is cached, when an entry is reused
 * or rebuilt, the statistics over the train split, and the bad-data policies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cp, readFile, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { readWav } from '../node/audio-io';
import { openCache } from './cache';
import { type PreprocessOptions, preprocess } from './preprocess';
import { createSampler } from './sampler';
import { magnitudeMoments, mergeMoments, scalerStats } from './stats';
import { sharedData, writeHqTrack, writeMedleydbTrack, writeStemsTrack } from './testing';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stemdeck-preprocess-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function options(root: string, extra: Partial<PreprocessOptions> = {}): PreprocessOptions {
  return {
    dataset: 'stems',
    root,
    cacheRoot: join(dir, 'cache'),
    onBadData: 'skip',
    split: 'auto',
    seed: 42,
    validFraction: 0.25,
    ...extra,
  };
}

describe('preprocess (stems folders)', () => {
  let root: string;
  beforeAll(async () => {
    root = join(dir, 'stems');
    for (let t = 0; t < 4; t++)
      await writeStemsTrack(root, `song${t}`, ['vocals', 'guitar', 'drums'], t, 0.5);
  });

  it('caches every track, splits them, writes stats over the train split, and reads back exactly', async () => {
    const res = await preprocess(options(root));
    expect(res).toMatchObject({ listed: 4, built: 4, cached: 0, skipped: [], rebuilt: [] });
    expect(res.split).toMatchObject({ method: 'seeded', seed: 42 });
    expect(res.split!.valid).toHaveLength(1);
    expect(res.bytes).toBeGreaterThan(4 * 3 * 0.5 * SAMPLE_RATE * 8);

    const cache = await openCache(res.dir);
    expect(cache.tracks.map((t) => t.name)).toEqual(['song0', 'song1', 'song2', 'song3']);
    expect(cache.index.split).toEqual(res.split);
    const i = cache.trackIndex('song2');
    const wav = await readWav(join(root, 'song2', 'guitar.wav'));
    const chunk = cache.readChunk(i, 'guitar', 1000, 500);
    expect(chunk[1]).toEqual(wav.channels[1].subarray(1000, 1500));
    expect(
      cache
        .readChunk(i, 'guitar', -10, 20)[0]
        .subarray(0, 10)
        .every((v) => v === 0),
    ).toBe(true);
    expect(cache.readChunk(i, 'piano', 0, 10)[0]).toEqual(new Float32Array(10));
    const whole = cache.readTrack(i);
    expect(whole.mixture[0][777]).toBeCloseTo(
      whole.stems['vocals'][0][777] + whole.stems['guitar'][0][777] + whole.stems['drums'][0][777],
      6,
    );

    // stats.json = moments of the train tracks' mixtures (sum of stems), pooled.
    let pooled = magnitudeMoments(cache.readTrack(cache.trackIndex(res.split!.train[0])).mixture);
    for (const name of res.split!.train.slice(1)) {
      pooled = mergeMoments(pooled, magnitudeMoments(cache.readTrack(cache.trackIndex(name)).mixture));
    }
    const expected = scalerStats(pooled);
    expect(cache.stats.tracks).toEqual(res.split!.train);
    expect(cache.stats.bins).toBe(2049);
    expect(cache.stats.frames).toBe(expected.frames);
    for (let k = 0; k < 2049; k += 97) {
      expect(cache.stats.mean[k]).toBeCloseTo(expected.mean[k], 6);
      expect(cache.stats.std[k]).toBeCloseTo(expected.std[k], 6);
    }

    // The sampler runs on the cache as on memory.
    const batch = createSampler(cache, {
      seed: 1,
      chunkSeconds: 0.25,
      batchSize: 2,
      targets: ['guitar'],
      randomTrackMix: true,
      tracks: res.split!.train.map((n) => cache.trackIndex(n)),
    }).next();
    expect(batch.mixture).toHaveLength(2 * 2 * Math.round(0.25 * SAMPLE_RATE));
  });

  it('reuses valid entries and rebuilds changed sources and corrupt entries', async () => {
    const again = await preprocess(options(root));
    expect(again).toMatchObject({ built: 0, cached: 4, rebuilt: [] });

    const future = new Date(Date.now() + 60_000);
    await utimes(join(root, 'song0', 'vocals.wav'), future, future); // "edited"
    const cache = await openCache(again.dir);
    const t1 = join(again.dir, 'tracks', cache.tracks[1].dir);
    const t2 = join(again.dir, 'tracks', cache.tracks[2].dir);
    await truncate(join(t1, 'drums.f32'), 1000);
    await writeFile(join(t2, 'manifest.json'), '{"format": "stemdeck-tr');
    await writeStemsTrack(root, 'song3', ['piano'], 9, 0.5); // a new file in the folder

    const res = await preprocess(options(root));
    expect(res.cached).toBe(0);
    expect(Object.fromEntries(res.rebuilt.map((r) => [r.name, r.reason]))).toEqual({
      song0: expect.stringMatching(/source changed: .*song0.vocals\.wav/),
      song1: expect.stringMatching(/drums\.f32 is 1000 bytes, expected 176400/),
      song2: 'manifest unreadable',
      song3: 'the set of source files changed',
    });
    const reopened = await openCache(res.dir);
    expect(reopened.tracks[3].stems).toEqual(['drums', 'guitar', 'piano', 'vocals']);
    expect((await preprocess(options(root))).cached).toBe(4);
  });

  it('openCache refuses a damaged entry and says what to run', async () => {
    const res = await preprocess(options(root));
    const cache = await openCache(res.dir);
    await truncate(join(res.dir, 'tracks', cache.tracks[0].dir, 'vocals.f32'), 8);
    await expect(openCache(res.dir)).rejects.toThrow(/vocals\.f32 is 8 bytes.*npm run preprocess/);
    await preprocess(options(root));
    await expect(openCache(join(dir, 'nothing'))).rejects.toThrow(/not a preprocessed dataset/);
  });
  it('names the cache by the data, not by where it lies: a dataset seen from another checkout keeps its cache', async () => {
    const here = await preprocess(options(root));
    const moved = join(dir, 'elsewhere', 'stems');
    await cp(root, moved, { recursive: true, preserveTimestamps: true });
    const there = await preprocess(options(moved));
    expect(there.dir).toBe(here.dir);
    expect(there).toMatchObject({ built: 0, cached: 4, rebuilt: [] });
    // Entries written with absolute source paths (before paths were relative) stay valid.
    const cache = await openCache(here.dir);
    const manifestFile = join(here.dir, 'tracks', cache.tracks[0].dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    const absolute = manifest.sources.map((s: { path: string }) => ({ ...s, path: join(root, s.path) }));
    expect(absolute[0].path.startsWith(root)).toBe(true);
    await writeFile(manifestFile, JSON.stringify({ ...manifest, sources: absolute }));
    expect(await preprocess(options(root))).toMatchObject({ cached: 4, rebuilt: [] });
    // Other tracks are another data set: another folder.
    await writeStemsTrack(moved, 'song9', ['vocals'], 99, 0.5);
    expect((await preprocess(options(moved))).dir).not.toBe(here.dir);
  });

  it('checks the required targets of cached tracks too (--targets)', async () => {
    const res = await preprocess(options(root, { required: ['piano'], split: 'none' }));
    expect(res.cached).toBe(1); // only song3 has piano
    expect(res.skipped.map((s) => s.name)).toEqual(['song0', 'song1', 'song2']);
    expect(res.skipped[0].message).toMatch(/song0.*piano/);
    expect((await openCache(res.dir)).tracks.map((t) => t.name)).toEqual(['song3']);
  });
});

describe('preprocess bad-data policy', () => {
  let root: string;
  beforeAll(async () => {
    root = join(dir, 'hq');
    for (const name of ['a', 'b', 'c'])
      await writeHqTrack(join(root, 'train'), name, name.charCodeAt(0), 0.5);
    await writeFile(join(root, 'train', 'b', 'bass.wav'), 'not audio');
  });

  it('skips a bad track with its message and counts it (default)', async () => {
    const res = await preprocess(options(root, { dataset: 'musdb18', subset: 'train', validFraction: 0.3 }));
    expect(res.skipped).toEqual([{ name: 'b', message: expect.stringMatching(/b.bass\.wav.*not a WAV/) }]);
    expect(res.built).toBe(2);
    const cache = await openCache(res.dir);
    expect(cache.tracks.map((t) => t.name)).toEqual(['a', 'c']);
    expect(cache.tracks.every((t) => t.hasMixture)).toBe(true);
    expect(cache.index.skipped).toHaveLength(1);
    expect([...res.split!.train, ...res.split!.valid].sort()).toEqual(['a', 'c']);
  });

  it('stops at the first bad track with --on-bad-data stop', async () => {
    const res = await preprocess(
      options(root, { dataset: 'musdb18', subset: 'train', onBadData: 'stop', cacheRoot: join(dir, 'c2') }),
    );
    expect(res.stoppedBy).toMatch(/b.bass\.wav.*not a WAV/);
    expect(res.built).toBe(1); // a, before b
    expect(res.split).toBeUndefined();
    await expect(openCache(res.dir)).rejects.toThrow(/not a preprocessed dataset/);
  });

  it('requires asked-for targets in MedleyDB tracks', async () => {
    const mroot = join(dir, 'medleydb');
    await writeMedleydbTrack(mroot, 'With_Vocals', ['female singer', 'piano'], 1, 0.5);
    await writeMedleydbTrack(mroot, 'Without', ['piano', 'banjo'], 2, 0.5);
    const res = await preprocess(
      options(mroot, { dataset: 'medleydb', required: ['vocals'], validFraction: 0 }),
    );
    expect(res.skipped.map((s) => s.name)).toEqual(['Without']);
    const manifest = JSON.parse(
      await readFile(
        join(res.dir, 'tracks', (await openCache(res.dir)).tracks[0].dir, 'manifest.json'),
        'utf8',
      ),
    );
    expect(manifest.info.labels).toEqual({ vocals: ['female singer'], piano: ['piano'] });
  });
});

describe('preprocess on MUSDB18-7 (shared data)', () => {
  const musdb = sharedData('musdb18-7', 'preprocess.test');
  it.skipIf(!musdb)('caches two previews with their shipped mixtures', async () => {
    const res = await preprocess(
      options(musdb!, { dataset: 'musdb18', subset: 'train', limit: 2, cacheRoot: join(dir, 'real') }),
    );
    expect(res).toMatchObject({ built: 2, skipped: [] });
    const cache = await openCache(res.dir);
    expect(cache.tracks[0]).toMatchObject({ length: 299_880, hasMixture: true });
    expect(cache.stats.mean.every(Number.isFinite)).toBe(true);
  });
});
