/**
 * The fixed band matrix of the 'bands' input representation: bins [0, maxBin) are split into B
 * contiguous, non-overlapping bands, equally spaced on a mel (or log) frequency scale, and each band
 * is the mean of its bins' magnitudes. Rectangular rather than triangular filters so that every bin
 * lands in exactly one band and no low band is empty (at 10.8 Hz per bin, triangular mel filters
 * narrower than a bin would see nothing); bands narrower than one bin are widened to one bin.
 */
import type { UmxConfig } from './config';

const warps = {
  // HTK mel.
  mel: (f: number) => 2595 * Math.log10(1 + f / 700),
  melInv: (m: number) => 700 * (10 ** (m / 2595) - 1),
  // Log-frequency with a 50 Hz knee: finer than mel below ~1 kHz (bass notes), logarithmic above.
  log: (f: number) => Math.log2(1 + f / 50),
  logInv: (w: number) => 50 * (2 ** w - 1),
};

/** Band edges in bins, length B + 1, strictly increasing from 0 to maxBin. Band b is [e[b], e[b+1]). */
export function bandEdges(config: UmxConfig): Int32Array {
  const { input, maxBin, sampleRate, nFft } = config;
  if (input.kind !== 'bands') throw new Error('bandEdges: the config has a linear input');
  const nb = input.bands;
  const warp = input.scale === 'mel' ? warps.mel : warps.log;
  const inv = input.scale === 'mel' ? warps.melInv : warps.logInv;
  const binHz = sampleRate / nFft;
  const top = warp(maxBin * binHz);
  const edges = new Int32Array(nb + 1);
  for (let b = 1; b < nb; b++) {
    const bin = Math.round(inv((top * b) / nb) / binHz);
    // At least one bin per band, and room left for the bands above.
    edges[b] = Math.min(Math.max(bin, edges[b - 1] + 1), maxBin - (nb - b));
  }
  edges[nb] = maxBin;
  return edges;
}

/** Dense [maxBin × B] averaging matrix (row = bin, column = band): bands = bins · M. */
export function bandMatrix(config: UmxConfig): Float32Array {
  const edges = bandEdges(config);
  const nb = edges.length - 1;
  const m = new Float32Array(config.maxBin * nb);
  for (let b = 0; b < nb; b++) {
    const w = 1 / (edges[b + 1] - edges[b]);
    for (let k = edges[b]; k < edges[b + 1]; k++) m[k * nb + b] = w;
  }
  return m;
}
