/** Small signal helpers for judging what the extension played (the e2e suite's ears). */

/** 10·log10(Σ(a−b)² / Σb²) over the frames where `mask` is 1 (all frames without a mask). */
export function errorDb(a: readonly number[][], b: readonly number[][], mask?: readonly number[]): number {
  let err = 0;
  let ref = 0;
  for (let c = 0; c < b.length; c++) {
    for (let i = 0; i < b[c].length; i++) {
      if (mask && mask[i] !== 1) continue;
      err += (a[c][i] - b[c][i]) ** 2;
      ref += b[c][i] ** 2;
    }
  }
  return 10 * Math.log10(err / ref);
}

export function rms(x: readonly number[][]): number {
  let s = 0;
  let n = 0;
  for (const ch of x) {
    for (const v of ch) s += v * v;
    n += ch.length;
  }
  return Math.sqrt(s / Math.max(1, n));
}

/**
 * Where `snippet` (mono) starts inside the looping `track` (mono): the lag with the largest
 * normalised correlation, and that correlation (1 = identical up to gain).
 */
export function locate(snippet: Float32Array, track: Float32Array): { offset: number; correlation: number } {
  const n = snippet.length;
  const L = track.length;
  let snippetEnergy = 0;
  for (const v of snippet) snippetEnergy += v * v;
  let best = { offset: 0, correlation: -1 };
  for (let lag = 0; lag < L; lag++) {
    let dot = 0;
    let energy = 0;
    for (let i = 0; i < n; i++) {
      const t = track[(lag + i) % L];
      dot += snippet[i] * t;
      energy += t * t;
    }
    const corr = dot / Math.sqrt(snippetEnergy * energy + 1e-20);
    if (corr > best.correlation) best = { offset: lag, correlation: corr };
  }
  return best;
}

/** The longest run of consecutive 1s in `mask`: [start, end). */
export function longestRun(mask: readonly number[]): [number, number] {
  let best: [number, number] = [0, 0];
  let start = -1;
  for (let i = 0; i <= mask.length; i++) {
    if (i < mask.length && mask[i] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start > best[1] - best[0]) best = [start, i];
      start = -1;
    }
  }
  return best;
}
