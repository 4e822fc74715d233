import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKernelsModule, MODULE_PATH, WAT_PATH } from '../../../scripts/build-wasm';
import { solveBlockToeplitz, solveBlockToeplitzJs } from './blockToeplitz';
import { bssEvalV4 } from './bsseval';
import { laggedCrossCorrelations } from './correlation';
import { setWasmKernelsEnabled, wasmKernels } from './wasm';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function gramBlocks(channels: number, L: number, length: number, rand: () => number): Float64Array[] {
  const sig = Array.from({ length: channels }, () => Float64Array.from({ length }, rand));
  return Array.from({ length: L }, (_, k) => {
    const block = new Float64Array(channels * channels);
    for (let p = 0; p < channels; p++)
      for (let q = 0; q < channels; q++) {
        let s = 0;
        for (let n = 0; n + k < length; n++) s += sig[p][n] * sig[q][n + k];
        block[p * channels + q] = s;
      }
    return block;
  });
}

/** Largest |a − b| / max(|a|, |b|) (0 where both are 0). */
function maxRelativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const scale = Math.max(Math.abs(a[i]), Math.abs(b[i]));
    if (scale > 0) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  }
  return worst;
}

afterEach(() => setWasmKernelsEnabled(true));

describe('WebAssembly kernels', () => {
  it('kernels.wasm.ts is what `npm run build:wasm` makes of kernels.wat', async () => {
    const expected = await generateKernelsModule(readFileSync(WAT_PATH, 'utf8'));
    expect(readFileSync(MODULE_PATH, 'utf8')).toBe(expected);
  });

  it('load in Node', () => {
    expect(wasmKernels()).not.toBeNull();
  });

  for (const [m, L, r] of [
    [8, 40, 8],
    [7, 33, 8],
    [2, 50, 2],
    [1, 20, 2],
    [3, 17, 3],
    [4, 9, 6],
  ]) {
    it(`solve the block-Toeplitz system as the JS recursion does (m = ${m}, L = ${L}, r = ${r})`, () => {
      const rand = seeded(31 * m + L);
      const blocks = gramBlocks(m, L, 4 * L + 64, rand);
      const rhs = Float64Array.from({ length: L * m * r }, rand);
      const want = solveBlockToeplitzJs(blocks, m, rhs, r);
      const got = solveBlockToeplitz(blocks, m, rhs, r);
      expect(maxRelativeDifference(got, want)).toBeLessThan(1e-12);
    });
  }

  it('compute the lagged cross-correlations as the JS loops do', () => {
    const rand = seeded(9);
    const length = 20_000;
    const xs = [0, 1, 2].map(() => Float64Array.from({ length }, rand));
    const ys = [...xs, Float32Array.from({ length }, rand)];
    const pairs = [
      { x: 0, y: 0 },
      { x: 0, y: 2 },
      { x: 1, y: 3 },
      { x: 2, y: 1 },
    ];
    const got = laggedCrossCorrelations(xs, ys, pairs, 300);
    setWasmKernelsEnabled(false);
    const want = laggedCrossCorrelations(xs, ys, pairs, 300);
    got.forEach((c, p) => {
      expect(maxRelativeDifference(c, want[p])).toBeLessThan(1e-12);
    });
  });

  it('give the JS path’s scores, also with a mono source', () => {
    const rand = seeded(4);
    const n = 3 * 4096 + 1000;
    const refs = [0, 1, 2].map(() => [0, 1].map(() => Float64Array.from({ length: n }, rand)));
    refs[1][1] = Float64Array.from(refs[1][0]); // mono: a dependent channel, dropped before the solve
    const ests = refs.map((s, j) =>
      s.map((ch, c) => ch.map((v, i) => 0.8 * v + 0.2 * refs[(j + 1) % 3][c][i] + 0.05 * rand())),
    );
    const options = { window: 4096, hop: 3000, filtersLength: 64 };
    const got = bssEvalV4(refs, ests, options);
    setWasmKernelsEnabled(false);
    const want = bssEvalV4(refs, ests, options);
    for (const metric of ['SDR', 'ISR', 'SIR', 'SAR'] as const) {
      want[metric].forEach((row, j) => {
        expect(row.every(Number.isFinite)).toBe(true);
        row.forEach((v, t) => {
          expect(Math.abs(got[metric][j][t] - v)).toBeLessThan(1e-9);
        });
      });
    }
  });
});
