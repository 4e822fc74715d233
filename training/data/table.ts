/**
 * What the sampler reads from: a list of tracks with random access to stem chunks. Two sources
 * implement it: decoded tracks in memory (`memoryTable`) and the preprocess cache (`openCache`).
 */
import { CHANNELS } from '../../src/core/audio';
import { sumSignals, type Track } from './track';

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

/** A stereo chunk of silence: what reading a stem that a track lacks (or that is left out) gives. */
function silence(length: number): Float32Array[] {
  return Array.from({ length: CHANNELS }, () => new Float32Array(length));
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
      if (!stem) return silence(length);
      return stem.map((x) => sliceZeroPadded(x, start, length));
    },
  };
}

/** Names of all targets that occur in the table, sorted. */
export function tableTargets(table: TrackTable): string[] {
  return [...new Set(table.tracks.flatMap((t) => t.stems))].sort();
}

/**
 * The table with some stems summed under a new name, e.g. `{ other: ['guitar', 'piano', 'other'] }`
 * turns a 6-stem generated song into MUSDB18's four stems, so it can train a 4-stem network. Stems
 * that no group names pass through unchanged.
 */
export function groupedTable(
  table: TrackTable,
  groups: Readonly<Record<string, readonly string[]>>,
): TrackTable {
  const memberOf = new Map<string, string>();
  for (const [name, members] of Object.entries(groups)) {
    if (members.length === 0) throw new Error(`stem group "${name}" has no members`);
    for (const m of members) {
      const other = memberOf.get(m);
      if (other !== undefined) throw new Error(`stem "${m}" is in two groups ("${other}", "${name}")`);
      memberOf.set(m, name);
    }
  }
  return {
    tracks: table.tracks.map((t) => ({
      ...t,
      stems: [...new Set(t.stems.map((s) => memberOf.get(s) ?? s))],
    })),
    readChunk(track, target, start, length) {
      const members = groups[target];
      if (!members) {
        // A member read by its own name is part of a group now: silence, so nothing counts twice.
        if (memberOf.has(target)) return silence(length);
        return table.readChunk(track, target, start, length);
      }
      return sumSignals(
        members.map((m) => table.readChunk(track, m, start, length)),
        length,
      );
    },
  };
}

/** The table without some stems: they are no longer listed, and reading one gives silence. */
export function withoutStems(table: TrackTable, drop: readonly string[]): TrackTable {
  const dropped = new Set(drop);
  return {
    tracks: table.tracks.map((t) => ({ ...t, stems: t.stems.filter((s) => !dropped.has(s)) })),
    readChunk(track, target, start, length) {
      if (dropped.has(target)) return silence(length);
      return table.readChunk(track, target, start, length);
    },
  };
}

/** Several tables as one; track i of table k is at `offsets[k] + i`. */
export function concatTables(tables: readonly TrackTable[]): {
  table: TrackTable;
  offsets: number[];
} {
  const offsets: number[] = [];
  const owner: { table: number; index: number }[] = [];
  tables.forEach((t, k) => {
    offsets.push(owner.length);
    for (let index = 0; index < t.tracks.length; index++) owner.push({ table: k, index });
  });
  return {
    offsets,
    table: {
      tracks: tables.flatMap((t) => t.tracks),
      readChunk(track, target, start, length) {
        const o = owner[track];
        if (!o) throw new Error(`no track ${track} in the combined table`);
        return tables[o.table].readChunk(o.index, target, start, length);
      },
    },
  };
}
