import { describe, expect, it } from 'vitest';
import type { ClockSample } from '../../content/tap-protocol';
import { ElementClock, OutputClock } from './clock';

const sample = (at: number, time: number, over: Partial<ClockSample> = {}): ClockSample => ({
  time,
  at,
  rate: 1,
  paused: false,
  seeking: false,
  waiting: false,
  ...over,
});

/**
 * Readings traced in Chromium after a seek to 10 s (the `seeking` one at 1006.5): standing at the
 * target, a reading 20 ms ahead, a second stall, then steady along time = 9.9228 + (at − 1000)/1000.
 */
const STALLED_SEEK: readonly (readonly [number, number])[] = [
  [1007.4, 10],
  [1007.6, 10],
  [1007.8, 10],
  [1033, 10.0198],
  [1052.2, 10.0198],
  [1058.1, 10.0198],
  [1083.1, 10.0198],
  [1111.3, 10.0342],
  [1132.9, 10.0558],
  [1158, 10.0799],
];

describe('ElementClock', () => {
  it('predicts the media time between and after samples, through jitter', () => {
    const c = new ElementClock();
    expect(c.at(0)).toBeNull();
    // Playing from 10 s at wall 1000 ms, samples every 250 ms with ±4 ms of read jitter.
    const jitter = [0.004, -0.003, 0.002, -0.004, 0.001, 0.003, -0.002, 0];
    for (const [i, j] of jitter.entries()) c.add(sample(1000 + 250 * i, 10 + 0.25 * i + j));
    const p = c.at(3000);
    expect(p?.playing).toBe(true);
    expect(Math.abs((p?.time ?? 0) - 12)).toBeLessThan(0.0025);
  });

  it('follows the rate and starts a new line at a seek, a pause or a rate change', () => {
    const c = new ElementClock();
    for (let i = 0; i < 4; i++) c.add(sample(1000 + 100 * i, 5 + 0.1 * i));
    c.add(sample(1400, 60)); // a seek to 60 s
    expect(c.at(1500)?.time).toBeCloseTo(60.1, 6);
    expect(c.at(1500)?.playing).toBe(false); // one sample: not confirmed yet
    c.add(sample(1500, 60.1));
    expect(c.at(1550)?.playing).toBe(true);
    c.add(sample(1600, 60.2, { paused: true }));
    expect(c.at(5000)).toEqual({ time: 60.2, rate: 1, playing: false, from: null });
    c.add(sample(5000, 60.2, { rate: 1.5 }));
    c.add(sample(5200, 60.5, { rate: 1.5 }));
    expect(c.at(6000)?.time).toBeCloseTo(61.7, 6);
    expect(c.at(6000)?.rate).toBe(1.5);
    c.add(sample(6000, 61.7, { waiting: true }));
    expect(c.at(7000)?.playing).toBe(false);
  });
});

describe('ElementClock after a seek, on its own samples (no predicted resume)', () => {
  it('starts the line where the element moves on from standing at the seek target, not before', () => {
    const c = new ElementClock(false);
    for (let i = 0; i < 4; i++) c.add(sample(1000 + 100 * i, 30 + 0.1 * i));
    c.add(sample(2000, 10, { seeking: true }));
    // Seeked and "playing", but standing at the target for 50 ms (crowded bursts of samples).
    for (const at of [2010, 2011, 2012, 2060]) c.add(sample(at, 10));
    // It moves: 10.02 at 2100 (a report ahead of the audio), then steadily from 10.03 at 2120.
    c.add(sample(2100, 10.02));
    for (const at of [2120, 2160]) c.add(sample(at, 10.03 + (at - 2120) / 1000));
    // 160 ms after the seek, but only 70 ms after it moved: not yet.
    expect(c.at(2170)?.playing).toBe(false);
    for (const at of [2200, 2201, 2202]) c.add(sample(at, 10.03 + (at - 2120) / 1000));
    // 100 ms after it moved, confirmed, on the steady line (the median outvotes the early report).
    expect(c.at(2205)?.playing).toBe(true);
    expect(c.at(2205)?.time).toBeCloseTo(10.115, 4);
  });

  it('plays along the line the element settles on, not its first readings after a seek', () => {
    // As traced in Chromium: standing at the target, a reading 40 ms ahead, a stall, then steady
    // along time = 9.9133 + at/1000 (the wall times here are 1000 ms later than the trace's).
    const c = new ElementClock(false);
    c.add(sample(1003.5, 10, { seeking: true }));
    for (const [at, time] of [
      [1006.7, 10],
      [1008.3, 10],
      [1055.6, 10.0118],
      [1058.5, 10.0147],
      [1112.7, 10.0293],
      [1158.7, 10.072],
    ])
      c.add(sample(at, time));
    const p = c.at(1200);
    expect(p?.playing).toBe(true);
    // On the settled line (10.1133 at 1200) within 1 ms; the median of all four was 23 ms ahead.
    expect(Math.abs((p?.time ?? 0) - (9.9133 + 0.2))).toBeLessThan(0.001);
  });

  it('plays as soon as three readings after the element’s last stall agree', () => {
    const c = new ElementClock(false);
    c.add(sample(1006.5, 10, { seeking: true }));
    const playing: boolean[] = [];
    for (const [at, time] of STALLED_SEEK) {
      c.add(sample(at, time));
      if (at > 1100) playing.push(c.at(at + 1)?.playing === true);
    }
    // Not on the first two moving readings; on the third, 47 ms on (not 100 ms).
    expect(playing).toEqual([false, false, true]);
    expect(Math.abs((c.at(1160)?.time ?? 0) - 10.0828)).toBeLessThan(0.002);
  });

  it('does not take readings that jump ahead and stand after a play for the line', () => {
    // As traced: paused at 27.1183; after play it stands there, jumps 97 ms ahead, stands again,
    // then moves along time = 27.2584 + (at − 1129.1)/1000. A line through the standing readings
    // had played the stems 40 ms ahead of the element.
    const c = new ElementClock();
    c.add(sample(900, 27.1183, { paused: true }));
    const readings = [
      [1000, 27.1183],
      [1000.2, 27.1183],
      [1027.9, 27.2154],
      [1050.5, 27.2195],
      [1079.6, 27.2195],
      [1079.8, 27.2195],
      [1102.1, 27.2315],
      [1129.1, 27.2584],
      [1150.5, 27.2799],
      [1204.4, 27.3335],
    ];
    const line = (at: number) => 27.2584 + (at - 1129.1) / 1000;
    let played = 0;
    for (const [at, time] of readings) {
      c.add(sample(at, time));
      const p = c.at(at + 60);
      if (!p?.playing) continue;
      played++;
      expect(Math.abs(p.time - line(at + 60)), `at ${at}`).toBeLessThan(0.003);
    }
    expect(played).toBeGreaterThanOrEqual(2);
  });

  it('keeps playing through a step among crowded samples', () => {
    const c = new ElementClock();
    const states: boolean[] = [];
    for (let at = 1000; at <= 1400; at += 25) {
      const step = at > 1300 ? 0.03 : 0; // the clock jumps 30 ms ahead and stays
      c.add(sample(at, 5 + (at - 1000) / 1000 + step + (at % 50 ? 0.001 : -0.001)));
      if (at >= 1150) states.push(c.at(at + 1)?.playing === true);
    }
    expect(states.every((p) => p)).toBe(true);
    expect(Math.abs((c.at(1401)?.time ?? 0) - (5.401 + 0.03))).toBeLessThan(0.003);
  });

  it('is not playing along a line of samples that all stand still', () => {
    const c = new ElementClock();
    for (const at of [1000, 1030, 1060, 1100]) c.add(sample(at, 10));
    expect(c.at(1105)?.playing).toBe(false);
  });

  it('keeps the window’s dropped samples toward confirming a line', () => {
    const c = new ElementClock();
    c.add(sample(1000, 5));
    // Ten samples within 60 ms fill the window (8) but do not make a line 100 ms long…
    for (let i = 1; i <= 10; i++) c.add(sample(1000 + 6 * i, 5 + 0.006 * i));
    expect(c.at(1061)?.playing).toBe(false);
    // …one at 100 ms from the line's start does, though the window no longer holds the first.
    c.add(sample(1100, 5.1));
    expect(c.at(1101)?.playing).toBe(true);
  });
});

describe('ElementClock predicting the resume after a seek', () => {
  // The traced seek of `STALLED_SEEK`: its line passes 10 at 1077.2.
  const line = (at: number) => 9.9228 + (at - 1000) / 1000;

  it('plays from the guessed resume, on the line the element then keeps, before it has moved', () => {
    const c = new ElementClock();
    c.add(sample(1006.5, 10, { seeking: true }));
    for (const [at, time] of STALLED_SEEK.slice(0, 6)) c.add(sample(at, time));
    // Standing: not yet; the stems' start is stated.
    expect(c.at(1060)).toEqual({ time: 10, rate: 1, playing: false, from: 1007.4 + c.resumeMs });
    // From the guessed 70 ms on, playing on the element's line within 1 ms — with no moving reading.
    const p = c.at(1090);
    expect(p?.playing).toBe(true);
    expect(Math.abs((p?.time ?? 0) - line(1090))).toBeLessThan(0.001);
    // The readings that follow agree: it plays on through them, and learns how long this one stood.
    for (const [at, time] of STALLED_SEEK.slice(6)) {
      c.add(sample(at, time));
      expect(c.at(at + 1)?.playing).toBe(true);
    }
    expect(Math.abs((c.at(1160)?.time ?? 0) - line(1160))).toBeLessThan(0.002);
    expect(c.resumeMs).toBeCloseTo(69.8, 0);
  });

  it('learns a shorter resume from the element, and predicts the next one with it', () => {
    const c = new ElementClock();
    // This element stands 40 ms: the guess (70) is contradicted once it moves…
    c.add(sample(990, 10, { seeking: true }));
    c.add(sample(1000, 10));
    c.add(sample(1025, 10));
    c.add(sample(1050, 10.01));
    c.add(sample(1075, 10.035));
    expect(c.at(1076)?.playing).toBe(false);
    // …and its own line, confirmed, says how long it stood.
    c.add(sample(1100, 10.06));
    expect(c.at(1101)?.playing).toBe(true);
    expect(c.resumeMs).toBeCloseTo(40, 6);
    // The next seek: 40 ms after its first steady reading it plays.
    for (let at = 1125; at < 2000; at += 125) c.add(sample(at, 10 + (at - 1040) / 1000));
    c.add(sample(2000, 30, { seeking: true }));
    c.add(sample(2005, 30));
    expect(c.at(2040)?.playing).toBe(false);
    const p = c.at(2050);
    expect(p?.playing).toBe(true);
    expect(p?.time).toBeCloseTo(30.005, 9);
    expect(p?.from).toBeCloseTo(2045, 6);
  });

  it('drops the prediction when the element stands longer, and waits for its own line', () => {
    const c = new ElementClock();
    c.add(sample(990, 10, { seeking: true }));
    for (const at of [1000, 1025, 1050]) c.add(sample(at, 10));
    // Predicted from 1070 (the cost of a wrong guess: these 30 ms play ahead of the element)…
    expect(c.at(1080)?.playing).toBe(true);
    c.add(sample(1075, 10));
    expect(c.at(1080)?.playing).toBe(true); // 5 ms past the start: within the tolerance
    c.add(sample(1100, 10));
    // …until a reading 30 ms past the predicted start still stands.
    expect(c.at(1101)?.playing).toBe(false);
    expect(c.at(1200)?.playing).toBe(false);
  });

  it('predicts nothing after a seek while paused, nor when the rate changes while playing', () => {
    const c = new ElementClock();
    c.add(sample(1000, 10, { paused: true }));
    c.add(sample(1010, 40, { paused: true, seeking: true }));
    c.add(sample(1020, 40, { paused: true }));
    expect(c.at(1500)?.playing).toBe(false);
    for (let at = 2000; at <= 2300; at += 25) c.add(sample(at, 40 + (at - 2000) / 1000));
    c.add(sample(2325, 40.325, { rate: 2 }));
    expect(c.at(2400)).toMatchObject({ playing: false, from: null });
  });
});

describe('ElementClock at 1.5×', () => {
  // Chrome's currentTime at 1.5×: a ±15-ms sawtooth (period ≈ 170 ms) about the true line.
  const saw = (at: number) => 0.015 * ((2 * (((at % 170) + 170) % 170)) / 170 - 1);
  const line = (at: number, step: number) => 20 + (1.5 * (at - 1000)) / 1000 + step;

  it('rides the sawtooth without restarting its line', () => {
    const c = new ElementClock();
    for (let at = 1000; at <= 7000; at += 125) {
      c.add(sample(at, line(at, 0) + saw(at), { rate: 1.5 }));
      const p = c.at(at + 10);
      if (at >= 1500) {
        expect(p?.playing).toBe(true);
        expect(Math.abs((p?.time ?? 0) - line(at + 10, 0))).toBeLessThan(0.012);
      }
    }
  });

  it('follows a step of the element’s clock within three samples, not half a window', () => {
    const c = new ElementClock();
    let at = 1000;
    for (; at <= 4000; at += 125) c.add(sample(at, line(at, 0) + saw(at), { rate: 1.5 }));
    // The clock steps back 33 ms and stays.
    for (let k = 0; k < 3; k++, at += 125) c.add(sample(at, line(at, -0.033) + saw(at), { rate: 1.5 }));
    const p = c.at(at);
    expect(p?.playing).toBe(true);
    expect(Math.abs((p?.time ?? 0) - line(at, -0.033))).toBeLessThan(0.012);
  });
});

describe('OutputClock', () => {
  it('maps context time to wall time through one bad reading, and follows a real change', () => {
    const c = new OutputClock();
    expect(c.wallAt(1)).toBeNull();
    expect(c.contextAt(1000)).toBeNull();
    // Heard 120 ms after the context time (wall 0 at context 0), read every 50 ms.
    for (let i = 0; i < 9; i++) c.add(i * 0.05, i * 50 + 120);
    c.add(0.5, 500 + 120 + 95); // one reading 95 ms off, after a held-up thread
    expect(c.wallAt(1)).toBeCloseTo(1120, 6);
    expect(c.contextAt(1120)).toBeCloseTo(1, 9);
    // Another device: 40 ms more from now on; the median takes it within half the window.
    for (let i = 11; i < 17; i++) c.add(i * 0.05, i * 50 + 160);
    expect(c.wallAt(2)).toBeCloseTo(2160, 6);
  });

  it('does not let a burst of readings from one held-up moment fill the window', () => {
    const c = new OutputClock();
    for (let i = 0; i < 9; i++) c.add(i * 0.05, i * 50 + 120);
    // Twenty readings 2 ms apart, each 60 ms off (a held-up thread, ticks run by clock samples).
    for (let i = 0; i < 20; i++) c.add(0.45 + i * 0.002, 450 + i * 2 + 120 + 60);
    expect(c.wallAt(1)).toBeCloseTo(1120, 6);
  });
});
