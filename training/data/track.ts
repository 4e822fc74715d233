/**
 * The one in-memory shape every training data loader produces, and the checks that turn raw decoded
 * files into it (equal sample rates and lengths, finite samples, not silent everywhere, required
 * targets present). Each failed check is a `BadDataError` whose one-line message names the file.
 */
import { CHANNELS, SAMPLE_RATE } from '../../src/core/audio';
import { AudioInputError } from '../node/audio-io';

export const DATASET_KINDS = ['musdb18', 'medleydb', 'stems', 'fretsonfire'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** A track found by a listing, not yet decoded. */
export interface TrackRef {
  readonly dataset: DatasetKind;
  /** Unique within its listing: the `.stem.mp4` name without extension, or the folder name. */
  readonly name: string;
  /** The `.stem.mp4` file or the track folder. */
  readonly path: string;
}

/**
 * A decoded multitrack song: float32, 44.1 kHz, stereo, planar (`[left, right]`), every array
 * `length` samples long.
 */
export interface Track {
  readonly dataset: DatasetKind;
  readonly name: string;
  readonly path: string;
  readonly length: number;
  /** Stems by target name (`vocals`, `drums`, …). A target absent here is silent in this track. */
  readonly stems: Record<string, Float32Array[]>;
  /** The dataset's own mix where it ships one (MUSDB18); otherwise absent: the mix is the stems' sum. */
  readonly mixture?: Float32Array[];
  /** Every file the decoded track was built from (the cache compares their size and mtime). */
  readonly files: readonly string[];
  /** Dataset-specific notes kept in the cache manifest (e.g. MedleyDB labels per target). */
  readonly info?: Record<string, unknown>;
}

/** A problem with the input data itself (as opposed to a bug or a full disk): skip the track or stop. */
export class BadDataError extends Error {
  override readonly name = 'BadDataError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason.replace(/\s*[\r\n]+\s*/g, ' ').trim()}`);
  }
}

/** True for errors that mean "this track's data is bad" — the ones `--on-bad-data skip` may skip. */
export function isBadData(err: unknown): err is BadDataError | AudioInputError {
  return err instanceof BadDataError || err instanceof AudioInputError;
}

/** Stems of one track may differ by this much (codec padding of mp3/AAC stems); longer ones are cut. */
export const LENGTH_TOLERANCE_SAMPLES = 2048;

/** A track whose every stem peaks below this (−80 dBFS) is "silent everywhere". */
export const SILENCE_PEAK = 1e-4;

/** One decoded input file and the part of the track it becomes. */
export interface DecodedPart {
  /** Target name, or `mixture`. Several parts may share a target (MedleyDB): they are summed. */
  readonly target: string;
  readonly file: string;
  /** Stereo 44.1 kHz planar. */
  readonly channels: Float32Array[];
  /** The file's own sample rate before any resampling. */
  readonly sourceRate: number;
}

/** Throws a BadDataError naming `file` when any sample is NaN or ±Infinity. */
export function checkFinite(file: string, channels: readonly Float32Array[]): void {
  for (let c = 0; c < channels.length; c++) {
    const x = channels[c];
    for (let i = 0; i < x.length; i++) {
      // v - v is NaN exactly for NaN and ±Infinity: one test instead of two.
      if (Number.isNaN(x[i] - x[i])) {
        throw new BadDataError(
          file,
          `non-finite sample (${x[i]}) at ${(i / SAMPLE_RATE).toFixed(3)} s, channel ${c + 1}`,
        );
      }
    }
  }
}

/** The sample-wise sum of stereo signals of `length` samples each, summed in the given order. */
export function sumSignals(parts: Iterable<readonly Float32Array[]>, length: number): Float32Array[] {
  const out = Array.from({ length: CHANNELS }, () => new Float32Array(length));
  for (const part of parts) {
    for (let c = 0; c < CHANNELS; c++) {
      const src = part[c];
      const dst = out[c];
      for (let i = 0; i < length; i++) dst[i] += src[i];
    }
  }
  return out;
}

/** Root mean square over every sample of every channel (0 for no samples). */
export function rms(channels: readonly ArrayLike<number>[]): number {
  let s = 0;
  let n = 0;
  for (const x of channels) {
    for (let i = 0; i < x.length; i++) s += x[i] * x[i];
    n += x.length;
  }
  return n > 0 ? Math.sqrt(s / n) : 0;
}

export function peak(channels: readonly Float32Array[]): number {
  let p = 0;
  for (const x of channels) {
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]);
      if (a > p) p = a;
    }
  }
  return p;
}

function mostCommon(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0];
  for (const [v, n] of counts) if (n > (counts.get(best) ?? 0)) best = v;
  return best;
}

export interface AssembleOptions {
  /** Targets every track must have (a missing one is bad data); `expectedFile` names the file for the message. */
  readonly required?: readonly { target: string; expectedFile: string }[];
  /** Where to point a "silent everywhere" message (the track folder or file). */
  readonly trackFile: string;
}

/**
 * Checks decoded parts against each other and builds the Track: equal source sample rates, lengths
 * within LENGTH_TOLERANCE_SAMPLES (all cut to the shortest), finite samples, not silent everywhere,
 * required targets present. Parts with the same target are summed.
 */
export function assembleTrack(
  ref: TrackRef,
  parts: readonly DecodedPart[],
  files: readonly string[],
  opts: AssembleOptions,
  info?: Record<string, unknown>,
): Track {
  for (const r of opts.required ?? []) {
    if (!parts.some((p) => p.target === r.target)) {
      throw new BadDataError(r.expectedFile, `missing target "${r.target}" (file not found)`);
    }
  }
  if (!parts.some((p) => p.target !== 'mixture')) {
    throw new BadDataError(opts.trackFile, 'no stems found');
  }
  for (const p of parts) {
    if (p.channels.length !== CHANNELS)
      throw new Error(`${p.file}: decoder returned ${p.channels.length} channels`);
    checkFinite(p.file, p.channels);
  }
  const rate = mostCommon(parts.map((p) => p.sourceRate));
  const oddRate = parts.find((p) => p.sourceRate !== rate);
  if (oddRate) {
    throw new BadDataError(
      oddRate.file,
      `sample rate ${oddRate.sourceRate} Hz differs from the track's other files (${rate} Hz)`,
    );
  }
  const lengths = parts.map((p) => p.channels[0].length);
  const common = mostCommon(lengths);
  const oddLength = parts.find((p) => Math.abs(p.channels[0].length - common) > LENGTH_TOLERANCE_SAMPLES);
  if (oddLength) {
    const n = oddLength.channels[0].length;
    throw new BadDataError(
      oddLength.file,
      `length ${n} samples (${(n / SAMPLE_RATE).toFixed(2)} s) differs from the track's other files ` +
        `(${common} samples, ${(common / SAMPLE_RATE).toFixed(2)} s)`,
    );
  }
  const length = Math.min(...lengths);
  const stems: Record<string, Float32Array[]> = {};
  let mixture: Float32Array[] | undefined;
  for (const p of parts) {
    const cut = p.channels.map((x) => (x.length === length ? x : x.subarray(0, length)));
    if (p.target === 'mixture') {
      mixture = cut;
      continue;
    }
    const sum = stems[p.target];
    if (!sum) {
      stems[p.target] = cut.map((x) => x.slice()); // own copy: summing must not write into a caller's array
    } else {
      for (let c = 0; c < CHANNELS; c++) for (let i = 0; i < length; i++) sum[c][i] += cut[c][i];
    }
  }
  if (Object.values(stems).every((s) => peak(s) < SILENCE_PEAK)) {
    throw new BadDataError(opts.trackFile, 'silent everywhere: every stem peaks below −80 dBFS');
  }
  return {
    dataset: ref.dataset,
    name: ref.name,
    path: ref.path,
    length,
    stems,
    ...(mixture ? { mixture } : {}),
    files,
    ...(info ? { info } : {}),
  };
}
