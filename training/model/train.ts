/**
 * One optimisation step of a UmxTf target network: Open-Unmix's recipe (MSE on magnitudes, Adam,
 * lr 1e-3). Weight decay (Open-Unmix: 1e-5) is not applied: tfjs' Adam has none.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { UmxTf } from './umx-tf';

export interface TrainerOptions {
  readonly learningRate?: number;
  /** Forwarded to UmxTf.loss (e.g. dropout off for deterministic tests). */
  readonly dropout?: boolean;
}

export class UmxTrainer {
  readonly optimizer: tf.AdamOptimizer;

  constructor(
    readonly model: UmxTf,
    private readonly options: TrainerOptions = {},
  ) {
    this.optimizer = tf.train.adam(options.learningRate ?? 1e-3);
  }

  /** One Adam step on a batch (mix, target: [batch, frames, channels, bins]); returns the loss before it. */
  step(mix: tf.Tensor4D, target: tf.Tensor4D): number {
    const vars = [...this.model.params.values()];
    const { value, grads } = tf.variableGrads(
      () => this.model.loss(mix, target, { dropout: this.options.dropout ?? true }),
      vars,
    );
    this.optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
    this.model.updateRunningStats(mix.shape[0] * mix.shape[1]);
    const loss = value.dataSync()[0];
    value.dispose();
    tf.dispose(Object.values(grads));
    return loss;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
