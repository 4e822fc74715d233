/**
 * The page's element clock as the offscreen document sees it: clock samples (media time read at a
 * wall-clock instant in the page) turned into "which media time does the element present at wall
 * time T". Samples carry their own read time, so message delays do not matter; `currentTime` reads
 * jitter by a few milliseconds, so while the element plays steadily the estimate is the median of
 * the recent samples' offsets along a line of slope `rate`. A pause, seek, stall, rate change or a
 * sample far off that line starts a new line. After a seek Chrome reports the target time standing
 * still for tens of milliseconds while playing: the first sample that moves on from a standstill
 * starts a new line too, so the standstill neither counts toward confirming the line nor skews it.
 */
import type { ClockSample } from '../../content/tap-protocol';

/** Samples kept for the median (the last 2 s at rate 1, 1 s at other rates: see the page tap). */
const WINDOW = 8;
/** A sample this far (seconds) from the current line is a jump (seek, ad, loop), not jitter. */
const JUMP_S = 0.08;
/**
 * A new line counts as playing once its samples span this long (ms): right after `play` or
 * `seeked` the element's `currentTime` stands still for a moment before its audio starts, so a
 * line through the first sample alone would be off by that moment.
 */
const CONFIRM_MS = 100;
/** Readings that confirm a line early by agreeing (`agrees`): how many, over how long, how closely. */
const AGREE_RUN = 3;
const AGREE_MS = 40;
const AGREE_S = 0.002;
/** Samples in a row off the line the same way that make a step (`followStep`). */
const STEP_RUN = 3;
/** How far off the line (s) those samples must be: beyond the ±15 ms sawtooth of `currentTime` at 1.5×. */
const STEP_S = 0.02;
/** A line's samples all at one time, then a sample this much (s) short of the wall time since: a standstill ended. */
const STANDSTILL_S = 0.01;

export interface ElementPosition {
  /** Media time in seconds the element presents at the asked wall time. */
  readonly time: number;
  readonly rate: number;
  /** Advancing: playing, not seeking or stalled. */
  readonly playing: boolean;
}

export class ElementClock {
  /** The last `WINDOW` samples of the current line. */
  private line: ClockSample[] = [];
  /** Wall ms of the current line's first sample (the window may have dropped it since). */
  private lineStart = 0;

  /** A new sample from the page (`at`: wall ms). */
  add(s: ClockSample): void {
    const last = this.line[this.line.length - 1];
    const steady = (x: ClockSample) => !x.paused && !x.seeking && !x.waiting;
    if (
      !last ||
      s.at <= last.at ||
      s.rate !== last.rate ||
      steady(s) !== steady(last) ||
      (steady(s) && Math.abs(this.predict(s.at) - s.time) > JUMP_S * Math.max(1, s.rate)) ||
      (!steady(s) && s.time !== last.time) ||
      (steady(s) &&
        s.time !== last.time &&
        this.standing() &&
        s.time - last.time < (s.rate * (s.at - last.at)) / 1000 - STANDSTILL_S)
    ) {
      this.line = [];
      this.lineStart = s.at;
    }
    this.line.push(s);
    if (this.line.length > WINDOW) this.line.shift();
    if (steady(s)) this.followStep();
  }

  /**
   * At rates other than 1 Chrome's `currentTime` now and then steps by tens of milliseconds and
   * stays there; the median would follow only once half the window is past the step (about a
   * second). The last `STEP_RUN` samples all off the earlier ones' line by more than `STEP_S`, the
   * same way, are such a step (jitter is a sawtooth about the line): the line restarts from them.
   */
  private followStep(): void {
    const n = this.line.length;
    if (n < STEP_RUN + 2) return;
    const rate = this.line[n - 1].rate;
    const before = median(this.line.slice(0, n - STEP_RUN).map((x) => lineOffset(x, rate)));
    const moved = this.line.slice(n - STEP_RUN).map((x) => lineOffset(x, rate) - before);
    if (moved.every((d) => d > STEP_S) || moved.every((d) => d < -STEP_S)) {
      // The element plays on, its clock moved: the new line is confirmed and all of it settled
      // (otherwise a line confirmed just before would stop playing for another 100 ms).
      this.line = this.line.slice(n - STEP_RUN);
      this.lineStart = this.line[0].at - CONFIRM_MS;
    }
  }

  /** Where the element is at wall time `at` (ms), or null before any sample. */
  at(at: number): ElementPosition | null {
    const last = this.line[this.line.length - 1];
    if (!last) return null;
    const steady = !last.paused && !last.seeking && !last.waiting;
    const playing = steady && !this.standing() && (last.at - this.lineStart >= CONFIRM_MS || this.agrees());
    return { time: steady ? this.predict(at) : last.time, rate: last.rate, playing };
  }

  /** Wall time (ms) of the last sample, or null. */
  get lastSampleAt(): number | null {
    return this.line[this.line.length - 1]?.at ?? null;
  }

  /**
   * The line's last `AGREE_RUN` samples, at least `AGREE_MS` apart end to end, lie within `AGREE_S`
   * of one line: trusted before `CONFIRM_MS` (right after a stall, readings that are still settling
   * disagree by tens of milliseconds; once they agree to a couple, the element plays on).
   */
  private agrees(): boolean {
    const run = this.line.slice(-AGREE_RUN);
    if (run.length < AGREE_RUN || run[run.length - 1].at - run[0].at < AGREE_MS) return false;
    const offsets = run.map((x) => lineOffset(x, x.rate));
    return Math.max(...offsets) - Math.min(...offsets) <= AGREE_S;
  }

  /** Two or more samples, all at the same media time: the element stands still, whatever it says. */
  private standing(): boolean {
    const t = this.line[0]?.time;
    return this.line.length > 1 && this.line.every((x) => x.time === t);
  }

  clear(): void {
    this.line = [];
  }

  /**
   * The line through the samples: median of (time − rate·at) over the window — once the line is
   * confirmed, over its samples from `CONFIRM_MS` on only: right after a seek Chrome's readings jump
   * ahead and stall for a moment (seen 20–40 ms off the line it then keeps), and a median over those
   * few early samples started the stems that far off.
   */
  private predict(at: number): number {
    const rate = this.line[this.line.length - 1].rate;
    const settled = this.line.filter((x) => x.at - this.lineStart >= CONFIRM_MS);
    const offsets = (settled.length > 0 ? settled : this.line).map((x) => lineOffset(x, rate));
    return median(offsets) + (rate * at) / 1000;
  }
}

/** Where a sample puts the line at wall time 0: media time − rate · wall time (s). */
function lineOffset(x: ClockSample, rate: number): number {
  return x.time - (rate * x.at) / 1000;
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** `getOutputTimestamp` readings kept for the median (at most one per `OUTPUT_GAP_MS`). */
const OUTPUT_WINDOW = 9;
/** Readings kept at most this often (ms): the window then spans at least 0.4 s. */
const OUTPUT_GAP_MS = 45;

/**
 * When a context time reaches the speakers, from `AudioContext.getOutputTimestamp` readings. One
 * reading after the document's thread was held up can be off by 50–100 ms (its context and
 * performance times from different moments: seen in the e2e trace as a jump of 95 ms and back), and
 * a schedule built on it makes the remix jump away and back. The offset between the two clocks
 * hardly moves, so the median of the recent readings is used; a real change (another output
 * device) wins once it makes up half the window.
 */
export class OutputClock {
  private readonly offsets: number[] = [];
  private lastAt = Number.NEGATIVE_INFINITY;

  /**
   * A reading: context time `contextTime` (s) is heard at wall time `wallMs`. Readings closer than
   * `OUTPUT_GAP_MS` to the last kept one are dropped: the ticks of a burst of clock samples, taken
   * while the thread was held up, had filled the window with one moment's bad readings.
   */
  add(contextTime: number, wallMs: number): void {
    if (wallMs - this.lastAt < OUTPUT_GAP_MS) return;
    this.lastAt = wallMs;
    this.offsets.push(wallMs - contextTime * 1000);
    if (this.offsets.length > OUTPUT_WINDOW) this.offsets.shift();
  }

  /** Wall ms at which context time `t` (s) is heard, or null before any reading. */
  wallAt(t: number): number | null {
    if (this.offsets.length === 0) return null;
    const sorted = [...this.offsets].sort((a, b) => a - b);
    return sorted[sorted.length >> 1] + t * 1000;
  }
}
