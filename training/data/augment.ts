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
import { writeFileAtomic } from '../../src/core/node/atomic';
import { decodeAudio, writeWav } from '../../src/core/node/audio-io';
import { openCache } from './cache';

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

/** Cuts or zero-pads every channel to `length` (the filter's output may differ by a few samples). */
function fitLength(channels: readonly Float32Array[], length: number): Float32Array[] {
  return channels.map((c) => {
    if (c.length === length) return c;
    const out = new Float32Array(length);
    out.set(c.subarray(0, Math.min(length, c.length)));
    return out;
  });
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
  const written: string[] = [];
  const names: string[] = [];
  let alreadyThere = 0;
  const total = train.length * opts.semitones.length;
  try {
    for (const name of train) {
      const index = data.trackIndex(name);
      const track = data.tracks[index];
      let audio: ReturnType<typeof data.readTrack> | undefined;
      for (const shift of opts.semitones) {
        const copy = shiftedTrackName(name, shift);
        const dir = join(opts.out, copy);
        names.push(copy);
        if (await complete(dir, track.stems)) {
          alreadyThere++;
        } else {
          audio ??= data.readTrack(index);
          for (const stem of track.stems) {
            const source = join(tmp, `${stem}.wav`);
            await writeWav(source, { sampleRate: SAMPLE_RATE, channels: audio.stems[stem] });
            const shifted = await decodeAudio(source, { filter: pitchFilter(shift) });
            if (shifted.channels.length !== CHANNELS)
              throw new Error(`${source}: expected stereo after the shift`);
            await writeWav(join(dir, `${stem}.wav`), {
              sampleRate: SAMPLE_RATE,
              channels: fitLength(shifted.channels, track.length),
            });
          }
          written.push(copy);
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
  return { written: written.length, alreadyThere, tracks: names };
}
