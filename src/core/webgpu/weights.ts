/**
 * The WebGPU engine's weight layout, built on the CPU (in float64, rounded once to float32) from the
 * state_dict-named tensors of every target (src/core/model/parameters.ts), targets side by side so one
 * dispatch serves them all:
 *
 * - Dense matrices are [out][in] (PyTorch's Linear layout, what the matmul kernel reads as vec4 along
 *   the input), each row zero-padded to a multiple of 4: k1 = ⌈C·nIn⌉₄ for fc1, hp = ⌈H⌉₄ for the
 *   others. Activations use the same padded strides (the pad columns stay zero).
 * - fc1: input mean/scale and bn1 folded in: W1[j] is [H][k1], b1[j] [H].
 * - LSTM layer l: W_ih of both directions stacked [D·4hd][hp], bias b_ih + b_hh [D·4hd];
 *   W_hh per direction [4hd][⌈hd⌉₄] (PyTorch gate order i, f, g, o; rows zero-padded).
 * - fc2: bn2 folded in, [H][2·hp] (fc1 branch in columns [0, H), LSTM in [hp, hp + H));
 *   fc3: bn3 and the output scale/mean folded in, [C·bins][hp].
 */
import { bandEdges } from '../model/bands';
import { inputFeatures, lstmDirections, lstmHiddenPerDirection, type UmxConfig } from '../model/config';
import { checkUmxWeights, type UmxTargetWeights } from '../model/parameters';

export interface EngineLayer {
  /** [J][D·4hd][hp] */
  readonly wih: Float32Array;
  /** [J][D·4hd] */
  readonly bias: Float32Array;
  /** [J][D][4hd][⌈hd⌉₄] */
  readonly whh: Float32Array;
  /**
   * The same W_hh as float16 pairs packed in u32, rows padded to ⌈hd⌉₈ halves ([J][D][4hd][⌈hd⌉₈ / 2]),
   * when every value is exactly a float16 (fp16-stored models: lossless); else null.
   */
  readonly whhF16: Uint32Array | null;
}

export interface EngineWeights {
  /** fc1's padded input width ⌈C·nIn⌉₄ and the padded hidden width ⌈H⌉₄. */
  readonly k1: number;
  readonly hp: number;
  /** [J][H][k1], [J][H] */
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly layers: readonly EngineLayer[];
  /** [J][H][2·hp], [J][H] */
  readonly w2: Float32Array;
  readonly b2: Float32Array;
  /** [J][C·bins][hp], [J][C·bins] */
  readonly w3: Float32Array;
  readonly b3: Float32Array;
  /** Band edges (bands input only), length nIn + 1. */
  readonly edges: Uint32Array | null;
}

function bnAffine(w: UmxTargetWeights, name: string, eps: number) {
  const gamma = w[`${name}.weight`];
  const scale = new Float64Array(gamma.length);
  const shift = new Float64Array(gamma.length);
  for (let j = 0; j < gamma.length; j++) {
    scale[j] = gamma[j] / Math.sqrt(w[`${name}.running_var`][j] + eps);
    shift[j] = w[`${name}.bias`][j] - w[`${name}.running_mean`][j] * scale[j];
  }
  return { scale, shift };
}

/** Folds and lays out the weights of `targets` (in that order; all must be present). */
export function engineWeights(config: UmxConfig, targets: readonly UmxTargetWeights[]): EngineWeights {
  const J = targets.length;
  const H = config.hiddenSize;
  const C = config.nbChannels;
  const bins = config.nbBins;
  const nIn = inputFeatures(config);
  const kIn = C * nIn;
  const k1 = pad4(kIn);
  const hp = pad4(H);
  const hd = lstmHiddenPerDirection(config);
  const D = lstmDirections(config);
  const g4 = 4 * hd;
  const out = C * bins;
  const w1 = new Float32Array(J * k1 * H);
  const b1 = new Float32Array(J * H);
  const w2 = new Float32Array(J * H * 2 * hp);
  const b2 = new Float32Array(J * H);
  const w3 = new Float32Array(J * out * hp);
  const b3 = new Float32Array(J * out);
  const layers = Array.from({ length: config.nbLayers }, () => ({
    wih: new Float32Array(J * D * g4 * hp),
    bias: new Float32Array(J * D * g4),
    whh: new Float32Array(J * D * g4 * pad4(hd)),
    whhF16: null as Uint32Array | null,
  }));

  targets.forEach((w, j) => {
    checkUmxWeights(config, w);
    // fc1 · ((x + mean) · scale) → bn1: W1[k][h] = fc1[h][k]·scale[f]·s1[h]; b1 = s1·Σ fc1·scale·mean + t1.
    const bn1 = bnAffine(w, 'bn1', config.bnEps);
    const fc1 = w['fc1.weight'];
    const mean = w['input_mean'];
    const scale = w['input_scale'];
    for (let h = 0; h < H; h++) {
      let b = 0;
      for (let k = 0; k < kIn; k++) {
        const f = k % nIn;
        const v = fc1[h * kIn + k] * scale[f];
        w1[(j * H + h) * k1 + k] = v * bn1.scale[h];
        b += v * mean[f];
      }
      b1[j * H + h] = b * bn1.scale[h] + bn1.shift[h];
    }

    layers.forEach((layer, l) => {
      const inSize = l === 0 ? H : hd * D;
      for (let d = 0; d < D; d++) {
        const suffix = d === 1 ? '_reverse' : '';
        const wih = w[`lstm.weight_ih_l${l}${suffix}`];
        const whh = w[`lstm.weight_hh_l${l}${suffix}`];
        const bih = w[`lstm.bias_ih_l${l}${suffix}`];
        const bhh = w[`lstm.bias_hh_l${l}${suffix}`];
        for (let r = 0; r < g4; r++) {
          const row = (j * D * g4 + d * g4 + r) * hp;
          for (let i = 0; i < inSize; i++) layer.wih[row + i] = wih[r * inSize + i];
          const hrow = ((j * D + d) * g4 + r) * pad4(hd);
          for (let i = 0; i < hd; i++) layer.whh[hrow + i] = whh[r * hd + i];
          layer.bias[j * D * g4 + d * g4 + r] = bih[r] + bhh[r];
        }
      }
    });

    const bn2 = bnAffine(w, 'bn2', config.bnEps);
    const fc2 = w['fc2.weight'];
    for (let h = 0; h < H; h++) {
      const row = (j * H + h) * 2 * hp;
      for (let k = 0; k < H; k++) {
        w2[row + k] = fc2[h * 2 * H + k] * bn2.scale[h];
        w2[row + hp + k] = fc2[h * 2 * H + H + k] * bn2.scale[h];
      }
      b2[j * H + h] = bn2.shift[h];
    }

    // fc3 → bn3 → · output_scale + output_mean (per bin, shared by the channels).
    const bn3 = bnAffine(w, 'bn3', config.bnEps);
    const fc3 = w['fc3.weight'];
    const oScale = w['output_scale'];
    const oMean = w['output_mean'];
    for (let n = 0; n < out; n++) {
      const k = n % bins;
      const s = bn3.scale[n] * oScale[k];
      for (let h = 0; h < H; h++) w3[(j * out + n) * hp + h] = fc3[n * H + h] * s;
      b3[j * out + n] = bn3.shift[n] * oScale[k] + oMean[k];
    }
  });

  for (const layer of layers) layer.whhF16 = packF16Rows(layer.whh, J * D * g4, pad4(hd), hd);

  const edges = config.input.kind === 'bands' ? Uint32Array.from(bandEdges(config)) : null;
  return { k1, hp, w1, b1, layers, w2, b2, w3, b3, edges };
}

/** The next multiple of 4 (vec4 rows). */
export function pad4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** float16 bits of `v` if it is exactly a float16, else -1. */
function exactHalfBits(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  if (!Number.isFinite(a) || a > 65504) return -1;
  if (a < 2 ** -14) {
    const m = a * 2 ** 24; // subnormal: a = m · 2^-24
    return Number.isInteger(m) ? sign | m : -1;
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const m = (a / 2 ** e - 1) * 1024;
  return Number.isInteger(m) ? sign | ((e + 15) << 10) | m : -1;
}

/** Rows of `width` f32 (first `used` meaningful) → f16 pairs in u32, rows padded to ⌈used⌉₈; null if inexact. */
function packF16Rows(data: Float32Array, rows: number, width: number, used: number): Uint32Array | null {
  const w8 = Math.ceil(used / 8) * 8;
  const out = new Uint32Array((rows * w8) / 2);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < used; i++) {
      const bits = exactHalfBits(data[r * width + i]);
      if (bits < 0) return null;
      out[(r * w8 + i) >> 1] |= bits << (16 * (i & 1));
    }
  }
  return out;
}
