/**
 * Frets on Fire loader on generated songs in the packages' layout (Vorbis files made by ffmpeg from
 * test tones): the held-out rule, decoding to guitar + rest, excerpts and the evaluation folders.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { loadTrack } from '../eval/tracks';
import {
  listFretsOnFire,
  loadFretsOnFireTrack,
  middleExcerpt,
  writeGuitarOverAccompaniments,
  writeGuitarSongs,
} from './fretsonfire';
import { preprocess } from './preprocess';
import { testSignal, toneEnergy, writeStereo } from './testing';

let dir: string;
let root: string;

/** A song folder with Vorbis guitar.ogg / song.ogg of `seconds`, tones by seed. */
async function writeSong(pkg: string, song: string, seed: number, seconds = 2): Promise<void> {
  const folder = join(root, pkg, song);
  await mkdir(folder, { recursive: true });
  for (const [file, s] of [
    ['guitar', seed],
    ['song', seed + 100],
  ] as const) {
    const wav = join(dir, `${pkg}-${song}-${file}.wav`);
    await writeStereo(wav, testSignal(s, Math.round(seconds * SAMPLE_RATE)));
    execFileSync('ffmpeg', [
      '-nostdin',
      '-v',
      'error',
      '-y',
      '-i',
      wav,
      '-c:a',
      'libvorbis',
      join(folder, `${file}.ogg`),
    ]);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stemdeck-fof-'));
  root = join(dir, 'songs');
  await writeSong('muldjord', 'zeta', 1);
  await writeSong('muldjord', 'alpha', 2, 3);
  await writeSong('sectoid', 'Beta song', 3);
  await writeSong('sectoid', 'gamma', 4);
  // Not a song: only one of the two files.
  await mkdir(join(root, 'sectoid', 'Aaa broken'), { recursive: true });
  await writeFile(join(root, 'sectoid', 'Aaa broken', 'guitar.ogg'), '');
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Frets on Fire songs', () => {
  it('holds out the first song of each package (code-point order) and trains on the others', async () => {
    const names = async (subset: string) => (await listFretsOnFire(root, subset)).map((r) => r.name);
    expect(await names('test')).toEqual(['muldjord-alpha', 'sectoid-Beta song']);
    expect(await names('train')).toEqual(['muldjord-zeta', 'sectoid-gamma']);
    expect(await names('all')).toEqual([
      'muldjord-alpha',
      'muldjord-zeta',
      'sectoid-Beta song',
      'sectoid-gamma',
    ]);
    await expect(listFretsOnFire(root, 'valid')).rejects.toThrow(/train, test, all/);
    await expect(listFretsOnFire(join(dir, 'absent'), 'test')).rejects.toThrow(
      /install-system-deps\.sh --data/,
    );
  });

  it('decodes a song as guitar + rest, with no mixture of its own', async () => {
    const [ref] = await listFretsOnFire(root, 'train');
    const track = await loadFretsOnFireTrack(ref);
    expect(Object.keys(track.stems).sort()).toEqual(['guitar', 'rest']);
    expect(track.mixture).toBeUndefined();
    expect(Math.abs(track.length - 2 * SAMPLE_RATE)).toBeLessThan(2048);
    // Each stem carries its own tone (Vorbis is lossy: compare energies, not samples).
    const freq = (seed: number) => 110 + 37 * (seed % 23);
    const g = track.stems.guitar[0];
    expect(toneEnergy(g, freq(1))).toBeGreaterThan(100 * toneEnergy(g, freq(101)));
    const r = track.stems.rest[0];
    expect(toneEnergy(r, freq(101))).toBeGreaterThan(100 * toneEnergy(r, freq(1)));
  });

  it('cuts the middle of a track, or keeps a shorter one whole', async () => {
    const [ref] = await listFretsOnFire(root, 'test');
    const track = await loadFretsOnFireTrack(ref);
    const cut = middleExcerpt(track, 1);
    expect(cut.length).toBe(SAMPLE_RATE);
    const start = Math.floor((track.length - SAMPLE_RATE) / 2);
    expect(cut.stems.guitar[1][0]).toBe(track.stems.guitar[1][start]);
    expect(cut.stems.rest[0][SAMPLE_RATE - 1]).toBe(track.stems.rest[0][start + SAMPLE_RATE - 1]);
    expect(middleExcerpt(track, 10)).toBe(track);
    expect(middleExcerpt(track, 0)).toBe(track);
  });

  it('writes evaluation folders (mixture = guitar + rest) that the evaluator reads', async () => {
    const out = join(dir, 'eval', 'fof-test');
    const dirs = await writeGuitarSongs({ root, subset: 'test', seconds: 1, out });
    expect(dirs.map((d) => d.slice(out.length + 1))).toEqual(['muldjord-alpha', 'sectoid-Beta song']);
    expect((await readdir(out)).sort()).toEqual(['muldjord-alpha', 'sectoid-Beta song']); // no .partial left
    const t = await loadTrack({ name: 'muldjord-alpha', kind: 'stem-folder', path: dirs[0] });
    expect(Object.keys(t.stems)).toEqual(['guitar', 'rest']);
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < SAMPLE_RATE; i += 997) {
        expect(t.mixture.channels[c][i]).toBeCloseTo(
          t.stems.guitar.channels[c][i] + t.stems.rest.channels[c][i],
          6,
        );
      }
    }
  });

  it('lays each song’s guitar, piece by piece, over accompaniments at the level asked for', async () => {
    const out = join(dir, 'eval', 'fof-over');
    const n = Math.round(0.8 * SAMPLE_RATE);
    const accompaniments = [11, 12, 13].map((seed, i) => ({
      name: `acc${i}`,
      channels: testSignal(seed, n, 0.1),
    }));
    const dirs = await writeGuitarOverAccompaniments({
      root,
      subset: 'test',
      seconds: 0,
      pieces: 2,
      accompaniments,
      levelDb: -6,
      out,
    });
    // Song s, piece j over accompaniment (2s + j) mod 3.
    expect(dirs.map((d) => d.slice(out.length + 1))).toEqual([
      'muldjord-alpha @ acc0',
      'muldjord-alpha @ acc1',
      'sectoid-Beta song @ acc2',
      'sectoid-Beta song @ acc0',
    ]);
    const song = await loadFretsOnFireTrack((await listFretsOnFire(root, 'test'))[0]);
    const t = await loadTrack({ name: 'piece', kind: 'stem-folder', path: dirs[1] });
    const g = t.stems.guitar.channels;
    const r = t.stems.rest.channels;
    expect(g[0].length).toBe(n); // as long as the accompaniment (shorter than half the song)
    const energy = (x: ArrayLike<number>[]) =>
      x.reduce((e, c) => e + Array.from(c).reduce((a, v) => a + v * v, 0), 0);
    expect(10 * Math.log10(energy(g) / energy(r))).toBeCloseTo(-6, 1);
    // The second piece of the song's guitar (scaled), over accompaniment 1 as it is.
    const gain = g[0][100] / song.stems.guitar[0][n + 100];
    for (let i = 0; i < n; i += 997) {
      expect(g[1][i]).toBeCloseTo(gain * song.stems.guitar[1][n + i], 5);
      expect(r[0][i]).toBeCloseTo(accompaniments[1].channels[0][i], 6);
      expect(t.mixture.channels[0][i]).toBeCloseTo(g[0][i] + r[0][i], 6);
    }
    await expect(
      writeGuitarOverAccompaniments({
        root,
        subset: 'test',
        seconds: 0,
        pieces: 0,
        accompaniments,
        levelDb: null,
        out,
      }),
    ).rejects.toThrow(/pieces/);
  });

  it('preprocesses the held-out subset without a validation split', async () => {
    const result = await preprocess({
      dataset: 'fretsonfire',
      root,
      subset: 'test',
      cacheRoot: join(dir, 'cache'),
      onBadData: 'stop',
      split: 'auto',
      seed: 1,
      validFraction: 0.5,
    });
    expect(result.built).toBe(2);
    expect(result.split?.method).toBe('none');
    expect(existsSync(result.dir)).toBe(true);
  });
});
