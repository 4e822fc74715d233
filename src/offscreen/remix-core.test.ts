import { describe, expect, it } from 'vitest';
import { RemixCore } from './remix-core';

const Q = 128; // render quantum
const opts = { channels: 2, stems: 2, capacity: 1 << 14, delay: 4096, blockFrames: 1024, sampleRate: 44_100 };

/** Deterministic test signal per channel and capture index. */
const signal = (c: number, i: number) => Math.sin(0.01 * i * (c + 1)) * 0.5 + 0.1 * Math.cos(0.37 * i);
/** Two "stems" that sum to the signal: a low part and the rest. */
const stemA = (c: number, i: number) => Math.sin(0.01 * i * (c + 1)) * 0.5;
const stemB = (_c: number, i: number) => 0.1 * Math.cos(0.37 * i);

function quantum(start: number): Float32Array[] {
  return [0, 1].map((c) => Float32Array.from({ length: Q }, (_, i) => signal(c, start + i)));
}

/** Runs `quanta` render quanta; after each, feeds stems up to `stemsUpTo(written)`. */
function run(core: RemixCore, quanta: number, stemsUpTo: (written: number) => number) {
  const out: Float32Array[] = [new Float32Array(quanta * Q), new Float32Array(quanta * Q)];
  let fed = 0;
  const inputs: number[] = [];
  for (let q = 0; q < quanta; q++) {
    const o = [new Float32Array(Q), new Float32Array(Q)];
    const ev = core.process(quantum(q * Q), o);
    if (ev.input) inputs.push(ev.input.start);
    o.forEach((ch, c) => {
      out[c].set(ch, q * Q);
    });
    const upTo = Math.min(stemsUpTo((q + 1) * Q), (q + 1) * Q);
    if (upTo > fed) {
      const data = [stemA, stemB].flatMap((f) =>
        [0, 1].map((c) => Float32Array.from({ length: upTo - fed }, (_, i) => f(c, fed + i))),
      );
      core.pushStems(fed, data);
      fed = upTo;
    }
  }
  return { out, inputs };
}

describe('RemixCore', () => {
  it('plays the original undelayed while buffering and hands input blocks over in order', () => {
    const core = new RemixCore(opts);
    const { out, inputs } = run(core, 40, () => 0);
    expect(core.isRunning).toBe(false);
    for (let i = 0; i < 40 * Q; i++) expect(out[1][i]).toBeCloseTo(signal(1, i), 6);
    expect(inputs).toEqual([0, 1024, 2048, 3072, 4096]);
    expect(core.lateFrames).toBe(0);
  });

  it('at unity gains plays the original delayed once the stems exist (remix = input)', () => {
    const core = new RemixCore(opts);
    const { out } = run(core, 200, (w) => w); // separation keeps up instantly
    expect(core.isRunning).toBe(true);
    // After the switch-over cross-fade, output n = input n − delay.
    let worst = 0;
    for (let n = opts.delay + 3000; n < 200 * Q; n++) {
      worst = Math.max(worst, Math.abs(out[0][n] - signal(0, n - opts.delay)));
    }
    expect(worst).toBeLessThan(1e-6);
    expect(core.lateFrames).toBe(0);
  });

  it('applies gains smoothly: stem A at 0 leaves stem B', () => {
    const core = new RemixCore(opts);
    core.setGains([0, 1]);
    const { out } = run(core, 300, (w) => w);
    for (let n = opts.delay + 8000; n < 300 * Q; n += 17) {
      expect(out[1][n]).toBeCloseTo(stemB(1, n - opts.delay), 5);
    }
    // One-pole smoothing: no jump larger than the signal's own slope right after a gain change.
    core.setGains([1, 1]);
    const o = [new Float32Array(Q), new Float32Array(Q)];
    core.process(quantum(300 * Q), o);
    expect(Math.abs(o[0][0] - stemB(0, 300 * Q - opts.delay))).toBeLessThan(0.01);
  });

  it('fills late stems with the original at the same delayed position and counts them', () => {
    const core = new RemixCore(opts);
    core.setGains([0, 0]); // remix would be silence: late frames must not be
    // Stems stop arriving after capture index 6000.
    const { out } = run(core, 120, (w) => Math.min(w, 6000));
    expect(core.isRunning).toBe(true);
    const lateFrom = 6000 + opts.delay;
    for (let n = lateFrom; n < 120 * Q; n += 13) expect(out[0][n]).toBeCloseTo(signal(0, n - opts.delay), 6);
    expect(core.lateFrames).toBe(120 * Q - lateFrom);
  });

  it('rejects stems out of order and a ring too small for the delay', () => {
    const core = new RemixCore(opts);
    expect(() =>
      core.pushStems(
        5,
        [0, 1, 2, 3].map(() => new Float32Array(4)),
      ),
    ).toThrow(/expected index 0/);
    expect(() => new RemixCore({ ...opts, capacity: 4096 })).toThrow(/too small/);
  });

  it('records output, original and remixed flags in record mode', () => {
    const core = new RemixCore({ ...opts, record: true });
    let taps = 0;
    let remixed = 0;
    for (let q = 0; q < 100; q++) {
      const o = [new Float32Array(Q), new Float32Array(Q)];
      const ev = core.process(quantum(q * Q), o);
      if (q * Q + Q <= 100 * Q) {
        const data = [stemA, stemB].flatMap((f) =>
          [0, 1].map((c) => Float32Array.from({ length: Q }, (_, i) => f(c, q * Q + i))),
        );
        core.pushStems(q * Q, data);
      }
      if (ev.tap) {
        taps++;
        remixed += ev.tap.remixed.reduce((a, b) => a + b, 0);
        expect(ev.tap.output[0]).toEqual(o[0]);
      }
    }
    expect(taps).toBeGreaterThan(0);
    expect(remixed).toBeGreaterThan(0);
  });
});
