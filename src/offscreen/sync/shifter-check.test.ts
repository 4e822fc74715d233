import { describe, expect, it } from 'vitest';
import { burstSignal, envelopeDelayMs, toneHz } from './shifter-check';

describe('shifter check (the measures behind e2e/sync.test.ts’s pitch-shifter check)', () => {
  it('finds a known delay from the loudness envelopes, also through a changed pitch', () => {
    const x = burstSignal(660);
    const delay = Math.round(0.123 * 44_100);
    // What a pitch shifter would give: the same bursts at 440 Hz, later.
    const y440 = burstSignal(440);
    const y = new Float32Array(x.length);
    y.set(y440.subarray(0, x.length - delay), delay);
    expect(envelopeDelayMs(x, y)).toBeCloseTo(123, -0.5); // within ±1.6 ms (the 1-ms hop)
    expect(envelopeDelayMs(x, x)).toBe(0);
  });

  it('reads a tone’s frequency from its zero crossings', () => {
    const x = burstSignal(440);
    expect(toneHz(x, 1323, 3969)).toBeCloseTo(440, 0);
    expect(toneHz(new Float32Array(1000), 0, 1000)).toBeNaN();
  });
});
