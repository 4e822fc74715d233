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
  it('separates from the playhead on, then fills in behind it, into chunks at their media position', async () => {
    const cache = new StemCache(4);
    const done: number[] = [];
    const jobs: number[] = [];
    const src = source(MODEL_RATE, 12);
    const a = ahead(cache, done, jobs);
    await runUntilIdle(a, src, 5 * MODEL_RATE);
    const k0 = Math.floor((5 * MODEL_RATE) / CHUNK_FRAMES);
    const end = Math.floor((12 * MODEL_RATE) / CHUNK_FRAMES);
    // Playhead first, in one continuous job (a restart per chunk boundary would cost a segment of
    // warm-up each time): the chunk holding 5 s, then everything to the end of the audio…
    expect(done.slice(0, end - k0)).toEqual(Array.from({ length: end - k0 }, (_, i) => k0 + i));
    // …then, in a second job, the audio that played before (0–5 s: within BACKFILL_S behind).
    expect(jobs.length, `jobs; chunks in order ${done.join(',')}`).toBe(2);
    expect(done.slice(end - k0).sort((x, y) => x - y)).toEqual(Array.from({ length: k0 }, (_, i) => i));
    for (const k of [0, k0 - 1, k0, k0 + 10, end - 1]) {
      expect(chunkError(cache, k, src.signal)).toBeLessThan(1e-3); // int16 storage
    }
    expect(a.producedSeconds).toBeGreaterThan(11);
  });

  it('fills in behind only while the stems ahead last, and never waits on a hole behind', async () => {
    const cache = new StemCache(4);
    const done: number[] = [];
    const src = source(MODEL_RATE, 120);
    const a = ahead(cache, done);
    const F = CHUNK_FRAMES;
    const sec = (s: number) => Math.ceil((s * MODEL_RATE) / F);
    // Playhead at 60 s with everything from 60 to 80 s separated: next is the audio behind it.
    let playhead = 60 * MODEL_RATE;
    const k0 = Math.floor(playhead / F);
    for (let k = k0; k < k0 + sec(20); k++)
      cache.put(
        k,
        Array.from({ length: 4 }, () => new Float32Array(F)),
      );
    for (let i = 0; i < 100 && done.length === 0; i++) await a.step(src, playhead);
    expect(done[0]).toBe(k0 - sec(15)); // the gap's start, 15 s back
    // The playhead moves on 6 s: 14 s of stems ahead, more than half the eager window: go on behind.
    playhead += 6 * MODEL_RATE;
    done.length = 0;
    for (let i = 0; i < 100 && done.length === 0; i++) await a.step(src, playhead);
    expect(done[0]).toBeLessThan(k0);
    // 12 s on: 8 s ahead, under half the window: the job ahead takes over.
    playhead += 6 * MODEL_RATE;
    done.length = 0;
    for (let i = 0; i < 400 && done.length === 0; i++) await a.step(src, playhead);
    expect(done[0]).toBeGreaterThanOrEqual(k0 + sec(20));
    // Audio behind that is not decoded (the page dropped it) is skipped, not waited for.
    const holey: AheadSource = { ...src, rateAt: (t) => (t >= 70 && t < 120 ? MODEL_RATE : null) };
    const fresh = new StemCache(4);
    const b = ahead(fresh, []);
    const p = 80 * MODEL_RATE;
    for (let k = Math.floor(p / F); k < Math.floor(p / F) + sec(20); k++)
      fresh.put(
        k,
        Array.from({ length: 4 }, () => new Float32Array(F)),
      );
    const decoded = (k: number) => holey.rateAt((k * F) / MODEL_RATE) !== null;
    expect(b.nextMissing(p, { decoded })).toBe(Math.ceil((70 * MODEL_RATE) / F));
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

  it('reads a new job’s first 2.5 s in one step where they are decoded, else 0.1 s at a time', async () => {
    for (const [seconds, ended, want] of [
      [12, true, [110_250, 4410, 4410]],
      [1, false, [4410, 4410, 4410]], // only 1 s decoded so far (more to come)
    ] as const) {
      const src = source(MODEL_RATE, seconds, ended);
      const counts: number[] = [];
      const spy: AheadSource = {
        ...src,
        read: (t, count, r) => {
          const out = src.read(t, count, r);
          if (out) counts.push(count);
          return out;
        },
      };
      const a = ahead(new StemCache(4), []);
      for (let i = 0; i < 3; i++) await a.step(spy, 0);
      expect(counts, `${seconds} s decoded`).toEqual(want);
    }
  });

  it('puts nothing from a job abandoned while it was starting or separating', async () => {
    const cache = new StemCache(4);
    const src = source(MODEL_RATE, 12);
    let a: AheadSeparator;
    // Abandoned (another MediaSource, a seek) while its separator is being made…
    const slow = new AheadSeparator(
      cache,
      {
        stems: ['vocals', 'other'],
        channels: 2,
        newSeparator: async (rate) => {
          a.abandon();
          return resampling(
            new ChunkedSeparator(
              splitModel,
              2,
              { wienerIterations: 0, exactSum: true },
              LOW_LATENCY_CHUNKING,
            ),
            rate,
            MODEL_RATE,
            2,
          );
        },
      },
      () => undefined,
    );
    a = slow;
    for (let i = 0; i < 60; i++) await a.step(src, 0);
    expect(cache.size).toBe(0);
    // …or while a step's separation is in flight.
    const b = ahead(cache, []);
    // 3.9 s of input (a job's first step reads 2.5 s, later ones 0.1 s): the 4-s segment is next.
    for (let i = 0; i < 15; i++) await b.step(src, 0);
    const pending = b.step(src, 0);
    b.abandon();
    await pending;
    expect(cache.size).toBe(0);
  });
});
