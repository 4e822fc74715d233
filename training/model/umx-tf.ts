/**
 * Open-Unmix (one target network) in TensorFlow.js, for training in Node. Same architecture, names
 * and PyTorch weight layouts as src/core/model (whose plain-TS forward is the reference this is
 * tested against). Lives under training/ because the extension runs inference with onnxruntime-web:
 * tfjs and these custom gradients never ship in it.
 *
 * Tensor layout: spectrogram batches are [batch, frames, channels, nbBins] magnitudes, so that every
 * row (batch, frame) of the dense layers is one contiguous slice; `toBatchLayout` converts clips in
 * the core's [channel][frame][bin] layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bandMatrix } from '../../src/core/model/bands';
import { inputFeatures, type UmxConfig } from '../../src/core/model/config';
import { checkUmxWeights, type UmxTargetWeights, umxParameters } from '../../src/core/model/parameters';
import { lstmLayer } from './lstm';
import { type BatchStats, batchNormTrain, dense, normalizedDense, outputMaskMse } from './ops';

export interface ForwardOptions {
  /** BatchNorm on batch statistics (and LSTM dropout when `dropout`); false: running statistics. */
  readonly training: boolean;
  /** Apply config.lstmDropout between LSTM layers (training only; default true when training). */
  readonly dropout?: boolean;
}

/** Stacks clips in the core layout [channel][frame][bin] into one [batch, frames, channels, bins] array. */
export function toBatchLayout(
  clips: readonly Float32Array[],
  channels: number,
  frames: number,
  bins: number,
): Float32Array {
  const out = new Float32Array(clips.length * frames * channels * bins);
  clips.forEach((clip, b) => {
    if (clip.length !== channels * frames * bins)
      throw new Error(`toBatchLayout: clip ${b} has ${clip.length} values`);
    for (let c = 0; c < channels; c++) {
      for (let t = 0; t < frames; t++) {
        const src = (c * frames + t) * bins;
        out.set(clip.subarray(src, src + bins), ((b * frames + t) * channels + c) * bins);
      }
    }
  });
  return out;
}

let instances = 0;

export class UmxTf {
  readonly config: UmxConfig;
  /** Trainable parameters by PyTorch state_dict name. */
  readonly params = new Map<string, tf.Variable>();
  /** BatchNorm running statistics (not trained by the optimiser). */
  readonly buffers = new Map<string, tf.Variable>();
  private readonly bands: tf.Tensor2D | null;
  /** Batch statistics recorded by the last training-mode forward: BN name → stats. */
  private pendingStats = new Map<string, BatchStats>();

  constructor(config: UmxConfig, weights: UmxTargetWeights) {
    checkUmxWeights(config, weights);
    this.config = config;
    instances++;
    for (const spec of umxParameters(config)) {
      const t = tf.tensor(weights[spec.name], [...spec.shape]);
      // tfjs variable names are global: prefix with an instance number, keep the map keys PyTorch's.
      const v = tf.variable(t, spec.role === 'weight', `umx${instances}/${spec.name}`);
      t.dispose();
      (spec.role === 'weight' ? this.params : this.buffers).set(spec.name, v);
    }
    this.bands =
      config.input.kind === 'bands'
        ? tf.tensor2d(bandMatrix(config), [config.maxBin, config.input.bands])
        : null;
  }

  private p<R extends tf.Rank>(name: string): tf.Tensor<R> {
    const v = this.params.get(name) ?? this.buffers.get(name);
    if (!v) throw new Error(`UmxTf: no parameter ${name}`);
    return v as unknown as tf.Tensor<R>;
  }

  /**
   * Everything up to fc3: mix [B, T, C, nbBins] → [B·T, C·nbBins] (before bn3), rows batch-major.
   */
  private trunk(mix: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
    const c = this.config;
    const [batch, frames, channels] = mix.shape;
    if (channels !== c.nbChannels || mix.shape[3] !== c.nbBins) {
      throw new Error(`UmxTf: expected [batch, frames, ${c.nbChannels}, ${c.nbBins}], got [${mix.shape}]`);
    }
    const n = batch * frames;
    const hidden = c.hiddenSize;

    // Crop to maxBin (or average into bands): [B·T, C·features].
    let x = tf.slice(mix, [0, 0, 0, 0], [batch, frames, channels, c.maxBin]);
    if (this.bands)
      x = tf.reshape(tf.matMul(tf.reshape(x, [-1, c.maxBin]), this.bands), [batch, frames, channels, -1]);
    const x2 = tf.reshape(x, [n, channels * inputFeatures(c)]) as tf.Tensor2D;

    // (x + input_mean) · input_scale → fc1 → bn1 → tanh.
    const mean = this.p<tf.Rank.R1>('input_mean');
    const scale = this.p<tf.Rank.R1>('input_scale');
    const fc1 = this.p<tf.Rank.R2>('fc1.weight');
    const h1 = normalizedDense(x2, channels)(mean, scale, fc1);
    const a1 = tf.tanh(this.batchNorm(h1 as tf.Tensor2D, 'bn1', opts));

    // LSTM stack, time-major [T, B, hidden].
    const seq0 = tf.transpose(tf.reshape(a1, [batch, frames, hidden]), [1, 0, 2]) as tf.Tensor3D;
    let seq = seq0;
    const suffixes = c.bidirectional ? ['', '_reverse'] : [''];
    for (let layer = 0; layer < c.nbLayers; layer++) {
      if (layer > 0 && opts.training && (opts.dropout ?? true) && c.lstmDropout > 0) {
        seq = tf.dropout(seq, c.lstmDropout) as tf.Tensor3D;
      }
      const stack = (kind: string) => tf.stack(suffixes.map((s) => this.p(`lstm.${kind}_l${layer}${s}`)));
      const bias = tf.add(stack('bias_ih'), stack('bias_hh')) as tf.Tensor2D;
      const wih = stack('weight_ih') as tf.Tensor3D;
      const whh = stack('weight_hh') as tf.Tensor3D;
      seq = lstmLayer(seq, wih, whh, bias);
    }

    // Skip connection, back to batch-major rows: [B·T, 2·hidden] → fc2 → bn2 → ReLU → fc3.
    const cat = tf.reshape(tf.transpose(tf.concat([seq0, seq], 2), [1, 0, 2]), [
      n,
      2 * hidden,
    ]) as tf.Tensor2D;
    const linear = (v: tf.Tensor2D, w: string) => dense(v, this.p<tf.Rank.R2>(w));
    const a2 = tf.relu(this.batchNorm(linear(cat, 'fc2.weight'), 'bn2', opts)) as tf.Tensor2D;
    return linear(a2, 'fc3.weight');
  }

  private batchNorm(x: tf.Tensor2D, name: string, opts: ForwardOptions): tf.Tensor2D {
    const gamma = this.p(`${name}.weight`);
    const beta = this.p(`${name}.bias`);
    if (!opts.training) {
      const rstd = tf.rsqrt(tf.add(this.p(`${name}.running_var`), this.config.bnEps));
      return tf.add(
        tf.mul(tf.sub(x, this.p(`${name}.running_mean`)), tf.mul(rstd, gamma)),
        beta,
      ) as tf.Tensor2D;
    }
    const holder: { current?: BatchStats } = {};
    const y = batchNormTrain(this.config.bnEps, holder)(x, gamma as tf.Tensor1D, beta as tf.Tensor1D);
    this.takeStats(name, holder);
    return y;
  }

  private takeStats(name: string, holder: { current?: BatchStats }): void {
    if (!holder.current) return;
    this.recordStats(name, holder.current.mean, holder.current.variance);
    holder.current.mean.dispose();
    holder.current.variance.dispose();
  }

  private recordStats(name: string, mean: tf.Tensor1D, variance: tf.Tensor1D): void {
    this.pendingStats.get(name)?.mean.dispose();
    this.pendingStats.get(name)?.variance.dispose();
    this.pendingStats.set(name, { mean: tf.keep(mean.clone()), variance: tf.keep(variance.clone()) });
  }

  /** bn3 → reshape → · output_scale + output_mean → ReLU → · mix, on fc3's output y [B·T, C·bins]. */
  private outputMask(y: tf.Tensor2D, mix: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
    const u = tf.reshape(this.batchNorm(y, 'bn3', opts), mix.shape);
    return tf.mul(tf.relu(tf.add(tf.mul(u, this.p('output_scale')), this.p('output_mean'))), mix);
  }

  /** The target magnitude estimate [B, T, C, nbBins] for mixture magnitudes of the same shape. */
  forward(mix: tf.Tensor4D, opts: ForwardOptions = { training: false }): tf.Tensor4D {
    return tf.tidy(() => this.outputMask(this.trunk(mix, opts), mix, opts));
  }

  /**
   * Training loss, Open-Unmix's: MSE between estimated and target magnitudes over all bins.
   * Training-mode BatchNorm; call `updateRunningStats()` after the optimiser step.
   */
  loss(mix: tf.Tensor4D, target: tf.Tensor4D, opts: Omit<ForwardOptions, 'training'> = {}): tf.Scalar {
    const o: ForwardOptions = { ...opts, training: true };
    return tf.tidy(() => {
      const [b, t, ch, bins] = mix.shape;
      const y = this.trunk(mix, o);
      const holder: { current?: BatchStats } = {};
      const rows: [number, number] = [b * t, ch * bins];
      const loss = outputMaskMse(
        tf.reshape(mix, rows) as tf.Tensor2D,
        tf.reshape(target, rows) as tf.Tensor2D,
        ch,
        this.config.bnEps,
        holder,
      )(y, this.p('bn3.weight'), this.p('bn3.bias'), this.p('output_scale'), this.p('output_mean'));
      this.takeStats('bn3', holder);
      return loss;
    });
  }

  /**
   * PyTorch BatchNorm1d running averages from the last training forward: running = (1 − m)·running +
   * m·batch, with the unbiased batch variance (rows = samples in that batch).
   */
  updateRunningStats(rows: number): void {
    const m = this.config.bnMomentum;
    tf.tidy(() => {
      for (const [name, s] of this.pendingStats) {
        const rm = this.buffers.get(`${name}.running_mean`)!;
        const rv = this.buffers.get(`${name}.running_var`)!;
        rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(s.mean, m)));
        rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(s.variance, (m * rows) / Math.max(rows - 1, 1))));
      }
    });
    this.clearStats();
  }

  clearStats(): void {
    for (const s of this.pendingStats.values()) {
      s.mean.dispose();
      s.variance.dispose();
    }
    this.pendingStats.clear();
  }

  /** Current weights (parameters and buffers) as a plain container, e.g. for the reference or export. */
  exportWeights(): UmxTargetWeights {
    const out: UmxTargetWeights = {};
    for (const [name, v] of [...this.params, ...this.buffers]) out[name] = v.dataSync() as Float32Array;
    return out;
  }

  dispose(): void {
    this.clearStats();
    for (const v of [...this.params.values(), ...this.buffers.values()]) v.dispose();
    this.bands?.dispose();
  }
}
