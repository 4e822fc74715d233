/**
 * The in-sync remix as it runs on the audio thread, free of Web Audio so it can be unit-tested.
 *
 * Stems separated ahead of the playhead arrive in chunks keyed by media position (frames of the
 * model's rate from media time 0). A schedule from the main thread says which media frame the
 * page's element presents at which context frame, and at what rate; the core plays
 * `Σ gain_s · stem_s` at that position and follows the schedule:
 *  - small errors (clock jitter, drift) are slewed out by playing up to `SLEW` faster or slower,
 *    reading between frames (linear interpolation: the ratio stays within 0.3 %);
 *  - larger ones (a seek, a jump) cross-fade from the old position to the new one;
 *  - wherever stems for the position are missing, the schedule says "not playing" (paused, seeking,
 *    stalled) or stems are not allowed (a rate other than 1, a fault), the output is the capture
 *    input — the page's own audio at that moment — cross-faded, never silence and never a repeat.
 * Gains move with a one-pole smoother (about 15 ms) so slider drags do not click.
 */

export interface SyncCoreOptions {
  readonly channels: number;
  readonly stems: number;
  readonly sampleRate: number;
  /** Media frames per stem chunk. */
  readonly chunkFrames: number;
  /** Record output, the capture input and the media position (test builds). */
  readonly record?: boolean;
}

/** The element's position as the main thread maps it onto the context's frames. */
export interface Schedule {
  /** At context frame `ctxFrame` the element presents media frame `mediaFrame` (fractional). */
  readonly ctxFrame: number;
  readonly mediaFrame: number;
  /** Media frames per context frame (the playback rate; both run at the model's rate). */
  readonly rate: number;
  /** The element is playing (not paused, seeking or stalled). */
  readonly playing: boolean;
  /** Stems may play (false: the page's own audio only, e.g. a rate the core does not stretch). */
  readonly stems: boolean;
}

export interface SyncEvents {
  tap?: {
    output: Float32Array[];
    original: Float32Array[];
    /** 1 where the output was stems alone (no cross-fade, no capture). */
    remixed: Uint8Array;
    /** Media frame of each output frame's stems, −1 where the capture played. */
    positions: Float64Array;
  };
}

/** Cross-fade between sources or positions (23 ms at 44.1 kHz). */
export const FADE_FRAMES = 1024;
/** Errors beyond this many seconds jump (cross-faded) instead of slewing. */
export const JUMP_SECONDS = 0.015;
/** Largest speed change used to slew out an error (0.3 %: about 5 cents). */
export const SLEW = 0.003;
/** Slew gain: the share of the error corrected per frame, before the SLEW limit. */
const SLEW_GAIN = 1 / 4096;

interface Voice {
  /** `stems` at media position `pos`, or the capture input. */
  kind: 'stems' | 'capture';
  pos: number;
}

export class SyncCore {
  private readonly chunks = new Map<number, Float32Array[]>();
  private readonly gains: Float32Array;
  private readonly targetGains: Float32Array;
  private readonly smoothing: number;
  private readonly jumpFrames: number;
  private schedule: Schedule | null = null;
  private current: Voice = { kind: 'capture', pos: 0 };
  private fading: Voice | null = null;
  /** Frames left of the cross-fade from `fading` to `current`. */
  private fadeLeft = 0;
  /** Frames played from the capture while the element played and stems were allowed but missing. */
  missingFrames = 0;

  constructor(private readonly o: SyncCoreOptions) {
    this.gains = new Float32Array(o.stems).fill(1);
    this.targetGains = new Float32Array(o.stems).fill(1);
    this.smoothing = 1 - Math.exp(-1 / (0.015 * o.sampleRate));
    this.jumpFrames = JUMP_SECONDS * o.sampleRate;
  }

  setGains(gains: ArrayLike<number>): void {
    for (let j = 0; j < this.o.stems; j++) this.targetGains[j] = gains[j];
  }

  setSchedule(schedule: Schedule): void {
    this.schedule = schedule;
  }

  /** Stems for media frames [index·chunkFrames, (index+1)·chunkFrames): stem j, channel c at [j·channels + c]. */
  putChunk(index: number, data: Float32Array[]): void {
    if (data.length !== this.o.stems * this.o.channels) throw new Error('putChunk: wrong channel count');
    if (data.some((d) => d.length !== this.o.chunkFrames)) throw new Error('putChunk: wrong chunk length');
    this.chunks.set(index, data);
  }

  /** Keeps the chunks in [from, to) only (the main thread's window around the playhead). */
  keepChunks(from: number, to: number): void {
    for (const k of this.chunks.keys()) if (k < from || k >= to) this.chunks.delete(k);
  }

  get chunkCount(): number {
    return this.chunks.size;
  }

  /** The media position the stems play at now, or null while the capture plays. */
  get position(): number | null {
    return this.current.kind === 'stems' ? this.current.pos : null;
  }

  /** Are stems present for media frames [from, to]? */
  private covered(from: number, to: number): boolean {
    const F = this.o.chunkFrames;
    if (from < 0) return false;
    for (let k = Math.floor(from / F); k <= Math.floor(to / F); k++) if (!this.chunks.has(k)) return false;
    return true;
  }

  /** Σ gain·stem at media position `pos` (linear interpolation), channel `c`. */
  private mix(pos: number, c: number): number {
    const F = this.o.chunkFrames;
    const C = this.o.channels;
    const i0 = Math.floor(pos);
    const f = pos - i0;
    const a = this.chunks.get(Math.floor(i0 / F));
    const b = f > 0 ? this.chunks.get(Math.floor((i0 + 1) / F)) : a;
    if (!a || !b) return 0;
    const ia = i0 % F;
    const ib = (i0 + 1) % F;
    let v = 0;
    for (let j = 0; j < this.o.stems; j++) {
      const x0 = a[j * C + c][ia];
      const x = f > 0 ? x0 + f * (b[j * C + c][ib] - x0) : x0;
      v += this.gains[j] * x;
    }
    return v;
  }

  private switchTo(next: Voice): void {
    this.fading = this.current;
    this.current = next;
    this.fadeLeft = FADE_FRAMES;
  }

  /**
   * One render quantum starting at context frame `ctxFrame`: `input` is the capture (planar; a
   * missing channel repeats the first, none is silence), `output` planar with `channels` channels.
   */
  process(ctxFrame: number, input: readonly Float32Array[], output: Float32Array[]): SyncEvents {
    const n = output[0].length;
    const C = this.o.channels;
    const s = this.schedule;
    const target = (k: number) => (s ? s.mediaFrame + (k - s.ctxFrame) * s.rate : 0);

    // Decide the source for this quantum (checked ahead by a fade, so a fade-out has stems to read).
    const allowed = s?.playing === true && s.stems;
    const t0 = target(ctxFrame);
    if (this.current.kind === 'stems') {
      const err = t0 - this.current.pos;
      const ok = allowed && this.covered(this.current.pos, this.current.pos + n + FADE_FRAMES);
      if (!ok || Math.abs(err) > this.jumpFrames) {
        const there = allowed && this.covered(t0, t0 + n + FADE_FRAMES);
        this.switchTo(there ? { kind: 'stems', pos: t0 } : { kind: 'capture', pos: 0 });
      }
    } else if (allowed && this.covered(t0, t0 + n + FADE_FRAMES)) {
      this.switchTo({ kind: 'stems', pos: t0 });
    }
    if (allowed && this.current.kind === 'capture') this.missingFrames += n;

    const record = this.o.record === true;
    const tapOut = record ? Array.from({ length: C }, () => new Float32Array(n)) : null;
    const tapOrig = record ? Array.from({ length: C }, () => new Float32Array(n)) : null;
    const tapFlags = record ? new Uint8Array(n) : null;
    const tapPos = record ? new Float64Array(n) : null;
    const captured = (c: number, i: number) =>
      input.length === 0 ? 0 : input[Math.min(c, input.length - 1)][i];

    for (let i = 0; i < n; i++) {
      for (let j = 0; j < this.o.stems; j++)
        this.gains[j] += this.smoothing * (this.targetGains[j] - this.gains[j]);
      const cur = this.current;
      const old = this.fadeLeft > 0 ? this.fading : null;
      const w = old ? 1 - this.fadeLeft / FADE_FRAMES : 1;
      for (let c = 0; c < C; c++) {
        const a = cur.kind === 'stems' ? this.mix(cur.pos, c) : captured(c, i);
        let v = a;
        if (old) v = w * a + (1 - w) * (old.kind === 'stems' ? this.mix(old.pos, c) : captured(c, i));
        output[c][i] = v;
        if (tapOut && tapOrig) {
          tapOut[c][i] = v;
          tapOrig[c][i] = captured(c, i);
        }
      }
      if (tapFlags && tapPos) {
        tapFlags[i] = cur.kind === 'stems' && !old ? 1 : 0;
        tapPos[i] = cur.kind === 'stems' ? cur.pos : -1;
      }
      // Advance: the schedule's rate, plus a bounded correction toward where the element is.
      const rate = s?.rate ?? 1;
      if (cur.kind === 'stems') {
        const err = target(ctxFrame + i) - cur.pos;
        cur.pos += rate + Math.max(-SLEW, Math.min(SLEW, err * SLEW_GAIN));
      }
      if (old?.kind === 'stems') old.pos += rate;
      if (this.fadeLeft > 0 && --this.fadeLeft === 0) this.fading = null;
    }
    return tapOut && tapOrig && tapFlags && tapPos
      ? { tap: { output: tapOut, original: tapOrig, remixed: tapFlags, positions: tapPos } }
      : {};
  }
}
