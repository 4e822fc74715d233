import { describe, expect, it } from 'vitest';
import { Recorder } from './recorder';

const block = (from: number, n: number, withPositions = false) => ({
  output: [0, 1].map((c) => Float32Array.from({ length: n }, (_, i) => from + i + c / 2)),
  original: [0, 1].map((c) => Float32Array.from({ length: n }, (_, i) => -(from + i) - c / 2)),
  remixed: Uint8Array.from({ length: n }, (_, i) => (from + i) % 2),
  ...(withPositions ? { positions: Float64Array.from({ length: n }, (_, i) => 1000 + from + i) } : {}),
});

describe('Recorder', () => {
  it('joins the blocks in order, as number arrays', () => {
    const r = new Recorder(77, 100);
    r.add(block(0, 3, true));
    r.add(block(3, 2, true));
    const t = r.take();
    expect(t.start).toBe(77);
    expect(t.output).toEqual([
      [0, 1, 2, 3, 4],
      [0.5, 1.5, 2.5, 3.5, 4.5],
    ]);
    expect(t.original[1]).toEqual([-0.5, -1.5, -2.5, -3.5, -4.5]);
    expect(t.remixed).toEqual([0, 1, 0, 1, 0]);
    expect(t.positions).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(Array.isArray(t.output[0])).toBe(true);
  });
  it('stops at the limit (the crossing block included) and has no positions unless given', () => {
    const r = new Recorder(0, 4);
    r.add(block(0, 3));
    r.add(block(3, 3));
    r.add(block(6, 3));
    expect(r.recordedFrames).toBe(6);
    const t = r.take();
    expect(t.remixed).toHaveLength(6);
    expect(t.positions).toBeUndefined();
  });
  it('gives its start and empty channels alone when the audio is not wanted', () => {
    const r = new Recorder(9, 100);
    r.add(block(0, 3, true));
    expect(r.take(false)).toEqual({ start: 9, output: [[], []], original: [[], []], remixed: [] });
    expect(r.take().remixed).toHaveLength(3);
  });
  it('is empty before any block', () => {
    const t = new Recorder(5, 10).take();
    expect(t).toEqual({ start: 5, output: [], original: [], remixed: [] });
  });
});
