/**
 * Typed messages between the extension's contexts (content script, service worker, offscreen
 * document, popup). One discriminated union per direction; every `type` is unique.
 *
 * Everything that arrives through `runtime.onMessage` is `unknown` until `parseMessage`
 * accepts it: a stale content script from an older build, or a bug, must not corrupt tab state.
 */
import { MUSDB_STEMS, type MusdbStem } from './stems';

/** What the page's main media element is; `none` when the content script found nothing. */
export type MediaKind = 'audio' | 'video';

/**
 * Where the element's media comes from, coarse on purpose (no URLs leave the page):
 * `blob` is Media Source Extensions (YouTube, Spotify), `network` a plain http(s) file.
 */
export type SrcKind = 'none' | 'blob' | 'network' | 'data' | 'stream' | 'other';
export const SRC_KINDS: readonly SrcKind[] = ['none', 'blob', 'network', 'data', 'stream', 'other'];

/** A snapshot of the main media element, taken by the content script at `at` (ms since epoch). */
export interface MediaReport {
  readonly present: boolean;
  readonly kind: MediaKind | null;
  readonly playing: boolean;
  /** Seconds into the media when the snapshot was taken. */
  readonly currentTime: number;
  readonly playbackRate: number;
  readonly srcKind: SrcKind;
  /** `Date.now()` in the page when the snapshot was taken, so readers can extrapolate the clock. */
  readonly at: number;
}

/** Linear amplitude per MUSDB stem, 0 (silent) … 1 (unchanged). */
export type StemGains = Readonly<Record<MusdbStem, number>>;

/** What the service worker keeps per tab (in `storage.session`). */
export interface TabState {
  readonly tabId: number;
  /** Hostname of the page the content script runs in; null before it reports or after the page left. */
  readonly hostname: string | null;
  readonly media: MediaReport | null;
  /** The user's on/off switch for this tab (popup switch or the toggle-remix command). */
  readonly enabled: boolean;
  /** Effective gains last sent by the popup; null until it sends any. */
  readonly gains: StemGains | null;
}

// --- content script → service worker (the tab id comes from `sender.tab`) ---

export interface MediaStateMessage {
  readonly type: 'media/state';
  readonly hostname: string;
  readonly media: MediaReport;
}
/** The page is going away (navigation, close, bfcache): its media and hostname no longer apply. */
export interface PageHideMessage {
  readonly type: 'page/hide';
}
export type ContentMessage = MediaStateMessage | PageHideMessage;

// --- popup (or any extension page) → service worker ---

export interface GetTabStateMessage {
  readonly type: 'tab/get';
  readonly tabId: number;
}
export interface SetGainsMessage {
  readonly type: 'tab/set-gains';
  readonly tabId: number;
  readonly gains: StemGains;
}
export interface SetEnabledMessage {
  readonly type: 'tab/set-enabled';
  readonly tabId: number;
  readonly enabled: boolean;
}
/** Flips `enabled`; the toggle-remix keyboard command goes through exactly this message's handler. */
export interface ToggleEnabledMessage {
  readonly type: 'tab/toggle-enabled';
  readonly tabId: number;
}
export type PopupMessage = GetTabStateMessage | SetGainsMessage | SetEnabledMessage | ToggleEnabledMessage;

// --- extension page → offscreen document (today only the e2e suite sends the ping) ---

export interface OffscreenPingMessage {
  readonly type: 'offscreen/ping';
}
export type OffscreenMessage = OffscreenPingMessage;

export type Message = ContentMessage | PopupMessage | OffscreenMessage;

// --- replies ---

/** Reply of the service worker to every `PopupMessage`. */
export type TabStateReply = { readonly ok: true; readonly state: TabState } | ErrorReply;
/** Reply to content messages: nothing to say beyond success. */
export type AckReply = { readonly ok: true } | ErrorReply;
/** Reply of the offscreen document: honest about doing nothing yet. */
export type OffscreenStatusReply = { readonly ok: true; readonly processing: false; readonly note: string };
export interface ErrorReply {
  readonly ok: false;
  readonly error: string;
}

// --- parsing unknown input ---

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isTabId(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0;
}

export function parseMediaReport(v: unknown): MediaReport | null {
  if (!isObj(v)) return null;
  const { present, kind, playing, currentTime, playbackRate, srcKind, at } = v;
  if (typeof present !== 'boolean' || typeof playing !== 'boolean') return null;
  if (kind !== null && kind !== 'audio' && kind !== 'video') return null;
  if (!isFiniteNumber(currentTime) || currentTime < 0) return null;
  // playbackRate may legally be 0 or negative in some engines; only insist on a finite number.
  if (!isFiniteNumber(playbackRate)) return null;
  if (typeof srcKind !== 'string' || !(SRC_KINDS as readonly string[]).includes(srcKind)) return null;
  if (!isFiniteNumber(at)) return null;
  return { present, kind, playing, currentTime, playbackRate, srcKind: srcKind as SrcKind, at };
}

export function parseStemGains(v: unknown): StemGains | null {
  if (!isObj(v)) return null;
  const out: Partial<Record<MusdbStem, number>> = {};
  for (const stem of MUSDB_STEMS) {
    const g = v[stem];
    if (!isFiniteNumber(g) || g < 0 || g > 1) return null;
    out[stem] = g;
  }
  return out as StemGains;
}

/** Accepts a well-formed `Message` or returns null; never throws. */
export function parseMessage(v: unknown): Message | null {
  if (!isObj(v) || typeof v.type !== 'string') return null;
  switch (v.type) {
    case 'media/state': {
      const media = parseMediaReport(v.media);
      if (!media || typeof v.hostname !== 'string' || v.hostname.length === 0) return null;
      return { type: 'media/state', hostname: v.hostname, media };
    }
    case 'page/hide':
      return { type: 'page/hide' };
    case 'tab/get':
      return isTabId(v.tabId) ? { type: 'tab/get', tabId: v.tabId } : null;
    case 'tab/set-gains': {
      const gains = parseStemGains(v.gains);
      return isTabId(v.tabId) && gains ? { type: 'tab/set-gains', tabId: v.tabId, gains } : null;
    }
    case 'tab/set-enabled':
      return isTabId(v.tabId) && typeof v.enabled === 'boolean'
        ? { type: 'tab/set-enabled', tabId: v.tabId, enabled: v.enabled }
        : null;
    case 'tab/toggle-enabled':
      return isTabId(v.tabId) ? { type: 'tab/toggle-enabled', tabId: v.tabId } : null;
    case 'offscreen/ping':
      return { type: 'offscreen/ping' };
    default:
      return null;
  }
}

export function isContentMessage(m: Message): m is ContentMessage {
  return m.type === 'media/state' || m.type === 'page/hide';
}
export function isPopupMessage(m: Message): m is PopupMessage {
  return m.type.startsWith('tab/');
}

/** The state of a tab nobody has reported on yet. */
export function emptyTabState(tabId: number): TabState {
  return { tabId, hostname: null, media: null, enabled: false, gains: null };
}

/** Validates a stored `TabState` (storage may hold data from an older build). */
export function parseTabState(v: unknown): TabState | null {
  if (!isObj(v) || !isTabId(v.tabId) || typeof v.enabled !== 'boolean') return null;
  if (v.hostname !== null && typeof v.hostname !== 'string') return null;
  const media = v.media === null ? null : parseMediaReport(v.media);
  if (v.media !== null && media === null) return null;
  const gains = v.gains === null ? null : parseStemGains(v.gains);
  if (v.gains !== null && gains === null) return null;
  return { tabId: v.tabId, hostname: v.hostname, media, enabled: v.enabled, gains };
}
