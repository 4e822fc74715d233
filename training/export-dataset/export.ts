/**
 * `npm run export-dataset`: Stemdeck's preprocessed training data (any number of preprocess caches:
 * MUSDB18, MedleyDB, stems folders, generated songs, Frets on Fire) as a folder that
 * open-unmix-pytorch's trainer reads as it is (`--dataset trackfolder_fix`, see plan.ts for why),
 * with COMMANDS.md: one training process per target and GPU, then the way back into Stemdeck.
 *
 *   <out>/train/<cache>__<track>[__sNNN]/<file>.wav   training tracks (long ones in parts)
 *   <out>/valid/<cache>__<track>/<file>.wav           whole validation tracks
 *   <out>/COMMANDS.md                                 what to run
 *   <out>/export-dataset.json                         what was exported (`complete: true` once done)
 *
 * The split is each cache's own: validation tracks validate, training tracks train. A cache of a
 * held-out subset (MUSDB18 `test`, Frets on Fire `test` or `all`) is refused. Every WAV goes to a
 * temporary name and is renamed when complete (`writeWav`), and the manifest says `complete: false`
 * until the end, so a crash never leaves a half-written file that looks done.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CHANNELS, SAMPLE_RATE } from '../../src/core/audio';
import type { StemName } from '../../src/core/stems';
import { type CachedDataset, openCache } from '../data/cache';
import { writeFileAtomic } from '../node/atomic';
import { type WavFormat, writeWav } from '../node/audio-io';
import { COMMANDS_FILE, type CommandTarget, renderCommands } from './commands';
import {
  atomsName,
  type Block,
  defaultHiddenSize,
  defines,
  type ExportTarget,
  fileStems,
  interfererGroups,
  parseTargets,
  segments,
  trackBlocks,
  trainSettings,
} from './plan';

export const EXPORT_MANIFEST = 'export-dataset.json';
export const DEFAULT_SEGMENT_SECONDS = 30;

export interface ExportOptions {
  /** Preprocessed dataset folders (`npm run preprocess`), each with its own split. */
  readonly caches: readonly string[];
  readonly out: string;
  /** Stemdeck stems or groups (`guitar+piano+other`); one training process each. */
  readonly targets: readonly string[];
  /** WAV sample format (default float32: the cache's samples exactly, sums never clip). */
  readonly format?: WavFormat;
  /** Training tracks are cut into parts of at least this many seconds; 0 keeps them whole. */
  readonly segmentSeconds?: number;
  /** GPUs to spread the processes over (target i on GPU i mod gpus); default one per target. */
  readonly gpus?: number;
  /** Hidden size in the commands; default from the hours of training audio. */
  readonly hiddenSize?: number;
  /** Base name of the model files in the import lines; default the output folder's name. */
  readonly modelName?: string;
  /** Write into a non-empty folder (replacing an earlier export's train/ and valid/). */
  readonly force?: boolean;
  readonly onFolder?: (done: number, total: number, name: string) => void;
}

export interface ExportedFolder {
  readonly split: 'train' | 'valid';
  readonly folder: string;
  readonly cache: string;
  readonly track: string;
  /** Samples from the track's start, and how many. */
  readonly start: number;
  readonly length: number;
  /** File name → the cache stems summed into it (empty: silence). */
  readonly files: Readonly<Record<string, readonly string[]>>;
}

export interface TargetSummary {
  readonly name: string;
  readonly targetFile: string;
  readonly interfererFiles: readonly string[];
  readonly trainFolders: number;
  readonly trainSeconds: number;
  readonly validTracks: number;
  readonly gpu: number;
}

export interface ExportResult {
  readonly out: string;
  readonly folders: { readonly train: number; readonly valid: number };
  /** Tracks that define none of the targets (not written). */
  readonly unused: number;
  readonly files: number;
  readonly bytes: number;
  readonly audioSeconds: number;
  readonly targets: readonly TargetSummary[];
  /** One line each, for after the progress bar. */
  readonly warnings: readonly string[];
}

/** A track or part of one that becomes a folder. */
interface Planned {
  readonly split: 'train' | 'valid';
  readonly cache: number;
  readonly track: number;
  readonly name: string;
  readonly folder: string;
  readonly start: number;
  readonly length: number;
  readonly blocks: readonly Block[];
}

function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'x';
}

/** A subset or root folder name that says "held out": never training material. */
function heldOutReason(data: CachedDataset): string | undefined {
  const { subset, dataset, root } = data.index;
  if (subset !== undefined && subset !== 'train') {
    return `holds the "${subset}" subset of ${dataset}, which includes held-out test material`;
  }
  if (/(^|[^a-z0-9])test([^a-z0-9]|$)/i.test(basename(root))) {
    return `was made from ${root}, a folder named as a test set (rename it and preprocess again if it is not one)`;
  }
  return undefined;
}

async function isEmptyDir(dir: string): Promise<boolean | undefined> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new Error(`${dir}: ${err.code === 'ENOTDIR' ? 'not a folder' : err.message}`);
  });
  return entries === undefined ? undefined : entries.length === 0;
}

/** Checks the output folder; with `force`, clears an earlier export's data (never anything else). */
async function prepareOut(out: string, force: boolean): Promise<void> {
  const empty = await isEmptyDir(out);
  if (empty === undefined || empty) return;
  if (!force) throw new Error(`${out} is not empty (--force writes into it, replacing an earlier export)`);
  const earlier = await stat(join(out, EXPORT_MANIFEST)).catch(() => null);
  for (const sub of ['train', 'valid']) {
    if (!earlier && (await stat(join(out, sub)).catch(() => null))) {
      throw new Error(
        `${join(out, sub)} exists and ${out} holds no ${EXPORT_MANIFEST}: not an earlier export, remove it yourself`,
      );
    }
  }
  // The manifest goes first: if the clean-up is cut short, the folder no longer claims to be complete.
  await rm(join(out, EXPORT_MANIFEST), { force: true });
  await rm(join(out, COMMANDS_FILE), { force: true });
  for (const sub of ['train', 'valid']) await rm(join(out, sub), { recursive: true, force: true });
}

/** Sums the named stems of one part of a track (read from the cache); none gives silence. */
function readSum(
  data: CachedDataset,
  track: number,
  stems: readonly string[],
  start: number,
  length: number,
) {
  const out = Array.from({ length: CHANNELS }, () => new Float32Array(length));
  for (const s of stems) {
    const x = data.readChunk(track, s, start, length);
    for (let c = 0; c < CHANNELS; c++) {
      const o = out[c];
      const xc = x[c];
      for (let i = 0; i < length; i++) o[i] += xc[i];
    }
  }
  return out;
}

function countClipped(channels: readonly Float32Array[]): number {
  let n = 0;
  for (const x of channels) for (let i = 0; i < x.length; i++) if (x[i] >= 32767.5 / 32768 || x[i] < -1) n++;
  return n;
}

export async function exportDataset(opts: ExportOptions): Promise<ExportResult> {
  const format = opts.format ?? 'float32';
  if (format !== 'float32' && format !== 'pcm16') throw new Error(`unknown WAV format "${format}"`);
  const segmentSeconds = opts.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS;
  if (!(segmentSeconds >= 0)) throw new Error(`segment length must be ≥ 0 seconds, got ${segmentSeconds}`);
  const set = parseTargets(opts.targets);
  const gpus = opts.gpus ?? set.targets.length;
  if (!Number.isInteger(gpus) || gpus <= 0)
    throw new Error(`GPU count must be a positive integer, got ${gpus}`);
  if (opts.caches.length === 0) throw new Error('no cache given (--cache DIR, from npm run preprocess)');
  const out = resolve(opts.out);
  const warnings: string[] = [];

  // --- Read and check every input before touching the output folder.
  const dirs = opts.caches.map((c) => resolve(c));
  const twice = dirs.find((d, i) => dirs.indexOf(d) !== i);
  if (twice) throw new Error(`${twice} is given twice`);
  const caches: CachedDataset[] = [];
  for (const dir of dirs) {
    const data = await openCache(dir);
    const held = heldOutReason(data);
    if (held) throw new Error(`${dir} ${held}; it is never exported for training`);
    caches.push(data);
  }

  const planned: Planned[] = [];
  const splitOf = new Map<string, { split: string; cache: string }>();
  let unused = 0;
  const tags = new Map<string, string>();
  for (const [k, data] of caches.entries()) {
    const tag = slug(basename(data.dir));
    const same = tags.get(tag);
    if (same)
      throw new Error(`${same} and ${data.dir} have the same folder name: their tracks would collide`);
    tags.set(tag, data.dir);
    const byName = new Map(data.index.tracks.map((t, i) => [t.name, i]));
    for (const split of ['train', 'valid'] as const) {
      for (const name of data.index.split[split]) {
        const track = byName.get(name);
        if (track === undefined) continue; // skipped as bad data when it was preprocessed
        const t = data.index.tracks[track];
        const seen = splitOf.get(name);
        if (seen && seen.split !== split) {
          warnings.push(
            `warning: "${name}" is ${seen.split} in ${seen.cache} but ${split} in ${data.dir}: if it is the same song, validation sees training audio`,
          );
        }
        splitOf.set(name, { split, cache: data.dir });
        const blocks = trackBlocks(t.stems, data.index.dataset, set);
        if (!set.targets.some((target) => defines(blocks, target.atoms))) {
          unused++;
          continue;
        }
        const parts =
          split === 'train'
            ? segments(t.length, Math.round(segmentSeconds * SAMPLE_RATE))
            : [{ start: 0, length: t.length }];
        for (const [p, part] of parts.entries()) {
          const suffix = parts.length > 1 ? `__s${String(p).padStart(3, '0')}` : '';
          planned.push({
            split,
            cache: k,
            track,
            name,
            folder: `${tag}__${t.dir}${suffix}`,
            ...part,
            blocks,
          });
        }
      }
    }
  }

  // --- Per target: the tracks that define it, its interferer files, its trainer settings.
  const trainSecondsAll =
    planned.filter((p) => p.split === 'train').reduce((s, p) => s + p.length, 0) / SAMPLE_RATE;
  const hiddenSize = opts.hiddenSize ?? defaultHiddenSize(trainSecondsAll);
  if (!Number.isInteger(hiddenSize) || hiddenSize <= 0) {
    throw new Error(`hidden size must be a positive integer, got ${hiddenSize}`);
  }
  const filesOf = new Map<Planned, Map<string, readonly StemName[]>>(planned.map((p) => [p, new Map()]));
  const commandTargets: CommandTarget[] = [];
  set.targets.forEach((target: ExportTarget, i) => {
    const using = planned.filter((p) => defines(p.blocks, target.atoms));
    const train = using.filter((p) => p.split === 'train');
    const valid = using.filter((p) => p.split === 'valid');
    if (train.length === 0)
      throw new Error(
        `target "${target.name}": no training track of the caches gives it exactly (MUSDB18's other hides guitar and piano, Frets on Fire's rest all but the guitar)`,
      );
    if (valid.length === 0) {
      throw new Error(
        `target "${target.name}": no validation track of the caches gives it exactly (open-unmix's trainer needs one)`,
      );
    }
    const groups = interfererGroups(
      set,
      target,
      using.map((p) => p.blocks),
    );
    for (const p of using) {
      const files = filesOf.get(p)!;
      files.set(target.name, target.atoms);
      for (const g of groups) files.set(atomsName(g), g);
    }
    const seconds = train.map((p) => p.length / SAMPLE_RATE);
    commandTargets.push({
      target,
      targetFile: `${target.name}.wav`,
      interfererFiles: groups.map((g) => `${atomsName(g)}.wav`),
      trainFolders: train.length,
      trainSeconds: seconds.reduce((a, b) => a + b, 0),
      validTracks: valid.length,
      settings: trainSettings(seconds, hiddenSize),
      gpu: i % gpus,
    });
  });

  // --- Write.
  await prepareOut(out, opts.force ?? false);
  const createdAt = new Date().toISOString();
  const manifestBase = {
    format: 'stemdeck-umx-export',
    version: 1,
    createdAt,
    caches: caches.map((c) => ({ dir: c.dir, dataset: c.index.dataset, subset: c.index.subset })),
    wav: { sampleRate: SAMPLE_RATE, channels: CHANNELS, format },
    segmentSeconds,
    otherHolds: set.otherUsed ? set.otherHolds : undefined,
    targets: commandTargets.map((t) => ({
      name: t.target.name,
      atoms: t.target.atoms,
      targetFile: t.targetFile,
      interfererFiles: t.interfererFiles,
      trainFolders: t.trainFolders,
      validTracks: t.validTracks,
      gpu: t.gpu,
    })),
  };
  await writeFileAtomic(
    join(out, EXPORT_MANIFEST),
    `${JSON.stringify({ ...manifestBase, complete: false })}\n`,
  );
  // Both always exist: the trainer lists `<root>/train` and `<root>/valid` and fails on a missing one.
  for (const sub of ['train', 'valid']) await mkdir(join(out, sub), { recursive: true });

  const written = planned.filter((p) => filesOf.get(p)!.size > 0);
  const folders: ExportedFolder[] = [];
  let files = 0;
  let bytes = 0;
  let samples = 0;
  const bytesPerSample = format === 'pcm16' ? 2 : 4;
  // Sums of stems can pass full scale; float32 keeps them, 16-bit PCM clips them.
  const clipped = { samples: 0, files: [] as string[] };
  for (const [n, p] of written.entries()) {
    const data = caches[p.cache];
    const listed: Record<string, readonly string[]> = {};
    for (const [name, atoms] of [...filesOf.get(p)!].sort(([a], [b]) => a.localeCompare(b))) {
      const stems = fileStems(p.blocks, atoms);
      const channels = readSum(data, p.track, stems, p.start, p.length);
      const path = join(out, p.split, p.folder, `${name}.wav`);
      if (format === 'pcm16') {
        const n = countClipped(channels);
        if (n > 0) {
          clipped.samples += n;
          clipped.files.push(path);
        }
      }
      await writeWav(path, { sampleRate: SAMPLE_RATE, channels }, { format });
      listed[`${name}.wav`] = stems;
      files++;
      bytes += 44 + p.length * CHANNELS * bytesPerSample;
    }
    samples += p.length;
    folders.push({
      split: p.split,
      folder: p.folder,
      cache: data.dir,
      track: p.name,
      start: p.start,
      length: p.length,
      files: listed,
    });
    opts.onFolder?.(n + 1, written.length, p.folder);
  }

  if (clipped.files.length > 0) {
    warnings.push(
      `warning: ${clipped.samples} samples clipped at 16-bit full scale in ${clipped.files.length} file(s), e.g. ` +
        `${clipped.files[0]}; --format float32 keeps them`,
    );
  }
  const summaries: TargetSummary[] = commandTargets.map((t) => ({
    name: t.target.name,
    targetFile: t.targetFile,
    interfererFiles: t.interfererFiles,
    trainFolders: t.trainFolders,
    trainSeconds: t.trainSeconds,
    validTracks: t.validTracks,
    gpu: t.gpu,
  }));
  const count = (c: CachedDataset, split: 'train' | 'valid') =>
    new Set(folders.filter((f) => f.cache === c.dir && f.split === split).map((f) => f.track)).size;
  await writeFileAtomic(
    join(out, COMMANDS_FILE),
    renderCommands({
      out,
      createdAt,
      caches: caches.map((c) => ({
        dir: c.dir,
        dataset: c.index.dataset,
        train: count(c, 'train'),
        valid: count(c, 'valid'),
      })),
      format,
      segmentSeconds,
      otherHolds: set.otherUsed ? set.otherHolds : undefined,
      atoms: set.atoms,
      targets: commandTargets,
      modelName: opts.modelName ?? slug(basename(out)),
    }),
  );
  // Last: the manifest that says the export is complete.
  await writeFileAtomic(
    join(out, EXPORT_MANIFEST),
    `${JSON.stringify({ ...manifestBase, complete: true, folders }, null, 1)}\n`,
  );
  return {
    out,
    folders: {
      train: folders.filter((f) => f.split === 'train').length,
      valid: folders.filter((f) => f.split === 'valid').length,
    },
    unused,
    files,
    bytes,
    audioSeconds: samples / SAMPLE_RATE,
    targets: summaries,
    warnings,
  };
}
