/**
 * STFT / ISTFT with the conventions of Open-Unmix, i.e. `torch.stft` / `torch.istft` with
 * `n_fft = 4096, hop_length = 1024, window = torch.hann_window(n_fft)` (periodic), `center = True`,
 * `pad_mode = 'reflect'`, `onesided = True`, `normalized = False`.
 *
 * Pure TypeScript on typed arrays: used by the extension (workers) and by Node training alike.
 *
 * Layout of every spectrogram in Stemdeck: planar complex, index order [channel][frame][bin], i.e.
 * element (c, t, k) lives at `(c * frames + t) * bins + k` of `re` and `im`. Bins are contiguous
 * because that is what one FFT writes. A batch of signals is handled by flattening batch × channel
 * into the channel dimension (nothing here cares what a "channel" is).
 *
 * Short signals: torch raises when a signal has fewer than n_fft/2 + 1 samples (reflect padding of
 * n_fft/2 is impossible). Here such a signal is padded with zeros instead (torch's pad_mode
 * 'constant'), so every input, even an empty one, has 1 + floor(length / hop) frames and ISTFT still
 * inverts it exactly.
 */
import { type Fft, fftOfSize } from './fft';

export type FloatArray = Float32Array | Float64Array;

export const DEFAULT_N_FFT = 4096;
export const DEFAULT_HOP = 1024;

export interface StftConfig {
  /** FFT size = window length; a power of two. Default 4096. */
  readonly nFft?: number;
  /** Hop between frames in samples, 1 ≤ hop ≤ nFft. Default 1024. */
  readonly hop?: number;
}

export interface StftOptions extends StftConfig {
  /** Store the spectrogram in Float64Arrays (default Float32Arrays). */
  readonly float64?: boolean;
}

/** Complex spectrogram, index order [channel][frame][bin] (see the module comment). */
export interface Spectrogram {
  readonly channels: number;
  readonly frames: number;
  /** nFft / 2 + 1. */
  readonly bins: number;
  readonly re: FloatArray;
  readonly im: FloatArray;
}

export function createSpectrogram(
  channels: number,
  frames: number,
  bins: number,
  float64 = false,
): Spectrogram {
  const size = channels * frames * bins;
  return float64
    ? { channels, frames, bins, re: new Float64Array(size), im: new Float64Array(size) }
    : { channels, frames, bins, re: new Float32Array(size), im: new Float32Array(size) };
}

/** Offset of element (channel, frame, bin) in `re` / `im`. */
export function spectrogramIndex(spec: Spectrogram, channel: number, frame: number, bin: number): number {
  return (channel * spec.frames + frame) * spec.bins + bin;
}

/** |X|^power per element, same layout as the spectrogram (power 1: magnitude, 2: power spectrum). */
export function magnitude(spec: Spectrogram, power = 1, out?: FloatArray): FloatArray {
  const { re, im } = spec;
  const n = re.length;
  const res = out ?? (re instanceof Float64Array ? new Float64Array(n) : new Float32Array(n));
  if (res.length !== n) throw new Error(`magnitude: output has ${res.length} elements, expected ${n}`);
  if (power === 2) {
    for (let i = 0; i < n; i++) res[i] = re[i] * re[i] + im[i] * im[i];
  } else if (power === 1) {
    for (let i = 0; i < n; i++) res[i] = Math.sqrt(re[i] * re[i] + im[i] * im[i]);
  } else {
    const half = power / 2;
    for (let i = 0; i < n; i++) res[i] = (re[i] * re[i] + im[i] * im[i]) ** half;
  }
  return res;
}

/** Number of STFT frames of a signal of `length` samples with center=True: 1 + floor(length / hop). */
export function frameCount(length: number, hop = DEFAULT_HOP): number {
  return 1 + Math.floor(length / hop);
}

const windows = new Map<number, Float64Array>();

/** Periodic Hann window (torch.hann_window(n), periodic=True): 0.5 − 0.5 cos(2πi/n). Shared, do not mutate. */
export function hannWindow(n: number): Float64Array {
  let w = windows.get(n);
  if (!w) {
    w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    windows.set(n, w);
  }
  return w;
}

export interface ResolvedConfig {
  readonly nFft: number;
  readonly hop: number;
  readonly bins: number;
}

export function resolveConfig(config: StftConfig = {}): ResolvedConfig {
  const nFft = config.nFft ?? DEFAULT_N_FFT;
  const hop = config.hop ?? DEFAULT_HOP;
  if (!Number.isInteger(nFft) || nFft < 4 || (nFft & (nFft - 1)) !== 0) {
    throw new Error(`STFT: nFft must be a power of two ≥ 4, got ${nFft}`);
  }
  if (!Number.isInteger(hop) || hop < 1 || hop > nFft) {
    throw new Error(`STFT: hop must be an integer in [1, nFft], got ${hop}`);
  }
  return { nFft, hop, bins: nFft / 2 + 1 };
}

function checkChannels(signal: readonly ArrayLike<number>[]): number {
  if (signal.length === 0) throw new Error('STFT: no channels');
  const length = signal[0].length;
  for (const ch of signal) {
    if (ch.length !== length) throw new Error('STFT: channels differ in length');
  }
  return length;
}

/**
 * Writes the centre-padded version of `x` into `padded` (length x.length + nFft): reflect padding of
 * nFft/2 on both sides (numpy/torch 'reflect', the edge sample is not repeated), or zeros when the
 * signal is too short to reflect.
 */
function padCentre(x: ArrayLike<number>, nFft: number, padded: Float64Array): void {
  const half = nFft / 2;
  const n = x.length;
  for (let j = 0; j < n; j++) padded[half + j] = x[j];
  if (n >= half + 1) {
    for (let i = 0; i < half; i++) {
      padded[i] = x[half - i];
      padded[half + n + i] = x[n - 2 - i];
    }
  } else {
    for (let i = 0; i < half; i++) {
      padded[i] = 0;
      padded[half + n + i] = 0;
    }
  }
}

/** FFT, window and scratch of one analysis / synthesis, allocated once per call or streaming instance. */
class FrameKernel {
  readonly fft: Fft;
  readonly window: Float64Array;
  readonly frame: Float64Array;

  constructor(readonly nFft: number) {
    this.fft = fftOfSize(nFft);
    this.window = hannWindow(nFft);
    this.frame = new Float64Array(nFft);
  }

  /** Windowed FFT of src[offset, offset + nFft) into `out` at element `outOffset`. */
  analyse(src: Float64Array, offset: number, out: Spectrogram, outOffset: number): void {
    this.fft.forwardRealTyped(src, out.re, out.im, offset, this.window, outOffset);
  }

  /** Inverse FFT of the frame at element `offset` of `spec`, times the window, into `this.frame`. */
  synthesise(spec: Spectrogram, offset: number): Float64Array {
    this.fft.inverseRealTyped(spec.re, spec.im, this.frame, offset, this.window);
    return this.frame;
  }
}

/**
 * STFT of planar multichannel audio (one array per channel, all the same length).
 * Frame t of channel c is X[c, t, k] = Σ_n w[n] xpad[t·hop + n] e^{−2πi kn/nFft}, k = 0..nFft/2,
 * where xpad is x padded by nFft/2 on both sides (see the module comment).
 */
export function stft(signal: readonly ArrayLike<number>[], options: StftOptions = {}): Spectrogram {
  const { nFft, hop, bins } = resolveConfig(options);
  const length = checkChannels(signal);
  const frames = frameCount(length, hop);
  const spec = createSpectrogram(signal.length, frames, bins, options.float64);
  const padded = new Float64Array(length + nFft);
  const kernel = new FrameKernel(nFft);
  for (let c = 0; c < signal.length; c++) {
    padCentre(signal[c], nFft, padded);
    for (let t = 0; t < frames; t++) kernel.analyse(padded, t * hop, spec, (c * frames + t) * bins);
  }
  return spec;
}

export interface IstftOptions {
  /** Hop used by the analysis. Default 1024. nFft is implied by the spectrogram: 2 · (bins − 1). */
  readonly hop?: number;
  /**
   * Output length in samples (normally the original signal's). Without it, like torch.istft, the
   * output has hop · (frames − 1) samples. Samples beyond what the frames cover are zero.
   */
  readonly length?: number;
}

/** torch's threshold for "the window envelope vanishes here" (NOLA violation). */
const MIN_ENVELOPE = 1e-11;

function nolaError(position: number): Error {
  return new Error(
    `ISTFT: window overlap-add envelope vanishes at padded sample ${position} (hop too large for the window)`,
  );
}

/**
 * Inverse STFT like torch.istft(center=True, window=hann): inverse real FFT of each frame, times the
 * window, overlap-added, divided by the overlap-added squared window, the nFft/2 centre padding
 * trimmed. Returns one Float32Array per channel.
 */
export function istft(spec: Spectrogram, options: IstftOptions = {}): Float32Array[] {
  const nFft = 2 * (spec.bins - 1);
  const { hop } = resolveConfig({ nFft, hop: options.hop });
  const { frames, bins } = spec;
  const half = nFft / 2;
  const natural = frames > 0 ? hop * (frames - 1) : 0;
  const length = options.length ?? natural;
  const out: Float32Array[] = [];
  if (frames === 0) {
    for (let c = 0; c < spec.channels; c++) out.push(new Float32Array(length));
    return out;
  }
  const total = nFft + hop * (frames - 1);
  const kernel = new FrameKernel(nFft);
  const window = kernel.window;
  const envelope = new Float64Array(total);
  for (let t = 0; t < frames; t++) {
    const start = t * hop;
    for (let i = 0; i < nFft; i++) envelope[start + i] += window[i] * window[i];
  }
  // Only the part of the output that the frames cover is divided; the rest stays zero.
  const covered = Math.min(length, total - half);
  for (let i = 0; i < covered; i++) {
    if (envelope[half + i] < MIN_ENVELOPE) throw nolaError(half + i);
  }
  const acc = new Float64Array(total);
  for (let c = 0; c < spec.channels; c++) {
    acc.fill(0);
    for (let t = 0; t < frames; t++) {
      const frame = kernel.synthesise(spec, (c * frames + t) * bins);
      const start = t * hop;
      for (let i = 0; i < nFft; i++) acc[start + i] += frame[i];
    }
    const y = new Float32Array(length);
    for (let i = 0; i < covered; i++) y[i] = acc[half + i] / envelope[half + i];
    out.push(y);
  }
  return out;
}

/**
 * Streaming STFT: fed blocks of any size, emits each frame as soon as the samples it needs have
 * arrived, and exactly the frames `stft` gives for the concatenated input.
 *
 * The leading reflect padding needs samples 1..nFft/2, so nothing comes out before nFft/2 + 1
 * samples. `flush()` ends the signal: it applies the trailing reflect padding (or zero padding when
 * the whole signal was shorter than nFft/2 + 1, as `stft` does) and emits the remaining frames.
 */
export class StreamingStft {
  readonly channels: number;
  readonly nFft: number;
  readonly hop: number;
  readonly bins: number;
  private readonly float64: boolean;
  private readonly kernel: FrameKernel;
  /** Per channel, the centre-padded signal from padded index `start` to `end`. */
  private buffers: Float64Array[];
  private start = 0;
  private end: number;
  private received = 0;
  private leadPadded = false;
  private nextFrame = 0;
  private finished = false;

  constructor(channels: number, options: StftOptions = {}) {
    const { nFft, hop, bins } = resolveConfig(options);
    if (!Number.isInteger(channels) || channels < 1)
      throw new Error(`StreamingStft: bad channel count ${channels}`);
    this.channels = channels;
    this.nFft = nFft;
    this.hop = hop;
    this.bins = bins;
    this.float64 = options.float64 ?? false;
    this.kernel = new FrameKernel(nFft);
    this.buffers = Array.from({ length: channels }, () => new Float64Array(2 * nFft));
    this.end = nFft / 2;
  }

  /** Frames emitted so far. */
  get framesEmitted(): number {
    return this.nextFrame;
  }

  /** Samples per channel received so far. */
  get samplesReceived(): number {
    return this.received;
  }

  /** Forget everything and start a new signal. */
  reset(): void {
    for (const b of this.buffers) b.fill(0);
    this.start = 0;
    this.end = this.nFft / 2;
    this.received = 0;
    this.leadPadded = false;
    this.nextFrame = 0;
    this.finished = false;
  }

  /** Appends one block (one array per channel, equal lengths); returns the frames completed by it. */
  push(block: readonly ArrayLike<number>[]): Spectrogram {
    if (this.finished) throw new Error('StreamingStft: push after flush (call reset() first)');
    if (block.length !== this.channels) {
      throw new Error(`StreamingStft: expected ${this.channels} channels, got ${block.length}`);
    }
    const n = block[0].length;
    for (const ch of block) if (ch.length !== n) throw new Error('StreamingStft: channels differ in length');
    this.reserve(n);
    const at = this.end - this.start;
    for (let c = 0; c < this.channels; c++) {
      const buf = this.buffers[c];
      const src = block[c];
      for (let i = 0; i < n; i++) buf[at + i] = src[i];
    }
    this.end += n;
    this.received += n;
    const half = this.nFft / 2;
    if (!this.leadPadded && this.received >= half + 1) {
      // start is still 0 here: nothing is discarded before the lead padding exists.
      for (const buf of this.buffers) for (let i = 0; i < half; i++) buf[i] = buf[this.nFft - i];
      this.leadPadded = true;
    }
    if (!this.leadPadded) return createSpectrogram(this.channels, 0, this.bins, this.float64);
    return this.emit(Number.POSITIVE_INFINITY);
  }

  /** Ends the signal and returns the remaining frames. */
  flush(): Spectrogram {
    if (this.finished) throw new Error('StreamingStft: flush called twice (call reset() first)');
    const half = this.nFft / 2;
    const length = this.received;
    this.reserve(half);
    const at = this.end - this.start;
    for (const buf of this.buffers) {
      if (this.leadPadded) {
        // xpad[half + L + i] = x[L − 2 − i], and x[j] sits at buffer index half + j − start.
        const last = half + length - 2 - this.start;
        for (let i = 0; i < half; i++) buf[at + i] = buf[last - i];
      } else {
        // Too short to reflect: zeros on both sides (the leading zeros are already there).
        for (let i = 0; i < half; i++) buf[at + i] = 0;
      }
    }
    this.end += half;
    this.leadPadded = true;
    this.finished = true;
    return this.emit(frameCount(length, this.hop));
  }

  /** Emits every complete frame (at most up to frame index `limit` exclusive), then drops old samples. */
  private emit(limit: number): Spectrogram {
    const { nFft, hop, bins } = this;
    const available = this.end >= nFft ? Math.floor((this.end - nFft) / hop) + 1 : 0;
    const upTo = Math.min(available, limit);
    const count = Math.max(0, upTo - this.nextFrame);
    const out = createSpectrogram(this.channels, count, bins, this.float64);
    for (let c = 0; c < this.channels; c++) {
      const buf = this.buffers[c];
      for (let f = 0; f < count; f++) {
        this.kernel.analyse(buf, (this.nextFrame + f) * hop - this.start, out, (c * count + f) * bins);
      }
    }
    this.nextFrame += count;
    // Keep what the next frame needs, and the last nFft/2 + 1 samples for the trailing reflection.
    const keepFrom = Math.max(this.start, Math.min(this.nextFrame * hop, this.end - nFft / 2 - 1));
    this.discardBefore(keepFrom);
    return out;
  }

  private discardBefore(position: number): void {
    const shift = position - this.start;
    if (shift <= 0) return;
    const used = this.end - this.start;
    for (const buf of this.buffers) buf.copyWithin(0, shift, used);
    this.start = position;
  }

  private reserve(extra: number): void {
    const need = this.end - this.start + extra;
    if (need <= this.buffers[0].length) return;
    let size = this.buffers[0].length;
    while (size < need) size *= 2;
    const used = this.end - this.start;
    this.buffers = this.buffers.map((old) => {
      const b = new Float64Array(size);
      b.set(old.subarray(0, used));
      return b;
    });
  }
}

/**
 * Streaming ISTFT: fed spectrogram blocks (consecutive frames), returns every output sample that no
 * later frame can change; the concatenated output equals `istft` of the concatenated frames.
 * After frames 0..T−1, padded samples before T·hop are final; with hop = nFft/4 the output lags the
 * input frames by nFft − hop samples (the overlap still to be added).
 */
export class StreamingIstft {
  readonly channels: number;
  readonly nFft: number;
  readonly hop: number;
  readonly bins: number;
  private readonly kernel: FrameKernel;
  /** Per channel, overlap-add accumulator for padded samples [start, start + nFft + …). */
  private acc: Float64Array[];
  private envelope: Float64Array;
  private start = 0;
  private frames = 0;
  /** Output samples emitted so far (output sample i is padded sample nFft/2 + i). */
  private emitted = 0;
  private finished = false;

  constructor(channels: number, config: StftConfig = {}) {
    const { nFft, hop, bins } = resolveConfig(config);
    if (!Number.isInteger(channels) || channels < 1)
      throw new Error(`StreamingIstft: bad channel count ${channels}`);
    this.channels = channels;
    this.nFft = nFft;
    this.hop = hop;
    this.bins = bins;
    this.kernel = new FrameKernel(nFft);
    this.acc = Array.from({ length: channels }, () => new Float64Array(2 * nFft));
    this.envelope = new Float64Array(2 * nFft);
  }

  get samplesEmitted(): number {
    return this.emitted;
  }

  reset(): void {
    for (const a of this.acc) a.fill(0);
    this.envelope.fill(0);
    this.start = 0;
    this.frames = 0;
    this.emitted = 0;
    this.finished = false;
  }

  /** Adds consecutive frames; returns the output samples they made final. */
  push(spec: Spectrogram): Float32Array[] {
    if (this.finished) throw new Error('StreamingIstft: push after flush (call reset() first)');
    if (spec.channels !== this.channels || spec.bins !== this.bins) {
      throw new Error(
        `StreamingIstft: expected ${this.channels} channels × ${this.bins} bins, got ${spec.channels} × ${spec.bins}`,
      );
    }
    const { nFft, hop } = this;
    const window = this.kernel.window;
    for (let f = 0; f < spec.frames; f++) {
      const pos = this.frames * hop;
      this.reserve(pos + nFft - this.start);
      const at = pos - this.start;
      const env = this.envelope;
      for (let i = 0; i < nFft; i++) env[at + i] += window[i] * window[i];
      for (let c = 0; c < this.channels; c++) {
        const frame = this.kernel.synthesise(spec, (c * spec.frames + f) * spec.bins);
        const acc = this.acc[c];
        for (let i = 0; i < nFft; i++) acc[at + i] += frame[i];
      }
      this.frames++;
    }
    // Padded samples before frames·hop are final; output samples past hop·(frames − 1) are held back
    // until flush because, without `length`, torch.istft stops there (only matters if hop > nFft/2).
    return this.emitUpTo(Math.min(this.frames * hop - nFft / 2, hop * (this.frames - 1)));
  }

  /**
   * Ends the stream and returns the rest of the output: up to `length` output samples in total
   * (zeros past the last frame), or hop · (frames − 1) like torch.istft without `length`. Throws if
   * more than `length` samples were already emitted, which cannot happen when `length` is at least
   * the analysed signal's length (pushes emit at most hop · (frames − 1) samples).
   */
  flush(length?: number): Float32Array[] {
    if (this.finished) throw new Error('StreamingIstft: flush called twice (call reset() first)');
    this.finished = true;
    const natural = this.frames > 0 ? this.hop * (this.frames - 1) : 0;
    const total = length ?? natural;
    if (total < this.emitted) {
      throw new Error(`StreamingIstft: ${this.emitted} samples already emitted, more than length ${total}`);
    }
    // Like torch.istft, `length` may reach into the frames' tail padding (up to natural + nFft/2).
    const covered = this.frames > 0 ? Math.min(total, natural + this.nFft / 2) : 0;
    const last = this.emitUpTo(covered);
    if (total === covered) return last;
    // Past the last frame: zeros, as torch.istft pads.
    return last.map((chunk) => {
      const y = new Float32Array(chunk.length + total - covered);
      y.set(chunk);
      return y;
    });
  }

  /** Emits output samples [emitted, upTo) (output indices), dividing by the window envelope. */
  private emitUpTo(upTo: number): Float32Array[] {
    const half = this.nFft / 2;
    const count = Math.max(0, upTo - this.emitted);
    const first = half + this.emitted - this.start;
    const env = this.envelope;
    for (let i = 0; i < count; i++)
      if (env[first + i] < MIN_ENVELOPE) throw nolaError(half + this.emitted + i);
    const out: Float32Array[] = [];
    for (let c = 0; c < this.channels; c++) {
      const acc = this.acc[c];
      const y = new Float32Array(count);
      for (let i = 0; i < count; i++) y[i] = acc[first + i] / env[first + i];
      out.push(y);
    }
    this.emitted += count;
    // Samples before the next frame's start that are emitted (or trimmed) are no longer needed.
    const keepFrom = Math.min(this.frames * this.hop, half + this.emitted);
    this.discardBefore(keepFrom);
    return out;
  }

  private discardBefore(position: number): void {
    const shift = position - this.start;
    if (shift <= 0) return;
    const size = this.envelope.length;
    for (const a of this.acc) {
      a.copyWithin(0, shift);
      a.fill(0, size - shift);
    }
    this.envelope.copyWithin(0, shift);
    this.envelope.fill(0, size - shift);
    this.start = position;
  }

  /** Ensures the buffers hold `need` samples from `start`. */
  private reserve(need: number): void {
    const size = this.envelope.length;
    if (need <= size) return;
    let next = size;
    while (next < need) next *= 2;
    const grow = (old: Float64Array) => {
      const b = new Float64Array(next);
      b.set(old);
      return b;
    };
    this.acc = this.acc.map(grow);
    this.envelope = grow(this.envelope);
  }
}
