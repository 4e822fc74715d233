/**
 * Lag-limited cross-correlations of long signals, computed block by block with short FFTs.
 *
 * BSS Eval needs c_xy(k) = Σ_n x[n]·y[n+k] only for |k| < 512, but for every pair of reference
 * channels and every (reference, estimate) pair. museval takes one FFT of the whole signal per
 * channel and one inverse FFT of the whole length per pair; summing short-block cross-spectra and
 * inverting once per pair gives the same exact linear correlation for a fraction of the work.
 */
import { Fft } from '../fft';

export type Signal = Float32Array | Float64Array;

export interface CorrelationPair {
  /** Index into `xs`. */
  readonly x: number;
  /** Index into `ys`. */
  readonly y: number;
}

/**
 * For each pair, returns Float64Array(2·maxLag + 1) with out[k + maxLag] = Σ_n xs[x][n]·ys[y][n + k],
 * k ∈ [−maxLag, maxLag], samples outside [0, length) taken as zero. All signals have `length` samples.
 */
export function laggedCrossCorrelations(
  xs: readonly Signal[],
  ys: readonly Signal[],
  pairs: readonly CorrelationPair[],
  maxLag: number,
): Float64Array[] {
  const length = xs[0]?.length ?? 0;
  for (const s of [...xs, ...ys]) {
    if (s.length !== length)
      throw new Error('laggedCrossCorrelations: all signals must have the same length');
  }
  let fftSize = 8192;
  while (fftSize < 4 * (2 * maxLag + 1)) fftSize *= 2;
  const block = fftSize - 2 * maxLag;
  const fft = new Fft(fftSize);
  const bins = fft.bins;

  // Blocks are transformed in groups and summed group by group, bin chunk by bin chunk, so the
  // accumulators (pairs × bins, megabytes) are touched once per group instead of once per block:
  // streaming them through memory for every block was the cost of this function.
  const group = 8;
  const chunk = 256;
  const usedX = [...new Set(pairs.map((p) => p.x))];
  const usedY = [...new Set(pairs.map((p) => p.y))];
  // Spectra of the group, flat: signal i, block g at [(i·group + g)·bins, …).
  const xRe = new Float64Array(xs.length * group * bins);
  const xIm = new Float64Array(xs.length * group * bins);
  const yRe = new Float64Array(ys.length * group * bins);
  const yIm = new Float64Array(ys.length * group * bins);
  const accRe = new Float64Array(pairs.length * bins);
  const accIm = new Float64Array(pairs.length * bins);
  const segment = new Float64Array(fftSize);
  const spectrum = (re: Float64Array, im: Float64Array, i: number, g: number) => {
    const o = (i * group + g) * bins;
    return [re.subarray(o, o + bins), im.subarray(o, o + bins)] as const;
  };

  for (let groupStart = 0; groupStart < length; groupStart += group * block) {
    let blocks = 0;
    for (let g = 0; g < group; g++) {
      const start = groupStart + g * block;
      if (start >= length) break;
      blocks++;
      const count = Math.min(block, length - start);
      for (const i of usedX) fft.forwardReal(xs[i], ...spectrum(xRe, xIm, i, g), start, count);
      // y segment covers [start − maxLag, start + count + maxLag) so that no lag wraps around.
      const from = start - maxLag;
      const lo = Math.max(0, from);
      const hi = Math.min(length, start + count + maxLag);
      for (const i of usedY) {
        const y = ys[i];
        segment.fill(0);
        for (let n = lo; n < hi; n++) segment[n - from] = y[n];
        fft.forwardReal(segment, ...spectrum(yRe, yIm, i, g));
      }
    }
    for (let k0 = 0; k0 < bins; k0 += chunk) {
      const k1 = Math.min(bins, k0 + chunk);
      for (let p = 0; p < pairs.length; p++) {
        for (let g = 0; g < blocks; g++) {
          const xo = (pairs[p].x * group + g) * bins;
          const yo = (pairs[p].y * group + g) * bins;
          accumulateCrossSpectrum(xRe, xIm, xo, yRe, yIm, yo, accRe, accIm, p * bins, k0, k1);
        }
      }
    }
  }

  const time = new Float64Array(fftSize);
  return pairs.map((_, p) => {
    fft.inverseReal(accRe.subarray(p * bins, (p + 1) * bins), accIm.subarray(p * bins, (p + 1) * bins), time);
    // time[τ] = Σ x[n]·seg[n + τ] with seg offset by −maxLag, so lag k sits at τ = k + maxLag.
    return time.slice(0, 2 * maxLag + 1);
  });
}

/** acc += conj(X)·Y per bin, on flat arrays at the given offsets. */
function accumulateCrossSpectrum(
  xr: Float64Array,
  xi: Float64Array,
  xo: number,
  yr: Float64Array,
  yi: Float64Array,
  yo: number,
  accRe: Float64Array,
  accIm: Float64Array,
  ao: number,
  k0: number,
  k1: number,
): void {
  for (let k = k0; k < k1; k++) {
    const ar = xr[xo + k];
    const ai = xi[xo + k];
    const br = yr[yo + k];
    const bi = yi[yo + k];
    accRe[ao + k] += ar * br + ai * bi;
    accIm[ao + k] += ar * bi - ai * br;
  }
}
