import { describe, expect, it } from 'vitest';
import { FeedMargin, LIVE_AFTER_MS, LIVE_AHEAD_S, LIVE_RECOVER_S } from './live';

const LOW = LIVE_AHEAD_S - 2; // a live stream's margin
const BETWEEN = (LIVE_AHEAD_S + LIVE_RECOVER_S) / 2;
const HIGH = LIVE_RECOVER_S + 10; // a video's

describe('FeedMargin (is the feed appended just in time?)', () => {
  it('calls a feed that stays low ahead for a while of playback live, and not a seek’s refill', () => {
    const m = new FeedMargin();
    // A seek into new audio: little ahead for 2 s, then the player has appended plenty.
    for (let t = 0; t <= 2000; t += 250) expect(m.update(t, true, 1, false)).toBe(false);
    expect(m.update(2250, true, HIGH, false)).toBe(false);
    // A live stream: a few seconds ahead from then on.
    let t = 2500;
    for (; t < 2500 + LIVE_AFTER_MS; t += 250) expect(m.update(t, true, LOW, false)).toBe(false);
    expect(m.update(t, true, LOW, false)).toBe(true);
  });

  it('waits while paused or decoding, recovers only well ahead, and is never live at the end of a stream', () => {
    const m = new FeedMargin();
    for (let t = 0; t < 20_000; t += 250) m.update(t, false, 1, false);
    expect(m.live).toBe(false); // paused (or the decoder still catching up): the count starts again
    for (let t = 20_000; t <= 20_000 + LIVE_AFTER_MS; t += 250) m.update(t, true, 1, false);
    expect(m.live).toBe(true);
    expect(m.update(30_000, true, BETWEEN, false)).toBe(true); // between the thresholds: stays
    expect(m.update(30_250, true, HIGH, false)).toBe(false);
    for (let t = 31_000; t <= 31_000 + 2 * LIVE_AFTER_MS; t += 250) m.update(t, true, 0.5, true);
    expect(m.live).toBe(false);
  });
});
