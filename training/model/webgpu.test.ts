/// <reference types="@webgpu/types" />
/**
 * The trainer on tfjs-backend-webgpu (Dawn's Node bindings; on a machine without a GPU, Mesa's
 * lavapipe) against tfjs-backend-wasm: one seeded training step of a tiny network, exactly as
 * training/train/loop.ts runs it (loss and gradients with dropout, AdamW with clipping and weight
 * decay, BatchNorm running statistics, then the inference forward of validation), and the kernels whose
 * webgpu versions take another path at the real model's sizes. Skips, with a warning, where there is
 * no WebGPU adapter.
 *
 * Tolerance, TOL = 1e-4 of each tensor's largest magnitude: both backends compute in float32, but sum
 * in other orders (XNNPACK's blocked GEMM against WGSL tiles and split-K atomics, other reduction
 * trees), and the rounding differences (float32 ε ≈ 6e-8 per operation) grow through 2 LSTM layers × 20
 * steps and three BatchNorms: measured ≤ 2.2e-6 here (input_mean aside, below). 1e-4 leaves a margin for other
 * adapters, while a wrong or dropped kernel gives errors of order 1.
 *
 * Updated weights: Adam's first step is lr · g / (|g| + ε), about lr · sign(g), so a gradient that is 0
 * in exact arithmetic (input_mean's: bn1 removes any constant shift of fc1's output) and float32 noise
 * on both backends moves by ±lr with either sign. The weights after the step are compared within
 * TOL · lr wherever wasm's gradient is above rounding noise (GRAD_NOISE, 1e-5 absolute: the largest
 * gradient difference measured is 7e-7), within 2 · lr everywhere; the update itself is then checked
 * from identical gradients (wasm's, uploaded), within TOL · lr everywhere, and the forward after it.
 * input_mean's gradient (that noise) is compared on an absolute floor of 1e-3.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { type UmxConfig, umxConfig } from '../../src/core/model/config';
import { isHeadParameter, type UmxTargetWeights } from '../../src/core/model/parameters';
import { mulberry32 } from '../../src/core/random';
import { randomTargetWeights as randomWeights } from '../export/test-weights';
import { AdamW, type AdamWOptions } from '../train/adamw';
import { assertBackendHealthy, BackendUnavailableError, useBackend, webGpuAdapter } from './backend';
import { UmxTf, withSeededRandom } from './umx-tf';

const TOL = 1e-4;

let unavailable: string | null = null;
try {
  await useBackend('webgpu');
} catch (err) {
  // Only a missing adapter or package skips; anything else fails the file.
  if (!(err instanceof BackendUnavailableError)) throw err;
  unavailable = err.message;
}
if (unavailable) console.warn(`webgpu training tests SKIPPED: ${unavailable}`);
else console.log(`webgpu training tests on: ${webGpuAdapter()}`);

/** Largest |a − b| over the largest |a| (at least `floor`). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  expect(b.length).toBe(a.length);
  let d = 0;
  let m = floor;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / m;
}

/** Max measured differences, printed at the end (the README's figures). */
const measured: Record<string, number> = {};
const note = (what: string, v: number) => {
  measured[what] = Math.max(measured[what] ?? 0, v);
  return v;
};
afterAll(() => {
  if (Object.keys(measured).length)
    console.log(
      `webgpu vs wasm, max relative differences: ${Object.entries(measured)
        .map(([k, v]) => `${k} ${v.toExponential(1)}`)
        .join(', ')}`,
    );
});

/**
 * Runs `f` on `backend`; on webgpu with tfjs' hand-off of small CPU-resident tensors to the cpu
 * backend off, so that every kernel runs on the GPU. Fails on any WebGPU device error.
 */
async function on<T>(backend: 'wasm' | 'webgpu', f: () => Promise<T>): Promise<T> {
  await useBackend(backend);
  const forward = tf.env().getBool('WEBGPU_CPU_FORWARD');
  if (backend === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
  try {
    const before = tf.memory().numTensors;
    const out = await f();
    expect(tf.memory().numTensors, 'tensors leaked').toBe(before);
    assertBackendHealthy();
    return out;
  } finally {
    tf.env().set('WEBGPU_CPU_FORWARD', forward);
  }
}

const read = async (t: tf.Tensor) => Float32Array.from((await t.data()) as Float32Array);

const ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, gradClip: 0.5 };
const LR = 1e-2;
/** Gradients below this (absolute) are rounding noise on either backend (see above). */
const GRAD_NOISE = 1e-5;

interface StepCase {
  readonly name: string;
  readonly config: UmxConfig;
  /** Joint network: jointGrads (one head at a time) with this sum-loss weight. */
  readonly sumLossWeight?: number;
}

interface StepResult {
  losses: number[];
  norm: number;
  grads: Record<string, Float32Array>;
  /** Parameters and BN running statistics after the step, by parameter key. */
  after: Record<string, Float32Array>;
  /** Inference (validation) forward of every head, before and after the step. */
  forwardBefore: Float32Array[];
  forwardAfter: Float32Array[];
}

/** [batch 2, frames 20, channels 2, bins]: 20 frames, more than a dispatch binds (Pack/Concat split). */
function batch(c: UmxConfig, heads: number) {
  const r = mulberry32(8);
  const shape: [number, number, number, number] = [2, 20, c.nbChannels, c.nbBins];
  const n = shape.reduce((a, b) => a * b);
  const mix = Float32Array.from({ length: n }, () => 2 * r() * r());
  const targets = Array.from({ length: heads }, () => mix.map((m) => m * r()));
  return { shape, mix, targets };
}

/** One training step as loop.ts runs it, on the active backend. */
async function trainStep(tc: StepCase, gradsIn?: Record<string, Float32Array>): Promise<StepResult> {
  const c = tc.config;
  const heads = c.joint ? [...c.targets] : null;
  const w = randomWeights(c, 21);
  const model = heads
    ? new UmxTf(
        c,
        Object.fromEntries(heads.map((h, j) => [h, j === 0 ? w : { ...w, ...headOf(c, 30 + j) }])),
        heads,
      )
    : new UmxTf(c, w);
  const b = batch(c, heads?.length ?? 1);
  const mix = tf.tensor4d(b.mix, b.shape);
  const targets = b.targets.map((t) => tf.tensor4d(t, b.shape));
  const forward = async () => {
    const ys = model.forwardHeads(mix);
    const out: Float32Array[] = [];
    for (const y of ys) out.push(await read(y));
    tf.dispose(ys);
    return out;
  };
  const forwardBefore = await forward();
  const seed = 1234;
  let losses: number[];
  let grads: Record<string, tf.Tensor>;
  if (heads) {
    const r = await model.jointGradsAsync(mix, targets, seed, {}, tc.sumLossWeight ?? 0);
    losses = r.losses;
    grads = r.grads;
  } else {
    const { value, grads: byVar } = withSeededRandom(seed, () =>
      tf.variableGrads(() => model.loss(mix, targets[0]), [...model.params.values()]),
    );
    losses = [(await value.data())[0]];
    value.dispose();
    const byName = new Map([...model.params].map(([k, v]) => [v.name, k]));
    grads = Object.fromEntries(Object.entries(byVar).map(([k, g]) => [byName.get(k)!, g]));
  }
  const gradArrays: Record<string, Float32Array> = {};
  for (const [k, g] of Object.entries(grads)) gradArrays[k] = await read(g);
  // With `gradsIn`: the optimiser update from these gradients instead of the step's own.
  const applied = gradsIn
    ? Object.fromEntries(Object.entries(gradsIn).map(([k, g]) => [k, tf.tensor(g, grads[k].shape)]))
    : grads;
  const opt = new AdamW(model.params, ADAMW);
  const norm = await opt.applyAsync(applied, LR);
  model.updateRunningStats(b.shape[0] * b.shape[1]);
  const after: Record<string, Float32Array> = {};
  for (const [k, v] of [...model.params, ...model.buffers]) after[k] = await read(v);
  const forwardAfter = await forward();
  tf.dispose([mix, ...targets, ...Object.values(grads), ...(gradsIn ? Object.values(applied) : [])]);
  opt.dispose();
  model.dispose();
  return { losses, norm, grads: gradArrays, after, forwardBefore, forwardAfter };
}

/** Head parameters (fc3, bn3, output affine) of another random draw: each head of a joint network its own. */
function headOf(c: UmxConfig, seed: number): UmxTargetWeights {
  const w = randomWeights(c, seed);
  return Object.fromEntries(Object.entries(w).filter(([name]) => isHeadParameter(name)));
}

const tiny = (o: Partial<UmxConfig> = {}) =>
  umxConfig({ nFft: 64, maxBin: 20, hiddenSize: 8, nbLayers: 2, lstmDropout: 0.3, ...o });

const CASES: StepCase[] = [
  { name: 'one target, bidirectional, dropout', config: tiny() },
  {
    name: 'joint network of 2 heads, mel bands, sum loss',
    config: tiny({
      joint: true,
      targets: ['vocals', 'drums'],
      input: { kind: 'bands', scale: 'mel', bands: 7 },
    }),
    sumLossWeight: 0.5,
  },
];

describe.skipIf(unavailable !== null)('one training step: webgpu = wasm', () => {
  for (const tc of CASES) {
    it(`${tc.name}: forward, loss, gradients, AdamW update, running stats within ${TOL}`, async () => {
      const ref = await on('wasm', () => trainStep(tc));
      const gpu = await on('webgpu', () => trainStep(tc));
      ref.forwardBefore.forEach((y, j) => {
        expect(note('forward', relErr(y, gpu.forwardBefore[j])), `forward ${j}`).toBeLessThan(TOL);
      });
      ref.losses.forEach((l, j) => {
        expect(note('loss', Math.abs(gpu.losses[j] - l) / Math.abs(l)), `loss ${j}`).toBeLessThan(TOL);
      });
      expect(note('gradient norm', Math.abs(gpu.norm - ref.norm) / ref.norm)).toBeLessThan(TOL);
      expect(ref.norm).toBeGreaterThan(ADAMW.gradClip); // clipping is on the path
      expect(Object.keys(gpu.grads).sort()).toEqual(Object.keys(ref.grads).sort());
      for (const [k, g] of Object.entries(ref.grads)) {
        // input_mean's gradient is 0 up to rounding (see above): on an absolute floor.
        expect(note('gradients', relErr(g, gpu.grads[k], 1e-3)), `gradient ${k}`).toBeLessThan(TOL);
      }
      for (const [k, w] of Object.entries(ref.after)) {
        const g = ref.grads[k];
        let far = 0;
        let near = 0;
        if (g) {
          const big = GRAD_NOISE;
          for (let i = 0; i < w.length; i++) {
            const d = Math.abs(gpu.after[k][i] - w[i]);
            if (Math.abs(g[i]) > big) near = Math.max(near, d);
            far = Math.max(far, d);
          }
          expect(note('weights after the step (in lr)', near / LR), `weight ${k}`).toBeLessThan(TOL);
          expect(far, `weight ${k}, anywhere`).toBeLessThanOrEqual(2 * LR * (1 + TOL));
        } else {
          // BatchNorm running statistics: from the batch statistics, no optimiser.
          expect(note('running stats', relErr(w, gpu.after[k])), `buffer ${k}`).toBeLessThan(TOL);
        }
      }
    });

    it(`${tc.name}: AdamW from identical gradients, then the forward, within ${TOL}`, async () => {
      const ref = await on('wasm', () => trainStep(tc));
      const gpu = await on('webgpu', () => trainStep(tc, ref.grads));
      expect(Math.abs(gpu.norm - ref.norm) / ref.norm).toBeLessThan(1e-6);
      for (const [k, w] of Object.entries(ref.after)) {
        if (!ref.grads[k]) continue;
        let d = 0;
        for (let i = 0; i < w.length; i++) d = Math.max(d, Math.abs(gpu.after[k][i] - w[i]));
        expect(note('AdamW update from identical gradients (in lr)', d / LR), k).toBeLessThan(TOL);
      }
      ref.forwardAfter.forEach((y, j) => {
        expect(note('forward after the update', relErr(y, gpu.forwardAfter[j])), `forward ${j}`).toBeLessThan(
          TOL,
        );
      });
    });
  }
});

/** x [n] of random values in [lo, hi). */
const uniform = (n: number, seed: number, lo = -1, hi = 1) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
};

describe.skipIf(unavailable !== null)('kernels at the sizes of real training: webgpu = wasm', () => {
  /** Each op's output on both backends (every kernel on the GPU), within TOL of the largest value. */
  async function same(what: string, op: () => tf.Tensor) {
    const run = async () => {
      const y = op();
      const out = await read(y);
      y.dispose();
      return out;
    };
    const a = await on('wasm', run);
    const b = await on('webgpu', run);
    expect(b.every(Number.isFinite), `${what}: finite`).toBe(true);
    expect(note(what, relErr(a, b)), what).toBeLessThan(TOL);
  }

  it('matMul: each of tfjs-webgpu program types (reduce, split-K, small output, packed)', async () => {
    // [m, k] · [k, n]; the program type follows from the shape (tfjs-backend-webgpu batchMatMulImpl).
    const shapes: [string, number, number, number][] = [
      ['matMul reduce', 1, 300, 100], // ≤ 128 outputs
      ['matMul split-K', 1, 2048, 256], // a column sum over 2048 rows, hidden 256
      ['matMul small output', 40, 64, 40],
      ['matMul packed', 100, 64, 300],
    ];
    for (const [what, m, k, n] of shapes) {
      await same(what, () =>
        tf.tidy(() =>
          tf.matMul(tf.tensor2d(uniform(m * k, 1), [m, k]), tf.tensor2d(uniform(k * n, 2), [k, n])),
        ),
      );
    }
  });

  it('addN of more inputs than a shader may bind (AdamW gradient norm)', async () => {
    for (const count of [3, 29, 100]) {
      await same(`addN ×${count}`, () =>
        tf.tidy(() => tf.addN(Array.from({ length: count }, (_, i) => tf.sum(tf.tensor1d(uniform(50, i)))))),
      );
    }
  });

  it('sum and mean of a million values (against float64); sigmoid, tanh, rsqrt, step at extremes', async () => {
    const big = uniform(2 * 2049 * 256, 3, 0, 1);
    // A float32 sum of 1M values is not exact on either backend, in different ways (wasm's Sum and Mean
    // add sequentially: measured 1e-5 and 4e-4 off; webgpu's are trees): each against the float64 sum.
    const exact = (f: (x: number) => number) => big.reduce((a, x) => a + f(x), 0);
    for (const [what, op, want] of [
      ['sum (1M)', () => tf.sum(tf.tensor1d(big)), exact((x) => x)],
      ['mean of squares (1M)', () => tf.mean(tf.square(tf.tensor1d(big))), exact((x) => x * x) / big.length],
    ] as const) {
      for (const backend of ['wasm', 'webgpu'] as const) {
        const got = await on(backend, async () => {
          const y = tf.tidy(op);
          const v = (await y.data())[0];
          y.dispose();
          return v;
        });
        const err = note(`${what} vs float64, ${backend}`, Math.abs(got - want) / want);
        if (backend === 'webgpu') expect(err, what).toBeLessThan(TOL);
      }
    }
    await same('column sum', () => tf.tidy(() => tf.sum(tf.tensor2d(big, [512, 2049]), 0)));
    const x = Float32Array.from([-1e4, -100, -30, -1, -1e-7, 0, 1e-7, 1, 30, 100, 1e4]);
    await same('sigmoid', () => tf.tidy(() => tf.sigmoid(tf.tensor1d(x))));
    await same('tanh', () => tf.tidy(() => tf.tanh(tf.tensor1d(x))));
    await same('step', () => tf.tidy(() => tf.step(tf.tensor1d(x))));
    await same('rsqrt', () =>
      tf.tidy(() => tf.rsqrt(tf.tensor1d(Float32Array.from([1e-5, 1e-3, 0.5, 1, 3, 1e6])))),
    );
  });
});
