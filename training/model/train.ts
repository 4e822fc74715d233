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
   * target per head); returns the loss before it (a joint network: the sum of its heads'). Reads the
   * loss back with dataSync: wasm and cpu backends only (see stepAsync).
   */
  step(mix: tf.Tensor4D, target: tf.Tensor4D | readonly tf.Tensor4D[], seed = 0): number {
    if (this.model.heads)
      return this.applyJoint(mix, this.model.jointGrads(mix, this.targets(target), seed, this.fwd()));
    const value = this.applySingle(mix, target as tf.Tensor4D);
    const loss = value.dataSync()[0];
    value.dispose();
    return loss;
  }

  /** `step` reading the loss back asynchronously: the same update, on every backend (webgpu has no dataSync in Node). */
  async stepAsync(mix: tf.Tensor4D, target: tf.Tensor4D | readonly tf.Tensor4D[], seed = 0): Promise<number> {
    if (this.model.heads)
      return this.applyJoint(
        mix,
        await this.model.jointGradsAsync(mix, this.targets(target), seed, this.fwd()),
      );
    const value = this.applySingle(mix, target as tf.Tensor4D);
    const loss = (await value.data())[0];
    value.dispose();
    return loss;
  }

  private fwd() {
    return { dropout: this.options.dropout ?? true };
  }

  private targets(target: tf.Tensor4D | readonly tf.Tensor4D[]): readonly tf.Tensor4D[] {
    return Array.isArray(target) ? target : [target as tf.Tensor4D];
  }

  private applyJoint(mix: tf.Tensor4D, r: { losses: number[]; grads: Record<string, tf.Tensor> }): number {
    // tfjs' optimiser takes gradients by variable name.
    const byVariable = Object.fromEntries(
      Object.entries(r.grads).map(([key, g]) => [this.model.params.get(key)!.name, g]),
    );
    this.optimizer.applyGradients(byVariable as Record<string, tf.Variable>);
    this.model.updateRunningStats(mix.shape[0] * mix.shape[1]);
    tf.dispose(Object.values(r.grads));
    return r.losses.reduce((a, b) => a + b, 0);
  }

  /** Gradients and the Adam update of a one-target network; returns the loss (the caller reads and disposes it). */
  private applySingle(mix: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
    const vars = [...this.model.params.values()];
    const { value, grads } = tf.variableGrads(() => this.model.loss(mix, target, this.fwd()), vars);
    this.optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
    this.model.updateRunningStats(mix.shape[0] * mix.shape[1]);
    tf.dispose(Object.values(grads));
    return value;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
