/**
 * Input-scaling statistics for the model: per-frequency-bin mean and standard deviation of the
 * mixture's STFT magnitude, as Open-Unmix's `get_statistics` computes them — magnitude per channel,
 * averaged over the channels (its "downmix in the magnitude domain"), every frame of every training
 * track pooled, population standard deviation (sklearn's StandardScaler), floored at 1e-4 × its
 * largest value. One difference: src/core/stft.ts is centred (reflect-padded) where Open-Unmix's
 * training STFT is not, which adds two edge frames per track.
 *
 * Per-track moments (frame count, mean, sum of squared deviations) are kept in the cache, so a rerun
 * or another split merges them (Chan et al.'s parallel update) without touching audio.
 */
import { DEFAULT_HOP, DEFAULT_N_FFT, StreamingStft } from '../../src/core/stft';

export interface BinMoments {
  readonly nFft: number;
  readonly hop: number;
  frames: number;
  /** Per bin (nFft/2 + 1): running mean of the magnitude. */
  readonly mean: Float64Array;
  /** Per bin: sum of squared deviations from the mean (Welford's M2). */
  readonly m2: Float64Array;
}

export interface ScalerStats {
  readonly nFft: number;
  readonly hop: number;
  readonly bins: number;
  readonly frames: number;
  readonly mean: number[];
  /** max(population std, 1e-4 · max std), as Open-Unmix floors it. */
  readonly std: number[];
}

export function emptyMoments(nFft = DEFAULT_N_FFT, hop = DEFAULT_HOP): BinMoments {
  const bins = nFft / 2 + 1;
  return { nFft, hop, frames: 0, mean: new Float64Array(bins), m2: new Float64Array(bins) };
}

/** Block size of the streaming STFT: bounds memory on long tracks (a 5-min STFT is ~400 MB). */
const BLOCK = 1 << 17;

/** Moments of the channel-averaged STFT magnitude of one (multichannel) signal. */
export function magnitudeMoments(
  channels: readonly Float32Array[],
  nFft = DEFAULT_N_FFT,
  hop = DEFAULT_HOP,
): BinMoments {
  const m = emptyMoments(nFft, hop);
  const stft = new StreamingStft(channels.length, { nFft, hop, float64: true });
  const length = channels[0].length;
  const bins = nFft / 2 + 1;
  const scale = 1 / channels.length;
  const frame = new Float64Array(bins);
  const add = (spec: ReturnType<StreamingStft['push']>) => {
    const { re, im, frames } = spec;
    for (let t = 0; t < frames; t++) {
      frame.fill(0);
      for (let c = 0; c < spec.channels; c++) {
        const off = (c * frames + t) * bins;
        for (let k = 0; k < bins; k++) {
          const a = re[off + k];
          const b = im[off + k];
          frame[k] += Math.sqrt(a * a + b * b) * scale;
        }
      }
      const n = ++m.frames;
      for (let k = 0; k < bins; k++) {
        const delta = frame[k] - m.mean[k];
        m.mean[k] += delta / n;
        m.m2[k] += delta * (frame[k] - m.mean[k]);
      }
    }
  };
  for (let start = 0; start < length; start += BLOCK) {
    add(stft.push(channels.map((x) => x.subarray(start, Math.min(length, start + BLOCK)))));
  }
  add(stft.flush());
  return m;
}

/** Pools two sets of frames (Chan, Golub & LeVeque's pairwise update). */
export function mergeMoments(a: BinMoments, b: BinMoments): BinMoments {
  if (a.nFft !== b.nFft || a.hop !== b.hop) throw new Error('mergeMoments: different STFT settings');
  if (b.frames === 0) return a;
  if (a.frames === 0) return b;
  const n = a.frames + b.frames;
  const out = emptyMoments(a.nFft, a.hop);
  out.frames = n;
  for (let k = 0; k < a.mean.length; k++) {
    const delta = b.mean[k] - a.mean[k];
    out.mean[k] = a.mean[k] + (delta * b.frames) / n;
    out.m2[k] = a.m2[k] + b.m2[k] + (delta * delta * a.frames * b.frames) / n;
  }
  return out;
}

export function scalerStats(m: BinMoments): ScalerStats {
  if (m.frames === 0) throw new Error('scaler statistics need at least one frame');
  const std = Array.from(m.m2, (v) => Math.sqrt(v / m.frames));
  const floor = 1e-4 * Math.max(...std);
  return {
    nFft: m.nFft,
    hop: m.hop,
    bins: m.mean.length,
    frames: m.frames,
    mean: Array.from(m.mean),
    std: std.map((s) => Math.max(s, floor)),
  };
}

/** Binary form for the cache: float64 [frames, nFft, hop, mean…, m2…]. */
export function encodeMoments(m: BinMoments): Uint8Array {
  const bins = m.mean.length;
  const out = new Float64Array(3 + 2 * bins);
  out[0] = m.frames;
  out[1] = m.nFft;
  out[2] = m.hop;
  out.set(m.mean, 3);
  out.set(m.m2, 3 + bins);
  return new Uint8Array(out.buffer);
}

/** Inverse of encodeMoments; undefined when the bytes do not hold a consistent record. */
export function decodeMoments(bytes: Uint8Array): BinMoments | undefined {
  if (bytes.byteLength % 8 !== 0 || bytes.byteLength < 8 * 5) return undefined;
  const v = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(v.buffer).set(bytes);
  const [frames, nFft, hop] = v;
  const bins = nFft / 2 + 1;
  if (!Number.isInteger(frames) || frames < 0 || v.length !== 3 + 2 * bins) return undefined;
  if (!v.every(Number.isFinite)) return undefined;
  return { nFft, hop, frames, mean: v.slice(3, 3 + bins), m2: v.slice(3 + bins) };
}
