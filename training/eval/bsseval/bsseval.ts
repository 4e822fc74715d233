/**
 * BSS Eval version 4 — the SiSEC 2018 / museval metric, reproduced exactly (same decomposition,
 * same time-invariant 512-tap distortion filters fitted on the whole track, same window framing and
 * silent-window handling), computed with block-Toeplitz solves and FFT-domain energies for speed.
 *
 * Definitions (Vincent et al. 2006; Liutkus et al. 2018): for each source j, the estimate ŝ_j is
 * decomposed as s_true + e_spat + e_interf + e_artif, where P_own = projection of ŝ_j on delayed
 * copies of reference j, P_all = projection on delayed copies of all references, and
 *   e_spat = P_own − s_true, e_interf = P_all − P_own, e_artif = ŝ_j − P_all.
 * museval fits the projection filters on the whole signals and applies them to each window's segment
 * of the references (zero outside the window), so all four terms live on (window + L − 1) samples.
 */
import { Fft, nextPowerOfTwo } from '../../../src/core/fft';
import { solveBlockToeplitz } from './blockToeplitz';
import { type CorrelationPair, laggedCrossCorrelations, type Signal } from './correlation';
import { ptr, type WasmKernels, wasmKernels } from './wasm';

export type { Signal } from './correlation';

/** One source: its channels, all of equal length. */
export type MultichannelSignal = readonly Signal[];

export interface BssEvalOptions {
  /** Window length in samples (museval.evaluate default: 44100). Infinity = whole signal. */
  window: number;
  /** Hop in samples (default 44100). */
  hop: number;
  /** Distortion filter length in samples (512). */
  filtersLength: number;
}

export const DEFAULT_BSS_EVAL_OPTIONS: BssEvalOptions = { window: 44_100, hop: 44_100, filtersLength: 512 };

export interface BssEvalScores {
  /** [source][window], NaN for windows where any reference or estimate is silent. */
  SDR: Float64Array[];
  ISR: Float64Array[];
  SIR: Float64Array[];
  SAR: Float64Array[];
  /** Start sample of each window. */
  windowStarts: number[];
  /** Length in samples of each window. */
  windowLengths: number[];
}

/** numpy's float64 machine epsilon, which museval adds to the Gram matrix diagonal. */
const FLOAT64_EPS = 2.220446049250313e-16;

export class BssEvalInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BssEvalInputError';
  }
}

/** Window framing exactly as museval's `Framing`: full windows only, or one window when it exceeds the length. */
export function frameWindows(
  length: number,
  window: number,
  hop: number,
): { start: number; length: number }[] {
  if (!(window < length)) return [{ start: 0, length }];
  const count = Math.floor((length - window + hop) / hop);
  const frames: { start: number; length: number }[] = [];
  for (let t = 0; t < count; t++) {
    const start = t * hop;
    frames.push({ start, length: Math.min(start + window, length) - start });
  }
  return frames;
}

/**
 * museval's silence test: a source is silent when the sum over its channels is zero at every sample
 * (so a stereo signal with R = −L counts as silent, exactly as in museval).
 */
export function isSilent(source: MultichannelSignal, start = 0, length = source[0]?.length ?? 0): boolean {
  for (let n = start; n < start + length; n++) {
    let sum = 0;
    for (const ch of source) sum += ch[n];
    if (sum !== 0) return false;
  }
  return true;
}

/**
 * BSS Eval v4 on references and estimates of shape [source][channel][sample] (same shapes). Throws
 * BssEvalInputError, as museval does, when a whole reference or estimate is silent or shapes differ.
 */
export function bssEvalV4(
  references: readonly MultichannelSignal[],
  estimates: readonly MultichannelSignal[],
  options: Partial<BssEvalOptions> = {},
): BssEvalScores {
  const { window, hop, filtersLength: L } = { ...DEFAULT_BSS_EVAL_OPTIONS, ...options };
  const nsrc = references.length;
  const nchan = references[0]?.length ?? 0;
  const length = references[0]?.[0]?.length ?? 0;
  validateShapes(references, estimates, nsrc, nchan, length);
  references.forEach((s, j) => {
    if (isSilent(s)) throw new BssEvalInputError(`reference source ${j} is silent over the whole signal`);
  });
  estimates.forEach((s, j) => {
    if (isSilent(s)) throw new BssEvalInputError(`estimated source ${j} is silent over the whole signal`);
  });

  const m = nsrc * nchan;
  const refChannels: Signal[] = references.flatMap((s) => [...s]);
  const estChannels: Signal[] = estimates.flatMap((s) => [...s]);
  const filters = fitDistortionFilters(refChannels, estChannels, nsrc, nchan, L);

  const frames = frameWindows(length, window, hop);
  const scores: BssEvalScores = {
    SDR: [],
    ISR: [],
    SIR: [],
    SAR: [],
    windowStarts: frames.map((f) => f.start),
    windowLengths: frames.map((f) => f.length),
  };
  for (let j = 0; j < nsrc; j++) {
    scores.SDR.push(new Float64Array(frames.length).fill(Number.NaN));
    scores.ISR.push(new Float64Array(frames.length).fill(Number.NaN));
    scores.SIR.push(new Float64Array(frames.length).fill(Number.NaN));
    scores.SAR.push(new Float64Array(frames.length).fill(Number.NaN));
  }

  const kernels = wasmKernels();
  if (kernels) {
    windowStageWasm(
      kernels,
      refChannels,
      estChannels,
      references,
      estimates,
      filters,
      nsrc,
      nchan,
      L,
      frames,
      scores,
    );
    return scores;
  }
  // Windows of equal length share one FFT size and one set of filter spectra.
  let spectra: FilterSpectra | null = null;
  for (let t = 0; t < frames.length; t++) {
    const { start, length: winLen } = frames[t];
    const anySilent =
      references.some((s) => isSilent(s, start, winLen)) || estimates.some((s) => isSilent(s, start, winLen));
    if (anySilent) continue;
    const fftSize = nextPowerOfTwo(winLen + L - 1);
    if (!spectra || spectra.fft.size !== fftSize) spectra = filterSpectra(filters, nsrc, nchan, L, fftSize);
    const { fft } = spectra;
    const bins = fft.bins;
    const refRe = refChannels.map(() => new Float64Array(bins));
    const refIm = refChannels.map(() => new Float64Array(bins));
    for (let p = 0; p < m; p++) fft.forwardReal(refChannels[p], refRe[p], refIm[p], start, winLen);
    const estRe = new Float64Array(bins);
    const estIm = new Float64Array(bins);
    const ownRe = new Float64Array(bins);
    const ownIm = new Float64Array(bins);
    const allRe = new Float64Array(bins);
    const allIm = new Float64Array(bins);
    for (let j = 0; j < nsrc; j++) {
      const energy = new Float64Array(ENERGY_COUNT);
      for (let c = 0; c < nchan; c++) {
        fft.forwardReal(estChannels[j * nchan + c], estRe, estIm, start, winLen);
        filterSum(
          spectra.own[j][c],
          refRe.slice(j * nchan, (j + 1) * nchan),
          refIm.slice(j * nchan, (j + 1) * nchan),
          ownRe,
          ownIm,
        );
        filterSum(spectra.all[j][c], refRe, refIm, allRe, allIm);
        accumulateEnergies(
          refRe[j * nchan + c],
          refIm[j * nchan + c],
          estRe,
          estIm,
          ownRe,
          ownIm,
          allRe,
          allIm,
          energy,
        );
      }
      // The common 1/N Parseval factor cancels in every ratio.
      scores.SDR[j][t] = safeDb(energy[E_TRUE], energy[E_DIST]);
      scores.ISR[j][t] = safeDb(energy[E_TRUE], energy[E_SPAT]);
      scores.SIR[j][t] = safeDb(energy[E_OWN], energy[E_INTERF]);
      scores.SAR[j][t] = safeDb(energy[E_ALL], energy[E_ARTIF]);
    }
  }
  return scores;
}

/**
 * The window stage on the SIMD kernels: filter and reference spectra live in the kernels' memory, and
 * filterEnergies computes both projections and all seven energies of one output channel in one pass.
 */
function windowStageWasm(
  kernels: WasmKernels,
  refChannels: Signal[],
  estChannels: Signal[],
  references: readonly MultichannelSignal[],
  estimates: readonly MultichannelSignal[],
  filters: DistortionFilters,
  nsrc: number,
  nchan: number,
  L: number,
  frames: { start: number; length: number }[],
  scores: BssEvalScores,
): void {
  const m = nsrc * nchan;
  let fft: Fft | null = null;
  // Spectrum layout: (re, im) pairs of nb bins; filters of output (j, c): m "all" then nchan "own".
  let nb = 0;
  let refs = new Float64Array(0);
  let est = new Float64Array(0);
  let weights = new Float64Array(0);
  let filt = new Float64Array(0);
  let energy = new Float64Array(0);
  const perOutput = m + nchan;
  const spectrumAt = (base: Float64Array, index: number) =>
    [
      base.subarray(2 * index * nb, 2 * index * nb + fft!.bins),
      base.subarray((2 * index + 1) * nb, (2 * index + 1) * nb + fft!.bins),
    ] as const;
  for (let t = 0; t < frames.length; t++) {
    const { start, length: winLen } = frames[t];
    const anySilent =
      references.some((s) => isSilent(s, start, winLen)) || estimates.some((s) => isSilent(s, start, winLen));
    if (anySilent) continue;
    const fftSize = nextPowerOfTwo(winLen + L - 1);
    if (!fft || fft.size !== fftSize) {
      fft = new Fft(fftSize);
      const bins = fft.bins;
      nb = bins + (bins & 1);
      [refs, est, weights, filt, energy] = kernels.allocate([
        2 * m * nb,
        2 * m * nb,
        nb,
        2 * m * perOutput * nb,
        m * ENERGY_COUNT,
      ]);
      weights.fill(2, 0, bins);
      weights[0] = 1;
      weights[bins - 1] = 1;
      const taps = new Float64Array(L);
      for (let j = 0; j < nsrc; j++) {
        for (let c = 0; c < nchan; c++) {
          const o = (j * nchan + c) * perOutput;
          for (let p = 0; p < m + nchan; p++) {
            const own = p >= m;
            const rows = own ? nchan : m;
            const row = own ? p - m : p;
            const coef = own ? filters.own[j] : filters.all[j];
            for (let a = 0; a < L; a++) taps[a] = coef[(a * rows + row) * nchan + c];
            fft.forwardReal(taps, ...spectrumAt(filt, o + p));
          }
        }
      }
    }
    for (let p = 0; p < m; p++) fft.forwardReal(refChannels[p], ...spectrumAt(refs, p), start, winLen);
    for (let o = 0; o < m; o++) fft.forwardReal(estChannels[o], ...spectrumAt(est, o), start, winLen);
    // Bin chunk by bin chunk, every output channel: each chunk of the reference spectra is read from
    // memory once per window instead of once per output channel.
    const sb = nb * 8;
    energy.fill(0);
    for (let k0 = 0; k0 < nb; k0 += ENERGY_CHUNK) {
      const count = Math.min(ENERGY_CHUNK, nb - k0);
      const at = k0 * 8;
      for (let j = 0; j < nsrc; j++) {
        for (let c = 0; c < nchan; c++) {
          const o = j * nchan + c;
          const f = o * perOutput;
          kernels.k.filterEnergies(
            ptr(refs) + at,
            m,
            ptr(refs) + 2 * j * nchan * sb + at,
            nchan,
            ptr(filt) + 2 * f * sb + at,
            ptr(filt) + 2 * (f + m) * sb + at,
            ptr(refs) + 2 * o * sb + at,
            ptr(est) + 2 * o * sb + at,
            ptr(weights) + at,
            nb,
            count,
            ptr(energy) + o * ENERGY_COUNT * 8,
          );
        }
      }
    }
    for (let j = 0; j < nsrc; j++) {
      const e = new Float64Array(ENERGY_COUNT);
      for (let c = 0; c < nchan; c++)
        for (let i = 0; i < ENERGY_COUNT; i++) e[i] += energy[(j * nchan + c) * ENERGY_COUNT + i];
      scores.SDR[j][t] = safeDb(e[E_TRUE], e[E_DIST]);
      scores.ISR[j][t] = safeDb(e[E_TRUE], e[E_SPAT]);
      scores.SIR[j][t] = safeDb(e[E_OWN], e[E_INTERF]);
      scores.SAR[j][t] = safeDb(e[E_ALL], e[E_ARTIF]);
    }
  }
}

/** Bins per pass of filterEnergies (even): one chunk of every spectrum stays in the cache. */
const ENERGY_CHUNK = 512;

const E_TRUE = 0;
const E_SPAT = 1;
const E_INTERF = 2;
const E_ARTIF = 3;
const E_OWN = 4;
const E_ALL = 5;
const E_DIST = 6;
const ENERGY_COUNT = 7;

/** out = Σ_p H_p·S_p (complex, per bin): a projection's spectrum from filter and reference spectra. */
function filterSum(
  filters: SpectrumSet,
  sRe: Float64Array[],
  sIm: Float64Array[],
  outRe: Float64Array,
  outIm: Float64Array,
): void {
  outRe.fill(0);
  outIm.fill(0);
  const bins = outRe.length;
  for (let p = 0; p < sRe.length; p++) {
    const hr = filters.re[p];
    const hi = filters.im[p];
    const sr = sRe[p];
    const si = sIm[p];
    for (let k = 0; k < bins; k++) {
      outRe[k] += hr[k] * sr[k] - hi[k] * si[k];
      outIm[k] += hr[k] * si[k] + hi[k] * sr[k];
    }
  }
}

/**
 * Adds the energies of s_true, e_spat, e_interf, e_artif, P_own, P_all and (ŝ − s_true) for one channel,
 * by Parseval on the half spectrum (interior bins count twice; the 1/N factor is left out).
 */
function accumulateEnergies(
  tRe: Float64Array,
  tIm: Float64Array,
  eRe: Float64Array,
  eIm: Float64Array,
  oRe: Float64Array,
  oIm: Float64Array,
  aRe: Float64Array,
  aIm: Float64Array,
  energy: Float64Array,
): void {
  const bins = tRe.length;
  let eTrue = 0;
  let eSpat = 0;
  let eInterf = 0;
  let eArtif = 0;
  let eOwn = 0;
  let eAll = 0;
  let eDist = 0;
  for (let k = 0; k < bins; k++) {
    const w = k === 0 || k === bins - 1 ? 1 : 2;
    const tr = tRe[k];
    const ti = tIm[k];
    const er = eRe[k];
    const ei = eIm[k];
    const or = oRe[k];
    const oi = oIm[k];
    const ar = aRe[k];
    const ai = aIm[k];
    eTrue += w * (tr * tr + ti * ti);
    eSpat += w * ((or - tr) ** 2 + (oi - ti) ** 2);
    eInterf += w * ((ar - or) ** 2 + (ai - oi) ** 2);
    eArtif += w * ((er - ar) ** 2 + (ei - ai) ** 2);
    eOwn += w * (or * or + oi * oi);
    eAll += w * (ar * ar + ai * ai);
    eDist += w * ((er - tr) ** 2 + (ei - ti) ** 2);
  }
  energy[E_TRUE] += eTrue;
  energy[E_SPAT] += eSpat;
  energy[E_INTERF] += eInterf;
  energy[E_ARTIF] += eArtif;
  energy[E_OWN] += eOwn;
  energy[E_ALL] += eAll;
  energy[E_DIST] += eDist;
}

function safeDb(num: number, den: number): number {
  if (den === 0) return Number.POSITIVE_INFINITY;
  return 10 * Math.log10(num / den);
}

function validateShapes(
  references: readonly MultichannelSignal[],
  estimates: readonly MultichannelSignal[],
  nsrc: number,
  nchan: number,
  length: number,
): void {
  if (nsrc === 0 || nchan === 0 || length === 0) throw new BssEvalInputError('references are empty');
  if (estimates.length !== nsrc) {
    throw new BssEvalInputError(`${estimates.length} estimated sources for ${nsrc} references`);
  }
  for (const group of [references, estimates]) {
    for (const s of group) {
      if (s.length !== nchan)
        throw new BssEvalInputError('all sources must have the same number of channels');
      for (const ch of s) {
        if (ch.length !== length) throw new BssEvalInputError('all sources must have the same length');
      }
    }
  }
}

/** Distortion filters, lag-major: all[j] is L blocks of (m × nchan), own[j] is L blocks of (nchan × nchan). */
interface DistortionFilters {
  all: Float64Array[];
  own: Float64Array[];
}

function fitDistortionFilters(
  refChannels: Signal[],
  estChannels: Signal[],
  nsrc: number,
  nchan: number,
  L: number,
): DistortionFilters {
  const m = nsrc * nchan;
  const maxLag = L - 1;
  const pairs: CorrelationPair[] = [];
  // Reference–reference pairs (p ≤ q) for the Gram matrix, then reference–estimate pairs for the RHS.
  const refPairIndex = new Map<number, number>();
  for (let p = 0; p < m; p++) {
    for (let q = p; q < m; q++) {
      refPairIndex.set(p * m + q, pairs.length);
      pairs.push({ x: p, y: q });
    }
  }
  const ys = [...refChannels, ...estChannels];
  const estPairStart = pairs.length;
  for (let p = 0; p < m; p++) {
    for (let e = 0; e < estChannels.length; e++) pairs.push({ x: p, y: m + e });
  }
  const corr = laggedCrossCorrelations(refChannels, ys, pairs, maxLag);

  // R(k)[p][q] = Σ_n s_p[n]·s_q[n+k]; for p > q use ρ_qp(−k).
  const rho = (p: number, q: number, k: number): number =>
    p <= q ? corr[refPairIndex.get(p * m + q)!][k + maxLag] : corr[refPairIndex.get(q * m + p)!][-k + maxLag];
  const blocksFor = (rows: number[]): Float64Array[] => {
    const size = rows.length;
    const blocks: Float64Array[] = [];
    for (let k = 0; k < L; k++) {
      const block = new Float64Array(size * size);
      for (let a = 0; a < size; a++) {
        for (let b = 0; b < size; b++) block[a * size + b] = rho(rows[a], rows[b], k);
      }
      if (k === 0) for (let a = 0; a < size; a++) block[a * size + a] += FLOAT64_EPS;
      blocks.push(block);
    }
    return blocks;
  };
  // RHS block a, row p, column e: Σ_n s_p[n−a]·ê_e[n] = corr(s_p, ê_e)(a).
  const rhsFor = (rows: number[], estCols: number[]): Float64Array => {
    const r = estCols.length;
    const out = new Float64Array(L * rows.length * r);
    for (let a = 0; a < L; a++) {
      for (let i = 0; i < rows.length; i++) {
        for (let c = 0; c < r; c++) {
          const pair = estPairStart + rows[i] * estChannels.length + estCols[c];
          out[(a * rows.length + i) * r + c] = corr[pair][a + maxLag];
        }
      }
    }
    return out;
  };

  // Solves the normal equations on the linearly independent channels of `rows` and scatters the
  // filters back to L blocks of (rows.length × estCols.length), zero for dropped channels.
  const solveOn = (rows: number[], estCols: number[]): Float64Array => {
    const basis = independentChannels(rows, rho);
    const r = estCols.length;
    const solved = solveBlockToeplitz(blocksFor(basis), basis.length, rhsFor(basis, estCols), r);
    if (basis.length === rows.length) return solved;
    const out = new Float64Array(L * rows.length * r);
    for (let a = 0; a < L; a++) {
      basis.forEach((row, i) => {
        const to = (a * rows.length + rows.indexOf(row)) * r;
        out.set(solved.subarray((a * basis.length + i) * r, (a * basis.length + i + 1) * r), to);
      });
    }
    return out;
  };

  const allRows = Array.from({ length: m }, (_, p) => p);
  const allEst = Array.from({ length: estChannels.length }, (_, e) => e);
  const solvedAll = solveOn(allRows, allEst);
  const all: Float64Array[] = [];
  const own: Float64Array[] = [];
  for (let j = 0; j < nsrc; j++) {
    const cols = Array.from({ length: nchan }, (_, c) => j * nchan + c);
    // Split the joint solution into estimate j's columns: L blocks of m × nchan.
    const mine = new Float64Array(L * m * nchan);
    for (let a = 0; a < L; a++) {
      for (let p = 0; p < m; p++) {
        for (let c = 0; c < nchan; c++)
          mine[(a * m + p) * nchan + c] = solvedAll[(a * m + p) * allEst.length + cols[c]];
      }
    }
    all.push(mine);
    own.push(solveOn(cols, cols));
  }
  return { all, own };
}

/** Relative residual energy below which a channel counts as a linear combination of earlier ones. */
const DEPENDENT_CHANNEL_TOLERANCE = 1e-11;

/**
 * The channels of `rows` that are not (to DEPENDENT_CHANNEL_TOLERANCE) linear combinations of the
 * ones before them, by Gram–Schmidt on the lag-0 Gram matrix. A source whose two channels are equal
 * (8 of the 50 MUSDB18 test tracks have a mono bass or vocal stem) makes the Gram matrix singular;
 * dropping the copy leaves the span of the delayed references, hence every projection, unchanged.
 * (museval solves the singular system as is and gets round-off-sized pivots instead.)
 */
function independentChannels(rows: number[], rho: (p: number, q: number, k: number) => number): number[] {
  const kept: number[] = [];
  // Cholesky factor of the kept channels' Gram matrix, row by row.
  const chol: number[][] = [];
  for (const row of rows) {
    const energy = rho(row, row, 0);
    const coef: number[] = [];
    let residual = energy;
    for (let i = 0; i < kept.length; i++) {
      let v = rho(kept[i], row, 0);
      for (let l = 0; l < i; l++) v -= chol[i][l] * coef[l];
      v /= chol[i][i];
      coef.push(v);
      residual -= v * v;
    }
    if (energy > 0 && residual > DEPENDENT_CHANNEL_TOLERANCE * energy) {
      coef.push(Math.sqrt(residual));
      chol.push(coef);
      kept.push(row);
    }
  }
  return kept;
}

interface SpectrumSet {
  re: Float64Array[];
  im: Float64Array[];
}

interface FilterSpectra {
  fft: Fft;
  /** all[j][c]: spectra of the filters from every reference channel p into output channel c. */
  all: SpectrumSet[][];
  /** own[j][c]: spectra of the filters from reference j's channels into output channel c. */
  own: SpectrumSet[][];
}

function filterSpectra(
  filters: DistortionFilters,
  nsrc: number,
  nchan: number,
  L: number,
  fftSize: number,
): FilterSpectra {
  const fft = new Fft(fftSize);
  const m = nsrc * nchan;
  const taps = new Float64Array(L);
  const spectrumOf = (coef: Float64Array, rows: number, row: number, c: number) => {
    for (let a = 0; a < L; a++) taps[a] = coef[(a * rows + row) * nchan + c];
    const re = new Float64Array(fft.bins);
    const im = new Float64Array(fft.bins);
    fft.forwardReal(taps, re, im);
    return { re, im };
  };
  const all: SpectrumSet[][] = [];
  const own: SpectrumSet[][] = [];
  for (let j = 0; j < nsrc; j++) {
    all.push([]);
    own.push([]);
    for (let c = 0; c < nchan; c++) {
      const a: SpectrumSet = { re: [], im: [] };
      for (let p = 0; p < m; p++) {
        const s = spectrumOf(filters.all[j], m, p, c);
        a.re.push(s.re);
        a.im.push(s.im);
      }
      all[j].push(a);
      const o: SpectrumSet = { re: [], im: [] };
      for (let cj = 0; cj < nchan; cj++) {
        const s = spectrumOf(filters.own[j], nchan, cj, c);
        o.re.push(s.re);
        o.im.push(s.im);
      }
      own[j].push(o);
    }
  }
  return { fft, all, own };
}
