import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mulberry32 as rng } from './random';
import { createSpectrogram, type Spectrogram } from './stft';
import { softMask, wiener } from './wiener';

interface Fixture {
  frames: number;
  bins: number;
  channels: number;
  sources: number;
  scaleFactor: number;
  inputs: { name: string; v: number[]; xRe: number[]; xIm: number[] }[];
  cases: {
    input: number;
    iterations: number;
    softmask: boolean;
    residual: boolean;
    eps: number;
    sources: number;
    re: number[];
    im: number[];
  }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./__fixtures__/wiener_reference.json', import.meta.url), 'utf8'),
) as Fixture;
const { frames, bins, channels } = fixture;

/** Open-Unmix order [frame][bin][channel][source] → ours: per source, [channel][frame][bin]. */
function toOurs(flat: number[], sources: number): Float64Array[] {
  return Array.from({ length: sources }, (_, j) => {
    const out = new Float64Array(channels * frames * bins);
    for (let t = 0; t < frames; t++) {
      for (let k = 0; k < bins; k++) {
        for (let c = 0; c < channels; c++) {
          out[(c * frames + t) * bins + k] = flat[((t * bins + k) * channels + c) * sources + j];
        }
      }
    }
    return out;
  });
}

function mixture(input: Fixture['inputs'][number], float64: boolean): Spectrogram {
  const x = createSpectrogram(channels, frames, bins, float64);
  x.re.set(toOurs(input.xRe, 1)[0]);
  x.im.set(toOurs(input.xIm, 1)[0]);
  return x;
}

function randomProblem(ch: number, fr: number, bn: number, sources: number, seed: number, float64 = true) {
  const r = rng(seed);
  const x = createSpectrogram(ch, fr, bn, float64);
  for (let i = 0; i < x.re.length; i++) {
    x.re[i] = 4 * (r() - 0.5);
    x.im[i] = 4 * (r() - 0.5);
  }
  const v = Array.from({ length: sources }, () =>
    Float64Array.from({ length: x.re.length }, () => 3 * r() ** 2),
  );
  return { x, v };
}

/** max |a − b| / max |b| over the real and imaginary parts of all sources. */
function relativeError(y: Spectrogram[], re: Float64Array[], im: Float64Array[]): number {
  let err = 0;
  let scale = 0;
  for (let j = 0; j < re.length; j++) {
    for (let i = 0; i < re[j].length; i++) {
      err = Math.max(err, Math.abs(y[j].re[i] - re[j][i]), Math.abs(y[j].im[i] - im[j][i]));
      scale = Math.max(scale, Math.abs(re[j][i]), Math.abs(im[j][i]));
    }
  }
  return err / scale;
}

describe('wiener against the NumPy reference (norbert / Open-Unmix math)', () => {
  for (const c of fixture.cases) {
    const input = fixture.inputs[c.input];
    it(`${input.name}: iterations ${c.iterations}, softmask ${c.softmask}, residual ${c.residual}, eps ${c.eps}`, () => {
      const v = toOurs(input.v, fixture.sources);
      const expRe = toOurs(c.re, c.sources);
      const expIm = toOurs(c.im, c.sources);
      for (const float64 of [true, false]) {
        const y = wiener(v, mixture(input, float64), {
          iterations: c.iterations,
          softmaskFirst: c.softmask,
          residual: c.residual,
          eps: c.eps,
          scaleFactor: fixture.scaleFactor,
        });
        expect(y.length).toBe(c.sources);
        expect(y[0].re).toBeInstanceOf(float64 ? Float64Array : Float32Array);
        expect(relativeError(y, expRe, expIm)).toBeLessThan(float64 ? 1e-7 : 1e-5);
      }
    });
  }
});

describe('wiener properties', () => {
  it('with residual, the estimates sum to the mixture (EM: up to its √eps regulariser)', () => {
    const { x, v } = randomProblem(2, 20, 33, 4, 1);
    // After EM, Σ_j G_j = (Cxx − √eps·I) Cxx⁻¹ = I − √eps·Cxx⁻¹: the sum is off by √eps·Cxx⁻¹x
    // (~1e-5 relative here with the default eps 1e-10), so the EM cases use a tiny eps.
    for (const [iterations, eps] of [
      [0, 1e-10],
      [1, 1e-14],
      [3, 1e-14],
    ]) {
      for (const softmaskFirst of [false, true]) {
        const y = wiener(v, x, { iterations, softmaskFirst, residual: true, eps });
        expect(y.length).toBe(5);
        let err = 0;
        let scale = 0;
        for (let i = 0; i < x.re.length; i++) {
          let sr = 0;
          let si = 0;
          for (const s of y) {
            sr += s.re[i];
            si += s.im[i];
          }
          err = Math.max(err, Math.abs(sr - x.re[i]), Math.abs(si - x.im[i]));
          scale = Math.max(scale, Math.abs(x.re[i]), Math.abs(x.im[i]));
        }
        expect(err / scale).toBeLessThan(1e-6);
      }
    }
  });

  it('a single source (no residual) gets the whole mixture back from the EM', () => {
    const { x, v } = randomProblem(2, 10, 17, 1, 2);
    const [y] = wiener(v, x, { iterations: 2 });
    // Cxx = v R + √eps·I, so the gain v R Cxx⁻¹ is the identity up to the regulariser.
    for (let i = 0; i < x.re.length; i++) {
      expect(y.re[i]).toBeCloseTo(x.re[i], 4);
      expect(y.im[i]).toBeCloseTo(x.im[i], 4);
    }
  });

  it('mono: the EM reduces to single-channel Wiener gains v_j R_j / Σ v_k R_k', () => {
    const { x, v } = randomProblem(1, 8, 9, 3, 3);
    const eps = 1e-10;
    const init = wiener(v, x, { iterations: 0 });
    const y = wiener(v, x, { iterations: 1, eps });
    // Independent scalar computation of one EM step from the initial estimates.
    const R = init.map((s) => {
      const r = new Float64Array(9);
      for (let k = 0; k < 9; k++) {
        let num = 0;
        for (let t = 0; t < 8; t++) num += s.re[t * 9 + k] ** 2 + s.im[t * 9 + k] ** 2;
        r[k] = num / (eps + num);
      }
      return r;
    });
    for (let t = 0; t < 8; t++) {
      for (let k = 0; k < 9; k++) {
        const i = t * 9 + k;
        const g = init.map((s, j) => (s.re[i] ** 2 + s.im[i] ** 2) * R[j][k]);
        const total = Math.sqrt(eps) + g.reduce((a, b) => a + b, 0);
        for (let j = 0; j < 3; j++) {
          expect(y[j].re[i]).toBeCloseTo((g[j] / total) * x.re[i], 10);
          expect(y[j].im[i]).toBeCloseTo((g[j] / total) * x.im[i], 10);
        }
      }
    }
  });

  it('softMask splits the mixture in proportion to v and sums to it', () => {
    const { x, v } = randomProblem(2, 5, 7, 3, 4);
    const y = softMask(v, x, 0);
    for (let i = 0; i < x.re.length; i++) {
      const total = v[0][i] + v[1][i] + v[2][i];
      for (let j = 0; j < 3; j++) expect(y[j].re[i]).toBeCloseTo((v[j][i] / total) * x.re[i], 12);
      expect(y[0].im[i] + y[1].im[i] + y[2].im[i]).toBeCloseTo(x.im[i], 12);
    }
    // All-zero estimates give zero output, not NaN.
    const zero = softMask([new Float64Array(x.re.length)], x);
    expect(zero[0].re.every((a) => a === 0)).toBe(true);
  });

  it('rejects mismatched shapes and more than two channels', () => {
    const { x, v } = randomProblem(2, 4, 5, 2, 5);
    expect(() => wiener([v[0].subarray(1)], x)).toThrow(/elements/);
    const three = randomProblem(3, 4, 5, 2, 6);
    expect(() => wiener(three.v, three.x)).toThrow(/stereo/);
    expect(() => wiener(v, x, { iterations: -1 })).toThrow(/iteration/);
  });
});

/** Frames [a, b) of every channel of a [channel][frame][bin] array (or spectrogram) as a new one. */
function sliceFrames(data: Float64Array, ch: number, fr: number, bn: number, a: number, b: number) {
  const out = new Float64Array(ch * (b - a) * bn);
  for (let c = 0; c < ch; c++) out.set(data.subarray((c * fr + a) * bn, (c * fr + b) * bn), c * (b - a) * bn);
  return out;
}

function sliceProblem(p: ReturnType<typeof randomProblem>, a: number, b: number) {
  const { channels: ch, frames: fr, bins: bn } = p.x;
  const x = createSpectrogram(ch, b - a, bn, true);
  x.re.set(sliceFrames(p.x.re as Float64Array, ch, fr, bn, a, b));
  x.im.set(sliceFrames(p.x.im as Float64Array, ch, fr, bn, a, b));
  return { x, v: p.v.map((vj) => sliceFrames(vj, ch, fr, bn, a, b)) };
}

describe('wiener covariance blocks (window / context / firstFrame)', () => {
  const ch = 2;
  const fr = 80;
  const bn = 6;

  it('window 0 and a window covering every frame are the default (one estimate)', () => {
    const p = randomProblem(ch, fr, bn, 3, 21);
    const ref = wiener(p.v, p.x, { iterations: 2 });
    for (const opts of [{ window: 0 }, { window: fr }, { window: 128, context: 10, firstFrame: 3 }]) {
      const y = wiener(p.v, p.x, { iterations: 2, ...opts });
      expect(
        relativeError(
          y,
          ref.map((s) => s.re as Float64Array),
          ref.map((s) => s.im as Float64Array),
        ),
      ).toBe(0);
    }
  });

  it('without context, blocks are independent filters over slices cut at multiples of the window (Open-Unmix)', () => {
    const p = randomProblem(ch, fr, bn, 3, 22);
    const first = 5;
    const y = wiener(p.v, p.x, { iterations: 1, window: 16, firstFrame: first });
    // Absolute frames 5..84: cuts at absolute 16, 32, 48, 64, 80, i.e. local 11, 27, 43, 59, 75.
    for (const [a, b] of [
      [0, 11],
      [11, 27],
      [27, 43],
      [43, 59],
      [59, 75],
      [75, 80],
    ]) {
      const s = sliceProblem(p, a, b);
      const ys = wiener(s.v, s.x, { iterations: 1 });
      ys.forEach((yj, j) => {
        const re = sliceFrames(y[j].re as Float64Array, ch, fr, bn, a, b);
        const im = sliceFrames(y[j].im as Float64Array, ch, fr, bn, a, b);
        expect(relativeError([yj], [re], [im])).toBeLessThan(1e-12);
      });
    }
  });

  it('with context, a slice filtered at its absolute position matches the whole away from its ends', () => {
    const p = randomProblem(ch, fr, bn, 2, 23);
    const opts = { window: 6, context: 4 };
    for (const iterations of [1, 2]) {
      const whole = wiener(p.v, p.x, { iterations, ...opts, residual: true });
      const reach = iterations * (opts.window - 1 + opts.context);
      for (const a of [7, 12, 13]) {
        const b = 75;
        const s = sliceProblem(p, a, b);
        const part = wiener(s.v, s.x, { iterations, ...opts, residual: true, firstFrame: a });
        // Frames [a + reach, b − reach) of the whole signal (local [reach, b − a − reach)).
        part.forEach((yj, j) => {
          const inner = (d: Float64Array, f: number, o: number) =>
            sliceFrames(d, ch, f, bn, o + reach, o + b - a - reach);
          const got = {
            re: inner(yj.re as Float64Array, b - a, 0),
            im: inner(yj.im as Float64Array, b - a, 0),
          };
          const want = [inner(whole[j].re as Float64Array, fr, a)];
          expect(
            relativeError([{ ...yj, ...got, frames: b - a - 2 * reach }], want, [
              inner(whole[j].im as Float64Array, fr, a),
            ]),
          ).toBeLessThan(1e-12);
        });
        // Not vacuous: the slice's first frame, whose covariance block is clipped, does see the cut.
        const outer = sliceFrames(part[0].re as Float64Array, ch, b - a, bn, 0, 1);
        const ref = sliceFrames(whole[0].re as Float64Array, ch, fr, bn, a, a + 1);
        expect(Math.max(...outer.map((v, i) => Math.abs(v - ref[i])))).toBeGreaterThan(1e-9);
      }
    }
  });

  it('rejects a context longer than the window', () => {
    const p = randomProblem(ch, 10, bn, 2, 24);
    expect(() => wiener(p.v, p.x, { window: 4, context: 5 })).toThrow(/context/);
  });
});
