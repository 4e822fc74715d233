/**
 * Separation of a stereo signal by a magnitude model: STFT → model (one magnitude estimate per
 * target) → Wiener/EM post-filter → ISTFT — and its chunked form, in which overlapping segments are
 * separated independently and cross-faded, so memory stays bounded on long inputs and a stream can be
 * processed as it arrives. Shared by `npm run separate` (onnxruntime-node) and, next, the extension's
 * offscreen document (onnxruntime-web); the model runner is injected.
 */
import { networkGroups, outputStems } from './stems';
import {
  createSpectrogram,
  DEFAULT_HOP,
  DEFAULT_N_FFT,
  type FloatArray,
  istft,
  type Spectrogram,
  stft,
} from './stft';
import { wiener } from './wiener';

/**
 * A model that maps the mixture's magnitude spectrogram to one magnitude estimate per target.
 * Layout of both: [channel][bin][frame] (the ONNX graph's [1, C, bins, T] without the batch axis).
 * Targets may include group networks ("guitar+piano+other", see `groupMembers` in ./stems): the
 * separation then is hierarchical and the output stems are `outputStems(targets)`.
 */
export interface MagnitudeModel {
  readonly targets: readonly string[];
  estimate(magnitude: Float32Array, channels: number, bins: number, frames: number): Promise<Float32Array[]>;
}

/** The element-wise mean of arrays of one length. */
export function meanOf(arrays: readonly Float32Array[]): Float32Array {
  const out = Float32Array.from(arrays[0]);
  for (const a of arrays.slice(1)) for (let i = 0; i < out.length; i++) out[i] += a[i];
  for (let i = 0; i < out.length; i++) out[i] /= arrays.length;
  return out;
}

/** The element-wise mean of several models' estimates, target by target. */
export function meanOfEstimates(estimates: readonly (readonly Float32Array[])[]): Float32Array[] {
  return estimates[0].map((_, j) => meanOf(estimates.map((e) => e[j])));
}

/**
 * Test-time augmentation: the model run on the mixture and on its left/right swap (the training
 * augmentation's channel swap), the second estimate swapped back and the two averaged. Twice the
 * network compute; the STFT and the Wiener step are unchanged. Mono models pass through.
 */
export function channelSwapAveraged(model: MagnitudeModel): MagnitudeModel {
  return {
    targets: model.targets,
    async estimate(magnitude, channels, bins, frames) {
      if (channels !== 2) return model.estimate(magnitude, channels, bins, frames);
      const plane = bins * frames;
      const swap = (x: Float32Array): Float32Array => {
        const out = new Float32Array(x.length);
        out.set(x.subarray(plane, 2 * plane), 0);
        out.set(x.subarray(0, plane), plane);
        return out;
      };
      const direct = await model.estimate(magnitude, channels, bins, frames);
      const swapped = await model.estimate(swap(magnitude), channels, bins, frames);
      return meanOfEstimates([direct, swapped.map(swap)]);
    },
  };
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
  /**
   * Wiener/EM covariance blocks in STFT frames, cut at multiples of it counted from the start of the
   * stream; each block's spatial covariances are estimated from the block plus `wienerContext` frames
   * on each side. Default 32 (0.74 s). 0: one estimate over the whole signal — then chunked
   * separation cannot match whole-signal separation (each segment gets its own estimate).
   * Open-Unmix's Separator uses `wienerWindow: 300, wienerContext: 0`.
   */
  wienerWindow?: number;
  /**
   * Frames on each side of a Wiener block that also enter its covariance estimate (clipped to
   * `wienerWindow`). Default 32. An output frame depends on mixture frames up to wienerWindow − 1 + wienerContext away
   * (per EM iteration): chunked separation matches whole-signal separation when its context
   * (see ChunkingOptions.fade) covers that plus ≈ 3 frames (`wienerReach`).
   */
  wienerContext?: number;
}

/** Default Wiener/EM covariance blocks: 32 frames estimated over 32 + 2·32 frames (≈ 2.2 s). */
export const DEFAULT_WIENER_WINDOW = 32;
export const DEFAULT_WIENER_CONTEXT = 32;

/**
 * Samples of past and future audio that an output sample of separateSignal depends on through the
 * Wiener/EM filter and the STFT (the model's own context, a few tenths of a second for the shipped
 * LSTM, comes on top): (iterations · (window − 1 + context) + 3) hops. Infinite with window 0.
 */
export function wienerReach(options: SeparationOptions = {}): number {
  const iterations = options.wienerIterations ?? 1;
  if (iterations === 0) return 3 * DEFAULT_HOP;
  const window = options.wienerWindow ?? DEFAULT_WIENER_WINDOW;
  if (window === 0) return Number.POSITIVE_INFINITY;
  const context = Math.min(options.wienerContext ?? DEFAULT_WIENER_CONTEXT, window);
  return (iterations * (window - 1 + context) + 3) * DEFAULT_HOP;
}

/**
 * Separates one whole signal (planar channels); returns a stem per target (+ `residual`). `position`:
 * where `audio` starts in a longer stream, in samples (a multiple of the STFT hop), so that Wiener
 * windows are cut where they are in the whole stream.
 */
export async function separateSignal(
  model: MagnitudeModel,
  audio: readonly Float32Array[],
  options: SeparationOptions = {},
  position = 0,
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
  // Hierarchical models: the Wiener/EM step sees the top level (stems outside any group, and the
  // group networks); each group's result is then shared among its members (splitGroup).
  const groups = networkGroups(model.targets);
  const members = new Set(groups.flatMap((g) => g.members));
  const top = model.targets.map((_, j) => j).filter((j) => !members.has(j));
  const window = options.wienerWindow ?? DEFAULT_WIENER_WINDOW;
  const filtered = wiener(
    top.map((j) => v[j]),
    x,
    {
      iterations: options.wienerIterations ?? 1,
      softmaskFirst: options.softmask ?? false,
      residual: options.residual ?? false,
      window,
      context: Math.min(options.wienerContext ?? DEFAULT_WIENER_CONTEXT, window),
      firstFrame: Math.round(position / DEFAULT_HOP),
    },
  );
  if (options.residual || options.exactSum) shareRemainder(x, filtered, options.residual ?? false);
  const byNetwork = new Map<number, Spectrogram>(top.map((j, i) => [j, filtered[i]]));
  for (const g of groups) {
    const parts = splitGroup(
      byNetwork.get(g.group)!,
      g.members.map((j) => v[j]),
    );
    for (const [i, j] of g.members.entries()) byNetwork.set(j, parts[i]);
  }
  const out: Record<string, Float32Array[]> = {};
  for (const name of outputStems(model.targets)) {
    out[name] = istft(byNetwork.get(model.targets.indexOf(name))!, { hop: DEFAULT_HOP, length });
  }
  if (options.residual) out.residual = istft(filtered[filtered.length - 1], { hop: DEFAULT_HOP, length });
  return out;
}

/**
 * Shares a group's estimate y among its members in proportion to their estimated magnitudes v_j in
 * each bin (equally where all are zero): a soft mask within the group, so the members sum to y
 * exactly. Magnitude ratios beat power ratios (v_j², a Wiener-style mask) on both 6-stem test sets
 * (docs/experiments/2026-11-26-six-stem-models.md).
 */
function splitGroup(y: Spectrogram, v: readonly FloatArray[]): Spectrogram[] {
  const parts = v.map(() => createSpectrogram(y.channels, y.frames, y.bins, y.re instanceof Float64Array));
  const n = y.re.length;
  const J = v.length;
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let j = 0; j < J; j++) total += v[j][i];
    for (let j = 0; j < J; j++) {
      const share = total > 0 ? v[j][i] / total : 1 / J;
      parts[j].re[i] = share * y.re[i];
      parts[j].im[i] = share * y.im[i];
    }
  }
  return parts;
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
  /** Segment length in samples: how much audio one model call sees. */
  segment: number;
  /**
   * Overlap between consecutive segments in samples. Segment k starts at k·step with step = segment −
   * overlap rounded down to a multiple of the STFT hop (1024), so every segment's frames and Wiener
   * blocks fall on the whole signal's; the overlap grows by up to 1023 samples.
   */
  overlap: number;
  /**
   * Cross-fade length in samples, centred in the overlap (default: the whole overlap — a trailing
   * cross-fade with no context). A shorter fade leaves context = (overlap − fade) / 2 on both sides
   * that is separated but thrown away, so every kept sample has at least that much past and future
   * audio around it in its segment. With context ≥ `wienerReach(options)` (and a few tenths of a
   * second for the model's LSTM to settle) chunked output matches whole-signal output. 0 cuts hard.
   */
  fade?: number;
  /**
   * Length of the first segment in samples (default: `segment`), for a stream that must start soon:
   * its output comes after this much input and that much compute. Shorter means less audio around
   * the first second or so of output (the LSTM's context); later segments are `segment` long and
   * keep falling on the STFT hop (the first step is rounded down to a multiple of it as well).
   */
  first?: number;
}

/**
 * `npm run separate`'s chunking: 30-s segments, 4-s overlaps, 0.5-s cross-fades — 1.75 s of context on
 * each side (≥ the default Wiener reach of 1.53 s). Costs 30/26 of unchunked compute.
 * Latency (chunkingLatency): up to 28.2 s.
 */
export const DEFAULT_CHUNKING: ChunkingOptions = { segment: 30 * 44_100, overlap: 4 * 44_100, fade: 22_050 };

/**
 * Low-delay streaming (the extension): 4-s segments, 1-s overlaps, 0.1-s cross-fades — 0.45 s of
 * context on each side, so use it with LOW_LATENCY_OPTIONS (Wiener reach 0.42 s). Costs 4/3 of
 * unchunked compute; an output sample is final 0.55–3.55 s of input after it (4 s for the first block).
 */
export const LOW_LATENCY_CHUNKING: ChunkingOptions = { segment: 4 * 44_100, overlap: 44_100, fade: 4_410 };

/** Wiener blocks for LOW_LATENCY_CHUNKING: 8 frames estimated over 24 (0.56 s). */
export const LOW_LATENCY_OPTIONS: SeparationOptions = { wienerWindow: 8, wienerContext: 8 };

/** Segment step, overlap, fade and context that ChunkedSeparator uses for `chunking` (all in samples). */
export function resolveChunking(chunking: ChunkingOptions): {
  segment: number;
  step: number;
  overlap: number;
  fade: number;
  context: number;
  /** The first segment's length and step (its step a multiple of the hop too). */
  first: number;
  firstStep: number;
} {
  const { segment, overlap } = chunking;
  if (!(Number.isInteger(segment) && Number.isInteger(overlap) && overlap >= 0 && overlap < segment)) {
    throw new Error('chunking: overlap must be in [0, segment)');
  }
  const aligned = Math.floor((segment - overlap) / DEFAULT_HOP) * DEFAULT_HOP;
  const step = aligned > 0 ? aligned : segment - overlap;
  const fullOverlap = segment - step;
  const fade = Math.min(chunking.fade ?? overlap, fullOverlap);
  if (!(Number.isInteger(fade) && fade >= 0)) throw new Error('chunking: fade must be ≥ 0');
  const asked = chunking.first ?? segment;
  if (!(Number.isInteger(asked) && asked <= segment)) throw new Error('chunking: first must be ≤ segment');
  const firstStep = Math.min(step, Math.floor((asked - fullOverlap) / DEFAULT_HOP) * DEFAULT_HOP);
  if (!(firstStep > 0)) throw new Error('chunking: first must exceed the overlap by one STFT hop');
  return {
    segment,
    step,
    overlap: fullOverlap,
    fade,
    context: Math.floor((fullOverlap - fade) / 2),
    first: firstStep + fullOverlap,
    firstStep,
  };
}

/**
 * Latency of chunked separation in samples: how much input beyond an output sample must have arrived
 * before that sample is final (the model's compute time comes on top). Output is released in blocks of
 * `step` samples; the first sample of a block waits longest (`max`), the last least (`min`). The very
 * first block waits a whole segment (nothing to its left to throw away).
 *
 * - Trailing cross-fade (fade = overlap): max ≈ segment, min ≈ overlap.
 * - Centred fade with context c = (overlap − fade) / 2: max = segment − c, min = c + fade.
 */
export function chunkingLatency(chunking: ChunkingOptions): { min: number; max: number; first: number } {
  const { segment, step, context, first } = resolveChunking(chunking);
  return { min: segment - context - step, max: segment - context, first };
}

/**
 * Chunked separation of a stream: push blocks of planar audio, get back finished output samples
 * (per stem) as soon as no later segment can change them. Segment k covers [k·step, k·step + segment);
 * consecutive segments cross-fade over `fade` samples in the middle of their overlap, the earlier fading
 * out while the later fades in, weights summing to one — stems that sum to the mixture in every segment
 * still do after cross-fading. Each segment is separated with its absolute position, so its Wiener
 * windows (`wienerWindow`) fall where they do in whole-signal separation. See `chunkingLatency`.
 */
export class ChunkedSeparator {
  private readonly plan: ReturnType<typeof resolveChunking>;
  /** Input not yet consumed; `inputStart` is the absolute position of its first sample (= next segment start). */
  private input: Float32Array[];
  private inputStart = 0;
  /**
   * Output of the previous segment from the current emit position to its end, per stem: its head is
   * faded into the next segment, and flush emits it as it is when no input is left beyond it.
   */
  private pendingTail: Record<string, Float32Array[]> | null = null;
  private emitted = 0;

  constructor(
    private readonly model: MagnitudeModel,
    channels: number,
    private options: SeparationOptions = {},
    chunking: ChunkingOptions = DEFAULT_CHUNKING,
  ) {
    this.plan = resolveChunking(chunking);
    this.input = Array.from({ length: channels }, () => new Float32Array(0));
  }

  /**
   * Changes the separation options for the segments not separated yet — how a stream degrades when
   * the machine cannot keep up (e.g. no Wiener step). The cross-fades blend the change in.
   */
  setOptions(options: SeparationOptions): void {
    this.options = options;
  }

  get separationOptions(): SeparationOptions {
    return this.options;
  }

  /** Adds input; returns the output samples that are final (possibly none). */
  async push(block: readonly Float32Array[]): Promise<Record<string, Float32Array[]> | null> {
    this.input = this.input.map((ch, c) => concat(ch, block[c]));
    const parts: Record<string, Float32Array[]>[] = [];
    while (this.input[0].length >= this.nextLength) {
      parts.push(await this.processSegment(this.nextLength, false));
    }
    return joinParts(parts);
  }

  /** Separates what is left and returns the rest of the output. */
  async flush(): Promise<Record<string, Float32Array[]> | null> {
    const end = this.inputStart + this.input[0].length;
    const tailEnd = this.pendingTail ? this.emitted + firstLength(this.pendingTail) : 0;
    let out: Record<string, Float32Array[]> | null = null;
    if (end > tailEnd) {
      out = await this.processSegment(this.input[0].length, true);
    } else if (this.pendingTail) {
      // The previous segment already covers the rest of the input: emit its tail as it is.
      const n = end - this.emitted;
      out = mapStems(this.pendingTail, (ch) => ch.subarray(0, n));
      this.emitted = end;
    }
    this.pendingTail = null;
    this.input = this.input.map(() => new Float32Array(0));
    this.inputStart = end;
    return out;
  }

  /** Samples emitted so far. */
  get outputLength(): number {
    return this.emitted;
  }

  /** The length of the next full segment: the first one's until it is done. */
  private get nextLength(): number {
    return this.inputStart === 0 ? this.plan.first : this.plan.segment;
  }

  private async processSegment(length: number, last: boolean): Promise<Record<string, Float32Array[]>> {
    const { fade, context } = this.plan;
    const start = this.inputStart;
    const step = start === 0 ? this.plan.firstStep : this.plan.step;
    const segment = this.input.map((ch) => ch.subarray(0, length));
    const stems = await separateSignal(this.model, segment, this.options, start);
    // Emit from where the previous segment stopped (start + context; 0 for the first segment) up to
    // where the next segment's cross-fade begins, or to the end.
    const from = this.emitted - start;
    const to = last ? length : step + context;
    const tail = this.pendingTail;
    const out = mapStems(stems, (ch, name, c) => {
      const part = ch.slice(from, to);
      if (tail) {
        const prev = tail[name][c];
        const n = Math.min(fade, part.length);
        for (let i = 0; i < n; i++) {
          const w = (i + 0.5) / fade;
          part[i] = w * part[i] + (1 - w) * prev[i];
        }
      }
      return part;
    });
    this.pendingTail = last ? null : mapStems(stems, (ch) => ch.slice(to));
    this.emitted = start + to;
    const consumed = last ? length : step;
    this.input = this.input.map((ch) => ch.slice(consumed));
    this.inputStart += consumed;
    return out;
  }
}

function firstLength(stems: Record<string, Float32Array[]>): number {
  return stems[Object.keys(stems)[0]][0].length;
}

function mapStems(
  stems: Record<string, Float32Array[]>,
  f: (ch: Float32Array, name: string, c: number) => Float32Array,
): Record<string, Float32Array[]> {
  const out: Record<string, Float32Array[]> = {};
  for (const [name, chans] of Object.entries(stems)) out[name] = chans.map((ch, c) => f(ch, name, c));
  return out;
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
