import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type UmxConfig, umxConfig } from '../../src/core/model/config';
import { isHeadParameter, type UmxTargetWeights, umxParameters } from '../../src/core/model/parameters';
import { umxReferenceForward, umxReferenceForwardBatch } from '../../src/core/model/reference';
import { mulberry32 } from '../../src/core/random';
import { maxAbsDiff } from '../../src/core/test-compare';
import { randomTargetWeights as randomWeights } from '../export/test-weights';
import { useBackend } from './backend';
import { UmxTrainer } from './train';
import { toBatchLayout, UmxTf, withSeededRandom } from './umx-tf';

// Small sizes: 33 bins, 20 below the cut, hidden 8.
const small = (o: Partial<UmxConfig> = {}) =>
  umxConfig({ nFft: 64, maxBin: 20, hiddenSize: 8, nbLayers: 2, lstmDropout: 0, ...o });

function randomMags(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => r() * 2);
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

describe('UmxTf joint network (shared trunk, a head per target)', () => {
  const c = small({ joint: true, targets: ['vocals', 'drums', 'bass'] });
  /** Three targets' weights with one trunk: the first target's, and each its own head. */
  const jointWeights = (): Record<string, UmxTargetWeights> => {
    const trunk = randomWeights(c, 21);
    return Object.fromEntries(
      c.targets.map((t, j) => {
        const own = randomWeights(c, 30 + j);
        const w: UmxTargetWeights = {};
        for (const spec of umxParameters(c))
          w[spec.name] = isHeadParameter(spec.name) ? own[spec.name] : trunk[spec.name];
        return [t, w];
      }),
    );
  };

  it('each head equals the plain-TS reference of its target network (inference)', () => {
    const byTarget = jointWeights();
    const model = new UmxTf(c, byTarget, c.targets);
    // One trunk: the head parameters are per target, the rest once.
    expect(model.params.has('vocals/fc3.weight') && model.params.has('bass/output_mean')).toBe(true);
    expect(model.params.has('fc3.weight')).toBe(false);
    expect(model.params.has('fc1.weight')).toBe(true);
    const frames = 6;
    const r = mulberry32(8);
    const clips = [0, 1].map(() => randomMags(r, 2 * frames * c.nbBins));
    const x = tf.tensor4d(toBatchLayout(clips, 2, frames, c.nbBins), [2, frames, 2, c.nbBins]);
    const outs = model.forwardHeads(x);
    expect(outs).toHaveLength(3);
    c.targets.forEach((t, j) => {
      const expected = toBatchLayout(
        clips.map((clip) => umxReferenceForward(c, byTarget[t], clip, frames)),
        2,
        frames,
        c.nbBins,
      );
      expect(maxAbsDiff(outs[j].dataSync(), expected), t).toBeLessThan(1e-4);
    });
    // The heads differ (a shared head would pass the loop above only by accident).
    expect(maxAbsDiff(outs[0].dataSync(), outs[1].dataSync())).toBeGreaterThan(1e-3);
    expect(() => model.forward(x)).toThrow(/forwardHeads/);
    tf.dispose([x, ...outs]);
    model.dispose();
  });

  it('loss = sum of the targets’ losses; trunk gradient = sum of the separate networks’ gradients', () => {
    const byTarget = jointWeights();
    const joint = new UmxTf(c, byTarget, c.targets);
    const singles = c.targets.map((t) => new UmxTf(c, byTarget[t]));
    const r = mulberry32(12);
    const shape: [number, number, number, number] = [2, 5, 2, c.nbBins];
    const n = shape.reduce((p, q) => p * q);
    const mix = tf.tensor4d(randomMags(r, n), shape);
    const targets = c.targets.map(() => tf.tensor4d(randomMags(r, n), shape));
    const jointVars = [...joint.params.values()];
    const jg = grads(() => joint.loss(mix, targets, { dropout: false }), jointVars);
    const keys = [...joint.params.keys()];
    let sum = 0;
    const trunkSum = new Map<string, Float32Array>();
    singles.forEach((m, j) => {
      const vars = [...m.params.values()];
      const g = grads(() => m.loss(mix, targets[j], { dropout: false }), vars);
      sum += g.loss;
      [...m.params.keys()].forEach((name, i) => {
        if (isHeadParameter(name)) {
          // A head's gradient is its own network's.
          const k = keys.indexOf(`${c.targets[j]}/${name}`);
          expect(maxAbsDiff(jg.g[k], g.g[i]), name).toBeLessThan(1e-4 * Math.max(1, ...g.g[i].map(Math.abs)));
        } else {
          const acc = trunkSum.get(name) ?? new Float32Array(g.g[i].length);
          g.g[i].forEach((v, q) => {
            acc[q] += v;
          });
          trunkSum.set(name, acc);
        }
      });
      m.clearStats();
    });
    expect(Math.abs(jg.loss - sum) / sum).toBeLessThan(1e-5);
    for (const [name, acc] of trunkSum) {
      const k = keys.indexOf(name);
      expect(maxAbsDiff(jg.g[k], acc), name).toBeLessThan(1e-4 * Math.max(1, ...acc.map(Math.abs)));
    }
    // exportHeads: one set per target, the trunk shared by reference, the heads as trained.
    joint.clearStats();
    const out = joint.exportHeads();
    expect(out.drums['fc1.weight']).toBe(out.vocals['fc1.weight']);
    expect(maxAbsDiff(out.bass['fc3.weight'], byTarget.bass['fc3.weight'])).toBe(0);
    tf.dispose([mix, ...targets]);
    joint.dispose();
    for (const m of singles) m.dispose();
  });

  it('refuses weights with a missing head', () => {
    const byTarget = jointWeights();
    delete byTarget.bass;
    expect(() => new UmxTf(c, byTarget, c.targets)).toThrow(/no weights for head "bass"/);
  });
});

describe('UmxTf.jointGrads (one head at a time)', () => {
  /** A 3-target joint network (random heads, one shared trunk) and a random batch for it. */
  function jointProblem(model: Partial<UmxConfig>, weightSeed: number, dataSeed: number) {
    const c = small({ joint: true, targets: ['vocals', 'drums', 'bass'], ...model });
    const byTarget = Object.fromEntries(c.targets.map((t, j) => [t, randomWeights(c, weightSeed + j)]));
    for (const t of c.targets.slice(1)) {
      for (const name of Object.keys(byTarget.vocals))
        if (!isHeadParameter(name)) byTarget[t][name] = byTarget.vocals[name];
    }
    const r = mulberry32(dataSeed);
    const shape: [number, number, number, number] = [2, 5, 2, c.nbBins];
    const n = shape.reduce((p, q) => p * q);
    return {
      model: new UmxTf(c, byTarget, c.targets),
      mix: tf.tensor4d(randomMags(r, n), shape),
      targets: c.targets.map(() => tf.tensor4d(randomMags(r, n), shape)),
    };
  }

  it('equals the gradients of the summed loss taken in one tape, with dropout', () => {
    const { model, mix, targets } = jointProblem({ nbLayers: 3, lstmDropout: 0.3 }, 50, 17);
    const keys = [...model.params.keys()];
    const oneTape = withSeededRandom(5, () =>
      grads(() => model.loss(mix, targets), [...model.params.values()]),
    );
    model.clearStats();
    const split = model.jointGrads(mix, targets, 5);
    const total = split.losses.reduce((a, b) => a + b, 0);
    expect(Math.abs(total - oneTape.loss) / oneTape.loss).toBeLessThan(1e-5);
    keys.forEach((k, i) => {
      const g = split.grads[k];
      expect(g, k).toBeDefined();
      // input_mean's gradient is ≈ 0 (bn1 removes a constant shift): compare it on an absolute floor.
      const scale = Math.max(1e-3, ...oneTape.g[i].map(Math.abs));
      expect(maxAbsDiff(g.dataSync(), oneTape.g[i]) / scale, k).toBeLessThan(1e-4);
    });
    // Dropout was on: another seed gives other trunk gradients.
    model.clearStats();
    const other = model.jointGrads(mix, targets, 6);
    expect(
      maxAbsDiff(other.grads['fc1.weight'].dataSync(), split.grads['fc1.weight'].dataSync()),
    ).toBeGreaterThan(0);
    tf.dispose([mix, ...targets, ...Object.values(split.grads), ...Object.values(other.grads)]);
    model.clearStats();
    model.dispose();
  });

  it('with sumLossWeight μ: the gradients of Σ MSE(ŷ_j − y_j) + μ · MSE(Σ_j (ŷ_j − y_j)) in one tape', async () => {
    const { model, mix, targets } = jointProblem({ nbLayers: 2, lstmDropout: 0 }, 70, 23);
    const mu = 0.7;
    const keys = [...model.params.keys()];
    // The reference: the combined loss written out on the heads' estimates in one tape, with tfjs'
    // own gradients (the training path registers only the few it needs; this is the file's last test).
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
    const oneTape = grads(() => {
      const errors = model.forwardHeads(mix, { training: true }).map((y, j) => tf.sub(y, targets[j]));
      const mse = (e: tf.Tensor) => tf.mean(tf.square(e));
      const sum = errors.reduce((a, b) => tf.add(a, b));
      return tf.add(
        errors.map(mse).reduce((a, b) => tf.add(a, b)),
        tf.mul(mu, mse(sum)),
      ) as tf.Scalar;
    }, [...model.params.values()]);
    model.clearStats();
    const tensorsBefore = tf.memory().numTensors;
    const split = model.jointGrads(mix, targets, 5, {}, mu);
    expect(split.losses).toHaveLength(3);
    expect(split.sumLoss).toBeGreaterThan(0);
    const total = split.losses.reduce((a, b) => a + b, 0) + mu * (split.sumLoss ?? Number.NaN);
    expect(Math.abs(total - oneTape.loss) / oneTape.loss).toBeLessThan(1e-5);
    keys.forEach((k, i) => {
      const scale = Math.max(1e-3, ...oneTape.g[i].map(Math.abs));
      expect(maxAbsDiff(split.grads[k].dataSync(), oneTape.g[i]) / scale, k).toBeLessThan(1e-4);
    });
    // Nothing left behind but the returned gradients (and the pending BatchNorm statistics).
    model.clearStats();
    expect(tf.memory().numTensors - Object.keys(split.grads).length).toBe(tensorsBefore);
    // The term changes the gradients: without it they differ.
    const plain = model.jointGrads(mix, targets, 5);
    expect(plain.sumLoss).toBeUndefined();
    expect(
      maxAbsDiff(plain.grads['fc1.weight'].dataSync(), split.grads['fc1.weight'].dataSync()),
    ).toBeGreaterThan(1e-3 * Math.max(...split.grads['fc1.weight'].dataSync().map(Math.abs)));
    expect(() => model.jointGrads(mix, targets, 5, {}, -1)).toThrow(/sumLossWeight/);
    tf.dispose([mix, ...targets, ...Object.values(split.grads), ...Object.values(plain.grads)]);
    model.clearStats();
    model.dispose();
  });
});
