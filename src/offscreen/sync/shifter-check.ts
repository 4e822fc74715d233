/**
 * Test builds: checks the pitch shifter as the in-sync remix uses it, in the real browser, on an
 * OfflineAudioContext — that the delay it states (which the worklet's schedule relies on) is the
 * delay it has, and that it puts the pitch back. The worklet feeds it stems read at `rate`, so a
 * 440-Hz tone arrives at 440·rate Hz and must leave at 440 Hz.
 *
 * The signal is tone bursts of differing loudness; the delay is the lag that best lines up the
 * input's and the output's loudness envelopes (a pitch shifter keeps the envelope, not the wave).
 */
import workletUrl from './sync-worklet.ts?worker&url';

const RATE = 44_100;
const TONE_HZ = 440;
const BURST_S = 0.15;
const GAP_S = 0.15;
const BURSTS = 10;
/** Envelope hop, frames (1 ms). */
const HOP = 44;

export interface ShifterCheck {
  /** The delay the shifter states, ms (what the schedule uses). */
  readonly statedMs: number;
  /** The delay measured from the envelopes, ms. */
  readonly measuredMs: number;
  /** The tone fed to it and the tone it gave back, Hz. */
  readonly inputHz: number;
  readonly outputHz: number;
}

/** Tone bursts at `hz` with 3-ms raised-cosine edges and loudness from a fixed sequence. */
export function burstSignal(hz: number, rate = RATE): Float32Array<ArrayBuffer> {
  const period = Math.round((BURST_S + GAP_S) * rate);
  const on = Math.round(BURST_S * rate);
  const edge = Math.round(0.003 * rate);
  const x = new Float32Array(period * BURSTS + rate);
  for (let b = 0; b < BURSTS; b++) {
    const amp = 0.2 + 0.6 * (((b * 7) % 10) / 10);
    for (let i = 0; i < on; i++) {
      const ramp =
        i < edge
          ? 0.5 - 0.5 * Math.cos((Math.PI * i) / edge)
          : i > on - edge
            ? 0.5 - 0.5 * Math.cos((Math.PI * (on - i)) / edge)
            : 1;
      x[b * period + i] = amp * ramp * Math.sin((2 * Math.PI * hz * i) / rate);
    }
  }
  return x;
}

/** RMS over 2-ms windows every `HOP` frames. */
export function envelope(x: Float32Array): Float64Array {
  const w = 2 * HOP;
  const out = new Float64Array(Math.floor(x.length / HOP));
  for (let k = 0; k < out.length; k++) {
    let s = 0;
    const a = k * HOP;
    const z = Math.min(x.length, a + w);
    for (let i = a; i < z; i++) s += x[i] * x[i];
    out[k] = Math.sqrt(s / Math.max(1, z - a));
  }
  return out;
}

/** The lag (ms, 0…maxMs) at which `y`'s envelope best matches `x`'s (normalised cross-correlation). */
export function envelopeDelayMs(x: Float32Array, y: Float32Array, maxMs = 500, rate = RATE): number {
  const ex = envelope(x);
  const ey = envelope(y);
  const hopMs = (1000 * HOP) / rate;
  let best = 0;
  let bestScore = -Infinity;
  for (let lag = 0; lag * hopMs <= maxMs; lag++) {
    let num = 0;
    let nx = 0;
    let ny = 0;
    for (let k = 0; k + lag < ey.length && k < ex.length; k++) {
      num += ex[k] * ey[k + lag];
      nx += ex[k] * ex[k];
      ny += ey[k + lag] * ey[k + lag];
    }
    const score = num / Math.sqrt(nx * ny + 1e-20);
    if (score > bestScore) {
      bestScore = score;
      best = lag;
    }
  }
  return best * hopMs;
}

/** The frequency of a steady tone in `x[from, from+count)`: rising zero crossings, interpolated. */
export function toneHz(x: Float32Array, from: number, count: number, rate = RATE): number {
  const crossings: number[] = [];
  for (let i = from + 1; i < from + count; i++) {
    if (x[i - 1] < 0 && x[i] >= 0) crossings.push(i - 1 + x[i - 1] / (x[i - 1] - x[i]));
  }
  if (crossings.length < 3) return Number.NaN;
  return ((crossings.length - 1) * rate) / (crossings[crossings.length - 1] - crossings[0]);
}

/** Runs the shifter offline on tone bursts as read at `rate` and measures it. */
export async function checkShifter(rate: number): Promise<ShifterCheck> {
  const { default: SignalsmithStretch } = await import('signalsmith-stretch');
  const input = burstSignal(TONE_HZ * rate);
  const ctx = new OfflineAudioContext(1, input.length, RATE);
  await ctx.audioWorklet.addModule(workletUrl);
  const shifter = await SignalsmithStretch(ctx, {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [1],
  });
  await shifter.schedule({ active: true, semitones: -12 * Math.log2(rate) });
  const statedMs = 1000 * (await shifter.latency());
  const buffer = ctx.createBuffer(1, input.length, RATE);
  buffer.copyToChannel(input, 0);
  const src = ctx.createBufferSource();
  src.buffer = buffer;
  src.connect(shifter).connect(ctx.destination);
  src.start();
  const output = (await ctx.startRendering()).getChannelData(0);
  const measuredMs = envelopeDelayMs(input, output);
  // The middle of the fifth burst (one of the loudest), where the output has it.
  const period = Math.round((BURST_S + GAP_S) * RATE);
  const lag = Math.round((measuredMs / 1000) * RATE);
  const from = 4 * period + lag + Math.round(0.03 * RATE);
  const count = Math.round(0.09 * RATE);
  return {
    statedMs,
    measuredMs,
    inputHz: toneHz(input, 4 * period + Math.round(0.03 * RATE), count),
    outputHz: toneHz(output, from, count),
  };
}
