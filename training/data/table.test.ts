import { describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { concatTables, groupedTable, memoryTable, withoutStems } from './table';
import { testSignal } from './testing';
import type { Track } from './track';

function track(name: string, stems: readonly string[], seed: number): Track {
  const length = Math.round(0.2 * SAMPLE_RATE);
  return {
    dataset: 'stems',
    name,
    path: `/x/${name}`,
    length,
    stems: Object.fromEntries(stems.map((s, k) => [s, testSignal(seed + k, length)])),
    files: [],
  };
}

describe('groupedTable', () => {
  const six = track('song', ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other'], 1);
  const grouped = groupedTable(memoryTable([six]), { other: ['guitar', 'piano', 'other'] });

  it('sums the members under the group name and lists the four stems', () => {
    expect([...grouped.tracks[0].stems].sort()).toEqual(['bass', 'drums', 'other', 'vocals']);
    const got = grouped.readChunk(0, 'other', 100, 500);
    for (let c = 0; c < 2; c++) {
      for (const i of [0, 77, 499]) {
        const want = six.stems.guitar[c][100 + i] + six.stems.piano[c][100 + i] + six.stems.other[c][100 + i];
        expect(got[c][i]).toBeCloseTo(want, 6);
      }
    }
    expect(grouped.readChunk(0, 'vocals', 100, 500)[1]).toEqual(six.stems.vocals[1].subarray(100, 600));
  });

  it('reads a grouped member by its own name as silence, so nothing counts twice', () => {
    expect(grouped.readChunk(0, 'guitar', 0, 300)[0].every((x) => x === 0)).toBe(true);
  });

  it('rejects a stem in two groups and an empty group', () => {
    const t = memoryTable([six]);
    expect(() => groupedTable(t, { other: ['guitar'], bass: ['guitar'] })).toThrow(/two groups/);
    expect(() => groupedTable(t, { other: [] })).toThrow(/no members/);
  });
});

describe('withoutStems', () => {
  it('drops stems from the listing and reads them as silence; keeps the others', () => {
    const four = track('song', ['vocals', 'drums', 'bass', 'other'], 1);
    const t = withoutStems(memoryTable([four]), ['other']);
    expect(t.tracks[0].stems).toEqual(['vocals', 'drums', 'bass']);
    expect(t.readChunk(0, 'other', 0, 300)[1].every((x) => x === 0)).toBe(true);
    expect(t.readChunk(0, 'bass', 10, 300)[0]).toEqual(four.stems.bass[0].subarray(10, 310));
  });
});

describe('concatTables', () => {
  it('numbers the tracks of each table after the previous ones', () => {
    const a = memoryTable([track('a0', ['bass'], 1), track('a1', ['bass'], 2)]);
    const b = memoryTable([track('b0', ['bass'], 3)]);
    const { table, offsets } = concatTables([a, b]);
    expect(offsets).toEqual([0, 2]);
    expect(table.tracks.map((t) => t.name)).toEqual(['a0', 'a1', 'b0']);
    expect(table.readChunk(2, 'bass', 0, 50)).toEqual(b.readChunk(0, 'bass', 0, 50));
    expect(table.readChunk(1, 'bass', 0, 50)).toEqual(a.readChunk(1, 'bass', 0, 50));
    expect(() => table.readChunk(3, 'bass', 0, 50)).toThrow(/no track 3/);
  });
});
