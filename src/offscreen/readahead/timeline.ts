/**
 * Decoded audio keyed by media time: what the page's SourceBuffer holds, as PCM.
 *
 * Blocks sit at integer frame positions of their own sample rate (media time = frame / rate), so a
 * codec or rate change mid-stream (48 kHz Opus → 44.1 kHz AAC) needs no resampling here. The rules
 * follow the SourceBuffer's: audio appended for a span replaces what was there (a re-append, a
 * quality switch), `remove(start, end)` removes, and nothing is kept outside the memory window the
 * owner prunes to.
 */

export interface TimelineBlock {
  /** First frame, in frames of `rate` from media time 0. */
  readonly start: number;
  readonly rate: number;
  /** Planar PCM, all of one length. */
  readonly channels: readonly Float32Array[];
}

const startSeconds = (b: TimelineBlock) => b.start / b.rate;
const endSeconds = (b: TimelineBlock) => (b.start + b.channels[0].length) / b.rate;
const frames = (b: TimelineBlock) => b.channels[0].length;

/** The part of `b` in frames [from, to) of its own, or null when empty. */
function slice(b: TimelineBlock, from: number, to: number): TimelineBlock | null {
  const a = Math.max(0, from);
  const z = Math.min(frames(b), to);
  if (z <= a) return null;
  return { start: b.start + a, rate: b.rate, channels: b.channels.map((c) => c.subarray(a, z)) };
}

/*
 * The blocks are decoded packets (50 a second for Opus): every lookup below is a binary search and
 * every change touches only the blocks it changes, because the offscreen document's main thread —
 * which must answer a seek within milliseconds — asks many times a second.
 */
export class AudioTimeline {
  /** Sorted by start time, never overlapping (so sorted by end time too). */
  private blocks: TimelineBlock[] = [];
  /** `ranges()` until the blocks change. */
  private rangesCache: [number, number][] | null = null;

  /**
   * Places `channels` at media time `time` (seconds, rounded to the nearest frame of `rate`);
   * whatever was there before is replaced.
   */
  insert(time: number, rate: number, channels: readonly Float32Array[]): void {
    if (channels.length === 0 || channels[0].length === 0) return;
    if (!(rate > 0) || !Number.isFinite(time))
      throw new Error(`timeline: bad block (time ${time}, rate ${rate})`);
    const block: TimelineBlock = { start: Math.round(time * rate), rate, channels };
    this.remove(startSeconds(block), endSeconds(block));
    const i = this.indexAfter(startSeconds(block));
    this.blocks.splice(i, 0, block);
    this.rangesCache = null;
  }

  /** Removes media time [from, to) (seconds), as `SourceBuffer.remove` does. */
  remove(from: number, to: number): void {
    if (!(to > from)) return;
    const i0 = this.firstEndingAfter(from);
    let i1 = i0;
    while (i1 < this.blocks.length && startSeconds(this.blocks[i1]) < to) i1++;
    if (i1 === i0) return;
    const kept: TimelineBlock[] = [];
    for (let i = i0; i < i1; i++) {
      const b = this.blocks[i];
      const before = slice(b, 0, Math.round(from * b.rate) - b.start);
      const after = slice(b, Math.round(to * b.rate) - b.start, frames(b));
      if (before) kept.push(before);
      if (after) kept.push(after);
    }
    this.blocks.splice(i0, i1 - i0, ...kept);
    this.rangesCache = null;
  }

  /** Keeps only media time [from, to): the memory bound around the playhead. */
  prune(from: number, to: number): void {
    this.remove(Number.NEGATIVE_INFINITY, from);
    this.remove(to, Number.POSITIVE_INFINITY);
  }

  clear(): void {
    this.blocks = [];
    this.rangesCache = null;
  }

  /** Covered media time as merged [start, end) ranges in seconds (gaps under half a frame are joined). */
  ranges(): [number, number][] {
    if (!this.rangesCache) {
      const out: [number, number][] = [];
      for (const b of this.blocks) {
        const last = out[out.length - 1];
        if (last && startSeconds(b) - last[1] < 0.5 / b.rate) last[1] = Math.max(last[1], endSeconds(b));
        else out.push([startSeconds(b), endSeconds(b)]);
      }
      this.rangesCache = out;
    }
    return this.rangesCache.map(([a, z]) => [a, z]);
  }

  /** The covered range containing `time`, or null. */
  rangeAt(time: number): [number, number] | null {
    if (!this.rangesCache) this.ranges();
    const r = (this.rangesCache ?? []).find(([a, z]) => time >= a && time < z);
    return r ? [r[0], r[1]] : null;
  }

  /** Bytes of PCM held. */
  get bytes(): number {
    let n = 0;
    for (const b of this.blocks) n += b.channels.length * frames(b) * 4;
    return n;
  }

  /** Sample rates of the blocks overlapping [from, to). */
  ratesIn(from: number, to: number): Set<number> {
    const rates = new Set<number>();
    for (let i = this.firstEndingAfter(from); i < this.blocks.length; i++) {
      const b = this.blocks[i];
      if (startSeconds(b) >= to) break;
      rates.add(b.rate);
    }
    return rates;
  }

  /**
   * `count` frames at `rate` from media time `time` (rounded to a frame), as `channelCount` planar
   * channels (mono is repeated), or null unless blocks of exactly that rate cover all of it.
   */
  read(time: number, count: number, rate: number, channelCount: number): Float32Array[] | null {
    const first = Math.round(time * rate);
    const out = Array.from({ length: channelCount }, () => new Float32Array(count));
    let covered = 0;
    for (let i = Math.max(0, this.indexAfter(first / rate) - 1); i < this.blocks.length; i++) {
      const b = this.blocks[i];
      if (startSeconds(b) >= (first + count) / rate) break;
      if (b.rate !== rate || b.start + frames(b) <= first) continue;
      const a = Math.max(first, b.start);
      const z = Math.min(first + count, b.start + frames(b));
      for (let c = 0; c < channelCount; c++) {
        const src = b.channels[Math.min(c, b.channels.length - 1)];
        out[c].set(src.subarray(a - b.start, z - b.start), a - first);
      }
      covered += z - a;
    }
    return covered === count ? out : null;
  }

  /** Index of the first block ending after `time` (binary search). */
  private firstEndingAfter(time: number): number {
    return this.firstWhere(endSeconds, time);
  }

  /** Index of the first block starting after `time` (binary search). */
  private indexAfter(time: number): number {
    return this.firstWhere(startSeconds, time);
  }

  /** Index of the first block whose `key` (ascending over the blocks) exceeds `time`. */
  private firstWhere(key: (b: TimelineBlock) => number, time: number): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (key(this.blocks[mid]) <= time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
