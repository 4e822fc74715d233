import { describe, expect, it } from 'vitest';
import { FADE_FRAMES, type Schedule, SyncCore } from './sync-core';

const F = 4096; // chunk frames
const Q = 128; // render quantum
const SR = 44_100;
const SCALE = 1e-6;

/** A core whose stem 0 holds its own media frame index (× SCALE) and stem 1 holds 0.5: output reveals the position. */
function core(chunks: number[], record = true): SyncCore {
  const c = new SyncCore({ channels: 2, stems: 2, sampleRate: SR, chunkFrames: F, record });
  for (const k of chunks) {
    const pos = Float32Array.from({ length: F }, (_, i) => (k * F + i) * SCALE);
    const half = new Float32Array(F).fill(0.5);
    c.putChunk(k, { samples: [pos, pos, half, half], scales: new Float32Array(4).fill(1) });
  }
  return c;
}

const playing = (ctxFrame: number, mediaFrame: number, over: Partial<Schedule> = {}): Schedule => ({
  ctxFrame,
  mediaFrame,
  rate: 1,
  playing: true,
  playingFrom: null,
  stems: true,
  stretchFrames: null,
  ...over,
});

/**
 * Runs `quanta` render quanta from context frame `from` with a constant capture input `captureLevel`;
 * `shifted` collects the second output (what the pitch shifter is fed).
 */
function run(c: SyncCore, from: number, quanta: number, captureLevel = 0.25) {
  const out: number[] = [];
  const shifted: number[] = [];
  const remixed: number[] = [];
  const positions: number[] = [];
  let lead = 0;
  for (let q = 0; q < quanta; q++) {
    const input = [new Float32Array(Q).fill(captureLevel), new Float32Array(Q).fill(captureLevel)];
    const output = [new Float32Array(Q), new Float32Array(Q)];
    const second = [new Float32Array(Q), new Float32Array(Q)];
    const ev = c.process(from + q * Q, input, output, second);
    out.push(...output[0]);
    shifted.push(...second[0]);
    remixed.push(...(ev.tap?.remixed ?? []));
    positions.push(...(ev.tap?.positions ?? []));
    lead = ev.tap?.lead ?? 0;
  }
  return { out, shifted, remixed, positions, lead };
}

/** What is heard at each frame when the shifter on the second output is a pure delay of `L` frames. */
function heard(r: { out: number[]; shifted: number[] }, L: number): number[] {
  return r.out.map((v, i) => v + (i >= L ? r.shifted[i - L] : 0));
}

describe('SyncCore', () => {
  it('plays the stems at the scheduled media position, sample for sample', () => {
    const c = core([0, 1, 2, 3, 4]);
    c.setSchedule(playing(1000, 2000)); // context frame 1000 ↔ media frame 2000
    const { out, remixed, positions } = run(c, 1000, 40);
    // After the fade-in from the capture, stems alone at media frame = ctx − 1000 + 2000.
    for (let i = FADE_FRAMES + 10; i < out.length; i++) {
      expect(remixed[i]).toBe(1);
      expect(positions[i]).toBe(2000 + i);
      expect(out[i]).toBeCloseTo((2000 + i) * SCALE + 0.5, 6);
    }
    expect(c.missingFrames).toBe(0);
  });

  it('fades from the capture into the stems and back where they end: never silence', () => {
    const c = core([0, 1]); // stems for media frames [0, 8192)
    c.setSchedule(playing(0, 0));
    const { out, remixed } = run(c, 0, 96); // 12288 frames: runs past the stems' end
    expect(Math.min(...out)).toBeGreaterThan(0.2); // capture 0.25, stems ≥ 0.5
    const firstStems = remixed.indexOf(1);
    const lastStems = remixed.lastIndexOf(1);
    expect(firstStems).toBeGreaterThanOrEqual(FADE_FRAMES - 1);
    // The fade-out starts early enough that stems exist for all of it.
    expect(lastStems).toBeLessThan(2 * F - FADE_FRAMES);
    expect(out[out.length - 1]).toBeCloseTo(0.25, 6);
    // Each step between neighbouring samples is small: cross-faded, no click.
    for (let i = 1; i < out.length; i++) expect(Math.abs(out[i] - out[i - 1])).toBeLessThan(0.01);
    expect(c.missingFrames).toBeGreaterThan(0);
  });

  it('jumps with a cross-fade on a seek, and slews out a small error', () => {
    const c = core(Array.from({ length: 20 }, (_, k) => k));
    c.setSchedule(playing(0, 0));
    run(c, 0, 20);
    // Seek: the element now presents media frame 30000 at context frame 2560.
    c.setSchedule(playing(2560, 30_000));
    const seek = run(c, 2560, 20);
    expect(seek.positions[FADE_FRAMES + 5]).toBe(30_000 + FADE_FRAMES + 5);
    // A 5-ms error (220 frames): slewed, not jumped — the position moves by ≤ 1.003 per frame.
    c.setSchedule(playing(5120, 32_560 + 220));
    const slew = run(c, 5120, 64);
    for (let i = 1; i < slew.positions.length; i++) {
      const step = slew.positions[i] - slew.positions[i - 1];
      expect(step).toBeGreaterThan(0.996);
      expect(step).toBeLessThan(1.004);
    }
    // At most 0.3 % faster: 8192 frames take back about 24 of the 220.
    const last = slew.positions.length - 1;
    const err = 32_560 + 220 + last - slew.positions[last];
    expect(err).toBeGreaterThan(190);
    expect(err).toBeLessThan(200);
  });

  it('plays whole frames at rate 1 through clock jitter, and lands on whole frames after a slew', () => {
    const c = core(Array.from({ length: 40 }, (_, k) => k));
    // The element's clock, as schedules read it: a fractional position, jittering by ±10 frames.
    const jitter = [0, 7.3, -4.1, 9.9, -10, 3.5];
    for (let q = 0; q < 400; q++) {
      const ctx = q * Q;
      c.setSchedule(playing(ctx, 5000.37 + ctx + jitter[q % jitter.length]));
      const r = run(c, ctx, 1);
      if (q > 40) {
        for (const p of r.positions) expect(Number.isInteger(p), `position ${p} at quantum ${q}`).toBe(true);
        expect(Math.abs(r.positions[0] - (5000.37 + ctx))).toBeLessThan(0.001 * SR);
      }
    }
    // A 4-ms drift: slewed out, then whole frames again.
    let ctx = 400 * Q;
    for (let q = 0; q < 600; q++, ctx += Q) {
      c.setSchedule(playing(ctx, 5000.37 + ctx + 176));
      run(c, ctx, 1);
    }
    const after = run(c, ctx, 4);
    expect(after.positions.every((p) => Number.isInteger(p))).toBe(true);
    expect(Math.abs(after.positions[0] - (5000.37 + ctx + 176))).toBeLessThan(0.001 * SR);
  });

  it('starts the stems at a predicted resume’s frame, not before, at the position of that frame', () => {
    const c = core([0, 1, 2, 3]);
    // The element resumes (presents media frame 4096) at context frame 1280: the schedule says so
    // ahead, for context frame 2560.
    c.setSchedule(playing(2560, 4096 + 1280, { playingFrom: 1280 }));
    const { out, positions } = run(c, 0, 30);
    // Until that frame the capture alone plays; from the quantum it starts in, the stems fade in
    // at the element's position (never media before 4096: no audio from before the seek).
    for (let i = 0; i < 1280; i++) expect(out[i]).toBe(0.25);
    expect(positions[1279]).toBe(-1);
    expect(positions[1280]).toBe(4096);
    expect(positions[1280 + FADE_FRAMES + 10]).toBe(4096 + FADE_FRAMES + 10);
  });

  it('plays the capture while the element is paused or stems are not allowed', () => {
    const c = core([0, 1, 2, 3]);
    c.setSchedule(playing(0, 0, { playing: false }));
    expect(run(c, 0, 8).out.every((v) => v === 0.25)).toBe(true);
    c.setSchedule(playing(1024, 0, { stems: false }));
    expect(run(c, 1024, 8).out.every((v) => v === 0.25)).toBe(true);
    expect(c.missingFrames).toBe(0); // not "missing": not wanted
  });

  it('follows the gains within a few milliseconds and keeps chunks only in the window', () => {
    const c = core([0, 1, 2, 3]);
    c.setSchedule(playing(0, 0));
    run(c, 0, 16);
    c.setGains([0, 1]);
    const { out } = run(c, 2048, 16);
    expect(out[out.length - 1]).toBeCloseTo(0.5, 3); // stem 0 gone within 46 ms
    // Chunks 0 and 3 go, and their four arrays each come back (for the worklet to hand back).
    const dropped = c.keepChunks(1, 3);
    expect(c.chunkCount).toBe(2);
    expect(dropped).toHaveLength(2 * 4);
    expect(dropped.every((d) => d.length === F)).toBe(true);
    expect(c.keepChunks(1, 3)).toHaveLength(0);
    expect(() => c.putChunk(9, { samples: [new Float32Array(3)], scales: new Float32Array(1) })).toThrow(
      /channel count/,
    );
    const short = {
      samples: Array.from({ length: 4 }, () => new Int16Array(3)),
      scales: new Float32Array(4),
    };
    expect(() => c.putChunk(9, short)).toThrow(/chunk length/);
  });

  it('at another rate reads the stems at that rate into the shifter, where the element will be when heard', () => {
    const L = 2000; // the shifter's delay, context frames
    const c = core(Array.from({ length: 20 }, (_, k) => k));
    c.setSchedule(playing(0, 10_000, { rate: 1.5, stretchFrames: L }));
    const r = run(c, 0, 64);
    const i = L + FADE_FRAMES + 100; // the capture's half of the cross-fade ends L frames later
    // Fed at frame i, heard at i + L: the element's position then is 10000 + 1.5·(i + L).
    expect(r.positions[i]).toBeCloseTo(10_000 + 1.5 * (i + L), 6);
    expect(r.positions[i + 1] - r.positions[i]).toBeCloseTo(1.5, 6);
    expect(r.lead).toBe(L);
    expect(c.position).not.toBeNull(); // stems play (the popup says so)
    expect(r.out[i]).toBe(0); // nothing unshifted
    expect(r.shifted[i]).toBeCloseTo(r.positions[i] * SCALE + 0.5, 5);
    expect(c.missingFrames).toBe(0);
  });

  it('cross-fades with the shifted voice so that the two halves meet at the speakers: no dip, no doubling', () => {
    const L = 1500;
    const c = core(Array.from({ length: 20 }, (_, k) => k));
    // Playing at 1: stems unshifted. Then 1.5×: into the shifter. Then back to 1, then the stems stop being allowed.
    c.setSchedule(playing(0, 0));
    const a = run(c, 0, 40);
    c.setSchedule(playing(5120, 5120, { rate: 1.5, stretchFrames: L }));
    const b = run(c, 5120, 60);
    c.setSchedule(playing(12_800, 5120 + 1.5 * 7680, { stretchFrames: L }));
    const d = run(c, 12_800, 60);
    c.setSchedule(playing(20_480, 5120 + 1.5 * 7680 + 7680, { stems: false, stretchFrames: L }));
    const e = run(c, 20_480, 60);
    const all = {
      out: [...a.out, ...b.out, ...d.out, ...e.out],
      shifted: [...a.shifted, ...b.shifted, ...d.shifted, ...e.shifted],
    };
    const h = heard(all, L);
    // Stems sum to 0.5 + a small position term; the capture is 0.25. Heard: never below the capture,
    // never above the stems (a dip would be near-silence, a doubling would reach 0.75).
    for (let i = FADE_FRAMES; i < h.length; i++) {
      expect(h[i]).toBeGreaterThan(0.249);
      expect(h[i]).toBeLessThan(0.55);
    }
    // The fade back to the capture ends the shifted voice: it is heard no more.
    expect(h[h.length - 1]).toBeCloseTo(0.25, 6);
    expect(e.shifted[e.shifted.length - 1]).toBe(0);
  });

  it('without a shifter plays the page’s own audio at rates other than 1', () => {
    const c = core([0, 1, 2, 3]);
    c.setSchedule(playing(0, 0, { rate: 0.75 }));
    const r = run(c, 0, 16);
    expect(r.out.every((v) => v === 0.25)).toBe(true);
    expect(r.shifted.every((v) => v === 0)).toBe(true);
  });
});
