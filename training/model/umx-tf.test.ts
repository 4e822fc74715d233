import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type UmxConfig, umxConfig } from '../../src/core/model/config';
import { initUmxWeights, type UmxTargetWeights, umxParameters } from '../../src/core/model/parameters';
import { umxReferenceForward, umxReferenceForwardBatch } from '../../src/core/model/reference';
import { mulberry32 } from '../../src/core/random';
import { useBackend } from './backend';
import { UmxTrainer } from './train';
import { toBatchLayout, UmxTf } from './umx-tf';

// Small sizes: 33 bins, 20 below the cut, hidden 8.
const small = (o: Partial<UmxConfig> = {}) =>
  umxConfig({ nFft: 64, maxBin: 20, hiddenSize: 8, nbLayers: 2, lstmDropout: 0, ...o });

/** PyTorch init, then every BN statistic and input/output affine moved off its default. */
function randomWeights(c: UmxConfig, seed: number): UmxTargetWeights {
  const r = mulberry32(seed);
  const w = initUmxWeights(c, r);
  for (const spec of umxParameters(c)) {
    const d = w[spec.name];
    if (spec.name.endsWith('running_var') || spec.name === 'input_scale')
      for (let i = 0; i < d.length; i++) d[i] = 0.5 + r();
    else if (spec.init.kind !== 'uniform') for (let i = 0; i < d.length; i++) d[i] += 0.4 * (r() - 0.5);
  }
  return w;
}

function randomMags(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => r() * 2);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('UmxTf inference forward = plain-TS reference', () => {
  const cases: [string, Partial<UmxConfig>][] = [
    ['bidirectional, linear input', {}],
    ['unidirectional, 3 layers', { bidirectional: false, nbLayers: 3 }],
    ['mel bands', { input: { kind: 'bands', scale: 'mel', bands: 7 } }],
  ];
  for (const [name, overrides] of cases) {
    it(name, () => {
      const c = small(overrides);
      const w = randomWeights(c, 11);
      const [batch, frames] = [2, 6];
      const r = mulberry32(5);
      const clips = [0, 1].map(() => randomMags(r, 2 * frames * c.nbBins));
      const model = new UmxTf(c, w);
      const x = tf.tensor4d(toBatchLayout(clips, 2, frames, c.nbBins), [batch, frames, 2, c.nbBins]);
      const got = model.forward(x);
      const expected = toBatchLayout(
        clips.map((clip) => umxReferenceForward(c, w, clip, frames)),
        2,
        frames,
        c.nbBins,
      );
      const out = got.dataSync();
      expect(maxAbsDiff(out, expected)).toBeLessThan(1e-4);
      expect(Math.max(...expected)).toBeGreaterThan(0.1); // not a trivially zero output
      tf.dispose([x, got]);
      model.dispose();
    });
  }
});

/** Gradients of f w.r.t. xs, as arrays. */
function grads(f: () => tf.Scalar, xs: tf.Variable[]): { loss: number; g: Float32Array[] } {
  const { value, grads: gs } = tf.variableGrads(f, xs);
  const out = { loss: value.dataSync()[0], g: xs.map((v) => gs[v.name].dataSync() as Float32Array) };
  tf.dispose([value, ...Object.values(gs)]);
  return out;
}

describe('UmxTf training loss and gradients = float64 reference with finite differences', () => {
  for (const [name, overrides] of [
    ['bidirectional, linear input', {}],
    [
      'unidirectional, log bands, 3 layers',
      { bidirectional: false, nbLayers: 3, input: { kind: 'bands', scale: 'log', bands: 6 } },
    ],
  ] as [string, Partial<UmxConfig>][]) {
    it(name, () => {
      const c = small(overrides);
      const w = randomWeights(c, 3);
      const model = new UmxTf(c, w);
      const r = mulberry32(9);
      const [batch, frames] = [3, 5];
      const size = 2 * frames * c.nbBins;
      const mixClips = [0, 1, 2].map(() => randomMags(r, size));
      const targetClips = mixClips.map((m) => m.map((v) => v * r()));
      const shape: [number, number, number, number] = [batch, frames, 2, c.nbBins];
      const mix = tf.tensor4d(toBatchLayout(mixClips, 2, frames, c.nbBins), shape);
      const target = tf.tensor4d(toBatchLayout(targetClips, 2, frames, c.nbBins), shape);
      const vars = [...model.params.values()];
      const fast = grads(() => model.loss(mix, target, { dropout: false }), vars);
      model.clearStats();

      // Open-Unmix's loss in float64: MSE over all values, BatchNorm on batch statistics.
      const refLoss = (weights: UmxTargetWeights) => {
        const est = umxReferenceForwardBatch(c, weights, mixClips, frames, true);
        let s = 0;
        est.forEach((e, b) => {
          for (let i = 0; i < e.length; i++) s += (e[i] - targetClips[b][i]) ** 2;
        });
        return s / (batch * size);
      };
      const l0 = refLoss(w);
      expect(Math.abs(fast.loss - l0) / l0).toBeLessThan(1e-5);

      // Central differences on 3 random entries of every trainable tensor.
      const names = [...model.params.keys()];
      names.forEach((pname, pi) => {
        const g = fast.g[pi];
        const scale = Math.max(...g.map(Math.abs));
        for (let k = 0; k < 3; k++) {
          const i = Math.floor(r() * g.length);
          const orig = w[pname][i];
          const plus = { ...w, [pname]: w[pname].slice() };
          const minus = { ...w, [pname]: w[pname].slice() };
          plus[pname][i] = orig + 1e-3;
          minus[pname][i] = orig - 1e-3;
          const fd = (refLoss(plus) - refLoss(minus)) / (plus[pname][i] - minus[pname][i]);
          expect(Math.abs(fd - g[i]), `${pname}[${i}]: fd ${fd}, tfjs ${g[i]}`).toBeLessThan(
            2e-3 * scale + 1e-7,
          );
        }
      });
      tf.dispose([mix, target]);
      model.dispose();
    });
  }
});

describe('UmxTrainer', () => {
  it('one Adam step lowers the loss and moves the running statistics', () => {
    const c = small();
    const model = new UmxTf(c, randomWeights(c, 4));
    const trainer = new UmxTrainer(model, { learningRate: 1e-2, dropout: false });
    const r = mulberry32(2);
    const shape: [number, number, number, number] = [2, 4, 2, c.nbBins];
    const n = shape.reduce((p, q) => p * q);
    const mixData = randomMags(r, n);
    const mix = tf.tensor4d(mixData, shape);
    const target = tf.tensor4d(
      mixData.map((m, i) => m * (i % 3 === 0 ? 0.8 : 0.1)),
      shape,
    );
    const before = model.buffers.get('bn2.running_mean')!.dataSync().slice();
    const l0 = trainer.step(mix, target);
    const after = model.buffers.get('bn2.running_mean')!.dataSync();
    const l1 = tf.tidy(() => model.loss(mix, target).dataSync()[0]);
    model.clearStats();
    expect(l1).toBeLessThan(l0);
    expect(maxAbsDiff(before, after)).toBeGreaterThan(1e-4);
    tf.dispose([mix, target]);
    trainer.dispose();
    model.dispose();
  });
});
