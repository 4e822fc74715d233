import { describe, expect, it } from 'vitest';
import { ChunkedSeparator, LOW_LATENCY_CHUNKING, type MagnitudeModel } from '../../core/separator';
import { AHEAD_S, AheadSeparator, type AheadSource, MODEL_RATE } from './ahead';
import { resampling } from './resample';
import { CHUNK_FRAMES, StemCache } from './stem-cache';

/** Splits every bin's magnitude 70/30 between two stems: with exactSum they sum to the mixture. */
const splitModel: MagnitudeModel = {
  targets: ['vocals', 'other'],
  estimate: async (m) => [m.map((v) => 0.7 * v), m.map((v) => 0.3 * v)],
};

/** A two-tone stereo signal at `rate` for media time [0, seconds), as a decoded timeline would hold it. */
function source(
  rate: number,
  seconds: number,
  ended = true,
): AheadSource & { signal: (t: number, c: number) => number } {
  const signal = (t: number, c: number) =>
    0.3 * Math.sin(2 * Math.PI * (220 + 110 * c) * t) + 0.1 * Math.sin(2 * Math.PI * 1234.5 * t);
  const total = Math.round(seconds * rate);
  return {
    signal,
    ended,
    rateAt: (t) => (t >= 0 && t < seconds ? rate : null),
    read(t, count, r) {
      const first = Math.round(t * r);
      if (r !== rate || first < 0 || first + count > total) return null;
      return [0, 1].map((c) => Float32Array.from({ length: count }, (_, i) => signal((first + i) / rate, c)));
    },
  };
}

function ahead(cache: StemCache, chunks: number[], jobs: number[] = []) {
  return new AheadSeparator(
    cache,
    {
      stems: ['vocals', 'other'],
      channels: 2,
      newSeparator: (rate) => {
        jobs.push(1);
        const separator = new ChunkedSeparator(
          splitModel,
          2,
          { wienerIterations: 0, exactSum: true },
          LOW_LATENCY_CHUNKING,
        );
        return resampling(separator, rate, MODEL_RATE, 2);
      },
    },
    (k) => chunks.push(k),
  );
}

async function runUntilIdle(a: AheadSeparator, src: AheadSource, playhead: number, maxSteps = 10_000) {
  for (let i = 0; i < maxSteps; i++) if (!(await a.step(src, playhead))) return i;
  throw new Error('never idle');
}

/** Largest |stem sum − signal| over a chunk, against the signal at media time. */
function chunkError(cache: StemCache, k: number, signal: (t: number, c: number) => number): number {
  const data = cache.get(k);
  if (!data) throw new Error(`chunk ${k} missing`);
  let worst = 0;
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < CHUNK_FRAMES; i++) {
      const sum = data[c][i] + data[2 + c][i];
      worst = Math.max(worst, Math.abs(sum - signal((k * CHUNK_FRAMES + i) / MODEL_RATE, c)));
    }
  }
  return worst;
}

describe('AheadSeparator', () => {
  it('separates from the playhead on, into chunks at their media position (44.1 kHz source)', async () => {
    const cache = new StemCache(4);
    const done: number[] = [];
    const jobs: number[] = [];
    const src = source(MODEL_RATE, 12);
    const a = ahead(cache, done, jobs);
    await runUntilIdle(a, src, 5 * MODEL_RATE);
    // One continuous job (a restart per chunk boundary would cost a segment of warm-up each time).
    expect(jobs.length).toBe(1);
    // Playhead first: the chunk holding 5 s comes first, and everything to the end is separated.
    expect(done[0]).toBe(Math.floor((5 * MODEL_RATE) / CHUNK_FRAMES));
    expect(done.length).toBe(Math.floor((12 * MODEL_RATE) / CHUNK_FRAMES) - done[0]);
    for (const k of [done[0], done[10], done[done.length - 1]]) {
      expect(chunkError(cache, k, src.signal)).toBeLessThan(1e-3); // int16 storage
    }
    // Nothing before the playhead was done; seeking back there starts a new job there.
    expect(cache.has(done[0] - 1)).toBe(false);
    await a.step(src, 1 * MODEL_RATE);
    await runUntilIdle(a, src, 1 * MODEL_RATE);
    expect(cache.has(Math.floor(MODEL_RATE / CHUNK_FRAMES))).toBe(true);
    expect(a.producedSeconds).toBeGreaterThan(10);
  });

  it('resamples 48-kHz audio time-aligned to the model rate', async () => {
    const cache = new StemCache(4);
    const src = source(48_000, 8);
    const a = ahead(cache, []);
    await runUntilIdle(a, src, 2 * MODEL_RATE);
    const k = Math.floor((4 * MODEL_RATE) / CHUNK_FRAMES);
    // libsamplerate's band limit and int16 leave a small error; a one-sample shift would be ~0.05.
    expect(chunkError(cache, k, src.signal)).toBeLessThan(5e-3);
  });

  it('waits for audio not decoded yet, and keeps the cache to its window', async () => {
    const cache = new StemCache(4);
    const a = ahead(cache, []);
    const notYet = { ...source(MODEL_RATE, 6, false) };
    expect(await a.step(notYet, 30 * MODEL_RATE)).toBe(false); // nothing decoded at 30 s
    await runUntilIdle(a, notYet, 0);
    // Not ended: the last, partly filled segment waits for more audio instead of being flushed.
    const covered = cache.size;
    expect(covered).toBeGreaterThan(0);
    expect(covered).toBeLessThan(Math.floor((6 * MODEL_RATE) / CHUNK_FRAMES));
    a.prune(200 * MODEL_RATE);
    expect(cache.size).toBe(0);
    expect(a.nextMissing(0)).toBe(0);
    expect(AHEAD_S).toBeGreaterThan(30);
  });
});
