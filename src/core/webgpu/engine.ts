/// <reference types="@webgpu/types" />
/**
 * Open-Unmix inference on WebGPU with the project's own kernels (kernels.ts), for any GPUDevice — the
 * browser's `navigator.gpu` or Dawn's Node bindings (npm `webgpu`) in tests and benchmarks; nothing
 * here depends on Node or on the extension.
 *
 * One `estimate` of T frames, all targets together, is one command buffer:
 *   features (1 dispatch) → fc1+bn1+tanh (1) → per LSTM layer: input projection (1) + recurrence
 *   (⌈T / maxStepsPerDispatch⌉, 1 by default up to 512 frames) → fc2+bn2+ReLU (1) →
 *   fc3+bn3+output affine+ReLU+× mixture (1)
 * = 4 + 2·layers dispatches (10 for the shipped 3-layer model, for any number of targets), then one
 * readback of [J][C][bins][T]. ORT's WebGPU EP needs ~1,560 per target for the same network.
 * A joint model (`config.joint`) runs its shared trunk once (grid z = 1) and its J heads on it.
 */
import { inputFeatures, lstmDirections, lstmHiddenPerDirection, type UmxConfig } from '../model/config';
import type { UmxTargetWeights } from '../model/parameters';
import type { MagnitudeModel } from '../separator';
import type { NetworkName } from '../stems';
import {
  FEATURES_WG,
  featuresShader,
  lstmShader,
  lstmStorageWeights,
  MASK_ROWS,
  MATMUL_WG,
  type MatmulEpilogue,
  maskCols,
  maskMatmulShader,
  matmulBlocking,
  matmulShader,
  PARAM_WORDS,
  SUBGROUP_MIN_LANES,
} from './kernels';
import { type EngineWeights, engineWeights } from './weights';

// GPUBufferUsage / GPUMapMode values (not read from globals, which Node does not define).
const MAP_READ = 0x0001;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const UNIFORM = 0x0040;
const STORAGE = 0x0080;

export interface WebGpuModelOptions {
  /**
   * Time steps per recurrent dispatch; longer sequences take ⌈T / this⌉ dispatches per layer with the
   * state carried in a buffer (very long single dispatches have killed dawn.node, see the shared notes).
   * Default 512.
   */
  readonly maxStepsPerDispatch?: number;
  /**
   * The kernels' subgroup variants (one lane loads, `subgroupBroadcast` shares: a dense 16 × 4 block
   * costs a lane 6 vec4 loads per k step where the plain 8 × 4 block costs 12; the recurrence shares
   * its hidden-state reads). Default: where the device has the `subgroups` feature and subgroups of
   * at least SUBGROUP_MIN_LANES lanes.
   */
  readonly subgroups?: boolean;
}

/**
 * Features to request for the engine's device (`adapter.requestDevice({ requiredFeatures })`):
 * `subgroups` where the adapter has it, for the kernels' subgroup variants.
 */
export function engineFeatures(adapter: GPUAdapter): GPUFeatureName[] {
  // 'subgroups' is newer than the @webgpu/types in use.
  return adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [];
}

/** Whether `device` can run the subgroup kernels (the feature, and subgroups of ≥ 8 lanes). */
export function deviceHasSubgroups(device: GPUDevice): boolean {
  // adapterInfo and subgroupMinSize are newer than the @webgpu/types in use.
  const info = (device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo;
  return device.features.has('subgroups') && (info?.subgroupMinSize ?? 0) >= SUBGROUP_MIN_LANES;
}

export interface WebGpuMagnitudeModel extends MagnitudeModel {
  readonly config: UmxConfig;
  /**
   * Where the recurrent kernel keeps W_hh: registers (≤ 64 units per direction), or a storage buffer
   * read every step, as float32 or (lossless, where every value is a float16) packed float16.
   */
  readonly recurrentWeights: 'registers' | 'storage-f32' | 'storage-f16';
  /** Whether the kernels run their subgroup variants. */
  readonly subgroups: boolean;
  /** Compute dispatches one `estimate` of `frames` frames records (all targets together). */
  dispatches(frames: number): number;
  /**
   * Diagnostics: runs one estimate's dispatches one submit each and returns the wall time of each
   * (ms, by kernel label). Slower than `estimate`; for finding where the time goes.
   */
  profile(frames: number): Promise<{ label: string; ms: number }[]>;
  /**
   * Streaming (unidirectional models only): `estimate` of consecutive blocks of one stream, with each
   * LSTM layer's h and c kept on the GPU from one block to the next, so a block costs only its own
   * frames and the result equals one estimate of all the frames together. `reset()` starts a new
   * stream (zero state). Shares the model's weights; one stream at a time per model is the caller's
   * business (streams made by `stream()` keep separate states).
   */
  stream(): WebGpuStream;
  /** Frees the GPU buffers (the device stays the caller's). */
  release(): void;
}

export interface WebGpuStream {
  estimate(magnitude: Float32Array, channels: number, bins: number, frames: number): Promise<Float32Array[]>;
  /** Back to the zero state, for a new stream. */
  reset(): void;
}

interface Step {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

interface Plan {
  readonly frames: number;
  readonly mix: GPUBuffer;
  readonly out: GPUBuffer;
  readonly read: GPUBuffer;
  readonly steps: readonly Step[];
  readonly buffers: readonly GPUBuffer[];
}

/**
 * Builds the engine for `config.targets` (each must have weights in `params`, by state_dict name as in
 * src/core/model/parameters.ts). Compiles the kernels and uploads the weights.
 */
export async function createWebGpuModel(
  device: GPUDevice,
  config: UmxConfig,
  params: Partial<Record<NetworkName, UmxTargetWeights>>,
  options: WebGpuModelOptions = {},
): Promise<WebGpuMagnitudeModel> {
  const targets = [...config.targets];
  const weights = engineWeights(
    config,
    targets.map((t) => {
      const w = params[t];
      if (!w) throw new Error(`webgpu engine: no weights for target "${t}"`);
      return w;
    }),
  );
  const maxSteps = options.maxStepsPerDispatch ?? 512;
  const subgroups = options.subgroups ?? deviceHasSubgroups(device);
  if (subgroups && !device.features.has('subgroups'))
    throw new Error('webgpu engine: subgroups asked for, but the device lacks the "subgroups" feature');
  if (!(Number.isInteger(maxSteps) && maxSteps > 0)) throw new Error('maxStepsPerDispatch must be ≥ 1');
  const J = targets.length;
  // A joint model's targets share everything up to fc2 (their weight sets hold equal copies of it):
  // the trunk runs once (grid z = 1, the first target's copy) and every head reads its output.
  const trunkZ = config.joint ? 1 : J;
  const H = config.hiddenSize;
  const C = config.nbChannels;
  const bins = config.nbBins;
  const nIn = inputFeatures(config);
  const hd = lstmHiddenPerDirection(config);
  const D = lstmDirections(config);
  const g4 = 4 * hd;
  const L = config.nbLayers;

  let lost: string | null = null;
  void device.lost.then((info) => {
    lost = `WebGPU device lost: ${info.message || info.reason}`;
  });

  const maxBinding = device.limits.maxStorageBufferBindingSize;
  const owned: GPUBuffer[] = [];
  const storage = (size: number, label: string, extra = 0): GPUBuffer => {
    const bytes = Math.max(16, Math.ceil((size * 4) / 16) * 16);
    if (bytes > maxBinding) {
      throw new Error(
        `webgpu engine: ${label} needs ${bytes} bytes > maxStorageBufferBindingSize ${maxBinding}`,
      );
    }
    return device.createBuffer({ size: bytes, usage: STORAGE | COPY_DST | extra, label });
  };
  const upload = (data: Float32Array | Uint32Array, label: string): GPUBuffer => {
    const buf = storage(data.length, label);
    device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    owned.push(buf);
    return buf;
  };
  // W_hh as packed float16 where it is read every step and exactly representable (lossless).
  const packed = lstmStorageWeights(hd) && weights.layers.every((l) => l.whhF16 !== null);
  const w = uploadWeights(weights, upload, packed);
  const { k1, hp } = weights;

  device.pushErrorScope('validation');
  const pipeline = (code: string, label: string) =>
    device.createComputePipelineAsync({
      label,
      layout: 'auto',
      compute: { module: device.createShaderModule({ code, label }), entryPoint: 'main' },
    });
  // One matmul pipeline per (epilogue, columns per invocation) in use.
  const mmKinds: [MatmulEpilogue, number][] = [
    ['tanh', H],
    ['none', D * g4],
    ['relu', H],
  ];
  const [features, lstm, mmMask, ...mm] = await Promise.all([
    pipeline(featuresShader(config.input.kind === 'bands'), 'features'),
    pipeline(lstmShader({ hd, dirs: D, packedF16: packed, subgroups }), 'lstm'),
    pipeline(maskMatmulShader(subgroups), 'mm-mask'),
    ...mmKinds.map(([e, n]) =>
      pipeline(matmulShader(e, matmulBlocking(n, subgroups), subgroups), `mm-${e}-${n}`),
    ),
  ]);
  const [mmTanh, mmNone, mmRelu] = mm;
  const err = await device.popErrorScope();
  if (err) throw new Error(`webgpu engine: ${err.message}`);

  const uniform = (values: readonly number[]): GPUBuffer => {
    const data = new Uint32Array(PARAM_WORDS);
    data.set(values);
    const buf = device.createBuffer({ size: PARAM_WORDS * 4, usage: UNIFORM | COPY_DST });
    device.queue.writeBuffer(buf, 0, data);
    return buf;
  };

  const recurrentDispatches = (frames: number) => Math.ceil(frames / maxSteps);

  /**
   * Dispatches of one estimate of T frames. `carried`: per-layer LSTM state buffers kept between
   * estimates (streaming): every recurrence dispatch then starts from the buffer's state instead of
   * zero.
   */
  function buildPlan(T: number, carried: readonly GPUBuffer[] | null = null): Plan {
    const buffers: GPUBuffer[] = [];
    const buf = (size: number, label: string, extra = 0) => {
      const b = storage(size, label, extra);
      buffers.push(b);
      return b;
    };
    const mix = buf(C * bins * T, 'mix');
    const x = buf(T * k1, 'x');
    // The trunk's buffers hold trunkZ networks (one for a joint model); fc3 writes all J targets.
    const cat = buf(trunkZ * T * 2 * hp, 'cat');
    const g = buf(trunkZ * T * D * g4, 'gates');
    const seq = [L > 1 ? buf(trunkZ * T * hp, 'seq0') : null, L > 2 ? buf(trunkZ * T * hp, 'seq1') : null];
    // h and c between the recurrence dispatches of one layer; a stream carries its own per layer.
    const state = carried ? null : buf(trunkZ * D * 2 * hd, 'state');
    const h2 = buf(trunkZ * T * hp, 'h2');
    const out = buf(J * C * bins * T, 'est', COPY_SRC);
    const read = device.createBuffer({ size: out.size, usage: MAP_READ | COPY_DST, label: 'readback' });
    buffers.push(read);

    const steps: Step[] = [];
    const add = (
      label: string,
      pipe: GPUComputePipeline,
      prm: readonly number[],
      bindings: GPUBuffer[],
      workgroups: [number, number, number],
    ) => {
      const u = uniform(prm);
      buffers.push(u);
      const entries = [u, ...bindings].map((buffer, binding) => ({ binding, resource: { buffer } }));
      steps.push({
        label,
        pipeline: pipe,
        bindGroup: device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries }),
        workgroups,
      });
    };
    interface Mm {
      /** Grid z: the targets this matmul runs for (J, or 1 for a joint trunk). */
      z: number;
      M: number;
      N: number;
      K: number;
      a: GPUBuffer;
      lda: number;
      aOff?: number;
      aZ: number;
      b: GPUBuffer;
      bias: GPUBuffer;
      c: GPUBuffer;
      ldc: number;
      cOff?: number;
      cZ: number;
    }
    const maskGrid = (m: Mm): [number, number, number] => [
      Math.ceil(m.N / maskCols(subgroups)),
      Math.ceil(m.M / (MATMUL_WG * MASK_ROWS)),
      m.z,
    ];
    const matmulGrid = (m: Mm): [number, number, number] => {
      const { wg, cols, rows } = matmulBlocking(m.N, subgroups);
      return [Math.ceil(m.N / (wg * cols)), Math.ceil(m.M / rows), m.z];
    };
    const matmul = (label: string, pipe: GPUComputePipeline, m: Mm, extra: GPUBuffer[] = []) =>
      add(
        label,
        pipe,
        [m.M, m.N, m.K, m.lda, m.aOff ?? 0, m.aZ, m.K, m.K * m.N, m.N, m.ldc, m.cOff ?? 0, m.cZ],
        [m.a, m.b, m.bias, m.c, ...extra],
        pipe === mmMask ? maskGrid(m) : matmulGrid(m),
      );

    // Features: [C][bins][T] → x [T][C·nIn].
    add('features', features, [T, C, bins, nIn, k1], w.edges ? [mix, x, w.edges] : [mix, x], [
      Math.ceil(T / FEATURES_WG),
      nIn,
      C,
    ]);
    // fc1 (+ input affine, bn1) → tanh, into cat[:, 0:H].
    matmul('fc1', mmTanh, {
      z: trunkZ,
      M: T,
      N: H,
      K: k1,
      a: x,
      lda: k1,
      aZ: 0,
      b: w.w1,
      bias: w.b1,
      c: cat,
      ldc: 2 * hp,
      cZ: T * 2 * hp,
    });
    for (let l = 0; l < L; l++) {
      const input =
        l === 0 ? { a: cat, lda: 2 * hp, aZ: T * 2 * hp } : { a: seq[(l - 1) % 2]!, lda: hp, aZ: T * hp };
      matmul(`lstm${l}.input`, mmNone, {
        z: trunkZ,
        M: T,
        N: D * g4,
        K: hp,
        ...input,
        b: w.layers[l].wih,
        bias: w.layers[l].bias,
        c: g,
        ldc: D * g4,
        cZ: T * D * g4,
      });
      const last = l === L - 1;
      const hout = last ? cat : seq[l % 2]!;
      const [outStride, outOff, outZ] = last ? [2 * hp, hp, T * 2 * hp] : [hp, 0, T * hp];
      for (let s0 = 0; s0 < T; s0 += maxSteps) {
        const n = Math.min(maxSteps, T - s0);
        add(
          `lstm${l}.recurrence`,
          lstm,
          [T, s0, n, s0 === 0 && !carried ? 1 : 0, T * D * g4, outStride, outOff, outZ],
          [g, w.layers[l].whh, hout, carried ? carried[l] : state!],
          [D, trunkZ, 1],
        );
      }
    }
    // fc2 (+ bn2) → ReLU on the skip concat [fc1 | LSTM].
    matmul('fc2', mmRelu, {
      z: trunkZ,
      M: T,
      N: H,
      K: 2 * hp,
      a: cat,
      lda: 2 * hp,
      aZ: T * 2 * hp,
      b: w.w2,
      bias: w.b2,
      c: h2,
      ldc: hp,
      cZ: T * hp,
    });
    // fc3 (+ bn3, output affine) → ReLU → × mixture, written [J][C·bins][T].
    matmul(
      'fc3',
      mmMask,
      {
        z: J,
        M: T,
        N: C * bins,
        K: hp,
        a: h2,
        lda: hp,
        aZ: config.joint ? 0 : T * hp, // a joint model's heads all read the one trunk output
        b: w.w3,
        bias: w.b3,
        c: out,
        ldc: 0,
        cZ: C * bins * T,
      },
      [mix],
    );
    return { frames: T, mix, out, read, steps, buffers };
  }

  /** Plans by frame count, per stream (null: whole-sequence estimates). */
  const plans = new Map<readonly GPUBuffer[] | null, Map<number, Plan>>();
  const planFor = (T: number, carried: readonly GPUBuffer[] | null = null): Plan => {
    let sized = plans.get(carried);
    if (!sized) plans.set(carried, (sized = new Map()));
    let plan = sized.get(T);
    if (!plan) {
      // Keep a few sizes (a stream's regular chunk and its last, shorter one).
      if (sized.size >= 3) {
        const [oldest] = sized.keys();
        for (const b of sized.get(oldest)!.buffers) b.destroy();
        sized.delete(oldest);
      }
      plan = buildPlan(T, carried);
      sized.set(T, plan);
    }
    return plan;
  };

  async function run(
    magnitude: Float32Array,
    frames: number,
    carried: readonly GPUBuffer[] | null = null,
  ): Promise<Float32Array[]> {
    if (lost) throw new Error(lost);
    const plan = planFor(frames, carried);
    device.queue.writeBuffer(plan.mix, 0, magnitude.buffer, magnitude.byteOffset, magnitude.byteLength);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const s of plan.steps) {
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroups(...s.workgroups);
    }
    pass.end();
    encoder.copyBufferToBuffer(plan.out, 0, plan.read, 0, plan.out.size);
    device.queue.submit([encoder.finish()]);
    await plan.read.mapAsync(1 /* GPUMapMode.READ */);
    const all = new Float32Array(plan.read.getMappedRange().slice(0));
    plan.read.unmap();
    const size = C * bins * frames;
    return targets.map((_, j) => all.subarray(j * size, (j + 1) * size));
  }

  async function profile(frames: number) {
    const plan = planFor(frames);
    const times: { label: string; ms: number }[] = [];
    for (const s of plan.steps) {
      const start = performance.now();
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroups(...s.workgroups);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      times.push({ label: s.label, ms: performance.now() - start });
    }
    return times;
  }

  let queue: Promise<unknown> = Promise.resolve();
  let released = false;
  const check = (magnitude: Float32Array, channels: number, nb: number, frames: number): Error | null => {
    if (released) return new Error('webgpu engine: released');
    if (channels !== C || nb !== bins)
      return new Error(`model expects ${C} × ${bins} bins, got ${channels} × ${nb}`);
    if (!(Number.isInteger(frames) && frames > 0) || magnitude.length !== C * bins * frames) {
      return new Error(`expected ${C}×${bins}×${frames} magnitudes, got ${magnitude.length}`);
    }
    return null;
  };
  // One estimate at a time: the plans' buffers are shared.
  const enqueue = <T>(job: () => Promise<T>): Promise<T> => {
    const result = queue.then(job);
    queue = result.catch(() => undefined);
    return result;
  };
  return {
    config,
    targets,
    recurrentWeights: !lstmStorageWeights(hd) ? 'registers' : packed ? 'storage-f16' : 'storage-f32',
    subgroups,
    dispatches: (frames) => 4 + L * (1 + recurrentDispatches(frames)),
    estimate(magnitude, channels, nb, frames) {
      const bad = check(magnitude, channels, nb, frames);
      return bad ? Promise.reject(bad) : enqueue(() => run(magnitude, frames));
    },
    profile(frames) {
      return enqueue(() => profile(frames));
    },
    stream() {
      if (D !== 1) throw new Error('webgpu engine: streaming needs a unidirectional model');
      const carried = Array.from({ length: L }, (_, l) => {
        const b = storage(trunkZ * 2 * hd, `stream-state${l}`);
        owned.push(b);
        return b;
      });
      return {
        estimate(magnitude, channels, nb, frames) {
          const bad = check(magnitude, channels, nb, frames);
          return bad ? Promise.reject(bad) : enqueue(() => run(magnitude, frames, carried));
        },
        reset() {
          void enqueue(async () => {
            const encoder = device.createCommandEncoder();
            for (const b of carried) encoder.clearBuffer(b);
            device.queue.submit([encoder.finish()]);
          });
        },
      };
    },
    release() {
      released = true;
      for (const sized of plans.values())
        for (const p of sized.values()) for (const b of p.buffers) b.destroy();
      plans.clear();
      for (const b of owned) b.destroy();
    },
  };
}

interface WeightBuffers {
  readonly w1: GPUBuffer;
  readonly b1: GPUBuffer;
  readonly layers: readonly { wih: GPUBuffer; bias: GPUBuffer; whh: GPUBuffer }[];
  readonly w2: GPUBuffer;
  readonly b2: GPUBuffer;
  readonly w3: GPUBuffer;
  readonly b3: GPUBuffer;
  readonly edges: GPUBuffer | null;
}

function uploadWeights(
  w: EngineWeights,
  upload: (data: Float32Array | Uint32Array, label: string) => GPUBuffer,
  packedF16: boolean,
): WeightBuffers {
  return {
    w1: upload(w.w1, 'w1'),
    b1: upload(w.b1, 'b1'),
    layers: w.layers.map((l, i) => ({
      wih: upload(l.wih, `wih${i}`),
      bias: upload(l.bias, `bias${i}`),
      whh: packedF16 && l.whhF16 ? upload(l.whhF16, `whh${i}`) : upload(l.whh, `whh${i}`),
    })),
    w2: upload(w.w2, 'w2'),
    b2: upload(w.b2, 'b2'),
    w3: upload(w.w3, 'w3'),
    b3: upload(w.b3, 'b3'),
    edges: w.edges ? upload(w.edges, 'edges') : null,
  };
}
