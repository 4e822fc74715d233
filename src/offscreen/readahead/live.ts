/**
 * Is a feed appended just in time (a live stream, or a player that never buffers far)? Then the
 * in-sync remix could never separate ahead of the playhead and would play the page's own audio for
 * good; the delayed remix at least plays a remix. Pure rules, unit-tested; `ReadAhead` feeds them
 * the decoded audio ahead of the element's position.
 *
 * Just in time: less than LIVE_AHEAD_S decoded ahead, all the time, for LIVE_AFTER_MS of playback.
 * A player appends whole segments (YouTube's are 2–10 s), so what is ahead rises by one after each
 * append: a live stream's stays under a few segments, a video's reaches tens of seconds, and right
 * after a seek into new audio it is low only until the player has refilled. In-sync separation
 * needs its first segment plus its lead ahead (about 5 s) to play at all. It reads ahead again
 * once LIVE_RECOVER_S are ahead: the thresholds apart keep the mode from flapping. At the end of a
 * stream (ended) nothing is live.
 */
export const LIVE_AHEAD_S = 8;
export const LIVE_AFTER_MS = 6000;
export const LIVE_RECOVER_S = 12;

export class FeedMargin {
  private lowSince: number | null = null;
  /** The feed counts as just in time now. */
  live = false;

  /**
   * One look at the feed at wall time `now` (ms): `ahead` seconds decoded ahead of the element.
   * `counting`: the element plays and the decoder has caught up with what was appended (at
   * switch-on the tap's history takes a while to decode); otherwise the clock starts again.
   */
  update(now: number, counting: boolean, ahead: number, ended: boolean): boolean {
    if (ended) {
      this.lowSince = null;
      this.live = false;
    } else if (ahead >= LIVE_RECOVER_S) {
      this.lowSince = null;
      this.live = false;
    } else if (ahead < LIVE_AHEAD_S) {
      if (!counting) this.lowSince = null;
      else if (this.lowSince === null) this.lowSince = now;
      else if (now - this.lowSince >= LIVE_AFTER_MS) this.live = true;
    } else {
      this.lowSince = null;
    }
    return this.live;
  }
}
