/**
 * Offline pitch augmentation on a small generated dataset: which tracks get copies, that the pitch
 * really moves (a tone an octave up), reruns resume, and bad arguments fail clearly.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { readWav } from '../node/audio-io';
import { AUGMENT_MANIFEST, augmentPitch, checkSemitones, pitchFilter, shiftedTrackName } from './augment';
import { openCache } from './cache';
import { preprocess } from './preprocess';
import { toneEnergy, writeStereo } from './testing';

let dir: string;
let cache: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stemdeck-augment-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LENGTH = Math.round(0.5 * SAMPLE_RATE);
const toneHz = (track: number, stem: number) => 220 + 55 * track + 330 * stem;

describe('augmentPitch', () => {
  beforeAll(async () => {
    const root = join(dir, 'stems');
    for (let t = 0; t < 4; t++) {
      for (const [k, stem] of ['vocals', 'bass'].entries()) {
        const tone = Float32Array.from(
          { length: LENGTH },
          (_, i) => 0.3 * Math.sin((2 * Math.PI * toneHz(t, k) * i) / SAMPLE_RATE),
        );
        await writeStereo(join(root, `song${t}`, `${stem}.wav`), [tone, tone]);
      }
    }
    const res = await preprocess({
      dataset: 'stems',
      root,
      cacheRoot: join(dir, 'cache'),
      onBadData: 'stop',
      split: 'seeded',
      seed: 42,
      validFraction: 0.25,
    });
    cache = res.dir;
  });

  it('shifts every stem of every training track (never a validation track) and keeps the length', async () => {
    const out = join(dir, 'aug');
    const split = (await openCache(cache)).index.split;
    expect(split.valid).toHaveLength(1);
    const res = await augmentPitch({ cache, out, semitones: [12] });
    expect(res).toMatchObject({ written: 3, alreadyThere: 0 });
    expect(res.tracks).toEqual(split.train.map((n) => shiftedTrackName(n, 12)));
    expect((await readdir(out)).sort()).toEqual([AUGMENT_MANIFEST, ...res.tracks].sort());
    expect(JSON.parse(await readFile(join(out, AUGMENT_MANIFEST), 'utf8'))).toMatchObject({
      semitones: [12],
    });

    for (const name of split.train) {
      const t = Number(name.slice(4));
      for (const [k, stem] of ['vocals', 'bass'].entries()) {
        const wav = await readWav(join(out, shiftedTrackName(name, 12), `${stem}.wav`));
        expect(wav.channels).toHaveLength(2);
        expect(wav.channels[0].length).toBe(LENGTH);
        // An octave up: the tone's power moves from f to 2f.
        const x = wav.channels[0].subarray(4096, LENGTH - 4096);
        expect(toneEnergy(x, 2 * toneHz(t, k))).toBeGreaterThan(100 * toneEnergy(x, toneHz(t, k)));
      }
    }
  });

  it('reruns keep finished copies and redo incomplete ones; the output preprocesses as a stems folder', async () => {
    const out = join(dir, 'aug');
    const first = (await openCache(cache)).index.split.train[0];
    await rm(join(out, shiftedTrackName(first, 12), 'bass.wav'));
    const res = await augmentPitch({ cache, out, semitones: [12] });
    expect(res).toMatchObject({ written: 1, alreadyThere: 2 });

    const pre = await preprocess({
      dataset: 'stems',
      root: out,
      cacheRoot: join(dir, 'cache'),
      onBadData: 'stop',
      split: 'none',
      seed: 42,
      validFraction: 0,
    });
    expect(pre).toMatchObject({ listed: 3, built: 3, skipped: [] });
    expect(pre.split?.train).toHaveLength(3);
  });

  it('rejects shifts that are zero, repeated or beyond an octave, and folders that are not a cache', async () => {
    expect(() => checkSemitones([0])).toThrow(/non-zero/);
    expect(() => checkSemitones([13])).toThrow(/±12/);
    expect(() => checkSemitones([1, 1])).toThrow(/repeat/);
    expect(() => checkSemitones([])).toThrow(/no pitch shifts/);
    await expect(
      augmentPitch({ cache: join(dir, 'stems'), out: join(dir, 'x'), semitones: [1] }),
    ).rejects.toThrow(/npm run preprocess/);
    expect(pitchFilter(12)).toBe('rubberband=pitch=2.000000:pitchq=quality');
    expect(shiftedTrackName('a', -2)).toBe('a (pitch −2)');
  });

  it('CLI: bad shifts and a folder that is not a cache exit non-zero with the reason', () => {
    const cli = (args: string[]) =>
      spawnSync(
        resolve(import.meta.dirname, '../../node_modules/.bin/tsx'),
        [resolve(import.meta.dirname, '../cli/augment.ts'), ...args],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
    const zero = cli(['--cache', cache, '--out', join(dir, 'cli'), '--semitones', '1,0']);
    expect(zero.status).not.toBe(0);
    expect(zero.stderr).toMatch(/non-zero number of semitones/);
    const notCache = cli(['--cache', join(dir, 'stems'), '--out', join(dir, 'cli'), '--no-progress']);
    expect(notCache.status).toBe(1);
    expect(notCache.stderr).toMatch(/^augment: .*not a preprocessed dataset.*npm run preprocess/m);
  });
});
