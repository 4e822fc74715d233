/**
 * One (bi)LSTM layer as a single tfjs op with a hand-written backward pass (BPTT).
 *
 * Why: on tfjs-backend-wasm in Node the LSTM is bound by per-op dispatch (tens of µs per op, tiny
 * tensors), so op count per time step is what matters:
 * - the input projections of all frames and both directions are computed up front;
 * - both directions run in the same step ops: the state is [B, D·H] and the recurrent product one
 *   2-D matMul with a block-diagonal [D·H, 4·D·H] weight (tfjs-wasm's batched matMul measured 600 µs
 *   against 80 µs for a 2-D one of these sizes); the reverse direction's inputs are stored
 *   time-reversed, gate columns ordered (gate, direction, unit) so one split yields i, f, g, o;
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

/** [T, B, D·k] with direction blocks on the last axis: reverse the time axis of blocks d ≥ 1. */
function flipReverse(t: tf.Tensor3D, dirs: number): tf.Tensor3D {
  if (dirs === 1) return t;
  const [fwd, rev] = tf.split(t, 2, 2);
  return tf.concat([fwd, tf.reverse(rev, 0)], 2) as tf.Tensor3D;
}

/** The recurrent weights of all directions as one block-diagonal right-hand matrix for h [B, D·H]. */
function blockDiagonalT(w: tf.Tensor3D): tf.Tensor2D {
  // w [D, 4H, H] → W [D·H, 4·D·H], W[(d, j), (gate, d', u)] = w[d][gate·H + u][j] if d = d' else 0.
  const [dirs, gates, k] = w.shape;
  const h = gates / 4;
  const blocks = tf.unstack(w).map((wd, d) => {
    const t = tf.reshape(tf.transpose(wd), [k, 4, 1, h]);
    return tf.pad(t, [
      [0, 0],
      [0, 0],
      [d, dirs - 1 - d],
      [0, 0],
    ]);
  });
  return tf.reshape(tf.concat(blocks, 0), [dirs * k, 4 * dirs * h]);
}

export const lstmLayer = customOp<tf.Tensor3D>(([x, wih, whh, b], save) => {
  const [steps, batch, inSize] = x.shape as [number, number, number];
  const [dirs, gates] = wih.shape as [number, number, number];
  const h = gates / 4;
  const dh = dirs * h;
  const scale = gateScale(h);
  const wihS = tf.mul(wih, scale) as tf.Tensor3D;
  const whhS = tf.mul(whh, scale) as tf.Tensor3D;
  const bS = tf.mul(b, tf.reshape(scale, [1, gates]));
  const x2 = tf.reshape(x, [steps * batch, inSize]) as tf.Tensor2D;

  // Input projections of every frame, both directions, step order: [T, B, (gate, d, u)].
  const proj: tf.Tensor[] = [];
  for (let d = 0; d < dirs; d++) {
    const wd = tf.reshape(tf.slice(wihS, [d, 0, 0], [1, gates, inSize]), [gates, inSize]) as tf.Tensor2D;
    const bd = tf.reshape(tf.slice(bS, [d, 0], [1, gates]), [gates]);
    const p = tf.reshape(tf.add(tf.matMul(x2, tf.transpose(wd)), bd), [steps, batch, 4, h]);
    proj.push(d === 0 ? p : tf.reverse(p, 0));
  }
  const xp = tf.unstack(tf.reshape(tf.stack(proj, 3), [steps, batch, 4 * dh])); // T × [B, 4·D·H]
  const wBlock = blockDiagonalT(whhS); // [D·H, 4·D·H]

  const as: tf.Tensor[] = [];
  const cs: tf.Tensor[] = [];
  const tcs: tf.Tensor[] = [];
  const hs: tf.Tensor[] = [];
  let hPrev: tf.Tensor2D | null = null;
  let cPrev: tf.Tensor | null = null;
  for (let s = 0; s < steps; s++) {
    const z: tf.Tensor = hPrev ? tf.add(tf.matMul(hPrev, wBlock), xp[s]) : xp[s];
    const a = tf.sigmoid(z);
    const [i, f, g2, o] = tf.split(a, 4, 1);
    const g = tf.sub(tf.mul(g2, 2), 1);
    const c: tf.Tensor = cPrev ? tf.add(tf.mul(f, cPrev), tf.mul(i, g)) : tf.mul(i, g);
    const tc = tf.tanh(c);
    const hNew = tf.mul(o, tc) as tf.Tensor2D;
    as.push(a);
    cs.push(c);
    tcs.push(tc);
    hs.push(hNew);
    hPrev = hNew;
    cPrev = c;
  }
  const hAll = tf.stack(hs) as tf.Tensor3D; // [T, B, D·H] step order
  save([x2, wihS, wBlock, tf.stack(as), tf.stack(cs), tf.stack(tcs), hAll]);

  return {
    value: flipReverse(hAll, dirs),
    gradFunc: (dy, saved) => {
      const [xs, wihS0, wBlock0, aAll, cAll, tcAll, hAll0] = saved as [
        tf.Tensor2D,
        tf.Tensor3D,
        tf.Tensor2D,
        tf.Tensor3D,
        tf.Tensor3D,
        tf.Tensor3D,
        tf.Tensor3D,
      ];
      const zeros = tf.zeros([1, batch, dh]);
      const shift = (t: tf.Tensor3D) =>
        steps === 1 ? zeros : tf.concat([zeros, tf.slice(t, [0, 0, 0], [steps - 1, batch, dh])], 0);

      // Everything off the recurrence, for all steps at once.
      const [i, f, g2, o] = tf.split(aAll, 4, 2);
      const g = tf.sub(tf.mul(g2, 2), 1);
      const q = tf.mul(o, tf.sub(1, tf.square(tcAll))); // ∂h/∂c
      // dz = [dc, dc, dc, dh] ⊙ pp, with the gate nonlinearities' derivatives folded in.
      const pp = tf.mul(tf.concat([g, shift(cAll), tf.mul(i, 2), tcAll], 2), tf.mul(aAll, tf.sub(1, aAll)));
      const dhOut = tf.unstack(flipReverse(dy, dirs));
      const qs = tf.unstack(q);
      const pps = tf.unstack(pp);
      const fs = tf.unstack(f);
      const wBlockT = tf.transpose(wBlock0); // [4·D·H, D·H]

      const dzs: tf.Tensor[] = new Array(steps);
      let dzNext: tf.Tensor2D | null = null;
      let dcNext: tf.Tensor | null = null;
      for (let s = steps - 1; s >= 0; s--) {
        const dhs: tf.Tensor = dzNext ? tf.add(dhOut[s], tf.matMul(dzNext, wBlockT)) : dhOut[s];
        const dcH = tf.mul(dhs, qs[s]);
        const dc: tf.Tensor = dcNext ? tf.add(dcH, tf.mul(dcNext, fs[s + 1])) : dcH;
        const dz = tf.mul(tf.concat([dc, dc, dc, dhs], 1), pps[s]) as tf.Tensor2D;
        dzs[s] = dz;
        dzNext = dz;
        dcNext = dc;
      }
      // [T, B, 4, D, H] step order → per direction [T, B, 4·H] (PyTorch row order of the gates).
      const dzAll = tf.reshape(tf.stack(dzs), [steps, batch, 4, dirs, h]);
      const hPrevAll = shift(hAll0);

      const dwih: tf.Tensor[] = [];
      const dwhh: tf.Tensor[] = [];
      const db: tf.Tensor[] = [];
      let dx: tf.Tensor | null = null;
      for (let d = 0; d < dirs; d++) {
        const dzD = tf.reshape(tf.slice(dzAll, [0, 0, 0, d, 0], [steps, batch, 4, 1, h]), [
          steps,
          batch,
          gates,
        ]);
        const hp = tf.reshape(tf.slice(hPrevAll, [0, 0, d * h], [steps, batch, h]), [steps * batch, h]);
        const dzStep = tf.reshape(dzD, [steps * batch, gates]) as tf.Tensor2D;
        dwhh.push(tf.matMul(tf.transpose(dzStep), hp as tf.Tensor2D)); // Σ_t dzᵀ·h_(t−1)
        const dzTime = tf.reshape(d === 0 ? dzD : tf.reverse(dzD, 0), [steps * batch, gates]) as tf.Tensor2D;
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
