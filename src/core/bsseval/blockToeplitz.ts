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
 */
export function solveBlockToeplitz(blocks: readonly Float64Array[], m: number, rhs: Float64Array, r: number): Float64Array {
  const L = blocks.length;
  const mm = m * m;
  const mr = m * r;
  if (rhs.length !== L * mr) throw new Error('solveBlockToeplitz: rhs has the wrong size');

  // f: T_n f = [I; 0; …], b: T_n b = […; 0; I], both L blocks of m × m; x: current solution.
  let f = new Float64Array(L * mm);
  let b = new Float64Array(L * mm);
  let fNext = new Float64Array(L * mm);
  let bNext = new Float64Array(L * mm);
  const x = new Float64Array(L * mr);

  const r0inv = invert(blocks[0], m);
  f.set(r0inv, 0);
  b.set(r0inv, 0);
  multiplyInto(r0inv, m, m, rhs.subarray(0, mr), r, x.subarray(0, mr), false);

  const epsF = new Float64Array(mm);
  const epsB = new Float64Array(mm);
  const tmp = new Float64Array(mm);
  const alpha = new Float64Array(mm);
  const beta = new Float64Array(mm);
  const gamma = new Float64Array(mm);
  const delta = new Float64Array(mm);
  const theta = new Float64Array(mr);
  const resid = new Float64Array(mr);

  for (let n = 1; n < L; n++) {
    // ε_f = Σ_k R(n−k)·f_k ; ε_b = Σ_k R(−(k+1))·b_k = Σ_k R(k+1)ᵀ·b_k ; θ = Σ_k R(n−k)·x_k
    epsF.fill(0);
    epsB.fill(0);
    theta.fill(0);
    for (let k = 0; k < n; k++) {
      const rF = blocks[n - k];
      const rB = blocks[k + 1];
      const fk = k * mm;
      for (let i = 0; i < m; i++) {
        for (let l = 0; l < m; l++) {
          const a = rF[i * m + l];
          const t = rB[l * m + i]; // transpose of R(k+1)
          const fo = fk + l * m;
          const eo = i * m;
          for (let j = 0; j < m; j++) {
            epsF[eo + j] += a * f[fo + j];
            epsB[eo + j] += t * b[fo + j];
          }
          const xo = k * mr + l * r;
          const to = i * r;
          for (let j = 0; j < r; j++) theta[to + j] += a * x[xo + j];
        }
      }
    }
    // α = (I − ε_b ε_f)⁻¹, β = −ε_f α ; δ = (I − ε_f ε_b)⁻¹, γ = −ε_b δ
    identityMinusProduct(epsB, epsF, m, tmp);
    alpha.set(invert(tmp, m));
    identityMinusProduct(epsF, epsB, m, tmp);
    delta.set(invert(tmp, m));
    multiplyInto(epsF, m, m, alpha, m, beta, false);
    multiplyInto(epsB, m, m, delta, m, gamma, false);
    for (let i = 0; i < mm; i++) {
      beta[i] = -beta[i];
      gamma[i] = -gamma[i];
    }
    // f' = [f; 0]·α + [0; b]·β ; b' = [f; 0]·γ + [0; b]·δ
    for (let k = 0; k <= n; k++) {
      const o = k * mm;
      const fo = fNext.subarray(o, o + mm);
      const bo = bNext.subarray(o, o + mm);
      fo.fill(0);
      bo.fill(0);
      if (k < n) {
        const fk = f.subarray(o, o + mm);
        multiplyInto(fk, m, m, alpha, m, fo, true);
        multiplyInto(fk, m, m, gamma, m, bo, true);
      }
      if (k > 0) {
        const bk = b.subarray(o - mm, o);
        multiplyInto(bk, m, m, beta, m, fo, true);
        multiplyInto(bk, m, m, delta, m, bo, true);
      }
    }
    [f, fNext] = [fNext, f];
    [b, bNext] = [bNext, b];
    // x' = [x; 0] + b'·(y_n − θ)
    for (let i = 0; i < mr; i++) resid[i] = rhs[n * mr + i] - theta[i];
    for (let k = 0; k <= n; k++) {
      multiplyInto(b.subarray(k * mm, (k + 1) * mm), m, m, resid, r, x.subarray(k * mr, (k + 1) * mr), true);
    }
  }
  return x;
}

/** out (+)= A·B with A p × q and B q × s, all row-major. */
function multiplyInto(a: Float64Array, p: number, q: number, bm: Float64Array, s: number, out: Float64Array, accumulate: boolean): void {
  if (!accumulate) out.fill(0, 0, p * s);
  for (let i = 0; i < p; i++) {
    for (let l = 0; l < q; l++) {
      const v = a[i * q + l];
      if (v === 0) continue;
      const bo = l * s;
      const oo = i * s;
      for (let j = 0; j < s; j++) out[oo + j] += v * bm[bo + j];
    }
  }
}

function identityMinusProduct(a: Float64Array, bm: Float64Array, m: number, out: Float64Array): void {
  multiplyInto(a, m, m, bm, m, out, false);
  for (let i = 0; i < m * m; i++) out[i] = -out[i];
  for (let i = 0; i < m; i++) out[i * m + i] += 1;
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
