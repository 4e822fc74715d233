/**
 * Genre insights on a generated GTZAN-shaped folder (2 genres × 2 clips, one corrupt file, one empty
 * genre folder): with a band-split fake model, whose shares are known in advance, and once with the
 * shipped model when it is present.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { mulberry32 } from '../../src/core/random';
import type { MagnitudeModel } from '../../src/core/separator';
import { DEFAULT_N_FFT } from '../../src/core/stft';
import { REPO_ROOT } from '../data/testing';
import { writeWav } from '../node/audio-io';
import { loadOnnxModel } from '../separate/onnx-model';
import { EnergyAccumulator } from './energy';
import { type ClipResult, clipResultPath, runInsights } from './insights';
import type { InsightsReport } from './report';

/** Band edges of the fake model, Hz: bass < 200 ≤ other < 1000 ≤ vocals < 4000 ≤ drums. */
const BANDS: Record<string, [number, number]> = {
  bass: [0, 200],
  other: [200, 1000],
  vocals: [1000, 4000],
  drums: [4000, Number.POSITIVE_INFINITY],
};

/** Each target's estimate = the mixture magnitude inside its band, zero elsewhere. */
function bandModel(): MagnitudeModel & { calls: number } {
  const targets = ['vocals', 'drums', 'bass', 'other'];
  return {
    targets,
    calls: 0,
    async estimate(magnitude, channels, bins, frames) {
      this.calls++;
      return targets.map((t) => {
        const [lo, hi] = BANDS[t];
        const out = new Float32Array(magnitude.length);
        for (let c = 0; c < channels; c++) {
          for (let k = 0; k < bins; k++) {
            const f = (k * SAMPLE_RATE) / DEFAULT_N_FFT;
            if (f < lo || f >= hi) continue;
            const at = (c * bins + k) * frames;
            out.set(magnitude.subarray(at, at + frames), at);
          }
        }
        return out;
      });
    },
  };
}

const SECONDS = 2;
const N = SECONDS * SAMPLE_RATE;

function sine(freq: number, amplitude = 0.3): Float32Array {
  return Float32Array.from(
    { length: N },
    (_, i) => amplitude * Math.sin((2 * Math.PI * freq * i) / SAMPLE_RATE),
  );
}

function noise(seed: number, amplitude = 0.2): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: N }, () => amplitude * (2 * rand() - 1));
}

let dir: string;
let root: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stemdeck-insights-'));
  root = join(dir, 'gtzan');
  const g = join(root, 'genres');
  // "lowrock": pure low sines (GTZAN's own format: 22.05 kHz mono 16-bit, and one 44.1 kHz stereo).
  await writeWav(
    join(g, 'lowrock', 'lowrock.00000.wav'),
    { sampleRate: 22_050, channels: [sine(80).filter((_, i) => i % 2 === 0)] },
    { format: 'pcm16' },
  );
  await writeWav(join(g, 'lowrock', 'lowrock.00001.wav'), {
    sampleRate: SAMPLE_RATE,
    channels: [sine(110), sine(110, 0.2)],
  });
  // "hiss": a 6 kHz sine, and white noise (shares ∝ bandwidth), plus one corrupt file.
  await writeWav(join(g, 'hiss', 'hiss.00000.wav'), { sampleRate: SAMPLE_RATE, channels: [sine(6000)] });
  await writeWav(join(g, 'hiss', 'hiss.00001.wav'), {
    sampleRate: SAMPLE_RATE,
    channels: [noise(1), noise(2)],
  });
  await writeFile(join(g, 'hiss', 'hiss.00002.wav'), 'RIFF....WAVEfmt this is not audio');
  await mkdir(join(g, 'empty'), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clip(report: InsightsReport, name: string): ClipResult {
  const found = report.clips.find((c) => c.name === name);
  if (!found) throw new Error(`no result for ${name}`);
  return found;
}

describe('energy shares', () => {
  it('shares are energy over summed stem energy; RMS in dBFS, silence floored; silent clip is an error', () => {
    const acc = new EnergyAccumulator(['a', 'b', 'c'], 1);
    const x = new Float32Array([1, -1, 1, -1]);
    acc.add([x], { a: [x], b: [x.map((v) => v / 2)], c: [new Float32Array(4)] });
    const r = acc.result('f.wav');
    expect(r.shares.a).toBeCloseTo(0.8, 12);
    expect(r.shares.b).toBeCloseTo(0.2, 12);
    expect(r.shares.c).toBe(0);
    expect(r.rmsDb.a).toBeCloseTo(0, 9);
    expect(r.rmsDb.b).toBeCloseTo(-6.0206, 3);
    expect(r.rmsDb.c).toBe(-120);
    const silent = new EnergyAccumulator(['a'], 1);
    silent.add([new Float32Array(4)], { a: [new Float32Array(4)] });
    expect(() => silent.result('quiet.wav')).toThrow(/quiet\.wav.*silent/);
    expect(() => acc.add([x], { a: [x], b: [x] } as Record<string, Float32Array[]>)).toThrow(/"c"/);
  });
});

describe('runInsights with a band-split model', () => {
  it('puts low sines in bass and high sines in drums, reports genres, failures and plots', async () => {
    const out = join(dir, 'out-band');
    const model = bandModel();
    const events: string[] = [];
    const report = await runInsights({
      root,
      out,
      model,
      modelId: 'band-v1',
      onClip: (e) => events.push(`${e.index}/${e.total} ${e.clip.name} ${e.status}`),
    });
    expect(events).toEqual([
      '1/5 hiss.00000 done',
      '2/5 hiss.00001 done',
      '3/5 hiss.00002 failed',
      '4/5 lowrock.00000 done',
      '5/5 lowrock.00001 done',
    ]);
    expect(model.calls).toBe(4);
    expect(report.stems).toEqual(['vocals', 'drums', 'bass', 'other']);

    for (const c of report.clips) {
      const sum = report.stems.reduce((a, s) => a + c.shares[s], 0);
      expect(sum).toBeCloseTo(1, 9);
      expect(c.seconds).toBeCloseTo(SECONDS, 2);
    }
    expect(clip(report, 'lowrock.00000').shares.bass).toBeGreaterThan(0.99);
    expect(clip(report, 'lowrock.00001').shares.bass).toBeGreaterThan(0.99);
    expect(clip(report, 'hiss.00000').shares.drums).toBeGreaterThan(0.99);
    // White noise: shares ∝ bandwidth (bass 200 Hz, other 800, vocals 3000, drums 18050 of 22050).
    const n = clip(report, 'hiss.00001').shares;
    expect(n.drums).toBeCloseTo(18_050 / 22_050, 1);
    expect(n.vocals).toBeCloseTo(3000 / 22_050, 1);
    expect(n.bass).toBeLessThan(0.02);
    // RMS of a 0.3-amplitude sine in both channels: 20·log10(0.3/√2) = −13.5 dBFS; bass holds it all.
    expect(clip(report, 'lowrock.00000').rmsDb.bass).toBeCloseTo(-13.47, 0);
    expect(clip(report, 'lowrock.00000').rmsDb.drums).toBeLessThan(-40);

    // Per-genre statistics are the mean and sample std of the clip values.
    const low = report.genres.find((g) => g.genre === 'lowrock')!;
    const lowBass = ['lowrock.00000', 'lowrock.00001'].map((name) => clip(report, name).shares.bass);
    expect(low.clips).toBe(2);
    expect(low.share.bass.mean).toBeCloseTo((lowBass[0] + lowBass[1]) / 2, 12);
    expect(low.share.bass.std).toBeCloseTo(Math.abs(lowBass[0] - lowBass[1]) / Math.SQRT2, 12);
    const hiss = report.genres.find((g) => g.genre === 'hiss')!;
    expect(hiss.clips).toBe(2);
    expect(hiss.failed).toBe(1);
    expect(hiss.share.drums.mean).toBeGreaterThan(0.85);

    // The corrupt clip is listed with a message naming it; the empty genre folder too.
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0].path).toMatch(/hiss\.00002\.wav$/);
    expect(report.failed[0].error).toContain(report.failed[0].path);
    expect(report.emptyGenres).toEqual([join(root, 'genres', 'empty')]);

    // Files: report.json (no NaN anywhere), report.md table, plots, per-clip JSON.
    const json = await readFile(join(out, 'report.json'), 'utf8');
    expect(json).not.toMatch(/NaN|null,\s*"min"/);
    expect(JSON.parse(json).genres).toHaveLength(2);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| genre \| clips \| vocals \| drums \| bass \| other \|/);
    expect(md).toContain(`| hiss | 2 (+1 failed) |`);
    expect(md).toMatch(/\| lowrock \| 2 \| 0\.00\d ± 0\.00\d \| 0\.00\d ± 0\.00\d \| (0\.99\d|1\.000) ± /);
    expect(md).toContain('hiss.00002');
    for (const plot of ['shares', 'share-vocals', 'share-drums', 'share-bass', 'share-other']) {
      const svg = await readFile(join(out, 'plots', `${plot}.svg`), 'utf8');
      expect(svg).toMatch(/^<svg/);
      expect(svg).toContain('lowrock');
    }
    const stored = JSON.parse(
      await readFile(clipResultPath(out, { genre: 'lowrock', name: 'lowrock.00000' }), 'utf8'),
    ) as ClipResult;
    expect(stored.shares.bass).toBe(clip(report, 'lowrock.00000').shares.bass);

    // Resume: the same model reuses every stored clip; the corrupt one is tried (and fails) again.
    // A per-stem plot of a stem this model lacks (left by a 6-stem run) goes; its own plots stay.
    await writeFile(join(out, 'plots', 'share-guitar.svg'), '<svg/>');
    const again = bandModel();
    const second = await runInsights({ root, out, model: again, modelId: 'band-v1', limit: 5 });
    expect(existsSync(join(out, 'plots', 'share-guitar.svg'))).toBe(false);
    expect(existsSync(join(out, 'plots', 'share-vocals.svg'))).toBe(true);
    expect(again.calls).toBe(0);
    expect(second.cached).toBe(4);
    expect(second.failed).toHaveLength(1);
    expect(second.genres.map((g) => g.share)).toEqual(report.genres.map((g) => g.share));

    // Another model id recomputes, with a note; --limit 1 takes the first clip of each genre.
    const other = bandModel();
    const notes: string[] = [];
    const third = await runInsights({
      root,
      out,
      model: other,
      modelId: 'band-v2',
      limit: 1,
      onClip: (e) => e.message && notes.push(e.message),
    });
    expect(other.calls).toBe(2);
    expect(third.clips.map((c) => c.name)).toEqual(['hiss.00000', 'lowrock.00000']);
    expect(notes.filter((m) => /another model/.test(m))).toHaveLength(2);
  });

  it('says what is wrong with the root', async () => {
    const model = bandModel();
    const run = (r: string) => runInsights({ root: r, out: join(dir, 'out-bad'), model, modelId: 'x' });
    await expect(run(join(dir, 'missing'))).rejects.toThrow(/GTZAN folder not found: .*missing/);
    await mkdir(join(dir, 'hollow', 'genres', 'jazz'), { recursive: true });
    await expect(run(join(dir, 'hollow'))).rejects.toThrow(/no GTZAN clips .*empty genre folders: .*jazz/);
  });

  it('reports every clip of a genre as failed rather than inventing numbers for it', async () => {
    const broken = join(dir, 'broken');
    await mkdir(join(broken, 'genres', 'noise'), { recursive: true });
    await writeFile(join(broken, 'genres', 'noise', 'a.wav'), 'not a wav');
    await writeWav(join(broken, 'genres', 'noise', 'b.wav'), {
      sampleRate: SAMPLE_RATE,
      channels: [new Float32Array(N)],
    });
    const report = await runInsights({
      root: broken,
      out: join(dir, 'out-broken'),
      model: bandModel(),
      modelId: 'x',
    });
    expect(report.clips).toHaveLength(0);
    expect(report.failed.map((f) => f.name)).toEqual(['a', 'b']);
    expect(report.failed[1].error).toMatch(/b\.wav.*silent/);
    expect(report.genres).toEqual([expect.objectContaining({ genre: 'noise', clips: 0, failed: 2 })]);
    const md = await readFile(join(dir, 'out-broken', 'report.md'), 'utf8');
    expect(md).toContain('0 clips measured, 2 failed');
    expect(md).not.toMatch(/NaN/);
  });
});

const MODEL = join(REPO_ROOT, 'models/stemdeck-umx4.onnx');

describe('runInsights with the shipped model', () => {
  it.skipIf(!existsSync(MODEL))(
    'separates real clips: shares sum to 1 per clip, files written',
    async () => {
      const out = join(dir, 'out-umx');
      const model = await loadOnnxModel(MODEL);
      const report = await runInsights({ root, out, model, modelId: 'umx4', modelName: MODEL, limit: 1 });
      expect(report.clips.map((c) => c.name)).toEqual(['hiss.00000', 'lowrock.00000']);
      expect(report.stems).toEqual(['vocals', 'drums', 'bass', 'other']);
      for (const c of report.clips) {
        const shares = report.stems.map((s) => c.shares[s]);
        for (const s of shares) expect(s).toBeGreaterThanOrEqual(0);
        expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        expect(Number.isFinite(c.mixtureRmsDb)).toBe(true);
      }
      // An 80-Hz sine alone is bass to any reasonable model.
      expect(clip(report, 'lowrock.00000').shares.bass).toBeGreaterThan(0.5);
      expect(existsSync(join(out, 'report.md'))).toBe(true);
      expect(existsSync(join(out, 'plots', 'shares.svg'))).toBe(true);
      expect(existsSync(clipResultPath(out, { genre: 'hiss', name: 'hiss.00000' }))).toBe(true);
    },
    120_000,
  );
});
