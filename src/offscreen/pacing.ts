/**
 * Keeping up with real time: when the machine is too slow, the remix first gives up quality (the
 * Wiener/EM step, a large share of the JavaScript work) and only then gives the audio back to the
 * page. Pure, so the thresholds are unit-tested.
 */

export interface PacingInput {
  /** Separation seconds per audio second over the session (null before the first segment). */
  readonly load: number | null;
  /** Output seconds so far that the original had to fill because the stems were late. */
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

/** Above this load there is too little headroom for a busy machine: degrade early. */
export const DEGRADE_LOAD = 0.6;
export const DEGRADE_BACKLOG_S = 1.5;
export const GIVE_UP_BACKLOG_S = 3;
export const GIVE_UP_LATE_S = 1.5;
/**
 * While warming up, a backlog this long is no slow start but a machine that cannot keep up: while
 * the first segments are still being separated the page's own audio plays, nothing is late, and
 * without this the session could sit in "buffering" for the whole warm-up (seen once in e2e under
 * load: 20 s at load 1.7).
 */
export const WARM_UP_BACKLOG_S = 6;

export function pace(p: PacingInput): PacingDecision {
  const behind = p.backlogSeconds > GIVE_UP_BACKLOG_S || p.lateSeconds > GIVE_UP_LATE_S;
  if (!p.degraded) {
    const slow =
      (!p.warmingUp &&
        ((p.load !== null && p.load > DEGRADE_LOAD) || p.backlogSeconds > DEGRADE_BACKLOG_S)) ||
      p.backlogSeconds > WARM_UP_BACKLOG_S;
    return slow || p.lateSeconds > 0 ? 'degrade' : 'keep';
  }
  return behind ? 'give-up' : 'keep';
}
