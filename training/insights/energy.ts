/**
 * Stem energy measures of one separated clip: each stem's share of the summed stem energy and its RMS
 * level in dBFS. Energies accumulate block by block (in float64), so a long clip separated in segments
 * never needs all its stems in memory at once.
 */

/** RMS levels below this (and digital silence) are reported as this value, never as −Infinity. */
export const RMS_FLOOR_DB = -120;

export class EnergyAccumulator {
  private readonly energy: Map<string, number>;
  private mixEnergy = 0;
  /** Samples per channel seen so far. */
  length = 0;

  constructor(
    readonly stems: readonly string[],
    readonly channels = 2,
  ) {
    this.energy = new Map(stems.map((s) => [s, 0]));
  }

  /** Adds one block of mixture samples (planar) and the stems separated from it (same length). */
  add(mixture: readonly Float32Array[], stems: Record<string, Float32Array[]>): void {
    const length = mixture[0]?.length ?? 0;
    for (const stem of this.stems) {
      const chans = stems[stem];
      if (!chans) throw new Error(`separation returned no "${stem}" stem`);
      if (chans.some((ch) => ch.length !== length)) {
        throw new Error(`"${stem}" stem block holds ${chans[0]?.length} samples, the mixture ${length}`);
      }
      this.energy.set(stem, (this.energy.get(stem) ?? 0) + sumSquares(chans));
    }
    this.mixEnergy += sumSquares(mixture);
    this.length += length;
  }

  /** Shares (summing to 1), RMS levels and the mixture's level; an error for a silent clip. */
  result(file: string): ClipEnergy {
    const total = this.stems.reduce((n, s) => n + (this.energy.get(s) ?? 0), 0);
    if (this.length === 0) throw new Error(`${file}: no audio samples`);
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new Error(`${file}: the stems hold no energy (silent clip), so there are no shares to report`);
    }
    const samples = this.length * this.channels;
    const shares: Record<string, number> = {};
    const rmsDb: Record<string, number> = {};
    for (const stem of this.stems) {
      const e = this.energy.get(stem) ?? 0;
      shares[stem] = e / total;
      rmsDb[stem] = toDb(e / samples);
    }
    return { shares, rmsDb, mixtureRmsDb: toDb(this.mixEnergy / samples), length: this.length };
  }
}

export interface ClipEnergy {
  /** Energy of each stem over the summed energy of all stems (Σ = 1). */
  shares: Record<string, number>;
  /** RMS level of each stem over both channels, dBFS (floored at RMS_FLOOR_DB). */
  rmsDb: Record<string, number>;
  mixtureRmsDb: number;
  /** Samples per channel. */
  length: number;
}

function sumSquares(channels: readonly Float32Array[]): number {
  let sum = 0;
  for (const ch of channels) for (let i = 0; i < ch.length; i++) sum += ch[i] * ch[i];
  return sum;
}

/** Mean square → dBFS (a full-scale sine is −3 dBFS in this convention), floored. */
function toDb(meanSquare: number): number {
  const db = 10 * Math.log10(meanSquare);
  return Number.isFinite(db) && db > RMS_FLOOR_DB ? db : RMS_FLOOR_DB;
}
