/**
 * Plain-TypeScript forward pass of one Open-Unmix target network: inference mode (BatchNorm with
 * running statistics), or over a batch with BatchNorm on the batch's statistics (training mode,
 * without dropout). Written for clarity, not speed: it is the independent reference that the
 * TensorFlow.js trainer (forward and, by finite differences, gradients) and the ONNX export are tested
 * against. Accumulates in float64.
 *
 * Follows open-unmix-pytorch `OpenUnmix.forward` step by step; the comments name its steps.
 */
import { bandEdges } from './bands';
import {
  inputFeatures,
  lstmDirectionSuffixes,
  lstmDirections,
  lstmHiddenPerDirection,
  type UmxConfig,
} from './config';
import { checkUmxWeights, type UmxTargetWeights } from './parameters';

/**
 * mix: mixture magnitudes, layout [channel][frame][bin] (the core spectrogram layout) with
 * nbChannels × frames × nbBins values. Returns the target's magnitude estimate in the same layout.
 */
export function umxReferenceForward(
  config: UmxConfig,
  weights: UmxTargetWeights,
  mix: Float32Array,
  frames: number,
): Float32Array {
  return Float32Array.from(umxReferenceForwardBatch(config, weights, [mix], frames, false)[0]);
}

/**
 * A batch of clips (each [channel][frame][bin]); `batchStatistics`: BatchNorm normalises with the
 * mean and biased variance over all frames of all clips, as torch's BatchNorm1d in train mode.
 */
export function umxReferenceForwardBatch(
  config: UmxConfig,
  weights: UmxTargetWeights,
  clips: readonly Float32Array[],
  frames: number,
  batchStatistics: boolean,
): Float64Array[] {
  checkUmxWeights(config, weights);
  const { nbChannels: nc, nbBins, hiddenSize: hidden } = config;
  for (const mix of clips) {
    if (mix.length !== nc * frames * nbBins) {
      throw new Error(`umxReferenceForward: expected ${nc}×${frames}×${nbBins} values, got ${mix.length}`);
    }
  }
  const w = (name: string) => weights[name];
  const nIn = inputFeatures(config);
  // Rows of the dense layers: clip-major, then frame.
  const at = (b: number, c: number, t: number, k: number) => clips[b][(c * frames + t) * nbBins + k];
  const bn = (x: Float64Array[], name: string) => batchNorm(x, weights, name, config.bnEps, batchStatistics);

  // Crop to maxBin (or average into bands), then shift and scale: (x + input_mean) · input_scale.
  const edges = config.input.kind === 'bands' ? bandEdges(config) : null;
  const x = rows(clips.length * frames, nc * nIn);
  for (let row = 0; row < x.length; row++) {
    const b = Math.floor(row / frames);
    const t = row % frames;
    for (let c = 0; c < nc; c++) {
      for (let f = 0; f < nIn; f++) {
        let v: number;
        if (edges) {
          v = 0;
          for (let k = edges[f]; k < edges[f + 1]; k++) v += at(b, c, t, k);
          v /= edges[f + 1] - edges[f];
        } else v = at(b, c, t, f);
        x[row][c * nIn + f] = (v + w('input_mean')[f]) * w('input_scale')[f];
      }
    }
  }

  // fc1 (no bias) → bn1 → tanh.
  const h1 = linear(x, w('fc1.weight'), hidden);
  bn(h1, 'bn1');
  for (const row of h1) for (let j = 0; j < hidden; j++) row[j] = Math.tanh(row[j]);

  // Stacked (bi)LSTM over each clip; each layer's output is [forward | reverse] per frame.
  const seq: Float64Array[] = [];
  for (let b = 0; b < clips.length; b++) {
    let clipSeq = h1.slice(b * frames, (b + 1) * frames);
    for (let layer = 0; layer < config.nbLayers; layer++) {
      const hd = lstmHiddenPerDirection(config);
      const out = rows(frames, hd * lstmDirections(config));
      const suffixes = lstmDirectionSuffixes(config);
      suffixes.forEach((suffix, d) => {
        const p = (kind: string) => w(`lstm.${kind}_l${layer}${suffix}`);
        const hs = lstmDirection(
          clipSeq,
          p('weight_ih'),
          p('weight_hh'),
          p('bias_ih'),
          p('bias_hh'),
          hd,
          d === 1,
        );
        for (let t = 0; t < frames; t++) out[t].set(hs[t], d * hd);
      });
      clipSeq = out;
    }
    seq.push(...clipSeq);
  }

  // Skip connection: concat [fc1 branch, LSTM output] → fc2 → bn2 → ReLU → fc3 → bn3.
  const cat = h1.map((row, t) => {
    const r = new Float64Array(2 * hidden);
    r.set(row, 0);
    r.set(seq[t], hidden);
    return r;
  });
  const h2 = linear(cat, w('fc2.weight'), hidden);
  bn(h2, 'bn2');
  for (const row of h2) for (let j = 0; j < hidden; j++) row[j] = Math.max(0, row[j]);
  const h3 = linear(h2, w('fc3.weight'), nc * nbBins);
  bn(h3, 'bn3');

  // Reshape to [channel, bin], · output_scale + output_mean, ReLU, times the mixture magnitude.
  return clips.map((mix, b) => {
    const est = new Float64Array(mix.length);
    for (let t = 0; t < frames; t++) {
      for (let c = 0; c < nc; c++) {
        for (let k = 0; k < nbBins; k++) {
          const v = h3[b * frames + t][c * nbBins + k] * w('output_scale')[k] + w('output_mean')[k];
          est[(c * frames + t) * nbBins + k] = Math.max(0, v) * at(b, c, t, k);
        }
      }
    }
    return est;
  });
}

function rows(n: number, width: number): Float64Array[] {
  return Array.from({ length: n }, () => new Float64Array(width));
}

/** y = x · Wᵀ for W in PyTorch layout [out, in]. */
function linear(x: Float64Array[], weight: Float32Array, outSize: number): Float64Array[] {
  const inSize = x[0]?.length ?? 0;
  return x.map((row) => {
    const y = new Float64Array(outSize);
    for (let o = 0; o < outSize; o++) {
      let s = 0;
      for (let i = 0; i < inSize; i++) s += weight[o * inSize + i] * row[i];
      y[o] = s;
    }
    return y;
  });
}

/** BatchNorm1d in place: running statistics (eval mode) or the rows' own (train mode, biased variance). */
function batchNorm(
  x: Float64Array[],
  weights: UmxTargetWeights,
  name: string,
  eps: number,
  batch: boolean,
): void {
  let mean: ArrayLike<number> = weights[`${name}.running_mean`];
  let variance: ArrayLike<number> = weights[`${name}.running_var`];
  if (batch) {
    const n = x[0].length;
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    for (const row of x) for (let j = 0; j < n; j++) m[j] += row[j] / x.length;
    for (const row of x) for (let j = 0; j < n; j++) v[j] += (row[j] - m[j]) ** 2 / x.length;
    mean = m;
    variance = v;
  }
  const gamma = weights[`${name}.weight`];
  const beta = weights[`${name}.bias`];
  for (const row of x) {
    for (let j = 0; j < row.length; j++) {
      row[j] = ((row[j] - mean[j]) / Math.sqrt(variance[j] + eps)) * gamma[j] + beta[j];
    }
  }
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** One LSTM direction over the whole sequence (torch.nn.LSTM gate order i, f, g, o; zero initial state). */
function lstmDirection(
  x: Float64Array[],
  wih: Float32Array,
  whh: Float32Array,
  bih: Float32Array,
  bhh: Float32Array,
  hd: number,
  reverse: boolean,
): Float64Array[] {
  const frames = x.length;
  const inSize = x[0]?.length ?? 0;
  const out = rows(frames, hd);
  let h = new Float64Array(hd);
  const c = new Float64Array(hd);
  const z = new Float64Array(4 * hd);
  for (let s = 0; s < frames; s++) {
    const t = reverse ? frames - 1 - s : s;
    for (let g = 0; g < 4 * hd; g++) {
      let v = bih[g] + bhh[g];
      for (let i = 0; i < inSize; i++) v += wih[g * inSize + i] * x[t][i];
      for (let i = 0; i < hd; i++) v += whh[g * hd + i] * h[i];
      z[g] = v;
    }
    const next = new Float64Array(hd);
    for (let j = 0; j < hd; j++) {
      const ig = sigmoid(z[j]);
      const fg = sigmoid(z[hd + j]);
      const gg = Math.tanh(z[2 * hd + j]);
      const og = sigmoid(z[3 * hd + j]);
      c[j] = fg * c[j] + ig * gg;
      next[j] = og * Math.tanh(c[j]);
    }
    h = next;
    out[t] = h;
  }
  return out;
}
