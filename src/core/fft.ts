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

  /**
   * Fast path for real signals in typed arrays (STFT hot loop): the spectrum of
   * input[offset + i] · window[i], i < size (no window: 1), written to re/im from `outOffset` —
   * the same values as forwardReal. One complex FFT of half the size (x[2n] + i·x[2n+1]) plus a
   * split step, with the windowing and the output copy fused into it.
   */
  forwardRealTyped(
    input: Float64Array | Float32Array,
    re: Float64Array | Float32Array,
    im: Float64Array | Float32Array,
    offset = 0,
    window: Float64Array | null = null,
    outOffset = 0,
  ): void {
    const n = this.size;
    const half = this.halfSize();
    if (!half) {
      const buf = new Float64Array(n);
      for (let i = 0; i < n; i++) buf[i] = input[offset + i] * (window ? window[i] : 1);
      const r = new Float64Array(this.bins);
      const q = new Float64Array(this.bins);
      this.forwardReal(buf, r, q);
      for (let k = 0; k < this.bins; k++) {
        re[outOffset + k] = r[k];
        im[outOffset + k] = q[k];
      }
      return;
    }
    const m = n / 2;
    const z = half.z;
    if (window) for (let i = 0; i < n; i++) z[i] = input[offset + i] * window[i];
    else for (let i = 0; i < n; i++) z[i] = input[offset + i];
    half.impl.transform(half.zf, z);
    const zf = half.zf;
    const cos = half.cos;
    const sin = half.sin;
    // E[k] = (Z[k] + conj Z[m−k]) / 2, O[k] = (Z[k] − conj Z[m−k]) / 2i, X[k] = E[k] + e^{−2πik/N} O[k].
    re[outOffset] = zf[0] + zf[1];
    im[outOffset] = 0;
    re[outOffset + m] = zf[0] - zf[1];
    im[outOffset + m] = 0;
    for (let k = 1; k < m; k++) {
      const ar = zf[2 * k];
      const ai = zf[2 * k + 1];
      const br = zf[2 * (m - k)];
      const bi = -zf[2 * (m - k) + 1];
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      const or = 0.5 * (ai - bi);
      const oi = -0.5 * (ar - br);
      const c = cos[k];
      const s = sin[k];
      // twiddle e^{−iθ} = c − i·s
      re[outOffset + k] = er + c * or + s * oi;
      im[outOffset + k] = ei + c * oi - s * or;
    }
  }

  /**
   * Fast path of inverseReal for typed arrays (ISTFT hot loop): the 1/size-normalised inverse of the
   * half spectrum re/im[inOffset, inOffset + bins) (imaginary parts of DC and Nyquist ignored), times
   * window[i] if given, into out[0, size). One complex inverse FFT of half the size.
   */
  inverseRealTyped(
    re: Float64Array | Float32Array,
    im: Float64Array | Float32Array,
    out: Float64Array | Float32Array,
    inOffset = 0,
    window: Float64Array | null = null,
  ): void {
    const n = this.size;
    const half = this.halfSize();
    if (!half) {
      this.inverseReal(
        re.subarray(inOffset, inOffset + this.bins),
        im.subarray(inOffset, inOffset + this.bins),
        out,
      );
      if (window) for (let i = 0; i < n; i++) out[i] *= window[i];
      return;
    }
    const m = n / 2;
    const z = half.z;
    const cos = half.cos;
    const sin = half.sin;
    // Z[k] = E[k] + i·O[k] with E[k] = (X[k] + conj X[m−k]) / 2, O[k] = (X[k] − conj X[m−k]) e^{2πik/N} / 2.
    for (let k = 0; k < m; k++) {
      const ar = re[inOffset + k];
      const ai = k === 0 ? 0 : im[inOffset + k];
      const br = re[inOffset + m - k];
      const bi = k === 0 ? 0 : -im[inOffset + m - k];
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      const dr = 0.5 * (ar - br);
      const di = 0.5 * (ai - bi);
      const c = cos[k];
      const s = sin[k];
      const or = dr * c - di * s;
      const oi = dr * s + di * c;
      z[2 * k] = er - oi;
      z[2 * k + 1] = ei + or;
    }
    half.impl.inverseTransform(half.zf, z);
    const zf = half.zf;
    if (window) for (let i = 0; i < n; i++) out[i] = zf[i] * window[i];
    else for (let i = 0; i < n; i++) out[i] = zf[i];
  }

  private half: HalfSizeState | null | undefined;

  private halfSize(): HalfSizeState | null {
    if (this.half === undefined) {
      const m = this.size / 2;
      if (m < 4) {
        this.half = null;
      } else {
        const cos = new Float64Array(m);
        const sin = new Float64Array(m);
        for (let k = 0; k < m; k++) {
          cos[k] = Math.cos((2 * Math.PI * k) / this.size);
          sin[k] = Math.sin((2 * Math.PI * k) / this.size);
        }
        const impl = new FFTJS(m);
        // fft.js runs faster on plain arrays than on typed ones (measured), hence number[] scratch.
        this.half = { impl, z: impl.createComplexArray(), zf: impl.createComplexArray(), cos, sin };
      }
    }
    return this.half;
  }

  private complex(
    re: Float64Array,
    im: Float64Array,
    outRe: Float64Array,
    outIm: Float64Array,
    inverse: boolean,
  ): void {
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

interface HalfSizeState {
  readonly impl: FFTJS;
  /** Interleaved complex input / output of the half-size transform. */
  readonly z: number[];
  readonly zf: number[];
  /** cos / sin of 2πk/size for k < size/2. */
  readonly cos: Float64Array;
  readonly sin: Float64Array;
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
