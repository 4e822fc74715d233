/**
 * Fail open when the remix's audio output stops. The tab capture silences the tab itself, and the
 * remix is heard only through the offscreen document's AudioContext: one that is suspended or
 * interrupted (the output device gone, the system taking the audio session, a browser policy) means
 * silence. The watch asks such a context to resume; if it is not running again within `graceMs`,
 * `onLost` runs once (the remix ends, its capture with it, and Chrome plays the tab itself again).
 * No browser API beyond the context's own: unit-tested with a fake one.
 */

/** What the watch needs of an AudioContext. */
export interface WatchedContext extends EventTarget {
  readonly state: string;
  resume(): Promise<void>;
}

/** How long a stopped output may take to run again before the remix gives the audio back. */
export const RESUME_GRACE_MS = 1000;

/** Why the remix ended, for the popup. */
export function outputLostReason(state: string): string {
  return `the audio output stopped (its AudioContext is ${state} and did not resume): the page plays its own audio`;
}

/** Watches `context` until the returned function is called; `closed` (the remix's own end) is not a fault. */
export function watchOutput(
  context: WatchedContext,
  onLost: (reason: string) => void,
  graceMs = RESUME_GRACE_MS,
): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let done = false;
  const stopped = () => context.state !== 'running' && context.state !== 'closed';
  const check = () => {
    if (done) return;
    if (!stopped()) {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      return;
    }
    if (timer !== null) return; // already waiting for it
    void context.resume().catch(() => undefined);
    timer = setTimeout(() => {
      timer = null;
      if (done || !stopped()) return;
      done = true;
      context.removeEventListener('statechange', check);
      onLost(outputLostReason(context.state));
    }, graceMs);
  };
  context.addEventListener('statechange', check);
  check();
  return () => {
    done = true;
    if (timer !== null) clearTimeout(timer);
    context.removeEventListener('statechange', check);
  };
}
