/**
 * Train/validation splits: MUSDB18's official one when the full train subset is there, otherwise a
 * seeded shuffle of the track names (same names + seed → same split on every machine).
 */
import { mulberry32 } from '../../src/core/random';
import { hasFullMusdbTrainSet, MUSDB_VALIDATION_TRACKS } from './musdb';
import type { DatasetKind } from './track';

export type SplitMethod = 'official' | 'seeded' | 'none';

export interface Split {
  readonly method: SplitMethod;
  readonly seed?: number;
  readonly validFraction?: number;
  /** Sorted track names. */
  readonly train: string[];
  readonly valid: string[];
}

/** MUSDB18's ratio: 14 of the 100 train-subset tracks validate. */
export const DEFAULT_VALID_FRACTION = 0.14;

export function officialMusdbSplit(names: readonly string[]): Split {
  const valid = new Set(MUSDB_VALIDATION_TRACKS);
  return {
    method: 'official',
    train: names.filter((n) => !valid.has(n)).sort(),
    valid: names.filter((n) => valid.has(n)).sort(),
  };
}

/**
 * Shuffles the sorted names with mulberry32(seed) and takes round(n · fraction) for validation (at
 * least one when there are two or more tracks and the fraction is positive).
 */
export function seededSplit(names: readonly string[], seed: number, validFraction: number): Split {
  if (!(validFraction >= 0 && validFraction < 1)) {
    throw new Error(`validation fraction must be in [0, 1), got ${validFraction}`);
  }
  const order = seededShuffle(names, seed);
  let k = Math.round(order.length * validFraction);
  if (k === 0 && validFraction > 0 && order.length >= 2) k = 1;
  return {
    method: 'seeded',
    seed,
    validFraction,
    train: order.slice(k).sort(),
    valid: order.slice(0, k).sort(),
  };
}

export interface SplitOptions {
  /** `auto`: official for a full MUSDB18 train subset, none for other MUSDB18 subsets, seeded otherwise. */
  readonly split: 'auto' | 'official' | 'seeded' | 'none';
  readonly seed: number;
  readonly validFraction: number;
}

export function chooseSplit(
  dataset: DatasetKind,
  subset: string | undefined,
  names: readonly string[],
  opts: SplitOptions,
): Split {
  let method = opts.split;
  if (method === 'auto') {
    if (subset !== undefined && subset !== 'train')
      method = 'none'; // a test subset is never trained on
    else if (dataset !== 'musdb18') method = 'seeded';
    else method = hasFullMusdbTrainSet(names) ? 'official' : 'seeded';
  }
  if (method === 'official') {
    if (dataset !== 'musdb18') throw new Error('the official split exists for MUSDB18 only');
    return officialMusdbSplit(names);
  }
  if (method === 'none') return { method: 'none', train: [...names].sort(), valid: [] };
  return seededSplit(names, opts.seed, opts.validFraction);
}

/** The sorted names in a mulberry32(seed) Fisher–Yates order (input order does not matter). */
function seededShuffle(names: readonly string[], seed: number): string[] {
  const order = [...names].sort();
  const rand = mulberry32(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * `count` of the training tracks, drawn by seed, for learning curves (`data.trainTracks`): the same
 * seed gives nested subsets (the 20 tracks of a 20-track run are among the 40 of a 40-track run), so a
 * curve over the count varies the amount of data and nothing else. Sorted.
 */
export function trainingSubset(names: readonly string[], count: number, seed: number): string[] {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`training subset: count must be a positive integer, got ${count}`);
  if (count > names.length)
    throw new Error(
      `training subset: ${count} tracks asked for, the split has only ${names.length} training tracks`,
    );
  return seededShuffle(names, seed).slice(0, count).sort();
}
