/**
 * The remix as it runs on the audio thread, free of Web Audio so it can be unit-tested: ring buffers
 * for the captured original and the separated stems, a fixed delay, and the gain-weighted sum.
 *
 * Timeline: every captured frame gets an index (0, 1, 2 …). The separator (main thread) returns
 * stems for index ranges in order; output plays index `n − delay` at render time n.
 *  - Until the stems for the delayed position exist (`buffering`), the output is the original with
 *    no delay, so switching on never starts with silence; once they exist, the output cross-fades
 *    into the delayed remix (the last `delay` of audio is heard again, once).
 *  - Afterwards, any frame whose stems are late is played from the original at the same delayed
 *    position (fail open: the page's own audio, never silence) and counted as late.
 * Gains move with a one-pole smoother (about 15 ms) so slider drags do not click.
 */

export interface RemixCoreOptions {
  readonly channels: number;
  readonly stems: number;
  /** Ring capacity in frames; a power of two larger than delay + 2 × blockFrames. */
  readonly capacity: number;
  /** Frames between capture and output once running. */
  readonly delay: number;
  /** Input frames gathered before they are handed to the separator. */
  readonly blockFrames: number;
  readonly sampleRate: number;
  /** Record output, the original at the same position and the remixed flags (test builds). */
  readonly record?: boolean;
}

/** What `process` hands back for the main thread, when anything. */
export interface RemixEvents {
  /** A full block of captured input starting at capture index `start` (planar channels). */
  input?: { start: number; channels: Float32Array[] };
  /** Recorded output, original and remixed flags for this render quantum (record mode). */
  tap?: { start: number; output: Float32Array[]; original: Float32Array[]; remixed: Uint8Array };
}

const CROSSFADE_FRAMES = 1024;

export class RemixCore {
  private readonly mask: number;
  private readonly dry: Float32Array[];
  /** stem j, channel c at [j * channels + c]. */
  private readonly stemRing: Float32Array[];
  private readonly gains: Float32Array;
  private readonly targetGains: Float32Array;
  private readonly smoothing: number;
  /** Capture frames received so far. */
  private written = 0;
  /** Stems are valid for capture indices [stemsFrom, stemsTo). */
  private stemsFrom = 0;
  private stemsTo = 0;
  private running = false;
  /** Frames left of the buffering → remix cross-fade. */
  private fadeLeft = 0;
  private pending: Float32Array[];
  private pendingFrames = 0;
  lateFrames = 0;

  constructor(private readonly o: RemixCoreOptions) {
    if ((o.capacity & (o.capacity - 1)) !== 0) throw new Error('capacity must be a power of two');
    if (o.capacity < o.delay + 2 * o.blockFrames + CROSSFADE_FRAMES) {
      throw new Error('capacity too small for the delay');
    }
    this.mask = o.capacity - 1;
    this.dry = Array.from({ length: o.channels }, () => new Float32Array(o.capacity));
    this.stemRing = Array.from({ length: o.stems * o.channels }, () => new Float32Array(o.capacity));
    this.gains = new Float32Array(o.stems).fill(1);
    this.targetGains = new Float32Array(o.stems).fill(1);
    this.smoothing = 1 - Math.exp(-1 / (0.015 * o.sampleRate));
    this.pending = Array.from({ length: o.channels }, () => new Float32Array(o.blockFrames));
  }

  get isRunning(): boolean {
    return this.running;
  }

  get writtenFrames(): number {
    return this.written;
  }

  setGains(gains: ArrayLike<number>): void {
    for (let j = 0; j < this.o.stems; j++) this.targetGains[j] = gains[j];
  }

  /** Stems for capture indices [start, start + length): must continue where the last ones ended. */
  pushStems(start: number, data: readonly Float32Array[]): void {
    if (data.length !== this.o.stems * this.o.channels) throw new Error('pushStems: wrong channel count');
    if (start !== this.stemsTo) throw new Error(`pushStems: expected index ${this.stemsTo}, got ${start}`);
    const length = data[0].length;
    for (let k = 0; k < data.length; k++) {
      const ring = this.stemRing[k];
      const src = data[k];
      for (let i = 0; i < length; i++) ring[(start + i) & this.mask] = src[i];
    }
    this.stemsTo = start + length;
    this.stemsFrom = Math.max(this.stemsFrom, this.stemsTo - this.o.capacity);
  }

  /**
   * One render quantum: `input` planar (0, 1 or more channels; missing channels repeat the first,
   * none is silence), `output` planar with `channels` channels of the same length.
   */
  process(input: readonly Float32Array[], output: Float32Array[]): RemixEvents {
    const n = output[0].length;
    const C = this.o.channels;
    const base = this.written;
    const events: RemixEvents = {};
    for (let c = 0; c < C; c++) {
      const src = input.length === 0 ? null : input[Math.min(c, input.length - 1)];
      const ring = this.dry[c];
      const pend = this.pending[c];
      for (let i = 0; i < n; i++) {
        const v = src ? src[i] : 0;
        ring[(base + i) & this.mask] = v;
        pend[this.pendingFrames + i] = v;
      }
    }
    this.written += n;
    this.pendingFrames += n;
    if (this.pendingFrames >= this.o.blockFrames) {
      events.input = { start: this.written - this.pendingFrames, channels: this.pending };
      this.pending = Array.from({ length: C }, () => new Float32Array(this.o.blockFrames));
      this.pendingFrames = 0;
    }

    const delayedStart = base - this.o.delay;
    if (!this.running && delayedStart >= 0 && this.stemsTo >= delayedStart + n + CROSSFADE_FRAMES) {
      this.running = true;
      this.fadeLeft = CROSSFADE_FRAMES;
    }
    const J = this.o.stems;
    const record = this.o.record === true;
    const tapOut = record ? Array.from({ length: C }, () => new Float32Array(n)) : null;
    const tapOrig = record ? Array.from({ length: C }, () => new Float32Array(n)) : null;
    const tapFlags = record ? new Uint8Array(n) : null;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < J; j++) this.gains[j] += this.smoothing * (this.targetGains[j] - this.gains[j]);
      if (!this.running) {
        // Buffering: the original, undelayed.
        for (let c = 0; c < C; c++) output[c][i] = this.dry[c][(base + i) & this.mask];
        continue;
      }
      const idx = delayedStart + i;
      const have = idx >= this.stemsFrom && idx < this.stemsTo;
      if (!have) this.lateFrames++;
      const fade = this.fadeLeft > 0 ? this.fadeLeft / CROSSFADE_FRAMES : 0;
      if (this.fadeLeft > 0) this.fadeLeft--;
      for (let c = 0; c < C; c++) {
        const orig = this.dry[c][idx & this.mask];
        let v = orig;
        if (have) {
          v = 0;
          for (let j = 0; j < J; j++) v += this.gains[j] * this.stemRing[j * C + c][idx & this.mask];
        }
        if (fade > 0) v = (1 - fade) * v + fade * this.dry[c][(base + i) & this.mask];
        output[c][i] = v;
        if (tapOut && tapOrig) {
          tapOut[c][i] = v;
          tapOrig[c][i] = orig;
        }
      }
      if (tapFlags) tapFlags[i] = have && fade === 0 ? 1 : 0;
    }
    if (record && this.running && tapOut && tapOrig && tapFlags) {
      events.tap = { start: delayedStart, output: tapOut, original: tapOrig, remixed: tapFlags };
    }
    return events;
  }
}
