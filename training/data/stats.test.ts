import { describe, expect, it } from 'vitest';
import { magnitude, stft } from '../../src/core/stft';
import {
  type BinMoments,
  decodeMoments,
  emptyMoments,
  encodeMoments,
  magnitudeMoments,
  mergeMoments,
  scalerStats,
} from './stats';
import { testSignal } from './testing';

/** The channel-averaged magnitude frames of a signal, straight from the core STFT. */
function frames(channels: Float32Array[], nFft: number, hop: number): Float64Array[] {
  const spec = stft(channels, { nFft, hop, float64: true });
  const mag = magnitude(spec);
  const out: Float64Array[] = [];
  for (let t = 0; t < spec.frames; t++) {
    const f = new Float64Array(spec.bins);
    for (let c = 0; c < spec.channels; c++) {
      for (let k = 0; k < spec.bins; k++) f[k] += mag[(c * spec.frames + t) * spec.bins + k] / spec.channels;
    }
    out.push(f);
  }
  return out;
}

function direct(all: Float64Array[]): { mean: number[]; std: number[] } {
  const bins = all[0].length;
  const mean = Array.from({ length: bins }, (_, k) => all.reduce((s, f) => s + f[k], 0) / all.length);
  const std = mean.map((m, k) => Math.sqrt(all.reduce((s, f) => s + (f[k] - m) ** 2, 0) / all.length));
  return { mean, std };
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, rel = 1e-9): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(rel * (1 + Math.abs(b[i])));
}

describe('input-scaling statistics', () => {
  const nFft = 256;
  const hop = 64;
  // Long enough for several streaming blocks would be slow at 4096; small FFTs keep it exact and quick.
  const a = testSignal(1, 20_000);
  const b = testSignal(2, 7_001, 0.5);

  it('per-bin mean and population std of the channel-averaged magnitude', () => {
    const m = magnitudeMoments(a, nFft, hop);
    const ref = direct(frames(a, nFft, hop));
    expect(m.frames).toBe(1 + Math.floor(a[0].length / hop));
    expectClose(m.mean, ref.mean);
    expectClose(
      Array.from(m.m2, (v) => Math.sqrt(v / m.frames)),
      ref.std,
      1e-7,
    );
  });

  it('merging two tracks equals pooling their frames', () => {
    const merged = mergeMoments(magnitudeMoments(a, nFft, hop), magnitudeMoments(b, nFft, hop));
    const ref = direct([...frames(a, nFft, hop), ...frames(b, nFft, hop)]);
    const s = scalerStats(merged);
    expectClose(s.mean, ref.mean);
    expectClose(s.std, ref.std, 1e-7);
    expect(mergeMoments(emptyMoments(nFft, hop), merged)).toBe(merged);
  });

  it('floors the std at 1e-4 of its maximum, as Open-Unmix does', () => {
    const m: BinMoments = {
      nFft: 4,
      hop: 1,
      frames: 4,
      mean: Float64Array.of(1, 1, 1),
      m2: Float64Array.of(0, 4, 16),
    };
    expect(scalerStats(m).std).toEqual([2e-4, 1, 2]);
  });

  it('round-trips the binary form and rejects damaged bytes', () => {
    const m = magnitudeMoments(b, nFft, hop);
    const back = decodeMoments(encodeMoments(m));
    expect(back?.frames).toBe(m.frames);
    expect(back?.mean).toEqual(m.mean);
    expect(back?.m2).toEqual(m.m2);
    expect(decodeMoments(encodeMoments(m).subarray(0, 100))).toBeUndefined();
  });
});
