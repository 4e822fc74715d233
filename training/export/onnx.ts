/**
 * ONNX export of an Open-Unmix model: the inference graph the extension runs in onnxruntime-web.
 *
 *   input  mix  float32 [1, nbChannels, nbBins, T]      mixture magnitudes, T dynamic
 *   output est  float32 [J, 1, nbChannels, nbBins, T]   one magnitude estimate per target, in config.targets order
 *
 * One graph with J independent sub-networks (measured slightly faster in ort-web than J graphs, see
 * shared notes onnx-web-inference-speed.md) — or, for a joint model (`config.joint`), one trunk
 * (initializers `joint.*`) feeding J heads (fc3 and the output affine, `<target>.*`). Per target, as
 * open-unmix-pytorch's forward in eval mode:
 * crop (or band-average) → (x + input_mean)·input_scale → fc1 → bn1 → tanh → (bi)LSTM stack →
 * concat [fc1 branch, LSTM] → fc2 → bn2 → ReLU → fc3 → bn3 → ·output_scale + output_mean → ReLU → ·mix.
 *
 * Every BatchNorm (and the output affine) is folded into the preceding matrix as a per-column scale and
 * a bias, so each fc is one Gemm: fewer nodes, and nothing that depends on ORT's BN fusion.
 *
 * An ensemble (`exportUmxEnsembleOnnx`) holds several such networks, of any configs that agree on the
 * STFT, with their initializers under `m0/`, `m1/`, …, and outputs per target the mean of the members
 * that have it (the model's targets: all the members' — `ensembleTargets`): averaging
 * the estimates of differently trained models is worth more on MUSDB18-7 than any single model we have
 * trained (docs/BENCHMARKS.md), and members of different sizes can make one hierarchical model (a
 * top level with a group network, another member's networks splitting it). The `stemdeck.ensemble`
 * metadata lists the members' configs.
 *
 * fp16 (`float16: true`): the initializers are stored as float16 and each is Cast to float32 inside the
 * graph; all arithmetic stays float32. Why not a float16 graph: ORT's CPU/wasm EP has no float16 LSTM
 * kernel (and few float16 kernels at all), so a float16 graph would not run in the extension's default
 * backend. The Casts read only initializers, so ORT constant-folds them at session creation: half the
 * download, the same speed.
 */
import onnxProto from 'onnx-proto';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../src/core/float16';
import {
  bandMatrix,
  checkJointWeights,
  checkUmxWeights,
  inputFeatures,
  lstmDirectionSuffixes,
  lstmDirections,
  lstmHiddenPerDirection,
  type UmxConfig,
  type UmxTargetWeights,
  type UmxWeights,
  validateUmxConfig,
} from '../../src/core/model';
import { ENSEMBLE_METADATA_KEY, ensembleConfig, type ModelMember } from '../../src/core/onnx-model';
import type { NetworkName } from '../../src/core/stems';

export { float16BitsToFloat32, float32ToFloat16Bits };

const { onnx } = onnxProto;

/** ONNX opset the graph is written for (LSTM-14, Unsqueeze-13 with axes as an input, Slice-13). */
export const ONNX_OPSET = 17;
/** IR version 8 is the one that goes with opset 17 (ONNX 1.12). */
const IR_VERSION = 8;

// ONNX's enums, from onnx-proto (the one definition the exporter and the WebGPU weight reader share).
const { FLOAT, INT8, INT64, FLOAT16 } = onnx.TensorProto.DataType;
const { INT: ATTR_INT, STRING: ATTR_STRING, INTS: ATTR_INTS } = onnx.AttributeProto.AttributeType;

export interface OnnxExportOptions {
  /** Store weights as float16 (Cast to float32 in the graph). Default false. */
  readonly float16?: boolean;
  /**
   * Store the weight matrices (fc1–fc3, LSTM W, the band matrix) as int8 with one float32 scale per
   * output channel (symmetric; cast and scaled in the graph); the rest as `float16` says. The LSTM's
   * recurrent R stays float16: it is small, every step reads it, and the WebGPU engine keeps it as
   * packed float16 only where every value is one (src/core/webgpu). Default false.
   */
  readonly int8?: boolean;
  /** Written to the model's doc_string. */
  readonly docString?: string;
}

type Attr = number | string | readonly number[];

/** Collects nodes and initializers; names are unique because every target's names carry its prefix. */
class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private count = 0;
  private readonly names = new Set<string>();

  constructor(
    private readonly float16: boolean,
    private readonly int8 = false,
  ) {}

  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? `${op.toLowerCase()}_${this.count++}`;
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'number') return { name, type: ATTR_INT, i: v };
      if (typeof v === 'string') return { name, type: ATTR_STRING, s: new TextEncoder().encode(v) };
      return { name, type: ATTR_INTS, ints: [...v] };
    });
    this.nodes.push({ opType: op, input: inputs, output: [out], name: `${out}_node`, attribute });
    this.names.add(out);
    return out;
  }

  /** Is `name` an initializer or a node's output already? */
  has(name: string): boolean {
    return this.names.has(name) || this.initializers.some((t) => t.name === name);
  }

  /** A float32 weight; with float16 storage it is stored halved and Cast back, and the Cast's output is returned. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1))
      throw new Error(`onnx export: ${name} size mismatch`);
    if (!this.float16) {
      this.initializers.push({ name, dims: [...dims], dataType: FLOAT, rawData: float32Bytes(data) });
      return name;
    }
    const stored = `${name}_f16`;
    this.initializers.push({ name: stored, dims: [...dims], dataType: FLOAT16, rawData: float16Bytes(data) });
    return this.node('Cast', [stored], { to: FLOAT }, name);
  }

  /**
   * A weight matrix: `weight` unless int8 storage is on. Then the values, seen as [rows, cols] (all
   * axes but the last as rows), are stored as int8 with a symmetric scale per row (`perRow`: the LSTM
   * gate rows) or per column (a Gemm's output columns): Cast to float32 × scale ([rows, 1] or
   * [1, cols]) in the graph and, for more than two axes, reshaped back. Constant inputs only, so ORT
   * folds it at session creation. Not DequantizeLinear: with it, ORT's output differed from what the
   * dequantized weights compute by about 1e-3 of the output (its quantized-model graph rewrites,
   * presumably), and the WebGPU engine could not match it.
   */
  matrix(name: string, dims: readonly number[], data: Float32Array, perRow: boolean): string {
    if (!this.int8) return this.weight(name, dims, data);
    const cols = dims[dims.length - 1];
    const rows = data.length / cols;
    if (!Number.isInteger(rows) || rows * cols !== dims.reduce((a, b) => a * b, 1))
      throw new Error(`onnx export: ${name} size mismatch`);
    const { values, scales } = quantizeInt8(data, rows, cols, perRow);
    this.initializers.push({ name: `${name}_q`, dims: [rows, cols], dataType: INT8, rawData: values });
    this.float32s(`${name}_scale`, scales, perRow ? [rows, 1] : [1, cols]);
    const cast = this.node('Cast', [`${name}_q`], { to: FLOAT });
    if (dims.length === 2) return this.node('Mul', [cast, `${name}_scale`], {}, name);
    const flat = this.node('Mul', [cast, `${name}_scale`]);
    return this.node('Reshape', [flat, this.int64s(`${name}_shape`, dims)], {}, name);
  }

  /** A float32 constant that stays float32 (no float16 storage): small, and exact as given. */
  float32s(name: string, values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: FLOAT,
      rawData: float32Bytes(Float32Array.from(values)),
    });
    return name;
  }

  int64s(name: string, values: readonly number[]): string {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]), true);
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: bytes });
    return name;
  }
}

/** Builds the ONNX model (serialised protobuf) for every target in `weights.config.targets`. */
export function exportUmxOnnx(weights: UmxWeights, options: OnnxExportOptions = {}): Uint8Array {
  validateUmxConfig(weights.config);
  const g = new GraphBuilder(options.float16 ?? false, options.int8 ?? false);
  concatTargets(g, modelEstimates(g, [weights], [''], weights.config.targets));
  return encodeModel(g, weights.config, options, [
    // The extension needs the targets' order and the STFT settings the model was trained with.
    { key: 'stemdeck.config', value: JSON.stringify(weights.config) },
  ]);
}

/**
 * Several models in one graph whose output is the mean of theirs, target by target. The model's
 * targets are all the members' (`ensembleTargets`: the first member's in its order, then those new in
 * later ones), and each target's estimate is the mean over the members that have it: a member may have
 * only some of them — e.g. a 4-stem model whose "other" is taken as a 6-stem model's
 * `guitar+piano+other` group network, or, for a hierarchical model, the published 4 networks as the top
 * level (their "other" as the group) and a smaller member whose guitar, piano and other networks split
 * it. The members may differ in anything but what the separator around them sees: channels, sample
 * rate and STFT. `stemdeck.config` holds the first member's config with the model's targets
 * (`ensembleConfig`), so a reader that only needs the targets and the STFT reads an ensemble like one
 * model; `stemdeck.ensemble` holds each member's own.
 */
export function exportUmxEnsembleOnnx(
  members: readonly UmxWeights[],
  options: OnnxExportOptions = {},
): Uint8Array {
  if (members.length < 2) throw new Error('onnx export: an ensemble needs at least two models');
  const first = members[0].config;
  const model = ensembleConfig(members.map((m) => m.config));
  for (const [k, m] of members.entries()) {
    const c = m.config;
    try {
      // Its own shape, and its targets' place in the model: a group's members must be in it.
      validateUmxConfig(c, model.targets);
    } catch (err) {
      throw new Error(
        `onnx export: ensemble member ${k + 1} (${c.targets.join(', ')}): ${err instanceof Error ? err.message : String(err)} (the model's targets: ${model.targets.join(', ')})`,
      );
    }
    const differs = (
      [
        ['channels', c.nbChannels, first.nbChannels],
        ['sample rate', c.sampleRate, first.sampleRate],
        ['STFT size', c.nFft, first.nFft],
        ['hop', c.hop, first.hop],
        ['bins', c.nbBins, first.nbBins],
      ] as const
    ).find(([, a, b]) => a !== b);
    if (differs) {
      throw new Error(
        `onnx export: ensemble member ${k + 1} has other ${differs[0]} than member 1 (${differs[1]} vs ${differs[2]})`,
      );
    }
    for (const [t, group] of Object.entries(c.inputFrom ?? {})) {
      if (!model.targets.includes(group as NetworkName)) {
        throw new Error(
          `onnx export: ensemble member ${k + 1}'s network "${t}" reads "${group}", which no member has`,
        );
      }
    }
  }
  validateUmxConfig(model);
  const g = new GraphBuilder(options.float16 ?? false, options.int8 ?? false);
  const prefixes = members.map((_, k) => `m${k}/`);
  concatTargets(g, modelEstimates(g, members, prefixes, model.targets));
  return encodeModel(g, model, options, [
    { key: 'stemdeck.config', value: JSON.stringify(model) },
    {
      key: ENSEMBLE_METADATA_KEY,
      value: JSON.stringify(members.map((m, k): ModelMember => ({ prefix: prefixes[k], config: m.config }))),
    },
  ]);
}

/**
 * The model's estimate of each of its `targets`, in that order: the mean over the members that have
 * the target. Networks that read the mixture come first; then the second-stage ones
 * (`config.inputFrom`), each reading its group's estimate — the members' mean, as the model outputs it.
 */
function modelEstimates(
  g: GraphBuilder,
  members: readonly UmxWeights[],
  prefixes: readonly string[],
  targets: readonly NetworkName[],
): string[] {
  const mixT = g.node('Transpose', ['mix'], { perm: [3, 0, 1, 2] }, 'mix_tfirst');
  const reads = (m: UmxWeights, t: string) => m.config.inputFrom?.[t as NetworkName];
  const outputs = members.map((m, k) =>
    networkEstimates(g, m, prefixes[k], (t) => (reads(m, t) ? null : mixT)),
  );
  const final = new Map<string, string>();
  const estimateOf = (t: string): string => {
    const done = final.get(t);
    if (done) return done;
    const have = outputs.flatMap((o) => o.get(t) ?? []);
    if (have.length === 0) throw new Error(`onnx export: no member has a network "${t}"`);
    const weight = have.length === 1 ? null : g.float32s(`ensemble_${t}_weight`, [1 / have.length]);
    const est = weight ? g.node('Mul', [g.node('Sum', have), weight], {}, `ensemble_${t}_est`) : have[0];
    final.set(t, est);
    return est;
  };
  if (members.some((m) => m.config.inputFrom && Object.keys(m.config.inputFrom).length > 0)) {
    // A group's estimate [1, 1, C, nbBins, T] frames first ([T, 1, C, nbBins]), once per group.
    const groupInputs = new Map<string, string>();
    const inputOf = (group: string): string => {
      let x = groupInputs.get(group);
      if (!x) {
        const axes = g.int64s(`${group}_input_axes`, [0]);
        const est = g.node('Squeeze', [estimateOf(group), axes], {}, `${group}_input_squeezed`);
        x = g.node('Transpose', [est], { perm: [3, 0, 1, 2] }, `${group}_input_tfirst`);
        groupInputs.set(group, x);
      }
      return x;
    };
    members.forEach((m, k) => {
      const second = networkEstimates(g, m, prefixes[k], (t) => {
        const from = reads(m, t);
        return from ? inputOf(from) : null;
      });
      for (const [t, est] of second) outputs[k].set(t, est);
    });
  }
  return targets.map(estimateOf);
}

/** The model's output `est` [J, 1, C, nbBins, T]: the targets' estimates stacked in order. */
function concatTargets(g: GraphBuilder, estimates: readonly string[]): string {
  if (estimates.length === 1) return g.node('Identity', [...estimates], {}, 'est');
  return g.node('Concat', [...estimates], { axis: 0 }, 'est');
}

/**
 * One model's networks that `inputOf` gives an input (frames first: the mixture, or for a
 * second-stage network its group's estimate; null: not now), every name under `prefix`: per target
 * its estimate [1, 1, C, nbBins, T], by target name in config.targets order. The networks reading
 * the mixture come first (`modelEstimates`), which make the member's shared constants.
 */
function networkEstimates(
  g: GraphBuilder,
  weights: UmxWeights,
  prefix: string,
  inputOf: (target: string) => string | null,
): Map<string, string> {
  const c = weights.config;
  const nIn = inputFeatures(c);
  const n = (name: string) => `${prefix}${name}`;
  const targets = c.targets.filter((t) => inputOf(t) !== null);
  const estimates = new Map<string, string>();
  if (targets.length === 0) return estimates;
  // The member's shared constants come with its first networks.
  const first = !g.has(n('shape_out'));
  const shapes = {
    flatIn: n('shape_flat_in'),
    seq: n('shape_seq'),
    flatHidden: n('shape_flat_hidden'),
    out: n('shape_out'),
    axis0: n('axes_0'),
  };
  const cropArgs = [n('crop_starts'), n('crop_ends'), n('crop_axes')];
  if (first) {
    g.int64s(cropArgs[0], [0]);
    g.int64s(cropArgs[1], [c.maxBin]);
    g.int64s(cropArgs[2], [3]);
  }
  // The input's features, once per input (the mixture: `mix_cropped`, `mix_bands`).
  const featureCache = new Map<string, string>();
  const featuresOf = (input: string): string => {
    const done = featureCache.get(input);
    if (done) return done;
    const tag = input === 'mix_tfirst' ? 'mix' : input.replace(/_tfirst$/, '');
    const crop = g.node('Slice', [input, ...cropArgs], {}, n(`${tag}_cropped`));
    // The band matrix's nonzeros are 1/width per column (band): with int8 storage they come back
    // exact to float32 rounding (the runtimes that recompute it from the config agree), where
    // float16 rounds them by up to 2^-11.
    const bands = n('band_matrix');
    if (c.input.kind !== 'linear' && !g.has(bands)) g.matrix(bands, [c.maxBin, nIn], bandMatrix(c), false);
    const features =
      c.input.kind === 'linear' ? crop : g.node('MatMul', [crop, bands], {}, n(`${tag}_bands`));
    featureCache.set(input, features);
    return features;
  };
  if (first) {
    featuresOf(inputOf(targets[0])!);
    g.int64s(shapes.flatIn, [-1, c.nbChannels * nIn]);
    g.int64s(shapes.seq, [-1, 1, c.hiddenSize]);
    g.int64s(shapes.flatHidden, [-1, c.hiddenSize]);
    g.int64s(shapes.out, [-1, 1, c.nbChannels, c.nbBins]);
    g.int64s(shapes.axis0, [0]);
    for (const target of c.targets) {
      const w = weights.targets[target];
      if (!w) throw new Error(`onnx export: no weights for target "${target}"`);
      checkUmxWeights(c, w);
    }
    checkJointWeights(weights);
  }
  // A joint model's trunk once, from the first target's set (all sets share it; no second stage).
  const joint = c.joint
    ? trunkNetwork(g, c, weights.targets[c.targets[0]]!, n('joint'), featuresOf(inputOf(targets[0])!), shapes)
    : null;
  for (const target of targets) {
    const w = weights.targets[target]!;
    const input = inputOf(target)!;
    const h2 = joint ?? trunkNetwork(g, c, w, n(target), featuresOf(input), shapes);
    const est = headNetwork(g, c, w, n(target), h2, input, shapes);
    estimates.set(target, g.node('Unsqueeze', [est, shapes.axis0], {}, n(`${target}_est`)));
  }
  return estimates;
}

/** The model around the graph: `mix` in, `est` out (T dynamic), opset and metadata. */
function encodeModel(
  g: GraphBuilder,
  c: UmxConfig,
  options: OnnxExportOptions,
  metadataProps: { key: string; value: string }[],
): Uint8Array {
  const T = { dimParam: 'T' };
  const tensorType = (dims: onnxProto.onnx.TensorShapeProto.IDimension[]) => ({
    tensorType: { elemType: FLOAT, shape: { dim: dims } },
  });
  const graph: onnxProto.onnx.IGraphProto = {
    name: 'open_unmix',
    node: g.nodes,
    initializer: g.initializers,
    input: [
      {
        name: 'mix',
        type: tensorType([{ dimValue: 1 }, { dimValue: c.nbChannels }, { dimValue: c.nbBins }, T]),
      },
    ],
    output: [
      {
        name: 'est',
        type: tensorType([
          { dimValue: c.targets.length },
          { dimValue: 1 },
          { dimValue: c.nbChannels },
          { dimValue: c.nbBins },
          T,
        ]),
      },
    ],
  };
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'stemdeck',
    docString: options.docString ?? 'Open-Unmix (Stemdeck export)',
    graph,
    metadataProps,
  });
  return onnx.ModelProto.encode(model).finish();
}

type Shapes = { flatIn: string; seq: string; flatHidden: string; out: string };

/** Input scaler, fc1, LSTM stack, fc2: features → [T, hidden] (after bn2 and ReLU). Names `<prefix>.*`. */
function trunkNetwork(
  g: GraphBuilder,
  c: UmxConfig,
  w: UmxTargetWeights,
  prefix: string,
  features: string,
  shapes: Shapes,
): string {
  const p = (n: string) => `${prefix}.${n}`;
  const nIn = inputFeatures(c);
  const H = c.hiddenSize;
  const C = c.nbChannels;

  // (x + input_mean) · input_scale, broadcast over [T, 1, C, nIn]; then [T, C·nIn].
  let x = g.node('Add', [features, g.weight(p('input_mean'), [nIn], w['input_mean'])]);
  x = g.node('Mul', [x, g.weight(p('input_scale'), [nIn], w['input_scale'])]);
  x = g.node('Reshape', [x, shapes.flatIn]);

  // fc1 + bn1 → tanh.
  const fc1 = foldLinear(w['fc1.weight'], H, C * nIn, bnAffine(w, 'bn1', c.bnEps));
  const h1 = g.node(
    'Tanh',
    [g.node('Gemm', [x, g.matrix(p('fc1.w'), [C * nIn, H], fc1.w, false), g.weight(p('fc1.b'), [H], fc1.b)])],
    {},
    p('h1'),
  );

  // LSTM stack on [T, batch 1, features].
  const hd = lstmHiddenPerDirection(c);
  const dirs = lstmDirections(c);
  let seq = g.node('Reshape', [h1, shapes.seq]);
  for (let layer = 0; layer < c.nbLayers; layer++) {
    const inSize = layer === 0 ? H : hd * dirs;
    const suffixes = lstmDirectionSuffixes(c);
    const W = new Float32Array(dirs * 4 * hd * inSize);
    const R = new Float32Array(dirs * 4 * hd * hd);
    const B = new Float32Array(dirs * 8 * hd);
    suffixes.forEach((suffix, d) => {
      const get = (kind: string) => w[`lstm.${kind}_l${layer}${suffix}`];
      W.set(onnxGateOrder(get('weight_ih'), hd, inSize), d * 4 * hd * inSize);
      R.set(onnxGateOrder(get('weight_hh'), hd, hd), d * 4 * hd * hd);
      B.set(onnxGateOrder(get('bias_ih'), hd, 1), d * 8 * hd); // Wb
      B.set(onnxGateOrder(get('bias_hh'), hd, 1), d * 8 * hd + 4 * hd); // Rb
    });
    const name = p(`lstm${layer}`);
    const y = g.node(
      'LSTM',
      [
        seq,
        g.matrix(`${name}.W`, [dirs, 4 * hd, inSize], W, true),
        g.weight(`${name}.R`, [dirs, 4 * hd, hd], R),
        g.weight(`${name}.B`, [dirs, 8 * hd], B),
      ],
      { hidden_size: hd, direction: c.bidirectional ? 'bidirectional' : 'forward' },
      `${name}.Y`,
    );
    // Y is [T, dirs, 1, hd]; PyTorch's output is [T, 1, dirs·hd] with the forward half first.
    seq = g.node('Reshape', [g.node('Transpose', [y], { perm: [0, 2, 1, 3] }), shapes.seq]);
  }

  // Skip connection, fc2 + bn2 → ReLU.
  const cat = g.node('Concat', [h1, g.node('Reshape', [seq, shapes.flatHidden])], { axis: 1 });
  const fc2 = foldLinear(w['fc2.weight'], H, 2 * H, bnAffine(w, 'bn2', c.bnEps));
  return g.node('Relu', [
    g.node('Gemm', [cat, g.matrix(p('fc2.w'), [2 * H, H], fc2.w, false), g.weight(p('fc2.b'), [H], fc2.b)]),
  ]);
}

/** fc3 + bn3 + output affine → mask → · mix: the target's estimate [1, C, nbBins, T]. Names `<prefix>.*`. */
function headNetwork(
  g: GraphBuilder,
  c: UmxConfig,
  w: UmxTargetWeights,
  prefix: string,
  h2: string,
  mixT: string,
  shapes: Shapes,
): string {
  const p = (n: string) => `${prefix}.${n}`;
  const H = c.hiddenSize;
  const C = c.nbChannels;
  const bn3 = bnAffine(w, 'bn3', c.bnEps);
  // output_scale/output_mean are per bin, shared by the channels: fold them into bn3's per-column affine.
  for (let ch = 0; ch < C; ch++) {
    for (let k = 0; k < c.nbBins; k++) {
      const j = ch * c.nbBins + k;
      bn3.scale[j] *= w['output_scale'][k];
      bn3.shift[j] = bn3.shift[j] * w['output_scale'][k] + w['output_mean'][k];
    }
  }
  const fc3 = foldLinear(w['fc3.weight'], C * c.nbBins, H, bn3);
  const h3 = g.node('Gemm', [
    h2,
    g.matrix(p('fc3.w'), [H, C * c.nbBins], fc3.w, false),
    g.weight(p('fc3.b'), [C * c.nbBins], fc3.b),
  ]);
  // Mask: ReLU, times the mixture, back to [1, C, nbBins, T].
  const mask = g.node('Relu', [g.node('Reshape', [h3, shapes.out])]);
  return g.node('Transpose', [g.node('Mul', [mask, mixT])], { perm: [1, 2, 3, 0] }, p('est'));
}

/** BatchNorm1d (eval) as y = x·scale + shift per feature, in float64. */
function bnAffine(
  w: UmxTargetWeights,
  name: string,
  eps: number,
): { scale: Float64Array; shift: Float64Array } {
  const gamma = w[`${name}.weight`];
  const beta = w[`${name}.bias`];
  const mean = w[`${name}.running_mean`];
  const variance = w[`${name}.running_var`];
  const scale = new Float64Array(gamma.length);
  const shift = new Float64Array(gamma.length);
  for (let j = 0; j < gamma.length; j++) {
    scale[j] = gamma[j] / Math.sqrt(variance[j] + eps);
    shift[j] = beta[j] - mean[j] * scale[j];
  }
  return { scale, shift };
}

/** PyTorch Linear weight [out, in] followed by a per-output affine → Gemm's B [in, out] and bias [out]. */
function foldLinear(
  weight: Float32Array,
  outSize: number,
  inSize: number,
  affine: { scale: Float64Array; shift: Float64Array },
): { w: Float32Array; b: Float32Array } {
  const w = new Float32Array(inSize * outSize);
  for (let o = 0; o < outSize; o++) {
    const s = affine.scale[o];
    for (let i = 0; i < inSize; i++) w[i * outSize + o] = weight[o * inSize + i] * s;
  }
  return { w, b: Float32Array.from(affine.shift) };
}

/**
 * PyTorch stacks LSTM gate blocks as i, f, g, o; ONNX as i, o, f, c (c = PyTorch's g). Each block is
 * `hd` rows of `cols` values.
 */
export function onnxGateOrder(pt: Float32Array, hd: number, cols: number): Float32Array {
  const block = hd * cols;
  const out = new Float32Array(4 * block);
  const [i, f, g, o] = [0, 1, 2, 3].map((k) => pt.subarray(k * block, (k + 1) * block));
  out.set(i, 0);
  out.set(o, block);
  out.set(f, 2 * block);
  out.set(g, 3 * block);
  return out;
}

/**
 * Symmetric int8 of a row-major [rows, cols] matrix, one scale per row or per column (max |v| / 127;
 * an all-zero channel gets scale 1): value ≈ q · scale, |error| ≤ scale / 2.
 */
export function quantizeInt8(
  data: Float32Array,
  rows: number,
  cols: number,
  perRow: boolean,
): { values: Uint8Array; scales: Float32Array } {
  const scales = new Float32Array(perRow ? rows : cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = perRow ? r : c;
      scales[k] = Math.max(scales[k], Math.abs(data[r * cols + c]));
    }
  }
  for (let k = 0; k < scales.length; k++) scales[k] = scales[k] > 0 ? scales[k] / 127 : 1;
  const values = new Uint8Array(rows * cols);
  const q = new Int8Array(values.buffer);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      q[i] = Math.max(-127, Math.min(127, Math.round(data[i] / scales[perRow ? r : c])));
    }
  }
  return { values, scales };
}

function float32Bytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

function float16Bytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setUint16(i * 2, float32ToFloat16Bits(data[i]), true);
  return out;
}
