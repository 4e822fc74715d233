import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { type UmxConfig, type UmxWeights, umxConfig, umxReferenceForward } from '../../src/core/model';
import { readModelConfig, readModelMembers } from '../../src/core/onnx-model';
import { mulberry32 } from '../../src/core/random';
import { maxAbsDiff } from '../../src/core/test-compare';
import { createWebGpuEnsemble, createWebGpuModel } from '../../src/core/webgpu';
import { umxMembersFromOnnx, umxWeightsFromOnnx } from '../../src/core/webgpu/onnx-weights';
import { nodeGpuDevice } from '../node/webgpu';
import {
  exportUmxEnsembleOnnx,
  exportUmxOnnx,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  type OnnxExportOptions,
  onnxGateOrder,
  quantizeInt8,
} from './onnx';
import { importUmxPth } from './pth';
import { runOrt } from './test-ort';
import { randomUmxWeights } from './test-weights';

const { onnx } = onnxProto;
const FRAMES = 9;
const gpu = await nodeGpuDevice();
const gpuDevice = 'device' in gpu ? gpu.device : null;

/**
 * Runs the exported graph in onnxruntime-node and returns the max abs error against the reference
 * forward of `reference` (default: the exported weights).
 */
async function exportAndCompare(
  weights: UmxWeights,
  options: OnnxExportOptions = {},
  frames = FRAMES,
  reference: UmxWeights = weights,
) {
  const c = weights.config;
  const random = mulberry32(99);
  // Reference layout [channel][frame][bin]; the graph's input is [1, channel, bin, frame].
  const mix = Float32Array.from({ length: c.nbChannels * frames * c.nbBins }, () => 2 * random());
  const input = new Float32Array(mix.length);
  for (let ch = 0; ch < c.nbChannels; ch++) {
    for (let t = 0; t < frames; t++) {
      for (let k = 0; k < c.nbBins; k++) {
        input[(ch * c.nbBins + k) * frames + t] = mix[(ch * frames + t) * c.nbBins + k];
      }
    }
  }
  const bytes = exportUmxOnnx(weights, options);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const feeds = { mix: new ort.Tensor('float32', input, [1, c.nbChannels, c.nbBins, frames]) };
    const out = (await session.run(feeds)).est;
    expect(out.dims).toEqual([c.targets.length, 1, c.nbChannels, c.nbBins, frames]);
    const data = out.data as Float32Array;
    let maxErr = 0;
    let maxRef = 0;
    c.targets.forEach((target, j) => {
      const ref = umxReferenceForward(reference.config, reference.targets[target]!, mix, frames);
      for (let ch = 0; ch < c.nbChannels; ch++) {
        for (let t = 0; t < frames; t++) {
          for (let k = 0; k < c.nbBins; k++) {
            const r = ref[(ch * frames + t) * c.nbBins + k];
            const o = data[((j * c.nbChannels + ch) * c.nbBins + k) * frames + t];
            maxErr = Math.max(maxErr, Math.abs(r - o));
            maxRef = Math.max(maxRef, Math.abs(r));
          }
        }
      }
    });
    return { maxErr, maxRef, size: bytes.length };
  } finally {
    await session.release();
  }
}

const small = (o: Partial<UmxConfig> = {}) =>
  umxConfig({ nFft: 256, maxBin: 64, hiddenSize: 16, nbLayers: 3, targets: ['vocals', 'drums'], ...o });

describe('exportUmxOnnx (onnxruntime-node vs the plain-TS reference)', () => {
  it('bidirectional, 2 targets: fp32 within 1e-4', async () => {
    const { maxErr, maxRef } = await exportAndCompare(randomUmxWeights(small(), 1));
    console.log(`fp32 export: max abs error ${maxErr.toExponential(2)} (output max ${maxRef.toFixed(2)})`);
    expect(maxRef).toBeGreaterThan(0.1); // the comparison is not vacuous (the ReLU mask is not all zero)
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('unidirectional, 1 target, 2 layers: fp32 within 1e-4', async () => {
    const c = small({ bidirectional: false, nbLayers: 2, targets: ['bass'] });
    const { maxErr, maxRef } = await exportAndCompare(randomUmxWeights(c, 2));
    expect(maxRef).toBeGreaterThan(0.1);
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('band input (mel), mono, 4 targets: fp32 within 1e-4; T is dynamic', async () => {
    const c = small({
      nbChannels: 1,
      input: { kind: 'bands', scale: 'mel', bands: 24 },
      targets: ['vocals', 'drums', 'bass', 'other'],
    });
    const w = randomUmxWeights(c, 3);
    for (const frames of [1, 17]) {
      const { maxErr } = await exportAndCompare(w, {}, frames);
      expect(maxErr).toBeLessThan(1e-4);
    }
  });

  it('weights imported from a .pth fixture export and run like the reference', async () => {
    const dir = `${import.meta.dirname}/__fixtures__`;
    const { weights } = await importUmxPth([`${dir}/tiny-vocals.pth`], ['vocals']);
    const { maxErr, maxRef } = await exportAndCompare(weights);
    expect(maxRef).toBeGreaterThan(0.01);
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('fp16 weights: half the size, error of float16 rounding only (measured, logged)', async () => {
    const w = randomUmxWeights(small(), 4);
    const fp32 = await exportAndCompare(w);
    const fp16 = await exportAndCompare(w, { float16: true });
    expect(fp16.size).toBeLessThan(0.6 * fp32.size); // graph structure is a fixed overhead at this size
    // Relative to the output's range; float16 keeps ~3 significant digits per weight.
    console.log(
      `fp16 export: max abs error ${fp16.maxErr.toExponential(2)} (output max ${fp16.maxRef.toFixed(2)})`,
    );
    expect(fp16.maxErr).toBeGreaterThan(fp32.maxErr);
    expect(fp16.maxErr / fp16.maxRef).toBeLessThan(1e-2);
  });
});

describe('joint model export (one trunk, a head per target)', () => {
  const c = small({
    joint: true,
    targets: ['vocals', 'drums', 'bass'],
    input: { kind: 'bands', scale: 'mel', bands: 24 },
  });

  it('runs like the reference per target, stores the trunk once, and reads back for the WebGPU engine', async () => {
    const weights = randomUmxWeights(c, 7);
    const { maxErr, maxRef, size } = await exportAndCompare(weights);
    expect(maxRef).toBeGreaterThan(0.1);
    expect(maxErr).toBeLessThan(1e-4);
    // The same three networks without sharing: three trunks.
    const separate = exportUmxOnnx(randomUmxWeights({ ...c, joint: false }, 7)).length;
    expect(size).toBeLessThan(separate);
    const names = onnx.ModelProto.decode(exportUmxOnnx(weights)).graph!.initializer!.map((t) => t.name!);
    expect(names).toContain('joint.fc1.w');
    expect(names).toContain('bass.fc3.w');
    expect(names.some((n) => n.startsWith('vocals.lstm'))).toBe(false);

    // umxWeightsFromOnnx (the WebGPU engine's loader) gives each target a network equal to its own.
    const back = umxWeightsFromOnnx(exportUmxOnnx(weights));
    const random = mulberry32(4);
    const mix = Float32Array.from({ length: c.nbChannels * FRAMES * c.nbBins }, () => 2 * random());
    for (const t of c.targets) {
      const a = umxReferenceForward(c, weights.targets[t]!, mix, FRAMES);
      const b = umxReferenceForward(back.config, back.targets[t]!, mix, FRAMES);
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]))), t).toBeLessThan(1e-4);
    }
  });

  it.skipIf(!gpuDevice)(
    'a joint export runs on the WebGPU engine (the extension path) like onnxruntime',
    async () => {
      const config = umxConfig({ ...c, nFft: 256, maxBin: 100, hiddenSize: 32 });
      const bytes = exportUmxOnnx(randomUmxWeights(config, 9), { float16: true });
      const back = umxWeightsFromOnnx(bytes);
      const frames = 13;
      const random = mulberry32(6);
      const input = Float32Array.from({ length: config.nbChannels * config.nbBins * frames }, () => random());
      const model = await createWebGpuModel(gpuDevice!, back.config, back.targets);
      const est = await model.estimate(input, config.nbChannels, config.nbBins, frames);
      model.release();
      const ortOut = await runOrt(bytes, input, config, frames);
      let maxErr = 0;
      let maxRef = 0;
      est.forEach((e, j) => {
        for (let i = 0; i < e.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(e[i] - ortOut[j * e.length + i]));
          maxRef = Math.max(maxRef, Math.abs(ortOut[j * e.length + i]));
        }
      });
      expect(est).toHaveLength(3);
      expect(maxRef).toBeGreaterThan(0.1);
      expect(maxErr).toBeLessThan(1e-4);
    },
  );

  it('refuses a joint model whose targets do not share one trunk', () => {
    const weights = randomUmxWeights(c, 8);
    weights.targets.drums = {
      ...weights.targets.drums!,
      'fc2.weight': weights.targets.drums!['fc2.weight'].map((v) => v + 1),
    };
    expect(() => exportUmxOnnx(weights)).toThrow(/"drums" has another "fc2.weight"/);
  });
});

describe('ensemble export (members of different configs, output = their mean)', () => {
  // Two members as different as the shipped ones: linear input vs mel bands, separate networks vs a
  // joint trunk, different hidden sizes; the same targets and STFT.
  const linear = small({ targets: ['vocals', 'drums'], hiddenSize: 16 });
  const mel = small({
    targets: ['vocals', 'drums'],
    hiddenSize: 24,
    joint: true,
    input: { kind: 'bands', scale: 'mel', bands: 20 },
  });
  const members = [randomUmxWeights(linear, 11), randomUmxWeights(mel, 12)];
  const frames = 11;
  const random = mulberry32(5);
  const input = Float32Array.from({ length: linear.nbChannels * linear.nbBins * frames }, () => 2 * random());

  it('runs as the mean of its members, lists them in its metadata and reads back member by member', async () => {
    const bytes = exportUmxEnsembleOnnx(members);
    const [a, b] = await Promise.all(members.map((m) => runOrt(exportUmxOnnx(m), input, m.config, frames)));
    const both = await runOrt(bytes, input, linear, frames);
    expect(both).toHaveLength(a.length);
    const mean = a.map((v, i) => 0.5 * (v + b[i]));
    expect(maxAbsDiff(a, b)).toBeGreaterThan(0.1); // the members really differ
    expect(maxAbsDiff(both, mean)).toBeLessThan(1e-5);

    expect(readModelMembers(bytes).map((m) => [m.prefix, m.config.hiddenSize, m.config.input.kind])).toEqual([
      ['m0/', 16, 'linear'],
      ['m1/', 24, 'bands'],
    ]);
    expect(readModelMembers(exportUmxOnnx(members[0]))).toEqual([{ prefix: '', config: linear }]);
    const back = umxMembersFromOnnx(bytes);
    expect(back).toHaveLength(2);
    const mix = Float32Array.from({ length: linear.nbChannels * frames * linear.nbBins }, () => random());
    back.forEach((m, k) => {
      for (const t of linear.targets) {
        const want = umxReferenceForward(members[k].config, members[k].targets[t]!, mix, frames);
        const got = umxReferenceForward(m.config, m.targets[t]!, mix, frames);
        expect(maxAbsDiff(got, want), `member ${k} ${t}`).toBeLessThan(1e-4);
      }
    });
    expect(() => umxWeightsFromOnnx(bytes)).toThrow(/an ensemble of 2 models/);
  });

  it('averages each target over the members that have it (a member with some of the targets)', async () => {
    // Member 2 has only drums, in a model whose targets are vocals and drums (as a 4-stem model's
    // "other" beside a 6-stem model's group network): vocals is member 1's alone, drums the mean.
    const drumsOnly = randomUmxWeights(small({ targets: ['drums'], hiddenSize: 12 }), 15);
    const bytes = exportUmxEnsembleOnnx([members[0], drumsOnly]);
    const a = await runOrt(exportUmxOnnx(members[0]), input, linear, frames);
    const b = await runOrt(exportUmxOnnx(drumsOnly), input, drumsOnly.config, frames);
    const both = await runOrt(bytes, input, linear, frames);
    const size = a.length / 2;
    expect(maxAbsDiff(both.subarray(0, size), a.subarray(0, size))).toBeLessThan(1e-6);
    const drumsMean = a.subarray(size).map((v, i) => 0.5 * (v + b[i]));
    expect(maxAbsDiff(both.subarray(size), drumsMean)).toBeLessThan(1e-5);
    expect(readModelMembers(bytes).map((m) => m.config.targets)).toEqual([['vocals', 'drums'], ['drums']]);
    if (gpuDevice) {
      const model = await createWebGpuEnsemble(gpuDevice, umxMembersFromOnnx(bytes));
      try {
        const est = await model.estimate(input.slice(), linear.nbChannels, linear.nbBins, frames);
        expect(
          maxAbsDiff(
            est.flatMap((e) => [...e]),
            both,
          ),
        ).toBeLessThan(1e-4);
      } finally {
        model.release();
      }
    }
  });

  it('a file whose ensemble metadata does not fit the model is refused with the reason', () => {
    const model = onnx.ModelProto.decode(exportUmxEnsembleOnnx(members));
    const withMembers = (value: unknown) => {
      const m = onnx.ModelProto.create({
        ...model,
        metadataProps: model.metadataProps!.map((p) =>
          p.key === 'stemdeck.ensemble' ? { key: p.key, value: JSON.stringify(value) } : p,
        ),
      });
      return onnx.ModelProto.encode(m).finish();
    };
    const listed = readModelMembers(exportUmxEnsembleOnnx(members));
    const bass = { ...listed[1], config: { ...listed[1].config, targets: ['bass'] } };
    expect(() => readModelMembers(withMembers([listed[0], bass]))).toThrow(/targets not in the model: bass/);
    const mono = { ...listed[1], config: { ...listed[1].config, nbChannels: 1 } };
    expect(() => readModelMembers(withMembers([listed[0], mono]))).toThrow(/other bins or channels/);
    expect(() => readModelMembers(withMembers([]))).toThrow(/no members/);
    expect(() => umxMembersFromOnnx(withMembers([listed[0], { ...listed[1], prefix: 'm9/' }]))).toThrow(
      /no initializer "m9\//,
    );
  });

  it('has all the members’ targets: the first’s, then those new in later members', async () => {
    // Member 2 brings bass, which member 1 lacks: the model has vocals, drums, bass; drums is the mean.
    const other = randomUmxWeights(small({ targets: ['drums', 'bass'], hiddenSize: 12 }), 13);
    const bytes = exportUmxEnsembleOnnx([members[0], other]);
    const model = readModelConfig(bytes);
    expect(model.targets).toEqual(['vocals', 'drums', 'bass']);
    expect(model.hiddenSize).toBe(16); // the first member's config otherwise
    expect(readModelMembers(bytes).map((m) => m.config.targets)).toEqual([
      ['vocals', 'drums'],
      ['drums', 'bass'],
    ]);
    const three = { ...linear, targets: model.targets };
    const both = await runOrt(bytes, input, three, frames);
    const a = await runOrt(exportUmxOnnx(members[0]), input, linear, frames);
    const b = await runOrt(exportUmxOnnx(other), input, other.config, frames);
    const size = a.length / 2;
    expect(both).toHaveLength(3 * size);
    expect(maxAbsDiff(both.subarray(0, size), a.subarray(0, size))).toBeLessThan(1e-6);
    const drumsMean = a.subarray(size).map((v, i) => 0.5 * (v + b[i]));
    expect(maxAbsDiff(both.subarray(size, 2 * size), drumsMean)).toBeLessThan(1e-5);
    expect(maxAbsDiff(both.subarray(2 * size), b.subarray(size))).toBeLessThan(1e-6);
    if (gpuDevice) {
      const gpuModel = await createWebGpuEnsemble(gpuDevice, umxMembersFromOnnx(bytes));
      try {
        expect(gpuModel.targets).toEqual(['vocals', 'drums', 'bass']);
        expect(gpuModel.config.targets).toEqual(['vocals', 'drums', 'bass']);
        const est = await gpuModel.estimate(input.slice(), linear.nbChannels, linear.nbBins, frames);
        expect(maxAbsDiff(Float32Array.from(est.flatMap((e) => [...e])), both)).toBeLessThan(1e-4);
      } finally {
        gpuModel.release();
      }
    }
    // The ensemble of members that each have all of it keeps its metadata as before: the first's config.
    expect(readModelConfig(exportUmxEnsembleOnnx(members))).toEqual(linear);
  });

  it('refuses members that disagree on the STFT, a group without its members, and a lone member', () => {
    // A group network whose members no member has: the model would have nothing to split it with.
    const group = randomUmxWeights({ ...small({ hiddenSize: 12 }), targets: ['guitar+piano'] }, 16);
    expect(() => exportUmxEnsembleOnnx([members[0], group])).toThrow(
      /member 1 \(vocals, drums\): UmxConfig: group "guitar\+piano": its member "guitar" is not a target of the model/,
    );
    const staged = randomUmxWeights(
      { ...small({ targets: ['guitar', 'piano'], hiddenSize: 12 }), inputFrom: { guitar: 'guitar+piano' } },
      17,
    );
    expect(() => exportUmxEnsembleOnnx([members[0], staged])).toThrow(
      /member 2's network "guitar" reads "guitar\+piano", which no member has/,
    );
    const hop = randomUmxWeights(small({ targets: ['vocals', 'drums'], hiddenSize: 16, hop: 32 }), 14);
    expect(() => exportUmxEnsembleOnnx([members[0], hop])).toThrow(/member 2 has other hop/);
    expect(() => exportUmxEnsembleOnnx([members[0]])).toThrow(/at least two models/);
  });

  it.skipIf(!gpuDevice)(
    'runs on the WebGPU engine (the extension path) like onnxruntime, int8 too',
    async () => {
      for (const int8 of [false, true]) await ensembleOnWebGpu(int8);
    },
  );

  async function ensembleOnWebGpu(int8: boolean) {
    const bytes = exportUmxEnsembleOnnx(members, { float16: true, int8 });
    const model = await createWebGpuEnsemble(gpuDevice!, umxMembersFromOnnx(bytes));
    try {
      const est = await model.estimate(input.slice(), linear.nbChannels, linear.nbBins, frames);
      const ortOut = await runOrt(bytes, input, linear, frames);
      expect(est).toHaveLength(2);
      expect(
        maxAbsDiff(
          est.flatMap((e) => [...e]),
          ortOut,
        ),
        `int8 ${int8}`,
      ).toBeLessThan(1e-4);
      expect(model.dispatches(frames)).toBeGreaterThan(0);
    } finally {
      model.release();
    }
  }
});

describe('second-stage networks (config.inputFrom: a member reads its group’s estimate)', () => {
  const cfg = small({ targets: ['vocals', 'guitar', 'piano', 'guitar+piano'], hiddenSize: 12 });
  const base = randomUmxWeights(cfg, 21);
  const staged: UmxWeights = {
    config: { ...cfg, inputFrom: { guitar: 'guitar+piano' } },
    targets: base.targets,
  };
  const guitarAlone: UmxWeights = {
    config: small({ targets: ['guitar'], hiddenSize: 12 }),
    targets: { guitar: base.targets.guitar },
  };
  const frames = 10;
  const random = mulberry32(23);
  const input = Float32Array.from({ length: cfg.nbChannels * cfg.nbBins * frames }, () => 2 * random());
  const size = cfg.nbChannels * cfg.nbBins * frames;
  const part = (a: Float32Array, j: number) => a.slice(j * size, (j + 1) * size);

  it('runs the member on the group’s estimate and leaves the other networks as they were', async () => {
    const plain = await runOrt(exportUmxOnnx(base), input, cfg, frames);
    const out = await runOrt(exportUmxOnnx(staged), input, cfg, frames);
    // The group's estimate has the mixture's layout: fed to the guitar network alone, it gives the staged guitar.
    const want = await runOrt(exportUmxOnnx(guitarAlone), part(plain, 3), cfg, frames);
    expect(maxAbsDiff(part(out, 1), want)).toBeLessThan(1e-5);
    expect(maxAbsDiff(part(out, 1), part(plain, 1))).toBeGreaterThan(1e-2);
    for (const j of [0, 2, 3]) expect(maxAbsDiff(part(out, j), part(plain, j))).toBeLessThan(1e-6);
  });

  it('in an ensemble reads the members’ mean of the group', async () => {
    const groupOnly = randomUmxWeights({ ...small({ hiddenSize: 8 }), targets: ['guitar+piano'] }, 22);
    const out = await runOrt(exportUmxEnsembleOnnx([staged, groupOnly]), input, cfg, frames);
    const a = await runOrt(exportUmxOnnx(base), input, cfg, frames);
    // A lone group network is no model: the same network under a stem's name.
    const asStem: UmxWeights = {
      config: { ...groupOnly.config, targets: ['other'] },
      targets: { other: groupOnly.targets['guitar+piano'] },
    };
    const b = await runOrt(exportUmxOnnx(asStem), input, asStem.config, frames);
    const group = part(a, 3).map((v, i) => 0.5 * (v + b[i]));
    expect(maxAbsDiff(part(out, 3), group)).toBeLessThan(1e-5);
    const want = await runOrt(exportUmxOnnx(guitarAlone), group, cfg, frames);
    expect(maxAbsDiff(part(out, 1), want)).toBeLessThan(1e-5);
    const bytes = exportUmxEnsembleOnnx([staged, groupOnly]);
    expect(readModelMembers(bytes)[0].config.inputFrom).toEqual({ guitar: 'guitar+piano' });
    if (gpuDevice) {
      // The extension's WebGPU engine runs the second stage the same way.
      const model = await createWebGpuEnsemble(gpuDevice, umxMembersFromOnnx(bytes));
      try {
        const est = await model.estimate(input.slice(), cfg.nbChannels, cfg.nbBins, frames);
        expect(est.map((e) => e.length)).toEqual([size, size, size, size]);
        expect(maxAbsDiff(Float32Array.from(est.flatMap((e) => [...e])), out)).toBeLessThan(1e-4);
      } finally {
        model.release();
      }
    }
  });

  it('refuses a network that reads anything but a group it is in, and a joint one', () => {
    const bad =
      (inputFrom: Record<string, string>, joint = false) =>
      () =>
        umxConfig({ ...cfg, joint, inputFrom } as Partial<UmxConfig>);
    expect(bad({ vocals: 'guitar+piano' })).toThrow(/"vocals" can read only a group it is in/);
    expect(bad({ guitar: 'piano' })).toThrow(/can read only a group it is in, not "piano"/);
    expect(bad({ bass: 'guitar+piano' })).toThrow(/"bass" is not one of the networks/);
    expect(bad({ guitar: 'guitar+piano' }, true)).toThrow(/joint/);
    expect(bad({ guitar: 'guitar+piano' })).not.toThrow();
  });
});

describe('int8 weight matrices (--int8)', () => {
  it('quantizeInt8: symmetric per row or per column, error at most half a step, zero channels kept', () => {
    const data = Float32Array.from([1, -0.5, 0, 0.25, 2, 0, 0.001, -4, 0]); // [3, 3], last column 0
    for (const perRow of [true, false]) {
      const { values, scales } = quantizeInt8(data, 3, 3, perRow);
      const q = new Int8Array(values.buffer);
      expect(scales).toHaveLength(3);
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 3; c++) {
          const scale = scales[perRow ? r : c];
          expect(Math.abs(q[r * 3 + c] * scale - data[r * 3 + c])).toBeLessThanOrEqual(scale / 2 + 1e-9);
        }
      }
      expect(Math.max(...q.map(Math.abs))).toBe(127); // each channel's largest value uses the full range
    }
    expect([...quantizeInt8(data, 3, 3, false).scales][2]).toBe(1); // an all-zero column
  });

  it('runs close to the float model in less space than float16, and reads back as what the graph computes', async () => {
    const weights = randomUmxWeights(small({ hiddenSize: 32 }), 21);
    const f16 = await exportAndCompare(weights, { float16: true });
    const options = { float16: true, int8: true };
    const q = await exportAndCompare(weights, options);
    // The matrices halve; the recurrent R (float16) and the graph are a larger share at this tiny size.
    expect(q.size).toBeLessThan(0.75 * f16.size);
    const back = await exportAndCompare(
      weights,
      options,
      FRAMES,
      umxWeightsFromOnnx(exportUmxOnnx(weights, options)),
    );
    const [errFloat, errBack, maxRef] = [q.maxErr, back.maxErr, q.maxRef];
    console.log(
      `int8 export: max abs error ${errFloat.toExponential(2)} against float (output max ${maxRef.toFixed(2)})`,
    );
    expect(errFloat).toBeGreaterThan(f16.maxErr); // really quantized
    expect(errFloat / maxRef).toBeLessThan(3e-2);
    expect(errBack).toBeLessThan(1e-4); // the WebGPU engine's loader sees the dequantized matrices
  });
});

describe('helpers', () => {
  it('onnxGateOrder: i,f,g,o → i,o,f,c', () => {
    const pt = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]); // hd 1, 2 columns
    expect([...onnxGateOrder(pt, 1, 2)]).toEqual([0, 0, 3, 3, 1, 1, 2, 2]);
  });

  it('float16 conversion rounds to nearest even and handles the edges', () => {
    const cases: [number, number][] = [
      [0, 0],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up to Inf
      [1e9, 0x7c00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // halfway to 0: ties to even
      [1 + 2 ** -11, 0x3c00], // tie → even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even (up)
      [6.097555e-5, 0x03ff], // largest subnormal
    ];
    for (const [v, bits] of cases) expect(float32ToFloat16Bits(v), String(v)).toBe(bits);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(Number.NaN)))).toBe(true);
    const random = mulberry32(5);
    for (let i = 0; i < 1000; i++) {
      const v = (random() - 0.5) * 10;
      expect(Math.abs(float16BitsToFloat32(float32ToFloat16Bits(v)) - v)).toBeLessThanOrEqual(
        Math.abs(v) * 2 ** -11,
      );
    }
  });
});
