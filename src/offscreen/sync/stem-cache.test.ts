import { describe, expect, it } from 'vitest';
import { bytesPerMinute, CHUNK_FRAMES, nearestFirst, StemCache } from './stem-cache';

describe('StemCache', () => {
  it('stores 16-bit chunks with a scale per array, within −90 dB of the chunk peak', () => {
    const c = new StemCache(2);
    const a = Float32Array.from({ length: CHUNK_FRAMES }, (_, i) => 1.7 * Math.sin(i / 10));
    const b = new Float32Array(CHUNK_FRAMES); // silence stays silence
    c.put(3, [a, b]);
    const [ga, gb] = c.get(3) ?? [];
    let worst = 0;
    for (let i = 0; i < CHUNK_FRAMES; i++) worst = Math.max(worst, Math.abs(ga[i] - a[i]));
    expect(20 * Math.log10(worst / 1.7)).toBeLessThan(-90);
    expect(gb.every((v) => v === 0)).toBe(true);
    expect(c.bytes).toBe(2 * CHUNK_FRAMES * 2);
    expect(c.get(4)).toBeNull();
    // The stored form, copied: its samples times its scales are `get`'s floats, and it is the
    // cache's no longer (the copy can be transferred).
    const copy = c.copy(3);
    expect(copy?.samples[0]).toBeInstanceOf(Int16Array);
    expect(Float32Array.from(copy?.samples[0] ?? [], (q) => q * (copy?.scales[0] ?? 0))).toEqual(ga);
    copy?.samples[0].fill(0);
    expect(c.get(3)?.[0]).toEqual(ga);
    expect(c.copy(4)).toBeNull();
    expect(() => c.put(1, [a])).toThrow(/shape/);
  });

  it('prunes to a window and states its cost per minute', () => {
    const c = new StemCache(1);
    for (let k = 0; k < 10; k++) c.put(k, [new Float32Array(CHUNK_FRAMES)]);
    c.prune(3, 6);
    expect([...c.keys()].sort()).toEqual([3, 4, 5]);
    expect(bytesPerMinute(6, 2)).toBe(63_504_000);
  });
});

describe('nearestFirst', () => {
  it('goes from the playhead forward, then back from it', () => {
    expect([...nearestFirst(7, 10, 14)]).toEqual([10, 11, 12, 13, 9, 8, 7]);
  });
  it('keeps to [from, to) when the playhead lies outside it', () => {
    expect([...nearestFirst(0, -2, 3)]).toEqual([0, 1, 2]);
    expect([...nearestFirst(0, 5, 3)]).toEqual([2, 1, 0]);
  });
});
