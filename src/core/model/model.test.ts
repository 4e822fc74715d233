import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random';
import { bandEdges, bandMatrix } from './bands';
import { umxConfig } from './config';
import { checkUmxWeights, initUmxWeights, parameterSize, umxParameters } from './parameters';
import { umxReferenceForward } from './reference';

describe('umxParameters', () => {
  it('matches open-unmix-pytorch state_dict names and shapes (umxhq sizes)', () => {
    const specs = umxParameters(umxConfig({ hiddenSize: 512 }));
    const byName = new Map(specs.map((s) => [s.name, s.shape]));
    expect(byName.get('fc1.weight')).toEqual([512, 2 * 1487]);
    expect(byName.get('lstm.weight_ih_l0')).toEqual([1024, 512]);
    expect(byName.get('lstm.weight_hh_l2_reverse')).toEqual([1024, 256]);
    expect(byName.get('lstm.bias_hh_l1')).toEqual([1024]);
    expect(byName.get('fc2.weight')).toEqual([512, 1024]);
    expect(byName.get('fc3.weight')).toEqual([2 * 2049, 512]);
    expect(byName.get('bn3.running_var')).toEqual([2 * 2049]);
    expect(byName.get('input_mean')).toEqual([1487]);
    expect(byName.get('output_mean')).toEqual([2049]);
    // Trainable parameters of one umxhq target network (buffers excluded).
    const trainable = specs.filter((s) => s.role === 'weight').reduce((n, s) => n + parameterSize(s), 0);
    expect(trainable).toBe(8_893_348);
  });

  it('unidirectional: full hidden size per layer, no _reverse', () => {
    const specs = umxParameters(umxConfig({ hiddenSize: 8, bidirectional: false, nbLayers: 2 }));
    expect(specs.some((s) => s.name.endsWith('_reverse'))).toBe(false);
    expect(specs.find((s) => s.name === 'lstm.weight_hh_l1')?.shape).toEqual([32, 8]);
  });

  it('checkUmxWeights rejects missing, mis-sized and unknown tensors', () => {
    const c = umxConfig({ hiddenSize: 4, nFft: 16, maxBin: 6, nbLayers: 1 });
    const w = initUmxWeights(c, mulberry32(1));
    expect(() => checkUmxWeights(c, w)).not.toThrow();
    expect(() => checkUmxWeights(c, { ...w, extra: new Float32Array(1) })).toThrow(/unknown/);
    expect(() => checkUmxWeights(c, { ...w, 'fc1.weight': new Float32Array(3) })).toThrow(/fc1.weight/);
  });
});

describe('bands', () => {
  it('cover [0, maxBin) with non-empty bands, narrower at low frequencies', () => {
    for (const scale of ['mel', 'log'] as const) {
      const c = umxConfig({ input: { kind: 'bands', scale, bands: 64 } });
      const e = bandEdges(c);
      expect(e[0]).toBe(0);
      expect(e[64]).toBe(1487);
      for (let b = 0; b < 64; b++) expect(e[b + 1]).toBeGreaterThan(e[b]);
      expect(e[64] - e[63]).toBeGreaterThan(e[2] - e[1]);
      const m = bandMatrix(c);
      let total = 0;
      for (const v of m) total += v;
      expect(total).toBeCloseTo(64, 3); // each band averages its bins: column sums are 1
    }
  });
});

describe('umxReferenceForward', () => {
  const c = umxConfig({ nFft: 16, maxBin: 6, hiddenSize: 6, nbLayers: 2 });
  const frames = 5;
  const mix = Float32Array.from({ length: 2 * frames * 9 }, (_, i) => 0.1 + ((i * 7) % 11) / 10);

  it('is the output affine · mixture when fc3 is zero', () => {
    const w = initUmxWeights(c, mulberry32(2));
    w['fc3.weight'].fill(0);
    w['bn3.bias'].fill(0.5); // bn3 output = bias (running mean 0, var 1)
    w['output_scale'].fill(-2); // 0.5 · −2 + 1 = 0 → ReLU → 0 …
    w['output_scale'][3] = 2; // … except bin 3: 0.5 · 2 + 1 = 2
    const est = umxReferenceForward(c, w, mix, frames);
    for (let i = 0; i < est.length; i++) {
      expect(est[i]).toBeCloseTo(i % 9 === 3 ? 2 * mix[i] : 0, 6);
    }
  });

  it('depends on every frame through the bidirectional LSTM, and only on the past when unidirectional', () => {
    const later = mix.slice();
    for (let ch = 0; ch < 2; ch++) later[(ch * frames + frames - 1) * 9 + 1] += 1; // change the last frame
    const run = (cfg: typeof c, m: Float32Array) =>
      umxReferenceForward(cfg, initUmxWeights(cfg, mulberry32(3)), m, frames);
    const firstFrameDiff = (cfg: typeof c) => {
      const a = run(cfg, mix);
      const b = run(cfg, later);
      return Math.max(...Array.from({ length: 9 }, (_, k) => Math.abs(a[k] - b[k])));
    };
    expect(firstFrameDiff(c)).toBeGreaterThan(1e-6);
    expect(firstFrameDiff({ ...c, bidirectional: false })).toBe(0);
  });
});
