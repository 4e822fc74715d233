import { describe, expect, it } from 'vitest';
import { hasFullMusdbTrainSet, MUSDB_VALIDATION_TRACKS } from './musdb';
import { chooseSplit, officialMusdbSplit, seededSplit, trainingSubset } from './split';

const auto = { split: 'auto', seed: 42, validFraction: 0.14 } as const;
/** 86 made-up train names plus the 14 official validation names: a "full" train subset. */
const full = [...Array.from({ length: 86 }, (_, i) => `Artist ${i} - Song`), ...MUSDB_VALIDATION_TRACKS];

describe('splits', () => {
  it('lists the 14 official validation tracks', () => {
    expect(MUSDB_VALIDATION_TRACKS).toHaveLength(14);
    expect(new Set(MUSDB_VALIDATION_TRACKS).size).toBe(14);
  });

  it('uses the official split for the full MUSDB18 train subset', () => {
    expect(hasFullMusdbTrainSet(full)).toBe(true);
    const split = chooseSplit('musdb18', 'train', full, auto);
    expect(split.method).toBe('official');
    expect(split.valid).toEqual([...MUSDB_VALIDATION_TRACKS].sort());
    expect(split.train).toHaveLength(86);
  });

  it('falls back to a seeded split when tracks are missing (the 94 previews)', () => {
    const previews = full.slice(6);
    expect(hasFullMusdbTrainSet(previews)).toBe(false);
    const split = chooseSplit('musdb18', 'train', previews, auto);
    expect(split.method).toBe('seeded');
    expect(split.valid).toHaveLength(13); // round(94 × 0.14)
    expect(new Set([...split.train, ...split.valid])).toEqual(new Set(previews));
  });

  it('is reproducible for a seed, differs between seeds, and ignores input order', () => {
    const a = seededSplit(full, 1, 0.2);
    expect(seededSplit([...full].reverse(), 1, 0.2)).toEqual(a);
    expect(seededSplit(full, 2, 0.2).valid).not.toEqual(a.valid);
    expect(a.valid).toHaveLength(20);
    expect(a.train.filter((n) => a.valid.includes(n))).toEqual([]);
  });

  it('draws nested training subsets by seed (learning curves) and refuses impossible counts', () => {
    const small = trainingSubset(full, 20, 5);
    const large = trainingSubset([...full].reverse(), 40, 5);
    expect(small).toHaveLength(20);
    expect(large).toHaveLength(40);
    expect(small.every((n) => large.includes(n))).toBe(true);
    expect(small).toEqual([...small].sort());
    expect(trainingSubset(full, 20, 6)).not.toEqual(small);
    expect(trainingSubset(full, full.length, 5)).toEqual([...full].sort());
    expect(() => trainingSubset(full, 0, 5)).toThrow(/positive integer/);
    expect(() => trainingSubset(['a', 'b'], 3, 5)).toThrow(/3 tracks asked for, the split has only 2/);
  });

  it('keeps at least one validation track and never splits the test subset', () => {
    expect(seededSplit(['a', 'b', 'c'], 0, 0.1).valid).toHaveLength(1);
    expect(chooseSplit('musdb18', 'test', full, auto)).toMatchObject({ method: 'none', valid: [] });
    expect(chooseSplit('stems', undefined, ['a', 'b'], auto).method).toBe('seeded');
    expect(() => chooseSplit('medleydb', undefined, ['a'], { ...auto, split: 'official' })).toThrow(
      /MUSDB18 only/,
    );
    expect(officialMusdbSplit(['Leaf - Summerghost', 'x']).valid).toEqual(['Leaf - Summerghost']);
  });
});
