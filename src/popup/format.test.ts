import { describe, expect, it } from 'vitest';
import type { MediaReport, TabState } from '../core/messages';
import { describeEngine, describeMedia, formatClock, mediaTimeAt } from './format';

const at = 1_000_000;
const media: MediaReport = {
  present: true,
  kind: 'audio',
  playing: true,
  currentTime: 10,
  playbackRate: 1,
  srcKind: 'network',
  at,
};
const state = (over: Partial<TabState> = {}): TabState => ({
  tabId: 1,
  hostname: 'www.youtube.com',
  media,
  enabled: false,
  gains: null,
  ...over,
});

describe('formatClock', () => {
  it('formats m:ss and h:mm:ss', () => {
    expect(formatClock(0)).toBe('0:00');
    expect(formatClock(12.9)).toBe('0:12');
    expect(formatClock(61)).toBe('1:01');
    expect(formatClock(3723)).toBe('1:02:03');
  });
});

describe('describeMedia', () => {
  it('extrapolates a playing clock and freezes a paused one', () => {
    expect(describeMedia(state(), at + 2_500)).toBe('Playing <audio> · 0:12');
    expect(describeMedia(state({ media: { ...media, playing: false } }), at + 60_000)).toBe(
      'Paused <audio> · 0:10',
    );
  });
  it('scales by playback rate and shows it', () => {
    const fast = { ...media, playbackRate: 2, kind: 'video' as const };
    expect(mediaTimeAt(fast, at + 1_000)).toBe(12);
    expect(describeMedia(state({ media: fast }), at + 1_000)).toBe('Playing <video> · 0:12 · 2×');
  });
  it('says when nothing is found or the script does not run', () => {
    expect(describeMedia(state({ media: { ...media, present: false, kind: null } }), at)).toMatch(
      /No <audio>/,
    );
    expect(describeMedia(state({ hostname: null, media: null }), at)).toMatch(/does not run on this page/);
  });
});

describe('describeEngine', () => {
  it('always says separation is unavailable and the original audio plays', () => {
    for (const on of [true, false]) {
      expect(describeEngine(on)).toMatch(/not available yet/);
      expect(describeEngine(on)).toMatch(/original audio|own audio plays unchanged/);
    }
  });
});
