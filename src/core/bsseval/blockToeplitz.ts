/**
 * Solver for symmetric positive-definite block-Toeplitz systems (block Levinson / Whittle recursion).
 *
 * BSS Eval's distortion filters solve G·C = D where G is the Gram matrix of the references delayed by
 * 0…L−1 samples (L = 512, 4 sources × 2 channels: a 4096 × 4096 system). museval factorises it densely
 * (≈ 46 GFLOP per estimate); reordered lag-major, G is block Toeplitz with 8 × 8 blocks, and the block
 * Levinson recursion solves it in O(L²·m³), about 100× less work, which is what makes the evaluator fast.
 */

/**
 * Solves T·X = Y where T[a][b] = R(a − b) (m × m blocks, a, b ∈ [0, L)), R(−k) = R(k)ᵀ.
 * `blocks[k]` holds R(k), row-major m × m, for k ∈ [0, L). `rhs` holds Y as L blocks of m × r (row-major,
 * block a at offset a·m·r). Returns X in the same layout.
 *
 * Multichannel Levinson recursion with monic predictors: A (first block I) and B (last block I) satisfy
 * T_n·A = [Eᶠ; 0 …] and T_n·B = [… 0; Eᵇ]; each order step costs four (n·m × m)·(m × m) products.
 * Panels are stored contiguously ((n·m) × m row-major) so every sum is one long dot product.
 */
export function solveBlockToeplitz(
  blocks: readonly Float64Array[],
  m: number,
  rhs: Float64Array,
  r: number,
): Float64Array {
  const L = blocks.length;
  const mm = m * m;
  const mr = m * r;
  const width = L * m;
  if (rhs.length !== L * mr) throw new Error('solveBlockToeplitz: rhs has the wrong size');

  // Q row i = [R(L−1) R(L−2) … R(0)] row i, so [R(n) … R(1)] is the contiguous slice at (L−1−n)·m.
  // P row i = [R(1)ᵀ R(2)ᵀ … R(L−1)ᵀ] row i.
  const Q = new Float64Array(m * width);
  const P = new Float64Array(m * width);
  for (let k = 0; k < L; k++) {
    const R = blocks[k];
    const qOff = (L - 1 - k) * m;
    const pOff = (k - 1) * m;
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < m; l++) {
        Q[i * width + qOff + l] = R[i * m + l];
        if (k > 0) P[i * width + pOff + l] = R[l * m + i];
      }
    }
  }

  let A = new Float64Array(L * mm);
  let B = new Float64Array(L * mm);
  let A2 = new Float64Array(L * mm);
  let B2 = new Float64Array(L * mm);
  const X = new Float64Array(L * mr);
  for (let i = 0; i < m; i++) {
    A[i * m + i] = 1;
    B[i * m + i] = 1;
  }
  const Ef = Float64Array.from(blocks[0]);
  const Eb = Float64Array.from(blocks[0]);
  panelTimesSmall(invert(blocks[0], m), m, m, rhs, r, X, 0, false);

  const dF = new Float64Array(mm);
  const dB = new Float64Array(mm);
  const Ka = new Float64Array(mm);
  const Kb = new Float64Array(mm);
  const tmp = new Float64Array(mm);
  const theta = new Float64Array(mr);
  const w = new Float64Array(mr);

  for (let n = 1; n < L; n++) {
    const cols = n * m;
    const qStart = (L - 1 - n) * m;
    // Δf = Σ_k R(n−k)·A_k, Δb = Σ_k R(k+1)ᵀ·B_k, θ = Σ_k R(n−k)·X_k
    if (m === 8) {
      reflectionSums8(Q, P, A, B, X, width, qStart, cols, r, dF, dB, theta);
    } else {
      dF.fill(0);
      dB.fill(0);
      theta.fill(0);
      for (let i = 0; i < m; i++) {
        const qRow = i * width + qStart;
        const pRow = i * width;
        const o = i * m;
        const ot = i * r;
        for (let c = 0; c < cols; c++) {
          const q = Q[qRow + c];
          const p = P[pRow + c];
          const ac = c * m;
          for (let j = 0; j < m; j++) {
            dF[o + j] += q * A[ac + j];
            dB[o + j] += p * B[ac + j];
          }
          const xc = c * r;
          for (let j = 0; j < r; j++) theta[ot + j] += q * X[xc + j];
        }
      }
    }
    // Ka = −Eb⁻¹·Δf, Kb = −Ef⁻¹·Δb
    panelTimesSmall(invert(Eb, m), m, m, dF, m, Ka, 0, false);
    panelTimesSmall(invert(Ef, m), m, m, dB, m, Kb, 0, false);
    for (let i = 0; i < mm; i++) {
      Ka[i] = -Ka[i];
      Kb[i] = -Kb[i];
    }
    // Ef += Δb·Ka, Eb += Δf·Kb
    panelTimesSmall(dB, m, m, Ka, m, tmp, 0, false);
    for (let i = 0; i < mm; i++) Ef[i] += tmp[i];
    panelTimesSmall(dF, m, m, Kb, m, tmp, 0, false);
    for (let i = 0; i < mm; i++) Eb[i] += tmp[i];
    // A'_k = A_k + B_{k−1}·Ka ; B'_k = B_{k−1} + A_k·Kb  (A_n = 0, B_{−1} = 0)
    const used = n * mm;
    A2.set(A.subarray(0, used));
    A2.fill(0, used, used + mm);
    B2.fill(0, 0, mm);
    B2.set(B.subarray(0, used), mm);
    panelTimesSmall(B, cols, m, Ka, m, A2, mm, true);
    panelTimesSmall(A, cols, m, Kb, m, B2, 0, true);
    [A, A2] = [A2, A];
    [B, B2] = [B2, B];
    // X' = [X; 0] + B'·Eb'⁻¹·(y_n − θ)
    for (let i = 0; i < mr; i++) theta[i] = rhs[n * mr + i] - theta[i];
    panelTimesSmall(invert(Eb, m), m, m, theta, r, w, 0, false);
    panelTimesSmall(B, cols + m, m, w, r, X, 0, true);
  }
  return X;
}

/**
 * The m = 8 case of the Δf / Δb / θ sums (4 sources × 2 channels, the evaluator's hot loop), with
 * the eight outputs of a row kept in locals: one store per row instead of one per multiply-add.
 */
function reflectionSums8(
  Q: Float64Array,
  P: Float64Array,
  A: Float64Array,
  B: Float64Array,
  X: Float64Array,
  width: number,
  qStart: number,
  cols: number,
  r: number,
  dF: Float64Array,
  dB: Float64Array,
  theta: Float64Array,
): void {
  for (let i = 0; i < 8; i++) {
    const qRow = i * width + qStart;
    const pRow = i * width;
    let f0 = 0,
      f1 = 0,
      f2 = 0,
      f3 = 0,
      f4 = 0,
      f5 = 0,
      f6 = 0,
      f7 = 0;
    let b0 = 0,
      b1 = 0,
      b2 = 0,
      b3 = 0,
      b4 = 0,
      b5 = 0,
      b6 = 0,
      b7 = 0;
    for (let c = 0; c < cols; c++) {
      const q = Q[qRow + c];
      const p = P[pRow + c];
      const o = c * 8;
      f0 += q * A[o];
      f1 += q * A[o + 1];
      f2 += q * A[o + 2];
      f3 += q * A[o + 3];
      f4 += q * A[o + 4];
      f5 += q * A[o + 5];
      f6 += q * A[o + 6];
      f7 += q * A[o + 7];
      b0 += p * B[o];
      b1 += p * B[o + 1];
      b2 += p * B[o + 2];
      b3 += p * B[o + 3];
      b4 += p * B[o + 4];
      b5 += p * B[o + 5];
      b6 += p * B[o + 6];
      b7 += p * B[o + 7];
    }
    const o = i * 8;
    dF[o] = f0;
    dF[o + 1] = f1;
    dF[o + 2] = f2;
    dF[o + 3] = f3;
    dF[o + 4] = f4;
    dF[o + 5] = f5;
    dF[o + 6] = f6;
    dF[o + 7] = f7;
    dB[o] = b0;
    dB[o + 1] = b1;
    dB[o + 2] = b2;
    dB[o + 3] = b3;
    dB[o + 4] = b4;
    dB[o + 5] = b5;
    dB[o + 6] = b6;
    dB[o + 7] = b7;
    if (r === 8) {
      let t0 = 0,
        t1 = 0,
        t2 = 0,
        t3 = 0,
        t4 = 0,
        t5 = 0,
        t6 = 0,
        t7 = 0;
      for (let c = 0; c < cols; c++) {
        const q = Q[qRow + c];
        const x = c * 8;
        t0 += q * X[x];
        t1 += q * X[x + 1];
        t2 += q * X[x + 2];
        t3 += q * X[x + 3];
        t4 += q * X[x + 4];
        t5 += q * X[x + 5];
        t6 += q * X[x + 6];
        t7 += q * X[x + 7];
      }
      theta[o] = t0;
      theta[o + 1] = t1;
      theta[o + 2] = t2;
      theta[o + 3] = t3;
      theta[o + 4] = t4;
      theta[o + 5] = t5;
      theta[o + 6] = t6;
      theta[o + 7] = t7;
    } else {
      for (let j = 0; j < r; j++) {
        let t = 0;
        for (let c = 0; c < cols; c++) t += Q[qRow + c] * X[c * r + j];
        theta[i * r + j] = t;
      }
    }
  }
}

/** out[outOffset + i·s + j] (+)= Σ_l panel[i·q + l]·small[l·s + j]: a (rows × q)·(q × s) product. */
function panelTimesSmall(
  panel: Float64Array,
  rows: number,
  q: number,
  small: Float64Array,
  s: number,
  out: Float64Array,
  outOffset: number,
  accumulate: boolean,
): void {
  if (q === 8 && s === 8) {
    panelTimes8x8(panel, rows, small, out, outOffset, accumulate);
    return;
  }
  if (!accumulate) out.fill(0, outOffset, outOffset + rows * s);
  for (let i = 0; i < rows; i++) {
    const pi = i * q;
    const oi = outOffset + i * s;
    for (let j = 0; j < s; j++) {
      let t = 0;
      for (let l = 0; l < q; l++) t += panel[pi + l] * small[l * s + j];
      out[oi + j] += t;
    }
  }
}

/** Inverse of a small dense matrix by Gauss–Jordan elimination with partial pivoting. */
export function invert(a: Float64Array, m: number): Float64Array {
  const w = Float64Array.from(a.subarray(0, m * m));
  const inv = new Float64Array(m * m);
  for (let i = 0; i < m; i++) inv[i * m + i] = 1;
  for (let col = 0; col < m; col++) {
    let pivot = col;
    for (let row = col + 1; row < m; row++) {
      if (Math.abs(w[row * m + col]) > Math.abs(w[pivot * m + col])) pivot = row;
    }
    const pv = w[pivot * m + col];
    if (pv === 0 || !Number.isFinite(pv)) throw new SingularMatrixError();
    if (pivot !== col) {
      for (let j = 0; j < m; j++) {
        [w[col * m + j], w[pivot * m + j]] = [w[pivot * m + j], w[col * m + j]];
        [inv[col * m + j], inv[pivot * m + j]] = [inv[pivot * m + j], inv[col * m + j]];
      }
    }
    const s = 1 / pv;
    for (let j = 0; j < m; j++) {
      w[col * m + j] *= s;
      inv[col * m + j] *= s;
    }
    for (let row = 0; row < m; row++) {
      if (row === col) continue;
      const factor = w[row * m + col];
      if (factor === 0) continue;
      for (let j = 0; j < m; j++) {
        w[row * m + j] -= factor * w[col * m + j];
        inv[row * m + j] -= factor * inv[col * m + j];
      }
    }
  }
  return inv;
}

export class SingularMatrixError extends Error {
  constructor() {
    super('singular matrix');
    this.name = 'SingularMatrixError';
  }
}

/** panelTimesSmall for q = s = 8: the eight panel values of a row live in locals (one load per multiply-add). */
function panelTimes8x8(
  panel: Float64Array,
  rows: number,
  small: Float64Array,
  out: Float64Array,
  outOffset: number,
  accumulate: boolean,
): void {
  for (let i = 0; i < rows; i++) {
    const pi = i * 8;
    const v0 = panel[pi];
    const v1 = panel[pi + 1];
    const v2 = panel[pi + 2];
    const v3 = panel[pi + 3];
    const v4 = panel[pi + 4];
    const v5 = panel[pi + 5];
    const v6 = panel[pi + 6];
    const v7 = panel[pi + 7];
    const oi = outOffset + pi;
    for (let j = 0; j < 8; j++) {
      const t =
        v0 * small[j] +
        v1 * small[8 + j] +
        v2 * small[16 + j] +
        v3 * small[24 + j] +
        v4 * small[32 + j] +
        v5 * small[40 + j] +
        v6 * small[48 + j] +
        v7 * small[56 + j];
      out[oi + j] = accumulate ? out[oi + j] + t : t;
    }
  }
}
