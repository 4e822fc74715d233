/**
 * Offline pitch-shift augmentation: copies of a preprocessed dataset's *training* tracks with every
 * stem shifted by the same number of semitones, written as a plain stems folder
 * (`<out>/<track> (pitch ±k)/<stem>.wav`) that `npm run preprocess -- --dataset stems` caches and a
 * training config adds as `data.extra`.
 *
 * Why offline: a pitch shift that keeps the tempo (ffmpeg's rubberband filter, librubberband) costs
 * about as much as a training step per chunk; done once it is free for every epoch. Why only the
 * train split: shifted copies of validation tracks in the training pool would leak into the
 * validation loss that early stopping and the LR schedule read.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHANNELS, SAMPLE_RATE } from '../../src/core/audio';
import { writeFileAtomic } from '../node/atomic';
import { decodeAudio, writeWav } from '../node/audio-io';
import { openCache } from './cache';
import { sliceZeroPadded } from './table';

export interface AugmentOptions {
  /** Preprocessed dataset folder (`npm run preprocess`). */
  readonly cache: string;
  /** Output stems folder. */
  readonly out: string;
  /** Shifts in semitones, non-zero, within ±12. */
  readonly semitones: readonly number[];
  readonly onTrack?: (done: number, total: number, name: string) => void;
}

export interface AugmentResult {
  readonly written: number;
  readonly alreadyThere: number;
  readonly tracks: readonly string[];
}

export const AUGMENT_MANIFEST = 'augment.json';

/** Folder name of one shifted copy: `Track (pitch +2)`. */
export function shiftedTrackName(track: string, semitones: number): string {
  return `${track} (pitch ${semitones > 0 ? '+' : '−'}${Math.abs(semitones)})`;
}

/** ffmpeg filter for a pitch shift by `semitones` at constant tempo and duration. */
export function pitchFilter(semitones: number): string {
  return `rubberband=pitch=${(2 ** (semitones / 12)).toFixed(6)}:pitchq=quality`;
}

export function checkSemitones(values: readonly number[]): void {
  if (values.length === 0) throw new Error('no pitch shifts given');
  for (const s of values) {
    if (!Number.isFinite(s) || s === 0 || Math.abs(s) > 12) {
      throw new Error(`pitch shift ${s}: must be a non-zero number of semitones within ±12`);
    }
  }
  if (new Set(values).size !== values.length) throw new Error(`pitch shifts repeat: ${values.join(', ')}`);
}

async function complete(dir: string, stems: readonly string[]): Promise<boolean> {
  const files = await readdir(dir).catch(() => null);
  // writeWav renames a finished file into place, so a present file is a whole one.
  return files !== null && stems.every((s) => files.includes(`${s}.wav`));
}

/**
 * Writes the shifted copies; a copy whose folder already holds every stem is kept (reruns resume).
 * Stems are shifted one by one, so they still sum to the shifted mixture up to the filter's small
 * nonlinearity, and the training mixture is their sum as for every stems folder.
 */
export async function augmentPitch(opts: AugmentOptions): Promise<AugmentResult> {
  checkSemitones(opts.semitones);
  const data = await openCache(opts.cache);
  const train = data.index.split.train;
  if (train.length === 0) throw new Error(`${opts.cache}: the train split is empty`);
  const outInfo = await stat(opts.out).catch(() => null);
  if (outInfo && !outInfo.isDirectory()) throw new Error(`${opts.out} exists and is not a folder`);

  const tmp = await mkdtemp(join(tmpdir(), 'stemdeck-augment-'));
  const names: string[] = [];
  let written = 0;
  let alreadyThere = 0;
  const total = train.length * opts.semitones.length;
  try {
    for (const name of train) {
      const index = data.trackIndex(name);
      const track = data.tracks[index];
      // The track's stems as WAVs for ffmpeg, written once on its first missing copy.
      let sources: Map<string, string> | undefined;
      const stemSources = async (): Promise<Map<string, string>> => {
        if (sources) return sources;
        const { stems } = data.readTrack(index);
        sources = new Map();
        for (const stem of track.stems) {
          const path = join(tmp, `${stem}.wav`);
          await writeWav(path, { sampleRate: SAMPLE_RATE, channels: stems[stem] });
          sources.set(stem, path);
        }
        return sources;
      };
      for (const shift of opts.semitones) {
        const copy = shiftedTrackName(name, shift);
        const dir = join(opts.out, copy);
        names.push(copy);
        if (await complete(dir, track.stems)) {
          alreadyThere++;
        } else {
          for (const [stem, source] of await stemSources()) {
            const shifted = await decodeAudio(source, { filter: pitchFilter(shift) });
            if (shifted.channels.length !== CHANNELS)
              throw new Error(`${source}: expected stereo after the shift`);
            // The filter's output may differ from the input by a few samples.
            await writeWav(join(dir, `${stem}.wav`), {
              sampleRate: SAMPLE_RATE,
              channels: shifted.channels.map((c) => sliceZeroPadded(c, 0, track.length)),
            });
          }
          written++;
        }
        opts.onTrack?.(names.length, total, copy);
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const manifest = {
    format: 'stemdeck-augment',
    version: 1,
    source: data.dir,
    sourceSplit: data.index.split.method,
    filter: 'ffmpeg rubberband (librubberband), tempo kept',
    semitones: opts.semitones,
    tracks: names,
  };
  await writeFileAtomic(join(opts.out, AUGMENT_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return { written, alreadyThere, tracks: names };
}
