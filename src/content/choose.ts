/**
 * Choosing the page's main media element, as pure functions over plain descriptions so the rules
 * are unit-testable without a DOM.
 */
import type { MediaKind, SrcKind } from '../extension/messages';

export interface MediaCandidate<T> {
  readonly ref: T;
  readonly kind: MediaKind;
  /** Still in the document (detached elements are invisible to us and about to be dropped). */
  readonly connected: boolean;
  /** Has a src, a <source> child or a srcObject: an element without one is not media yet. */
  readonly hasSource: boolean;
  readonly playing: boolean;
  /** On-screen area in CSS px²; 0 for <audio> without controls. */
  readonly area: number;
  /** Matches the site's known player (e.g. YouTube's #movie_player video). */
  readonly preferred: boolean;
}

/**
 * Picks the main element. Order of precedence:
 * 1. the site's own player (a muted hover preview elsewhere must not win over it),
 * 2. playing over paused,
 * 3. the previous choice (stickiness: two equal candidates must not flap on every rescan),
 * 4. the larger on-screen area,
 * 5. document order.
 */
export function chooseMainMedia<T>(candidates: readonly MediaCandidate<T>[], previous: T | null): T | null {
  let best: MediaCandidate<T> | null = null;
  for (const c of candidates) {
    if (!c.connected || !c.hasSource) continue;
    if (best === null || compare(c, best, previous) > 0) best = c;
  }
  return best?.ref ?? null;
}

/** > 0 when `a` ranks above `b`; 0 keeps the earlier one (document order). */
function compare<T>(a: MediaCandidate<T>, b: MediaCandidate<T>, previous: T | null): number {
  if (a.preferred !== b.preferred) return a.preferred ? 1 : -1;
  if (a.playing !== b.playing) return a.playing ? 1 : -1;
  const aPrev = previous !== null && a.ref === previous;
  const bPrev = previous !== null && b.ref === previous;
  if (aPrev !== bPrev) return aPrev ? 1 : -1;
  return a.area - b.area;
}

/**
 * The site's own player, where we know it. Spotify's web player has no stable selector, so the
 * generic rules (playing, largest) pick its element, provided it is attached to the document:
 * a detached `new Audio()` is invisible to a content script (tab capture will not need it).
 */
export function preferredSelector(hostname: string): string | null {
  if (hostname === 'www.youtube.com' || hostname === 'music.youtube.com' || hostname === 'm.youtube.com') {
    return '#movie_player video';
  }
  return null;
}

/**
 * What a media element's `srcObject` holds: a MediaStream (WebRTC, getUserMedia, captureStream),
 * Media Source Extensions (a MediaSource, or the MediaSourceHandle of one that lives in a
 * dedicated worker), a Blob, or something this script does not know.
 */
export type SrcObjectKind = 'media-stream' | 'media-source' | 'blob' | 'other';

/**
 * Classifies `srcObject` by its WebIDL class name (`Symbol.toStringTag`), which, unlike
 * `instanceof`, needs no constructor that a browser may lack (MediaSourceHandle) and works on
 * objects from another realm.
 */
export function srcObjectKindOf(srcObject: unknown): SrcObjectKind | null {
  if (srcObject === null || srcObject === undefined) return null;
  switch (Object.prototype.toString.call(srcObject)) {
    case '[object MediaStream]':
      return 'media-stream';
    case '[object MediaSource]':
    case '[object ManagedMediaSource]':
    case '[object MediaSourceHandle]':
      return 'media-source';
    case '[object Blob]':
    case '[object File]':
      return 'blob';
    default:
      return 'other';
  }
}

/**
 * Coarse origin of the media from `currentSrc` / `srcObject` (see `srcObjectKindOf`), without
 * leaking the URL. A `srcObject` takes precedence over `src` in the element's resource selection
 * (and `currentSrc` is then empty), so it decides. MSE is `blob` whether the page attached its
 * MediaSource through a `blob:` URL or, from a worker, as a MediaSourceHandle in `srcObject`.
 */
export function srcKindOf(currentSrc: string, srcObject: SrcObjectKind | null): SrcKind {
  switch (srcObject) {
    case 'media-stream':
      return 'stream';
    case 'media-source':
    case 'blob':
      return 'blob';
    case 'other':
      return 'other';
    case null:
      break;
  }
  if (currentSrc === '') return 'none';
  const scheme = currentSrc.slice(0, currentSrc.indexOf(':') + 1).toLowerCase();
  switch (scheme) {
    case 'blob:':
      return 'blob';
    case 'http:':
    case 'https:':
      return 'network';
    case 'data:':
      return 'data';
    default:
      return 'other';
  }
}
