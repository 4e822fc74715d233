import { describe, expect, it } from 'vitest';
import { alignRecording, alignRecordingPieces, errorDb, gather } from './signal';

/** Deterministic noise (a linear congruential generator): a track with no repeats to confuse `locate`. */
function noise(n: number, seed: number, gain = 1): Float32Array {
  let x = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return gain * (x / 2 ** 32 - 0.5);
  });
}

describe('alignRecording', () => {
  const rate = 4000;
  const track = noise(7 * rate, 1);

  it('judges the long side of the loop point even when a snippet on the short side matches better', () => {
    // A 7-s recording of the 7-s looping track: 2.9 s before the loop point (exact), a 30-ms gap
    // (the element's loop is not seamless), then 4.1 s after it with a little noise (a
    // resampled capture): the short side correlates best, the long side is the one to judge.
    const shortSide = track.slice(4.1 * rate);
    const gap = new Float32Array(0.03 * rate);
    const longSide = track.slice(0, 4.1 * rate);
    const hiss = noise(longSide.length, 2, 0.05);
    const recording = Float32Array.from([...shortSide, ...gap, ...longSide.map((v, i) => v + hiss[i])]);
    const remixed = Array.from(recording, () => 1);

    const at = alignRecording([Array.from(recording)], remixed, track, rate);

    expect(at.correlation).toBeGreaterThan(0.99);
    expect(at.correlation).toBeLessThan(0.9999); // the noisy side: the exact one was passed over
    expect(at.length / rate).toBeGreaterThan(3.9);
    expect(at.start).toBeGreaterThanOrEqual(shortSide.length + gap.length);
    expect(at.bounded).toBe(true);
    const rec = [Array.from(recording.subarray(at.start, at.start + at.length))];
    const ref = [Array.from(track.subarray(at.offset, at.offset + at.length))];
    expect(errorDb(rec, ref)).toBeLessThan(-20);
  });

  it('finds the whole recording when it does not cross the loop point', () => {
    const recording = track.slice(1 * rate, 5 * rate);
    const at = alignRecording(
      [Array.from(recording)],
      Array.from(recording, () => 1),
      track,
      rate,
    );
    expect(at.offset).toBe(1 * rate + at.start);
    expect(at.length / rate).toBeGreaterThan(3.8);
    expect(at.correlation).toBeGreaterThan(0.9999);
  });

  it('alignRecordingPieces: every matching part of a recording with dropouts and the track end in it', () => {
    // 2.0–3.5 s, a 50-ms dropout, 3.55–5.0 s, a 100-ms dropout, 5.1–7.0 s, then on from the track's
    // start (the page plays it looped, seamlessly) to 1.5 s.
    const at = (a: number, b: number) => track.slice(Math.round(a * rate), Math.round(b * rate));
    const parts = [at(2, 3.5), at(3.55, 5), at(5.1, 7), at(0, 1.5)];
    const recording = Float32Array.from(parts.flatMap((p) => [...p]));
    const remixed = Array.from(recording, () => 1);
    const longest = alignRecording([Array.from(recording)], remixed, track, rate);
    expect(longest.length / rate).toBeLessThan(3.5); // one span alone: about half of it

    const al = alignRecordingPieces([Array.from(recording)], remixed, track, rate);
    expect(al.length / rate).toBeGreaterThan(5.5); // of 6.35 s, less a window at each break
    expect(al.pieces.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < al.pieces.length; i++) {
      expect(al.pieces[i].start).toBeGreaterThanOrEqual(al.pieces[i - 1].start + al.pieces[i - 1].length);
    }
    const rec = gather([recording], al.pieces, 'start');
    const ref = gather([track], al.pieces, 'offset');
    expect(errorDb(rec, ref)).toBeLessThan(-60); // exact copies: every piece is where it belongs
  });

  it('alignRecordingPieces: a capture that errs unevenly (resampled) still counts whole', () => {
    // 6 s of the track with hiss whose level changes every 0.1 s between −26 and −12 dB (a capture
    // resampled by Chromium errs like this, window by window): about −17 dB overall.
    const W = rate / 10;
    const recording = track.slice(0.5 * rate, 6.5 * rate);
    const hiss = noise(recording.length, 3);
    const levels = [0.05, 0.25, 0.1, 0.2, 0.08];
    const captured = recording.map((v, i) => v + levels[Math.floor(i / W) % levels.length] * hiss[i]);
    const al = alignRecordingPieces(
      [Array.from(captured)],
      Array.from(captured, () => 1),
      track,
      rate,
    );
    expect(al.correlation).toBeGreaterThan(0.98);
    expect(al.correlation).toBeLessThan(0.999);
    expect(al.length / rate).toBeGreaterThan(5.5);
  });
});
