/**
 * The WebGPU engine's weight layout, built on the CPU (in float64, rounded once to float32) from the
 * state_dict-named tensors of every target (src/core/model/parameters.ts), targets side by side so one
 * dispatch serves them all:
 *
 * - fc1: input mean/scale and bn1 folded in: x·W1[j] + b1[j], W1[j] is [C·nIn][H].
 * - LSTM layer l: W_ihᵀ of both directions side by side [H][D·4hd], bias b_ih + b_hh [D·4hd];
 *   W_hhᵀ per direction [hd][4hd] (column r = gate row r, PyTorch gate order i, f, g, o).
 * - fc2: bn2 folded in, [2H][H]; fc3: bn3 and the output scale/mean folded in, [H][C·bins].
 */
import { bandEdges } from '../model/bands';
import { inputFeatures, lstmDirections, lstmHiddenPerDirection, type UmxConfig } from '../model/config';
import { checkUmxWeights, type UmxTargetWeights } from '../model/parameters';

export interface EngineLayer {
  /** [J][H][D·4hd] */
  readonly wih: Float32Array;
  /** [J][D·4hd] */
  readonly bias: Float32Array;
  /** [J][D][hd][4hd] */
  readonly whh: Float32Array;
}

export interface EngineWeights {
  /** [J][C·nIn][H], [J][H] */
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly layers: readonly EngineLayer[];
  /** [J][2H][H], [J][H] */
  readonly w2: Float32Array;
  readonly b2: Float32Array;
  /** [J][H][C·bins], [J][C·bins] */
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
  const k1 = C * nIn;
  const hd = lstmHiddenPerDirection(config);
  const D = lstmDirections(config);
  const g4 = 4 * hd;
  const out = C * bins;
  const w1 = new Float32Array(J * k1 * H);
  const b1 = new Float32Array(J * H);
  const w2 = new Float32Array(J * 2 * H * H);
  const b2 = new Float32Array(J * H);
  const w3 = new Float32Array(J * H * out);
  const b3 = new Float32Array(J * out);
  const layers = Array.from({ length: config.nbLayers }, () => ({
    wih: new Float32Array(J * H * D * g4),
    bias: new Float32Array(J * D * g4),
    whh: new Float32Array(J * D * hd * g4),
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
      for (let k = 0; k < k1; k++) {
        const f = k % nIn;
        const v = fc1[h * k1 + k] * scale[f];
        w1[(j * k1 + k) * H + h] = v * bn1.scale[h];
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
          for (let i = 0; i < inSize; i++) layer.wih[(j * H + i) * D * g4 + d * g4 + r] = wih[r * inSize + i];
          for (let i = 0; i < hd; i++) layer.whh[((j * D + d) * hd + i) * g4 + r] = whh[r * hd + i];
          layer.bias[j * D * g4 + d * g4 + r] = bih[r] + bhh[r];
        }
      }
    });

    const bn2 = bnAffine(w, 'bn2', config.bnEps);
    const fc2 = w['fc2.weight'];
    for (let h = 0; h < H; h++) {
      for (let k = 0; k < 2 * H; k++) w2[(j * 2 * H + k) * H + h] = fc2[h * 2 * H + k] * bn2.scale[h];
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
      for (let h = 0; h < H; h++) w3[(j * H + h) * out + n] = fc3[n * H + h] * s;
      b3[j * out + n] = bn3.shift[n] * oScale[k] + oMean[k];
    }
  });

  const edges = config.input.kind === 'bands' ? Uint32Array.from(bandEdges(config)) : null;
  return { w1, b1, layers, w2, b2, w3, b3, edges };
}
