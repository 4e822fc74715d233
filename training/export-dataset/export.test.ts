/**
 * export-dataset on small generated caches (a MUSDB18-HQ-layout set, six-stem "generated songs", and
 * guitar-vs-rest songs as Frets on Fire has them): the folder layout open-unmix's trackfolder_fix
 * reads, WAVs equal to the cache's audio, group files as sums, the caches' splits kept, held-out
 * caches refused, the --force rules, an interrupted export, and COMMANDS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { type CachedDataset, openCache } from '../data/cache';
import { preprocess } from '../data/preprocess';
import { writeHqTrack, writeStemsTrack } from '../data/testing';
import { readWav } from '../node/audio-io';
import { COMMANDS_FILE } from './commands';
import { EXPORT_MANIFEST, type ExportOptions, exportDataset } from './export';

const SIX = ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other'];
const TRACKS = 4;
const SECONDS = 1;

let dir: string;
let musdb: string;
let synth: string;
let fof: string;
let musdbTest: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stemdeck-export-dataset-'));
  const cacheRoot = join(dir, 'cache');
  const common = { cacheRoot, onBadData: 'stop', split: 'auto', seed: 42, validFraction: 0.25 } as const;
  for (let t = 0; t < TRACKS; t++) {
    await writeHqTrack(join(dir, 'musdb', 'train'), `Artist ${t} - Song`, t, SECONDS);
    await writeStemsTrack(join(dir, 'synth'), `song-${t}`, SIX, 100 + t, SECONDS);
    await writeStemsTrack(join(dir, 'fof'), `fof-${t}`, ['guitar', 'rest'], 200 + t, SECONDS);
  }
  await writeHqTrack(join(dir, 'musdb', 'test'), 'Held Out - Song', 9, SECONDS);
  musdb = (await preprocess({ ...common, dataset: 'musdb18', root: join(dir, 'musdb'), subset: 'train' }))
    .dir;
  synth = (await preprocess({ ...common, dataset: 'stems', root: join(dir, 'synth') })).dir;
  fof = (await preprocess({ ...common, dataset: 'stems', root: join(dir, 'fof') })).dir;
  musdbTest = (await preprocess({ ...common, dataset: 'musdb18', root: join(dir, 'musdb'), subset: 'test' }))
    .dir;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The cache's audio of `stems` summed (float32, in the given order) over [start, start + length). */
function cacheSum(data: CachedDataset, track: string, stems: string[], start = 0, length?: number) {
  const i = data.trackIndex(track);
  const n = length ?? data.tracks[i].length;
  const out = [new Float32Array(n), new Float32Array(n)];
  for (const s of stems) {
    const x = data.readChunk(i, s, start, n);
    for (let c = 0; c < 2; c++) for (let k = 0; k < n; k++) out[c][k] += x[c][k];
  }
  return out;
}

async function folders(out: string, split: string): Promise<string[]> {
  return (await readdir(join(out, split))).sort();
}

/** The track name a folder came from, by the export's manifest. */
async function manifest(out: string) {
  return JSON.parse(await readFile(join(out, EXPORT_MANIFEST), 'utf8')) as {
    complete: boolean;
    folders: { split: string; folder: string; cache: string; track: string; start: number; length: number }[];
  };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function trainLines(commands: string): string[] {
  return commands.split('\n').filter((l) => l.startsWith('CUDA_VISIBLE_DEVICES='));
}

const run = (extra: Partial<ExportOptions> & { out: string }) =>
  exportDataset({ caches: [musdb, synth], targets: ['vocals', 'drums', 'bass', 'other'], ...extra });

describe('exportDataset, 4 stems from MUSDB18 and generated songs', () => {
  let out: string;
  let res: Awaited<ReturnType<typeof exportDataset>>;
  beforeAll(async () => {
    out = join(dir, 'out4');
    res = await run({ out, segmentSeconds: 0 });
  });

  it("keeps each cache's split and writes one folder per track with the four files", async () => {
    const m = await manifest(out);
    expect(m.complete).toBe(true);
    for (const cache of [musdb, synth]) {
      const data = await openCache(cache);
      for (const split of ['train', 'valid'] as const) {
        const names = m.folders.filter((f) => f.cache === cache && f.split === split).map((f) => f.track);
        expect(names.sort()).toEqual([...data.index.split[split]].sort());
      }
    }
    expect(res.folders).toEqual({ train: 6, valid: 2 });
    const train = await folders(out, 'train');
    expect(train).toEqual(
      m.folders
        .filter((f) => f.split === 'train')
        .map((f) => f.folder)
        .sort(),
    );
    for (const split of ['train', 'valid']) {
      for (const f of await folders(out, split)) {
        expect((await readdir(join(out, split, f))).sort()).toEqual([
          'bass.wav',
          'drums.wav',
          'other.wav',
          'vocals.wav',
        ]);
      }
    }
    expect((await readdir(out)).sort()).toEqual([COMMANDS_FILE, EXPORT_MANIFEST, 'train', 'valid'].sort());
  });

  it("reads back as the cache's audio exactly (float32), other = guitar + piano + other of a generated song", async () => {
    const m = await manifest(out);
    const data = { [musdb]: await openCache(musdb), [synth]: await openCache(synth) };
    for (const f of m.folders) {
      const d = data[f.cache];
      const path = (file: string) => join(out, f.split, f.folder, file);
      const vocals = await readWav(path('vocals.wav'));
      expect(vocals.sampleRate).toBe(SAMPLE_RATE);
      expect(vocals.channels).toHaveLength(2);
      const exact = (a: Float32Array[], b: Float32Array[]) =>
        expect([maxDiff(a[0], b[0]), maxDiff(a[1], b[1])]).toEqual([0, 0]);
      exact(vocals.channels, cacheSum(d, f.track, ['vocals']));
      expect((await stat(path('vocals.wav'))).size).toBe(44 + f.length * 2 * 4);
      const other = await readWav(path('other.wav'));
      const members = f.cache === synth ? ['guitar', 'piano', 'other'] : ['other'];
      exact(other.channels, cacheSum(d, f.track, members));
    }
  });

  it('writes one command line per target, each on its own GPU, and the way back', async () => {
    const commands = await readFile(join(out, COMMANDS_FILE), 'utf8');
    const lines = trainLines(commands);
    expect(lines).toHaveLength(4);
    const parsed = lines.map((l) => ({
      gpu: /^CUDA_VISIBLE_DEVICES=(\d+) /.exec(l)![1],
      target: /--target (\S+) /.exec(l)![1],
      file: /--target-file (\S+) /.exec(l)![1],
      interferers: /--interferer-files (.+?) --/.exec(l)![1],
    }));
    expect(parsed.map((p) => p.target)).toEqual(['vocals', 'drums', 'bass', 'other']);
    expect(new Set(parsed.map((p) => p.gpu)).size).toBe(4);
    expect(parsed.map((p) => p.file)).toEqual(['vocals.wav', 'drums.wav', 'bass.wav', 'other.wav']);
    expect(parsed[0].interferers).toBe('drums.wav bass.wav other.wav');
    for (const l of lines) {
      expect(l).toContain('python scripts/train.py --dataset trackfolder_fix --root "$DATA"');
      expect(l).toContain('--random-track-mix --source-augmentations gain channelswap');
      expect(l).toContain('--hidden-size 128'); // a few seconds of audio
    }
    expect(commands).toContain(`DATA="${out}"`);
    expect(commands).toContain(
      'npm run import-umx -- --pth "$MODELS/vocals.pth" "$MODELS/drums.pth" "$MODELS/bass.pth" "$MODELS/other.pth" --targets vocals,drums,bass,other --out models/out4.umxw',
    );
    expect(commands).toContain('npm run export -- --weights models/out4.umxw --out models/out4.onnx');
    expect(commands).toContain('research use only');
  });
});

describe('exportDataset, 6 stems, a group and guitar-vs-rest songs', () => {
  let out: string;
  let res: Awaited<ReturnType<typeof exportDataset>>;
  beforeAll(async () => {
    out = join(dir, 'out6');
    res = await exportDataset({
      caches: [musdb, synth, fof],
      targets: [...SIX, 'guitar+piano+other'],
      out,
      format: 'pcm16',
      segmentSeconds: 0.4,
      gpus: 4,
    });
  });

  it('gives each track only the files it knows exactly, and each target its interferers', async () => {
    const m = await manifest(out);
    const files = async (f: { split: string; folder: string }) =>
      (await readdir(join(out, f.split, f.folder))).sort();
    for (const f of m.folders) {
      const have = await files(f);
      if (f.cache === musdb) {
        // MUSDB18's other may hold guitar and piano: the group, never guitar, piano or a 6-stem other.
        expect(have).toEqual(['bass.wav', 'drums.wav', 'guitar+piano+other.wav', 'vocals.wav']);
      } else if (f.cache === fof) {
        expect(have).toEqual(['guitar.wav', 'vocals+drums+bass+piano+other.wav']);
      } else {
        expect(have).toEqual(
          [
            ...SIX.map((s) => `${s}.wav`),
            'guitar+piano+other.wav',
            'vocals+drums+bass+piano+other.wav',
          ].sort(),
        );
      }
    }
    const lines = trainLines(await readFile(join(out, COMMANDS_FILE), 'utf8'));
    expect(lines).toHaveLength(7);
    const interferers = (target: string) =>
      /--interferer-files (.+?) --/.exec(lines.find((l) => l.includes(`--target ${target} `))!)![1];
    expect(interferers('vocals')).toBe('drums.wav bass.wav guitar+piano+other.wav');
    expect(interferers('guitar')).toBe('vocals+drums+bass+piano+other.wav');
    expect(interferers('piano')).toBe('vocals.wav drums.wav bass.wav guitar.wav other.wav');
    expect(interferers('guitar+piano+other')).toBe('vocals.wav drums.wav bass.wav');
    // Seven processes on four GPUs: target i on GPU i mod 4.
    expect(lines.map((l) => /^CUDA_VISIBLE_DEVICES=(\d)/.exec(l)![1])).toEqual([
      '0',
      '1',
      '2',
      '3',
      '0',
      '1',
      '2',
    ]);
  });

  it('cuts training tracks into parts (validation tracks stay whole) and sums groups, within 16-bit steps', async () => {
    const m = await manifest(out);
    const data = {
      [musdb]: await openCache(musdb),
      [synth]: await openCache(synth),
      [fof]: await openCache(fof),
    };
    const train = m.folders.filter((f) => f.split === 'train');
    expect(train.every((f) => /__s00[01]$/.test(f.folder))).toBe(true);
    expect(train).toHaveLength(3 * 3 * 2);
    for (const f of m.folders.filter((x) => x.split === 'valid')) {
      expect(f.start).toBe(0);
      expect(f.length).toBe(SECONDS * SAMPLE_RATE);
    }
    const step = 0.5 / 32768 + 1e-7;
    let clipped = 0;
    for (const f of m.folders) {
      const d = data[f.cache];
      const check = async (file: string, stems: string[]) => {
        const wav = await readWav(join(out, f.split, f.folder, file));
        const ref = cacheSum(d, f.track, stems, f.start, f.length);
        // 16-bit PCM clips a sum beyond full scale (and the export says so).
        for (const x of ref) {
          for (let i = 0; i < x.length; i++) {
            if (x[i] >= 32767.5 / 32768 || x[i] < -1) clipped++;
            x[i] = Math.min(32767 / 32768, Math.max(-1, x[i]));
          }
        }
        for (let c = 0; c < 2; c++) expect(maxDiff(wav.channels[c], ref[c])).toBeLessThanOrEqual(step);
        expect((await stat(join(out, f.split, f.folder, file))).size).toBe(44 + f.length * 2 * 2);
      };
      if (f.cache === musdb) await check('guitar+piano+other.wav', ['other']);
      if (f.cache === synth) {
        await check('guitar+piano+other.wav', ['guitar', 'piano', 'other']);
        await check('vocals+drums+bass+piano+other.wav', ['vocals', 'drums', 'bass', 'piano', 'other']);
        await check('guitar.wav', ['guitar']);
      }
      if (f.cache === fof) {
        await check('guitar.wav', ['guitar']);
        await check('vocals+drums+bass+piano+other.wav', ['rest']);
      }
    }
    // The five-stem sums of the generated songs pass full scale here and there.
    expect(clipped).toBeGreaterThan(0);
    expect(res.warnings).toEqual([
      expect.stringMatching(new RegExp(`^warning: ${clipped} samples clipped at 16-bit`)),
    ]);
  });

  it('joins a group network to its members on the way back', async () => {
    const commands = await readFile(join(out, COMMANDS_FILE), 'utf8');
    expect(commands).toContain(
      'npm run import-umx -- --pth "$MODELS/guitar+piano+other.pth" --targets other --out models/out6-group1.umxw',
    );
    expect(commands).toContain(
      'npx tsx training/train/merge.ts --out models/out6-hierarchical.umxw models/out6.umxw models/out6-group1.umxw:other=guitar+piano+other',
    );
    expect(commands).toContain(
      'npm run export -- --weights models/out6-hierarchical.umxw --out models/out6.onnx',
    );
    expect(commands).toContain("Here `other` is Stemdeck's other alone");
  });
});

describe('exportDataset refusals and --force', () => {
  it('refuses a held-out test cache, bad targets, and targets no track gives', async () => {
    const out = join(dir, 'refused');
    await expect(
      exportDataset({ caches: [musdb, musdbTest], targets: ['vocals', 'other'], out }),
    ).rejects.toThrow(/holds the "test" subset of musdb18.*never exported for training/);
    await expect(run({ out, targets: ['vocals', 'keys'] })).rejects.toThrow('unknown target "keys"');
    await expect(exportDataset({ caches: [musdb], targets: ['guitar'], out })).rejects.toThrow(
      'target "guitar": no training track of the caches gives it exactly',
    );
    await expect(run({ out, caches: [musdb, musdb] })).rejects.toThrow('is given twice');
    await expect(run({ out, caches: [join(dir, 'nowhere')] })).rejects.toThrow('npm run preprocess');
    // Nothing was written for any of them.
    await expect(stat(out)).rejects.toThrow();
  });

  it('refuses a non-empty folder unless --force; --force replaces an earlier export only', async () => {
    const out = join(dir, 'forced');
    await run({ out, segmentSeconds: 0 });
    await mkdir(join(out, 'train', 'stale-folder'));
    await expect(run({ out })).rejects.toThrow(`${out} is not empty (--force`);
    await writeFile(join(out, 'notes.txt'), 'mine');
    const again = await run({ out, force: true, segmentSeconds: 0 });
    expect(again.folders).toEqual({ train: 6, valid: 2 });
    expect(await folders(out, 'train')).not.toContain('stale-folder');
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('mine');

    // A folder that is not an earlier export keeps its train/ even with --force.
    const foreign = join(dir, 'foreign');
    await mkdir(join(foreign, 'train'), { recursive: true });
    await expect(run({ out: foreign, force: true })).rejects.toThrow(
      `${join(foreign, 'train')} exists and ${foreign} holds no ${EXPORT_MANIFEST}`,
    );
    // A non-empty folder without train/ or valid/: --force writes beside what is there.
    const shared = join(dir, 'shared-folder');
    await mkdir(shared);
    await writeFile(join(shared, 'README'), 'x');
    await expect(run({ out: shared })).rejects.toThrow('is not empty');
    await run({ out: shared, force: true, segmentSeconds: 0 });
    expect((await readdir(shared)).sort()).toEqual(
      [COMMANDS_FILE, EXPORT_MANIFEST, 'README', 'train', 'valid'].sort(),
    );
  });

  it('an interrupted export is not marked complete and has no COMMANDS.md', async () => {
    const out = join(dir, 'interrupted');
    await expect(
      run({
        out,
        onFolder: (done) => {
          if (done === 2) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    expect((await manifest(out)).complete).toBe(false);
    await expect(stat(join(out, COMMANDS_FILE))).rejects.toThrow();
    // Every file there is a whole WAV under its final name (written to a temporary name, then renamed).
    for (const f of await folders(out, 'train')) {
      for (const file of await readdir(join(out, 'train', f))) expect(file).toMatch(/^[a-z+]+\.wav$/);
    }
    // The rerun needs --force, and then replaces it.
    await expect(run({ out })).rejects.toThrow('is not empty');
    await run({ out, force: true });
    expect((await manifest(out)).complete).toBe(true);
  });
});
