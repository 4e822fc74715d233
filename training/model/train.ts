/**
 * One optimisation step of a UmxTf network (one target, or a joint network's heads): Open-Unmix's recipe (MSE on magnitudes, Adam,
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

  /**
   * One Adam step on a batch (mix, target: [batch, frames, channels, bins]; a joint network: one
   * target per head); returns the loss before it (a joint network: the sum of its heads').
   */
  step(mix: tf.Tensor4D, target: tf.Tensor4D | readonly tf.Tensor4D[], seed = 0): number {
    if (this.model.heads) {
      const targets = Array.isArray(target) ? target : [target as tf.Tensor4D];
      const { losses, grads } = this.model.jointGrads(mix, targets, seed, {
        dropout: this.options.dropout ?? true,
      });
      // tfjs' optimiser takes gradients by variable name.
      const byVariable = Object.fromEntries(
        Object.entries(grads).map(([key, g]) => [this.model.params.get(key)!.name, g]),
      );
      this.optimizer.applyGradients(byVariable as Record<string, tf.Variable>);
      this.model.updateRunningStats(mix.shape[0] * mix.shape[1]);
      tf.dispose(Object.values(grads));
      return losses.reduce((a, b) => a + b, 0);
    }
    const vars = [...this.model.params.values()];
    const { value, grads } = tf.variableGrads(
      () => this.model.loss(mix, target as tf.Tensor4D, { dropout: this.options.dropout ?? true }),
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
