/**
 * Adam with decoupled weight decay (AdamW, Loshchilov & Hutter) and global-norm gradient clipping,
 * written out in tfjs ops because tf.train.adam has no weight decay and keeps its moments where a
 * checkpoint cannot reach them bit-exactly. Same update as torch.optim.AdamW:
 *
 *   g ← g · min(1, clip / ‖g‖)        (‖·‖ over all of the network's gradients)
 *   p ← p · (1 − lr · wd)             (weight matrices only: fc and LSTM weights, not BN/affine vectors)
 *   m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²
 *   p ← p − lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
 *
 * Open-Unmix itself uses torch Adam with weight_decay 1e-5, i.e. coupled L2; decoupled is the choice
 * here (it does not interact with Adam's per-weight scaling).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Global gradient-norm limit; 0 = no clipping. */
  readonly gradClip: number;
}

/** The optimiser's state as plain arrays (float32, exact). */
export interface AdamWState {
  readonly step: number;
  readonly m: Record<string, Float32Array>;
  readonly v: Record<string, Float32Array>;
}

export class AdamW {
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    private readonly opts: AdamWOptions,
  ) {
    for (const [name, p] of params) {
      // tidy: the zero tensors the variables start from are not kept apart from them.
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  /**
   * Applies one update with learning rate `lr`; returns the gradients' global norm before clipping.
   * Reads the norm back with dataSync: wasm and cpu backends only (see applyAsync).
   */
  apply(grads: Readonly<Record<string, tf.Tensor>>, lr: number): number {
    const squared = this.squaredNorm(grads);
    const sum = squared.dataSync()[0];
    squared.dispose();
    return this.update(grads, lr, Math.sqrt(sum));
  }

  /** `apply` reading the norm back asynchronously: the same update, on every backend (webgpu has no dataSync in Node). */
  async applyAsync(grads: Readonly<Record<string, tf.Tensor>>, lr: number): Promise<number> {
    const squared = this.squaredNorm(grads);
    const sum = (await squared.data())[0];
    squared.dispose();
    return this.update(grads, lr, Math.sqrt(sum));
  }

  /** ‖g‖² over all of the network's gradients. */
  private squaredNorm(grads: Readonly<Record<string, tf.Tensor>>): tf.Scalar {
    return tf.tidy(() =>
      tf.addN([...this.params.keys()].map((n) => tf.sum(tf.square(grads[n])))),
    ) as tf.Scalar;
  }

  private update(grads: Readonly<Record<string, tf.Tensor>>, lr: number, norm: number): number {
    const { beta1: b1, beta2: b2, eps, weightDecay: wd, gradClip } = this.opts;
    if (!Number.isFinite(norm))
      throw new Error(`non-finite gradient norm (${norm}) at step ${this.step + 1}`);
    const scale = gradClip > 0 && norm > gradClip ? gradClip / (norm + 1e-6) : 1;
    this.step++;
    const bc1 = 1 - b1 ** this.step;
    const bc2 = Math.sqrt(1 - b2 ** this.step);
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = scale === 1 ? grads[name] : tf.mul(grads[name], scale);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const decayed = wd > 0 && p.rank >= 2 ? tf.mul(p, 1 - lr * wd) : p;
        const update = tf.div(tf.mul(m, lr / bc1), tf.add(tf.div(tf.sqrt(v), bc2), eps));
        p.assign(tf.sub(decayed, update));
      }
    });
    return norm;
  }

  /** The state, read back with dataSync (wasm and cpu backends; see stateAsync). */
  state(): AdamWState {
    const read = (vars: Map<string, tf.Variable>) =>
      Object.fromEntries([...vars].map(([n, x]) => [n, Float32Array.from(x.dataSync() as Float32Array)]));
    return { step: this.step, m: read(this.m), v: read(this.v) };
  }

  /** The state, read back asynchronously (every backend). */
  async stateAsync(): Promise<AdamWState> {
    const read = async (vars: Map<string, tf.Variable>) => {
      const out: Record<string, Float32Array> = {};
      for (const [n, x] of vars) out[n] = Float32Array.from((await x.data()) as Float32Array);
      return out;
    };
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  load(state: AdamWState): void {
    for (const [kind, vars] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      for (const [name, x] of vars) {
        const data = state[kind][name];
        if (!data || data.length !== x.size)
          throw new Error(`optimiser state: bad or missing ${kind} "${name}"`);
        tf.tidy(() => x.assign(tf.tensor(data, x.shape)));
      }
    }
    this.step = state.step;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}
