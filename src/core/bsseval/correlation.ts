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
  let fftSize = 4096;
  while (fftSize < 4 * (2 * maxLag + 1)) fftSize *= 2;
  const block = fftSize - 2 * maxLag;
  const fft = new Fft(fftSize);
  const bins = fft.bins;

  const usedX = [...new Set(pairs.map((p) => p.x))];
  const usedY = [...new Set(pairs.map((p) => p.y))];
  const xRe = new Map<number, Float64Array>();
  const xIm = new Map<number, Float64Array>();
  const yRe = new Map<number, Float64Array>();
  const yIm = new Map<number, Float64Array>();
  for (const i of usedX) {
    xRe.set(i, new Float64Array(bins));
    xIm.set(i, new Float64Array(bins));
  }
  for (const i of usedY) {
    yRe.set(i, new Float64Array(bins));
    yIm.set(i, new Float64Array(bins));
  }
  const accRe = pairs.map(() => new Float64Array(bins));
  const accIm = pairs.map(() => new Float64Array(bins));
  const segment = new Float64Array(fftSize);

  for (let start = 0; start < length; start += block) {
    const count = Math.min(block, length - start);
    for (const i of usedX) fft.forwardReal(xs[i], xRe.get(i)!, xIm.get(i)!, start, count);
    // y segment covers [start − maxLag, start + count + maxLag) so that no lag wraps around.
    for (const i of usedY) {
      const y = ys[i];
      segment.fill(0);
      const from = start - maxLag;
      const lo = Math.max(0, from);
      const hi = Math.min(length, start + count + maxLag);
      for (let n = lo; n < hi; n++) segment[n - from] = y[n];
      fft.forwardReal(segment, yRe.get(i)!, yIm.get(i)!);
    }
    for (let p = 0; p < pairs.length; p++) {
      const { x, y } = pairs[p];
      accumulateCrossSpectrum(xRe.get(x)!, xIm.get(x)!, yRe.get(y)!, yIm.get(y)!, accRe[p], accIm[p]);
    }
  }

  const time = new Float64Array(fftSize);
  return pairs.map((_, p) => {
    fft.inverseReal(accRe[p], accIm[p], time);
    // time[τ] = Σ x[n]·seg[n + τ] with seg offset by −maxLag, so lag k sits at τ = k + maxLag.
    return time.slice(0, 2 * maxLag + 1);
  });
}

/** acc += conj(X)·Y per bin. */
function accumulateCrossSpectrum(
  xr: Float64Array,
  xi: Float64Array,
  yr: Float64Array,
  yi: Float64Array,
  accRe: Float64Array,
  accIm: Float64Array,
): void {
  for (let k = 0; k < accRe.length; k++) {
    accRe[k] += xr[k] * yr[k] + xi[k] * yi[k];
    accIm[k] += xr[k] * yi[k] - xi[k] * yr[k];
  }
}
