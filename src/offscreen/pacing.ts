/**
 * Keeping up with real time: when the machine is too slow, the remix first gives up quality (the
 * Wiener/EM step, a large share of the JavaScript work) and only then gives the audio back to the
 * page. Pure, so the thresholds are unit-tested.
 *
 * Late audio is already fail-open (those frames play the original), so one stall — a busy moment
 * of a 2-core machine, a long garbage collection — is no reason to stop: the remix gives up only
 * when separation is behind *and* cannot catch up (recent load near real time), or when it is so
 * far behind that catching up would take too long to matter.
 */

export interface PacingInput {
  /** Separation seconds per audio second over the last `RECENT_S` of audio (null before any). */
  readonly load: number | null;
  /** Output seconds within the last `RECENT_S` that the original had to fill (stems were late). */
  readonly lateSeconds: number;
  /** Captured seconds waiting for separation. */
  readonly backlogSeconds: number;
  readonly degraded: boolean;
  /**
   * The first seconds of a session: the first segments pay for WASM compilation and allocation, so a
   * slow start is no sign of a slow machine — then only audio that was really late counts.
   */
  readonly warmingUp?: boolean;
}

export type PacingDecision = 'keep' | 'degrade' | 'give-up';

/** The window over which load and late audio are judged (`RecentDelta`). */
export const RECENT_S = 20;
/** Above this load there is too little headroom for a busy machine: degrade early. */
export const DEGRADE_LOAD = 0.6;
export const DEGRADE_BACKLOG_S = 1.5;
export const GIVE_UP_BACKLOG_S = 3;
export const GIVE_UP_LATE_S = 1.5;
/**
 * At or above this load a backlog no longer drains (a segment's overhead and the page's own work
 * take the rest): behind and this slow is a machine that cannot keep up, not a stall.
 */
export const CANNOT_CATCH_UP_LOAD = 0.9;
/** This far behind, whatever the load, the remix would lag for longer than it is worth waiting. */
export const HOPELESS_BACKLOG_S = 12;
/** Half of the recent audio played from the original: the remix is not really playing. */
export const HOPELESS_LATE_S = RECENT_S / 2;
/**
 * While warming up, a backlog this long is no slow start but a machine that cannot keep up: while
 * the first segments are still being separated the page's own audio plays, nothing is late, and
 * without this the session could sit in "buffering" for the whole warm-up (seen once in e2e under
 * load: 20 s at load 1.7).
 */
export const WARM_UP_BACKLOG_S = 6;

export function pace(p: PacingInput): PacingDecision {
  if (!p.degraded) {
    const slow =
      (!p.warmingUp &&
        ((p.load !== null && p.load > DEGRADE_LOAD) || p.backlogSeconds > DEGRADE_BACKLOG_S)) ||
      p.backlogSeconds > WARM_UP_BACKLOG_S;
    return slow || p.lateSeconds > 0 ? 'degrade' : 'keep';
  }
  const behind = p.backlogSeconds > GIVE_UP_BACKLOG_S || p.lateSeconds > GIVE_UP_LATE_S;
  const cannotCatchUp = p.load === null || p.load >= CANNOT_CATCH_UP_LOAD;
  const hopeless = p.backlogSeconds > HOPELESS_BACKLOG_S || p.lateSeconds > HOPELESS_LATE_S;
  return (behind && cannotCatchUp) || hopeless ? 'give-up' : 'keep';
}

/**
 * How much a running total grew over the last `window` of another running total (late seconds
 * over output time, busy seconds over separated audio). Samples must come in order of `x`.
 */
export class RecentDelta {
  private samples: { x: number; y: number }[] = [];

  constructor(private readonly window: number) {}

  add(x: number, y: number): void {
    this.samples.push({ x, y });
    // Keep one sample at or before the window's start, so the delta spans the whole window.
    while (this.samples.length > 2 && this.samples[1].x <= x - this.window) this.samples.shift();
  }

  /** Growth of y and x from the window's first sample to the last (zeros before two samples). */
  delta(): { dx: number; dy: number } {
    const s = this.samples;
    if (s.length < 2) return { dx: 0, dy: 0 };
    const first = s[0];
    const last = s[s.length - 1];
    return { dx: last.x - first.x, dy: last.y - first.y };
  }
}
