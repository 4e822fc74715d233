/** Small signal helpers for judging what the extension played (the e2e suite's ears). */

/** 10·log10(Σ(a−b)² / Σb²) over the frames where `mask` is 1 (all frames without a mask). */
export function errorDb(
  a: readonly ArrayLike<number>[],
  b: readonly ArrayLike<number>[],
  mask?: readonly number[],
): number {
  let err = 0;
  let ref = 0;
  for (let c = 0; c < b.length; c++) {
    for (let i = 0; i < b[c].length; i++) {
      if (mask && mask[i] !== 1) continue;
      err += (a[c][i] - b[c][i]) ** 2;
      ref += b[c][i] ** 2;
    }
  }
  return 10 * Math.log10(err / ref);
}

/** The data tools' root mean square (over every sample of every channel), for recordings too. */
export { rms } from '../../training/data/track';

/** `times` copies of the channels back to back (test media that a recording falls inside). */
export function repeat(channels: readonly Float32Array[], times: number): Float32Array[] {
  return channels.map((ch) => {
    const out = new Float32Array(ch.length * times);
    for (let k = 0; k < times; k++) out.set(ch, k * ch.length);
    return out;
  });
}

/**
 * Where `snippet` (mono) starts inside the looping `track` (mono): the lag with the largest
 * normalised correlation, and that correlation (1 = identical up to gain). `lags`: the candidates
 * (default: every position of the track).
 */
export function locate(
  snippet: Float32Array,
  track: Float32Array,
  lags: Iterable<number> = track.keys(),
): { offset: number; correlation: number } {
  const n = snippet.length;
  const L = track.length;
  let snippetEnergy = 0;
  for (const v of snippet) snippetEnergy += v * v;
  let best = { offset: 0, correlation: -1 };
  for (const lag of lags) {
    let dot = 0;
    let energy = 0;
    for (let i = 0; i < n; i++) {
      const t = track[(lag + i) % L];
      dot += snippet[i] * t;
      energy += t * t;
    }
    const corr = dot / Math.sqrt(snippetEnergy * energy + 1e-20);
    if (corr > best.correlation) best = { offset: lag, correlation: corr };
  }
  return best;
}

/** The longest run of consecutive 1s in `mask`: [start, end). */
export function longestRun(mask: readonly number[]): [number, number] {
  let best: [number, number] = [0, 0];
  let start = -1;
  for (let i = 0; i <= mask.length; i++) {
    if (i < mask.length && mask[i] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start > best[1] - best[0]) best = [start, i];
      start = -1;
    }
  }
  return best;
}

/**
 * Recording vs track error under which a 0.1-s window counts as the same audio. A dropout, a jump
 * or silence errs at 0 dB or more; a capture that Chromium resampled errs unevenly, window by
 * window (seen in CI: correlation 0.995 overall, and at −15 dB only 1.3 s of a 9-s recording
 * counted, so the test failed on a sound recording).
 */
const MATCH_DB = -10;

/** Whether recording samples [rs, rs + W) are the track's [ts, ts + W): within MATCH_DB. */
function sameAudio(rec: readonly number[], rs: number, track: Float32Array, ts: number, W: number): boolean {
  return errorDb([rec.slice(rs, rs + W)], [track.subarray(ts, ts + W)]) < MATCH_DB;
}

/** A span of a recording that is the track's audio: recording[start + i] ≈ track[offset + i]. */
export interface AlignedSpan {
  start: number;
  offset: number;
  length: number;
  /** The span's own snippet's correlation with the track (1 = identical up to gain). */
  correlation: number;
  /** The best of the located snippets' correlations (a dropout can sit under the span's own). */
  bestCorrelation?: number;
  /** Recording seconds in the longest remixed run (the span is the exact part of it). */
  runSeconds: number;
  /** Whether a capture discontinuity (or the track end) bounds the span. */
  bounded: boolean;
}

/**
 * Finds where a recording of a looping track sits in it: snippets of the recorded original
 * (channel 0) at a few places in the longest remixed run are located in the track, and the span
 * around each is grown in 0.1-s windows while the recording matches the track there; the longest
 * span wins. A capture dropout on a loaded machine, or the track's end, ends a span: a recording
 * as long as the track always crosses its end, so the snippet that matches best may sit on the
 * short side of it (seen in CI: 1.0 s of 7 judged, and the test failed), and the longest span is
 * the one to judge. "Matches" is within −10 dB (MATCH_DB), not sample-exact: a capture that Chromium
 * resampled (once seen in CI: correlation 0.998, a fractional-sample offset) is still the same
 * audio, and BSS Eval's distortion filters absorb such an offset; a dropout or a jump errs at
 * 0 dB or more.
 */
export function alignRecording(
  original: readonly (readonly number[])[],
  remixed: readonly number[],
  track: Float32Array,
  sampleRate: number,
): AlignedSpan {
  const L = track.length;
  const [from, to] = longestRun(remixed);
  const W = Math.round(sampleRate / 10);
  const spanAround = (mid: number, offset: number, correlation: number): AlignedSpan => {
    const posOf = (i: number) => (((offset + i - mid) % L) + L) % L;
    const matches = (w0: number) =>
      w0 >= from &&
      w0 + W <= to &&
      posOf(w0) + W <= L &&
      posOf(w0) <= posOf(w0 + W - 1) &&
      sameAudio(original[0], w0, track, posOf(w0), W);
    const mid0 = from + Math.floor((mid - from) / W) * W;
    let start = mid0;
    while (matches(start - W)) start -= W;
    let end = mid0;
    while (matches(end)) end += W;
    return {
      start,
      offset: posOf(start),
      length: Math.max(0, end - start),
      correlation,
      runSeconds: (to - from) / sampleRate,
      bounded: start - W >= from || end + W <= to,
    };
  };
  // Several places, so that a dropout under one snippet, or a short side of the loop point, does
  // not decide.
  const spans = [0.5, 0.3, 0.7, 0.15, 0.85].map((f) => {
    const mid = from + Math.floor(f * (to - from));
    const { offset, correlation } = locate(Float32Array.from(original[0].slice(mid, mid + 2048)), track);
    return spanAround(mid, offset, correlation);
  });
  // The longest span is judged; how surely the recording is the track is the best snippet's
  // correlation (a dropout inside the longest span's own 46-ms snippet read 0.94 in one CI run).
  const longest = spans.reduce((a, b) => (b.length > a.length ? b : a));
  return { ...longest, bestCorrelation: Math.max(...spans.map((s) => s.correlation)) };
}

/** A part of a recording that is the track's audio: recording[start + i] ≈ track[offset + i]. */
export interface Piece {
  start: number;
  offset: number;
  length: number;
}

export interface AlignedPieces {
  /** In recording order, each at least `minSeconds` long. */
  pieces: Piece[];
  /** Samples in all pieces. */
  length: number;
  /** The best located snippet's correlation with the track (1 = identical up to gain). */
  correlation: number;
  runSeconds: number;
}

/**
 * Every part of a recording of a looping track that matches the track, not only the longest: on a
 * loaded machine the capture drops audio now and then (seen: 1.8 s the longest of 9 s), and each
 * dropout moves the recording against the track. From the longest span (`alignRecording`) the
 * recording is walked window by window (0.1 s) both ways; where a window stops matching, its place
 * is searched again within ±0.3 s of where it was expected (and across the track's end), and a new
 * piece starts. Pieces shorter than `minSeconds` are dropped.
 */
export function alignRecordingPieces(
  original: readonly (readonly number[])[],
  remixed: readonly number[],
  track: Float32Array,
  sampleRate: number,
  minSeconds = 0.5,
): AlignedPieces {
  const L = track.length;
  const rec = original[0];
  const [from, to] = longestRun(remixed);
  const W = Math.round(sampleRate / 10);
  const R = Math.round(0.3 * sampleRate);
  const anchor = alignRecording(original, remixed, track, sampleRate);
  const matches = (rs: number, ts: number) => ts >= 0 && ts + W <= L && sameAudio(rec, rs, track, ts, W);
  // The best place for recording window rs within ±R of `expected` (wrapping; a window does not
  // wrap), if it matches there.
  const relocate = (rs: number, expected: number): number | null => {
    const lags: number[] = [];
    for (let c = expected - R; c <= expected + R; c++) {
      const ts = ((c % L) + L) % L;
      if (ts + W <= L) lags.push(ts);
    }
    if (lags.length === 0) return null;
    const { offset } = locate(Float32Array.from(rec.slice(rs, rs + W)), track, lags);
    return matches(rs, offset) ? offset : null;
  };
  const pieces: Piece[] =
    anchor.length > 0 ? [{ start: anchor.start, offset: anchor.offset, length: anchor.length }] : [];
  // Walks from the anchor's end (d = +1) or start (d = −1), window by window.
  const walk = (d: 1 | -1) => {
    let cur: Piece | null = null;
    let rs = d > 0 ? anchor.start + anchor.length : anchor.start - W;
    let expected = d > 0 ? anchor.offset + anchor.length : anchor.offset - W;
    while (rs >= from && rs + W <= to) {
      const wrapped = ((expected % L) + L) % L;
      const ts = matches(rs, wrapped) ? wrapped : relocate(rs, expected);
      if (ts === null) {
        cur = null;
        expected += d * W;
      } else {
        const joins =
          cur !== null &&
          (d > 0
            ? cur.start + cur.length === rs && cur.offset + cur.length === ts
            : cur.start === rs + W && cur.offset === ts + W);
        if (joins && cur) {
          if (d < 0) {
            cur.start = rs;
            cur.offset = ts;
          }
          cur.length += W;
        } else {
          cur = { start: rs, offset: ts, length: W };
          pieces.push(cur);
        }
        expected = ts + d * W;
      }
      rs += d * W;
    }
  };
  if (anchor.length > 0) {
    walk(1);
    walk(-1);
  }
  const kept = pieces.filter((p) => p.length >= minSeconds * sampleRate).sort((a, b) => a.start - b.start);
  return {
    pieces: kept,
    length: kept.reduce((n, p) => n + p.length, 0),
    correlation: anchor.bestCorrelation ?? anchor.correlation,
    runSeconds: anchor.runSeconds,
  };
}

/** The pieces of each channel, back to back: by their recording start or by their track offset. */
export function gather(
  channels: readonly ArrayLike<number>[],
  pieces: readonly Piece[],
  by: 'start' | 'offset',
): Float32Array[] {
  return channels.map((ch) => {
    const out = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of pieces) {
      for (let i = 0; i < p.length; i++) out[o + i] = ch[p[by] + i];
      o += p.length;
    }
    return out;
  });
}

/** Σ of several multichannel signals of equal length, channel by channel. */
export function sumSignals(signals: readonly (readonly Float32Array[])[]): Float32Array[] {
  return signals[0].map((first, c) => {
    const out = Float32Array.from(first);
    for (const s of signals.slice(1)) for (let i = 0; i < out.length; i++) out[i] += s[c][i];
    return out;
  });
}

/**
 * Seconds of `x` (in 0.1-s frames) where the tone at `hz` carries most of the energy (Goertzel at
 * that frequency); short frames, so resampling drift does not matter.
 */
export function toneSecondsIn(x: Float32Array | readonly number[], sampleRate: number, hz: number): number {
  const n = Math.round(sampleRate / 10);
  const w = (2 * Math.PI * hz) / sampleRate;
  let frames = 0;
  for (let at = 0; at + n <= x.length; at += n) {
    let re = 0;
    let im = 0;
    let energy = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i];
      re += v * Math.cos(w * i);
      im -= v * Math.sin(w * i);
      energy += v * v;
    }
    if (energy > 0 && (2 * (re * re + im * im)) / (n * energy) > 0.5) frames++;
  }
  return frames / 10;
}
