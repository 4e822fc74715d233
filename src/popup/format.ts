/** Status-line text, pure so it can be tested against fixed clocks. */
import type { MediaReport, TabState } from '../core/messages';

export function formatClock(seconds: number): string {
  const t = Math.max(0, Math.floor(seconds));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Media time now, extrapolated from the snapshot so the popup clock runs without page chatter. */
export function mediaTimeAt(media: MediaReport, now: number): number {
  if (!media.playing) return media.currentTime;
  return media.currentTime + (Math.max(0, now - media.at) / 1000) * media.playbackRate;
}

/** "Playing <audio> · 0:12", or why there is nothing to show. */
export function describeMedia(state: TabState | null, now: number): string {
  if (state === null) return 'Looking for this tab…';
  if (state.hostname === null) {
    return 'Stemdeck does not run on this page (YouTube, YouTube Music and Spotify only; reload the tab after installing).';
  }
  const m = state.media;
  if (m === null || !m.present || m.kind === null)
    return `No <audio> or <video> found on ${state.hostname} yet.`;
  const rate = m.playbackRate !== 1 ? ` · ${m.playbackRate}×` : '';
  return `${m.playing ? 'Playing' : 'Paused'} <${m.kind}> · ${formatClock(mediaTimeAt(m, now))}${rate}`;
}

/** The engine line: no model ships yet, so it must say the page's audio is untouched. */
export function describeEngine(enabled: boolean): string {
  return enabled
    ? 'Remix is on for this tab, but separation is not available yet (no model ships in this build): you hear the page’s original audio.'
    : 'Separation is not available yet (no model ships in this build). The page’s own audio plays unchanged.';
}
