/**
 * The in-sync remix as it runs on the audio thread, free of Web Audio so it can be unit-tested.
 *
 * Stems separated ahead of the playhead arrive in chunks keyed by media position (frames of the
 * model's rate from media time 0). A schedule from the main thread says which media frame the
 * page's element presents at which context frame, and at what rate; the core plays
 * `Σ gain_s · stem_s` at that position and follows the schedule:
 *  - errors under `DEAD_ZONE_S` (clock jitter) are left alone, so that at rate 1 the stems play at
 *    whole frames, untouched (reading between frames is a linear interpolation, a low-pass: it cost
 *    0.4 dB of SDR when every frame was read between two); larger small errors (drift) are slewed
 *    out by playing up to `SLEW` faster or slower, then the position lands on a whole frame again;
 *  - larger ones (a seek, a jump) cross-fade from the old position to the new one;
 *  - wherever stems for the position are missing, the schedule says "not playing" (paused, seeking,
 *    stalled) or stems are not allowed (a fault), the output is the capture input — the page's own
 *    audio at that moment — cross-faded, never silence and never a repeat;
 *  - at a playback rate other than 1 the stems are read at that rate (so their pitch moves with it)
 *    into a second output, which feeds a pitch shifter (a well-kept library, see sync-session.ts)
 *    that puts the pitch back, as the page's own player keeps pitch. The shifter delays what it is
 *    fed by `stretchFrames`, so that voice reads the position the element will present when its
 *    output is heard, and a cross-fade with the first output starts the first output's half that
 *    much later: the two halves meet at the speakers, not in this function.
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

/**
 * Stems for one chunk: stem j, channel c at [j·channels + c], each sample times its array's scale
 * (the cache's 16-bit form, handed over as stored; floats with scale 1 do as well).
 */
export interface StemChunk {
  readonly samples: readonly (Int16Array | Float32Array)[];
  readonly scales: Float32Array;
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
  /**
   * Context frame from which `playing` holds (a predicted resume after a seek: the element stands
   * until then), or null: from now.
   */
  readonly playingFrom: number | null;
  /** Stems may play (false: the page's own audio only, e.g. after a fault). */
  readonly stems: boolean;
  /**
   * Context frames by which the pitch shifter on the second output delays what it is fed, or null
   * when there is none (then stems play at rate 1 only; other rates play the capture).
   */
  readonly stretchFrames: number | null;
}

export interface SyncEvents {
  tap?: {
    output: Float32Array[];
    original: Float32Array[];
    /** 1 where the output was stems alone (no cross-fade, no capture). */
    remixed: Uint8Array;
    /** Media frame of each output frame's stems, −1 where the capture played. */
    positions: Float64Array;
    /** Context frames after the quantum's own at which `positions` are heard (the shifter's delay). */
    lead: number;
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
/** Errors under this (seconds) are not corrected; a correction goes on to a quarter of it. */
export const DEAD_ZONE_S = 0.001;

interface Voice {
  /**
   * `stems` at media position `pos` on the first output, `stretched`: stems read at the schedule's
   * rate into the second output (the pitch shifter), or the capture input.
   */
  kind: 'stems' | 'stretched' | 'capture';
  pos: number;
}

/** Playback rates this close to 1 play unshifted. */
const UNIT_RATE = 1e-4;

export class SyncCore {
  private readonly chunks = new Map<number, StemChunk>();
  private readonly gains: Float32Array;
  private readonly targetGains: Float32Array;
  private readonly smoothing: number;
  private readonly jumpFrames: number;
  private readonly deadFrames: number;
  /** The current voice is being slewed toward the schedule (its error passed the dead zone). */
  private slewing = false;
  private schedule: Schedule | null = null;
  private current: Voice = { kind: 'capture', pos: 0 };
  private fading: Voice | null = null;
  /** Frames left of the cross-fade from `fading` to `current`. */
  private fadeLeft = 0;
  /** Length of the current cross-fade: FADE_FRAMES, plus the shifter's delay where one side is shifted. */
  private fadeFrames = FADE_FRAMES;
  /** The shifter's delay the current cross-fade was planned with. */
  private fadeLead = 0;
  /** Frames played from the capture while the element played and stems were allowed but missing. */
  missingFrames = 0;

  constructor(private readonly o: SyncCoreOptions) {
    this.gains = new Float32Array(o.stems).fill(1);
    this.targetGains = new Float32Array(o.stems).fill(1);
    this.smoothing = 1 - Math.exp(-1 / (0.015 * o.sampleRate));
    this.jumpFrames = JUMP_SECONDS * o.sampleRate;
    this.deadFrames = DEAD_ZONE_S * o.sampleRate;
  }

  setGains(gains: ArrayLike<number>): void {
    for (let j = 0; j < this.o.stems; j++) this.targetGains[j] = gains[j];
  }

  setSchedule(schedule: Schedule): void {
    this.schedule = schedule;
  }

  /** Stems for media frames [index·chunkFrames, (index+1)·chunkFrames). */
  putChunk(index: number, chunk: StemChunk): void {
    const arrays = this.o.stems * this.o.channels;
    if (chunk.samples.length !== arrays || chunk.scales.length !== arrays)
      throw new Error('putChunk: wrong channel count');
    if (chunk.samples.some((d) => d.length !== this.o.chunkFrames))
      throw new Error('putChunk: wrong chunk length');
    this.chunks.set(index, chunk);
  }

  /**
   * Keeps the chunks in [from, to) only (the main thread's window around the playhead); returns the
   * sample arrays it let go, for the audio thread to hand back rather than free (see sync-worklet.ts).
   */
  keepChunks(from: number, to: number): (Int16Array | Float32Array)[] {
    const dropped: (Int16Array | Float32Array)[] = [];
    for (const [k, chunk] of this.chunks) {
      if (k >= from && k < to) continue;
      dropped.push(...chunk.samples);
      this.chunks.delete(k);
    }
    return dropped;
  }

  get chunkCount(): number {
    return this.chunks.size;
  }

  /** The media position the stems play at now, or null while the capture plays. */
  get position(): number | null {
    return this.current.kind !== 'capture' ? this.current.pos : null;
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
      const m = j * C + c;
      const x0 = a.samples[m][ia] * a.scales[m];
      const x = f > 0 ? x0 + f * (b.samples[m][ib] * b.scales[m] - x0) : x0;
      v += this.gains[j] * x;
    }
    return v;
  }

  private switchTo(next: Voice, lead: number): void {
    this.fading = this.current;
    this.current = next;
    this.slewing = false;
    const shifted = (v: Voice) => v.kind === 'stretched';
    this.fadeLead = shifted(next) !== shifted(this.fading) ? lead : 0;
    this.fadeFrames = FADE_FRAMES + this.fadeLead;
    this.fadeLeft = this.fadeFrames;
  }

  /**
   * Weights of the current and the fading voice `e` frames into a cross-fade, as fed to their
   * outputs. A shifted voice is heard `fadeLead` frames after it is fed, so the unshifted side's
   * ramp starts that much later: the two ramps cross at the speakers.
   */
  private fadeWeights(e: number): [number, number] {
    const ramp = (x: number) => Math.max(0, Math.min(1, x / FADE_FRAMES));
    const L = this.fadeLead;
    if (L === 0) return [ramp(e), 1 - ramp(e)];
    return this.current.kind === 'stretched' ? [ramp(e), 1 - ramp(e - L)] : [ramp(e - L), 1 - ramp(e)];
  }

  /**
   * One render quantum starting at context frame `ctxFrame`: `input` is the capture (planar; a
   * missing channel repeats the first, none is silence), `output` planar with `channels` channels,
   * `shifted` (when given) the second output, which feeds the pitch shifter.
   */
  process(
    ctxFrame: number,
    input: readonly Float32Array[],
    output: Float32Array[],
    shifted?: Float32Array[],
  ): SyncEvents {
    const n = output[0].length;
    const C = this.o.channels;
    const s = this.schedule;
    const target = (k: number) => (s ? s.mediaFrame + (k - s.ctxFrame) * s.rate : 0);
    const L = s?.stretchFrames ?? 0;
    /** Context frames by which a voice of this kind is heard after it is fed. */
    const leadOf = (kind: Voice['kind']) => (kind === 'stretched' ? L : 0);

    // Which voice the schedule wants, and where (checked ahead by a fade, so a fade-out has stems).
    const rated = s !== null && Math.abs(s.rate - 1) > UNIT_RATE;
    const allowed =
      s?.playing === true &&
      (s.playingFrom === null || ctxFrame >= s.playingFrom) &&
      s.stems &&
      (!rated || (s.stretchFrames !== null && shifted !== undefined));
    const want: Voice['kind'] = !allowed ? 'capture' : rated ? 'stretched' : 'stems';
    // Unshifted stems start on a whole frame (see the dead zone).
    const t0 = want === 'stems' ? Math.round(target(ctxFrame)) : target(ctxFrame + leadOf(want));
    const there = want !== 'capture' && this.covered(t0, t0 + n + FADE_FRAMES);
    if (this.current.kind !== 'capture') {
      const err = target(ctxFrame + leadOf(this.current.kind)) - this.current.pos;
      const ok =
        this.current.kind === want && this.covered(this.current.pos, this.current.pos + n + FADE_FRAMES);
      if (!ok || Math.abs(err) > this.jumpFrames)
        this.switchTo(there ? { kind: want, pos: t0 } : { kind: 'capture', pos: 0 }, L);
    } else if (there) {
      this.switchTo({ kind: want, pos: t0 }, L);
    }
    if (allowed && this.current.kind === 'capture') this.missingFrames += n;

    const record = this.o.record === true;
    const tapOut = record ? Array.from({ length: C }, () => new Float32Array(n)) : null;
    const tapOrig = record ? Array.from({ length: C }, () => new Float32Array(n)) : null;
    const tapFlags = record ? new Uint8Array(n) : null;
    const tapPos = record ? new Float64Array(n) : null;
    const captured = (c: number, i: number) =>
      input.length === 0 ? 0 : input[Math.min(c, input.length - 1)][i];
    const sound = (v: Voice, c: number, i: number) =>
      v.kind === 'capture' ? captured(c, i) : this.mix(v.pos, c);

    for (let i = 0; i < n; i++) {
      for (let j = 0; j < this.o.stems; j++)
        this.gains[j] += this.smoothing * (this.targetGains[j] - this.gains[j]);
      const cur = this.current;
      const old = this.fadeLeft > 0 ? this.fading : null;
      const [wc, wo] = old ? this.fadeWeights(this.fadeFrames - this.fadeLeft) : [1, 0];
      for (let c = 0; c < C; c++) {
        let direct = 0;
        let toShifter = 0;
        const a = sound(cur, c, i) * wc;
        if (cur.kind === 'stretched') toShifter += a;
        else direct += a;
        if (old) {
          const b = sound(old, c, i) * wo;
          if (old.kind === 'stretched') toShifter += b;
          else direct += b;
        }
        output[c][i] = direct;
        if (shifted) shifted[c][i] = toShifter;
        if (tapOut && tapOrig) {
          tapOut[c][i] = direct + toShifter;
          tapOrig[c][i] = captured(c, i);
        }
      }
      if (tapFlags && tapPos) {
        tapFlags[i] = cur.kind !== 'capture' && !old ? 1 : 0;
        tapPos[i] = cur.kind !== 'capture' ? cur.pos : -1;
      }
      // Advance: the schedule's rate, plus a bounded correction toward where the element is.
      const rate = s?.rate ?? 1;
      if (cur.kind !== 'capture') {
        const err = target(ctxFrame + i + leadOf(cur.kind)) - cur.pos;
        if (cur.kind === 'stretched') {
          cur.pos += rate + Math.max(-SLEW, Math.min(SLEW, err * SLEW_GAIN));
        } else {
          if (!this.slewing && Math.abs(err) > this.deadFrames) this.slewing = true;
          else if (this.slewing && Math.abs(err) < this.deadFrames / 4) {
            this.slewing = false;
            cur.pos = Math.round(cur.pos);
          }
          cur.pos += rate + (this.slewing ? Math.max(-SLEW, Math.min(SLEW, err * SLEW_GAIN)) : 0);
        }
      }
      // A fading unshifted voice keeps rate 1 (read faster it would chirp up until it is gone).
      if (old && old.kind !== 'capture') old.pos += old.kind === 'stems' ? 1 : rate;
      if (this.fadeLeft > 0 && --this.fadeLeft === 0) this.fading = null;
    }
    return tapOut && tapOrig && tapFlags && tapPos
      ? {
          tap: {
            output: tapOut,
            original: tapOrig,
            remixed: tapFlags,
            positions: tapPos,
            lead: leadOf(this.current.kind),
          },
        }
      : {};
  }
}
