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
import { listFretsOnFire, loadFretsOnFireTrack, middleExcerpt, writeGuitarSongs } from './fretsonfire';
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
