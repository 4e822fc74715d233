/**
 * The preprocess cache: decoded tracks as raw float32 so training never runs ffmpeg. Layout (format
 * documented in training/README.md):
 *
 *   <cache>/<dataset id>/index.json              tracks, split, skipped tracks
 *   <cache>/<dataset id>/stats.json              input-scaling statistics (train split)
 *   <cache>/<dataset id>/tracks/<dir>/manifest.json
 *   <cache>/<dataset id>/tracks/<dir>/<target>.f32   planar: channel 0, then channel 1 (LE)
 *   <cache>/<dataset id>/tracks/<dir>/moments.f64    per-track STFT-magnitude moments
 *
 * A track entry is valid while its manifest parses, has this format version, lists the same source
 * files with the same size and mtime, and every data file has the byte size the manifest states.
 * The manifest is written last, so an interrupted write leaves an entry that reads as not cached.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CHANNELS, SAMPLE_RATE } from '../../src/core/audio';
import { writeFileAtomic } from '../node/atomic';
import type { Split } from './split';
import { type BinMoments, decodeMoments, encodeMoments, type ScalerStats } from './stats';
import type { TableTrack, TrackTable } from './table';
import { BadDataError, type DatasetKind, peak, rms, sumSignals, type Track } from './track';

/** Bump when the layout or the meaning of any cached byte changes: older entries are rebuilt. */
export const CACHE_FORMAT_VERSION = 1;

export const INDEX_FILE = 'index.json';
export const STATS_FILE = 'stats.json';
const MANIFEST_FILE = 'manifest.json';
const MOMENTS_FILE = 'moments.f64';

export interface SourceStamp {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface CachedArray {
  readonly file: string;
  readonly bytes: number;
  readonly peak: number;
  readonly rms: number;
}

export interface TrackManifest {
  readonly format: 'stemdeck-track';
  readonly version: number;
  readonly dataset: DatasetKind;
  readonly name: string;
  /** The track file or folder it was decoded from. */
  readonly path: string;
  readonly sampleRate: number;
  readonly channels: number;
  /** Samples per channel of every array. */
  readonly length: number;
  readonly sources: SourceStamp[];
  readonly stems: Record<string, CachedArray>;
  readonly mixture?: CachedArray;
  readonly moments: { readonly file: string; readonly bytes: number; readonly frames: number };
  readonly info?: Record<string, unknown>;
  readonly createdAt: string;
}

export interface IndexTrack extends TableTrack {
  /** Folder under `tracks/`. */
  readonly dir: string;
  readonly hasMixture: boolean;
}

export interface DatasetIndex {
  readonly format: 'stemdeck-dataset';
  readonly version: number;
  readonly dataset: DatasetKind;
  readonly root: string;
  readonly subset?: string;
  readonly updatedAt: string;
  readonly tracks: IndexTrack[];
  readonly split: Split;
  readonly skipped: { name: string; message: string }[];
}

export interface StatsFile extends ScalerStats {
  readonly format: 'stemdeck-scaler';
  readonly version: number;
  /** How channels become one spectrum, and which STFT. */
  readonly downmix: 'mean of channel magnitudes';
  readonly center: true;
  /** Tracks pooled (the train split). */
  readonly tracks: string[];
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

function slug(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+/, '')
      .slice(0, 60) || 'x'
  );
}

/**
 * `<cacheRoot>/<dataset>-<root folder>[-<subset>]-<hash of the track names>`. The name depends on the
 * data, not on where it lies: every checkout that preprocesses the same dataset gets the same folder,
 * so a committed training config (`data.cache`) works wherever the repository and the data are.
 */
export function datasetCacheDir(
  cacheRoot: string,
  dataset: DatasetKind,
  root: string,
  subset: string | undefined,
  trackNames: readonly string[],
): string {
  const listing = [...trackNames].sort().join('\n');
  const parts = [
    dataset,
    slug(basename(resolve(root))),
    ...(subset ? [slug(subset)] : []),
    shortHash(listing),
  ];
  return join(resolve(cacheRoot), parts.join('-'));
}

/** Folder of a track: readable, and unique even when two names slug alike. */
export function trackDirName(name: string): string {
  return `${slug(name)}-${shortHash(name)}`;
}

/** Size and mtime of each source file, by its path relative to the dataset root (POSIX separators). */
export async function stampFiles(files: readonly string[], root: string): Promise<SourceStamp[]> {
  const stamps: SourceStamp[] = [];
  for (const f of files) {
    const s = await stat(f);
    stamps.push({ path: stampPath(f, root), size: s.size, mtimeMs: s.mtimeMs });
  }
  return stamps;
}

/**
 * A source's key in a manifest: relative to the dataset root, so a moved checkout or data folder keeps
 * its cache. Entries written before (absolute paths) compare after the same mapping.
 */
function stampPath(file: string, root: string): string {
  const rel = relative(resolve(root), resolve(file));
  return sep === '/' ? rel : rel.split(sep).join('/');
}

export type CacheCheck =
  | { ok: true; manifest: TrackManifest }
  | { ok: false; reason: string; exists: boolean };

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'));
}

function arrayFiles(m: TrackManifest): CachedArray[] {
  return [...Object.values(m.stems), ...(m.mixture ? [m.mixture] : [])];
}

/** Checks the entry's own integrity: manifest shape, version, data file sizes. */
async function checkEntry(dir: string): Promise<CacheCheck> {
  let manifest: TrackManifest;
  try {
    manifest = (await readJson(join(dir, MANIFEST_FILE))) as TrackManifest;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return missing
      ? { ok: false, reason: 'not cached', exists: false }
      : { ok: false, reason: 'manifest unreadable', exists: true };
  }
  if (manifest?.format !== 'stemdeck-track' || typeof manifest.stems !== 'object' || !manifest.moments) {
    return { ok: false, reason: 'manifest is not a Stemdeck track manifest', exists: true };
  }
  if (manifest.version !== CACHE_FORMAT_VERSION) {
    return {
      ok: false,
      reason: `cache format ${manifest.version}, now ${CACHE_FORMAT_VERSION}`,
      exists: true,
    };
  }
  const expected = manifest.length * manifest.channels * 4;
  for (const a of arrayFiles(manifest)) {
    const size = await stat(join(dir, a.file)).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== a.bytes || a.bytes !== expected) {
      return {
        ok: false,
        reason: `${a.file} is ${size < 0 ? 'missing' : `${size} bytes`}, expected ${expected}`,
        exists: true,
      };
    }
  }
  const moments = await stat(join(dir, manifest.moments.file)).catch(() => null);
  if (moments?.size !== manifest.moments.bytes)
    return { ok: false, reason: `${MOMENTS_FILE} is damaged`, exists: true };
  return { ok: true, manifest };
}

/**
 * Valid and built from exactly these source files (same paths under the dataset root, sizes, mtimes)
 * and holding every required target?
 */
export async function checkTrackCache(
  dir: string,
  sources: readonly string[],
  root: string,
  required: readonly string[] = [],
): Promise<CacheCheck> {
  const entry = await checkEntry(dir);
  if (!entry.ok) return entry;
  const missing = required.filter((t) => !(t in entry.manifest.stems));
  if (missing.length > 0)
    return { ok: false, reason: `cached without the required target(s) ${missing.join(', ')}`, exists: true };
  const now = await stampFiles(sources, root).catch(() => null);
  if (!now) return { ok: false, reason: 'a source file is gone', exists: true };
  const keyOf = (path: string) => (isAbsolute(path) ? stampPath(path, root) : path);
  const before = new Map(entry.manifest.sources.map((s) => [keyOf(s.path), s]));
  if (now.length !== before.size)
    return { ok: false, reason: 'the set of source files changed', exists: true };
  for (const s of now) {
    const old = before.get(s.path);
    if (!old) return { ok: false, reason: `new source file ${s.path}`, exists: true };
    // To the millisecond: copies that keep timestamps (cp -p, fs.cp) round them to it.
    if (old.size !== s.size || Math.abs(old.mtimeMs - s.mtimeMs) >= 1) {
      return { ok: false, reason: `source changed: ${s.path}`, exists: true };
    }
  }
  return entry;
}

/** Writes planar channels to `path` via a temporary file and a rename. */
async function writePlanar(path: string, channels: readonly Float32Array[]): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const handle = await open(tmp, 'w');
  try {
    for (const x of channels) await handle.write(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  } finally {
    await handle.close();
  }
  await rename(tmp, path).catch(async (err) => {
    await unlink(tmp).catch(() => undefined);
    throw err;
  });
}

/** Writes one track entry (replacing any old one) and returns its manifest. */
export async function writeTrackCache(
  dir: string,
  track: Track,
  moments: BinMoments,
  sources: readonly SourceStamp[],
): Promise<TrackManifest> {
  if (endianness() !== 'LE') throw new Error('the cache format is little-endian; this machine is not');
  // Start from an empty folder: no old manifest may describe new data files after a crash.
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const write = async (name: string, channels: Float32Array[]): Promise<CachedArray> => {
    const file = `${name}.f32`;
    await writePlanar(join(dir, file), channels);
    return { file, bytes: track.length * CHANNELS * 4, peak: peak(channels), rms: rms(channels) };
  };
  const stems: Record<string, CachedArray> = {};
  for (const [target, channels] of Object.entries(track.stems)) stems[target] = await write(target, channels);
  const mixture = track.mixture ? await write('mixture', track.mixture) : undefined;
  const momentBytes = encodeMoments(moments);
  await writeFileAtomic(join(dir, MOMENTS_FILE), momentBytes);
  const manifest: TrackManifest = {
    format: 'stemdeck-track',
    version: CACHE_FORMAT_VERSION,
    dataset: track.dataset,
    name: track.name,
    path: resolve(track.path),
    sampleRate: SAMPLE_RATE,
    channels: CHANNELS,
    length: track.length,
    sources: [...sources],
    stems,
    ...(mixture ? { mixture } : {}),
    moments: { file: MOMENTS_FILE, bytes: momentBytes.byteLength, frames: moments.frames },
    ...(track.info ? { info: track.info } : {}),
    createdAt: new Date().toISOString(),
  };
  await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

export async function readMoments(dir: string, manifest: TrackManifest): Promise<BinMoments> {
  const m = decodeMoments(await readFile(join(dir, manifest.moments.file)));
  if (!m) throw new Error(`${join(dir, manifest.moments.file)}: damaged moments file`);
  return m;
}

export function manifestBytes(m: TrackManifest): number {
  return arrayFiles(m).reduce((s, a) => s + a.bytes, 0) + m.moments.bytes;
}

// ---------------------------------------------------------------------------------------------
// Reading for training

/** A preprocessed dataset opened for training: a TrackTable over the cache plus its split and stats. */
export interface CachedDataset extends TrackTable {
  readonly dir: string;
  readonly index: DatasetIndex;
  readonly tracks: readonly IndexTrack[];
  /** Input-scaling statistics from stats.json. */
  readonly stats: StatsFile;
  /** Index of each track by name. */
  trackIndex(name: string): number;
  /** A whole track: stems, and the shipped mixture or else the stems' sum. */
  readTrack(track: number): { mixture: Float32Array[]; stems: Record<string, Float32Array[]> };
}

/**
 * Opens `<cache>/<dataset id>` as written by `npm run preprocess`. Checks every entry's integrity
 * (not the sources: training machines may not have them) and fails with the preprocess command to
 * run when something is missing or damaged.
 */
export async function openCache(dir: string): Promise<CachedDataset> {
  const hint = 'run `npm run preprocess` for this dataset';
  let index: DatasetIndex;
  let stats: StatsFile;
  try {
    index = (await readJson(join(dir, INDEX_FILE))) as DatasetIndex;
    stats = (await readJson(join(dir, STATS_FILE))) as StatsFile;
  } catch (err) {
    throw new Error(`${dir}: not a preprocessed dataset (${(err as Error).message}); ${hint}`);
  }
  if (index.format !== 'stemdeck-dataset' || index.version !== CACHE_FORMAT_VERSION) {
    throw new Error(
      `${dir}: cache format ${index.version}, this code reads ${CACHE_FORMAT_VERSION}; ${hint}`,
    );
  }
  for (const t of index.tracks) {
    const check = await checkEntry(join(dir, 'tracks', t.dir));
    if (!check.ok) throw new Error(`${join(dir, 'tracks', t.dir)}: ${check.reason}; ${hint}`);
  }
  const byName = new Map(index.tracks.map((t, i) => [t.name, i]));
  const trackDir = (i: number) => join(dir, 'tracks', index.tracks[i].dir);

  const readChunk = (track: number, target: string, start: number, length: number): Float32Array[] => {
    const t = index.tracks[track];
    if (!t) throw new Error(`no track ${track} in ${dir}`);
    const out = Array.from({ length: CHANNELS }, () => new Float32Array(length));
    if (!t.stems.includes(target) && !(target === 'mixture' && t.hasMixture)) return out;
    const from = Math.max(0, start);
    const to = Math.min(t.length, start + length);
    if (to <= from) return out;
    const file = join(trackDir(track), `${target}.f32`);
    const fd = openSync(file, 'r');
    try {
      for (let c = 0; c < CHANNELS; c++) {
        const view = new Uint8Array(out[c].buffer, (from - start) * 4, (to - from) * 4);
        const got = readSync(fd, view, 0, view.byteLength, (c * t.length + from) * 4);
        if (got !== view.byteLength)
          throw new BadDataError(file, `short read (${got} of ${view.byteLength} bytes)`);
      }
    } finally {
      closeSync(fd);
    }
    return out;
  };

  return {
    dir,
    index,
    tracks: index.tracks,
    stats,
    readChunk,
    trackIndex(name) {
      const i = byName.get(name);
      if (i === undefined) throw new Error(`no track "${name}" in ${dir}`);
      return i;
    },
    readTrack(track) {
      const t = index.tracks[track];
      const stems: Record<string, Float32Array[]> = {};
      for (const s of t.stems) stems[s] = readChunk(track, s, 0, t.length);
      const mixture = t.hasMixture
        ? readChunk(track, 'mixture', 0, t.length)
        : sumSignals(Object.values(stems), t.length);
      return { mixture, stems };
    },
  };
}
