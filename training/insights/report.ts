/**
 * The genre insights report: per-genre statistics of the clips' stem energy shares (`report.json`), a
 * Markdown table (`report.md`) and Vega-Lite plots rendered to SVG (`plots/shares.svg`: stacked mean
 * shares per genre; `plots/share-<stem>.svg`: each clip's share by genre, box plot + points).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type * as vl from 'vega-lite';
import { STEMS } from '../../src/core/stems';
import { renderSvg, toJson } from '../eval/report';
import { writeFileAtomic } from '../node/atomic';

/** One GTZAN clip's measured stem shares and levels (written per clip, then summarised). */
export interface ClipResult {
  format: number;
  genre: string;
  name: string;
  path: string;
  modelId: string;
  wienerIterations: number;
  seconds: number;
  /** Energy of each stem / summed energy of all stems (Σ = 1). */
  shares: Record<string, number>;
  /** RMS level of each stem, dBFS (floored at −120). */
  rmsDb: Record<string, number>;
  mixtureRmsDb: number;
  /** Wall time of decoding + separation + measuring. */
  computeSeconds: number;
}

export interface FailedClip {
  genre: string;
  name: string;
  path: string;
  error: string;
}

export interface Stat {
  mean: number;
  /** Sample standard deviation (n − 1); null for a single clip. */
  std: number | null;
  min: number;
  max: number;
}

export interface GenreSummary {
  genre: string;
  /** Clips measured (failed ones not counted). */
  clips: number;
  failed: number;
  seconds: number;
  share: Record<string, Stat>;
  rmsDb: Record<string, Stat>;
}

export interface InsightsReport {
  root: string;
  model: { name: string; id: string; targets: string[] };
  limit: number | null;
  separation: { wienerIterations: number; exactSum: true };
  /** Stems in display order. */
  stems: string[];
  genres: GenreSummary[];
  emptyGenres: string[];
  clips: ClipResult[];
  failed: FailedClip[];
  /** Clip results reused from an earlier run. */
  cached: number;
}

export interface SummaryInput {
  root: string;
  model: InsightsReport['model'];
  limit?: number;
  wienerIterations: number;
  genres: readonly string[];
  emptyGenres: readonly string[];
  clips: readonly ClipResult[];
  failed: readonly FailedClip[];
  cached: number;
}

export function stat(values: readonly number[]): Stat {
  if (values.length === 0) throw new Error('stat of no values');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std =
    values.length > 1
      ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1))
      : null;
  return { mean, std, min: Math.min(...values), max: Math.max(...values) };
}

/** Stemdeck stems in display order, then any other targets in the model's order. */
function orderStems(targets: readonly string[]): string[] {
  const known = STEMS.map((s) => s.name as string).filter((n) => targets.includes(n));
  return [...known, ...targets.filter((t) => !known.includes(t))];
}

function stemColour(name: string): string {
  return STEMS.find((s) => s.name === name)?.colour ?? '#999999';
}

export function summarizeInsights(input: SummaryInput): InsightsReport {
  const stems = orderStems(input.model.targets);
  const genres: GenreSummary[] = [];
  for (const genre of input.genres) {
    const clips = input.clips.filter((c) => c.genre === genre);
    const failed = input.failed.filter((f) => f.genre === genre).length;
    if (clips.length === 0 && failed === 0) continue;
    const per = (pick: (c: ClipResult) => Record<string, number>) =>
      clips.length === 0 ? {} : Object.fromEntries(stems.map((s) => [s, stat(clips.map((c) => pick(c)[s]))]));
    genres.push({
      genre,
      clips: clips.length,
      failed,
      seconds: clips.reduce((a, c) => a + c.seconds, 0),
      share: per((c) => c.shares),
      rmsDb: per((c) => c.rmsDb),
    });
  }
  return {
    root: input.root,
    model: input.model,
    limit: input.limit ?? null,
    separation: { wienerIterations: input.wienerIterations, exactSum: true },
    stems,
    genres,
    emptyGenres: [...input.emptyGenres],
    clips: [...input.clips],
    failed: [...input.failed],
    cached: input.cached,
  };
}

function formatStat(s: Stat | undefined, digits: number): string {
  if (!s) return '—';
  return s.std === null ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;
}

export function formatInsightsMarkdown(report: InsightsReport): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const table = (title: string, pick: (g: GenreSummary) => Record<string, Stat>, digits: number) => [
    `## ${title}`,
    '',
    line(['genre', 'clips', ...report.stems]),
    line(['---', '---:', ...report.stems.map(() => '---:')]),
    ...report.genres.map((g) =>
      line([
        g.genre,
        g.failed > 0 ? `${g.clips} (+${g.failed} failed)` : String(g.clips),
        ...report.stems.map((s) => formatStat(pick(g)[s], digits)),
      ]),
    ),
    '',
  ];
  const measured = report.clips.length;
  const wiener = report.separation.wienerIterations;
  const limit =
    report.limit === null ? '' : `, at most ${report.limit} clip${report.limit === 1 ? '' : 's'} per genre`;
  const out = [
    '# Genre insights: stem energy shares',
    '',
    `Model: \`${report.model.name}\` (${report.model.targets.join(', ')}; id ${report.model.id.slice(0, 12)}). ` +
      `Data: \`${report.root}\`${limit}. ${measured} clips measured, ${report.failed.length} failed.`,
    '',
    "A stem's **share** is its energy (sum of squared samples, both channels) divided by the summed " +
      'energy of all stems, so the shares of a clip add up to 1. Stems come from the model with ' +
      `${wiener} Wiener/EM iteration${wiener === 1 ? '' : 's'}, the remainder shared out so that they sum to the ` +
      'mixture exactly. Mean ± sample standard deviation over the clips of a genre (the mean alone for one clip).',
    '',
    ...table('Energy share per stem', (g) => g.share, 3),
    ...table('RMS level per stem (dBFS, silence floored at −120)', (g) => g.rmsDb, 1),
  ];
  if (measured > 0) {
    const [shares, ...perStem] = plotFiles(report);
    out.push(
      '## Plots',
      '',
      `![mean shares per genre](${shares})`,
      '',
      ...perStem.map((file, i) => `![${report.stems[i]} share by genre](${file})`),
      '',
    );
  }
  if (report.failed.length > 0) {
    out.push(
      '## Failed clips (skipped)',
      '',
      ...report.failed.map((f) => `- ${f.genre}/${f.name}: ${f.error}`),
      '',
    );
  }
  if (report.emptyGenres.length > 0) {
    out.push('## Empty genre folders', '', ...report.emptyGenres.map((g) => `- ${g}`), '');
  }
  out.push('Per-clip values: [report.json](report.json), `clips/<genre>/<clip>.json`.', '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Plots

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

function colourScale(stems: readonly string[]) {
  return { domain: [...stems], range: stems.map(stemColour) };
}

/** Horizontal stacked bars: one per genre, segments = mean share per stem (they add up to ≈ 1). */
export function sharesSpec(report: InsightsReport): vl.TopLevelSpec {
  const values = report.genres.flatMap((g) =>
    report.stems
      .filter((s) => g.share[s])
      .map((s, order) => ({ genre: g.genre, stem: s, order, share: g.share[s].mean, clips: g.clips })),
  );
  return {
    $schema: SCHEMA,
    title: { text: 'Mean stem energy share per genre', subtitle: report.model.name },
    background: 'white',
    width: 420,
    height: { step: 22 },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: {
        field: 'genre',
        type: 'nominal',
        title: null,
        sort: report.genres.map((g) => g.genre),
        axis: { labelLimit: 260 },
      },
      x: {
        field: 'share',
        type: 'quantitative',
        stack: 'zero',
        title: 'mean share of stem energy',
        scale: { domain: [0, 1] },
        axis: { format: '%' },
      },
      color: { field: 'stem', type: 'nominal', scale: colourScale(report.stems), sort: report.stems },
      order: { field: 'order', type: 'quantitative' },
      tooltip: [
        { field: 'genre', type: 'nominal' },
        { field: 'stem', type: 'nominal' },
        { field: 'share', type: 'quantitative', format: '.3f' },
      ],
    },
  } as vl.TopLevelSpec;
}

/** One stem: each clip's share by genre, Tukey box plus jittered points. */
export function stemShareSpec(report: InsightsReport, stem: string): vl.TopLevelSpec {
  // Deterministic jitter (golden-ratio sequence) so that points of one genre do not hide each other.
  const values = report.clips.map((c, i) => ({
    genre: c.genre,
    clip: c.name,
    share: c.shares[stem],
    jitter: (i * 0.618_034) % 1,
  }));
  const genres = report.genres.filter((g) => g.clips > 0).map((g) => g.genre);
  const x = {
    field: 'genre',
    type: 'nominal',
    sort: genres,
    title: null,
    axis: { labelAngle: -30, labelLimit: 260 },
  };
  const y = { field: 'share', type: 'quantitative', title: `${stem} share`, scale: { domain: [0, 1] } };
  return {
    $schema: SCHEMA,
    title: { text: `${stem}: share of stem energy per clip`, subtitle: report.model.name },
    background: 'white',
    width: { step: 50 },
    height: 240,
    data: { values },
    layer: [
      {
        mark: {
          type: 'boxplot',
          extent: 1.5,
          size: 26,
          opacity: 0.5,
          color: stemColour(stem),
          outliers: false,
        },
        encoding: { x, y },
      },
      {
        mark: { type: 'point', filled: true, size: 18, color: '#222222', opacity: 0.7 },
        encoding: {
          x,
          y,
          xOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [-0.5, 1.5] } },
          tooltip: [{ field: 'clip', type: 'nominal' }],
        },
      },
    ],
  } as unknown as vl.TopLevelSpec;
}

export function plotFiles(report: InsightsReport): string[] {
  return ['plots/shares.svg', ...report.stems.map((s) => `plots/share-${s.replace(/[^\w.-]/g, '_')}.svg`)];
}

/** Writes `report.json`, `plots/*.svg`, then `report.md` (each atomically); returns the paths written. */
export async function writeInsightsReport(dir: string, report: InsightsReport): Promise<string[]> {
  const written: string[] = [];
  const put = async (rel: string, data: string) => {
    await writeFileAtomic(join(dir, rel), data);
    written.push(rel);
  };
  await put('report.json', toJson(report));
  const plots = plotFiles(report);
  // A rerun with another model (4 stems after 6) must not leave the old model's per-stem plots beside
  // the new ones.
  const stale = (await readdir(join(dir, 'plots')).catch(() => [] as string[]))
    .map((f) => `plots/${f}`)
    .filter((f) => /^plots\/share-.*\.svg$/.test(f) && !plots.includes(f));
  for (const f of stale) await rm(join(dir, f), { force: true });
  if (report.clips.length > 0) {
    await put(plots[0], await renderSvg(sharesSpec(report)));
    for (const [i, stem] of report.stems.entries()) {
      await put(plots[i + 1], await renderSvg(stemShareSpec(report, stem)));
    }
  }
  await put('report.md', formatInsightsMarkdown(report));
  return written;
}
