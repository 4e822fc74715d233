/** Status-line text, pure so it can be tested against fixed clocks. */
import type { EngineStatus, MediaReport, TabState } from '../extension/messages';

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
    return 'No media details on this page (they come from YouTube, YouTube Music and Spotify; reload the tab after installing). The remix works on any tab’s sound: switch it on.';
  }
  const m = state.media;
  if (m === null || !m.present || m.kind === null)
    return `No <audio> or <video> found on ${state.hostname} yet.`;
  const rate = m.playbackRate !== 1 ? ` · ${m.playbackRate}×` : '';
  return `${m.playing ? 'Playing' : 'Paused'} <${m.kind}> · ${formatClock(mediaTimeAt(m, now))}${rate}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** "WASM · 2 threads" */
function engineName(status: EngineStatus): string {
  if (status.backend === null) return 'no engine';
  const name = status.backend === 'wasm' ? 'WASM' : 'WebGPU';
  return status.backend === 'wasm'
    ? `${name} · ${status.threads} thread${status.threads === 1 ? '' : 's'}`
    : name;
}

/**
 * The engine line: what the user hears and why, in plain words. Whatever it says, exactly one of
 * the page's audio or the remix is playing.
 */
export function describeEngine(state: TabState | null): string {
  if (state === null) return '';
  if (!state.enabled) {
    return state.notice !== null ? `Off. ${state.notice}` : 'Off: the page’s own audio plays unchanged.';
  }
  const e = state.engine;
  if (e === null || e.phase === 'starting') return 'Starting: loading the separation model…';
  const delay = e.delayMs !== null ? ` · delay ${seconds(e.delayMs)}` : '';
  switch (e.phase) {
    case 'buffering':
      return `Buffering: the original plays until the remix is ready (${engineName(e)}${delay}).`;
    case 'running': {
      const load = e.load !== null ? ` · load ${Math.round(e.load * 100)} %` : '';
      if (e.mode === 'in-sync') {
        const page = e.lateSeconds > 0 ? ` · page audio for ${e.lateSeconds.toFixed(1)} s without stems` : '';
        return `Remixing (${engineName(e)}${load}${page}).`;
      }
      const late = e.lateSeconds > 0 ? ` · ${e.lateSeconds.toFixed(1)} s late (original played)` : '';
      const economy = e.degraded !== null ? ` · economy: ${e.degraded}` : '';
      return `Remixing (${engineName(e)}${delay}${load}${late}${economy}).`;
    }
    case 'stopped':
    case 'failed':
      return `Stopped: ${e.error ?? 'the remix ended'}. The page’s own audio plays.`;
  }
}

/**
 * The sync line: "In sync with the picture" or "Delayed 5.6 s", and why, while the remix is on.
 * In sync, the note says when the page's own audio plays instead (paused, a seek into audio not
 * separated yet, a speed the remix does not play at); delayed, why reading ahead is not possible.
 */
export function describeMode(state: TabState | null): string | null {
  const e = state?.engine;
  if (!state?.enabled || !e || e.mode === null || (e.phase !== 'running' && e.phase !== 'buffering'))
    return null;
  if (e.mode === 'in-sync')
    return e.modeNote === null ? 'In sync with the picture.' : `In sync; ${e.modeNote}.`;
  const delay = e.delayMs !== null ? ` ${seconds(e.delayMs)}` : '';
  return `Delayed${delay}: ${e.modeNote ?? 'the audio is separated after it plays'}.`;
}

/** Why this engine: "Engine: WASM, because the WebGPU adapter (…) is a software fallback." */
export function describeEngineChoice(state: TabState | null): string | null {
  const e = state?.engine;
  if (!state?.enabled || !e || e.backend === null || e.engineNote === null) return null;
  return `Engine: ${e.backend === 'wasm' ? 'WASM' : 'WebGPU'}, because ${e.engineNote}.`;
}
