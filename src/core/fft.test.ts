import { describe, expect, it } from 'vitest';
import { Fft, nextPowerOfTwo } from './fft';

function naiveDft(x: number[]): { re: number[]; im: number[] } {
  const n = x.length;
  const re: number[] = [];
  const im: number[] = [];
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      sr += x[t] * Math.cos((-2 * Math.PI * k * t) / n);
      si += x[t] * Math.sin((-2 * Math.PI * k * t) / n);
    }
    re.push(sr);
    im.push(si);
  }
  return { re, im };
}

describe('Fft', () => {
  it('matches a naive DFT on a real signal and inverts it', () => {
    const n = 64;
    const x = Array.from(
      { length: n },
      (_, i) => Math.sin(i * 0.37) + 0.25 * Math.cos(i * 1.91) + (i % 5) * 0.01,
    );
    const fft = new Fft(n);
    const re = new Float64Array(fft.bins);
    const im = new Float64Array(fft.bins);
    fft.forwardReal(x, re, im);
    const ref = naiveDft(x);
    for (let k = 0; k < fft.bins; k++) {
      expect(re[k]).toBeCloseTo(ref.re[k], 9);
      expect(im[k]).toBeCloseTo(ref.im[k], 9);
    }
    const back = new Float64Array(n);
    fft.inverseReal(re, im, back);
    for (let i = 0; i < n; i++) expect(back[i]).toBeCloseTo(x[i], 12);
  });

  it('zero-pads short input and rejects sizes that are not powers of two', () => {
    const fft = new Fft(8);
    const re = new Float64Array(5);
    const im = new Float64Array(5);
    fft.forwardReal([1], re, im);
    expect(Array.from(re)).toEqual([1, 1, 1, 1, 1]);
    expect(() => new Fft(12)).toThrow(/power of two/);
    expect(nextPowerOfTwo(308_700 + 511)).toBe(524_288);
  });
});
