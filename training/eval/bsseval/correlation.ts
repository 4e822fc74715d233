/**
 * Lag-limited cross-correlations of long signals, computed block by block with short FFTs.
 *
 * BSS Eval needs c_xy(k) = Σ_n x[n]·y[n+k] only for |k| < 512, but for every pair of reference
 * channels and every (reference, estimate) pair. museval takes one FFT of the whole signal per
 * channel and one inverse FFT of the whole length per pair; summing short-block cross-spectra and
 * inverting once per pair gives the same exact linear correlation for a fraction of the work.
 */
import { Fft } from '../../../src/core/fft';
import { ptr, wasmKernels } from './wasm';

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
  // Spectra of the group, flat: signal i, block g at [(i·group + g)·stride, …). The stride has one spare
  // (zero) bin so that every chunk has an even number of bins for the SIMD kernel.
  const stride = bins + (bins & 1);
  const kernels = wasmKernels();
  const sizes = [xs.length, xs.length, ys.length, ys.length].map((n) => n * group * stride);
  sizes.push(pairs.length * stride, pairs.length * stride);
  const [xRe, xIm, yRe, yIm, accRe, accIm] = kernels
    ? kernels.allocate(sizes)
    : sizes.map((n) => new Float64Array(n));
  const segment = new Float64Array(fftSize);
  const spectrum = (re: Float64Array, im: Float64Array, i: number, g: number) => {
    const o = (i * group + g) * stride;
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
    for (let k0 = 0; k0 < stride; k0 += chunk) {
      const k1 = Math.min(stride, k0 + chunk);
      for (let p = 0; p < pairs.length; p++) {
        const xo = pairs[p].x * group * stride;
        const yo = pairs[p].y * group * stride;
        if (kernels) {
          const b = (k0 + xo) * 8;
          const c = (k0 + yo) * 8;
          const a = (k0 + p * stride) * 8;
          kernels.k.crossAcc(
            ptr(xRe) + b,
            ptr(xIm) + b,
            ptr(yRe) + c,
            ptr(yIm) + c,
            stride * 8,
            blocks,
            ptr(accRe) + a,
            ptr(accIm) + a,
            k1 - k0,
          );
          continue;
        }
        for (let g = 0; g < blocks; g++) {
          const o = g * stride;
          accumulateCrossSpectrum(xRe, xIm, xo + o, yRe, yIm, yo + o, accRe, accIm, p * stride, k0, k1);
        }
      }
    }
  }

  const time = new Float64Array(fftSize);
  return pairs.map((_, p) => {
    const o = p * stride;
    fft.inverseReal(accRe.subarray(o, o + bins), accIm.subarray(o, o + bins), time);
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
