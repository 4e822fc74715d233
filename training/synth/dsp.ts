/**
 * The generator's signal processing, hand-written because no maintained npm package offers offline
 * (non-Web-Audio) biquads, waveshaping, compression and reverb on plain Float32Arrays in Node; each
 * piece is a few textbook lines (RBJ Audio-EQ-Cookbook biquads, a tanh waveshaper, a feed-forward
 * compressor, a Freeverb-style reverb, the ITU-R BS.1770 K-weighting) and runs in place, in float64
 * state, deterministically.
 */
import { SAMPLE_RATE } from '../../src/core/audio';

export type BiquadKind = 'lowpass' | 'highpass' | 'peak' | 'lowshelf' | 'highshelf';

export interface BiquadSpec {
  kind: BiquadKind;
  freq: number;
  q?: number;
  gainDb?: number;
}

/** RBJ cookbook coefficients, normalised: [b0, b1, b2, a1, a2]. */
export function biquadCoefficients(spec: BiquadSpec, rate = SAMPLE_RATE): number[] {
  const w = (2 * Math.PI * Math.min(spec.freq, rate * 0.45)) / rate;
  const cos = Math.cos(w);
  const sin = Math.sin(w);
  const q = spec.q ?? Math.SQRT1_2;
  const alpha = sin / (2 * q);
  const A = 10 ** ((spec.gainDb ?? 0) / 40);
  let b0: number;
  let b1: number;
  let b2: number;
  let a0: number;
  let a1: number;
  let a2: number;
  switch (spec.kind) {
    case 'lowpass':
      [b0, b1, b2] = [(1 - cos) / 2, 1 - cos, (1 - cos) / 2];
      [a0, a1, a2] = [1 + alpha, -2 * cos, 1 - alpha];
      break;
    case 'highpass':
      [b0, b1, b2] = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2];
      [a0, a1, a2] = [1 + alpha, -2 * cos, 1 - alpha];
      break;
    case 'peak':
      [b0, b1, b2] = [1 + alpha * A, -2 * cos, 1 - alpha * A];
      [a0, a1, a2] = [1 + alpha / A, -2 * cos, 1 - alpha / A];
      break;
    case 'lowshelf': {
      const s = 2 * Math.sqrt(A) * alpha;
      b0 = A * (A + 1 - (A - 1) * cos + s);
      b1 = 2 * A * (A - 1 - (A + 1) * cos);
      b2 = A * (A + 1 - (A - 1) * cos - s);
      a0 = A + 1 + (A - 1) * cos + s;
      a1 = -2 * (A - 1 + (A + 1) * cos);
      a2 = A + 1 + (A - 1) * cos - s;
      break;
    }
    case 'highshelf': {
      const s = 2 * Math.sqrt(A) * alpha;
      b0 = A * (A + 1 + (A - 1) * cos + s);
      b1 = -2 * A * (A - 1 + (A + 1) * cos);
      b2 = A * (A + 1 + (A - 1) * cos - s);
      a0 = A + 1 - (A - 1) * cos + s;
      a1 = 2 * (A - 1 - (A + 1) * cos);
      a2 = A + 1 - (A - 1) * cos - s;
      break;
    }
  }
  return [b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0];
}

/** Applies biquads in series to one channel, in place (direct form I). */
export function biquadChain(x: Float32Array, specs: readonly BiquadSpec[], rate = SAMPLE_RATE): void {
  for (const spec of specs) {
    const [b0, b1, b2, a1, a2] = biquadCoefficients(spec, rate);
    let x1 = 0;
    let x2 = 0;
    let y1 = 0;
    let y2 = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i];
      const y = b0 * xi + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
      x2 = x1;
      x1 = xi;
      y2 = y1;
      y1 = y;
      x[i] = y;
    }
  }
}

export function eq(channels: Float32Array[], specs: readonly BiquadSpec[]): void {
  for (const c of channels) biquadChain(c, specs);
}

export interface AmpSettings {
  /** Pre-gain into the waveshaper, dB (0–10 clean, 20–45 crunch to high gain). */
  driveDb: number;
  /** Asymmetry of the shaper (even harmonics), 0–0.3. */
  bias: number;
  /** Tone stack, dB: bass shelf at 120 Hz, mid peak at 700 Hz, treble shelf at 3 kHz. */
  bass: number;
  mid: number;
  treble: number;
  /** Cabinet: speaker low-pass corner (3–6 kHz) and resonance (90–140 Hz). */
  cabLowpass: number;
  cabResonance: number;
}

/**
 * Guitar amp and cabinet simulation for a mono DI-like signal, in place:
 *  1. pre-EQ: high-pass 100 Hz (tightens the low end before distortion, as a tube screamer does) and a
 *     +6 dB peak at 800 Hz (the mid push that makes distortion sound "guitar");
 *  2. drive gain and a tanh waveshaper with a small DC bias (asymmetric clipping → even harmonics),
 *     with the bias's DC removed afterwards; output normalised by tanh(gain) so clean and driven
 *     settings have similar levels;
 *  3. tone stack: bass shelf, mid peak (negative = the classic scooped mid), treble shelf;
 *  4. cabinet: a 4×12-like response — 2nd-order high-pass 70 Hz, resonance bump near 110 Hz, a 2.5 kHz
 *     presence peak and two cascaded low-passes at `cabLowpass` (speakers roll off steeply above ~5 kHz).
 */
export function ampChain(x: Float32Array, s: AmpSettings): void {
  biquadChain(x, [
    { kind: 'highpass', freq: 100 },
    { kind: 'peak', freq: 800, q: 0.8, gainDb: 6 },
  ]);
  let peak = 1e-9;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  const g = 10 ** (s.driveDb / 20) / peak; // drive is relative to the input's peak
  const norm = 1 / Math.tanh(Math.max(1, g * 0.5));
  const dc = Math.tanh(s.bias);
  for (let i = 0; i < x.length; i++) x[i] = (Math.tanh(g * x[i] + s.bias) - dc) * norm;
  biquadChain(x, [
    { kind: 'highpass', freq: 20 },
    { kind: 'lowshelf', freq: 120, gainDb: s.bass },
    { kind: 'peak', freq: 700, q: 0.7, gainDb: s.mid },
    { kind: 'highshelf', freq: 3000, gainDb: s.treble },
  ]);
  cabinet(x, s);
}

/** The cabinet stage of `ampChain` alone (step 4), in place: also after guitarix's amp models. */
export function cabinet(x: Float32Array, s: Pick<AmpSettings, 'cabLowpass' | 'cabResonance'>): void {
  biquadChain(x, [
    { kind: 'highpass', freq: 70, q: 0.7 },
    { kind: 'peak', freq: s.cabResonance, q: 1.2, gainDb: 4 },
    { kind: 'peak', freq: 2500, q: 1.5, gainDb: 3 },
    { kind: 'lowpass', freq: s.cabLowpass, q: 0.7 },
    { kind: 'lowpass', freq: s.cabLowpass * 1.2, q: 0.7 },
  ]);
}

export interface CompressorSettings {
  thresholdDb: number;
  ratio: number;
  attackMs: number;
  releaseMs: number;
}

/** Feed-forward peak compressor on a stereo-linked envelope, in place, with make-up to the input peak. */
export function compress(channels: Float32Array[], s: CompressorSettings): void {
  const n = channels[0].length;
  const att = Math.exp(-1 / ((s.attackMs / 1000) * SAMPLE_RATE));
  const rel = Math.exp(-1 / ((s.releaseMs / 1000) * SAMPLE_RATE));
  const thr = 10 ** (s.thresholdDb / 20);
  let env = 0;
  const inPeak = peakOf(channels);
  if (inPeak <= 0) return;
  const l = channels[0];
  const r = channels[1] ?? channels[0];
  const inv = 1 / inPeak; // threshold relative to the stem's peak
  for (let i = 0; i < n; i++) {
    const a = Math.abs(l[i]);
    const b = Math.abs(r[i]);
    const level = Math.max(a, b) * inv;
    env = level > env ? att * env + (1 - att) * level : rel * env + (1 - rel) * level;
    if (env > thr) {
      const gain = (thr * (env / thr) ** (1 / s.ratio)) / env;
      l[i] *= gain;
      if (r !== l) r[i] *= gain;
    }
  }
}

const COMB_TUNING = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
const ALLPASS_TUNING = [556, 441, 341, 225];
const STEREO_SPREAD = 23;

/**
 * Freeverb-style stereo reverb (8 damped combs + 4 all-passes per channel, Jezar's tunings) over the
 * mono sum, added to the dry signal with `wet` (0–0.5) after a pre-delay. The tail past the end is cut.
 */
export function reverb(
  channels: Float32Array[],
  opts: { room: number; damp: number; wet: number; predelayMs: number },
): void {
  const n = channels[0].length;
  // mono send, pre-delayed
  const pre = Math.min(n, Math.round((opts.predelayMs / 1000) * SAMPLE_RATE));
  const input = new Float32Array(n);
  const sendGain = 0.015 * (2 / channels.length);
  for (const c of channels) for (let i = pre; i < n; i++) input[i] += c[i - pre] * sendGain;
  const feedback = 0.7 + 0.28 * opts.room;
  const damp = opts.damp * 0.4;
  channels.forEach((out, ch) => {
    const spread = ch * STEREO_SPREAD;
    const wetBuf = new Float32Array(n);
    for (const tuning of COMB_TUNING) {
      const len = tuning + spread;
      const buf = new Float64Array(len);
      let idx = 0;
      let store = 0;
      const keep = 1 - damp;
      for (let i = 0; i < n; i++) {
        const y = buf[idx];
        store = y * keep + store * damp;
        buf[idx] = input[i] + store * feedback;
        wetBuf[i] += y;
        if (++idx >= len) idx = 0;
      }
    }
    for (const tuning of ALLPASS_TUNING) {
      const len = tuning + spread;
      const buf = new Float64Array(len);
      let idx = 0;
      for (let i = 0; i < n; i++) {
        const b = buf[idx];
        const x = wetBuf[i];
        buf[idx] = x + b * 0.5;
        wetBuf[i] = b - x;
        if (++idx >= len) idx = 0;
      }
    }
    for (let i = 0; i < n; i++) out[i] = out[i] * (1 - opts.wet * 0.5) + wetBuf[i] * opts.wet * 3;
  });
}

/** Constant-power pan of a mono signal to stereo; `pan` in [-1, 1]. */
export function panMono(x: Float32Array, pan: number): Float32Array[] {
  const a = ((pan + 1) * Math.PI) / 4;
  const l = new Float32Array(x.length);
  const r = new Float32Array(x.length);
  const gl = Math.cos(a) * Math.SQRT2;
  const gr = Math.sin(a) * Math.SQRT2;
  for (let i = 0; i < x.length; i++) {
    l[i] = x[i] * gl;
    r[i] = x[i] * gr;
  }
  return [l, r];
}

/** Stereo balance and width: mid/side with `width` (0 = mono, 1 = unchanged), then constant-power balance. */
export function placeStereo(channels: Float32Array[], pan: number, width: number): void {
  const [l, r] = channels;
  const a = ((pan + 1) * Math.PI) / 4;
  const gl = Math.cos(a) * Math.SQRT2;
  const gr = Math.sin(a) * Math.SQRT2;
  for (let i = 0; i < l.length; i++) {
    const m = (l[i] + r[i]) / 2;
    const s = ((l[i] - r[i]) / 2) * width;
    l[i] = (m + s) * gl;
    r[i] = (m - s) * gr;
  }
}

export function scale(channels: Float32Array[], gain: number): void {
  for (const c of channels) for (let i = 0; i < c.length; i++) c[i] *= gain;
}

export function peakOf(channels: readonly Float32Array[]): number {
  let p = 0;
  for (const c of channels) for (let i = 0; i < c.length; i++) p = Math.max(p, Math.abs(c[i]));
  return p;
}

export function rmsDb(channels: readonly Float32Array[]): number {
  let s = 0;
  let n = 0;
  for (const c of channels) {
    for (let i = 0; i < c.length; i++) s += c[i] * c[i];
    n += c.length;
  }
  return n === 0 || s === 0 ? Number.NEGATIVE_INFINITY : 10 * Math.log10(s / n);
}

/**
 * Integrated loudness (LUFS) after ITU-R BS.1770-4: K-weighting (the standard's 48 kHz filters,
 * re-derived for 44.1 kHz), 400-ms blocks with 75 % overlap, absolute gate −70 LUFS and relative gate
 * −10 LU. −Infinity for silence.
 */
export function loudnessLufs(channels: readonly Float32Array[]): number {
  const n = channels[0]?.length ?? 0;
  const weighted = channels.map((c) => {
    const x = Float32Array.from(c);
    biquadChain(x, [
      { kind: 'highshelf', freq: 1681.97, gainDb: 3.99984, q: 0.7072 },
      { kind: 'highpass', freq: 38.13, q: 0.5003 },
    ]);
    return x;
  });
  // energies of 100-ms steps; a 400-ms block (75 % overlap) is the sum of four consecutive steps
  const hop = Math.round(0.1 * SAMPLE_RATE);
  const steps = Math.floor(n / hop);
  const stepEnergy = new Float64Array(steps);
  for (const x of weighted) {
    for (let k = 0; k < steps; k++) {
      let e = 0;
      for (let i = k * hop, end = i + hop; i < end; i++) e += x[i] * x[i];
      stepEnergy[k] += e;
    }
  }
  const powers: number[] = [];
  for (let k = 0; k + 4 <= steps; k++) {
    powers.push((stepEnergy[k] + stepEnergy[k + 1] + stepEnergy[k + 2] + stepEnergy[k + 3]) / (4 * hop));
  }
  const lufs = (p: number) => -0.691 + 10 * Math.log10(p);
  const abs = powers.filter((p) => p > 0 && lufs(p) > -70);
  if (abs.length === 0) return Number.NEGATIVE_INFINITY;
  const mean = (ps: number[]) => ps.reduce((a, b) => a + b, 0) / ps.length;
  const rel = lufs(mean(abs)) - 10;
  const gated = abs.filter((p) => lufs(p) > rel);
  return lufs(mean(gated));
}

/** A sine at 44.1 kHz (tests, examples). */
export function sineWave(freq: number, seconds: number, amp = 0.5): Float32Array {
  const n = Math.round(seconds * SAMPLE_RATE);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / SAMPLE_RATE);
  return x;
}
