import { describe, expect, it } from 'vitest';
import type { MagnitudeModel } from '../../src/core/separator';
import { networkEstimateAudio, splitAgainst } from './group-input';

/** A model whose network j estimates (j + 1) / 4 of the input magnitude: the audio must be that share. */
const scaling: MagnitudeModel = {
  targets: ['vocals', 'guitar+piano+other'],
  estimate: async (m) => [0, 1].map((j) => m.map((v) => ((j + 1) / 4) * v)),
};

function noise(length: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
}

describe('networkEstimateAudio', () => {
  it("gives the network's share of the mixture across several cross-faded model runs", async () => {
    // 1100 frames at hop 1024: two runs with a 128-frame overlap.
    const length = 1024 * 1100;
    const mixture = [noise(length, 1), noise(length, 2)];
    const est = await networkEstimateAudio(scaling, 'guitar+piano+other', mixture);
    expect(est[0].length).toBe(length);
    let err = 0;
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < length; i++) err = Math.max(err, Math.abs(est[c][i] - 0.5 * mixture[c][i]));
    expect(err).toBeLessThan(1e-4);
  });

  it('names the networks when asked for one the model lacks', async () => {
    await expect(networkEstimateAudio(scaling, 'guitar', [new Float32Array(4096)])).rejects.toThrow(
      /no network "guitar".*vocals, guitar\+piano\+other/,
    );
  });
});

describe('splitAgainst', () => {
  it('makes target + rest sum to the estimate', () => {
    const { target, rest } = splitAgainst([Float32Array.of(1, 2, 3)], [Float32Array.of(0.5, 3, 0)]);
    expect([...target[0]]).toEqual([0.5, 3, 0]);
    expect([...rest[0]]).toEqual([0.5, -1, 3]);
    expect(() => splitAgainst([new Float32Array(3)], [new Float32Array(2)])).toThrow(/length/);
  });
});
