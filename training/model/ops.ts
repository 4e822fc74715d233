/**
 * Training ops with hand-written gradients (tf.customGrad), for speed on tfjs-backend-wasm in Node:
 * - matMul with transposeA/transposeB is 10–15× slower there than explicit tf.transpose + plain
 *   matMul, and tfjs' built-in matMul gradient uses the flags; these ops transpose explicitly and
 *   always the smaller operand;
 * - the LSTM is bound by per-op dispatch cost, so its backward pass is written out (BPTT) with as
 *   few ops per time step as possible, everything that is not on the recurrence done once for all
 *   steps;
 * - the bn3 → output affine → ReLU → mask → MSE tail runs on [frames, 2·2049] tensors, so it is one
 *   op with a fused backward instead of ~35 autodiff ops over those big tensors.
 * Each op is checked against tf's own gradients of a plain-op version in ops.test.ts.
 *
 * Layouts: rows are (batch · frame) samples, features are contiguous; weights are in PyTorch layout.
 */
import * as tf from '@tensorflow/tfjs-core';

type Saver = (tensors: tf.Tensor[]) => void;

/** tf.customGrad with typed inputs: f gets the input tensors and the save function. */
export function customOp<T extends tf.Tensor>(
  f: (inputs: tf.Tensor[], save: Saver) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor[] },
): (...inputs: tf.Tensor[]) => T {
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return f(args as tf.Tensor[], save);
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (...inputs) => op(...inputs) as T;
}

/** Σ over rows of x [n, f] → [1, f], as a matMul: tfjs reduces non-last axes by transposing first. */
function columnSum(x: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(tf.ones([1, x.shape[0]]), x);
}

/** aᵀ · b for a [n, p], b [n, q] without transposeA: transposes whichever side is cheaper. */
function matMulTN(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const [n, p] = a.shape;
  const q = b.shape[1];
  // Option 1: transpose a (n·p values). Option 2: (bᵀ·a)ᵀ, transposing b (n·q) and the p·q result.
  return n * p <= n * q + p * q
    ? tf.matMul(tf.transpose(a), b)
    : (tf.transpose(tf.matMul(tf.transpose(b), a)) as tf.Tensor2D);
}

/** y = x · wᵀ (torch Linear without bias), w [out, in]. */
export const dense = customOp<tf.Tensor2D>(([x, w], save) => {
  const x2 = x as tf.Tensor2D;
  const w2 = w as tf.Tensor2D;
  save([x2, w2]);
  return {
    value: tf.matMul(x2, tf.transpose(w2)),
    gradFunc: (dy, saved) => {
      const [xs, ws] = saved as tf.Tensor2D[];
      return [tf.matMul(dy, ws), matMulTN(dy, xs)]; // dx = dy·w, dw = dyᵀ·x
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * fc1 on the normalised input: y = ((x + mean) · scale) · wᵀ with mean, scale [f] shared by the
 * `channels` blocks of x's columns. Folded into the weights (x · (w·scale)ᵀ + bias) so that neither
 * the forward nor the backward pass touches x elementwise; x is data (no gradient), so it is captured
 * rather than passed.
 */
export function normalizedDense(
  x: tf.Tensor2D,
  channels: number,
): (mean: tf.Tensor1D, scale: tf.Tensor1D, w: tf.Tensor2D) => tf.Tensor2D {
  return customOp<tf.Tensor2D>(([mean, scale, w], save) => {
    const w2 = w as tf.Tensor2D;
    const sc = tf.tile(scale, [channels]); // [c·f]
    const mc = tf.tile(mean, [channels]);
    const ws = tf.mul(w2, sc); // w · diag(scale)
    const bias = tf.reshape(tf.matMul(ws, tf.reshape(mc, [-1, 1])), [-1]);
    save([w2, ws, sc, mc, x]); // x too: the caller's tidy may dispose it before the backward pass
    return {
      value: tf.add(tf.matMul(x, tf.transpose(ws)), bias),
      gradFunc: (g, saved) => {
        const [w0, ws0, sc0, mc0, xs] = saved as tf.Tensor2D[];
        const f = sc0.shape[0] / channels;
        const r = columnSum(g); // [1, out]
        // M = dyᵀ·x + rᵀ·mean: the gradient w.r.t. (w · scale) before the scale.
        const m = tf.add(
          matMulTN(g, xs),
          tf.matMul(tf.transpose(r), tf.reshape(mc0, [1, -1]) as tf.Tensor2D),
        );
        const dw = tf.mul(m, sc0);
        const perChannel = (t: tf.Tensor) => tf.sum(tf.reshape(t, [channels, f]), 0);
        // d/dscale_j = Σ_o w_oj·M_oj; d/dmean_j = scale_j·Σ_o w_oj·r_o (both summed over channels).
        const dScale = perChannel(tf.sum(tf.mul(w0, m), 0));
        const dMean = perChannel(tf.matMul(r, ws0 as tf.Tensor2D));
        return [dMean, dScale, dw];
      },
    };
  }) as (mean: tf.Tensor1D, scale: tf.Tensor1D, w: tf.Tensor2D) => tf.Tensor2D;
}

/** Batch statistics of the last BatchNorm of a training step, for the running-average update. */
export interface BatchStats {
  mean: tf.Tensor1D;
  /** Biased (the one used to normalise); the running average takes the unbiased one, like PyTorch. */
  variance: tf.Tensor1D;
}

/**
 * The Open-Unmix output tail in training mode, fused with the loss:
 *   u = BN_batch(y; gamma, beta) · oscale + omean   (oscale, omean per bin, shared by channels)
 *   loss = mean((ReLU(u) · mix − target)²)
 * y, mix, target: [rows, channels·bins]. BatchNorm uses the batch's statistics; they are written to
 * `stats` (kept tensors, the caller disposes them).
 */
export function outputMaskMse(
  mix: tf.Tensor2D,
  target: tf.Tensor2D,
  channels: number,
  eps: number,
  stats?: { current?: BatchStats },
): (
  y: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  oscale: tf.Tensor1D,
  omean: tf.Tensor1D,
) => tf.Scalar {
  return customOp<tf.Scalar>(([y, gamma, beta, oscale, omean], save) => {
    const y2 = y as tf.Tensor2D;
    const n = y2.shape[0];
    const mu = tf.div(columnSum(y2), n); // [1, F]
    const d = tf.sub(y2, mu);
    const variance = tf.div(columnSum(tf.square(d) as tf.Tensor2D), n);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const osc = tf.tile(oscale, [channels]);
    const gp = tf.mul(gamma, osc); // gamma' = gamma · oscale
    const bp = tf.add(tf.mul(beta, osc), tf.tile(omean, [channels])); // beta' = beta · oscale + omean
    const a = tf.mul(rstd, gp);
    const u = tf.add(tf.mul(d, a), bp);
    const e = tf.sub(tf.mul(tf.relu(u), mix), target);
    const loss = tf.div(tf.sum(tf.square(e)), e.size);
    if (stats) {
      stats.current = { mean: tf.keep(tf.reshape(mu, [-1])), variance: tf.keep(tf.reshape(variance, [-1])) };
    }
    save([d, u, e, rstd, gp, gamma, beta, oscale, mix]);
    return {
      value: loss as tf.Scalar,
      gradFunc: (dy, saved) => {
        const [d0, u0, e0, rstd0, gp0, gamma0, beta0, osc0, mix0] = saved;
        const rows = d0.shape[0];
        const k = tf.mul(dy, 2 / e0.size); // d loss / d e = 2e / size
        // du' = e · mix · [u > 0]; the scalar k is applied to the small per-feature factors below.
        const du = tf.mul(tf.mul(e0, mix0), tf.step(u0));
        const sdu = columnSum(du as tf.Tensor2D);
        const sdud = columnSum(tf.mul(du, d0) as tf.Tensor2D);
        // BN backward: dy = γ'·rstd·(du − mean(du) − x̂·mean(du·x̂)), x̂ = d·rstd.
        const a1 = tf.mul(tf.mul(gp0, rstd0), k);
        const b1 = tf.mul(a1, tf.div(sdu, -rows));
        const c1 = tf.mul(a1, tf.mul(tf.square(rstd0), tf.div(sdud, -rows)));
        const dyIn = tf.add(tf.add(tf.mul(du, a1), tf.mul(d0, c1)), b1);
        const dgp = tf.reshape(tf.mul(tf.mul(sdud, rstd0), k), [-1]); // d loss / d gamma'
        const dbp = tf.reshape(tf.mul(sdu, k), [-1]); // d loss / d beta'
        const oscT = tf.tile(osc0, [channels]);
        const bins = osc0.shape[0];
        const perBin = (t: tf.Tensor) => tf.sum(tf.reshape(t, [channels, bins]), 0);
        return [
          dyIn,
          tf.mul(dgp, oscT),
          tf.mul(dbp, oscT),
          perBin(tf.add(tf.mul(dgp, gamma0), tf.mul(dbp, beta0))),
          perBin(dbp),
        ];
      },
    };
  }) as (
    y: tf.Tensor2D,
    gamma: tf.Tensor1D,
    beta: tf.Tensor1D,
    oscale: tf.Tensor1D,
    omean: tf.Tensor1D,
  ) => tf.Scalar;
}

/**
 * BatchNorm1d in training mode on x [rows, features]: normalised with the batch's (biased) statistics,
 * which are written to `stats` (kept tensors, the caller disposes them).
 */
export function batchNormTrain(
  eps: number,
  stats?: { current?: BatchStats },
): (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D {
  return customOp<tf.Tensor2D>(([x, gamma, beta], save) => {
    const x2 = x as tf.Tensor2D;
    const n = x2.shape[0];
    const mu = tf.div(columnSum(x2), n);
    const d = tf.sub(x2, mu);
    const variance = tf.div(columnSum(tf.square(d) as tf.Tensor2D), n);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(d, rstd);
    if (stats) {
      stats.current = { mean: tf.keep(tf.reshape(mu, [-1])), variance: tf.keep(tf.reshape(variance, [-1])) };
    }
    save([xhat, rstd, gamma]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta),
      gradFunc: (dy, saved) => {
        const [xhat0, rstd0, gamma0] = saved;
        const sdy = columnSum(dy);
        const sdyx = columnSum(tf.mul(dy, xhat0) as tf.Tensor2D);
        // dx = γ·rstd·(dy − mean(dy) − x̂·mean(dy·x̂))
        const a = tf.mul(gamma0, rstd0);
        const dx = tf.mul(tf.sub(tf.sub(dy, tf.div(sdy, n)), tf.mul(xhat0, tf.div(sdyx, n))), a);
        return [dx, tf.reshape(sdyx, [-1]), tf.reshape(sdy, [-1])];
      },
    };
  }) as (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D;
}
