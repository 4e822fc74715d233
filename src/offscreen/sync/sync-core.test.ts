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
    c.putChunk(k, [pos, pos, half, half]);
  }
  return c;
}

const playing = (ctxFrame: number, mediaFrame: number, over: Partial<Schedule> = {}): Schedule => ({
  ctxFrame,
  mediaFrame,
  rate: 1,
  playing: true,
  stems: true,
  ...over,
});

/** Runs `quanta` render quanta from context frame `from` with a constant capture input `captureLevel`. */
function run(c: SyncCore, from: number, quanta: number, captureLevel = 0.25) {
  const out: number[] = [];
  const remixed: number[] = [];
  const positions: number[] = [];
  for (let q = 0; q < quanta; q++) {
    const input = [new Float32Array(Q).fill(captureLevel), new Float32Array(Q).fill(captureLevel)];
    const output = [new Float32Array(Q), new Float32Array(Q)];
    const ev = c.process(from + q * Q, input, output);
    out.push(...output[0]);
    remixed.push(...(ev.tap?.remixed ?? []));
    positions.push(...(ev.tap?.positions ?? []));
  }
  return { out, remixed, positions };
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
    c.keepChunks(1, 3);
    expect(c.chunkCount).toBe(2);
    expect(() => c.putChunk(9, [new Float32Array(3)])).toThrow(/channel count/);
  });
});
