/** The multitrack datasets `preprocess` knows, behind one interface. */
import { fretsOnFireSourceFiles, listFretsOnFire, loadFretsOnFireTrack } from './fretsonfire';
import { listMedleydb, loadMedleydbTrack, medleydbSourceFiles } from './medleydb';
import { listMusdb, loadMusdbTrack, musdbSourceFiles } from './musdb';
import { listStemFolders, loadStemFolderTrack, stemFolderSourceFiles } from './stems-folder';
import { BadDataError, type DatasetKind, type Track, type TrackRef } from './track';

export interface DatasetAdapter {
  readonly kind: DatasetKind;
  /** Whether `list` takes a subset (MUSDB18: its folder; Frets on Fire: train or the held-out test). */
  readonly subsets: boolean;
  /** Tracks under `root` (MUSDB18: under `root/subset`), sorted by name. */
  list(root: string, subset?: string): Promise<TrackRef[]>;
  /** The files a track is built from, without decoding (for the cache's validity check). */
  sourceFiles(ref: TrackRef): Promise<string[]>;
  /** Decodes and checks a track; `required` targets must be present (bad data otherwise). */
  load(ref: TrackRef, required?: readonly string[]): Promise<Track>;
}

function requireTargets(track: Track, required: readonly string[]): Track {
  const missing = required.filter((t) => !(t in track.stems));
  if (missing.length > 0) {
    throw new BadDataError(track.path, `missing target(s) ${missing.join(', ')}: no stem maps to them`);
  }
  return track;
}

export const DATASETS: Readonly<Record<DatasetKind, DatasetAdapter>> = {
  musdb18: {
    kind: 'musdb18',
    subsets: true,
    list: (root, subset = 'train') => listMusdb(root, subset),
    sourceFiles: musdbSourceFiles,
    load: async (ref, required = []) => requireTargets(await loadMusdbTrack(ref), required),
  },
  medleydb: {
    kind: 'medleydb',
    subsets: false,
    list: (root) => listMedleydb(root),
    sourceFiles: medleydbSourceFiles,
    load: async (ref, required = []) => requireTargets(await loadMedleydbTrack(ref), required),
  },
  stems: {
    kind: 'stems',
    subsets: false,
    list: (root) => listStemFolders(root),
    sourceFiles: stemFolderSourceFiles,
    load: (ref, required = []) => loadStemFolderTrack(ref, required),
  },
  fretsonfire: {
    kind: 'fretsonfire',
    subsets: true,
    list: (root, subset = 'train') => listFretsOnFire(root, subset),
    sourceFiles: fretsOnFireSourceFiles,
    load: async (ref, required = []) => requireTargets(await loadFretsOnFireTrack(ref), required),
  },
};
