/**
 * `npm run bench:train` — training throughput of one Open-Unmix target network in TensorFlow.js:
 * seconds of training audio per wall-clock second (forward + backward + Adam), per backend and hidden
 * size; 3 bidirectional LSTM layers, maxBin 1487, random data. Warm-up steps are excluded; the figure
 * is the median step (min also shown, as the machine may be shared). `--heads 4`: a joint network of 4
 * targets (one trunk, four heads) instead; its "per target" figure (audio × heads / time) is the one to
 * set beside a single target network's. Also printed: steps/s and examples (clips)/s.
 *
 * `--backend webgpu` (or `--backends wasm,webgpu`): tfjs-backend-webgpu through Dawn's Node bindings
 * (training/model/backend.ts). A step there ends with the loss read back, i.e. when the GPU is done.
 *
 *   npm run bench:train -- [--hidden 128,256] [--backend wasm,webgpu,cpu] [--inputs linear,mel256]
 *                          [--heads 1,4] [--batch 16] [--frames 128] [--steps 5] [--warmup 2] [--profile]
 */
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { framesToSeconds, type UmxConfig, umxConfig } from '../../src/core/model/config';
import { initUmxWeights } from '../../src/core/model/parameters';
import { mulberry32 } from '../../src/core/random';
import { positiveInt } from '../cli/args';
import { assertBackendHealthy, parseTrainBackend, useBackend, webGpuAdapter } from '../model/backend';
import { UmxTrainer } from '../model/train';
import { UmxTf } from '../model/umx-tf';

const program = new Command('bench:train')
  .option('--hidden <list>', 'hidden sizes', '128,256')
  .option('--backends <list>', 'tfjs backends (wasm, cpu, webgpu)', 'wasm,cpu')
  .option('--backend <list>', 'the same as --backends (wins over it)')
  .option('--inputs <list>', 'input representations: linear, mel<N>, log<N> (N bands)', 'linear')
  .option('--heads <list>', '1: one target network; J > 1: a joint network of J targets', '1')
  .option('--batch <n>', 'clips per batch', positiveInt, 16)
  .option('--frames <n>', 'STFT frames per clip', positiveInt, 128)
  .option('--steps <n>', 'timed steps (cpu: at most 2)', positiveInt, 5)
  .option('--warmup <n>', 'untimed steps first', positiveInt, 2)
  .option('--profile', 'one extra step under tf.profile: time per kernel', false)
  .parse();
const opts = program.opts<{
  hidden: string;
  backends: string;
  backend?: string;
  inputs: string;
  heads: string;
  batch: number;
  frames: number;
  steps: number;
  warmup: number;
  profile: boolean;
}>();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`bench:train — ${new Date().toISOString()}`);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, tfjs-core ${tf.version_core}`,
);
console.log(`model: 3 bidirectional LSTM layers, maxBin 1487, batch ${opts.batch} × ${opts.frames} frames`);
const ALL_TARGETS = ['vocals', 'drums', 'bass', 'other'] as const;

/** `linear`, `mel256`, `log128` → the model's input representation. */
function parseInput(text: string): UmxConfig['input'] {
  if (text === 'linear') return { kind: 'linear' };
  const m = /^(mel|log)(\d+)$/.exec(text);
  if (!m) throw new Error(`--inputs: "${text}" is not linear, mel<N> or log<N>`);
  return { kind: 'bands', scale: m[1] as 'mel' | 'log', bands: Number(m[2]) };
}

for (const backend of (opts.backend ?? opts.backends).split(',').map((b) => parseTrainBackend(b.trim()))) {
  await useBackend(backend);
  if (backend === 'webgpu') console.log(`webgpu adapter: ${webGpuAdapter()}`);
  for (const [hidden, inputName, heads] of opts.hidden
    .split(',')
    .map(Number)
    .flatMap((h) => opts.inputs.split(',').map((i) => [h, i] as const))
    .flatMap(([h, i]) => opts.heads.split(',').map((j) => [h, i, Number(j)] as const))) {
    if (!(heads >= 1 && heads <= ALL_TARGETS.length)) throw new Error(`--heads: 1 to 4, got ${heads}`);
    const config = umxConfig({
      targets: ALL_TARGETS.slice(0, heads),
      hiddenSize: hidden,
      input: parseInput(inputName),
      ...(heads > 1 ? { joint: true } : {}),
    });
    const weights = initUmxWeights(config, mulberry32(1));
    // A joint network: every head starts from the same draw (the speed does not depend on it).
    const model =
      heads > 1
        ? new UmxTf(config, Object.fromEntries(config.targets.map((t) => [t, weights])), config.targets)
        : new UmxTf(config, weights);
    const trainer = new UmxTrainer(model);
    const r = mulberry32(2);
    const shape: [number, number, number, number] = [
      opts.batch,
      opts.frames,
      config.nbChannels,
      config.nbBins,
    ];
    const n = shape.reduce((a, b) => a * b);
    const mixData = Float32Array.from({ length: n }, () => r());
    const mix = tf.tensor4d(mixData, shape);
    const target = tf.tensor4d(
      mixData.map((v) => v * r()),
      shape,
    );
    const targets = config.targets.map(() => target);
    const audioSeconds = framesToSeconds(config, opts.batch * opts.frames);
    // The cpu backend takes tens of seconds per step: fewer steps there.
    const steps = backend === 'cpu' ? Math.min(opts.steps, 2) : opts.steps;
    const warmup = backend === 'cpu' ? 1 : opts.warmup;
    const times: number[] = [];
    let loss = 0;
    for (let s = 0; s < warmup + steps; s++) {
      const t0 = performance.now();
      // stepAsync: the same step as `step`, its loss read back asynchronously (webgpu has no dataSync in Node).
      loss = await trainer.stepAsync(mix, heads > 1 ? targets : target, s);
      if (s >= warmup) times.push((performance.now() - t0) / 1000);
    }
    assertBackendHealthy();
    const med = median(times);
    // Forward only (training-mode loss without the tape) for the forward/backward split.
    const t0 = performance.now();
    const fwdLoss = model.loss(mix, heads > 1 ? targets : target);
    await fwdLoss.data();
    fwdLoss.dispose();
    model.clearStats();
    const fwd = (performance.now() - t0) / 1000;
    const perTarget =
      heads > 1 ? ` = ${((heads * audioSeconds) / med).toFixed(1)} per target (joint, ${heads} heads)` : '';
    console.log(
      `${backend.padEnd(6)} hidden ${String(hidden).padStart(3)} ${inputName.padEnd(7)}: ${(audioSeconds / med).toFixed(1).padStart(6)} audio-s/s${perTarget}, ` +
        `${(1 / med).toFixed(3)} steps/s, ${(opts.batch / med).toFixed(2)} examples/s ` +
        `(median step ${med.toFixed(3)} s, min ${Math.min(...times).toFixed(3)} s over ${steps}; ` +
        `forward ${fwd.toFixed(3)} s; ${audioSeconds.toFixed(1)} audio-s per step; loss ${loss.toFixed(4)}; ` +
        `${tf.memory().numTensors} tensors alive)`,
    );

    if (opts.profile) {
      const t1 = performance.now();
      const info = await tf.profile(async () => {
        await trainer.stepAsync(mix, heads > 1 ? targets : target);
      });
      const wall = performance.now() - t1;
      const byKernel = new Map<string, { ms: number; count: number }>();
      let total = 0;
      for (const k of info.kernels) {
        // webgpu without the timestamp-query feature gives {error} instead of a time: counted as 0.
        const ms = Number(await k.kernelTimeMs) || 0;
        const e = byKernel.get(k.name) ?? { ms: 0, count: 0 };
        e.ms += ms;
        e.count++;
        byKernel.set(k.name, e);
        total += ms;
      }
      console.log(
        `  profile: ${info.kernels.length} kernels, Σ kernel time ${total.toFixed(0)} ms of ${wall.toFixed(0)} ms wall (profiling adds overhead); top kernels:`,
      );
      const top = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
      for (const [name, e] of top)
        console.log(`    ${name.padEnd(22)} ${e.ms.toFixed(0).padStart(6)} ms  ×${e.count}`);
    }
    tf.dispose([mix, target]);
    trainer.dispose();
    model.dispose();
  }
}
