/**
 * The page's element clock as the offscreen document sees it: clock samples (media time read at a
 * wall-clock instant in the page) turned into "which media time does the element present at wall
 * time T". Samples carry their own read time, so message delays do not matter; `currentTime` reads
 * jitter by a few milliseconds, so while the element plays steadily the estimate is the median of
 * the recent samples' offsets along a line of slope `rate`. A pause, seek, stall, rate change or a
 * sample far off that line starts a new line. After a seek Chrome reports the target time standing
 * still for tens of milliseconds while playing: the first sample that moves on from a standstill
 * starts a new line too, so the standstill neither counts toward confirming the line nor skews it.
 *
 * Confirming a line takes samples after the element moves on, and the stems are heard an output
 * latency after that: a seek into separated audio would play the page's own audio for about 0.15 s
 * past the element's own resume. But after a seek the element stands at the target for a while
 * that hardly varies on one machine (its audio output starting), so the clock predicts the resume:
 * the first steady sample after seeking anchors it, and the element presents the anchor's time
 * `resumeMs` later (learned from the element's own resumes, a guess until then). Not after a pause
 * or a stall: Chrome then resumes from a time of its own, up to 0.1 s past the one it stood at
 * (traced), and the ordinary rules find it.
 * The prediction plays until the line it predicts is confirmed or a reading contradicts it (the
 * element stood longer, or moved sooner); then the ordinary rules apply.
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
/**
 * How long (ms) the element stands at its position after a seek or play before it moves on, until
 * its own resumes have been seen: headless Chromium here stood 64–73 ms after the first steady
 * reading (seeks into buffered and unbuffered audio, a play after a pause).
 */
const RESUME_GUESS_MS = 70;
/** Resumes remembered for the estimate (their median). */
const RESUME_RUN = 5;
/** Learned resume delays beyond this (ms) are not the output starting (a stall, a slow page): not learned. */
const RESUME_MAX_MS = 400;
/**
 * A reading this far (s) from the predicted resume drops the prediction: beyond the 17–20 ms that
 * Chrome's readings run ahead while the element stands (traced), and within the ±40 ms the stems
 * may be off the picture.
 */
const PREDICT_S = 0.025;
/** Samples in a row off the line the same way that make a step (`followStep`). */
const STEP_RUN = 3;
/** How far off the line (s) those samples must be: beyond the ±15 ms sawtooth of `currentTime` at 1.5×. */
const STEP_S = 0.02;
/** The same reading this long apart (ms) is a standstill, not two reads within one audio callback. */
const STAND_MS = 10;
/** A line's samples all at one time, then a sample this much (s) short of the wall time since: a standstill ended. */
const STANDSTILL_S = 0.01;

export interface ElementPosition {
  /** Media time in seconds the element presents at the asked wall time. */
  readonly time: number;
  readonly rate: number;
  /** Advancing: playing, not seeking or stalled. */
  readonly playing: boolean;
  /**
   * Wall ms from which a predicted resume plays (before it the element still stands): the asked
   * time may be later than the moment the answer is used for. Null on a line of samples.
   */
  readonly from: number | null;
}

/** Where and when the element resumes: it presents `time` `resumeMs` after wall time `at`. */
interface Anchor {
  readonly at: number;
  readonly time: number;
  readonly rate: number;
  /** No reading has contradicted the prediction. */
  trusted: boolean;
}

export class ElementClock {
  /** The last `WINDOW` samples of the current line. */
  private line: ClockSample[] = [];
  /** Wall ms of the current line's first sample (the window may have dropped it since). */
  private lineStart = 0;
  /** The resume being predicted (see the top of this file), until its line is confirmed. */
  private anchor: Anchor | null = null;
  /** The element's resume delays seen (ms), the last `RESUME_RUN`. */
  private readonly resumes: number[] = [];

  /** `predictResumes`: false leaves out the prediction (tests of the rules without it). */
  constructor(private readonly predictResumes = true) {}

  /** How long the element stands before it moves on (ms): the median of its resumes, or the guess. */
  get resumeMs(): number {
    return this.resumes.length > 0 ? median(this.resumes) : RESUME_GUESS_MS;
  }

  /** A new sample from the page (`at`: wall ms). */
  add(s: ClockSample): void {
    const last = this.line[this.line.length - 1];
    this.addToLine(s, last);
    if (!steady(s)) this.anchor = null;
    else if (last?.seeking) this.anchor = { at: s.at, time: s.time, rate: s.rate, trusted: true };
    else if (this.anchor) this.checkAnchor(this.anchor, s);
  }

  /**
   * A steady reading while a resume is predicted: one off the prediction stops the prediction; the
   * line confirmed teaches how long the element stood, and ends it.
   */
  private checkAnchor(a: Anchor, s: ClockSample): void {
    if (s.rate !== a.rate || Math.abs(s.time - this.expected(a, s.at)) > PREDICT_S * Math.max(1, a.rate))
      a.trusted = false;
    if (!this.confirmed()) return;
    // Where the confirmed line passes the anchor's time: the element's own resume.
    const delay = (a.time - this.predict(0)) * (1000 / a.rate) - a.at;
    if (delay >= 0 && delay <= RESUME_MAX_MS) {
      this.resumes.push(delay);
      if (this.resumes.length > RESUME_RUN) this.resumes.shift();
    }
    this.anchor = null;
  }

  /** The media time the predicted resume puts at wall time `at` (the anchor's time until it starts). */
  private expected(a: Anchor, at: number): number {
    return a.time + (a.rate * Math.max(0, at - a.at - this.resumeMs)) / 1000;
  }

  private addToLine(s: ClockSample, last: ClockSample | undefined): void {
    if (
      !last ||
      s.at <= last.at ||
      s.rate !== last.rate ||
      steady(s) !== steady(last) ||
      (steady(s) && Math.abs(this.predict(s.at) - s.time) > JUMP_S * Math.max(1, s.rate)) ||
      (!steady(s) && s.time !== last.time) ||
      (steady(s) &&
        s.time !== last.time &&
        (this.standing() || this.stoodStill()) &&
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
    const run = this.line.slice(n - STEP_RUN);
    // A step plays on: readings that stand still are not one (after a play Chrome's readings jump
    // ahead, then stand: traced, a line through them was 40 ms ahead of the element).
    if (run.some((x, i) => i > 0 && x.time <= run[i - 1].time)) return;
    const moved = run.map((x) => lineOffset(x, rate) - before);
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
    const a = this.anchor;
    if (this.predictResumes && a?.trusted && !this.confirmed()) {
      const from = a.at + this.resumeMs;
      return { time: this.expected(a, at), rate: a.rate, playing: at >= from, from };
    }
    const time = steady(last) ? this.predict(at) : last.time;
    return { time, rate: last.rate, playing: this.confirmed(), from: null };
  }

  /** The element plays along a line of its own samples: steady, moving, long or agreeing enough. */
  private confirmed(): boolean {
    const last = this.line[this.line.length - 1];
    return (
      last !== undefined &&
      steady(last) &&
      !this.standing() &&
      (last.at - this.lineStart >= CONFIRM_MS || this.agrees())
    );
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

  /**
   * The last reading's time was read `STAND_MS` or longer before too: the element stood there (after
   * a play Chrome's readings jump ahead, then stand: traced), though the line's earlier samples differ.
   */
  private stoodStill(): boolean {
    const last = this.line[this.line.length - 1];
    for (let i = this.line.length - 2; i >= 0 && this.line[i].time === last.time; i--)
      if (last.at - this.line[i].at >= STAND_MS) return true;
    return false;
  }

  /** Two or more samples, all at the same media time: the element stands still, whatever it says. */
  private standing(): boolean {
    const t = this.line[0]?.time;
    return this.line.length > 1 && this.line.every((x) => x.time === t);
  }

  clear(): void {
    this.line = [];
    this.anchor = null;
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

/** Playing: not paused, seeking or stalled (standing still after a seek or play counts as steady). */
function steady(x: ClockSample): boolean {
  return !x.paused && !x.seeking && !x.waiting;
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
    const offset = this.offset();
    return offset === null ? null : offset + t * 1000;
  }

  /** The context time (s) heard at wall ms `wall`, or null before any reading. */
  contextAt(wall: number): number | null {
    const offset = this.offset();
    return offset === null ? null : (wall - offset) / 1000;
  }

  private offset(): number | null {
    if (this.offsets.length === 0) return null;
    const sorted = [...this.offsets].sort((a, b) => a - b);
    return sorted[sorted.length >> 1];
  }
}
