/**
 * museval's track-level API on top of bssEvalV4: named targets in, museval JSON layout out
 * (`{ track, targets: [{ name, frames: [{ time, duration, metrics: { SDR, SIR, SAR, ISR } }] }] }`).
 */
import { type BssEvalOptions, bssEvalV4, DEFAULT_BSS_EVAL_OPTIONS, type MultichannelSignal } from './bsseval';

export const METRIC_NAMES = ['SDR', 'SIR', 'SAR', 'ISR'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface MusevalFrame {
  /** Window start in seconds. */
  time: number;
  /** Window length in seconds. */
  duration: number;
  /** NaN in memory (written as null in JSON) where the window is silent. */
  metrics: Record<MetricName, number | null>;
}

export interface MusevalTarget {
  name: string;
  frames: MusevalFrame[];
}

export interface MusevalTrack {
  track: string;
  targets: MusevalTarget[];
}

/**
 * museval.evaluate's `pad_or_truncate`: estimates are cut or zero-padded to the references' length.
 */
export function padOrTruncate(signal: MultichannelSignal, length: number): Float32Array[] | Float64Array[] {
  return signal.map((ch) => {
    if (ch.length === length) return ch;
    const out = ch instanceof Float64Array ? new Float64Array(length) : new Float32Array(length);
    out.set(ch.subarray(0, Math.min(length, ch.length)));
    return out;
  }) as Float32Array[] | Float64Array[];
}

/**
 * Evaluates every target present in `references` against the estimate of the same name, jointly
 * (all sources in one BSS Eval, as museval.eval_mus_track does). Throws when an estimate is missing.
 */
export function evaluateTrack(
  track: string,
  references: Readonly<Record<string, MultichannelSignal>>,
  estimates: Readonly<Record<string, MultichannelSignal>>,
  sampleRate: number,
  options: Partial<BssEvalOptions> = {},
): MusevalTrack {
  const opts = { ...DEFAULT_BSS_EVAL_OPTIONS, ...options };
  const names = Object.keys(references);
  const missing = names.filter((n) => !(n in estimates));
  if (missing.length > 0) throw new Error(`${track}: no estimate for ${missing.join(', ')}`);
  const length = references[names[0]][0].length;
  const refs = names.map((n) => references[n]);
  const ests = names.map((n) => padOrTruncate(estimates[n], length));
  const scores = bssEvalV4(refs, ests, opts);
  const targets = names.map((name, j) => ({
    name,
    frames: scores.windowStarts.map((start, t) => ({
      time: start / sampleRate,
      duration: Number.isFinite(opts.window)
        ? opts.window / sampleRate
        : scores.windowLengths[t] / sampleRate,
      metrics: {
        SDR: scores.SDR[j][t],
        SIR: scores.SIR[j][t],
        SAR: scores.SAR[j][t],
        ISR: scores.ISR[j][t],
      },
    })),
  }));
  return { track, targets };
}
