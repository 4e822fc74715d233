/**
 * Preprocess a dataset into the cache (see cache.ts): decode each track once, check it, write raw
 * float32 stems and per-track STFT moments; then choose the split, pool the train tracks' moments
 * into stats.json, and write index.json. Tracks whose cache entry is valid are not decoded again.
 */
import { join, resolve } from 'node:path';
import { SAMPLE_RATE } from '../../src/core/audio';
import { writeFileAtomic } from '../node/atomic';
import {
  CACHE_FORMAT_VERSION,
  checkTrackCache,
  type DatasetIndex,
  datasetCacheDir,
  INDEX_FILE,
  type IndexTrack,
  manifestBytes,
  readMoments,
  STATS_FILE,
  type StatsFile,
  stampFiles,
  type TrackManifest,
  trackDirName,
  writeTrackCache,
} from './cache';
import { DATASETS } from './datasets';
import { chooseSplit, type Split, type SplitOptions } from './split';
import { emptyMoments, magnitudeMoments, mergeMoments, scalerStats } from './stats';
import { type DatasetKind, isBadData, sumSignals, type Track } from './track';

export type BadDataPolicy = 'skip' | 'stop';

export interface PreprocessOptions extends SplitOptions {
  readonly dataset: DatasetKind;
  readonly root: string;
  /** MUSDB18 subset folder (`train`, `test`), Frets on Fire `train`/`test`/`all`; ignored by the others. */
  readonly subset?: string;
  /** Cache root; the dataset gets its own folder below it. */
  readonly cacheRoot: string;
  readonly onBadData: BadDataPolicy;
  /** Targets every track must have. */
  readonly required?: readonly string[];
  /** Only the first n tracks of the listing. */
  readonly limit?: number;
  /** Rebuild valid entries too. */
  readonly force?: boolean;
  /** Called after each track. */
  readonly onTrack?: (event: TrackEvent) => void;
}

export type TrackStatus = 'built' | 'rebuilt' | 'cached' | 'skipped';

export interface TrackEvent {
  readonly name: string;
  readonly status: TrackStatus;
  /** Skipped: the bad-data message; rebuilt: why the old entry was invalid. */
  readonly message?: string;
  readonly done: number;
  readonly total: number;
}

export interface PreprocessResult {
  readonly dir: string;
  readonly listed: number;
  readonly built: number;
  readonly rebuilt: { name: string; reason: string }[];
  readonly cached: number;
  readonly skipped: { name: string; message: string }[];
  /** Set when `onBadData` is `stop` and a track was bad: nothing after it ran, no index was written. */
  readonly stoppedBy?: string;
  readonly audioSeconds: number;
  /** Bytes of the cached tracks (data files; manifests and JSON are negligible). */
  readonly bytes: number;
  readonly split?: Split;
  /** MedleyDB labels not in the mapping table (mapped to `other`). */
  readonly unknownLabels: string[];
}

export async function preprocess(opts: PreprocessOptions): Promise<PreprocessResult> {
  const adapter = DATASETS[opts.dataset];
  const subset = adapter.subsets ? (opts.subset ?? 'train') : undefined;
  const root = resolve(opts.root);
  let refs = await adapter.list(root, subset);
  // Named by the whole listing, so a `--limit` run fills the same cache as the full one.
  const dir = datasetCacheDir(
    opts.cacheRoot,
    opts.dataset,
    root,
    subset,
    refs.map((r) => r.name),
  );
  if (opts.limit !== undefined) refs = refs.slice(0, opts.limit);

  const manifests = new Map<string, { dirName: string; manifest: TrackManifest }>();
  const rebuilt: { name: string; reason: string }[] = [];
  const skipped: { name: string; message: string }[] = [];
  let built = 0;
  let cached = 0;
  let done = 0;
  const report = (name: string, status: TrackStatus, message?: string) =>
    opts.onTrack?.({ name, status, message, done: ++done, total: refs.length });

  const result = (extra: { split?: Split; stoppedBy?: string }): PreprocessResult => {
    let bytes = 0;
    let samples = 0;
    const unknownLabels = new Set<string>();
    for (const { manifest } of manifests.values()) {
      bytes += manifestBytes(manifest);
      samples += manifest.length;
      for (const l of (manifest.info?.['unknownLabels'] as string[] | undefined) ?? []) unknownLabels.add(l);
    }
    return {
      dir,
      listed: refs.length,
      built,
      rebuilt,
      cached,
      skipped,
      audioSeconds: samples / SAMPLE_RATE,
      bytes,
      unknownLabels: [...unknownLabels].sort(),
      ...extra,
    };
  };

  for (const ref of refs) {
    const dirName = trackDirName(ref.name);
    const trackDir = join(dir, 'tracks', dirName);
    try {
      const sources = await adapter.sourceFiles(ref);
      const check = await checkTrackCache(trackDir, sources, root, opts.required);
      if (check.ok && !opts.force) {
        manifests.set(ref.name, { dirName, manifest: check.manifest });
        cached++;
        report(ref.name, 'cached');
        continue;
      }
      const track: Track = await adapter.load(ref, opts.required);
      const stamps = await stampFiles(track.files, root);
      const moments = magnitudeMoments(track.mixture ?? sumSignals(Object.values(track.stems), track.length));
      const manifest = await writeTrackCache(trackDir, track, moments, stamps);
      manifests.set(ref.name, { dirName, manifest });
      if (check.ok || check.exists) {
        rebuilt.push({ name: ref.name, reason: check.ok ? 'forced' : check.reason });
        report(ref.name, 'rebuilt', check.ok ? 'forced' : check.reason);
      } else {
        built++;
        report(ref.name, 'built');
      }
    } catch (err) {
      if (!isBadData(err)) throw err;
      if (opts.onBadData === 'stop') {
        return result({ stoppedBy: err.message });
      }
      skipped.push({ name: ref.name, message: err.message });
      report(ref.name, 'skipped', err.message);
    }
  }

  // The split is drawn over the whole listing, so a track fixed later does not reshuffle the others.
  const fullSplit = chooseSplit(
    opts.dataset,
    subset,
    refs.map((r) => r.name),
    opts,
  );
  const good = (names: string[]) => names.filter((n) => manifests.has(n));
  const split: Split = { ...fullSplit, train: good(fullSplit.train), valid: good(fullSplit.valid) };
  if (split.train.length === 0) {
    throw new Error(`no usable training tracks in ${opts.root} (${skipped.length} skipped)`);
  }

  let pooled = emptyMoments();
  for (const name of split.train) {
    const { dirName, manifest } = manifests.get(name)!;
    pooled = mergeMoments(pooled, await readMoments(join(dir, 'tracks', dirName), manifest));
  }
  const stats: StatsFile = {
    format: 'stemdeck-scaler',
    version: CACHE_FORMAT_VERSION,
    downmix: 'mean of channel magnitudes',
    center: true,
    tracks: split.train,
    ...scalerStats(pooled),
  };
  await writeFileAtomic(join(dir, STATS_FILE), `${JSON.stringify(stats)}\n`);

  const tracks: IndexTrack[] = refs
    .filter((r) => manifests.has(r.name))
    .map((r) => {
      const { dirName, manifest } = manifests.get(r.name)!;
      return {
        name: r.name,
        dir: dirName,
        length: manifest.length,
        stems: Object.keys(manifest.stems).sort(),
        hasMixture: manifest.mixture !== undefined,
      };
    });
  const index: DatasetIndex = {
    format: 'stemdeck-dataset',
    version: CACHE_FORMAT_VERSION,
    dataset: opts.dataset,
    root: resolve(opts.root),
    ...(subset ? { subset } : {}),
    updatedAt: new Date().toISOString(),
    tracks,
    split,
    skipped,
  };
  await writeFileAtomic(join(dir, INDEX_FILE), `${JSON.stringify(index, null, 1)}\n`);
  return result({ split });
}
