/**
 * Open-Unmix (one target network, or a joint network with one head per target) in TensorFlow.js, for
 * training in Node. Same architecture, names
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
import { inputFeatures, lstmDirectionSuffixes, type UmxConfig } from '../../src/core/model/config';
import {
  checkUmxWeights,
  isHeadParameter,
  type UmxTargetWeights,
  umxParameters,
} from '../../src/core/model/parameters';
import { mulberry32 } from '../../src/core/random';
import type { NetworkName } from '../../src/core/stems';
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

/** `UmxTf.jointGrads` before its losses are read back: kept scalars, disposed by `finishJoint`. */
interface JointGradTensors {
  readonly losses: tf.Scalar[];
  readonly sumLoss?: tf.Scalar;
  readonly grads: Record<string, tf.Tensor>;
}

/** jointGrads' result from the values read back; disposes the loss scalars. */
function finishJoint(
  r: JointGradTensors,
  losses: number[],
  sumLoss: number | undefined,
): { losses: number[]; sumLoss?: number; grads: Record<string, tf.Tensor> } {
  tf.dispose([...r.losses, ...(r.sumLoss ? [r.sumLoss] : [])]);
  return sumLoss === undefined ? { losses, grads: r.grads } : { losses, sumLoss, grads: r.grads };
}

/** A head's trainable tensors, in the order `outputMaskMse` (after fc3) takes them. */
const HEAD_TRAINABLE = ['fc3.weight', 'bn3.weight', 'bn3.bias', 'output_scale', 'output_mean'] as const;

/** Runs `fn` with Math.random replaced by mulberry32(seed): tfjs' unseeded dropout becomes reproducible. */
export function withSeededRandom<T>(seed: number, fn: () => T): T {
  const saved = Math.random;
  Math.random = mulberry32(seed);
  try {
    return fn();
  } finally {
    Math.random = saved;
  }
}

/**
 * A parameter's key in a UmxTf: its state_dict name, prefixed `<target>/` for a joint network's head
 * parameters (fc3, bn3, output affine), so one map holds every head. The optimiser state and the
 * checkpoint use the same keys.
 */
export function parameterKey(heads: readonly string[] | null, head: string, name: string): string {
  return heads && isHeadParameter(name) ? `${head}/${name}` : name;
}

/** Tensors by UmxTf parameter key → one set per target (a joint network's trunk shared by reference). */
export function splitHeads(
  config: UmxConfig,
  heads: readonly string[] | null,
  target: string,
  byKey: Readonly<Record<string, Float32Array>>,
): UmxTargetWeights {
  const out: UmxTargetWeights = {};
  for (const spec of umxParameters(config)) {
    const v = byKey[parameterKey(heads, target, spec.name)];
    if (v) out[spec.name] = v;
  }
  return out;
}

/** The inverse of `splitHeads`: the trunk from the first head's set, each head's own tensors. */
export function joinHeads(
  config: UmxConfig,
  heads: readonly string[],
  byTarget: Readonly<Record<string, UmxTargetWeights>>,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const head of heads) {
    const w = byTarget[head];
    if (!w) throw new Error(`UmxTf: no weights for head "${head}"`);
    for (const spec of umxParameters(config)) {
      if (head !== heads[0] && !isHeadParameter(spec.name)) continue;
      if (w[spec.name]) out[parameterKey(heads, head, spec.name)] = w[spec.name];
    }
  }
  return out;
}

/**
 * What the training loop optimises as one: each target's network, or the one joint network of all
 * targets (`config.joint`). A unit has one optimiser, learning rate and early-stopping state.
 */
export interface TrainingUnit {
  /** The target's name, or `joint`. */
  readonly name: string;
  readonly targets: readonly NetworkName[];
  /** The joint network's heads (= targets); null for a single-target network. */
  readonly heads: readonly NetworkName[] | null;
}

export function trainingUnits(c: UmxConfig): TrainingUnit[] {
  if (c.joint) return [{ name: 'joint', targets: [...c.targets], heads: [...c.targets] }];
  return c.targets.map((t) => ({ name: t, targets: [t], heads: null }));
}

/** A unit's network from per-target weights. */
export function unitModel(
  c: UmxConfig,
  unit: TrainingUnit,
  weights: Partial<Record<NetworkName, UmxTargetWeights>>,
): UmxTf {
  if (unit.heads) return new UmxTf(c, weights as Record<string, UmxTargetWeights>, unit.heads);
  const w = weights[unit.targets[0]];
  if (!w) throw new Error(`UmxTf: no weights for "${unit.targets[0]}"`);
  return new UmxTf(c, w);
}

export class UmxTf {
  readonly config: UmxConfig;
  /**
   * null: one target network (`new UmxTf(config, weights)`); otherwise the targets of a joint network,
   * whose heads share the trunk (`new UmxTf(config, weightsByTarget, heads)`).
   */
  readonly heads: readonly string[] | null;
  /** Trainable parameters by `parameterKey` (PyTorch state_dict names, heads prefixed). */
  readonly params = new Map<string, tf.Variable>();
  /** BatchNorm running statistics (not trained by the optimiser). */
  readonly buffers = new Map<string, tf.Variable>();
  private readonly bands: tf.Tensor2D | null;
  /** Batch statistics recorded by the last training-mode forward: BN name → stats. */
  private pendingStats = new Map<string, BatchStats>();

  constructor(config: UmxConfig, weights: UmxTargetWeights);
  constructor(
    config: UmxConfig,
    weights: Readonly<Record<string, UmxTargetWeights>>,
    heads: readonly string[],
  );
  constructor(
    config: UmxConfig,
    weights: UmxTargetWeights | Readonly<Record<string, UmxTargetWeights>>,
    heads?: readonly string[],
  ) {
    this.config = config;
    this.heads = heads ? [...heads] : null;
    if (heads && heads.length === 0) throw new Error('UmxTf: a joint network needs at least one head');
    const byHead = (h: string): UmxTargetWeights =>
      heads ? (weights as Record<string, UmxTargetWeights>)[h] : (weights as UmxTargetWeights);
    for (const h of heads ?? ['']) {
      if (heads && !byHead(h)) throw new Error(`UmxTf: no weights for head "${h}"`);
      checkUmxWeights(config, byHead(h));
    }
    instances++;
    for (const spec of umxParameters(config)) {
      // Trunk parameters once (from the first head's set), head parameters once per head.
      const owners = isHeadParameter(spec.name) ? (heads ?? ['']) : [heads?.[0] ?? ''];
      for (const h of owners) {
        const key = parameterKey(this.heads, h, spec.name);
        const t = tf.tensor(byHead(h)[spec.name], [...spec.shape]);
        // tfjs variable names are global: prefix with an instance number, keep the map keys PyTorch's.
        const v = tf.variable(t, spec.role === 'weight', `umx${instances}/${key}`);
        t.dispose();
        (spec.role === 'weight' ? this.params : this.buffers).set(key, v);
      }
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
   * The trunk, everything before fc3: mix [B, T, C, nbBins] → [B·T, hidden] (after fc2, bn2, ReLU),
   * rows batch-major.
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
    const suffixes = lstmDirectionSuffixes(c);
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
    return tf.relu(this.batchNorm(dense(cat, this.p<tf.Rank.R2>('fc2.weight')), 'bn2', opts)) as tf.Tensor2D;
  }

  /** The targets' heads in order: one head, '', for a single-target network. */
  private headNames(): readonly string[] {
    return this.heads ?? [''];
  }

  private key(head: string, name: string): string {
    return parameterKey(this.heads, head, name);
  }

  /** A head's bn3 (the prefix of its four tensors' keys). */
  private bn3(head: string): string {
    return this.heads ? `${head}/bn3` : 'bn3';
  }

  /** A head's fc3 on the trunk's output: [B·T, C·nbBins] (before bn3). */
  private fc3(a2: tf.Tensor2D, head: string): tf.Tensor2D {
    return dense(a2, this.p<tf.Rank.R2>(this.key(head, 'fc3.weight')));
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
  private outputMask(y: tf.Tensor2D, mix: tf.Tensor4D, opts: ForwardOptions, head: string): tf.Tensor4D {
    const u = tf.reshape(this.batchNorm(y, this.bn3(head), opts), mix.shape);
    return tf.mul(
      tf.relu(
        tf.add(tf.mul(u, this.p(this.key(head, 'output_scale'))), this.p(this.key(head, 'output_mean'))),
      ),
      mix,
    );
  }

  /** The target magnitude estimate [B, T, C, nbBins] for mixture magnitudes of the same shape. */
  forward(mix: tf.Tensor4D, opts: ForwardOptions = { training: false }): tf.Tensor4D {
    if (this.heads && this.heads.length > 1) throw new Error('UmxTf: a joint network: use forwardHeads');
    return this.forwardHeads(mix, opts)[0];
  }

  /** Every head's estimate (the trunk computed once), in `heads` order. */
  forwardHeads(mix: tf.Tensor4D, opts: ForwardOptions = { training: false }): tf.Tensor4D[] {
    return tf.tidy(() => {
      const a2 = this.trunk(mix, opts);
      return this.headNames().map((h) => this.outputMask(this.fc3(a2, h), mix, opts, h));
    });
  }

  /**
   * Training loss, Open-Unmix's: MSE between estimated and target magnitudes over all bins; for a
   * joint network the sum of the heads' losses (`targets` in `heads` order). Training-mode BatchNorm;
   * call `updateRunningStats()` after the optimiser step.
   */
  loss(
    mix: tf.Tensor4D,
    target: tf.Tensor4D | readonly tf.Tensor4D[],
    opts: Omit<ForwardOptions, 'training'> = {},
  ): tf.Scalar {
    const targets = this.targetsPerHead(target);
    const o: ForwardOptions = { ...opts, training: true };
    return tf.tidy(() => {
      const a2 = this.trunk(mix, o);
      const parts = this.headNames().map((h, j) =>
        this.headLoss(
          h,
          a2,
          mix,
          targets[j],
          HEAD_TRAINABLE.map((n) => this.p(this.key(h, n))),
        ),
      );
      // A chain of adds: tfjs has no gradient for AddN.
      return parts.reduce((a, b) => tf.add(a, b));
    });
  }

  /** `target` as one spectrogram per head, checked against the head count. */
  private targetsPerHead(target: tf.Tensor4D | readonly tf.Tensor4D[]): readonly tf.Tensor4D[] {
    const targets = Array.isArray(target) ? target : [target as tf.Tensor4D];
    const heads = this.headNames();
    if (targets.length !== heads.length) {
      throw new Error(`UmxTf: ${targets.length} target spectrograms for ${heads.length} head(s)`);
    }
    return targets;
  }

  /**
   * One head's training loss on the trunk's output a2, with its trainable tensors given in
   * HEAD_TRAINABLE order (the variables, or `tf.valueAndGrads`' arguments); records its bn3 batch
   * statistics.
   */
  private headLoss(
    head: string,
    a2: tf.Tensor,
    mix: tf.Tensor4D,
    target: tf.Tensor4D,
    [w3, gamma, beta, oscale, omean]: readonly tf.Tensor[],
  ): tf.Scalar {
    const [b, t, ch, bins] = mix.shape;
    const rows: [number, number] = [b * t, ch * bins];
    const holder: { current?: BatchStats } = {};
    const loss = outputMaskMse(
      tf.reshape(mix, rows) as tf.Tensor2D,
      tf.reshape(target, rows) as tf.Tensor2D,
      ch,
      this.config.bnEps,
      holder,
    )(
      dense(a2 as tf.Tensor2D, w3 as tf.Tensor2D),
      gamma as tf.Tensor1D,
      beta as tf.Tensor1D,
      oscale as tf.Tensor1D,
      omean as tf.Tensor1D,
    );
    this.takeStats(this.bn3(head), holder);
    return loss;
  }

  /**
   * A joint network's training step gradients, one head at a time: the same gradients as
   * `tf.variableGrads(() => this.loss(mix, targets))`, but holding only one head's activations (four
   * heads' fc3 outputs, masks and errors at batch 16 × 6 s exceed the wasm heap). The trunk runs
   * twice with the same dropout masks (`seed`): forward for its output a2; each head's loss and
   * gradients (its parameters and a2) follow; then the trunk's gradients are those of Σ a2 · ∂L/∂a2.
   * Returns each head's loss and the gradients by parameter key (the caller disposes them).
   *
   * `sumLossWeight` μ > 0 adds μ · MSE(Σ_j (ŷ_j − y_j)), the error of the heads' summed estimate:
   * with the per-head MSEs it spans CrossNet-Open-Unmix's combination loss (its sums over pairs and
   * triples of targets are Σ MSE_j and this term in fixed proportions). Its gradient on head j's
   * estimate is 2μS/N with S = Σ_j e_j, so a first pass computes S and each head then trains on
   * the target y_j − μS: the fused per-head loss gives exactly the combined gradient, one head's
   * activations at a time as before. `losses` stay the heads' plain MSEs; `sumLoss` is MSE(S).
   */
  jointGrads(
    mix: tf.Tensor4D,
    targets: readonly tf.Tensor4D[],
    seed: number,
    opts: Omit<ForwardOptions, 'training'> = {},
    sumLossWeight = 0,
  ): { losses: number[]; sumLoss?: number; grads: Record<string, tf.Tensor> } {
    const r = this.jointGradTensors(mix, targets, seed, opts, sumLossWeight);
    const read = (t: tf.Scalar) => t.dataSync()[0];
    return finishJoint(r, r.losses.map(read), r.sumLoss && read(r.sumLoss));
  }

  /** `jointGrads` reading the losses back asynchronously: the same gradients, on every backend (webgpu has no dataSync in Node). */
  async jointGradsAsync(
    mix: tf.Tensor4D,
    targets: readonly tf.Tensor4D[],
    seed: number,
    opts: Omit<ForwardOptions, 'training'> = {},
    sumLossWeight = 0,
  ): Promise<{ losses: number[]; sumLoss?: number; grads: Record<string, tf.Tensor> }> {
    const r = this.jointGradTensors(mix, targets, seed, opts, sumLossWeight);
    const read = async (t: tf.Scalar) => (await t.data())[0];
    const losses: number[] = [];
    for (const t of r.losses) losses.push(await read(t));
    return finishJoint(r, losses, r.sumLoss && (await read(r.sumLoss)));
  }

  /** jointGrads' computation, its losses left as (kept) scalars. */
  private jointGradTensors(
    mix: tf.Tensor4D,
    targets: readonly tf.Tensor4D[],
    seed: number,
    opts: Omit<ForwardOptions, 'training'>,
    sumLossWeight: number,
  ): JointGradTensors {
    this.targetsPerHead(targets);
    if (!(sumLossWeight >= 0)) throw new Error(`UmxTf: sumLossWeight must be ≥ 0, got ${sumLossWeight}`);
    const o: ForwardOptions = { ...opts, training: true };
    const a2 = withSeededRandom(seed, () => tf.tidy(() => this.trunk(mix, o)));
    const grads: Record<string, tf.Tensor> = {};
    const losses: tf.Scalar[] = [];
    // μS, the shift of every head's target (null: the plain loss).
    let shift: tf.Tensor4D | null = null;
    let sumLoss: tf.Scalar | undefined;
    if (sumLossWeight > 0) {
      const summed = this.summedError(a2, mix, targets, o);
      losses.push(...summed.perHead);
      sumLoss = summed.sumLoss;
      shift = tf.tidy(() => tf.mul(summed.sum, sumLossWeight) as tf.Tensor4D);
      summed.sum.dispose();
    }
    let upstream: tf.Tensor2D | null = null;
    this.headNames().forEach((h, j) => {
      const params = HEAD_TRAINABLE.map((n) => this.p(this.key(h, n)));
      const target = shift ? (tf.sub(targets[j], shift) as tf.Tensor4D) : targets[j];
      const { value, grads: g } = tf.tidy(() =>
        tf.valueAndGrads((x: tf.Tensor, ...own: tf.Tensor[]) => this.headLoss(h, x, mix, target, own))([
          a2,
          ...params,
        ]),
      );
      if (shift) {
        target.dispose();
        value.dispose();
      } else losses.push(value);
      const [da2, ...dparams] = g;
      HEAD_TRAINABLE.forEach((n, k) => {
        grads[this.key(h, n)] = dparams[k];
      });
      const sum = upstream ? (tf.add(upstream, da2) as tf.Tensor2D) : (da2 as tf.Tensor2D);
      if (upstream) {
        upstream.dispose();
        da2.dispose();
      }
      upstream = sum;
    });
    const dA2 = upstream as unknown as tf.Tensor2D;
    const trunkVars = [...this.params.entries()].filter(([k]) => !this.isHeadKey(k)).map(([, v]) => v);
    // Σ a2 · dA2 with its gradient given (tfjs has no Sum gradient registered in Node).
    const dot = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
      value: tf.sum(tf.mul(x as tf.Tensor, dA2)) as tf.Scalar,
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, dA2),
    }));
    const trunk = withSeededRandom(seed, () =>
      tf.variableGrads(() => dot(this.trunk(mix, o)) as tf.Scalar, trunkVars),
    );
    const byVar = new Map([...this.params].map(([k, v]) => [v.name, k]));
    for (const [name, g] of Object.entries(trunk.grads)) grads[byVar.get(name)!] = g;
    tf.dispose([trunk.value, a2, dA2]);
    shift?.dispose();
    return { losses, sumLoss, grads };
  }

  /** S = Σ_j (ŷ_j − y_j) over the heads (training-mode forward on the trunk output a2), each head's MSE and MSE(S). */
  private summedError(
    a2: tf.Tensor2D,
    mix: tf.Tensor4D,
    targets: readonly tf.Tensor4D[],
    o: ForwardOptions,
  ): { sum: tf.Tensor4D; perHead: tf.Scalar[]; sumLoss: tf.Scalar } {
    const mse = (e: tf.Tensor): tf.Scalar => tf.tidy(() => tf.mean(tf.square(e)));
    const perHead: tf.Scalar[] = [];
    let sum: tf.Tensor4D | null = null;
    for (const [j, h] of this.headNames().entries()) {
      const e = tf.tidy(() => tf.sub(this.outputMask(this.fc3(a2, h), mix, o, h), targets[j]) as tf.Tensor4D);
      perHead.push(mse(e));
      if (sum) {
        const next: tf.Tensor4D = tf.add(sum, e);
        tf.dispose([sum, e]);
        sum = next;
      } else sum = e;
    }
    const s = sum as unknown as tf.Tensor4D;
    return { sum: s, perHead, sumLoss: mse(s) };
  }

  private isHeadKey(key: string): boolean {
    return this.heads !== null && key.includes('/');
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

  /**
   * Current weights (parameters and buffers) per target, e.g. for a checkpoint or export: a single
   * network's under its target `target`; a joint network's per head, the trunk shared by reference.
   */
  exportHeads(target?: string): Record<string, UmxTargetWeights> {
    const byKey: Record<string, Float32Array> = {};
    for (const [name, v] of [...this.params, ...this.buffers]) byKey[name] = v.dataSync() as Float32Array;
    return this.headsOf(byKey, target);
  }

  /** `exportHeads` reading the weights back asynchronously (every backend; webgpu has no dataSync in Node). */
  async exportHeadsAsync(target?: string): Promise<Record<string, UmxTargetWeights>> {
    const byKey: Record<string, Float32Array> = {};
    for (const [name, v] of [...this.params, ...this.buffers]) byKey[name] = (await v.data()) as Float32Array;
    return this.headsOf(byKey, target);
  }

  private headsOf(byKey: Record<string, Float32Array>, target?: string): Record<string, UmxTargetWeights> {
    if (!this.heads) {
      if (!target) throw new Error("UmxTf.exportHeads: name the single network's target");
      return { [target]: byKey };
    }
    return Object.fromEntries(this.heads.map((h) => [h, splitHeads(this.config, this.heads, h, byKey)]));
  }

  dispose(): void {
    this.clearStats();
    for (const v of [...this.params.values(), ...this.buffers.values()]) v.dispose();
    this.bands?.dispose();
  }
}
