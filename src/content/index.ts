/**
 * Content script: finds the page's main <video>/<audio>, follows it across element swaps and
 * reports its state to the service worker. It only observes: it never touches playback, volume
 * or the element's output (fail open).
 */
import browser from 'webextension-polyfill';
import type { ContentMessage, MediaReport } from '../extension/messages';
import {
  chooseMainMedia,
  type MediaCandidate,
  preferredSelector,
  srcKindOf,
  srcObjectKindOf,
} from './choose';

// Media events do not bubble, but a capture listener on the document sees them for every
// element in it, so no per-element listeners need adding or removing on swaps.
const MEDIA_EVENTS = ['play', 'pause', 'seeked', 'ratechange', 'emptied', 'loadedmetadata', 'ended'] as const;
const RESCAN_DELAY_MS = 200;

let main: HTMLMediaElement | null = null;
let rescanTimer: ReturnType<typeof setTimeout> | null = null;
let stopped = false;

function hasSource(el: HTMLMediaElement): boolean {
  return (
    el.currentSrc !== '' ||
    el.srcObject !== null ||
    el.hasAttribute('src') ||
    el.querySelector('source[src]') !== null
  );
}

function candidates(): MediaCandidate<HTMLMediaElement>[] {
  const selector = preferredSelector(location.hostname);
  const preferred = new Set<Element>(selector ? document.querySelectorAll(selector) : []);
  return Array.from(document.querySelectorAll<HTMLMediaElement>('video, audio'), (el) => {
    const r = el.getBoundingClientRect();
    return {
      ref: el,
      kind: el instanceof HTMLVideoElement ? 'video' : 'audio',
      connected: el.isConnected,
      hasSource: hasSource(el),
      playing: !el.paused && !el.ended,
      area: r.width * r.height,
      preferred: preferred.has(el),
    };
  });
}

function snapshot(el: HTMLMediaElement | null): MediaReport {
  if (!el) {
    return {
      present: false,
      kind: null,
      playing: false,
      currentTime: 0,
      playbackRate: 1,
      srcKind: 'none',
      at: Date.now(),
    };
  }
  return {
    present: true,
    kind: el instanceof HTMLVideoElement ? 'video' : 'audio',
    playing: !el.paused && !el.ended,
    currentTime: Number.isFinite(el.currentTime) ? el.currentTime : 0,
    playbackRate: el.playbackRate,
    srcKind: srcKindOf(el.currentSrc, srcObjectKindOf(el.srcObject)),
    at: Date.now(),
  };
}

function send(msg: ContentMessage): void {
  // After the extension is reloaded or updated this script is orphaned: runtime.id disappears.
  if (!browser.runtime?.id) {
    stop();
    return;
  }
  browser.runtime.sendMessage(msg).catch(() => {
    // The worker may be restarting; the next event reports again, so there is nothing to retry.
  });
}

function report(): void {
  send({ type: 'media/state', hostname: location.hostname, media: snapshot(main) });
}

/** Re-chooses the main element; reports if the choice changed (or when `force`). */
function rescan(force: boolean): void {
  const next = chooseMainMedia(candidates(), main);
  if (next !== main || force) {
    main = next;
    report();
  }
}

function scheduleRescan(): void {
  if (rescanTimer !== null) return;
  rescanTimer = setTimeout(() => {
    rescanTimer = null;
    rescan(false);
  }, RESCAN_DELAY_MS);
}

function onMediaEvent(e: Event): void {
  if (e.target === main) report();
  else if (e.target instanceof HTMLMediaElement) rescan(false); // another element may now be the main one
}

// Sites swap players by replacing DOM subtrees (YouTube between videos and ads, SPAs on
// navigation). Debounced: YouTube mutates its DOM constantly.
const observer = new MutationObserver(scheduleRescan);

function onPageHide(): void {
  send({ type: 'page/hide' });
}
function onPageShow(e: PageTransitionEvent): void {
  if (e.persisted) rescan(true); // back from bfcache: the worker was told the page left
}

function stop(): void {
  if (stopped) return;
  stopped = true;
  observer.disconnect();
  for (const t of MEDIA_EVENTS) document.removeEventListener(t, onMediaEvent, true);
  removeEventListener('pagehide', onPageHide);
  removeEventListener('pageshow', onPageShow);
  if (rescanTimer !== null) clearTimeout(rescanTimer);
}

for (const t of MEDIA_EVENTS) document.addEventListener(t, onMediaEvent, true);
addEventListener('pagehide', onPageHide);
addEventListener('pageshow', onPageShow);
observer.observe(document.documentElement, { childList: true, subtree: true });
rescan(true); // report even "nothing found", so the popup knows the script runs on this site
