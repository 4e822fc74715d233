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
import { ptr, type WasmKernels, wasmKernels } from './wasm';

export function solveBlockToeplitz(
  blocks: readonly Float64Array[],
  m: number,
  rhs: Float64Array,
  r: number,
): Float64Array {
  const kernels = wasmKernels();
  return kernels
    ? solveBlockToeplitzWasm(kernels, blocks, m, rhs, r)
    : solveBlockToeplitzJs(blocks, m, rhs, r);
}

/** The pure-JS recursion: the reference for the SIMD one (and the path where WebAssembly is unavailable). */
export function solveBlockToeplitzJs(
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

  const Q = new Float64Array(m * width);
  const P = new Float64Array(m * width);
  fillPanels(Q, P, L, m, (k, i, l) => blocks[k][i * m + l]);

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
    reflect(m, dF, dB, Ef, Eb, Ka, Kb, tmp);
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
 * The two lag panels both recursions read, from `R(k, i, l)` (row i, column l of block R(k)):
 * Q row i = [R(L−1) R(L−2) … R(0)] row i, so [R(n) … R(1)] is the contiguous slice at (L−1−n)·m;
 * P row i = [R(1)ᵀ R(2)ᵀ … R(L−1)ᵀ] row i.
 */
function fillPanels(
  Q: Float64Array,
  P: Float64Array,
  L: number,
  m: number,
  R: (k: number, i: number, l: number) => number,
): void {
  const width = L * m;
  for (let k = 0; k < L; k++) {
    const qOff = (L - 1 - k) * m;
    const pOff = (k - 1) * m;
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < m; l++) {
        Q[i * width + qOff + l] = R(k, i, l);
        if (k > 0) P[i * width + pOff + l] = R(k, l, i);
      }
    }
  }
}

/**
 * The reflection step of both recursions, in place: Ka = −Eb⁻¹·Δf, Kb = −Ef⁻¹·Δb, then the
 * prediction-error covariances Ef += Δb·Ka, Eb += Δf·Kb (`tmp`: m × m scratch).
 */
function reflect(
  m: number,
  dF: Float64Array,
  dB: Float64Array,
  Ef: Float64Array,
  Eb: Float64Array,
  Ka: Float64Array,
  Kb: Float64Array,
  tmp: Float64Array,
): void {
  const mm = m * m;
  panelTimesSmall(invert(Eb, m), m, m, dF, m, Ka, 0, false);
  panelTimesSmall(invert(Ef, m), m, m, dB, m, Kb, 0, false);
  for (let i = 0; i < mm; i++) {
    Ka[i] = -Ka[i];
    Kb[i] = -Kb[i];
  }
  panelTimesSmall(dB, m, m, Ka, m, tmp, 0, false);
  for (let i = 0; i < mm; i++) Ef[i] += tmp[i];
  panelTimesSmall(dF, m, m, Kb, m, tmp, 0, false);
  for (let i = 0; i < mm; i++) Eb[i] += tmp[i];
}

/**
 * The m = 8 case of the Δf / Δb / θ sums (4 sources × 2 channels, the evaluator's hot loop). Two rows
 * at a time with the outputs in locals: each loaded panel value feeds two rows' multiply-adds.
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
  for (let i = 0; i < 8; i += 2) {
    rowPairTimesPanel8(Q, i * width + qStart, (i + 1) * width + qStart, A, cols, dF, i * 8);
    rowPairTimesPanel8(P, i * width, (i + 1) * width, B, cols, dB, i * 8);
    if (r === 8) {
      rowPairTimesPanel8(Q, i * width + qStart, (i + 1) * width + qStart, X, cols, theta, i * 8);
    } else {
      for (const row of [i, i + 1]) {
        for (let j = 0; j < r; j++) {
          let t = 0;
          for (let c = 0; c < cols; c++) t += Q[row * width + qStart + c] * X[c * r + j];
          theta[row * r + j] = t;
        }
      }
    }
  }
}

/** out[o + j] = Σ_c M[rowA + c]·panel[c·8 + j], out[o + 8 + j] = Σ_c M[rowB + c]·panel[c·8 + j], j < 8. */
function rowPairTimesPanel8(
  M: Float64Array,
  rowA: number,
  rowB: number,
  panel: Float64Array,
  cols: number,
  out: Float64Array,
  o: number,
): void {
  let a0 = 0,
    a1 = 0,
    a2 = 0,
    a3 = 0,
    a4 = 0,
    a5 = 0,
    a6 = 0,
    a7 = 0;
  let b0 = 0,
    b1 = 0,
    b2 = 0,
    b3 = 0,
    b4 = 0,
    b5 = 0,
    b6 = 0,
    b7 = 0;
  for (let c = 0; c < cols; c++) {
    const u = M[rowA + c];
    const v = M[rowB + c];
    const k = c * 8;
    const p0 = panel[k];
    const p1 = panel[k + 1];
    const p2 = panel[k + 2];
    const p3 = panel[k + 3];
    const p4 = panel[k + 4];
    const p5 = panel[k + 5];
    const p6 = panel[k + 6];
    const p7 = panel[k + 7];
    a0 += u * p0;
    a1 += u * p1;
    a2 += u * p2;
    a3 += u * p3;
    a4 += u * p4;
    a5 += u * p5;
    a6 += u * p6;
    a7 += u * p7;
    b0 += v * p0;
    b1 += v * p1;
    b2 += v * p2;
    b3 += v * p3;
    b4 += v * p4;
    b5 += v * p5;
    b6 += v * p6;
    b7 += v * p7;
  }
  out[o] = a0;
  out[o + 1] = a1;
  out[o + 2] = a2;
  out[o + 3] = a3;
  out[o + 4] = a4;
  out[o + 5] = a5;
  out[o + 6] = a6;
  out[o + 7] = a7;
  out[o + 8] = b0;
  out[o + 9] = b1;
  out[o + 10] = b2;
  out[o + 11] = b3;
  out[o + 12] = b4;
  out[o + 13] = b5;
  out[o + 14] = b6;
  out[o + 15] = b7;
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

/**
 * panelTimesSmall for q = s = 8, two panel rows per pass: their sixteen values live in locals and
 * each element of the small matrix, loaded once, feeds both rows.
 */
function panelTimes8x8(
  panel: Float64Array,
  rows: number,
  small: Float64Array,
  out: Float64Array,
  outOffset: number,
  accumulate: boolean,
): void {
  let i = 0;
  for (; i + 1 < rows; i += 2) {
    const pa = i * 8;
    const a0 = panel[pa];
    const a1 = panel[pa + 1];
    const a2 = panel[pa + 2];
    const a3 = panel[pa + 3];
    const a4 = panel[pa + 4];
    const a5 = panel[pa + 5];
    const a6 = panel[pa + 6];
    const a7 = panel[pa + 7];
    const b0 = panel[pa + 8];
    const b1 = panel[pa + 9];
    const b2 = panel[pa + 10];
    const b3 = panel[pa + 11];
    const b4 = panel[pa + 12];
    const b5 = panel[pa + 13];
    const b6 = panel[pa + 14];
    const b7 = panel[pa + 15];
    const oa = outOffset + pa;
    for (let j = 0; j < 8; j++) {
      const s0 = small[j];
      const s1 = small[8 + j];
      const s2 = small[16 + j];
      const s3 = small[24 + j];
      const s4 = small[32 + j];
      const s5 = small[40 + j];
      const s6 = small[48 + j];
      const s7 = small[56 + j];
      const ta = a0 * s0 + a1 * s1 + a2 * s2 + a3 * s3 + a4 * s4 + a5 * s5 + a6 * s6 + a7 * s7;
      const tb = b0 * s0 + b1 * s1 + b2 * s2 + b3 * s3 + b4 * s4 + b5 * s5 + b6 * s6 + b7 * s7;
      out[oa + j] = accumulate ? out[oa + j] + ta : ta;
      out[oa + 8 + j] = accumulate ? out[oa + 8 + j] + tb : tb;
    }
  }
  for (; i < rows; i++) {
    const pi = i * 8;
    const oi = outOffset + pi;
    for (let j = 0; j < 8; j++) {
      let t = 0;
      for (let l = 0; l < 8; l++) t += panel[pi + l] * small[l * 8 + j];
      out[oi + j] = accumulate ? out[oi + j] + t : t;
    }
  }
}

/**
 * solveBlockToeplitz on the SIMD kernels, the same recursion and the same summation order as
 * solveBlockToeplitzJs. Odd m and r are padded to even with a dummy channel (R(0) = 1 on it, zero
 * elsewhere) and a zero right-hand side: every product with the padding adds an exact zero and Gauss–Jordan
 * never pivots on it, so the solution is the unpadded one (m = 7, a track with a mono stem, runs on the
 * m = 8 kernels). The A/B predictor buffers carry a zero block before and after their data, so that
 * A'_k = A_k + B_{k−1}·Ka and B'_k = B_{k−1} + A_k·Kb are single panel products over k ∈ [0, n].
 */
function solveBlockToeplitzWasm(
  kernels: WasmKernels,
  blocks: readonly Float64Array[],
  m0: number,
  rhs0: Float64Array,
  r0: number,
): Float64Array {
  const L = blocks.length;
  if (rhs0.length !== L * m0 * r0) throw new Error('solveBlockToeplitz: rhs has the wrong size');
  const m = m0 + (m0 & 1);
  const r = r0 + (r0 & 1);
  const mm = m * m;
  const mr = m * r;
  const width = L * m;
  const k = kernels.k;
  const [Q, P, buf0, buf1, buf2, buf3, X, dF, dB, theta, Ka, Kb, w] = kernels.allocate([
    m * width,
    m * width,
    (L + 2) * mm,
    (L + 2) * mm,
    (L + 2) * mm,
    (L + 2) * mm,
    L * mr,
    mm,
    mm,
    mr,
    mm,
    mm,
    mr,
  ]);
  const R = (kk: number, i: number, l: number): number =>
    i < m0 && l < m0 ? blocks[kk][i * m0 + l] : kk === 0 && i === l ? 1 : 0;
  fillPanels(Q, P, L, m, R);
  let rhs = rhs0;
  if (m !== m0 || r !== r0) {
    rhs = new Float64Array(L * mr);
    for (let a = 0; a < L; a++)
      for (let i = 0; i < m0; i++)
        for (let c = 0; c < r0; c++) rhs[(a * m + i) * r + c] = rhs0[(a * m0 + i) * r0 + c];
  }
  // Buffer data starts one block in; blocks −1 and n (for order n) stay zero.
  let A = buf0.subarray(mm);
  let B = buf1.subarray(mm);
  let A2 = buf2.subarray(mm);
  let B2 = buf3.subarray(mm);
  const Ef = new Float64Array(mm);
  for (let i = 0; i < m; i++) {
    A[i * m + i] = 1;
    B[i * m + i] = 1;
    for (let l = 0; l < m; l++) Ef[i * m + l] = R(0, i, l);
  }
  const Eb = Float64Array.from(Ef);
  panelTimesSmall(invert(Ef, m), m, m, rhs, r, X, 0, false);
  const tmp = new Float64Array(mm);
  const fast = m === 8 && r === 8;
  const pQ = ptr(Q);
  const pP = ptr(P);
  const pX = ptr(X);

  for (let n = 1; n < L; n++) {
    const cols = n * m;
    const qStart = (L - 1 - n) * m;
    const pA = ptr(A);
    const pB = ptr(B);
    if (fast) {
      for (let i = 0; i < 8; i += 2) {
        const qa = pQ + (i * width + qStart) * 8;
        const qb = qa + width * 8;
        k.rows2w8(qa, qb, pA, cols, ptr(dF) + i * 64);
        k.rows2w8(pP + i * width * 8, pP + (i + 1) * width * 8, pB, cols, ptr(dB) + i * 64);
        k.rows2w8(qa, qb, pX, cols, ptr(theta) + i * 64);
      }
    } else {
      for (let i = 0; i < m; i++) {
        const q = pQ + (i * width + qStart) * 8;
        const p = pP + i * width * 8;
        for (let j = 0; j < m; j += 2) {
          k.rowDot2(q, pA + j * 8, m * 8, cols, ptr(dF) + (i * m + j) * 8);
          k.rowDot2(p, pB + j * 8, m * 8, cols, ptr(dB) + (i * m + j) * 8);
        }
        for (let j = 0; j < r; j += 2) k.rowDot2(q, pX + j * 8, r * 8, cols, ptr(theta) + (i * r + j) * 8);
      }
    }
    reflect(m, dF, dB, Ef, Eb, Ka, Kb, tmp);
    // A'_k = A_k + B_{k−1}·Ka, B'_k = B_{k−1} + A_k·Kb for k ∈ [0, n]
    const rows = cols + m;
    const pBm1 = pB - mm * 8;
    if (fast) {
      k.panel8(pBm1, rows, ptr(Ka), pA, ptr(A2));
      k.panel8(pA, rows, ptr(Kb), pBm1, ptr(B2));
    } else {
      k.panelGen(pBm1, rows, m, ptr(Ka), m, pA, ptr(A2));
      k.panelGen(pA, rows, m, ptr(Kb), m, pBm1, ptr(B2));
    }
    [A, A2] = [A2, A];
    [B, B2] = [B2, B];
    // X' = [X; 0] + B'·Eb'⁻¹·(y_n − θ)
    for (let i = 0; i < mr; i++) theta[i] = rhs[n * mr + i] - theta[i];
    panelTimesSmall(invert(Eb, m), m, m, theta, r, w, 0, false);
    if (fast) k.panel8(ptr(B), rows, ptr(w), pX, pX);
    else k.panelGen(ptr(B), rows, m, ptr(w), r, pX, pX);
  }
  if (m === m0 && r === r0) return X.slice();
  const out = new Float64Array(L * m0 * r0);
  for (let a = 0; a < L; a++)
    for (let i = 0; i < m0; i++)
      for (let c = 0; c < r0; c++) out[(a * m0 + i) * r0 + c] = X[(a * m + i) * r + c];
  return out;
}
