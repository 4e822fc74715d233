/**
 * MUSDB18 (`<root>/<subset>/<track>.stem.mp4`, decoded by ffmpeg) and MUSDB18-HQ
 * (`<root>/<subset>/<track>/{mixture,drums,bass,other,vocals}.wav`), plus the official
 * train/validation split of the `musdb` package.
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MUSDB_STEMS } from '../../src/core/stems';
import { decodeStems } from '../node/audio-io';
import { loadAudioFile } from './audio-file';
import { assembleTrack, type DecodedPart, type Track, type TrackRef } from './track';

const STEM_MP4 = '.stem.mp4';
const HQ_FILES = ['mixture', ...MUSDB_STEMS].map((s) => `${s}.wav`);

/**
 * The 14 validation tracks of the official split (sigsep-mus-db, `musdb/configs/mus.yaml`,
 * `validation_tracks`); the other 86 tracks of the train subset are for training.
 */
export const MUSDB_VALIDATION_TRACKS: readonly string[] = [
  'Actions - One Minute Smile',
  'Clara Berry And Wooldog - Waltz For My Victims',
  'Johnny Lokke - Promises & Lies',
  'Patrick Talbot - A Reason To Leave',
  'Triviul - Angelsaint',
  'Alexander Ross - Goodbye Bolero',
  'Fergessen - Nos Palpitants',
  'Leaf - Summerghost',
  'Skelpolu - Human Mistakes',
  'Young Griffo - Pennies',
  'ANiMAL - Rockshow',
  'James May - On The Line',
  'Meaxic - Take A Step',
  'Traffic Experiment - Sirens',
];

/** Tracks in the full MUSDB18 train subset. */
export const MUSDB_TRAIN_TRACK_COUNT = 100;

/**
 * Lists a subset: `.stem.mp4` files and folders holding any of the HQ wav names (a folder missing
 * some of them is listed, so that loading can name the missing file). Sorted by name.
 */
export async function listMusdb(root: string, subset: string): Promise<TrackRef[]> {
  const dir = join(root, subset);
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`MUSDB18 subset folder not found: ${dir}`);
  const refs: TrackRef[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isFile() && e.name.endsWith(STEM_MP4)) {
      refs.push({ dataset: 'musdb18', name: e.name.slice(0, -STEM_MP4.length), path });
    } else if (e.isDirectory() && HQ_FILES.some((f) => existsSync(join(path, f)))) {
      refs.push({ dataset: 'musdb18', name: e.name, path });
    }
  }
  if (refs.length === 0) {
    throw new Error(`no MUSDB18 tracks (*${STEM_MP4} or <track>/mixture.wav …) in ${dir}`);
  }
  return refs.sort((a, b) => a.name.localeCompare(b.name));
}

/** True when `names` is the full train subset, so the official split applies. */
export function hasFullMusdbTrainSet(names: readonly string[]): boolean {
  const set = new Set(names);
  return names.length >= MUSDB_TRAIN_TRACK_COUNT && MUSDB_VALIDATION_TRACKS.every((n) => set.has(n));
}

/** The files a track is decoded from (the cache's validity check compares their size and mtime). */
export async function musdbSourceFiles(ref: TrackRef): Promise<string[]> {
  if (ref.path.endsWith(STEM_MP4)) return [ref.path];
  return HQ_FILES.map((f) => join(ref.path, f)).filter((f) => existsSync(f));
}

/** Decodes a MUSDB18 track: the four stems and the shipped mixture. */
export async function loadMusdbTrack(ref: TrackRef): Promise<Track> {
  if (ref.path.endsWith(STEM_MP4)) {
    const { mixture, stems } = await decodeStems(ref.path);
    const parts: DecodedPart[] = [
      { target: 'mixture', file: ref.path, channels: mixture.channels, sourceRate: mixture.sampleRate },
      ...MUSDB_STEMS.map((s) => ({
        target: s,
        file: ref.path,
        channels: stems[s].channels,
        sourceRate: stems[s].sampleRate,
      })),
    ];
    return assembleTrack(ref, parts, [ref.path], { trackFile: ref.path });
  }
  const parts: DecodedPart[] = [];
  const files: string[] = [];
  for (const target of ['mixture', ...MUSDB_STEMS]) {
    const file = join(ref.path, `${target}.wav`);
    if (!existsSync(file)) continue; // reported as a missing target below
    files.push(file);
    parts.push(await loadAudioFile(file, target));
  }
  return assembleTrack(ref, parts, files, {
    trackFile: ref.path,
    required: ['mixture', ...MUSDB_STEMS].map((target) => ({
      target,
      expectedFile: join(ref.path, `${target}.wav`),
    })),
  });
}
