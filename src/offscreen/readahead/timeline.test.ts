import { describe, expect, it } from 'vitest';
import { AudioTimeline } from './timeline';

const ramp = (from: number, n: number) => Float32Array.from({ length: n }, (_, i) => from + i);

describe('AudioTimeline', () => {
  it('reads back what was inserted at its media time, across blocks', () => {
    const t = new AudioTimeline();
    t.insert(0, 100, [ramp(0, 50)]);
    t.insert(0.5, 100, [ramp(50, 50)]);
    expect(t.ranges()).toEqual([[0, 1]]);
    const [l, r] = t.read(0.2, 60, 100, 2) ?? [];
    expect(Array.from(l)).toEqual(Array.from(ramp(20, 60)));
    expect(Array.from(r)).toEqual(Array.from(ramp(20, 60))); // mono repeated
  });

  it('a re-append replaces what was there; remove removes', () => {
    const t = new AudioTimeline();
    t.insert(0, 10, [ramp(0, 20)]);
    t.insert(0.5, 10, [new Float32Array(5).fill(-1)]);
    expect(Array.from(t.read(0, 20, 10, 1)?.[0] ?? [])).toEqual([
      0, 1, 2, 3, 4, -1, -1, -1, -1, -1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ]);
    t.remove(0.3, 1.2);
    expect(t.ranges()).toEqual([
      [0, 0.3],
      [1.2, 2],
    ]);
    expect(t.read(0, 20, 10, 1)).toBeNull();
    expect(t.rangeAt(1.5)).toEqual([1.2, 2]);
    expect(t.rangeAt(0.5)).toBeNull();
  });

  it('keeps blocks of different rates apart and reads only a uniform rate', () => {
    const t = new AudioTimeline();
    t.insert(0, 48_000, [new Float32Array(48_000)]);
    t.insert(1, 44_100, [new Float32Array(44_100)]);
    expect(t.ranges()).toEqual([[0, 2]]);
    expect([...t.ratesIn(0.5, 1.5)].sort()).toEqual([44_100, 48_000]);
    expect(t.read(0.5, 48_000, 48_000, 1)).toBeNull();
    expect(t.read(1, 44_100, 44_100, 1)).not.toBeNull();
  });

  it('prune keeps the window around the playhead and counts its bytes', () => {
    const t = new AudioTimeline();
    t.insert(0, 10, [ramp(0, 100), ramp(0, 100)]);
    expect(t.bytes).toBe(800);
    t.prune(2, 5);
    expect(t.ranges()).toEqual([[2, 5]]);
    expect(t.bytes).toBe(240);
    expect(Array.from(t.read(2, 3, 10, 1)?.[0] ?? [])).toEqual([20, 21, 22]);
  });

  it('refuses a block with no rate or time', () => {
    const t = new AudioTimeline();
    expect(() => t.insert(Number.NaN, 10, [ramp(0, 2)])).toThrow(/bad block/);
    expect(() => t.insert(0, 0, [ramp(0, 2)])).toThrow(/bad block/);
  });
});
