import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/core/random';
import { useBackend } from './backend';
import { trainingGradients } from './gradients';

/**
 * Each gradient the training path registers (gradients.ts) against tfjs' own for the same kernel,
 * both called directly with the tensors their configs ask to save.
 */
interface Case {
  readonly inputs: Record<string, tf.Tensor> | tf.Tensor[];
  readonly attrs: Record<string, unknown>;
  readonly run: () => tf.Tensor;
}

const random = mulberry32(4);
const t = (shape: number[]) =>
  tf.tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1),
    shape,
  );

function cases(): Record<string, Case> {
  const x = t([2, 3, 4]);
  const [a, b] = [t([3, 5]), t([3, 5])];
  const parts = [t([2, 3]), t([2, 3]), t([2, 3])];
  const uneven = [t([2, 3]), t([2, 5])];
  return {
    [tf.Tanh]: { inputs: { x }, attrs: {}, run: () => tf.tanh(x) },
    [tf.Relu]: { inputs: { x }, attrs: {}, run: () => tf.relu(x) },
    [tf.Reshape]: { inputs: { x }, attrs: { shape: [6, 4] }, run: () => tf.reshape(x, [6, 4]) },
    [tf.Transpose]: { inputs: { x }, attrs: { perm: [1, 2, 0] }, run: () => tf.transpose(x, [1, 2, 0]) },
    [tf.Pack]: { inputs: parts, attrs: { axis: 1 }, run: () => tf.stack(parts, 1) },
    [tf.Concat]: { inputs: uneven, attrs: { axis: 1 }, run: () => tf.concat(uneven, 1) },
    [tf.Add]: { inputs: { a, b }, attrs: {}, run: () => tf.add(a, b) },
    [tf.Multiply]: { inputs: { a, b }, attrs: {}, run: () => tf.mul(a, b) },
  };
}

/** What the engine hands a gradient function: the saved inputs, then the saved outputs. */
function savedFor(config: tf.GradConfig, c: Case, output: tf.Tensor): tf.Tensor[] {
  const saved: tf.Tensor[] = config.saveAllInputs
    ? Object.values(c.inputs)
    : (config.inputsToSave ?? []).map((name) => (c.inputs as Record<string, tf.Tensor>)[name]);
  if (config.outputsToSave?.[0]) saved.push(output);
  return saved;
}

function gradients(config: tf.GradConfig, c: Case, output: tf.Tensor, dy: tf.Tensor): Float32Array[] {
  const g = config.gradFunc(dy, savedFor(config, c, output), c.attrs as unknown as tf.NamedAttrMap) as Record<
    string,
    () => tf.Tensor
  >;
  return Object.keys(c.inputs).map((name) => g[name]().dataSync() as Float32Array);
}

describe('training gradients (gradients.ts) vs tfjs’ own', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  });

  it('covers every registered kernel', () => {
    expect(new Set(trainingGradients.map((g) => g.kernelName))).toEqual(new Set(Object.keys(cases())));
  });

  for (const config of trainingGradients) {
    it(config.kernelName, () => {
      const c = cases()[config.kernelName];
      const output = c.run();
      const dy = t(output.shape);
      const reference = tf.getGradient(config.kernelName);
      expect(reference, `tfjs has a ${config.kernelName} gradient`).toBeDefined();
      const ours = gradients(config, c, output, dy);
      const theirs = gradients(reference!, c, output, dy);
      expect(ours).toHaveLength(Object.keys(c.inputs).length);
      ours.forEach((g, i) => {
        expect(g.length).toBe(theirs[i].length);
        g.forEach((v, k) => {
          expect(Math.abs(v - theirs[i][k]), `${config.kernelName} input ${i} [${k}]`).toBeLessThan(1e-6);
        });
      });
    });
  }

  it('refuses the broadcasting Add and Multiply it does not implement', () => {
    const [a, b] = [t([3, 5]), t([1, 5])];
    for (const kernel of [tf.Add, tf.Multiply]) {
      const config = trainingGradients.find((g) => g.kernelName === kernel)!;
      expect(() => config.gradFunc(t([3, 5]), [a, b], {})).toThrow(/broadcasting not supported/);
    }
  });
});
