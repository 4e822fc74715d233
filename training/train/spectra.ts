/**
 * Waveforms → the magnitude spectrograms UmxTf trains on ([batch, frames, channels, bins]), with the
 * shared STFT (src/core/stft.ts: Open-Unmix's n_fft 4096 / hop 1024, centred), and the input scaler
 * from the cache's statistics.
 */
import { bandMatrix } from '../../src/core/model/bands';
import { inputFeatures, type UmxConfig } from '../../src/core/model/config';
import { frameCount, magnitude, stft } from '../../src/core/stft';
import type { StatsFile } from '../data/cache';

/**
 * Magnitudes of a planar [batch, channels, length] batch (the sampler's layout) in UmxTf's
 * [batch, frames, channels, bins] layout.
 */
export function batchMagnitudes(
  audio: Float32Array,
  batch: number,
  channels: number,
  length: number,
  c: UmxConfig,
): { data: Float32Array; frames: number } {
  const frames = frameCount(length, c.hop);
  const bins = c.nbBins;
  const out = new Float32Array(batch * frames * channels * bins);
  for (let b = 0; b < batch; b++) {
    const chans = Array.from({ length: channels }, (_, ch) =>
      audio.subarray((b * channels + ch) * length, (b * channels + ch + 1) * length),
    );
    const mag = magnitude(stft(chans, { nFft: c.nFft, hop: c.hop }));
    for (let ch = 0; ch < channels; ch++) {
      for (let t = 0; t < frames; t++) {
        const src = (ch * frames + t) * bins;
        out.set(mag.subarray(src, src + bins), ((b * frames + t) * channels + ch) * bins);
      }
    }
  }
  return { data: out, frames };
}

/**
 * Open-Unmix's input scaler from the dataset statistics: input_mean = −mean, input_scale = 1/std over
 * the bins below maxBin. For band input the mean is averaged into bands exactly and the variance
 * likewise (an approximation: it ignores the covariance between neighbouring bins).
 */
export function inputScaler(c: UmxConfig, stats: StatsFile): { mean: Float32Array; scale: Float32Array } {
  if (stats.bins !== c.nbBins) throw new Error(`stats.json has ${stats.bins} bins, the model ${c.nbBins}`);
  const n = inputFeatures(c);
  const mean = new Float32Array(n);
  const scale = new Float32Array(n);
  if (c.input.kind === 'linear') {
    for (let k = 0; k < n; k++) {
      mean[k] = -stats.mean[k];
      scale[k] = 1 / stats.std[k];
    }
  } else {
    const m = bandMatrix(c); // [maxBin, bands]
    for (let b = 0; b < n; b++) {
      let mu = 0;
      let v = 0;
      for (let k = 0; k < c.maxBin; k++) {
        mu += m[k * n + b] * stats.mean[k];
        v += m[k * n + b] * stats.std[k] ** 2;
      }
      mean[b] = -mu;
      scale[b] = 1 / Math.sqrt(v);
    }
  }
  return { mean, scale };
}
