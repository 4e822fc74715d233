/**
 * What the page-world tap (page-tap.iife.ts) reports about the page's Media Source Extensions
 * audio, relayed by the bridge (tap-bridge.iife.ts) to the offscreen document, which rebuilds the
 * audio ahead of the playhead from it (src/offscreen/readahead). Types only: the page-world script
 * must stay self-contained.
 *
 * Ids are per page (a MediaSource `ms`, an audio SourceBuffer `sb`); nothing identifies the video.
 */
import type { AppendParams } from '../offscreen/readahead/feed';

export type { AppendParams };

/** The media element a MediaSource plays through, sampled with the time it was read at. */
export interface ClockSample {
  /** `HTMLMediaElement.currentTime`, seconds. */
  readonly time: number;
  readonly rate: number;
  readonly paused: boolean;
  readonly seeking: boolean;
  /** `readyState` < HAVE_FUTURE_DATA while playing: the element waits for data (a stall). */
  readonly waiting: boolean;
  /** `performance.timeOrigin + performance.now()` when read, ms (comparable across contexts). */
  readonly at: number;
}

/** One event; `B` is the byte payload's type (ArrayBuffer in the page, base64 over runtime ports). */
export type TapEvent<B = ArrayBuffer> =
  | { readonly t: 'source'; readonly ms: number }
  | { readonly t: 'buffer'; readonly ms: number; readonly sb: number; readonly mime: string }
  | { readonly t: 'append'; readonly sb: number; readonly bytes: B; readonly params: AppendParams }
  | { readonly t: 'remove'; readonly sb: number; readonly start: number; readonly end: number | null }
  | { readonly t: 'abort'; readonly sb: number }
  | { readonly t: 'type'; readonly sb: number; readonly mime: string }
  /** Appends of `sb` were dropped to bound the page-side history. */
  | { readonly t: 'gap'; readonly sb: number }
  | { readonly t: 'eos'; readonly ms: number }
  /** The MediaSource was detached from its element (`sourceclose`). */
  | { readonly t: 'close'; readonly ms: number }
  /** A non-audio SourceBuffer that carries audio too (muxed): not read ahead. */
  | { readonly t: 'muxed'; readonly ms: number; readonly mime: string }
  | ({ readonly t: 'clock'; readonly ms: number } & ClockSample);

/** Bridge → page over the private port. */
export type TapCommand = { readonly t: 'arm' } | { readonly t: 'disarm' };

/** Hosts whose players feed their media element through MSE ahead of playback (the tap's reach). */
export const READ_AHEAD_HOSTS: readonly string[] = [
  'www.youtube.com',
  'm.youtube.com',
  'music.youtube.com',
  'www.youtube-nocookie.com',
];

/**
 * Test builds only: the e2e suite's stand-in for a YouTube host (Chromium resolves `*.localhost` to
 * the loopback, where the test server listens), so that its YouTube-like page gets what YouTube
 * gets — the tap, the worker started with the capture, the grace before the delayed path.
 */
export const TEST_READ_AHEAD_HOST = 'youtube.localhost';

/** The window-message tag of the handshake that hands the bridge's port to the page-world tap. */
export const TAP_HANDSHAKE = 'stemdeck-tap';
/** The runtime port the bridge opens to the offscreen document while the tab's remix runs. */
export const TAP_PORT_NAME = 'stemdeck-tap';

/**
 * Runtime ports carry JSON, so appended bytes travel as base64 (a third larger; audio is
 * ≈ 16 kB/s, so the cost is small). Chunked to stay under the argument limit of `fromCharCode`.
 */
export function bytesToBase64(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function base64ToBytes(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const id = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/**
 * A relayed event (bytes as base64) as the offscreen document receives it, or null. The page is
 * untrusted input: anything malformed is dropped, never thrown.
 */
export function parseTapEvent(v: unknown): TapEvent<string> | null {
  if (typeof v !== 'object' || v === null) return null;
  const e = v as Record<string, unknown>;
  switch (e.t) {
    case 'source':
    case 'eos':
    case 'close':
      return id(e.ms) ? { t: e.t, ms: e.ms } : null;
    case 'buffer':
      return id(e.ms) && id(e.sb) && typeof e.mime === 'string'
        ? { t: 'buffer', ms: e.ms, sb: e.sb, mime: e.mime }
        : null;
    case 'muxed':
      return id(e.ms) && typeof e.mime === 'string' ? { t: 'muxed', ms: e.ms, mime: e.mime } : null;
    case 'append': {
      const p = e.params as Record<string, unknown> | null;
      if (!id(e.sb) || typeof e.bytes !== 'string' || typeof p !== 'object' || p === null) return null;
      const { timestampOffset, appendWindowStart, appendWindowEnd, mode } = p;
      if (!num(timestampOffset) || !num(appendWindowStart)) return null;
      if (appendWindowEnd !== null && !num(appendWindowEnd)) return null;
      if (mode !== 'segments' && mode !== 'sequence') return null;
      return {
        t: 'append',
        sb: e.sb,
        bytes: e.bytes,
        params: { timestampOffset, appendWindowStart, appendWindowEnd, mode },
      };
    }
    case 'remove':
      return id(e.sb) && num(e.start) && (e.end === null || num(e.end))
        ? { t: 'remove', sb: e.sb, start: e.start, end: e.end }
        : null;
    case 'abort':
    case 'gap':
      return id(e.sb) ? { t: e.t, sb: e.sb } : null;
    case 'type':
      return id(e.sb) && typeof e.mime === 'string' ? { t: 'type', sb: e.sb, mime: e.mime } : null;
    case 'clock': {
      const { ms, time, rate, paused, seeking, waiting, at } = e;
      if (!id(ms) || !num(time) || !num(rate) || !num(at)) return null;
      if (typeof paused !== 'boolean' || typeof seeking !== 'boolean' || typeof waiting !== 'boolean')
        return null;
      return { t: 'clock', ms, time, rate, paused, seeking, waiting, at };
    }
    default:
      return null;
  }
}
