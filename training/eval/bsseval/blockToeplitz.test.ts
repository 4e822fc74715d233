import { describe, expect, it } from 'vitest';
import { invert, solveBlockToeplitz } from './blockToeplitz';
import { laggedCrossCorrelations } from './correlation';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** Dense Gaussian elimination with partial pivoting: the independent reference. */
function denseSolve(a: number[][], b: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let k = c; k < m[r].length; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, i) => row.slice(n).map((v) => v / m[i][i]));
}

/** Block-Toeplitz Gram matrix of `channels` random signals delayed by 0…L−1 samples (SPD, as in BSS Eval). */
function gramBlocks(channels: number, L: number, length: number, rand: () => number) {
  const sig = Array.from({ length: channels }, () => Float64Array.from({ length }, rand));
  const corr = (p: number, q: number, k: number) => {
    let s = 0;
    for (let n = 0; n < length; n++) {
      const j = n + k;
      if (j >= 0 && j < length) s += sig[p][n] * sig[q][j];
    }
    return s;
  };
  return Array.from({ length: L }, (_, k) => {
    const block = new Float64Array(channels * channels);
    for (let p = 0; p < channels; p++)
      for (let q = 0; q < channels; q++) block[p * channels + q] = corr(p, q, k);
    return block;
  });
}

describe('solveBlockToeplitz', () => {
  for (const [m, L, r] of [
    [1, 7, 1],
    [2, 9, 2],
    [8, 6, 8],
    [3, 5, 4],
  ]) {
    it(`equals a dense solve for ${m}×${m} blocks, L = ${L}, ${r} right-hand sides`, () => {
      const rand = seeded(m * 100 + L);
      const blocks = gramBlocks(m, L, 64, rand);
      const size = m * L;
      // Dense T[a·m + i][b·m + j] = R(a − b)[i][j], R(−k) = R(k)ᵀ.
      const dense = Array.from({ length: size }, (_, row) =>
        Array.from({ length: size }, (_, col) => {
          const a = Math.floor(row / m);
          const b = Math.floor(col / m);
          const i = row % m;
          const j = col % m;
          return a >= b ? blocks[a - b][i * m + j] : blocks[b - a][j * m + i];
        }),
      );
      const rhs = Float64Array.from({ length: size * r }, rand);
      const x = solveBlockToeplitz(blocks, m, rhs, r);
      const want = denseSolve(
        dense,
        Array.from({ length: size }, (_, i) => Array.from(rhs.subarray(i * r, (i + 1) * r))),
      );
      for (let i = 0; i < size; i++)
        for (let c = 0; c < r; c++) expect(x[i * r + c]).toBeCloseTo(want[i][c], 8);
    });
  }

  it('inverts small matrices and rejects singular ones', () => {
    const inv = invert(Float64Array.of(0, 2, 1, 1), 2);
    expect(Array.from(inv)).toEqual([-0.5, 1, 0.5, 0]);
    expect(() => invert(Float64Array.of(1, 2, 2, 4), 2)).toThrow(/singular/);
  });
});

describe('laggedCrossCorrelations', () => {
  it('equals the direct sum for every lag, across block boundaries', () => {
    const rand = seeded(5);
    const length = 9000; // several 4096-point blocks
    const x = Float64Array.from({ length }, rand);
    const y = Float32Array.from({ length }, rand);
    const maxLag = 20;
    const [c] = laggedCrossCorrelations([x], [y], [{ x: 0, y: 0 }], maxLag);
    for (const k of [-maxLag, -7, 0, 1, 13, maxLag]) {
      let direct = 0;
      for (let n = 0; n < length; n++) if (n + k >= 0 && n + k < length) direct += x[n] * y[n + k];
      expect(c[k + maxLag]).toBeCloseTo(direct, 9);
    }
  });
});
