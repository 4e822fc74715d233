/**
 * Validation on the held-out split: whole tracks, STFT once, run through each network (a target's, or
 * a joint network giving all its targets at once) in chunks of the training chunk length (inference mode: BatchNorm running statistics, no dropout).
 *
 * - loss: the training loss (MSE of magnitudes) over every bin of every frame of every track;
 * - SDR (when asked): estimate = model magnitude × mixture phase (or Wiener EM with `wienerIterations`),
 *   ISTFT, then the shared museval-exact evaluator (`evaluateTrack` → bssEvalV4, 1-s windows) and the
 *   SiSEC median over frames, then over tracks. Only this run's targets are estimated, so the BSS Eval
 *   is joint over those: SDR (v4) depends on the own reference only, but a window counts as silent
 *   when any of the evaluated references is; the final model is scored with `npm run eval`. A target
 *   silent for a whole track (a generated song without piano) is left out of that track's SDR, and a
 *   track BSS Eval cannot score (e.g. an all-zero estimate early in training) is reported and skipped:
 *   validation never stops a run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { UmxConfig } from '../../src/core/model/config';
import { istft, magnitude, type Spectrogram, stft } from '../../src/core/stft';
import { wiener } from '../../src/core/wiener';
import type { CachedDataset } from '../data/cache';
import { isSilent } from '../eval/bsseval/bsseval';
import { evaluateTrack, type MusevalTrack } from '../eval/bsseval/museval';
import { summarize } from '../eval/report';
import type { UmxTf } from '../model/umx-tf';

export interface ValidationResult {
  /** MSE per target. */
  readonly loss: Record<string, number>;
  /** SiSEC median SDR per target (dB), when computed. */
  readonly sdr?: Record<string, number>;
  readonly seconds: number;
}

/** [channel][frame][bin] → [frame][channel][bin] (UmxTf's layout with batch 1) for frames [t0, t1). */
function toModelLayout(mag: Float32Array, ch: number, frames: number, bins: number, t0: number, t1: number) {
  const out = new Float32Array((t1 - t0) * ch * bins);
  for (let c = 0; c < ch; c++)
    for (let t = t0; t < t1; t++)
      out.set(mag.subarray((c * frames + t) * bins, (c * frames + t + 1) * bins), ((t - t0) * ch + c) * bins);
  return out;
}

/** A network and the targets it estimates (one, or a joint network's heads in order). */
export interface ValidatedNetwork {
  readonly targets: readonly string[];
  readonly model: UmxTf;
}

/** Reads the estimates back asynchronously, so it runs on every tfjs backend (webgpu has no dataSync in Node). */
export async function validate(
  data: CachedDataset,
  tracks: readonly number[],
  networks: readonly ValidatedNetwork[],
  c: UmxConfig,
  opts: {
    chunkFrames: number;
    sdrTracks?: number;
    wienerIterations?: number;
    onNote?: (message: string) => void;
  },
): Promise<ValidationResult> {
  const t0 = performance.now();
  const targets = networks.flatMap((n) => n.targets);
  const sse = Object.fromEntries(targets.map((t) => [t, 0]));
  let count = 0;
  const evals: MusevalTrack[] = [];
  for (const [i, track] of tracks.entries()) {
    const { mixture, stems } = data.readTrack(track);
    const length = mixture[0].length;
    const X = stft(mixture, { nFft: c.nFft, hop: c.hop });
    const { channels: ch, frames, bins } = X;
    const mix = magnitude(X) as Float32Array;
    const estimates: Float32Array[] = [];
    for (const { targets: heads, model } of networks) {
      const refMags = heads.map((target) => {
        const ref = stems[target] ?? mixture.map((m) => new Float32Array(m.length));
        return magnitude(stft(ref, { nFft: c.nFft, hop: c.hop })) as Float32Array;
      });
      const ests = heads.map(() => new Float32Array(mix.length)); // [channel][frame][bin]
      const errs = heads.map(() => 0);
      for (let a = 0; a < frames; a += opts.chunkFrames) {
        const b = Math.min(frames, a + opts.chunkFrames);
        const input = tf.tensor4d(toModelLayout(mix, ch, frames, bins, a, b), [1, b - a, ch, bins]);
        const ys = model.forwardHeads(input);
        for (const j of heads.keys()) {
          const out = (await ys[j].data()) as Float32Array;
          for (let t = a; t < b; t++) {
            for (let cc = 0; cc < ch; cc++) {
              const src = ((t - a) * ch + cc) * bins;
              const dst = (cc * frames + t) * bins;
              for (let k = 0; k < bins; k++) {
                const v = out[src + k];
                ests[j][dst + k] = v;
                errs[j] += (v - refMags[j][dst + k]) ** 2;
              }
            }
          }
        }
        tf.dispose([input, ...ys]);
      }
      heads.forEach((target, j) => {
        sse[target] += errs[j];
        estimates.push(ests[j]);
      });
    }
    count += mix.length;
    if (opts.sdrTracks !== undefined && i < opts.sdrTracks) {
      const name = data.tracks[track].name;
      try {
        const scored = sdrTrack(name, X, estimates, targets, stems, length, c, opts);
        if (scored) evals.push(scored);
      } catch (err) {
        opts.onNote?.(
          `validation SDR skipped for "${name}": ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }
  const loss = Object.fromEntries(targets.map((t) => [t, sse[t] / count]));
  let sdr: Record<string, number> | undefined;
  if (evals.length > 0) {
    const s = summarize(evals, 'validation');
    sdr = Object.fromEntries(targets.map((t) => [t, s.targets[t]?.SDR ?? Number.NaN]));
  }
  return { loss, sdr, seconds: (performance.now() - t0) / 1000 };
}

function sdrTrack(
  name: string,
  X: Spectrogram,
  estimates: Float32Array[],
  targets: string[],
  stems: Record<string, Float32Array[]>,
  length: number,
  c: UmxConfig,
  opts: { wienerIterations?: number },
): MusevalTrack | null {
  const Y = wiener(estimates, X, { iterations: opts.wienerIterations ?? 0 });
  const refs: Record<string, Float32Array[]> = {};
  const ests: Record<string, Float32Array[]> = {};
  for (const [j, t] of targets.entries()) {
    const ref = stems[t];
    if (!ref || isSilent(ref)) continue; // no SDR for an absent instrument
    refs[t] = ref;
    ests[t] = istft(Y[j], { hop: c.hop, length });
  }
  if (Object.keys(refs).length === 0) return null;
  return evaluateTrack(name, refs, ests, c.sampleRate);
}
