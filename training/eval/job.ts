/**
 * One evaluation job — decode a track, get its estimates (oracle or files), score them with BSS Eval
 * v4 — shared by the CLI's worker threads and its single-threaded path.
 */
import { join } from 'node:path';
import { SAMPLE_RATE } from '../../src/core/audio';
import { writeWav } from '../node/audio-io';
import { isSilent } from './bsseval/bsseval';
import { evaluateTrack, type MusevalTrack } from './bsseval/museval';
import { type OracleKind, oracleSeparate } from './oracle';
import { loadEstimates, loadTrack, type StemGroups, type TrackSource } from './tracks';

export interface EvalJob {
  track: TrackSource;
  /** Where estimates come from: an oracle, or `<estimatesRoot>/<track>/<stem>.wav`. */
  estimates: { oracle: OracleKind } | { root: string };
  /** Also write the oracle's estimates to `<saveEstimates>/<track>/<stem>.wav`. */
  saveEstimates?: string;
  /** Estimate files summed into one scored estimate (e.g. 6-stem guitar+piano+other as "other"). */
  groups?: StemGroups;
  window: number;
  hop: number;
  filtersLength: number;
}

export interface EvalJobResult {
  result: MusevalTrack;
  /** Seconds of audio scored and seconds spent in BSS Eval alone (decoding excluded). */
  audioSeconds: number;
  evalSeconds: number;
}

export async function runEvalJob(job: EvalJob): Promise<EvalJobResult> {
  const track = await loadTrack(job.track);
  // A target that is silent for the whole track (a generated song without piano, say) has no SDR;
  // it is left out of this track's evaluation — a silent reference adds nothing to BSS Eval's
  // projections — and the summary's median for it runs over the tracks where it plays.
  const references = Object.fromEntries(
    Object.entries(track.stems)
      .filter(([, a]) => !isSilent(a.channels))
      .map(([n, a]) => [n, a.channels]),
  );
  if (Object.keys(references).length === 0) throw new Error(`${track.name}: every reference stem is silent`);
  let estimates: Record<string, Float32Array[]>;
  if ('oracle' in job.estimates) {
    estimates = oracleSeparate(job.estimates.oracle, references);
    if (job.saveEstimates) {
      const dir = join(job.saveEstimates, track.name);
      for (const [name, channels] of Object.entries(estimates)) {
        await writeWav(
          join(dir, `${name}.wav`),
          { sampleRate: SAMPLE_RATE, channels },
          { format: 'float32' },
        );
      }
    }
  } else {
    estimates = await loadEstimates(
      join(job.estimates.root, track.name),
      Object.keys(references),
      job.groups,
    );
  }
  const start = performance.now();
  const result = evaluateTrack(track.name, references, estimates, SAMPLE_RATE, {
    window: job.window,
    hop: job.hop,
    filtersLength: job.filtersLength,
  });
  const evalSeconds = (performance.now() - start) / 1000;
  return { result, audioSeconds: track.mixture.channels[0].length / SAMPLE_RATE, evalSeconds };
}
