/**
 * One (bi)LSTM layer as a single tfjs op with a hand-written backward pass (BPTT).
 *
 * Why: on tfjs-backend-wasm in Node the LSTM is bound by per-op dispatch (tens of µs per op, tiny
 * tensors), so op count per time step is what matters:
 * - the input projections of all frames and both directions are computed up front;
 * - both directions run in the same step ops (batched matMul over a leading direction axis, the
 *   reverse direction's inputs stored time-reversed);
 * - one sigmoid covers all four gates: tanh(z) = 2σ(2z) − 1, so the g-gate rows of the weights are
 *   scaled by 2 and g = 2σ − 1;
 * - the backward pass keeps only the recurrence in the time loop (7 ops per step); gate derivatives
 *   are precomputed for all steps at once, weight gradients are one matMul per direction afterwards.
 *
 * Semantics are torch.nn.LSTM's (gate order i, f, g, o; zero initial state; output per frame is
 * [forward h | reverse h]). Layouts: x [T, B, in] time-major; wih [D, 4H, in], whh [D, 4H, H] in
 * PyTorch layout stacked over directions (forward, reverse); b [D, 4H] = bias_ih + bias_hh.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customOp } from './ops';

function gateScale(h: number): tf.Tensor3D {
  const s = new Float32Array(4 * h).fill(1);
  s.fill(2, 2 * h, 3 * h);
  return tf.tensor3d(s, [1, 4 * h, 1]);
}

/** Direction d's rows of a [T, D, B, k] step-ordered tensor as [T, B, k] in time order. */
function timeOrdered(stepOrdered: tf.Tensor4D, d: number): tf.Tensor3D {
  const [t, , b, k] = stepOrdered.shape;
  const s = tf.reshape(tf.slice(stepOrdered, [0, d, 0, 0], [t, 1, b, k]), [t, b, k]) as tf.Tensor3D;
  return d === 0 ? s : tf.reverse(s, 0);
}

/** Inverse of timeOrdered for all directions: [T, B, D·k] time order → [T, D, B, k] step order. */
function stepOrdered(timeOrder: tf.Tensor3D, directions: number): tf.Tensor4D {
  const parts = tf.split(timeOrder, directions, 2).map((p, d) => (d === 0 ? p : tf.reverse(p, 0)));
  return tf.stack(parts, 1) as tf.Tensor4D;
}

function transposeLast2(t: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(t, [0, 2, 1]);
}

export const lstmLayer = customOp<tf.Tensor3D>(([x, wih, whh, b], save) => {
  const [steps, batch, inSize] = x.shape as [number, number, number];
  const [dirs, gates] = wih.shape as [number, number, number];
  const h = gates / 4;
  const scale = gateScale(h);
  const wihS = tf.mul(wih, scale) as tf.Tensor3D;
  const whhS = tf.mul(whh, scale) as tf.Tensor3D;
  const bS = tf.mul(b, tf.reshape(scale, [1, gates]));
  const x2 = tf.reshape(x, [steps * batch, inSize]) as tf.Tensor2D;

  // Input projections of every frame, both directions: [T, D, B, 4H] in step order.
  const proj: tf.Tensor[] = [];
  for (let d = 0; d < dirs; d++) {
    const wd = tf.reshape(tf.slice(wihS, [d, 0, 0], [1, gates, inSize]), [gates, inSize]) as tf.Tensor2D;
    const bd = tf.reshape(tf.slice(bS, [d, 0], [1, gates]), [gates]);
    const p = tf.reshape(tf.add(tf.matMul(x2, tf.transpose(wd)), bd), [steps, batch, gates]);
    proj.push(d === 0 ? p : tf.reverse(p, 0));
  }
  const xp = tf.unstack(tf.stack(proj, 1)); // T × [D, B, 4H]
  const whhT = transposeLast2(whhS); // [D, H, 4H]

  const as: tf.Tensor[] = [];
  const cs: tf.Tensor[] = [];
  const tcs: tf.Tensor[] = [];
  const hs: tf.Tensor[] = [];
  let hPrev: tf.Tensor | null = null;
  let cPrev: tf.Tensor | null = null;
  for (let s = 0; s < steps; s++) {
    const z: tf.Tensor = hPrev ? tf.add(tf.matMul(hPrev as tf.Tensor3D, whhT), xp[s]) : xp[s];
    const a = tf.sigmoid(z);
    const [i, f, g2, o] = tf.split(a, 4, 2);
    const g = tf.sub(tf.mul(g2, 2), 1);
    const c: tf.Tensor = cPrev ? tf.add(tf.mul(f, cPrev), tf.mul(i, g)) : tf.mul(i, g);
    const tc = tf.tanh(c);
    const hNew = tf.mul(o, tc);
    as.push(a);
    cs.push(c);
    tcs.push(tc);
    hs.push(hNew);
    hPrev = hNew;
    cPrev = c;
  }
  const hAll = tf.stack(hs) as tf.Tensor4D; // [T, D, B, H] step order
  const out: tf.Tensor3D[] = [];
  for (let d = 0; d < dirs; d++) out.push(timeOrdered(hAll, d));
  save([x2, wihS, whhS, tf.stack(as), tf.stack(cs), tf.stack(tcs), hAll]);

  return {
    value: dirs === 1 ? out[0] : tf.concat(out, 2),
    gradFunc: (dy, saved) => {
      const [xs, wihS0, whhS0, aAll, cAll, tcAll, hAll0] = saved as [
        tf.Tensor2D,
        tf.Tensor3D,
        tf.Tensor3D,
        tf.Tensor4D,
        tf.Tensor4D,
        tf.Tensor4D,
        tf.Tensor4D,
      ];
      const zeros = tf.zeros([1, dirs, batch, h]);
      const shift = (t: tf.Tensor4D) =>
        steps === 1 ? zeros : tf.concat([zeros, tf.slice(t, [0, 0, 0, 0], [steps - 1, dirs, batch, h])], 0);

      // Everything off the recurrence, for all steps at once.
      const [i, f, g2, o] = tf.split(aAll, 4, 3);
      const g = tf.sub(tf.mul(g2, 2), 1);
      const q = tf.mul(o, tf.sub(1, tf.square(tcAll))); // ∂h/∂c
      // dz = [dc, dc, dc, dh] ⊙ pp, with the gate nonlinearities' derivatives folded in.
      const pp = tf.mul(tf.concat([g, shift(cAll), tf.mul(i, 2), tcAll], 3), tf.mul(aAll, tf.sub(1, aAll)));
      const dhOut = tf.unstack(stepOrdered(dy as tf.Tensor3D, dirs));
      const qs = tf.unstack(q);
      const pps = tf.unstack(pp);
      const fs = tf.unstack(f);

      const dzs: tf.Tensor[] = new Array(steps);
      let dzNext: tf.Tensor | null = null;
      let dcNext: tf.Tensor | null = null;
      for (let s = steps - 1; s >= 0; s--) {
        const dh: tf.Tensor = dzNext ? tf.add(dhOut[s], tf.matMul(dzNext as tf.Tensor3D, whhS0)) : dhOut[s];
        const dcH = tf.mul(dh, qs[s]);
        const dc: tf.Tensor = dcNext ? tf.add(dcH, tf.mul(dcNext, fs[s + 1])) : dcH;
        const dz = tf.mul(tf.concat([dc, dc, dc, dh], 2), pps[s]);
        dzs[s] = dz;
        dzNext = dz;
        dcNext = dc;
      }
      const dzAll = tf.stack(dzs) as tf.Tensor4D; // [T, D, B, 4H] step order
      const hPrevAll = shift(hAll0);

      const dwih: tf.Tensor[] = [];
      const dwhh: tf.Tensor[] = [];
      const db: tf.Tensor[] = [];
      let dx: tf.Tensor | null = null;
      for (let d = 0; d < dirs; d++) {
        const dzStep = tf.reshape(tf.slice(dzAll, [0, d, 0, 0], [steps, 1, batch, gates]), [
          steps * batch,
          gates,
        ]);
        const hp = tf.reshape(tf.slice(hPrevAll, [0, d, 0, 0], [steps, 1, batch, h]), [steps * batch, h]);
        dwhh.push(tf.matMul(tf.transpose(dzStep), hp as tf.Tensor2D)); // Σ_t dzᵀ·h_(t−1)
        const dzTime = tf.reshape(timeOrdered(dzAll, d), [steps * batch, gates]) as tf.Tensor2D;
        dwih.push(tf.matMul(tf.transpose(dzTime), xs)); // Σ_t dzᵀ·x_t
        db.push(tf.sum(dzStep, 0));
        const wd = tf.reshape(tf.slice(wihS0, [d, 0, 0], [1, gates, inSize]), [gates, inSize]) as tf.Tensor2D;
        const dxd = tf.matMul(dzTime, wd);
        dx = dx ? tf.add(dx, dxd) : dxd;
      }
      // Gradients w.r.t. the unscaled weights: chain through the g-row scaling.
      const sc = gateScale(h);
      return [
        tf.reshape(dx as tf.Tensor, [steps, batch, inSize]),
        tf.mul(tf.stack(dwih), sc),
        tf.mul(tf.stack(dwhh), sc),
        tf.mul(tf.stack(db), tf.reshape(sc, [1, gates])),
      ];
    },
  };
}) as (x: tf.Tensor3D, wih: tf.Tensor3D, whh: tf.Tensor3D, b: tf.Tensor2D) => tf.Tensor3D;
