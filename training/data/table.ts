/**
 * What the sampler reads from: a list of tracks with random access to stem chunks. Two sources
 * implement it: decoded tracks in memory (`memoryTable`) and the preprocess cache (`openCache`).
 */
import { CHANNELS } from '../../src/core/audio';
import type { Track } from './track';

export interface TableTrack {
  readonly name: string;
  /** Samples per channel. */
  readonly length: number;
  /** Targets this track has; any other target reads as silence. */
  readonly stems: readonly string[];
}

export interface TrackTable {
  readonly tracks: readonly TableTrack[];
  /**
   * Stereo chunk [start, start + length) of one stem, planar. Samples outside the track, and every
   * sample of a target the track lacks, are zero.
   */
  readChunk(track: number, target: string, start: number, length: number): Float32Array[];
}

/** Copies src[start, start + length) into a zero-filled array of `length`, clipping to src. */
export function sliceZeroPadded(src: Float32Array, start: number, length: number): Float32Array {
  const out = new Float32Array(length);
  const from = Math.max(0, start);
  const to = Math.min(src.length, start + length);
  if (to > from) out.set(src.subarray(from, to), from - start);
  return out;
}

export function memoryTable(tracks: readonly Track[]): TrackTable {
  return {
    tracks: tracks.map((t) => ({ name: t.name, length: t.length, stems: Object.keys(t.stems) })),
    readChunk(track, target, start, length) {
      const stem = tracks[track]?.stems[target];
      if (!stem) return Array.from({ length: CHANNELS }, () => new Float32Array(length));
      return stem.map((x) => sliceZeroPadded(x, start, length));
    },
  };
}

/** Names of all targets that occur in the table, sorted. */
export function tableTargets(table: TrackTable): string[] {
  return [...new Set(table.tracks.flatMap((t) => t.stems))].sort();
}
