/**
 * Genre insights (`npm run insights`): separate every clip of a GTZAN-shaped folder
 * (`genres/<genre>/*.wav`, no stems) with a model and report, per genre, how the clips' energy is shared
 * among the stems. One clip at a time in this process; each clip's result is written to
 * `<out>/clips/<genre>/<clip>.json` as soon as it is known, and a rerun with the same model reuses those
 * files (resume). Unreadable or silent clips are skipped with a message naming the file and listed in
 * the report as failed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_RATE } from '../../src/core/audio';
import {
  ChunkedSeparator,
  DEFAULT_CHUNKING,
  type MagnitudeModel,
  type SeparationOptions,
  separateSignal,
} from '../../src/core/separator';
import { outputStems } from '../../src/core/stems';
import { type GtzanClip, listGtzan, loadGtzanClip } from '../data/gtzan';
import { toJson, trackFileName } from '../eval/report';
import { writeFileAtomic } from '../node/atomic';
import { EnergyAccumulator } from './energy';
import {
  type ClipResult,
  type FailedClip,
  type InsightsReport,
  summarizeInsights,
  writeInsightsReport,
} from './report';

export type { ClipResult, FailedClip };

/** Version of the per-clip JSON; a file of another version is recomputed. */
const CLIP_FORMAT = 1;

/** Clips up to this long are separated whole (GTZAN's are 30 s); longer ones in 30-s segments. */
export const WHOLE_CLIP_SECONDS = 31;

export interface InsightsOptions {
  /** GTZAN root: `<root>/genres/<genre>/*.wav` or `<root>/<genre>/*.wav`. */
  root: string;
  /** Output folder: `report.json`, `report.md`, `plots/*.svg`, `clips/<genre>/<clip>.json`. */
  out: string;
  model: MagnitudeModel;
  /**
   * Identifies the model's weights (e.g. a hash of the file): a clip result made by another model is
   * recomputed rather than reused.
   */
  modelId: string;
  /** Shown in the report (e.g. the model's path). */
  modelName?: string;
  /** At most this many clips per genre (the first ones by name). */
  limit?: number;
  /** Wiener/EM iterations after the model (default 1, as `npm run separate`). */
  wienerIterations?: number;
  onClip?: (event: ClipEvent) => void;
}

export interface ClipEvent {
  clip: GtzanClip;
  /** 1-based position and the number of clips to do. */
  index: number;
  total: number;
  status: 'done' | 'cached' | 'failed';
  /** The failure, for `failed`; a note (why a cached result was not reused) otherwise. */
  message?: string;
}

/** What is stored per clip and listed in the report. */
/** Per-clip result file inside `out`. */
export function clipResultPath(out: string, clip: Pick<GtzanClip, 'genre' | 'name'>): string {
  return join(out, 'clips', trackFileName(clip.genre).slice(0, -'.json'.length), trackFileName(clip.name));
}

/** Runs the whole job and writes the report; returns it. */
export async function runInsights(opts: InsightsOptions): Promise<InsightsReport> {
  const listing = await listGtzan(opts.root);
  const perGenre = new Map<string, GtzanClip[]>();
  for (const clip of listing.clips) {
    const list = perGenre.get(clip.genre) ?? [];
    if (opts.limit === undefined || list.length < opts.limit) list.push(clip);
    perGenre.set(clip.genre, list);
  }
  const todo = [...perGenre.values()].flat();
  const options: SeparationOptions = { wienerIterations: opts.wienerIterations ?? 1, exactSum: true };
  const results: ClipResult[] = [];
  const failed: FailedClip[] = [];
  let cached = 0;
  for (const [i, clip] of todo.entries()) {
    const event = { clip, index: i + 1, total: todo.length };
    const file = clipResultPath(opts.out, clip);
    const previous = await readCachedResult(
      file,
      clip,
      opts.modelId,
      options,
      outputStems(opts.model.targets),
    );
    if (previous.result) {
      results.push(previous.result);
      cached++;
      opts.onClip?.({ ...event, status: 'cached' });
      continue;
    }
    try {
      const result = await analyseClip(clip, opts.model, opts.modelId, options);
      await writeFileAtomic(file, toJson(result));
      results.push(result);
      opts.onClip?.({ ...event, status: 'done', message: previous.note });
    } catch (err) {
      const message = oneLine(err instanceof Error ? err.message : String(err));
      // Messages from the audio reader already name the file; make sure every one does.
      const error = message.includes(clip.path) ? message : `${clip.path}: ${message}`;
      failed.push({ genre: clip.genre, name: clip.name, path: clip.path, error });
      opts.onClip?.({ ...event, status: 'failed', message: error });
    }
  }
  const report = summarizeInsights({
    root: opts.root,
    model: {
      name: opts.modelName ?? opts.modelId,
      id: opts.modelId,
      targets: outputStems(opts.model.targets),
    },
    limit: opts.limit,
    wienerIterations: options.wienerIterations ?? 1,
    genres: listing.genres,
    emptyGenres: listing.emptyGenres,
    clips: results,
    failed,
    cached,
  });
  await writeInsightsReport(opts.out, report);
  return report;
}

/** Decodes, separates (stems summing to the mixture) and measures one clip. */
export async function analyseClip(
  clip: GtzanClip,
  model: MagnitudeModel,
  modelId: string,
  options: SeparationOptions,
): Promise<ClipResult> {
  const started = performance.now();
  const audio = await loadGtzanClip(clip);
  const length = audio.channels[0]?.length ?? 0;
  if (length === 0) throw new Error(`${clip.path}: no audio samples`);
  const stems = outputStems(model.targets);
  const energy = new EnergyAccumulator(stems, audio.channels.length);
  if (length <= WHOLE_CLIP_SECONDS * SAMPLE_RATE) {
    energy.add(audio.channels, await separateSignal(model, audio.channels, options));
  } else {
    // Long files (not GTZAN's 30-s clips): bounded memory, as `npm run separate` does it.
    const separator = new ChunkedSeparator(model, audio.channels.length, options, DEFAULT_CHUNKING);
    let offset = 0;
    const take = (out: Record<string, Float32Array[]> | null) => {
      if (!out) return;
      const n = out[stems[0]][0].length;
      energy.add(
        audio.channels.map((ch) => ch.subarray(offset, offset + n)),
        out,
      );
      offset += n;
    };
    const block = DEFAULT_CHUNKING.segment;
    for (let start = 0; start < length; start += block) {
      take(await separator.push(audio.channels.map((ch) => ch.subarray(start, start + block))));
    }
    take(await separator.flush());
  }
  const measured = energy.result(clip.path);
  return {
    format: CLIP_FORMAT,
    genre: clip.genre,
    name: clip.name,
    path: clip.path,
    modelId,
    wienerIterations: options.wienerIterations ?? 1,
    seconds: length / SAMPLE_RATE,
    shares: measured.shares,
    rmsDb: measured.rmsDb,
    mixtureRmsDb: measured.mixtureRmsDb,
    computeSeconds: (performance.now() - started) / 1000,
  };
}

/** A stored result that can be reused, or a note saying why not (none when there is no file). */
async function readCachedResult(
  file: string,
  clip: GtzanClip,
  modelId: string,
  options: SeparationOptions,
  targets: readonly string[],
): Promise<{ result?: ClipResult; note?: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  let value: ClipResult;
  try {
    value = JSON.parse(text) as ClipResult;
  } catch {
    return { note: `recomputed: ${file} was not valid JSON` };
  }
  if (value.format !== CLIP_FORMAT) return { note: `recomputed: ${file} has another format` };
  if (value.modelId !== modelId) return { note: `recomputed: ${file} was made with another model` };
  if (value.wienerIterations !== (options.wienerIterations ?? 1)) {
    return { note: `recomputed: ${file} was made with another --wiener` };
  }
  if (value.genre !== clip.genre || value.name !== clip.name) {
    return { note: `recomputed: ${file} belongs to another clip` };
  }
  const shares = targets.map((t) => value.shares?.[t]);
  if (shares.some((s) => typeof s !== 'number' || !Number.isFinite(s))) {
    return { note: `recomputed: ${file} lacks a share` };
  }
  return { result: { ...value, path: clip.path } };
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
