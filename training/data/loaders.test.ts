/**
 * Loaders on small generated folders in each layout (MUSDB18-HQ, MedleyDB, plain stems, GTZAN), every
 * bad-data case with a generated file, and one MUSDB18-7 `.stem.mp4` plus the HQ sample when the
 * shared data is there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { readWav, writeWav } from '../node/audio-io';
import { DATASETS } from './datasets';
import { listGtzan, loadGtzanClip } from './gtzan';
import { listMedleydb, loadMedleydbTrack, mapMedleydbLabel, medleydbMapping } from './medleydb';
import { listMusdb, loadMusdbTrack } from './musdb';
import { listStemFolders, loadStemFolderTrack } from './stems-folder';
import {
  sharedData,
  testSignal,
  writeHqTrack,
  writeMedleydbTrack,
  writeStemsTrack,
  writeStereo,
} from './testing';
import { isBadData, type Track } from './track';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stemdeck-loaders-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Expects a bad-data rejection whose single-line message names `file` and matches `cause`. */
async function expectBad(promise: Promise<unknown>, file: string, cause: RegExp): Promise<void> {
  const err = await promise.then(
    () => new Error('expected the track to be rejected'),
    (e: unknown) => e,
  );
  expect(isBadData(err), String(err)).toBe(true);
  const message = (err as Error).message;
  expect(message).toContain(file);
  expect(message).toMatch(cause);
  expect(message).not.toMatch(/[\r\n]/);
}

function sumOf(track: Track): Float32Array[] {
  const out = [new Float32Array(track.length), new Float32Array(track.length)];
  for (const s of Object.values(track.stems)) {
    for (let c = 0; c < 2; c++) for (let i = 0; i < track.length; i++) out[c][i] += s[c][i];
  }
  return out;
}

describe('MUSDB18-HQ folders', () => {
  it('lists tracks and loads four stems and the mixture, stereo 44.1 kHz', async () => {
    const root = join(dir, 'hq');
    await writeHqTrack(join(root, 'train'), 'B Track', 2);
    await writeHqTrack(join(root, 'train'), 'A Track', 1);
    const refs = await listMusdb(root, 'train');
    expect(refs.map((r) => r.name)).toEqual(['A Track', 'B Track']);
    const track = await loadMusdbTrack(refs[0]);
    expect(Object.keys(track.stems).sort()).toEqual(['bass', 'drums', 'other', 'vocals']);
    expect(track.length).toBe(SAMPLE_RATE);
    expect(track.files).toHaveLength(5);
    const expected = (await readWav(join(root, 'train', 'A Track', 'bass.wav'))).channels;
    expect(track.stems['bass'][1]).toEqual(expected[1]);
    const sum = sumOf(track);
    for (let i = 0; i < track.length; i += 997) expect(track.mixture![0][i]).toBeCloseTo(sum[0][i], 5);
  });

  it('rejects a missing subset folder with its path', async () => {
    await expect(listMusdb(join(dir, 'nowhere'), 'train')).rejects.toThrow(/nowhere.train/);
  });
});

describe('bad data', () => {
  let root: string;
  beforeAll(() => {
    root = join(dir, 'bad', 'train');
  });

  const load = async (name: string) => {
    const refs = await listMusdb(join(dir, 'bad'), 'train');
    const ref = refs.find((r) => r.name === name);
    if (!ref) throw new Error(`test track ${name} not listed`);
    return loadMusdbTrack(ref);
  };

  it('a file that is not audio (text)', async () => {
    const folder = await writeHqTrack(root, 'text', 3);
    await writeFile(join(folder, 'other.wav'), 'this is not a wav file\n');
    await expectBad(load('text'), join(folder, 'other.wav'), /not a WAV/);
  });

  it('a truncated file', async () => {
    const folder = await writeHqTrack(root, 'truncated', 4);
    const file = join(folder, 'drums.wav');
    const bytes = (await readFile(file)).byteLength;
    await truncate(file, Math.floor(bytes / 2));
    await expectBad(load('truncated'), file, /truncated/);
  });

  it('an unreadable (empty) file', async () => {
    const folder = await writeHqTrack(root, 'empty', 5);
    await writeFile(join(folder, 'vocals.wav'), '');
    await expectBad(load('empty'), join(folder, 'vocals.wav'), /empty/);
  });

  it('a stem of a different length', async () => {
    const folder = await writeHqTrack(root, 'length', 6);
    const file = join(folder, 'bass.wav');
    await writeStereo(file, testSignal(1, SAMPLE_RATE / 2));
    await expectBad(load('length'), file, /length 22050 samples .* differs .*44100 samples/);
  });

  it('tolerates codec padding (a few hundred samples) and cuts to the shortest', async () => {
    const folder = await writeHqTrack(root, 'padding', 7);
    await writeStereo(join(folder, 'bass.wav'), testSignal(1, SAMPLE_RATE + 300));
    const track = await load('padding');
    expect(track.length).toBe(SAMPLE_RATE);
    expect(track.stems['bass'][0]).toHaveLength(SAMPLE_RATE);
  });

  it('a stem at a different sample rate', async () => {
    const folder = await writeHqTrack(root, 'rate', 8);
    const file = join(folder, 'vocals.wav');
    await writeStereo(file, testSignal(2, 48_000), 48_000);
    await expectBad(load('rate'), file, /sample rate 48000 Hz differs .*44100 Hz/);
  });

  it('silence everywhere', async () => {
    const folder = join(root, 'silent');
    for (const s of ['mixture', 'drums', 'bass', 'other', 'vocals']) {
      await writeStereo(join(folder, `${s}.wav`), [
        new Float32Array(SAMPLE_RATE),
        new Float32Array(SAMPLE_RATE),
      ]);
    }
    await expectBad(load('silent'), folder, /silent everywhere/);
  });

  it('one silent stem is fine (instrumentals have silent vocals)', async () => {
    const folder = await writeHqTrack(root, 'instrumental', 9);
    await writeStereo(join(folder, 'vocals.wav'), [
      new Float32Array(SAMPLE_RATE),
      new Float32Array(SAMPLE_RATE),
    ]);
    const track = await load('instrumental');
    expect(track.stems['vocals'][0].every((v) => v === 0)).toBe(true);
  });

  it('a missing target', async () => {
    const folder = await writeHqTrack(root, 'missing', 10);
    rmSync(join(folder, 'bass.wav'));
    await expectBad(load('missing'), join(folder, 'bass.wav'), /missing target "bass"/);
  });

  it('NaN or Infinity in a float WAV, never passed on', async () => {
    const folder = await writeHqTrack(root, 'nan', 11);
    const s = testSignal(3, SAMPLE_RATE);
    s[1][SAMPLE_RATE / 2] = Number.NaN;
    await writeStereo(join(folder, 'other.wav'), s);
    await expectBad(
      load('nan'),
      join(folder, 'other.wav'),
      /non-finite sample \(NaN\) at 0\.500 s, channel 2/,
    );
    s[1][SAMPLE_RATE / 2] = Number.POSITIVE_INFINITY;
    await writeStereo(join(folder, 'other.wav'), s);
    await expectBad(load('nan'), join(folder, 'other.wav'), /non-finite sample \(Infinity\)/);
  });
});

describe('MedleyDB', () => {
  it('maps the documented labels and defaults everything else to other', () => {
    const cases: [string, string][] = [
      ['male singer', 'vocals'],
      ['female singer', 'vocals'],
      ['vocalists', 'vocals'],
      ['drum set', 'drums'],
      ['kick drum', 'drums'],
      ['snare drum', 'drums'],
      ['toms', 'drums'],
      ['auxiliary percussion', 'drums'],
      ['electric bass', 'bass'],
      ['double bass', 'bass'],
      ['distorted electric guitar', 'guitar'],
      ['clean electric guitar', 'guitar'],
      ['acoustic guitar', 'guitar'],
      ['lap steel guitar', 'guitar'],
      ['piano', 'piano'],
      ['electric piano', 'piano'],
      ['violin', 'other'],
      ['synthesizer', 'other'],
      ['vibraphone', 'other'],
      ['Main System', 'other'],
    ];
    for (const [label, target] of cases)
      expect(mapMedleydbLabel(label), label).toEqual({ target, known: true });
    expect(mapMedleydbLabel('kazoo orchestra')).toEqual({ target: 'other', known: false });
    expect(mapMedleydbLabel(['male singer', 'female singer']).target).toBe('vocals');
    expect(mapMedleydbLabel(['male singer', 'piano']).target).toBe('other');
    expect(new Set(medleydbMapping().values())).toEqual(
      new Set(['vocals', 'drums', 'bass', 'guitar', 'piano', 'other']),
    );
  });

  it('sums the stems of one target and keeps the labels per target', async () => {
    const root = join(dir, 'medleydb');
    const labels = [
      'male singer',
      'kick drum',
      'snare drum',
      'electric bass',
      'clean electric guitar',
      'flute',
    ];
    await writeMedleydbTrack(root, 'Artist_Song', labels, 1);
    const refs = await listMedleydb(root);
    expect(refs.map((r) => r.name)).toEqual(['Artist_Song']);
    const track = await loadMedleydbTrack(refs[0]);
    expect(Object.keys(track.stems).sort()).toEqual(['bass', 'drums', 'guitar', 'other', 'vocals']);
    expect(track.mixture).toBeUndefined();
    expect(track.info?.['labels']).toMatchObject({ drums: ['kick drum', 'snare drum'], other: ['flute'] });
    const kick = (await readWav(join(root, 'Artist_Song', 'Artist_Song_STEMS', 'Artist_Song_STEM_02.wav')))
      .channels[0];
    const snare = (await readWav(join(root, 'Artist_Song', 'Artist_Song_STEMS', 'Artist_Song_STEM_03.wav')))
      .channels[0];
    for (let i = 0; i < track.length; i += 1009) {
      expect(track.stems['drums'][0][i]).toBeCloseTo(kick[i] + snare[i], 6);
      expect(track.stems['drums'][1][i]).toBe(track.stems['drums'][0][i]); // mono stems duplicated
    }
    expect(track.files).toHaveLength(1 + labels.length);
  });

  it('names the METADATA file when it is invalid, and a listed stem that is missing', async () => {
    const root = join(dir, 'medleydb-bad');
    const folder = await writeMedleydbTrack(root, 'Broken_Yaml', ['piano'], 2);
    await writeFile(join(folder, 'Broken_Yaml_METADATA.yaml'), 'stems: [unclosed\n  - : :\n');
    const gone = await writeMedleydbTrack(root, 'Gone_Stem', ['piano', 'male singer'], 3);
    const missing = join(gone, 'Gone_Stem_STEMS', 'Gone_Stem_STEM_02.wav');
    rmSync(missing);
    const refs = await listMedleydb(root);
    await expectBad(loadMedleydbTrack(refs[0]), join(folder, 'Broken_Yaml_METADATA.yaml'), /invalid YAML/);
    await expectBad(
      loadMedleydbTrack(refs[1]),
      missing,
      /S02 \(male singer\) is listed in the METADATA but missing/,
    );
  });

  it('reports a required target that no stem maps to', async () => {
    const root = join(dir, 'medleydb-req');
    const folder = await writeMedleydbTrack(root, 'No_Vocals', ['piano', 'drum set'], 4);
    const [ref] = await listMedleydb(root);
    await expectBad(DATASETS.medleydb.load(ref, ['vocals']), folder, /missing target\(s\) vocals/);
  });
});

describe('stems folder', () => {
  it('reads any target names and requires the asked-for ones', async () => {
    const root = join(dir, 'stems');
    await writeStemsTrack(root, 'song1', ['vocals', 'keys', 'guitar'], 1);
    await writeStemsTrack(root, 'song2', ['guitar', 'drums'], 2);
    await mkdir(join(root, 'not-a-track'), { recursive: true });
    await writeFile(join(root, 'not-a-track', 'notes.txt'), 'no audio here');
    const refs = await listStemFolders(root);
    expect(refs.map((r) => r.name)).toEqual(['song1', 'song2']);
    const t1 = await loadStemFolderTrack(refs[0]);
    expect(Object.keys(t1.stems).sort()).toEqual(['guitar', 'keys', 'vocals']);
    await expectBad(
      loadStemFolderTrack(refs[1], ['vocals']),
      join(refs[1].path, 'vocals.*'),
      /missing target/,
    );
  });

  it('decodes other formats through ffmpeg (FLAC)', async () => {
    const root = join(dir, 'stems-flac');
    const folder = await writeStemsTrack(root, 'song', ['bass'], 3);
    // A FLAC written by ffmpeg from a generated WAV: lossless, so it must decode to the same samples.
    const { execFileSync } = await import('node:child_process');
    const wav = join(dir, 'src.wav');
    const signal = testSignal(5, SAMPLE_RATE);
    await writeWav(wav, { sampleRate: SAMPLE_RATE, channels: signal }, { format: 'pcm16' });
    execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', wav, join(folder, 'guitar.flac')]);
    const [ref] = await listStemFolders(root);
    const track = await loadStemFolderTrack(ref);
    expect(Object.keys(track.stems).sort()).toEqual(['bass', 'guitar']);
    for (let i = 0; i < SAMPLE_RATE; i += 503)
      expect(track.stems['guitar'][0][i]).toBeCloseTo(signal[0][i], 4);
  });
});

describe('GTZAN', () => {
  it('lists clips with genre labels and decodes 22.05 kHz mono to 44.1 kHz stereo', async () => {
    const root = join(dir, 'gtzan');
    for (const genre of ['rock', 'blues']) {
      for (const k of [1, 0]) {
        await writeWav(
          join(root, 'genres', genre, `${genre}.0000${k}.wav`),
          { sampleRate: 22_050, channels: [testSignal(k, 11_025)[0]] },
          { format: 'pcm16' },
        );
      }
    }
    const listing = await listGtzan(root);
    expect(listing.genres).toEqual(['blues', 'rock']);
    expect(listing.clips.map((c) => `${c.genre}/${c.name}`)).toEqual([
      'blues/blues.00000',
      'blues/blues.00001',
      'rock/rock.00000',
      'rock/rock.00001',
    ]);
    expect((await listGtzan(join(root, 'genres'))).clips).toHaveLength(4);
    const audio = await loadGtzanClip(listing.clips[0]);
    expect(audio.sampleRate).toBe(SAMPLE_RATE);
    expect(audio.channels).toHaveLength(2);
    expect(Math.abs(audio.channels[0].length - SAMPLE_RATE / 2)).toBeLessThan(64);
    await expect(listGtzan(join(dir, 'no-gtzan'))).rejects.toThrow(/GTZAN folder not found/);
  });
});

describe('real data (shared/data)', () => {
  const musdb = sharedData('musdb18-7', 'loaders.test');
  const hq = sharedData('musdb18-hq-sample', 'loaders.test');

  it.skipIf(!musdb)('decodes a MUSDB18-7 .stem.mp4 into four stems and the mixture', async () => {
    const refs = await listMusdb(musdb!, 'train');
    expect(refs).toHaveLength(94);
    const track = await loadMusdbTrack(refs[0]);
    expect(track.length).toBe(299_880);
    expect(Object.keys(track.stems).sort()).toEqual(['bass', 'drums', 'other', 'vocals']);
    expect(track.mixture?.[0]).toHaveLength(299_880);
  });

  it.skipIf(!hq)('loads the MUSDB18-HQ sample track', async () => {
    const [ref] = await listMusdb(hq!, 'test');
    const track = await loadMusdbTrack(ref);
    expect(track.name).toBe('Mu - Too Bright');
    expect(track.length).toBe(308_700); // a 7-s excerpt
    expect(Object.keys(track.stems).sort()).toEqual(['bass', 'drums', 'other', 'vocals']);
  });
});
