/**
 * Multichannel Wiener filtering with EM refinement, as norbert.wiener / openunmix.filtering.wiener
 * (the post-filter of Open-Unmix), on typed arrays.
 *
 * Layout: every per-source array uses the spectrogram layout of ./stft, [channel][frame][bin], so a
 * model's magnitude output and the mixture STFT share indices. Open-Unmix's layout
 * v[frame][bin][channel][source] maps to `v[source][(channel * frames + frame) * bins + bin]` here.
 *
 * Mono and stereo are supported (the 2×2 inverses are written out by hand). The EM covariances
 * R_j are estimated over all frames given, or per block of `window` frames (Open-Unmix's Separator
 * uses blocks of `wiener_win_len` = 300 frames), optionally widened by `context` frames on each side
 * so that the result at a frame does not depend on where a longer signal was cut into segments.
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
  /**
   * Covariance blocks: the frames are cut into blocks of this many frames at multiples of it counted
   * from `firstFrame`, and each block gets its own R_j and rescaling (Open-Unmix's `wiener_win_len`
   * windows, 300, are `window: 300` with no `context`). 0 or absent: one block over all frames.
   */
  readonly window?: number;
  /**
   * Frames on each side of a block that also enter its R_j and rescaling estimate (clipped at the
   * ends; ≤ `window`). An output frame then depends on frames up to window − 1 + context away per EM
   * iteration, so a signal cut into segments that overlap by more than that gives the same result
   * away from the cuts as the whole signal. Default 0.
   */
  readonly context?: number;
  /** Index of the first frame in a longer stream, so blocks fall at the same places (default 0). */
  readonly firstFrame?: number;
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

  const blocks = covarianceBlocks(x.frames, options);
  const em = new EmState(x, J, eps);
  const sets = [em.createSet(), em.createSet()];
  for (let it = 0; it < iterations; it++) {
    // R_j of block i + 1 is estimated before block i is filtered in place: its frames (from the start
    // of block i on, as context ≤ window) still hold the previous iteration's estimates.
    em.estimate(y, blocks[0], scaleFactor, sets[0]);
    for (let i = 0; i < blocks.length; i++) {
      if (i + 1 < blocks.length) em.estimate(y, blocks[i + 1], scaleFactor, sets[(i + 1) % 2]);
      em.filter(y, blocks[i], sets[i % 2]);
    }
  }
  return y;
}

interface CovarianceBlock {
  /** Frames filtered with this block's R_j: [start, end). */
  readonly start: number;
  readonly end: number;
  /** Frames its R_j and rescaling are estimated from: [from, to). */
  readonly from: number;
  readonly to: number;
}

function covarianceBlocks(frames: number, options: WienerOptions): CovarianceBlock[] {
  const window = options.window ?? 0;
  const context = options.context ?? 0;
  const firstFrame = options.firstFrame ?? 0;
  if (!(Number.isInteger(window) && window >= 0)) throw new Error(`wiener: bad window ${window}`);
  if (!(Number.isInteger(context) && context >= 0 && context <= window)) {
    throw new Error(`wiener: context must be an integer in [0, window], got ${context}`);
  }
  if (!(Number.isInteger(firstFrame) && firstFrame >= 0)) {
    throw new Error(`wiener: bad firstFrame ${firstFrame}`);
  }
  if (window === 0) return [{ start: 0, end: frames, from: 0, to: frames }];
  const blocks: CovarianceBlock[] = [];
  for (let start = 0; start < frames; ) {
    const end = Math.min(frames, start + window - ((firstFrame + start) % window));
    blocks.push({ start, end, from: Math.max(0, start - context), to: Math.min(frames, end + context) });
    start = end;
  }
  return blocks;
}

/** One block's R_j per bin, index j * bins + k: R00, R11 (real), R01 = r01re + i·r01im; R10 = conj(R01). */
interface CovarianceSet {
  readonly r00: Float64Array;
  readonly r11: Float64Array;
  readonly r01re: Float64Array;
  readonly r01im: Float64Array;
  /** norbert's rescaling: the block's EM (whose eps terms are absolute) runs on x / scale, y / scale. */
  scale: number;
}

/** Scratch for the EM; allocated once per wiener() call. */
class EmState {
  readonly channels: number;
  readonly frames: number;
  readonly bins: number;
  /** Σ_t v_j of the current source, per bin. */
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
    this.weight = new Float64Array(x.bins);
    this.psd = new Float64Array(sources * x.bins);
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

  createSet(): CovarianceSet {
    const n = this.sources * this.bins;
    const f = () => new Float64Array(n);
    return { r00: f(), r11: f(), r01re: f(), r01im: f(), scale: 1 };
  }

  /**
   * Over the block's frames [from, to): the rescaling s = max(1, max|x| / scaleFactor) and
   * R_j(k) = Σ_t ỹ_j ỹ_jᴴ / (eps + Σ_t ṽ_j) of ỹ = y / s, with ṽ_j = mean over channels of |ỹ_j|².
   */
  estimate(y: Spectrogram[], block: CovarianceBlock, scaleFactor: number, set: CovarianceSet): void {
    const { frames, bins, channels, eps, weight } = this;
    const { from, to } = block;
    const plane = frames * bins;
    const { re: xRe, im: xIm } = this.x;
    let maxAbs = 0;
    for (let c = 0; c < channels; c++) {
      for (let i = (c * frames + from) * bins, e = (c * frames + to) * bins; i < e; i++) {
        const m = xRe[i] * xRe[i] + xIm[i] * xIm[i];
        if (m > maxAbs) maxAbs = m;
      }
    }
    const scale = Math.max(1, Math.sqrt(maxAbs) / scaleFactor);
    set.scale = scale;
    const inv2 = 1 / (scale * scale);
    for (let j = 0; j < this.sources; j++) {
      const { re, im } = y[j];
      const base = j * bins;
      const r00 = set.r00.subarray(base, base + bins);
      const r11 = set.r11.subarray(base, base + bins);
      const r01re = set.r01re.subarray(base, base + bins);
      const r01im = set.r01im.subarray(base, base + bins);
      r00.fill(0);
      r11.fill(0);
      r01re.fill(0);
      r01im.fill(0);
      weight.fill(0);
      if (channels === 2) {
        for (let t = from; t < to; t++) {
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
        for (let t = from; t < to; t++) {
          const o0 = t * bins;
          for (let k = 0; k < bins; k++) {
            const p0 = re[o0 + k] * re[o0 + k] + im[o0 + k] * im[o0 + k];
            r00[k] += p0;
            weight[k] += p0;
          }
        }
      }
      for (let k = 0; k < bins; k++) {
        const w = inv2 / (eps + inv2 * weight[k]);
        r00[k] *= w;
        r11[k] *= w;
        r01re[k] *= w;
        r01im[k] *= w;
      }
    }
  }

  /**
   * y_j ← v_j R_j Cxx⁻¹ x at every time-frequency point of the block's frames [start, end), with
   * Cxx = Σ_j v_j R_j + √eps·I and v_j from the current y_j, all on the block's rescaled ỹ = y / s,
   * x / s. Computes z = Cxx⁻¹x once and y_j = v_j R_j z (same as G_j x, fewer products). Works frame
   * by frame in passes over the bins so that every inner loop runs on plain typed arrays.
   */
  filter(y: Spectrogram[], block: CovarianceBlock, set: CovarianceSet): void {
    const { frames, bins, channels, sources, psd } = this;
    const { c00, c11, c01r, c01i, z0r, z0i, z1r, z1i } = this;
    const { r00, r11, r01re, r01im, scale } = set;
    const inv2 = 1 / (scale * scale);
    const xScale = 1 / scale;
    const reg = Math.sqrt(this.eps);
    const xRe = this.x.re;
    const xIm = this.x.im;
    const plane = frames * bins;
    for (let t = block.start; t < block.end; t++) {
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
            const p = 0.5 * inv2 * (yr[a] * yr[a] + yi[a] * yi[a] + yr[b] * yr[b] + yi[b] * yi[b]);
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
            // Back to the original scale: ỹ · s.
            const p = psd[rb + k] * scale;
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
            const p = inv2 * (yr[o0 + k] * yr[o0 + k] + yi[o0 + k] * yi[o0 + k]);
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
            const g = psd[rb + k] * r00[rb + k] * scale;
            yr[o0 + k] = g * z0r[k];
            yi[o0 + k] = g * z0i[k];
          }
        }
      }
    }
  }
}
