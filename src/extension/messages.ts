/**
 * Typed messages between the extension's contexts (content script, service worker, offscreen
 * document, popup). One discriminated union per direction; every `type` is unique.
 *
 * Everything that arrives through `runtime.onMessage` is `unknown` until `parseMessage`
 * accepts it: a stale content script from an older build, or a bug, must not corrupt tab state.
 */
import { isStemName, type StemName } from '../core/stems';

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

/**
 * Linear amplitude per stem, 0 (silent) … 1 (unchanged). Keys are stem names; a stem the model has
 * that is absent here plays unchanged (so `{}` is the original mix).
 */
export type StemGains = Readonly<Partial<Record<StemName, number>>>;

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
  /** The offscreen engine's last report while this tab is (or was last) remixed; null before. */
  readonly engine: EngineStatus | null;
  /** Why the remix last stopped by itself (a fault, fail-open), in plain words; null otherwise. */
  readonly notice: string | null;
}

/**
 * Where the offscreen engine is with a tab. Whatever the phase, the user hears exactly one of the
 * page's own audio or the remix: `starting` and `buffering` play the original, `failed`/`stopped`
 * have handed the audio back to the page.
 */
export type EnginePhase = 'starting' | 'buffering' | 'running' | 'stopped' | 'failed';
export const ENGINE_PHASES: readonly EnginePhase[] = [
  'starting',
  'buffering',
  'running',
  'stopped',
  'failed',
];
export type EngineBackend = 'wasm' | 'webgpu';
/**
 * How the remix relates to the picture: `in-sync` plays stems separated ahead of the playhead (the
 * page's audio is read ahead, YouTube); `delayed` separates the captured audio after it played and
 * plays it `delayMs` late (everywhere else, and wherever reading ahead fails).
 */
export type RemixMode = 'in-sync' | 'delayed';

export interface EngineStatus {
  readonly phase: EnginePhase;
  /** The execution provider that runs the model; null until the model is loaded. */
  readonly backend: EngineBackend | null;
  /** WASM threads in use (1 without cross-origin isolation). */
  readonly threads: number;
  /** Delay the remix adds between the page and the ears, in ms (null until known). */
  readonly delayMs: number | null;
  /** Processing time per second of audio (1 = just real time): the delayed path over its last 20 s, the in-sync path over the session. */
  readonly load: number | null;
  /** Stems the loaded model has, in its output order (the popup shows a row for each). */
  readonly stems: readonly string[];
  /** Seconds of remix output that had to be replaced by the original because separation was late. */
  readonly lateSeconds: number;
  /** What the engine gave up to keep up with real time, in words (null: full quality). */
  readonly degraded: string | null;
  /** Why this engine runs the model here (calibration result, or a WebGPU failover), in words. */
  readonly engineNote: string | null;
  /** Plain-words cause when `failed` (or why a stop happened); null otherwise. */
  readonly error: string | null;
  /** In sync with the picture or delayed; null until the engine knows (older builds: absent). */
  readonly mode: RemixMode | null;
  /**
   * Why, in plain words: why the remix is delayed here, or, in sync, why the page's own audio is
   * playing at the moment (paused, a seek into audio not separated yet, a speed other than 1×…).
   */
  readonly modeNote: string | null;
  /** `Date.now()` in the offscreen document when this status was taken. */
  readonly at: number;
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
  /**
   * A chrome.tabCapture stream id the popup obtained for the tab (the popup's own invocation is
   * the user gesture tab capture needs); without one the worker asks for it itself.
   */
  readonly streamId?: string;
}
/** Flips `enabled`; the toggle-remix keyboard command goes through exactly this message's handler. */
export interface ToggleEnabledMessage {
  readonly type: 'tab/toggle-enabled';
  readonly tabId: number;
}
/**
 * The popup opened on this tab: where the in-sync remix is likely (YouTube hosts), its separation
 * worker starts now, so that switching on a moment later does not wait for it; it waits `WARM_MS`
 * for the switch-on. Answered with the tab's state, like `tab/get`.
 */
export const WARM_MS = 60_000;
/**
 * After the user switches an in-sync remix off, its separation worker (onnxruntime and the model's
 * session; no audio: the remix's jobs end with it) waits this long for a switch-on, so that switching
 * back on — the keyboard shortcut too — does not start onnxruntime again. A musician compares with
 * the original and switches back within minutes.
 */
export const KEEP_WARM_MS = 180_000;
export interface WarmTabMessage {
  readonly type: 'tab/warm';
  readonly tabId: number;
}
export type PopupMessage =
  | GetTabStateMessage
  | SetGainsMessage
  | SetEnabledMessage
  | ToggleEnabledMessage
  | WarmTabMessage;

// --- service worker → offscreen document ---

/** Capture the tab through `streamId` (from chrome.tabCapture) and remix it with `gains`. */
export interface OffscreenStartMessage {
  readonly type: 'offscreen/start';
  readonly tabId: number;
  readonly streamId: string;
  readonly gains: StemGains;
  /**
   * The tab's host is one the read-ahead tap runs on (YouTube): the in-sync remix is likely, so its
   * separation worker starts at once and the delayed path's model loads only if it is needed.
   */
  readonly readAhead?: boolean;
}
/** Hand the audio back to the page (the capture ends, Chrome unmutes the tab). */
export interface OffscreenStopMessage {
  readonly type: 'offscreen/stop';
  /** Only this tab's remix stops (another tab's session is left alone). */
  readonly tabId: number;
  readonly reason: string;
  /** The user switched off: the in-sync worker waits `KEEP_WARM_MS` for the next switch-on. */
  readonly keepWorker?: boolean;
}
export interface OffscreenGainsMessage {
  readonly type: 'offscreen/gains';
  readonly tabId: number;
  readonly gains: StemGains;
}
/** Asks for the engine's status (reply: `OffscreenStatusReply`). */
export interface OffscreenPingMessage {
  readonly type: 'offscreen/ping';
}
/** Start the separation worker for `tabId`'s likely switch-on (kept for `WARM_MS`; see `tab/warm`). */
export interface OffscreenWarmMessage {
  readonly type: 'offscreen/warm';
  readonly tabId: number;
}
/**
 * Test builds only: returns what the remix played, the original it replaced and the engine status
 * (`OffscreenTapReply`); release builds answer with an error.
 */
export interface OffscreenTapMessage {
  readonly type: 'offscreen/tap';
  /** Empty the recording after reading it. */
  readonly clear: boolean;
  /** Leave out the audio (output, original, per-frame flags): the in-sync trace alone stays small. */
  readonly traceOnly?: boolean;
}
/** Test builds only: make the engine fail as a real fault would (fail-open tests). */
export interface OffscreenFaultMessage {
  readonly type: 'offscreen/fault';
  readonly fault: EngineFault;
}
/**
 * Test builds only: what the read-ahead tap has decoded for the tab (`OffscreenReadAheadReply`),
 * and the PCM of `seconds` from media time `from` of the MediaSource playing now, when asked.
 */
export interface OffscreenReadAheadMessage {
  readonly type: 'offscreen/readahead';
  readonly from?: number;
  readonly seconds?: number;
}
/**
 * Test builds only: runs the in-sync remix's pitch shifter offline on tone bursts as read at
 * `rate` and measures its delay and pitch (`OffscreenShifterCheckReply`).
 */
export interface OffscreenShifterCheckMessage {
  readonly type: 'offscreen/shifter-check';
  readonly rate: number;
}
/**
 * Test builds: a fault to inject into the running engine. `force-webgpu` and `gpu-lost` reach the
 * in-sync remix's separation worker only: run the WebGPU engine even on a software adapter (so the
 * browser tests exercise it), then fail it as a lost device would. `output-suspended` suspends the
 * remix's AudioContext; `output-stuck` does so and keeps it from resuming (output-watch.ts).
 */
export type EngineFault =
  | 'model-error'
  | 'too-slow'
  | 'capture-ended'
  | 'force-webgpu'
  | 'gpu-lost'
  | 'output-suspended'
  | 'output-stuck';
export const ENGINE_FAULTS: readonly EngineFault[] = [
  'model-error',
  'too-slow',
  'capture-ended',
  'force-webgpu',
  'gpu-lost',
  'output-suspended',
  'output-stuck',
];

export type OffscreenMessage =
  | OffscreenStartMessage
  | OffscreenStopMessage
  | OffscreenGainsMessage
  | OffscreenPingMessage
  | OffscreenWarmMessage
  | OffscreenTapMessage
  | OffscreenFaultMessage
  | OffscreenReadAheadMessage
  | OffscreenShifterCheckMessage;

// --- offscreen document → service worker ---

export interface EngineStatusMessage {
  readonly type: 'engine/status';
  readonly tabId: number;
  readonly status: EngineStatus;
}

export type Message = ContentMessage | PopupMessage | OffscreenMessage | EngineStatusMessage;

// --- replies ---

/** Reply of the service worker to every `PopupMessage`. */
export type TabStateReply = { readonly ok: true; readonly state: TabState } | ErrorReply;
/** Reply to content messages: nothing to say beyond success. */
export type AckReply = { readonly ok: true } | ErrorReply;
/** Reply of the offscreen document to start/stop/gains/ping: its engine's status (null: idle). */
export type OffscreenStatusReply =
  | { readonly ok: true; readonly tabId: number | null; readonly status: EngineStatus | null }
  | ErrorReply;
/** Test builds: the recorded output and the original it stands for, sample-aligned, planar stereo. */
export type OffscreenTapReply =
  | {
      readonly ok: true;
      readonly sampleRate: number;
      /** Capture frame index of `output[0]` and `original[0]`. */
      readonly start: number;
      /** Number arrays: message passing to an extension page structured-clones anyway. */
      readonly output: readonly number[][];
      readonly original: readonly number[][];
      /** Per frame: 1 where the remix played, 0 where the original stood in (buffering, late). */
      readonly remixed: readonly number[];
      /** In sync: the media frame (model rate) the stems played at per frame, −1 where the page's audio played. */
      readonly positions?: readonly number[];
      /** In sync: [context frame, wall ms at which it is heard], one per scheduling tick. */
      readonly clockMap?: readonly (readonly [number, number])[];
      /** In sync: per tap message [context frame, media frame or −1, 1 if stems alone], and where stems start within one. */
      readonly quanta?: readonly (readonly [number, number, number])[];
      /** In sync: [milestone, wall ms] of the switch-on (start message, capture, worker ready, first chunk, …). */
      readonly milestones?: readonly (readonly [string, number])[];
      /** In sync: the schedules sent to the audio thread, [context frame, media frame, playing, stems allowed]. */
      readonly schedules?: readonly (readonly [number, number, number, number])[];
      /** In sync: the page's clock samples as they arrived, [read at wall ms, media time, 1 if steady, rate, arrived at wall ms]. */
      readonly clockSamples?: readonly (readonly [number, number, number, number, number])[];
      /** In sync: [wall ms, underrun events so far, underrun ms so far] whenever the count went up. */
      readonly underruns?: readonly (readonly [number, number, number])[];
      /** The output's underruns since the capture started (null: the browser does not report them). */
      readonly playback: PlaybackFigures | null;
      readonly status: EngineStatus | null;
    }
  | ErrorReply;
/** What Chrome's `AudioContext.playbackStats` says of the remix's output. */
export interface PlaybackFigures {
  readonly underrunEvents: number;
  readonly underrunMs: number;
  readonly playedSeconds: number;
  readonly averageLatencyMs: number;
}
/** One MediaSource as the read-ahead tap sees it. */
export interface ReadAheadSourceInfo {
  /** `frameId:ms`, the MediaSource's key. */
  readonly key: string;
  /** Decoded media time as [start, end) ranges, seconds. */
  readonly ranges: readonly (readonly [number, number])[];
  /** The element's media time at the last clock sample (null: never attached). */
  readonly elementTime: number | null;
  readonly closed: boolean;
  /** Why a SourceBuffer of it cannot be read ahead (codec, container, decoder error), if one cannot. */
  readonly failed: string | null;
  readonly decodedBytes: number;
  readonly segments: number;
}
/** Test builds: the read-ahead state; `pcm` when asked and covered (planar float32 as base64). */
export type OffscreenReadAheadReply =
  | {
      readonly ok: true;
      readonly sources: readonly ReadAheadSourceInfo[];
      /** The key of the MediaSource whose element played most recently. */
      readonly current: string | null;
      readonly pcm: { readonly rate: number; readonly channels: readonly string[] } | null;
    }
  | ErrorReply;
export type OffscreenShifterCheckReply =
  | {
      readonly ok: true;
      readonly statedMs: number;
      readonly measuredMs: number;
      readonly inputHz: number;
      readonly outputHz: number;
    }
  | ErrorReply;
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
  const out: Partial<Record<StemName, number>> = {};
  for (const [stem, g] of Object.entries(v)) {
    if (!isStemName(stem) || !isFiniteNumber(g) || g < 0 || g > 1) return null;
    out[stem] = g;
  }
  return out;
}

function isNullableNumber(v: unknown): v is number | null {
  return v === null || isFiniteNumber(v);
}

export function parseEngineStatus(v: unknown): EngineStatus | null {
  if (!isObj(v)) return null;
  const { phase, backend, threads, delayMs, load, stems, lateSeconds, error, at } = v;
  // Added after the first build: absent means full quality.
  const degraded = v.degraded === undefined ? null : v.degraded;
  if (degraded !== null && typeof degraded !== 'string') return null;
  const engineNote = v.engineNote === undefined ? null : v.engineNote;
  if (engineNote !== null && typeof engineNote !== 'string') return null;
  const mode = v.mode === undefined ? null : v.mode;
  if (mode !== null && mode !== 'in-sync' && mode !== 'delayed') return null;
  const modeNote = v.modeNote === undefined ? null : v.modeNote;
  if (modeNote !== null && typeof modeNote !== 'string') return null;
  if (typeof phase !== 'string' || !(ENGINE_PHASES as readonly string[]).includes(phase)) return null;
  if (backend !== null && backend !== 'wasm' && backend !== 'webgpu') return null;
  if (!Number.isInteger(threads) || (threads as number) < 0) return null;
  if (!isNullableNumber(delayMs) || !isNullableNumber(load)) return null;
  if (!Array.isArray(stems) || !stems.every((s) => typeof s === 'string')) return null;
  if (!isFiniteNumber(lateSeconds) || lateSeconds < 0) return null;
  if (error !== null && typeof error !== 'string') return null;
  if (!isFiniteNumber(at)) return null;
  return {
    phase: phase as EnginePhase,
    backend,
    threads: threads as number,
    delayMs,
    load,
    stems: [...(stems as string[])],
    lateSeconds,
    degraded,
    engineNote,
    error,
    mode,
    modeNote,
    at,
  };
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
    case 'tab/warm':
      return isTabId(v.tabId) ? { type: 'tab/warm', tabId: v.tabId } : null;
    case 'tab/set-gains': {
      const gains = parseStemGains(v.gains);
      return isTabId(v.tabId) && gains ? { type: 'tab/set-gains', tabId: v.tabId, gains } : null;
    }
    case 'tab/set-enabled': {
      if (!isTabId(v.tabId) || typeof v.enabled !== 'boolean') return null;
      if (v.streamId !== undefined && (typeof v.streamId !== 'string' || v.streamId.length === 0))
        return null;
      return typeof v.streamId === 'string'
        ? { type: 'tab/set-enabled', tabId: v.tabId, enabled: v.enabled, streamId: v.streamId }
        : { type: 'tab/set-enabled', tabId: v.tabId, enabled: v.enabled };
    }
    case 'tab/toggle-enabled':
      return isTabId(v.tabId) ? { type: 'tab/toggle-enabled', tabId: v.tabId } : null;
    case 'offscreen/start': {
      const gains = parseStemGains(v.gains);
      return isTabId(v.tabId) && typeof v.streamId === 'string' && v.streamId.length > 0 && gains
        ? {
            type: 'offscreen/start',
            tabId: v.tabId,
            streamId: v.streamId,
            gains,
            readAhead: v.readAhead === true,
          }
        : null;
    }
    case 'offscreen/stop':
      return isTabId(v.tabId) && typeof v.reason === 'string'
        ? { type: 'offscreen/stop', tabId: v.tabId, reason: v.reason, keepWorker: v.keepWorker === true }
        : null;
    case 'offscreen/gains': {
      const gains = parseStemGains(v.gains);
      return isTabId(v.tabId) && gains ? { type: 'offscreen/gains', tabId: v.tabId, gains } : null;
    }
    case 'offscreen/ping':
      return { type: 'offscreen/ping' };
    case 'offscreen/warm':
      return isTabId(v.tabId) ? { type: 'offscreen/warm', tabId: v.tabId } : null;
    case 'offscreen/tap':
      return { type: 'offscreen/tap', clear: v.clear === true, traceOnly: v.traceOnly === true };
    case 'offscreen/shifter-check':
      return isFiniteNumber(v.rate) && v.rate >= 0.25 && v.rate <= 4
        ? { type: 'offscreen/shifter-check', rate: v.rate }
        : null;
    case 'offscreen/readahead':
      return {
        type: 'offscreen/readahead',
        ...(isFiniteNumber(v.from) ? { from: v.from } : {}),
        ...(isFiniteNumber(v.seconds) && v.seconds > 0 && v.seconds <= 60 ? { seconds: v.seconds } : {}),
      };
    case 'offscreen/fault':
      return typeof v.fault === 'string' && (ENGINE_FAULTS as readonly string[]).includes(v.fault)
        ? { type: 'offscreen/fault', fault: v.fault as EngineFault }
        : null;
    case 'engine/status': {
      const status = parseEngineStatus(v.status);
      return isTabId(v.tabId) && status ? { type: 'engine/status', tabId: v.tabId, status } : null;
    }
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
export function isOffscreenMessage(m: Message): m is OffscreenMessage {
  return m.type.startsWith('offscreen/');
}

/** The state of a tab nobody has reported on yet. */
export function emptyTabState(tabId: number): TabState {
  return { tabId, hostname: null, media: null, enabled: false, gains: null, engine: null, notice: null };
}

/** Validates a stored `TabState` (storage may hold data from an older build). */
export function parseTabState(v: unknown): TabState | null {
  if (!isObj(v) || !isTabId(v.tabId) || typeof v.enabled !== 'boolean') return null;
  if (v.hostname !== null && typeof v.hostname !== 'string') return null;
  const media = v.media === null ? null : parseMediaReport(v.media);
  if (v.media !== null && media === null) return null;
  const gains = v.gains === null ? null : parseStemGains(v.gains);
  if (v.gains !== null && gains === null) return null;
  // Fields added after the first build: absent in older stored state means "none yet".
  const engine = v.engine === undefined || v.engine === null ? null : parseEngineStatus(v.engine);
  if (v.engine !== undefined && v.engine !== null && engine === null) return null;
  const notice = typeof v.notice === 'string' ? v.notice : null;
  return { tabId: v.tabId, hostname: v.hostname, media, enabled: v.enabled, gains, engine, notice };
}
