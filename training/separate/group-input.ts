/**
 * Training material for a second-stage member network: one that reads its group network's estimate
 * (e.g. the model's `guitar+piano+other`) instead of the mixture (`UmxConfig.inputFrom`). Such a
 * network is trained on what it will see at run time — the shipped model's raw group estimate of
 * each training mixture — with the true member stem as its target. The trainer reads audio, so the
 * estimate goes back to audio with the mixture's phase, and a track becomes two stems that sum to
 * it: the target, and `rest` = estimate − target (not a real source; such tracks must not be
 * remixed across tracks).
 */
import type { MagnitudeModel } from '../../src/core/separator';
import { createSpectrogram, DEFAULT_HOP, DEFAULT_N_FFT, istft, stft } from '../../src/core/stft';

/** Frames per model run: bounded memory for whole songs. */
const WINDOW_FRAMES = 1024;
/** Frames shared by neighbouring runs, cross-faded: an LSTM's estimate is poorer at a run's edges. */
const OVERLAP_FRAMES = 128;

/**
 * The model's raw estimate for network `network` (the network's magnitude output, no Wiener step:
 * what an `inputFrom` network reads in the exported graph) of `mixture`, as audio with the
 * mixture's phase, `mixture`'s length.
 */
export async function networkEstimateAudio(
  model: MagnitudeModel,
  network: string,
  mixture: readonly Float32Array[],
): Promise<Float32Array[]> {
  const j = model.targets.indexOf(network);
  if (j < 0) throw new Error(`the model has no network "${network}" (it has ${model.targets.join(', ')})`);
  const length = mixture[0]?.length ?? 0;
  const x = stft(mixture, { nFft: DEFAULT_N_FFT, hop: DEFAULT_HOP });
  const { channels, frames, bins } = x;
  // Estimated magnitude, [c][t][k] like x, cross-faded over the runs' overlaps.
  const est = new Float32Array(channels * frames * bins);
  const step = WINDOW_FRAMES - OVERLAP_FRAMES;
  for (let t0 = 0; t0 < frames; t0 += step) {
    const n = Math.min(WINDOW_FRAMES, frames - t0);
    const magnitude = new Float32Array(channels * bins * n);
    for (let c = 0; c < channels; c++) {
      for (let t = 0; t < n; t++) {
        const src = (c * frames + t0 + t) * bins;
        for (let k = 0; k < bins; k++) {
          magnitude[(c * bins + k) * n + t] = Math.hypot(x.re[src + k], x.im[src + k]);
        }
      }
    }
    const out = (await model.estimate(magnitude, channels, bins, n))[j];
    for (let t = 0; t < n; t++) {
      // Fade in over the overlap with the previous run (which faded out there); the last run ends flat.
      const fadeIn = t0 > 0 && t < OVERLAP_FRAMES ? (t + 0.5) / OVERLAP_FRAMES : 1;
      const fadeOut = t0 + n < frames && t >= n - OVERLAP_FRAMES ? (n - t - 0.5) / OVERLAP_FRAMES : 1;
      const w = Math.min(fadeIn, fadeOut);
      for (let c = 0; c < channels; c++) {
        const dst = (c * frames + t0 + t) * bins;
        for (let k = 0; k < bins; k++) est[dst + k] += w * out[(c * bins + k) * n + t];
      }
    }
    if (t0 + n >= frames) break;
  }
  const y = createSpectrogram(channels, frames, bins);
  for (let i = 0; i < est.length; i++) {
    const m = Math.hypot(x.re[i], x.im[i]);
    if (m > 0) {
      y.re[i] = (est[i] * x.re[i]) / m;
      y.im[i] = (est[i] * x.im[i]) / m;
    }
  }
  return istft(y, { hop: DEFAULT_HOP, length });
}

/** A second-stage training track: `target` and `rest` = group estimate − target (see above). */
export function splitAgainst(
  estimate: readonly Float32Array[],
  target: readonly Float32Array[],
): { target: Float32Array[]; rest: Float32Array[] } {
  if (estimate.length !== target.length || estimate.some((e, c) => e.length !== target[c].length)) {
    throw new Error('the estimate and the target differ in channels or length');
  }
  return {
    target: target.map((t) => Float32Array.from(t)),
    rest: estimate.map((e, c) => {
      const r = new Float32Array(e.length);
      for (let i = 0; i < e.length; i++) r[i] = e[i] - target[c][i];
      return r;
    }),
  };
}
