/**
 * Separated stems keyed by media position, in chunks of `CHUNK_FRAMES`, stored as 16-bit samples
 * with a scale per chunk and stem channel: seeking back, replaying a passage or a loop costs no new
 * separation, at half the memory of float32. Memory: stems × channels × 2 bytes × 44100 per second
 * — 6 stems stereo: 1.06 MB per second of media, 63.5 MB per minute (`bytesPerMinute`). The owner
 * prunes it to a window around the playhead.
 */

/**
 * 0.2 s at 44.1 kHz. A multiple of 147 and 441, so every chunk start is a whole source sample at
 * 48, 32, 24, 22.05 and 16 kHz: separation jobs start on chunk boundaries without fractional resampling.
 */
export const CHUNK_FRAMES = 8820;

export function bytesPerMinute(stems: number, channels: number, sampleRate = 44_100): number {
  return stems * channels * 2 * sampleRate * 60;
}

/** One chunk as stored: 16-bit samples per stem channel and the scale that makes each float. */
export interface StoredChunk {
  readonly samples: Int16Array[];
  readonly scales: Float32Array;
}

export class StemCache {
  private readonly chunks = new Map<number, StoredChunk>();

  /** `arrays`: stem j, channel c at [j·channels + c] (the worklet's layout). */
  constructor(readonly arrays: number) {}

  has(k: number): boolean {
    return this.chunks.has(k);
  }

  put(k: number, data: readonly Float32Array[]): void {
    if (data.length !== this.arrays || data.some((d) => d.length !== CHUNK_FRAMES)) {
      throw new Error('StemCache.put: wrong chunk shape');
    }
    const scales = new Float32Array(this.arrays);
    // Plain indexed loops over typed arrays: this runs on the offscreen thread for every chunk
    // separated and every chunk handed to the worklet, between clock samples.
    const samples = data.map((x, a) => {
      let hi = 0;
      let lo = 0;
      for (let i = 0; i < x.length; i++) {
        hi = Math.max(hi, x[i]);
        lo = Math.min(lo, x[i]);
      }
      const peak = Math.max(hi, -lo);
      const scale = peak > 0 ? peak / 32767 : 1;
      scales[a] = scale;
      const inv = 1 / scale;
      const q = new Int16Array(x.length);
      // Math.floor(y + 0.5), not Math.round: measured several times faster in V8 here.
      for (let i = 0; i < x.length; i++) q[i] = Math.floor(x[i] * inv + 0.5);
      return q;
    });
    this.chunks.set(k, { samples, scales });
  }

  get(k: number): Float32Array[] | null {
    const s = this.chunks.get(k);
    if (!s) return null;
    const out: Float32Array[] = [];
    for (let a = 0; a < s.samples.length; a++) {
      const q = s.samples[a];
      const scale = s.scales[a];
      const x = new Float32Array(q.length);
      for (let i = 0; i < q.length; i++) x[i] = q[i] * scale;
      out.push(x);
    }
    return out;
  }

  /**
   * Chunk `k` as stored, copied (for transferring to the worklet, which reads it as is): a copy
   * costs a memcpy where `get`'s floats cost a multiply and twice the bytes per sample — after a
   * seek the worklet's whole window is new, and expanding it held this thread for 0.15 s.
   */
  copy(k: number): StoredChunk | null {
    const s = this.chunks.get(k);
    return s ? { samples: s.samples.map((q) => q.slice()), scales: s.scales.slice() } : null;
  }

  /** Keeps chunks [from, to) only. */
  prune(from: number, to: number): void {
    for (const k of this.chunks.keys()) if (k < from || k >= to) this.chunks.delete(k);
  }

  clear(): void {
    this.chunks.clear();
  }

  get size(): number {
    return this.chunks.size;
  }

  get bytes(): number {
    return this.chunks.size * this.arrays * CHUNK_FRAMES * 2;
  }

  keys(): IterableIterator<number> {
    return this.chunks.keys();
  }
}

/** Chunk indices [from, to), the playhead's chunk `k0` and those after it first, then those before it. */
export function* nearestFirst(from: number, k0: number, to: number): Generator<number> {
  for (let k = Math.max(from, k0); k < to; k++) yield k;
  for (let k = Math.min(k0, to) - 1; k >= from; k--) yield k;
}
