/**
 * Evaluation reports from per-track BSS Eval results in museval's JSON layout: per-track JSON,
 * summary.json / summary.md (SiSEC 2018 aggregation), box plots as SVG, and an index.md.
 */
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { STEMS } from '../../src/core/stems';
import { writeFileAtomic } from '../node/atomic';
import { METRIC_NAMES, type MetricName, type MusevalTrack } from './bsseval/museval';

export type { MetricName, MusevalFrame, MusevalTarget, MusevalTrack } from './bsseval/museval';
/** The four BSS Eval metrics in report order. */
export const METRICS = METRIC_NAMES;

/** One value per metric; NaN where undefined (e.g. a target that is silent on every frame). */
export type MetricValues = Record<MetricName, number>;

export interface Summary {
  method: string;
  /** Number of tracks summarized. */
  tracks: number;
  /** SiSEC 2018: median over frames per track, then median over tracks. */
  targets: Record<string, MetricValues>;
  /** Mean over tracks of the same per-track medians. */
  means: Record<string, MetricValues>;
}

export interface ReportFiles {
  summary: Summary;
  /** Every file written, relative to the report directory. */
  files: string[];
}

/** Colour of targets that are not Stemdeck stems (e.g. `accompaniment`). */
const OTHER_TARGET_COLOUR = '#888888';

// ---------------------------------------------------------------------------------------------
// Statistics

function present(values: readonly (number | null | undefined)[]): number[] {
  return values.filter((v): v is number => typeof v === 'number' && !Number.isNaN(v));
}

/** Median ignoring null/NaN (numpy's nanmedian: mean of the middle two for even counts); NaN if none. */
export function nanMedian(values: readonly (number | null | undefined)[]): number {
  const xs = present(values).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  return n % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** Mean ignoring null/NaN; NaN if none. */
export function nanMean(values: readonly (number | null | undefined)[]): number {
  const xs = present(values);
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function perMetric(f: (metric: MetricName) => number): MetricValues {
  return Object.fromEntries(METRICS.map((m) => [m, f(m)])) as MetricValues;
}

/** Median over frames, per target and metric, ignoring silent (null/NaN) frames. */
export function trackMedians(track: MusevalTrack): Record<string, MetricValues> {
  const out: Record<string, MetricValues> = {};
  for (const target of track.targets) {
    out[target.name] = perMetric((m) => nanMedian(target.frames.map((f) => f.metrics[m])));
  }
  return out;
}

/**
 * SiSEC 2018 aggregation: per-track frame medians, then the median (and, separately, the mean) over
 * tracks. A track whose target has no defined frame for a metric does not count for that metric.
 */
export function summarize(tracks: readonly MusevalTrack[], method: string): Summary {
  const medians = tracks.map(trackMedians);
  const names = orderTargets(medians.flatMap((m) => Object.keys(m)));
  const aggregate = (f: (values: number[]) => number) =>
    Object.fromEntries(
      names.map((name) => [
        name,
        perMetric((metric) => f(medians.map((m) => m[name]?.[metric] ?? Number.NaN))),
      ]),
    );
  return { method, tracks: tracks.length, targets: aggregate(nanMedian), means: aggregate(nanMean) };
}

/** Stemdeck stems in display order first, then any other targets alphabetically; no duplicates. */
function orderTargets(names: readonly string[]): string[] {
  const unique = [...new Set(names)];
  const rank = (n: string) => {
    const i = STEMS.findIndex((s) => s.name === n);
    return i < 0 ? STEMS.length : i;
  };
  return unique.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function targetColour(name: string): string {
  return STEMS.find((s) => s.name === name)?.colour ?? OTHER_TARGET_COLOUR;
}

// ---------------------------------------------------------------------------------------------
// Text

function formatDb(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : Number.isNaN(value) ? 'n/a' : String(value);
}

/** Markdown table, one row per target: median and mean over tracks of each metric, in dB. */
export function formatSummaryTable(summary: Summary): string {
  const header = ['Target', ...METRICS.flatMap((m) => [`${m} median`, `${m} mean`])];
  const rows = Object.keys(summary.targets).map((name) => [
    name,
    ...METRICS.flatMap((m) => [
      formatDb(summary.targets[name][m]),
      formatDb(summary.means[name]?.[m] ?? Number.NaN),
    ]),
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const align = ['---', ...header.slice(1).map(() => '---:')];
  return [line(header), line(align), ...rows.map(line)].join('\n') + '\n';
}

/** JSON with NaN/±Infinity as null (museval writes bare NaN, which JSON.parse rejects). */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
      2,
    ) + '\n'
  );
}

/** A track name as a file name: path separators and characters Windows forbids become `_`. */
export function trackFileName(track: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we strip.
  const safe = track.replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_').trim();
  return `${safe === '' || safe === '.' || safe === '..' ? '_' : safe}.json`;
}

// ---------------------------------------------------------------------------------------------
// Plots

/** Vega-Lite box plot of per-track medians of one metric, one box per target in its stem colour. */
export function boxPlotSpec(
  tracks: readonly MusevalTrack[],
  method: string,
  metric: MetricName,
): vl.TopLevelSpec {
  const medians = tracks.map((t) => ({ track: t.track, medians: trackMedians(t) }));
  const targets = orderTargets(medians.flatMap((m) => Object.keys(m.medians)));
  const values = medians.flatMap(({ track, medians: byTarget }) =>
    Object.entries(byTarget)
      .filter(([, v]) => Number.isFinite(v[metric]))
      .map(([target, v]) => ({ track, target, value: v[metric] })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${metric}: per-track medians`, subtitle: `${method}, ${tracks.length} tracks` },
    background: 'white',
    width: { step: 60 },
    height: 260,
    data: { values },
    // Tukey whiskers (1.5 IQR) and outlier points, as in the SiSEC 2018 figures.
    // White medians stay visible on dark boxes (drums).
    mark: { type: 'boxplot', extent: 1.5, size: 28, median: { color: 'white', strokeWidth: 2 } },
    encoding: {
      x: { field: 'target', type: 'nominal', sort: targets, title: null, axis: { labelAngle: 0 } },
      y: { field: 'value', type: 'quantitative', title: `${metric} (dB)`, scale: { zero: false } },
      color: {
        field: 'target',
        type: 'nominal',
        scale: { domain: targets, range: targets.map(targetColour) },
        legend: null,
      },
    },
  };
}

/** Renders a Vega-Lite spec to SVG headlessly (no canvas or DOM needed). */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

/**
 * Writes the report into `dir` (each file atomically): `tracks/<track>.json`, `plots/<METRIC>.svg`,
 * `summary.json`, `summary.md` and, last, `index.md` linking them.
 */
export async function writeReport(
  dir: string,
  tracks: readonly MusevalTrack[],
  method: string,
): Promise<ReportFiles> {
  if (tracks.length === 0) throw new Error(`writeReport ${dir}: no tracks to report`);
  const trackFiles = tracks.map((t) => `tracks/${trackFileName(t.track)}`);
  const duplicate = trackFiles.find((f, i) => trackFiles.indexOf(f) !== i);
  if (duplicate !== undefined) {
    // Two tracks in one file would silently drop one and count the other twice in the summary.
    throw new Error(`writeReport ${dir}: two tracks map to the same file ${duplicate}`);
  }
  const summary = summarize(tracks, method);
  const written: string[] = [];
  const put = async (rel: string, data: string) => {
    await writeFileAtomic(join(dir, rel), data);
    written.push(rel);
  };

  await Promise.all(tracks.map((t, i) => put(trackFiles[i], toJson({ track: t.track, targets: t.targets }))));
  const plotFiles = METRICS.map((m) => `plots/${m}.svg`);
  for (const [i, metric] of METRICS.entries()) {
    await put(plotFiles[i], await renderSvg(boxPlotSpec(tracks, method, metric)));
  }
  const table = formatSummaryTable(summary);
  const intro =
    `${summary.tracks} tracks. SiSEC 2018 convention: median over frames per track, then median over ` +
    'tracks; the mean over tracks of the same per-track medians is given beside it. Values in dB.\n';
  await put('summary.json', toJson(summary));
  await put('summary.md', `# ${method}: evaluation summary\n\n${intro}\n${table}`);

  const link = (rel: string) => rel.split('/').map(encodeURIComponent).join('/');
  const index = [
    `# Evaluation report: ${method}`,
    '',
    intro,
    table,
    `Data: [summary.json](summary.json) · table: [summary.md](summary.md)`,
    '',
    '## Per-track medians by target',
    '',
    ...METRICS.map((m, i) => `![${m} per-track medians](${link(plotFiles[i])})`),
    '',
    '## Tracks (frame-wise metrics, museval format)',
    '',
    ...tracks.map((t, i) => `- [${t.track.replace(/[[\]\\]/g, '\\$&')}](${link(trackFiles[i])})`),
    '',
  ].join('\n');
  await put('index.md', index);
  return { summary, files: written };
}
