/**
 * Oracle separators: upper / lower reference points for the evaluator, computed from the true stems.
 *
 * - `mix`: every stem estimate is mixture / J (SiSEC's "do nothing" baseline).
 * - `mixture`: every stem estimate is the mixture itself — what a listener hears with every slider
 *   at 1, the baseline a remix must beat (BSS Eval v4 does not forgive the scale: for a stem at −6 dB
 *   under the rest, `mix` scores about −1 dB and `mixture` about −6).
 * - `irm1`, `irm2`: ideal ratio masks M_j = |S_j|^p / Σ_k |S_k|^p (p = 1, 2) of the true stems'
 *   STFTs, applied to the STFT of the mixture (the sum of the stems), inverted back to the original
 *   length. STFT: n_fft 4096, hop 1024, periodic Hann, as Open-Unmix (see ./stft).
 *
 * Division by zero is guarded by a tiny eps that keeps the masks summing to exactly 1:
 * M_j = (|S_j|^p + eps/J) / (Σ_k |S_k|^p + eps), so a bin where every stem is silent is split equally
 * and the estimates always sum to the mixture (up to float rounding).
 *
 * The masked spectrograms are processed in blocks through StreamingStft / StreamingIstft, which give
 * exactly the whole-signal STFT / ISTFT, so memory stays bounded on full-length tracks.
 */
import {
  resolveConfig,
  type Spectrogram,
  type StftConfig,
  StreamingIstft,
  StreamingStft,
} from '../../src/core/stft';

export const ORACLE_KINDS = ['mix', 'mixture', 'irm1', 'irm2'] as const;
export type OracleKind = (typeof ORACLE_KINDS)[number];

export function isOracleKind(value: string): value is OracleKind {
  return (ORACLE_KINDS as readonly string[]).includes(value);
}

/** Planar stems: name → one array per channel, all stems with the same channel count and length. */
export type StemAudio = Record<string, readonly Float32Array[]>;

export interface OracleOptions extends StftConfig {
  /** Mask regulariser in units of |S|^p. Default 1e-12, far below one LSB of 16-bit audio. */
  readonly eps?: number;
}

export const DEFAULT_ORACLE_EPS = 1e-12;
/** Frames per block of the streaming mask computation (bounded memory, same result). */
const BLOCK_FRAMES = 64;

function checkStems(stems: StemAudio): { names: string[]; channels: number; length: number } {
  const names = Object.keys(stems);
  if (names.length === 0) throw new Error('oracle: no stems');
  const first = stems[names[0]];
  const channels = first.length;
  const length = first[0]?.length ?? 0;
  if (channels === 0) throw new Error(`oracle: stem "${names[0]}" has no channels`);
  for (const name of names) {
    const s = stems[name];
    if (s.length !== channels)
      throw new Error(`oracle: stem "${name}" has ${s.length} channels, expected ${channels}`);
    for (const ch of s) {
      if (ch.length !== length)
        throw new Error(`oracle: stem "${name}" has ${ch.length} samples, expected ${length}`);
    }
  }
  return { names, channels, length };
}

/** The mixture: per channel, the sum of all stems (accumulated in double precision). */
export function mixtureOf(stems: StemAudio): Float32Array[] {
  const { names, channels, length } = checkStems(stems);
  const acc = new Float64Array(length);
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    acc.fill(0);
    for (const name of names) {
      const x = stems[name][c];
      for (let i = 0; i < length; i++) acc[i] += x[i];
    }
    out.push(Float32Array.from(acc));
  }
  return out;
}

/** Separates the mixture of `stems` with the chosen oracle; returns estimates under the same names. */
export function oracleSeparate(
  kind: OracleKind,
  stems: StemAudio,
  options: OracleOptions = {},
): Record<string, Float32Array[]> {
  switch (kind) {
    case 'mix':
      return mixOracle(stems, 1 / Object.keys(stems).length);
    case 'mixture':
      return mixOracle(stems, 1);
    case 'irm1':
      return ratioMaskOracle(stems, 1, options);
    case 'irm2':
      return ratioMaskOracle(stems, 2, options);
    default:
      throw new Error(`unknown oracle "${kind as string}" (known: ${ORACLE_KINDS.join(', ')})`);
  }
}

function mixOracle(stems: StemAudio, share: number): Record<string, Float32Array[]> {
  const { names } = checkStems(stems);
  const mixture = mixtureOf(stems);
  const out: Record<string, Float32Array[]> = {};
  for (const name of names) out[name] = mixture.map((ch) => ch.map((v) => v * share));
  return out;
}

/** Ideal ratio masks with magnitude power `power`, applied to the mixture STFT. */
export function ratioMaskOracle(
  stems: StemAudio,
  power: number,
  options: OracleOptions = {},
): Record<string, Float32Array[]> {
  const { names, channels, length } = checkStems(stems);
  const { nFft, hop } = resolveConfig(options);
  const eps = options.eps ?? DEFAULT_ORACLE_EPS;
  const J = names.length;
  const analysis = names.map(() => new StreamingStft(channels, { nFft, hop }));
  const mixAnalysis = new StreamingStft(channels, { nFft, hop });
  const synthesis = names.map(() => new StreamingIstft(channels, { nFft, hop }));
  const out = names.map(() => Array.from({ length: channels }, () => new Float32Array(length)));
  const written = new Array<number>(J).fill(0);
  const block = BLOCK_FRAMES * hop;
  const mixBlock = Array.from({ length: channels }, () => new Float64Array(block));
  let scratch = { den: new Float64Array(0), num: [] as Float32Array[] };

  const collect = (j: number, samples: Float32Array[]) => {
    for (let c = 0; c < channels; c++) out[j][c].set(samples[c], written[j]);
    written[j] += samples[0].length;
  };

  // Masks the mixture frames `x` by the stems' frames `s` and feeds the stems' synthesis.
  const process = (x: Spectrogram, s: Spectrogram[]) => {
    const n = x.re.length;
    if (scratch.den.length < n) {
      scratch = { den: new Float64Array(n), num: names.map(() => new Float32Array(n)) };
    }
    // Locals, not the mutable closure variable, so the loops below run on known arrays.
    const { den, num } = scratch;
    const xRe = x.re;
    const xIm = x.im;
    den.fill(0, 0, n);
    for (let j = 0; j < J; j++) {
      const { re, im } = s[j];
      const nj = num[j];
      if (power === 2) {
        for (let i = 0; i < n; i++) {
          const e = re[i] * re[i] + im[i] * im[i];
          nj[i] = e;
          den[i] += e;
        }
      } else {
        const half = power / 2;
        for (let i = 0; i < n; i++) {
          const e2 = re[i] * re[i] + im[i] * im[i];
          const e = half === 0.5 ? Math.sqrt(e2) : e2 ** half;
          nj[i] = e;
          den[i] += e;
        }
      }
    }
    for (let i = 0; i < n; i++) den[i] = 1 / (den[i] + eps);
    const share = eps / J;
    for (let j = 0; j < J; j++) {
      // The stem's own spectrogram is not needed any more: overwrite it with the estimate.
      const { re, im } = s[j];
      const nj = num[j];
      for (let i = 0; i < n; i++) {
        const m = (nj[i] + share) * den[i];
        re[i] = m * xRe[i];
        im[i] = m * xIm[i];
      }
      collect(j, synthesis[j].push(s[j]));
    }
  };

  for (let pos = 0; pos < length; pos += block) {
    const end = Math.min(length, pos + block);
    const views = names.map((name) => stems[name].map((ch) => ch.subarray(pos, end)));
    for (let c = 0; c < channels; c++) {
      const m = mixBlock[c];
      m.fill(0);
      for (let j = 0; j < J; j++) {
        const v = views[j][c];
        for (let i = 0; i < v.length; i++) m[i] += v[i];
      }
    }
    const x = mixAnalysis.push(mixBlock.map((m) => m.subarray(0, end - pos)));
    process(
      x,
      views.map((v, j) => analysis[j].push(v)),
    );
  }
  process(
    mixAnalysis.flush(),
    analysis.map((a) => a.flush()),
  );
  const result: Record<string, Float32Array[]> = {};
  for (let j = 0; j < J; j++) {
    collect(j, synthesis[j].flush(length));
    result[names[j]] = out[j];
  }
  return result;
}
