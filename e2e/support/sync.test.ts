import { describe, expect, it } from 'vitest';
import {
  type ElementSample,
  elementResumedAt,
  elementTimeAt,
  firstStemsAfter,
  missingAfterFirstStems,
  percentileAbs,
  syncOffsets,
} from './sync';

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
    expect(elementTimeAt(samples, 1030)).toBeCloseTo(10.03, 6);
    expect(elementTimeAt(samples, 1190)).toBeNull(); // the seek is within the line's reach
    expect(elementTimeAt(samples, 1400)).toBeCloseTo(50.18, 6);
    expect(elementTimeAt(samples, 5000)).toBeNull();
  });

  it('takes the line through read jitter, at the element’s rate', () => {
    const jitter = [0.006, -0.004, 0.003, -0.006, 0.001, 0.005, -0.002, 0, -0.005, 0.004];
    const samples = play(1000, 10, 60).map((s, i) => ({
      ...s,
      rate: 1.5,
      time: 10 + 1.5 * (s.time - 10) + jitter[i % 10],
    }));
    expect(Math.abs((elementTimeAt(samples, 1500) ?? 0) - 10.75)).toBeLessThan(0.0015);
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

  it('finds when the element resumed after a seek, past its settling', () => {
    const samples = [
      ...play(1000, 30, 10),
      { at: 1200, time: 10, steady: false, rate: 1 },
      // Seeked: stands at 10 s, reports 10.02 early, then plays from 10 s at wall 1300.
      { at: 1220, time: 10, steady: true, rate: 1 },
      { at: 1260, time: 10, steady: true, rate: 1 },
      { at: 1280, time: 10.02, steady: true, rate: 1 },
      ...play(1320, 10.02, 30),
    ];
    expect(elementResumedAt(samples, 1150, 10)).toBeCloseTo(1300, 6);
    expect(elementResumedAt(samples.slice(0, 14), 1150, 10)).toBeNull();
  });

  it('counts the page audio after the first stems only, entry by entry', () => {
    // [context frame, media frame (−1: no stems), remixed]; 128-frame entries.
    const q = (ms: number[]) => ms.map((m, i) => [i * 128, m, m >= 0 ? 1 : 0] as const);
    expect(missingAfterFirstStems(q([-1, -1, -1]))).toBe(0);
    // Before the first stems: the switch-on's wait, not a gap.
    expect(missingAfterFirstStems(q([-1, -1, 0, 128, 256]))).toBe(0);
    // Two entries without stems between stems; the last entry has no end and is left out.
    expect(missingAfterFirstStems(q([-1, 0, 128, -1, -1, 512, -1]))).toBe(256);
  });
});
