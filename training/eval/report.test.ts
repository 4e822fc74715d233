import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatSummaryTable,
  type MetricName,
  type MusevalTrack,
  nanMedian,
  type Summary,
  summarize,
  trackMedians,
  writeReport,
} from './report';

const N = Number.NaN;

/** A track whose targets have the given per-frame values; SIR/SAR/ISR are derived so they differ. */
function track(name: string, targets: Record<string, (number | null)[]>): MusevalTrack {
  return {
    track: name,
    targets: Object.entries(targets).map(([target, sdr]) => ({
      name: target,
      frames: sdr.map((v, i) => ({
        time: i,
        duration: 1,
        metrics: {
          SDR: v,
          SIR: v === null || Number.isNaN(v) ? v : v + 10,
          SAR: v === null || Number.isNaN(v) ? v : 2 * v,
          ISR: null,
        } as Record<MetricName, number | null>,
      })),
    })),
  };
}

// Per-track vocals SDR medians 2, 4, 5 (NaN/null frames ignored); drums only on track A.
const A = track('A / first', { vocals: [1, 3, N, 2], drums: [5, 7] });
const B = track('B', { vocals: [4, null] });
const C = track('C', { vocals: [10, 0, 5], accompaniment: [N, N] });

describe('nanMedian / trackMedians', () => {
  it('ignores NaN and null, averages the middle pair, and is NaN when nothing is left', () => {
    expect(nanMedian([3, N, 1, null, 2])).toBe(2);
    expect(nanMedian([4, 1, 3, 2])).toBe(2.5);
    expect(nanMedian([N, null])).toBeNaN();
    expect(nanMedian([])).toBeNaN();
  });

  it('takes the median over frames per target and metric', () => {
    const m = trackMedians(A);
    expect(m['vocals']).toEqual({ SDR: 2, SIR: 12, SAR: 4, ISR: N });
    expect(m['drums'].SDR).toBe(6);
    expect(trackMedians(C)['accompaniment'].SDR).toBeNaN();
  });
});

describe('summarize', () => {
  it('uses the SiSEC 2018 median of per-track medians, and reports their mean separately', () => {
    const s = summarize([A, B, C], 'umxl');
    expect(s.method).toBe('umxl');
    expect(s.tracks).toBe(3);
    // Median of [2, 4, 5] = 4; pooling all frames ([1, 3, 2, 4, 10, 0, 5]) would give 3.
    expect(s.targets['vocals'].SDR).toBe(4);
    expect(s.targets['vocals'].SIR).toBe(14);
    expect(s.means['vocals'].SDR).toBeCloseTo(11 / 3, 12);
    expect(s.targets['vocals'].ISR).toBeNaN();
    // Tracks without the target do not count for it.
    expect(s.targets['drums'].SDR).toBe(6);
    expect(s.means['drums'].SDR).toBe(6);
    expect(s.targets['accompaniment'].SDR).toBeNaN();
    // Stem display order first (vocals, drums), other targets after.
    expect(Object.keys(s.targets)).toEqual(['vocals', 'drums', 'accompaniment']);
  });
});

describe('formatSummaryTable', () => {
  it('prints median and mean per metric, n/a for undefined values', () => {
    const summary: Summary = {
      method: 'x',
      tracks: 2,
      targets: { vocals: { SDR: 6.4321, SIR: 12, SAR: -1.005, ISR: N } },
      means: { vocals: { SDR: 6, SIR: 11.5, SAR: -2, ISR: N } },
    };
    expect(formatSummaryTable(summary)).toBe(
      '| Target | SDR median | SDR mean | SIR median | SIR mean | SAR median | SAR mean | ISR median | ISR mean |\n' +
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n' +
        '| vocals | 6.43 | 6.00 | 12.00 | 11.50 | -1.00 | -2.00 | n/a | n/a |\n',
    );
  });
});

describe('writeReport', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stemdeck-report-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes per-track JSON, summary.json/.md, one SVG box plot per metric and index.md', async () => {
    const out = join(dir, 'report');
    const { files, summary } = await writeReport(out, [A, B, C], 'umxl');
    expect(summary.targets['vocals'].SDR).toBe(4);

    const json = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(json.tracks).toBe(3);
    expect(json.method).toBe('umxl');
    expect(json.targets.vocals.SDR).toBe(4);
    expect(json.means.vocals.SDR).toBeCloseTo(11 / 3, 12);
    expect(json.targets.vocals.ISR).toBeNull();

    // The slash in "A / first" must not create a sub-directory; NaN frames come back as null.
    expect((await readdir(join(out, 'tracks'))).sort()).toEqual(['A _ first.json', 'B.json', 'C.json']);
    const a = JSON.parse(await readFile(join(out, 'tracks/A _ first.json'), 'utf8'));
    expect(a.track).toBe('A / first');
    expect(a.targets[0].frames[2].metrics.SDR).toBeNull();
    expect(a.targets[0].frames[1].metrics.SDR).toBe(3);

    const md = await readFile(join(out, 'summary.md'), 'utf8');
    expect(md).toContain('| vocals | 4.00 | 3.67 | 14.00 | 13.67 | 8.00 | 7.33 | n/a | n/a |');

    for (const metric of ['SDR', 'SIR', 'SAR', 'ISR']) {
      const svg = await readFile(join(out, `plots/${metric}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain(`${metric} (dB)`);
    }
    // Boxes are drawn in the stem colours (vocals, drums).
    const sdr = await readFile(join(out, 'plots/SDR.svg'), 'utf8');
    expect(sdr).toContain('#e4572e');
    expect(sdr).toContain('#29335c');

    const index = await readFile(join(out, 'index.md'), 'utf8');
    const links = [...index.matchAll(/\]\(([^)]+)\)/g)].map((m) => decodeURIComponent(m[1]));
    expect(links).toEqual(
      expect.arrayContaining(['summary.json', 'summary.md', 'plots/SDR.svg', 'tracks/A _ first.json']),
    );
    for (const link of links) expect(existsSync(join(out, link)), link).toBe(true);

    expect(files.sort()).toEqual(
      [
        'index.md',
        'plots/ISR.svg',
        'plots/SAR.svg',
        'plots/SDR.svg',
        'plots/SIR.svg',
        'summary.json',
        'summary.md',
        'tracks/A _ first.json',
        'tracks/B.json',
        'tracks/C.json',
      ].sort(),
    );
    const all = await readdir(out, { recursive: true });
    expect(all.filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses an empty report and two tracks that map to one file', async () => {
    await expect(writeReport(join(dir, 'empty'), [], 'm')).rejects.toThrow(/no tracks/);
    await expect(
      writeReport(join(dir, 'dup'), [track('a/b', { vocals: [1] }), track('a:b', { vocals: [2] })], 'm'),
    ).rejects.toThrow(/same file tracks\/a_b\.json/);
  });
});
