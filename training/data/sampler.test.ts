import { describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { createSampler, type SamplerOptions } from './sampler';
import { memoryTable, type TrackTable } from './table';
import { testSignal } from './testing';
import type { Track } from './track';

const SOURCES = ['bass', 'drums', 'other', 'vocals'];

/** Three synthetic tracks of 2–3 s (the last one lacks vocals), each stem a distinct signal. */
function tracks(): Track[] {
  return [2, 3, 2.5].map((seconds, t) => {
    const length = Math.round(seconds * SAMPLE_RATE);
    const stems: Record<string, Float32Array[]> = {};
    for (const [k, s] of SOURCES.entries())
      if (!(t === 2 && s === 'vocals')) stems[s] = testSignal(t * 10 + k, length);
    return { dataset: 'stems', name: `track${t}`, path: `/x/track${t}`, length, stems, files: [] };
  });
}

const table = memoryTable(tracks());
const base: SamplerOptions = {
  seed: 7,
  chunkSeconds: 0.5,
  batchSize: 4,
  targets: SOURCES,
  randomTrackMix: true,
};

/** Bit-identical typed arrays (vitest's deep equality is slow on 10^5 elements). */
function same(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function example(arr: Float32Array, b: number, c: number, n: number): Float32Array {
  return arr.subarray((b * 2 + c) * n, (b * 2 + c + 1) * n);
}

describe('sampler', () => {
  it('gives identical batches for the same seed and different ones for another seed', () => {
    const s1 = createSampler(table, base);
    const s2 = createSampler(table, base);
    for (let k = 0; k < 3; k++) {
      const [x, y] = [s1.next(), s2.next()];
      expect(same(y.mixture, x.mixture)).toBe(true);
      for (const s of SOURCES) expect(same(y.targets[s], x.targets[s])).toBe(true);
      expect(y.draws).toEqual(x.draws);
    }
    const other = createSampler(table, { ...base, seed: 8 }).next();
    expect(same(other.mixture, createSampler(table, base).next().mixture)).toBe(false);
  });

  it('lays batches out as [batch, channel, time] and sums the sources into the mixture', () => {
    const batch = createSampler(table, base).next();
    const n = Math.round(0.5 * SAMPLE_RATE);
    expect(batch).toMatchObject({ batchSize: 4, channels: 2, length: n });
    expect(batch.mixture).toHaveLength(4 * 2 * n);
    const sum = new Float32Array(batch.mixture.length); // same float32 additions, same order
    for (const s of SOURCES) for (let i = 0; i < sum.length; i++) sum[i] += batch.targets[s][i];
    expect(same(sum, batch.mixture)).toBe(true);
    expect(batch.mixture.some((v) => v !== 0)).toBe(true);
  });

  it('applies gain in [0.25, 1.25] and the recorded channel swap to the drawn chunk', () => {
    const sampler = createSampler(table, { ...base, batchSize: 16 });
    const n = sampler.chunkLength;
    let swaps = 0;
    let draws = 0;
    for (let k = 0; k < 4; k++) {
      const batch = sampler.next();
      for (let b = 0; b < batch.batchSize; b++) {
        for (const s of SOURCES) {
          const d = batch.draws[b][s];
          draws++;
          if (d.swapped) swaps++;
          expect(d.gain).toBeGreaterThanOrEqual(0.25);
          expect(d.gain).toBeLessThan(1.25);
          const raw = table.readChunk(d.track, s, d.start, n);
          const left = example(batch.targets[s], b, 0, n);
          const src = raw[d.swapped ? 1 : 0];
          for (let i = 0; i < n; i += 331) expect(left[i]).toBe(Math.fround(src[i] * d.gain));
        }
      }
    }
    expect(swaps / draws).toBeGreaterThan(0.35); // p = 0.5 over 256 draws
    expect(swaps / draws).toBeLessThan(0.65);
  });

  it('mixes sources from different tracks with randomTrackMix, one track and start without', () => {
    const mixed = createSampler(table, { ...base, batchSize: 32 }).next();
    const spread = mixed.draws.filter((d) => new Set(SOURCES.map((s) => d[s].track)).size > 1);
    expect(spread.length).toBeGreaterThan(16);
    const coherent = createSampler(table, { ...base, batchSize: 32, randomTrackMix: false }).next();
    for (const d of coherent.draws) {
      expect(new Set(SOURCES.map((s) => d[s].track)).size).toBe(1);
      expect(new Set(SOURCES.map((s) => d[s].start)).size).toBe(1);
    }
  });

  it('draws starts inside the track, reads a missing stem as silence and zero-pads short tracks', () => {
    const sampler = createSampler(table, { ...base, batchSize: 24, chunkSeconds: 2.2 });
    const n = sampler.chunkLength;
    const batch = sampler.next();
    for (const [b, d] of batch.draws.entries()) {
      for (const s of SOURCES) {
        const len = table.tracks[d[s].track].length;
        expect(d[s].start).toBeLessThanOrEqual(Math.max(0, len - n));
        if (d[s].track === 2 && s === 'vocals') {
          expect(example(batch.targets[s], b, 0, n).every((v) => v === 0)).toBe(true);
        }
        if (d[s].track === 0) {
          // track0 is 2 s, the chunk 2.2 s: the tail is zeros.
          expect(
            example(batch.targets[s], b, 1, n)
              .subarray(2 * SAMPLE_RATE)
              .every((v) => v === 0),
          ).toBe(true);
        }
      }
    }
  });

  it('draws only from the given tracks and returns only the asked-for targets', () => {
    const batch = createSampler(table, { ...base, tracks: [1], targets: ['vocals'] }).next();
    expect(Object.keys(batch.targets)).toEqual(['vocals']);
    for (const d of batch.draws) for (const s of SOURCES) expect(d[s].track).toBe(1);
  });

  it('draws each source from a pool in proportion to its weight', () => {
    const pools = [
      { tracks: [0], weight: 1 },
      { tracks: [1, 2], weight: 3 },
    ];
    const sampler = createSampler(table, { ...base, batchSize: 64, pools });
    const counts = [0, 0, 0];
    for (let k = 0; k < 10; k++)
      for (const d of sampler.next().draws) for (const s of SOURCES) counts[d[s].track]++;
    const share0 = counts[0] / (counts[0] + counts[1] + counts[2]);
    expect(share0).toBeGreaterThan(0.2);
    expect(share0).toBeLessThan(0.3);
    expect(counts[1]).toBeGreaterThan(0);
    expect(counts[2]).toBeGreaterThan(0);
    // One pool is the plain `tracks` stream, draw for draw.
    const one = createSampler(table, { ...base, pools: [{ tracks: [1, 2], weight: 5 }] }).next();
    const plain = createSampler(table, { ...base, tracks: [1, 2] }).next();
    expect(same(one.mixture, plain.mixture)).toBe(true);
    expect(() => createSampler(table, { ...base, pools: [{ tracks: [0], weight: 0 }] })).toThrow(/weight/);
    expect(() => createSampler(table, { ...base, tracks: [0], pools })).toThrow(/not both/);
  });

  it('rejects bad options and names a non-finite chunk', () => {
    expect(() => createSampler(table, { ...base, targets: ['piano'] })).toThrow(
      /target "piano" is not a source/,
    );
    expect(() => createSampler(table, { ...base, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => createSampler(table, { ...base, tracks: [] })).toThrow(/no tracks/);
    const broken: TrackTable = {
      tracks: table.tracks,
      readChunk: (t, s, start, n) => {
        const c = table.readChunk(t, s, start, n);
        if (s === 'bass') c[0][3] = Number.NaN;
        return c;
      },
    };
    expect(() => createSampler(broken, base).next()).toThrow(/track\d\/bass: non-finite samples/);
  });
});
