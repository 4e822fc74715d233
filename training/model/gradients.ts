/**
 * Gradients of the few tfjs kernels that the training path differentiates outside its custom ops
 * (ops.ts, lstm.ts). tfjs-core registers no gradients itself, and its register_all_gradients module
 * is published only as ES modules with directory imports, which Node cannot load. These are
 * registered only where no gradient exists yet (e.g. the test suite loads tfjs' own set through
 * vitest, and gradients.test.ts compares each of these with tfjs').
 * Only what the training path needs: same-shape Add/Multiply (no broadcasting).
 */
import * as tf from '@tensorflow/tfjs-core';

const sameShape = (kernel: string, a: tf.Tensor, b: tf.Tensor) => {
  if (!tf.util.arraysEqual(a.shape, b.shape))
    throw new Error(`${kernel} gradient: broadcasting not supported`);
};

export const trainingGradients: tf.GradConfig[] = [
  {
    kernelName: tf.Tanh,
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved;
      return { x: () => tf.mul(dy as tf.Tensor, tf.sub(1, tf.square(y))) };
    },
  },
  {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return { x: () => tf.mul(dy as tf.Tensor, tf.step(x)) };
    },
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return { x: () => tf.reshape(dy as tf.Tensor, x.shape) };
    },
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const perm = (attrs as unknown as tf.TransposeAttrs).perm;
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => {
        inverse[p] = i;
      });
      return { x: () => tf.transpose(dy as tf.Tensor, inverse) };
    },
  },
  {
    kernelName: tf.Pack,
    saveAllInputs: true,
    gradFunc: (dy, _saved, attrs) => {
      const parts = tf.unstack(dy as tf.Tensor, (attrs as unknown as tf.PackAttrs).axis);
      return Object.fromEntries(parts.map((p, i) => [i, () => p]));
    },
  },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = tf.util.parseAxisParam((attrs as unknown as tf.ConcatAttrs).axis, saved[0].shape)[0];
      const parts = tf.split(
        dy as tf.Tensor,
        saved.map((t) => t.shape[axis]),
        axis,
      );
      return Object.fromEntries(parts.map((p, i) => [i, () => p]));
    },
  },
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      sameShape('Add', saved[0], saved[1]);
      return { a: () => dy as tf.Tensor, b: () => dy as tf.Tensor };
    },
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      sameShape('Multiply', a, b);
      return { a: () => tf.mul(dy as tf.Tensor, b), b: () => tf.mul(dy as tf.Tensor, a) };
    },
  },
];

for (const config of trainingGradients) {
  if (tf.getGradient(config.kernelName) == null) tf.registerGradient(config);
}
