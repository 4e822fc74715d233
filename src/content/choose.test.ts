import { describe, expect, it } from 'vitest';
import {
  chooseMainMedia,
  type MediaCandidate,
  preferredSelector,
  srcKindOf,
  srcObjectKindOf,
} from './choose';

type C = MediaCandidate<string>;
const base = (ref: string, over: Partial<C> = {}): C => ({
  ref,
  kind: 'video',
  connected: true,
  hasSource: true,
  playing: false,
  area: 0,
  preferred: false,
  ...over,
});

describe('chooseMainMedia', () => {
  it('returns null when there is nothing', () => {
    expect(chooseMainMedia([], null)).toBeNull();
  });

  it('ignores detached elements and elements without a source', () => {
    const cands = [
      base('gone', { connected: false, playing: true }),
      base('empty', { hasSource: false, area: 1e6 }),
    ];
    expect(chooseMainMedia(cands, 'gone')).toBeNull();
  });

  it('prefers a playing element over a larger paused one', () => {
    const cands = [base('big', { area: 500_000 }), base('small', { area: 100, playing: true })];
    expect(chooseMainMedia(cands, null)).toBe('small');
  });

  it('picks the largest among playing elements', () => {
    const cands = [
      base('a', { playing: true, area: 100 }),
      base('b', { playing: true, area: 90_000 }),
      base('c', { playing: true, area: 2_000 }),
    ];
    expect(chooseMainMedia(cands, null)).toBe('b');
  });

  it('accepts an <audio> element with no area', () => {
    expect(chooseMainMedia([base('au', { kind: 'audio', playing: true })], null)).toBe('au');
  });

  it("prefers the site's own player even when another element plays", () => {
    const cands = [
      base('preview', { playing: true, area: 50_000 }),
      base('player', { preferred: true, area: 10 }),
    ];
    expect(chooseMainMedia(cands, 'preview')).toBe('player');
  });

  it('sticks with the previous choice among otherwise equal candidates', () => {
    const cands = [base('first', { area: 100 }), base('second', { area: 100 })];
    expect(chooseMainMedia(cands, 'second')).toBe('second');
    expect(chooseMainMedia(cands, null)).toBe('first'); // document order otherwise
  });

  it('keeps a paused previous choice over a larger paused element, else takes the larger', () => {
    const cands = [base('prev', { area: 100 }), base('bigger', { area: 200 })];
    // stickiness ranks above area: a paused previous choice is kept over a larger paused one
    expect(chooseMainMedia(cands, 'prev')).toBe('prev');
    expect(chooseMainMedia(cands, 'other')).toBe('bigger');
  });

  it('follows a swap: the replacement wins once the old element is gone', () => {
    const cands = [base('old', { connected: false }), base('new', { playing: true })];
    expect(chooseMainMedia(cands, 'old')).toBe('new');
  });
});

describe('preferredSelector', () => {
  it('knows YouTube and YouTube Music', () => {
    expect(preferredSelector('www.youtube.com')).toBe('#movie_player video');
    expect(preferredSelector('music.youtube.com')).toBe('#movie_player video');
  });
  it('has none for other sites', () => {
    expect(preferredSelector('open.spotify.com')).toBeNull();
    expect(preferredSelector('youtube.com.evil.example')).toBeNull();
  });
});

describe('srcKindOf', () => {
  it('classifies sources without keeping the URL', () => {
    expect(srcKindOf('', null)).toBe('none');
    expect(srcKindOf('blob:https://www.youtube.com/1234', null)).toBe('blob');
    expect(srcKindOf('https://cdn.example/a.mp3', null)).toBe('network');
    expect(srcKindOf('HTTP://127.0.0.1:8080/tone.wav', null)).toBe('network');
    expect(srcKindOf('data:audio/wav;base64,AAAA', null)).toBe('data');
    expect(srcKindOf('file:///tmp/a.wav', null)).toBe('other');
    expect(srcKindOf('', 'media-stream')).toBe('stream');
  });

  it("reports MSE attached as srcObject (a worker's MediaSourceHandle) as blob, not stream", () => {
    // The e2e MSE-in-a-worker page: currentSrc is '' and srcObject is a MediaSourceHandle.
    expect(srcKindOf('', 'media-source')).toBe('blob');
    expect(srcKindOf('', 'blob')).toBe('blob');
    expect(srcKindOf('', 'other')).toBe('other');
    // srcObject wins over a src attribute it overrides.
    expect(srcKindOf('https://cdn.example/a.mp3', 'media-stream')).toBe('stream');
  });
});

describe('srcObjectKindOf', () => {
  // Stand-ins for DOM objects: WebIDL classes name themselves through Symbol.toStringTag.
  const tagged = (tag: string) => ({ [Symbol.toStringTag]: tag });

  it('tells streams, MSE, blobs and unknown objects apart', () => {
    expect(srcObjectKindOf(null)).toBeNull();
    expect(srcObjectKindOf(tagged('MediaStream'))).toBe('media-stream');
    expect(srcObjectKindOf(tagged('MediaSourceHandle'))).toBe('media-source');
    expect(srcObjectKindOf(tagged('MediaSource'))).toBe('media-source');
    expect(srcObjectKindOf(tagged('ManagedMediaSource'))).toBe('media-source');
    expect(srcObjectKindOf(new Blob(['x']))).toBe('blob');
    expect(srcObjectKindOf({})).toBe('other');
  });
});
