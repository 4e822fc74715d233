import { describe, expect, it } from 'vitest';
import { type ElementSample, elementTimeAt, firstStemsAfter, percentileAbs, syncOffsets } from './sync';

const play = (from: number, t0: number, n: number, step = 20): ElementSample[] =>
  Array.from({ length: n }, (_, i) => ({
    at: from + i * step,
    time: t0 + (i * step) / 1000,
    steady: true,
    rate: 1,
  }));

describe('sync measurement helpers', () => {
  it('reads the element time between steady samples and refuses across a seek or pause', () => {
    const samples = [
      ...play(1000, 10, 10),
      { at: 1200, time: 50, steady: false, rate: 1 },
      ...play(1220, 50, 10),
    ];
    expect(elementTimeAt(samples, 1050)).toBeCloseTo(10.05, 6);
    expect(elementTimeAt(samples, 1190)).toBeNull();
    expect(elementTimeAt(samples, 1300)).toBeCloseTo(50.08, 6);
    expect(elementTimeAt(samples, 5000)).toBeNull();
  });

  it('measures each stem quantum against the element at the time it is heard', () => {
    const samples = play(0, 0, 200); // 4 s of playback from 0 s at wall 0
    // Context frame f is heard at wall f/44.1 + 100 ms; the stems play 30 ms ahead of the element.
    const clockMap: [number, number][] = [
      [0, 100],
      [44_100, 1100],
    ];
    const quanta: [number, number, number][] = [
      [44_100, 44_100 * 1.13, 1],
      [88_200, 44_100 * 2.13, 1],
      [90_000, -1, 0],
    ];
    const offsets = syncOffsets(quanta, clockMap, samples, 44_100);
    expect(offsets.map((o) => o.offset.toFixed(3))).toEqual(['0.030', '0.030']);
    expect(percentileAbs([0.01, -0.05, 0.02], 100)).toBe(0.05);
    expect(firstStemsAfter(quanta, clockMap, 1500, 44_100)).toBeCloseTo(2100, 6);
    expect(firstStemsAfter(quanta, clockMap, 0, 44_100, 2.1)).toBeCloseTo(2100, 6);
    expect(firstStemsAfter(quanta, clockMap, 0, 44_100, 19)).toBeNull();
  });
});
