/**
 * Chunked (streamed, cross-faded) separation must score like whole-signal separation, per target on
 * MUSDB18-7 test tracks, with the shipped model: within 0.1 dB of SDR for `npm run separate`'s default
 * chunking (issue 5's bar), and for the extension's low-latency one (4-s segments: the LSTM sees 0.45 s
 * of context, a trade for latency) no more than 0.1 dB worse and within 0.15 dB either way — the
 * shipped models measured 0.039, 0.075 and 0.105 dB there, the last with the chunked side the better
 * one (docs/BENCHMARKS.md). Skips without the model or the data.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import {
  ChunkedSeparator,
  type ChunkingOptions,
  DEFAULT_CHUNKING,
  LOW_LATENCY_CHUNKING,
  LOW_LATENCY_OPTIONS,
  type MagnitudeModel,
  resolveChunking,
  type SeparationOptions,
  separateSignal,
} from '../../src/core/separator';
import { MUSDB_STEMS, outputStems } from '../../src/core/stems';
import { evaluateTrack } from '../eval/bsseval/museval';
import { trackMedians } from '../eval/report';
import { groupStems, listMusdbTracks, loadTrack, type TrackStems } from '../eval/tracks';
import { DEFAULT_MODEL_PATH } from './defaults';
import { loadOnnxModel } from './onnx-model';

const repoRoot = resolve(import.meta.dirname, '../..');
const modelPath = resolve(repoRoot, DEFAULT_MODEL_PATH);
const musdb = resolve(repoRoot, '../shared/data/musdb18-7');
const ready = existsSync(modelPath) && existsSync(musdb);
if (!ready) console.warn(`skipping chunked-vs-whole separation: needs ${modelPath} and ${musdb}`);

type Stems = Record<string, Float32Array[]>;

function join(parts: Float32Array[][]): Float32Array[] {
  return [0, 1].map((c) => {
    const out = new Float32Array(parts.reduce((n, p) => n + p[c].length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p[c], o);
      o += p[c].length;
    }
    return out;
  });
}

/** Pushes the mixture in 1-s blocks, as a stream arrives, then flushes; returns the joined output. */
async function separateChunked(
  model: MagnitudeModel,
  mixture: Float32Array[],
  options: SeparationOptions,
  chunking: ChunkingOptions,
): Promise<Stems> {
  const sep = new ChunkedSeparator(model, 2, options, chunking);
  const parts: Stems[] = [];
  for (let i = 0; i < mixture[0].length; i += SAMPLE_RATE) {
    const out = await sep.push(mixture.map((ch) => ch.subarray(i, i + SAMPLE_RATE)));
    if (out) parts.push(out);
  }
  const rest = await sep.flush();
  if (rest) parts.push(rest);
  return Object.fromEntries(outputStems(model.targets).map((t) => [t, join(parts.map((p) => p[t]))]));
}

/** The four MUSDB18 stems of a separation: a 6-stem model's guitar, piano and other summed into other. */
function asMusdb(stems: Stems): Stems {
  const other = ['guitar', 'piano', 'other'].filter((n) => n in stems);
  return groupStems(stems, MUSDB_STEMS, { other });
}

describe.skipIf(!ready)('chunked separation with the shipped model', () => {
  // Five 7-s test tracks back to back (≈ 34 s), so segment borders fall inside tracks.
  let model: MagnitudeModel;
  let tracks: TrackStems[];
  let mixture: Float32Array[];

  async function compare(
    options: SeparationOptions,
    chunking: ChunkingOptions,
    label: string,
    bound: { worse: number; either: number },
  ) {
    if (!model) {
      model = await loadOnnxModel(modelPath);
      tracks = await Promise.all((await listMusdbTracks(musdb, 'test')).slice(0, 5).map((s) => loadTrack(s)));
      mixture = join(tracks.map((t) => t.mixture.channels));
    }
    const lengths = tracks.map((t) => t.mixture.channels[0].length);
    // Cross-fades happen at k·step + context; at least one must fall well inside a track.
    const { step, context, fade } = resolveChunking(chunking);
    const fades: number[] = [];
    for (let at = step + context; at + fade < mixture[0].length; at += step) fades.push(at);
    let edge = 0;
    const edges = lengths.map((n) => (edge += n));
    const inside = fades.filter((f) => edges.every((e) => Math.abs(f - e) > SAMPLE_RATE / 2));
    expect(inside.length).toBeGreaterThan(0);

    const whole = asMusdb(await separateSignal(model, mixture, options));
    const chunked = asMusdb(await separateChunked(model, mixture, options, chunking));
    let start = 0;
    const rows: { line: string; diff: number; loss: number }[] = [];
    tracks.forEach((track, i) => {
      const cut = (stems: Stems) =>
        Object.fromEntries(
          MUSDB_STEMS.map((t) => [t, stems[t].map((ch) => ch.subarray(start, start + lengths[i]))]),
        );
      const references = Object.fromEntries(MUSDB_STEMS.map((t) => [t, track.stems[t].channels]));
      const a = trackMedians(evaluateTrack(track.name, references, cut(whole), SAMPLE_RATE));
      const b = trackMedians(evaluateTrack(track.name, references, cut(chunked), SAMPLE_RATE));
      for (const t of MUSDB_STEMS) {
        rows.push({
          line: `${track.name} ${t}: whole ${a[t].SDR.toFixed(3)}, chunked ${b[t].SDR.toFixed(3)}`,
          diff: Math.abs(a[t].SDR - b[t].SDR),
          loss: a[t].SDR - b[t].SDR,
        });
      }
      start += lengths[i];
    });
    const worst = rows.reduce((m, r) => (r.diff > m.diff ? r : m));
    const worstLoss = rows.reduce((m, r) => (r.loss > m.loss ? r : m));
    console.log(
      `${label}: ${fades.length} cross-fades (${inside.length} inside tracks); worst SDR difference ` +
        `${worst.diff.toFixed(3)} dB (${worst.line}); most lost ${worstLoss.loss.toFixed(3)} dB (${worstLoss.line})`,
    );
    for (const { line, diff, loss } of rows) {
      expect(loss, line).toBeLessThan(bound.worse);
      expect(diff, line).toBeLessThan(bound.either);
    }
  }

  it("npm run separate's default chunking (30-s segments) is within 0.1 dB SDR of whole-signal separation", async () => {
    await compare({ wienerIterations: 1, exactSum: true }, DEFAULT_CHUNKING, 'default chunking', {
      worse: 0.1,
      either: 0.1,
    });
  }, 120_000);

  it('the low-latency chunking (4-s segments) is ≤ 0.1 dB SDR worse than whole-signal separation, within 0.15 dB', async () => {
    await compare(
      { wienerIterations: 1, exactSum: true, ...LOW_LATENCY_OPTIONS },
      LOW_LATENCY_CHUNKING,
      'low-latency chunking',
      { worse: 0.1, either: 0.15 },
    );
  }, 120_000);
});
