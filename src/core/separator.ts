/**
 * Separation of a stereo signal by a magnitude model: STFT → model (one magnitude estimate per
 * target) → Wiener/EM post-filter → ISTFT — and its chunked form, in which overlapping segments are
 * separated independently and cross-faded, so memory stays bounded on long inputs and a stream can be
 * processed as it arrives. Shared by `npm run separate` (onnxruntime-node) and, next, the extension's
 * offscreen document (onnxruntime-web); the model runner is injected.
 */
import { DEFAULT_HOP, DEFAULT_N_FFT, istft, type Spectrogram, stft } from './stft';
import { wiener } from './wiener';

/**
 * A model that maps the mixture's magnitude spectrogram to one magnitude estimate per target.
 * Layout of both: [channel][bin][frame] (the ONNX graph's [1, C, bins, T] without the batch axis).
 */
export interface MagnitudeModel {
  readonly targets: readonly string[];
  estimate(magnitude: Float32Array, channels: number, bins: number, frames: number): Promise<Float32Array[]>;
}

export interface SeparationOptions {
  /** Wiener/EM iterations after the model (Open-Unmix's default: 1; 0 = magnitude × mixture phase). */
  wienerIterations?: number;
  /** Soft-mask initialisation instead of magnitude × mixture phase (Open-Unmix's `softmask`). */
  softmask?: boolean;
  /**
   * Add a `residual` stem holding whatever the other stems leave of the mixture, so that all stems sum
   * to the mixture exactly (the EM filter alone only gets within about −50 dB).
   */
  residual?: boolean;
  /**
   * Without a residual stem: share the remainder x − Σ y_j among the stems in proportion to their
   * power in each bin, so the stems still sum to the mixture (the remix at 100 % is the original).
   */
  exactSum?: boolean;
}

/** Separates one whole signal (planar channels); returns a stem per target (+ `residual`). */
export async function separateSignal(
  model: MagnitudeModel,
  audio: readonly Float32Array[],
  options: SeparationOptions = {},
): Promise<Record<string, Float32Array[]>> {
  const length = audio[0]?.length ?? 0;
  const x = stft(audio, { nFft: DEFAULT_N_FFT, hop: DEFAULT_HOP });
  const { channels, frames, bins } = x;
  // [c][t][k] → [c][k][t] magnitudes for the model.
  const magnitude = new Float32Array(channels * bins * frames);
  for (let c = 0; c < channels; c++) {
    for (let t = 0; t < frames; t++) {
      const src = (c * frames + t) * bins;
      for (let k = 0; k < bins; k++) {
        magnitude[(c * bins + k) * frames + t] = Math.hypot(x.re[src + k], x.im[src + k]);
      }
    }
  }
  const estimates = await model.estimate(magnitude, channels, bins, frames);
  if (estimates.length !== model.targets.length) {
    throw new Error(`model returned ${estimates.length} estimates for ${model.targets.length} targets`);
  }
  // Back to the STFT layout for the Wiener filter.
  const v = estimates.map((est) => {
    const out = new Float32Array(channels * frames * bins);
    for (let c = 0; c < channels; c++) {
      for (let k = 0; k < bins; k++) {
        const src = (c * bins + k) * frames;
        for (let t = 0; t < frames; t++) out[(c * frames + t) * bins + k] = est[src + t];
      }
    }
    return out;
  });
  const filtered: Spectrogram[] = wiener(v, x, {
    iterations: options.wienerIterations ?? 1,
    softmaskFirst: options.softmask ?? false,
    residual: options.residual ?? false,
  });
  if (options.residual || options.exactSum) shareRemainder(x, filtered, options.residual ?? false);
  const names = [...model.targets, ...(options.residual ? ['residual'] : [])];
  const out: Record<string, Float32Array[]> = {};
  names.forEach((name, j) => {
    out[name] = istft(filtered[j], { hop: DEFAULT_HOP, length });
  });
  return out;
}

/**
 * Makes Σ_j y_j = x bin by bin: the remainder goes to the last stem (the residual) or, without one, to
 * every stem in proportion to its power in that bin (equally where all are silent).
 */
function shareRemainder(x: Spectrogram, y: Spectrogram[], toLast: boolean): void {
  const n = x.re.length;
  const J = y.length;
  for (let i = 0; i < n; i++) {
    let dr = x.re[i];
    let di = x.im[i];
    let power = 0;
    for (let j = 0; j < J; j++) {
      dr -= y[j].re[i];
      di -= y[j].im[i];
      power += y[j].re[i] ** 2 + y[j].im[i] ** 2;
    }
    if (toLast) {
      y[J - 1].re[i] += dr;
      y[J - 1].im[i] += di;
      continue;
    }
    for (let j = 0; j < J; j++) {
      const share = power > 0 ? (y[j].re[i] ** 2 + y[j].im[i] ** 2) / power : 1 / J;
      y[j].re[i] += share * dr;
      y[j].im[i] += share * di;
    }
  }
}

export interface ChunkingOptions {
  /** Segment length in samples (default 30 s at 44.1 kHz). */
  segment: number;
  /** Overlap between consecutive segments in samples, cross-faded (default 1 s). */
  overlap: number;
}

export const DEFAULT_CHUNKING: ChunkingOptions = { segment: 30 * 44_100, overlap: 44_100 };

/**
 * Chunked separation of a stream: push blocks of planar audio, get back finished output samples
 * (per stem) as soon as no later segment can change them. Segment k starts at k·(segment − overlap);
 * in each overlap the earlier segment fades out linearly while the later fades in, so the weights sum
 * to one — stems that sum to the mixture in every segment still do after cross-fading.
 */
export class ChunkedSeparator {
  private readonly step: number;
  private input: Float32Array[];
  /** Output of the previous segment over the current overlap, per stem (faded in next time). */
  private pendingTail: Record<string, Float32Array[]> | null = null;
  private emitted = 0;

  constructor(
    private readonly model: MagnitudeModel,
    private readonly channels: number,
    private readonly options: SeparationOptions = {},
    private readonly chunking: ChunkingOptions = DEFAULT_CHUNKING,
  ) {
    if (!(chunking.overlap >= 0 && chunking.overlap < chunking.segment)) {
      throw new Error('chunking: overlap must be in [0, segment)');
    }
    this.step = chunking.segment - chunking.overlap;
    this.input = Array.from({ length: channels }, () => new Float32Array(0));
  }

  /** Adds input; returns the output samples that are final (possibly none). */
  async push(block: readonly Float32Array[]): Promise<Record<string, Float32Array[]> | null> {
    this.input = this.input.map((ch, c) => concat(ch, block[c]));
    const parts: Record<string, Float32Array[]>[] = [];
    while (this.input[0].length >= this.chunking.segment) {
      parts.push(await this.processSegment(this.chunking.segment, false));
    }
    return joinParts(parts);
  }

  /** Separates what is left and returns the rest of the output. */
  async flush(): Promise<Record<string, Float32Array[]> | null> {
    const parts: Record<string, Float32Array[]>[] = [];
    const left = this.input[0].length;
    // Only the overlap tail of an already separated segment is left: emit it as it is.
    if (left > (this.pendingTail ? this.chunking.overlap : 0)) {
      parts.push(await this.processSegment(left, true));
    } else if (this.pendingTail) {
      parts.push(this.pendingTail);
      this.emitted += this.pendingTail[Object.keys(this.pendingTail)[0]][0].length;
      this.pendingTail = null;
    }
    return joinParts(parts);
  }

  /** Samples emitted so far. */
  get outputLength(): number {
    return this.emitted;
  }

  private async processSegment(length: number, last: boolean): Promise<Record<string, Float32Array[]>> {
    const segment = this.input.map((ch) => ch.subarray(0, length));
    const stems = await separateSignal(this.model, segment, this.options);
    const overlap = this.pendingTail ? this.chunking.overlap : 0;
    const fadeIn = Math.min(overlap, length);
    // Cross-fade the previous segment's tail into this segment's head.
    if (this.pendingTail) {
      for (const [name, chans] of Object.entries(stems)) {
        const tail = this.pendingTail[name];
        chans.forEach((ch, c) => {
          for (let i = 0; i < fadeIn; i++) {
            const w = (i + 0.5) / overlap;
            ch[i] = w * ch[i] + (1 - w) * tail[c][i];
          }
        });
      }
    }
    // Keep the last `overlap` samples for the next segment unless this is the end.
    const keep = last ? 0 : this.chunking.overlap;
    const finalLength = length - keep;
    const out: Record<string, Float32Array[]> = {};
    const tail: Record<string, Float32Array[]> = {};
    for (const [name, chans] of Object.entries(stems)) {
      out[name] = chans.map((ch) => ch.slice(0, finalLength));
      tail[name] = chans.map((ch) => ch.slice(finalLength));
    }
    this.pendingTail = last ? null : tail;
    this.emitted += finalLength;
    const consumed = last ? length : this.step;
    this.input = this.input.map((ch) => ch.slice(consumed));
    return out;
  }
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length === 0) return b.slice();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function joinParts(parts: Record<string, Float32Array[]>[]): Record<string, Float32Array[]> | null {
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0];
  const out: Record<string, Float32Array[]> = {};
  for (const name of Object.keys(parts[0])) {
    out[name] = parts[0][name].map((_, c) => {
      const total = parts.reduce((n, p) => n + p[name][c].length, 0);
      const ch = new Float32Array(total);
      let offset = 0;
      for (const p of parts) {
        ch.set(p[name][c], offset);
        offset += p[name][c].length;
      }
      return ch;
    });
  }
  return out;
}
