/**
 * Multichannel Wiener filtering with EM refinement, as norbert.wiener / openunmix.filtering.wiener
 * (the post-filter of Open-Unmix), on typed arrays.
 *
 * Layout: every per-source array uses the spectrogram layout of ./stft, [channel][frame][bin], so a
 * model's magnitude output and the mixture STFT share indices. Open-Unmix's layout
 * v[frame][bin][channel][source] maps to `v[source][(channel * frames + frame) * bins + bin]` here.
 *
 * Mono and stereo are supported (the 2×2 inverses are written out by hand). The EM covariances
 * R_j are estimated over all frames given; Open-Unmix's Separator runs the filter on windows of
 * `wiener_win_len` = 300 frames, which callers reproduce by passing slices.
 */
import { createSpectrogram, type FloatArray, type Spectrogram } from './stft';

export interface WienerOptions {
  /** EM iterations (norbert's `iterations`); 0 returns the initial estimates. Default 1. */
  readonly iterations?: number;
  /**
   * Initialise with soft masks v_j / Σ v · x (norbert's `use_softmask`, Open-Unmix's `softmask`)
   * instead of magnitude × mixture phase. Default false, as Open-Unmix's Separator.
   */
  readonly softmaskFirst?: boolean;
  /**
   * Add a residual source x − Σ y_j (before EM, taking part in it, as in Open-Unmix) so the estimates
   * sum to x: exactly with iterations = 0; after EM only up to √eps·Cxx⁻¹x, since the EM gains sum
   * to I − √eps·Cxx⁻¹.
   */
  readonly residual?: boolean;
  /** Regulariser: mask denominators, covariance weights and √eps·I added to Cxx. Default 1e-10. */
  readonly eps?: number;
  /** The EM runs on x / max(1, max|x| / scaleFactor) for numerical stability. Default 10. */
  readonly scaleFactor?: number;
}

export const DEFAULT_WIENER_EPS = 1e-10;

function checkInputs(v: readonly FloatArray[], x: Spectrogram): void {
  const n = x.channels * x.frames * x.bins;
  if (x.re.length !== n || x.im.length !== n)
    throw new Error('wiener: mixture spectrogram has the wrong size');
  if (v.length === 0) throw new Error('wiener: no sources');
  for (const vj of v) {
    if (vj.length !== n)
      throw new Error(`wiener: a source estimate has ${vj.length} elements, expected ${n}`);
  }
}

function outputsLike(x: Spectrogram, count: number): Spectrogram[] {
  const float64 = x.re instanceof Float64Array;
  return Array.from({ length: count }, () => createSpectrogram(x.channels, x.frames, x.bins, float64));
}

/**
 * Soft masks: y_j = v_j / (eps + Σ_k v_k) · x, element-wise (v_j magnitudes or powers, whatever the
 * caller wants the ratio of). Where all v are 0 the estimates are 0 (given eps > 0).
 */
export function softMask(v: readonly FloatArray[], x: Spectrogram, eps = DEFAULT_WIENER_EPS): Spectrogram[] {
  checkInputs(v, x);
  const out = outputsLike(x, v.length);
  softMaskInto(v, x, eps, out);
  return out;
}

/**
 * The init loops run row by row (one frame of one channel): a per-row factor first, then one tight
 * loop per source, so every inner loop sees plain typed arrays (≈4× faster than indexing v[j][i]).
 */
function softMaskInto(v: readonly FloatArray[], x: Spectrogram, eps: number, out: Spectrogram[]): void {
  const { re, im, bins } = x;
  const rows = x.channels * x.frames;
  const inv = new Float64Array(bins);
  for (let row = 0; row < rows; row++) {
    const o = row * bins;
    inv.fill(eps);
    for (const vj of v) for (let k = 0; k < bins; k++) inv[k] += vj[o + k];
    for (let k = 0; k < bins; k++) inv[k] = 1 / inv[k];
    for (let j = 0; j < v.length; j++) {
      const vj = v[j];
      const yr = out[j].re;
      const yi = out[j].im;
      for (let k = 0; k < bins; k++) {
        const m = vj[o + k] * inv[k];
        yr[o + k] = m * re[o + k];
        yi[o + k] = m * im[o + k];
      }
    }
  }
}

/** y_j = v_j · e^{i∠x}; the phase of a zero mixture bin is 0 (atan2(0, 0)), as in norbert. */
function mixturePhaseInto(v: readonly FloatArray[], x: Spectrogram, out: Spectrogram[]): void {
  const { re, im, bins } = x;
  const rows = x.channels * x.frames;
  const cos = new Float64Array(bins);
  const sin = new Float64Array(bins);
  for (let row = 0; row < rows; row++) {
    const o = row * bins;
    for (let k = 0; k < bins; k++) {
      const xr = re[o + k];
      const xi = im[o + k];
      const mag = Math.sqrt(xr * xr + xi * xi);
      cos[k] = mag > 0 ? xr / mag : 1;
      sin[k] = mag > 0 ? xi / mag : 0;
    }
    for (let j = 0; j < v.length; j++) {
      const vj = v[j];
      const yr = out[j].re;
      const yi = out[j].im;
      for (let k = 0; k < bins; k++) {
        yr[o + k] = vj[o + k] * cos[k];
        yi[o + k] = vj[o + k] * sin[k];
      }
    }
  }
}

/** out_last = x − Σ_{j < last} out_j (the residual source). */
function residualInto(x: Spectrogram, out: Spectrogram[]): void {
  const last = out.length - 1;
  const rr = out[last].re;
  const ri = out[last].im;
  rr.set(x.re);
  ri.set(x.im);
  for (let j = 0; j < last; j++) {
    const yr = out[j].re;
    const yi = out[j].im;
    for (let i = 0; i < rr.length; i++) {
      rr[i] -= yr[i];
      ri[i] -= yi[i];
    }
  }
}

/**
 * Multichannel Wiener filter with `iterations` EM refinements of the source models.
 * `v`: one non-negative magnitude estimate per source, each in the spectrogram layout of `x`.
 * `x`: mixture STFT (1 or 2 channels). Returns one complex estimate per source (plus the residual
 * last when `residual`), Float64 if `x` is Float64, Float32 otherwise.
 */
export function wiener(v: readonly FloatArray[], x: Spectrogram, options: WienerOptions = {}): Spectrogram[] {
  checkInputs(v, x);
  const iterations = options.iterations ?? 1;
  const eps = options.eps ?? DEFAULT_WIENER_EPS;
  const scaleFactor = options.scaleFactor ?? 10;
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new Error(`wiener: bad iteration count ${iterations}`);
  if (x.channels !== 1 && x.channels !== 2) {
    throw new Error(`wiener: only mono and stereo are supported, got ${x.channels} channels`);
  }
  const J = v.length + (options.residual ? 1 : 0);
  const y = outputsLike(x, J);
  if (options.softmaskFirst) softMaskInto(v, x, eps, y);
  else mixturePhaseInto(v, x, y);
  if (options.residual) residualInto(x, y);
  if (iterations === 0) return y;

  // norbert's rescaling: the EM (whose eps terms are absolute) runs on x / s and y / s.
  let maxAbs = 0;
  for (let i = 0; i < x.re.length; i++) {
    const m = x.re[i] * x.re[i] + x.im[i] * x.im[i];
    if (m > maxAbs) maxAbs = m;
  }
  const scale = Math.max(1, Math.sqrt(maxAbs) / scaleFactor);
  if (scale !== 1) scaleAll(y, 1 / scale);
  const em = new EmState(x, J, eps);
  for (let it = 0; it < iterations; it++) {
    em.updateCovariances(y);
    em.filter(y, 1 / scale);
  }
  if (scale !== 1) scaleAll(y, scale);
  return y;
}

function scaleAll(specs: Spectrogram[], factor: number): void {
  for (const s of specs) {
    for (let i = 0; i < s.re.length; i++) {
      s.re[i] *= factor;
      s.im[i] *= factor;
    }
  }
}

/** Spatial covariances R_j(bin) and scratch for the EM; allocated once per wiener() call. */
class EmState {
  readonly channels: number;
  readonly frames: number;
  readonly bins: number;
  /** R_j per bin, index j * bins + k: R00, R11 (real), R01 = r01re + i·r01im; R10 = conj(R01). */
  readonly r00: Float64Array;
  readonly r11: Float64Array;
  readonly r01re: Float64Array;
  readonly r01im: Float64Array;
  readonly weight: Float64Array;
  /** PSD v_j of the current frame, index j * bins + k. */
  readonly psd: Float64Array;
  /** Per-bin scratch of the current frame: Cxx entries and z = Cxx⁻¹x. */
  readonly c00: Float64Array;
  readonly c11: Float64Array;
  readonly c01r: Float64Array;
  readonly c01i: Float64Array;
  readonly z0r: Float64Array;
  readonly z0i: Float64Array;
  readonly z1r: Float64Array;
  readonly z1i: Float64Array;

  constructor(
    readonly x: Spectrogram,
    readonly sources: number,
    readonly eps: number,
  ) {
    this.channels = x.channels;
    this.frames = x.frames;
    this.bins = x.bins;
    const n = sources * x.bins;
    this.r00 = new Float64Array(n);
    this.r11 = new Float64Array(n);
    this.r01re = new Float64Array(n);
    this.r01im = new Float64Array(n);
    this.weight = new Float64Array(x.bins);
    this.psd = new Float64Array(n);
    const scratch = () => new Float64Array(x.bins);
    this.c00 = scratch();
    this.c11 = scratch();
    this.c01r = scratch();
    this.c01i = scratch();
    this.z0r = scratch();
    this.z0i = scratch();
    this.z1r = scratch();
    this.z1i = scratch();
  }

  /** R_j(k) = Σ_t y_j y_jᴴ / (eps + Σ_t v_j), with v_j = mean over channels of |y_j|². */
  updateCovariances(y: Spectrogram[]): void {
    const { frames, bins, channels, eps, weight } = this;
    const plane = frames * bins;
    for (let j = 0; j < this.sources; j++) {
      const { re, im } = y[j];
      const base = j * bins;
      const r00 = this.r00.subarray(base, base + bins);
      const r11 = this.r11.subarray(base, base + bins);
      const r01re = this.r01re.subarray(base, base + bins);
      const r01im = this.r01im.subarray(base, base + bins);
      r00.fill(0);
      r11.fill(0);
      r01re.fill(0);
      r01im.fill(0);
      weight.fill(eps);
      if (channels === 2) {
        for (let t = 0; t < frames; t++) {
          const o0 = t * bins;
          const o1 = plane + o0;
          for (let k = 0; k < bins; k++) {
            const ar = re[o0 + k];
            const ai = im[o0 + k];
            const br = re[o1 + k];
            const bi = im[o1 + k];
            const p0 = ar * ar + ai * ai;
            const p1 = br * br + bi * bi;
            r00[k] += p0;
            r11[k] += p1;
            // y0 · conj(y1)
            r01re[k] += ar * br + ai * bi;
            r01im[k] += ai * br - ar * bi;
            weight[k] += 0.5 * (p0 + p1);
          }
        }
      } else {
        for (let t = 0; t < frames; t++) {
          const o0 = t * bins;
          for (let k = 0; k < bins; k++) {
            const p0 = re[o0 + k] * re[o0 + k] + im[o0 + k] * im[o0 + k];
            r00[k] += p0;
            weight[k] += p0;
          }
        }
      }
      for (let k = 0; k < bins; k++) {
        const w = 1 / weight[k];
        r00[k] *= w;
        r11[k] *= w;
        r01re[k] *= w;
        r01im[k] *= w;
      }
    }
  }

  /**
   * y_j ← v_j R_j Cxx⁻¹ x at every time-frequency point, Cxx = Σ_j v_j R_j + √eps·I, with v_j from
   * the current y_j. Computes z = Cxx⁻¹x once and y_j = v_j R_j z (same as G_j x, fewer products).
   * `xScale` is applied to the mixture on the fly (norbert's rescaling). Works frame by frame in
   * passes over the bins so that every inner loop runs on plain typed arrays.
   */
  filter(y: Spectrogram[], xScale: number): void {
    const { frames, bins, channels, sources, psd } = this;
    const { r00, r11, r01re, r01im, c00, c11, c01r, c01i, z0r, z0i, z1r, z1i } = this;
    const reg = Math.sqrt(this.eps);
    const xRe = this.x.re;
    const xIm = this.x.im;
    const plane = frames * bins;
    for (let t = 0; t < frames; t++) {
      const o0 = t * bins;
      const o1 = plane + o0;
      c00.fill(reg);
      if (channels === 2) {
        c11.fill(reg);
        c01r.fill(0);
        c01i.fill(0);
        for (let j = 0; j < sources; j++) {
          const yr = y[j].re;
          const yi = y[j].im;
          const rb = j * bins;
          for (let k = 0; k < bins; k++) {
            const a = o0 + k;
            const b = o1 + k;
            const p = 0.5 * (yr[a] * yr[a] + yi[a] * yi[a] + yr[b] * yr[b] + yi[b] * yi[b]);
            psd[rb + k] = p;
            c00[k] += p * r00[rb + k];
            c11[k] += p * r11[rb + k];
            c01r[k] += p * r01re[rb + k];
            c01i[k] += p * r01im[rb + k];
          }
        }
        for (let k = 0; k < bins; k++) {
          // Cxx is Hermitian, so det = c00·c11 − |c01|² is real (and > 0 thanks to √eps·I).
          const invDet = 1 / (c00[k] * c11[k] - (c01r[k] * c01r[k] + c01i[k] * c01i[k]));
          const x0r = xRe[o0 + k] * xScale;
          const x0i = xIm[o0 + k] * xScale;
          const x1r = xRe[o1 + k] * xScale;
          const x1i = xIm[o1 + k] * xScale;
          const ar = c01r[k];
          const ai = c01i[k];
          // z = Cxx⁻¹ x = [c11·x0 − c01·x1, −conj(c01)·x0 + c00·x1] / det
          z0r[k] = (c11[k] * x0r - (ar * x1r - ai * x1i)) * invDet;
          z0i[k] = (c11[k] * x0i - (ar * x1i + ai * x1r)) * invDet;
          z1r[k] = (c00[k] * x1r - (ar * x0r + ai * x0i)) * invDet;
          z1i[k] = (c00[k] * x1i - (ar * x0i - ai * x0r)) * invDet;
        }
        for (let j = 0; j < sources; j++) {
          const yr = y[j].re;
          const yi = y[j].im;
          const rb = j * bins;
          for (let k = 0; k < bins; k++) {
            const p = psd[rb + k];
            const a = r00[rb + k];
            const d = r11[rb + k];
            const br = r01re[rb + k];
            const bi = r01im[rb + k];
            // y0 = p (R00 z0 + R01 z1), y1 = p (conj(R01) z0 + R11 z1)
            yr[o0 + k] = p * (a * z0r[k] + br * z1r[k] - bi * z1i[k]);
            yi[o0 + k] = p * (a * z0i[k] + br * z1i[k] + bi * z1r[k]);
            yr[o1 + k] = p * (br * z0r[k] + bi * z0i[k] + d * z1r[k]);
            yi[o1 + k] = p * (br * z0i[k] - bi * z0r[k] + d * z1i[k]);
          }
        }
      } else {
        for (let j = 0; j < sources; j++) {
          const yr = y[j].re;
          const yi = y[j].im;
          const rb = j * bins;
          for (let k = 0; k < bins; k++) {
            const p = yr[o0 + k] * yr[o0 + k] + yi[o0 + k] * yi[o0 + k];
            psd[rb + k] = p;
            c00[k] += p * r00[rb + k];
          }
        }
        for (let k = 0; k < bins; k++) {
          z0r[k] = (xRe[o0 + k] * xScale) / c00[k];
          z0i[k] = (xIm[o0 + k] * xScale) / c00[k];
        }
        for (let j = 0; j < sources; j++) {
          const yr = y[j].re;
          const yi = y[j].im;
          const rb = j * bins;
          for (let k = 0; k < bins; k++) {
            const g = psd[rb + k] * r00[rb + k];
            yr[o0 + k] = g * z0r[k];
            yi[o0 + k] = g * z0i[k];
          }
        }
      }
    }
  }
}
