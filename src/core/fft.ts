/**
 * Thin typed wrapper around fft.js (radix-4, pure JS, runs in Node, the extension and workers).
 * Spectra are split into `re` / `im` Float64Arrays, which is the layout every caller wants.
 */
import FFTJS from 'fft.js';

export class Fft {
  readonly size: number;
  /** Number of bins of a real signal's half spectrum: size / 2 + 1. */
  readonly bins: number;
  private readonly impl: FFTJS;
  private readonly input: number[];
  private readonly scratchIn: number[];
  private readonly scratchOut: number[];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) {
      throw new Error(`FFT size must be a power of two ≥ 4, got ${size}`);
    }
    this.size = size;
    this.bins = size / 2 + 1;
    this.impl = new FFTJS(size);
    this.input = new Array<number>(size).fill(0);
    this.scratchIn = this.impl.createComplexArray();
    this.scratchOut = this.impl.createComplexArray();
  }

  /**
   * Forward transform of a real signal. `input` may be shorter than `size` (zero-padded) and is read
   * from `offset`. Writes `bins` values into `re` and `im`.
   */
  forwardReal(input: ArrayLike<number>, re: Float64Array, im: Float64Array, offset = 0, length = -1): void {
    const n = this.size;
    const count = Math.min(length < 0 ? input.length - offset : length, n);
    const buf = this.input;
    for (let i = 0; i < count; i++) buf[i] = input[offset + i];
    for (let i = count; i < n; i++) buf[i] = 0;
    const out = this.scratchOut;
    this.impl.realTransform(out, buf);
    const bins = this.bins;
    for (let k = 0; k < bins; k++) {
      re[k] = out[2 * k];
      im[k] = out[2 * k + 1];
    }
  }

  /**
   * Inverse transform of a Hermitian half spectrum (`bins` values) to a real signal of `size`
   * samples, normalised by 1/size (so inverseReal(forwardReal(x)) = x).
   */
  inverseReal(re: ArrayLike<number>, im: ArrayLike<number>, out: Float64Array | Float32Array): void {
    const n = this.size;
    const half = n / 2;
    const spec = this.scratchIn;
    for (let k = 0; k <= half; k++) {
      spec[2 * k] = re[k];
      spec[2 * k + 1] = im[k];
    }
    // The imaginary parts of DC and Nyquist are ignored, as for any real inverse transform.
    spec[1] = 0;
    spec[2 * half + 1] = 0;
    for (let k = half + 1; k < n; k++) {
      spec[2 * k] = re[n - k];
      spec[2 * k + 1] = -im[n - k];
    }
    const res = this.scratchOut;
    this.impl.inverseTransform(res, spec);
    for (let i = 0; i < n; i++) out[i] = res[2 * i];
  }

  /** Complex forward transform, split layout, in place allowed (re/im of length `size`). */
  forwardComplex(re: Float64Array, im: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    this.complex(re, im, outRe, outIm, false);
  }

  /** Complex inverse transform normalised by 1/size. */
  inverseComplex(re: Float64Array, im: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    this.complex(re, im, outRe, outIm, true);
  }

  private complex(re: Float64Array, im: Float64Array, outRe: Float64Array, outIm: Float64Array, inverse: boolean): void {
    const n = this.size;
    const a = this.scratchIn;
    for (let i = 0; i < n; i++) {
      a[2 * i] = re[i];
      a[2 * i + 1] = im[i];
    }
    const out = this.scratchOut;
    if (inverse) this.impl.inverseTransform(out, a);
    else this.impl.transform(out, a);
    for (let i = 0; i < n; i++) {
      outRe[i] = out[2 * i];
      outIm[i] = out[2 * i + 1];
    }
  }
}

const cache = new Map<number, Fft>();

/** A shared instance per size (twiddle tables are the costly part). Not re-entrant across awaits. */
export function fftOfSize(size: number): Fft {
  let fft = cache.get(size);
  if (!fft) {
    fft = new Fft(size);
    cache.set(size, fft);
  }
  return fft;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
