/**
 * Weights for the WebGPU engine from an exported Stemdeck ONNX model (`npm run export`, also the
 * shipped models/*.onnx): the config from its `stemdeck.config` metadata (each member's, for an
 * ensemble: `stemdeck.ensemble`) and, per target, tensors by
 * state_dict name recovered from the graph's initializers (float32, or float16 stored, decoded here).
 *
 * The exporter folds each BatchNorm (and the output scale/mean) into the preceding matrix, so the
 * folded matrices come back as the Linear weights with an identity BatchNorm (weight 1, running mean 0,
 * running var 1 − eps) whose bias is the folded bias, output scale 1 and output mean 0: the same
 * function, which the engine then folds again. LSTM gate blocks go back from ONNX's i, o, f, c order to
 * PyTorch's i, f, g, o.
 */
import onnxProto from 'onnx-proto';
import { float16BitsToFloat32 } from '../float16';
import { inputFeatures, lstmDirections, lstmHiddenPerDirection, type UmxConfig } from '../model/config';
import type { UmxTargetWeights, UmxWeights } from '../model/parameters';
import { modelMembers } from '../onnx-model';

const { onnx } = onnxProto;
const { FLOAT, INT8, FLOAT16 } = onnx.TensorProto.DataType;

function tensorValues(t: onnxProto.onnx.ITensorProto): Float32Array {
  const n = (t.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const out = new Float32Array(n);
  if (t.dataType === FLOAT) {
    if (raw) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
    } else out.set(t.floatData ?? []);
  } else if (t.dataType === FLOAT16) {
    if (raw) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < n; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
    } else {
      const bits = t.int32Data ?? [];
      for (let i = 0; i < n; i++) out[i] = float16BitsToFloat32(bits[i]);
    }
  } else throw new Error(`initializer ${t.name}: data type ${t.dataType} is not float32/float16`);
  return out;
}

/**
 * An int8-stored matrix (`npm run export -- --int8`): `<name>_q` [rows, cols] int8 times
 * `<name>_scale`, float32 [rows, 1] (per row) or [1, cols] (per column); flat values.
 */
function dequantized(q: onnxProto.onnx.ITensorProto, scaleTensor: onnxProto.onnx.ITensorProto): Float32Array {
  const [rows, cols] = (q.dims ?? []).map(Number);
  const raw = q.rawData;
  if (q.dataType !== INT8 || !raw || raw.length !== rows * cols)
    throw new Error(`initializer ${q.name}: not an int8 matrix`);
  const scale = tensorValues(scaleTensor);
  const perRow = Number((scaleTensor.dims ?? [])[1]) === 1 && cols !== 1;
  if (scale.length !== (perRow ? rows : cols))
    throw new Error(`initializer ${scaleTensor.name}: ${scale.length} scales for [${rows}, ${cols}]`);
  const values = new Int8Array(raw.buffer, raw.byteOffset, raw.length);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = values[r * cols + c] * scale[perRow ? r : c];
  }
  return out;
}

/** PyTorch gate order (i, f, g, o) from ONNX's (i, o, f, c); blocks of hd·cols values. */
function torchGateOrder(onnxOrder: Float32Array, hd: number, cols: number): Float32Array {
  const block = hd * cols;
  const [i, o, f, c] = [0, 1, 2, 3].map((k) => onnxOrder.subarray(k * block, (k + 1) * block));
  const out = new Float32Array(4 * block);
  out.set(i, 0);
  out.set(f, block);
  out.set(c, 2 * block);
  out.set(o, 3 * block);
  return out;
}

/** Transpose of a row-major [rows][cols] matrix. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/** The weights of a plain (one-member) model file; an ensemble's are `umxMembersFromOnnx`'s. */
export function umxWeightsFromOnnx(bytes: Uint8Array): UmxWeights {
  const members = umxMembersFromOnnx(bytes);
  if (members.length !== 1) {
    throw new Error(`ONNX model: an ensemble of ${members.length} models (read it with umxMembersFromOnnx)`);
  }
  return members[0];
}

/** Each network set of a model file: one for a plain model, one per member of an ensemble. */
export function umxMembersFromOnnx(bytes: Uint8Array): UmxWeights[] {
  const model = onnx.ModelProto.decode(bytes);
  const inits = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  return modelMembers(model.metadataProps ?? []).map(({ prefix, config }) =>
    memberWeights(config, (name) => {
      const full = `${prefix}${name}`;
      const t = inits.get(full) ?? inits.get(`${full}_f16`);
      if (t) return tensorValues(t);
      const q = inits.get(`${full}_q`);
      const scale = inits.get(`${full}_scale`);
      if (q && scale) return dequantized(q, scale);
      throw new Error(`ONNX model: no initializer "${full}"`);
    }),
  );
}

function memberWeights(config: UmxConfig, get: (name: string) => Float32Array): UmxWeights {
  const H = config.hiddenSize;
  const C = config.nbChannels;
  const bins = config.nbBins;
  const nIn = inputFeatures(config);
  const hd = lstmHiddenPerDirection(config);
  const D = lstmDirections(config);
  const eps = config.bnEps;
  const targets: UmxWeights['targets'] = {};
  for (const target of config.targets) {
    // A joint model's trunk is stored once, as `joint.*`; the heads (fc3 on) per target.
    const p = (n: string) => get(`${config.joint && !n.startsWith('fc3.') ? 'joint' : target}.${n}`);
    const w: UmxTargetWeights = {};
    const identityBn = (name: string, bias: Float32Array) => {
      w[`${name}.weight`] = new Float32Array(bias.length).fill(1);
      w[`${name}.bias`] = bias;
      w[`${name}.running_mean`] = new Float32Array(bias.length);
      w[`${name}.running_var`] = new Float32Array(bias.length).fill(1 - eps);
    };
    w['fc1.weight'] = transpose(p('fc1.w'), C * nIn, H);
    identityBn('bn1', p('fc1.b'));
    for (let l = 0; l < config.nbLayers; l++) {
      const inSize = l === 0 ? H : hd * D;
      const W = p(`lstm${l}.W`);
      const R = p(`lstm${l}.R`);
      const B = p(`lstm${l}.B`);
      for (let d = 0; d < D; d++) {
        const suffix = d === 1 ? '_reverse' : '';
        const g4 = 4 * hd;
        w[`lstm.weight_ih_l${l}${suffix}`] = torchGateOrder(
          W.subarray(d * g4 * inSize, (d + 1) * g4 * inSize),
          hd,
          inSize,
        );
        w[`lstm.weight_hh_l${l}${suffix}`] = torchGateOrder(
          R.subarray(d * g4 * hd, (d + 1) * g4 * hd),
          hd,
          hd,
        );
        w[`lstm.bias_ih_l${l}${suffix}`] = torchGateOrder(B.subarray(d * 2 * g4, d * 2 * g4 + g4), hd, 1);
        w[`lstm.bias_hh_l${l}${suffix}`] = torchGateOrder(
          B.subarray(d * 2 * g4 + g4, (d + 1) * 2 * g4),
          hd,
          1,
        );
      }
    }
    w['fc2.weight'] = transpose(p('fc2.w'), 2 * H, H);
    identityBn('bn2', p('fc2.b'));
    w['fc3.weight'] = transpose(p('fc3.w'), H, C * bins);
    identityBn('bn3', p('fc3.b'));
    w['input_mean'] = p('input_mean');
    w['input_scale'] = p('input_scale');
    w['output_scale'] = new Float32Array(bins).fill(1);
    w['output_mean'] = new Float32Array(bins);
    targets[target] = w;
  }
  return { config, targets };
}
