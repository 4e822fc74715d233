/// <reference types="@webgpu/types" />
/**
 * The WebGPU engine against the plain-TS reference forward (src/core/model/reference.ts), on a real
 * WebGPU adapter through Dawn's Node bindings (on a GPU-less machine: Mesa's lavapipe). Skips, with a
 * warning, where there is no adapter.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { nodeGpuDevice } from '../../../training/node/webgpu';
import { initUmxWeights, type UmxConfig, type UmxWeights, umxConfig, umxReferenceForward } from '../model';
import { mulberry32 } from '../random';
import { SHIPPED_MODEL_PATH } from '../shipped-model';
import { createWebGpuEnsemble, createWebGpuModel, umxMembersFromOnnx } from '.';
import { deviceHasSubgroups } from './engine';

const gpu = await nodeGpuDevice();
const device = 'device' in gpu ? gpu.device : null;
if (!device) console.warn(`WebGPU engine tests SKIPPED: ${'unavailable' in gpu ? gpu.unavailable : ''}`);
else console.log(`WebGPU adapter: ${'adapter' in gpu ? gpu.adapter : ''}`);

const SHIPPED = new URL(`../../../${SHIPPED_MODEL_PATH}`, import.meta.url);

/** Random weights with BatchNorm statistics and affines away from their defaults. */
function randomWeights(config: UmxConfig, seed: number): UmxWeights {
  const random = mulberry32(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * random();
  const targets: UmxWeights['targets'] = {};
  for (const target of config.targets) {
    const w = initUmxWeights(config, random);
    for (const [name, arr] of Object.entries(w)) {
      let range: [number, number] | null = null;
      if (name.endsWith('running_var')) range = [0.5, 2];
      else if (name.endsWith('running_mean') || /^bn\d\.bias$/.test(name)) range = [-0.3, 0.3];
      else if (/^bn\d\.weight$/.test(name)) range = [0.6, 1.4];
      else if (name === 'input_mean') range = [-1, 0];
      else if (name === 'input_scale' || name === 'output_scale') range = [0.5, 2];
      else if (name === 'output_mean') range = [0.2, 1.5];
      if (range) for (let i = 0; i < arr.length; i++) arr[i] = u(range[0], range[1]);
    }
    targets[target] = w;
  }
  return { config, targets };
}

/** [C][T][bins] (reference layout) → [C][bins][T] (MagnitudeModel layout). */
function toModelLayout(x: Float32Array, C: number, T: number, bins: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let c = 0; c < C; c++)
    for (let t = 0; t < T; t++)
      for (let k = 0; k < bins; k++) out[(c * bins + k) * T + t] = x[(c * T + t) * bins + k];
  return out;
}

function randomMix(config: UmxConfig, frames: number, seed: number, scale = 2): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: config.nbChannels * frames * config.nbBins }, () => scale * random());
}

/** Frames [t0, t1) of a [C][T][bins] spectrogram (reference layout). */
function sliceFrames(x: Float32Array, c: UmxConfig, T: number, t0: number, t1: number): Float32Array {
  const out = new Float32Array(c.nbChannels * (t1 - t0) * c.nbBins);
  for (let ch = 0; ch < c.nbChannels; ch++)
    out.set(x.subarray((ch * T + t0) * c.nbBins, (ch * T + t1) * c.nbBins), ch * (t1 - t0) * c.nbBins);
  return out;
}

/** Max abs difference between the engine and the reference, over all targets. */
async function compare(
  weights: UmxWeights,
  frames: number,
  maxStepsPerDispatch?: number,
  recurrentWeights?: string,
  subgroups?: boolean,
) {
  const c = weights.config;
  const mix = randomMix(c, frames, 7);
  const model = await createWebGpuModel(device!, c, weights.targets, { maxStepsPerDispatch, subgroups });
  try {
    if (recurrentWeights) expect(model.recurrentWeights).toBe(recurrentWeights);
    expect(model.subgroups).toBe(subgroups ?? deviceHasSubgroups(device!));
    const est = await model.estimate(
      toModelLayout(mix, c.nbChannels, frames, c.nbBins),
      c.nbChannels,
      c.nbBins,
      frames,
    );
    let maxErr = 0;
    let maxRef = 0;
    c.targets.forEach((t, j) => {
      const ref = toModelLayout(
        umxReferenceForward(c, weights.targets[t]!, mix, frames),
        c.nbChannels,
        frames,
        c.nbBins,
      );
      for (let i = 0; i < ref.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(ref[i] - est[j][i]));
        maxRef = Math.max(maxRef, Math.abs(ref[i]));
      }
    });
    return { maxErr, maxRef };
  } finally {
    model.release();
  }
}

/** Wraps a device so that compute dispatches and queue submits are counted. */
function countingDevice(real: GPUDevice) {
  const counts = { dispatches: 0, submits: 0, workgroups: 0 };
  const wrap = <T extends object>(target: T, overrides: Record<string, unknown>): T =>
    new Proxy(target, {
      get(t, key) {
        if (typeof key === 'string' && key in overrides) return overrides[key];
        const v = Reflect.get(t, key);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  const queue = wrap(real.queue, {
    submit: (buffers: GPUCommandBuffer[]) => {
      counts.submits++;
      return real.queue.submit(buffers);
    },
  });
  const device = wrap(real, {
    queue,
    createCommandEncoder: (d?: GPUCommandEncoderDescriptor) => {
      const enc = real.createCommandEncoder(d);
      return wrap(enc, {
        beginComputePass: (pd?: GPUComputePassDescriptor) => {
          const pass = enc.beginComputePass(pd);
          return wrap(pass, {
            dispatchWorkgroups: (x: number, y?: number, z?: number) => {
              counts.dispatches++;
              counts.workgroups += x * (y ?? 1) * (z ?? 1);
              pass.dispatchWorkgroups(x, y, z);
            },
            dispatchWorkgroupsIndirect: (b: GPUBuffer, o: number) => {
              counts.dispatches++;
              pass.dispatchWorkgroupsIndirect(b, o);
            },
          });
        },
      });
    },
  });
  return { device, counts };
}

/** Rounds every LSTM weight to a multiple of 2^-12 (|w| < 0.5: exactly a float16, as in fp16-stored models). */
function halfExactLstm(weights: UmxWeights): UmxWeights {
  for (const w of Object.values(weights.targets)) {
    for (const [name, arr] of Object.entries(w!)) {
      if (name.startsWith('lstm.'))
        for (let i = 0; i < arr.length; i++) arr[i] = Math.round(arr[i] * 4096) / 4096;
    }
  }
  return weights;
}

const cases: {
  name: string;
  config: Partial<UmxConfig>;
  frames: number;
  maxSteps?: number;
  halfExact?: boolean;
  /** false: the kernels without subgroups; default: whatever the device supports (lavapipe: subgroups). */
  subgroups?: boolean;
}[] = [
  {
    name: 'hidden 16, bidirectional, 2 targets, linear',
    config: { hiddenSize: 16, targets: ['vocals', 'drums'] },
    frames: 19,
  },
  {
    name: 'hidden 32, unidirectional, 1 target, mel bands, 2 layers',
    config: {
      hiddenSize: 32,
      bidirectional: false,
      nbLayers: 2,
      targets: ['bass'],
      input: { kind: 'bands', scale: 'mel', bands: 12 },
    },
    frames: 23,
  },
  {
    name: 'hidden 128, bidirectional, 4 targets, log bands',
    config: { hiddenSize: 128, input: { kind: 'bands', scale: 'log', bands: 40 } },
    frames: 33,
  },
  {
    name: 'hidden 128, unidirectional (128 units: float32 W_hh from a storage buffer), 3 targets, 1 layer',
    config: { hiddenSize: 128, bidirectional: false, nbLayers: 1, targets: ['vocals', 'bass', 'other'] },
    frames: 21,
  },
  {
    name: 'hidden 256, bidirectional (128 units), float16-exact W_hh: packed float16 path, 2 targets',
    config: { hiddenSize: 256, nbLayers: 2, targets: ['drums', 'vocals'] },
    frames: 17,
    halfExact: true,
  },
  {
    name: 'hidden 320, unidirectional (320 units: the gate-row recurrence kernel), float32 W_hh',
    config: { hiddenSize: 320, bidirectional: false, nbLayers: 1, targets: ['piano'] },
    frames: 9,
  },
  {
    name: 'hidden 640, bidirectional (320 units), float16-exact W_hh: gate-row kernel, packed, split in 4-step dispatches',
    config: { hiddenSize: 640, nbLayers: 1, targets: ['guitar'] },
    frames: 11,
    halfExact: true,
    maxSteps: 4,
  },
  // The kernels without subgroups (for devices that lack them) on the shapes above that use them.
  {
    name: 'no subgroups: hidden 128, bidirectional, 4 targets, log bands',
    config: { hiddenSize: 128, input: { kind: 'bands', scale: 'log', bands: 40 } },
    frames: 33,
    subgroups: false,
  },
  {
    name: 'no subgroups: hidden 128, unidirectional, float32 W_hh from storage, 3 targets, 1 layer',
    config: { hiddenSize: 128, bidirectional: false, nbLayers: 1, targets: ['vocals', 'bass', 'other'] },
    frames: 21,
    subgroups: false,
  },
  {
    name: 'no subgroups: hidden 256, bidirectional, packed float16 W_hh, 2 targets',
    config: { hiddenSize: 256, nbLayers: 2, targets: ['drums', 'vocals'] },
    frames: 17,
    halfExact: true,
    subgroups: false,
  },
  {
    name: 'hidden 32, bidirectional, 1 target, recurrence split in 5-step dispatches',
    config: { hiddenSize: 32, targets: ['other'] },
    frames: 23,
    maxSteps: 5,
  },
];

describe.skipIf(!device)('WebGPU engine vs the plain-TS reference', () => {
  for (const tc of cases) {
    it(`${tc.name}: within 1e-4`, async () => {
      const config = umxConfig({ nFft: 256, maxBin: 100, ...tc.config });
      const weights = randomWeights(config, 3);
      const { maxErr, maxRef } = await compare(
        tc.halfExact ? halfExactLstm(weights) : weights,
        tc.frames,
        tc.maxSteps,
        tc.halfExact ? 'storage-f16' : undefined,
        tc.subgroups,
      );
      console.log(`${tc.name}: max abs error ${maxErr.toExponential(2)} (output max ${maxRef.toFixed(2)})`);
      expect(maxRef).toBeGreaterThan(0.1);
      expect(maxErr).toBeLessThan(1e-4);
    });
  }

  it('the shipped model (every member and network, stored weights, fp32 compute): within 1e-4 of the reference and of onnxruntime', async () => {
    const bytes = new Uint8Array(readFileSync(SHIPPED));
    const members = umxMembersFromOnnx(bytes);
    const c = members[0].config;
    const frames = 24;
    const mix = randomMix(c, frames, 11, 1);
    const input = toModelLayout(mix, c.nbChannels, frames, c.nbBins);
    const model = await createWebGpuEnsemble(device!, members);
    const est = await model.estimate(input, c.nbChannels, c.nbBins, frames);
    model.release();
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const ortOut = (
      await session.run({ mix: new ort.Tensor('float32', input, [1, c.nbChannels, c.nbBins, frames]) })
    ).est.data as Float32Array;
    await session.release();
    let refErr = 0;
    let ortErr = 0;
    let maxRef = 0;
    c.targets.forEach((t, j) => {
      // An ensemble's target is the mean over the members that have it.
      const refs = members
        .filter((m) => m.config.targets.includes(t))
        .map((m) => umxReferenceForward(m.config, m.targets[t]!, mix, frames));
      const ref = toModelLayout(
        refs[0].map((_, i) => refs.reduce((sum, r) => sum + r[i], 0) / refs.length),
        c.nbChannels,
        frames,
        c.nbBins,
      );
      const size = ref.length;
      for (let i = 0; i < size; i++) {
        refErr = Math.max(refErr, Math.abs(ref[i] - est[j][i]));
        ortErr = Math.max(ortErr, Math.abs(ortOut[j * size + i] - est[j][i]));
        maxRef = Math.max(maxRef, Math.abs(ref[i]));
      }
    });
    console.log(
      `shipped model (${members.length} member(s)): vs reference ${refErr.toExponential(2)}, vs onnxruntime ${ortErr.toExponential(2)} (output max ${maxRef.toFixed(2)})`,
    );
    expect(maxRef).toBeGreaterThan(0.1);
    expect(refErr).toBeLessThan(1e-4);
    expect(ortErr).toBeLessThan(1e-4);
  });

  it('dispatches per estimate do not grow with frames, ≤ 64 per network, one submit per member (shipped model)', async () => {
    const members = umxMembersFromOnnx(new Uint8Array(readFileSync(SHIPPED)));
    const c = members[0].config;
    const networks = members.reduce((n, m) => n + m.config.targets.length, 0);
    const { device: counted, counts } = countingDevice(device!);
    const model = await createWebGpuEnsemble(counted, members);
    const perCall: number[] = [];
    for (const frames of [16, 256]) {
      const before = { ...counts };
      const mag = randomMix(c, frames, 5);
      const est = await model.estimate(mag, c.nbChannels, c.nbBins, frames);
      expect(est).toHaveLength(c.targets.length);
      expect(counts.submits - before.submits).toBe(members.length);
      perCall.push(counts.dispatches - before.dispatches);
    }
    model.release();
    console.log(
      `dispatches per estimate (${networks} networks in ${members.length} member(s)): T=16 ${perCall[0]}, T=256 ${perCall[1]}`,
    );
    expect(perCall[0]).toBe(perCall[1]);
    expect(perCall[1]).toBe(model.dispatches(256));
    expect(perCall[1] / networks).toBeLessThanOrEqual(64);
  });

  it("runs a joint model's shared trunk once, not once per target, with the same result", async () => {
    const c = umxConfig({
      nFft: 256,
      maxBin: 100,
      hiddenSize: 32,
      targets: ['vocals', 'drums', 'bass', 'other'],
      joint: true,
      input: { kind: 'bands', scale: 'mel', bands: 24 },
    });
    // Every target's weight set carries the same trunk (as umxWeightsFromOnnx gives a joint model).
    const w = randomWeights(c, 31);
    const trunk = Object.keys(w.targets.vocals!).filter(
      (k) => !/^(fc3|bn3)\./.test(k) && !k.startsWith('output_'),
    );
    for (const t of c.targets) for (const k of trunk) w.targets[t]![k] = w.targets.vocals![k];
    const frames = 40;
    const mag = randomMix(c, frames, 2);
    const run = async (joint: boolean) => {
      const { device: counted, counts } = countingDevice(device!);
      const model = await createWebGpuModel(counted, { ...c, joint }, w.targets);
      const before = counts.workgroups;
      const est = await model.estimate(mag.slice(), c.nbChannels, c.nbBins, frames);
      model.release();
      return { est, workgroups: counts.workgroups - before };
    };
    const shared = await run(true);
    const each = await run(false); // the same networks, the trunk computed per target
    let maxErr = 0;
    shared.est.forEach((e, j) => {
      for (let i = 0; i < e.length; i++) maxErr = Math.max(maxErr, Math.abs(e[i] - each.est[j][i]));
    });
    console.log(
      `joint trunk: ${shared.workgroups} workgroups against ${each.workgroups} per target; max difference ${maxErr.toExponential(2)}`,
    );
    expect(maxErr).toBeLessThan(1e-5);
    expect(shared.workgroups).toBeLessThan(each.workgroups);
  });

  it('streams a unidirectional model block by block with the LSTM state kept on the GPU: equal to one whole estimate', async () => {
    for (const { hiddenSize, nbLayers, maxSteps } of [
      { hiddenSize: 32, nbLayers: 2, maxSteps: 512 }, // private W_hh
      { hiddenSize: 96, nbLayers: 3, maxSteps: 5 }, // W_hh from storage, blocks split into 5-step dispatches
    ]) {
      const c = umxConfig({
        nFft: 64,
        maxBin: 20,
        hiddenSize,
        nbLayers,
        bidirectional: false,
        targets: ['vocals', 'bass'],
      });
      const weights = randomWeights(c, 21);
      const frames = 48;
      const model = await createWebGpuModel(device!, c, weights.targets, { maxStepsPerDispatch: maxSteps });
      const mix = randomMix(c, frames, 9);
      const whole = await model.estimate(
        toModelLayout(mix, c.nbChannels, frames, c.nbBins),
        c.nbChannels,
        c.nbBins,
        frames,
      );
      /** Frames [t0, t1) of the [C][T][bins] mixture, in model layout. */
      const block = (t0: number, t1: number) =>
        toModelLayout(sliceFrames(mix, c, frames, t0, t1), c.nbChannels, t1 - t0, c.nbBins);
      const stream = model.stream();
      for (const cuts of [
        [0, 20, 27, 48],
        [0, 16, 32, 48],
      ]) {
        stream.reset();
        let maxErr = 0;
        for (let i = 0; i + 1 < cuts.length; i++) {
          const [t0, t1] = [cuts[i], cuts[i + 1]];
          const part = await stream.estimate(block(t0, t1), c.nbChannels, c.nbBins, t1 - t0);
          for (let j = 0; j < c.targets.length; j++)
            for (let ch = 0; ch < c.nbChannels; ch++)
              for (let k = 0; k < c.nbBins; k++)
                for (let t = t0; t < t1; t++) {
                  const a = whole[j][(ch * c.nbBins + k) * frames + t];
                  const b = part[j][(ch * c.nbBins + k) * (t1 - t0) + (t - t0)];
                  maxErr = Math.max(maxErr, Math.abs(a - b));
                }
        }
        console.log(
          `stream hidden ${hiddenSize}, blocks ${cuts.join('/')}: max abs difference from whole ${maxErr.toExponential(2)}`,
        );
        expect(maxErr).toBeLessThan(1e-5);
      }
      // Without reset the next block continues the stream: its result differs from a fresh start.
      const fresh = await model.estimate(block(0, 16), c.nbChannels, c.nbBins, 16);
      const continued = await stream.estimate(block(0, 16), c.nbChannels, c.nbBins, 16);
      expect(Math.max(...fresh[0].map((v, i) => Math.abs(v - continued[0][i])))).toBeGreaterThan(1e-4);
      model.release();
    }
    const bi = umxConfig({ nFft: 64, maxBin: 20, hiddenSize: 16, nbLayers: 1, targets: ['vocals'] });
    const biModel = await createWebGpuModel(device!, bi, randomWeights(bi, 3).targets);
    expect(() => biModel.stream()).toThrow(/streaming needs a unidirectional model/);
    biModel.release();
  });
});
