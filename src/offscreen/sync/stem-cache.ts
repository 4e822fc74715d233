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

interface Stored {
  readonly samples: Int16Array[];
  readonly scales: Float32Array;
}

export class StemCache {
  private readonly chunks = new Map<number, Stored>();

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
    const samples = data.map((x, a) => {
      let peak = 0;
      for (const v of x) peak = Math.max(peak, Math.abs(v));
      const scale = peak > 0 ? peak / 32767 : 1;
      scales[a] = scale;
      const q = new Int16Array(x.length);
      for (let i = 0; i < x.length; i++) q[i] = Math.round(x[i] / scale);
      return q;
    });
    this.chunks.set(k, { samples, scales });
  }

  get(k: number): Float32Array[] | null {
    const s = this.chunks.get(k);
    if (!s) return null;
    return s.samples.map((q, a) => {
      const out = new Float32Array(q.length);
      const scale = s.scales[a];
      for (let i = 0; i < q.length; i++) out[i] = q[i] * scale;
      return out;
    });
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
