/**
 * The read-ahead side of one tab's remix: rebuilds, from the page-world tap's events, the decoded
 * audio of each MediaSource (one timeline per MediaSource, so an ad's MediaSource never writes into
 * the video's timeline) and follows which element plays now, by its clock samples.
 *
 * Events are applied strictly in order (one promise chain: demuxing is asynchronous). A SourceBuffer
 * that cannot be read (container, codec, `sequence` mode, a decoder error) is marked failed and
 * ignored from then on; its MediaSource then has no read-ahead audio, and the remix uses capture.
 * Decoded audio lives only here, in memory, and goes with `close()` when the remix ends.
 */
import { base64ToBytes, type ClockSample, type TapEvent } from '../../content/tap-protocol';
import { errorText } from '../../core/errors';
import type { ReadAheadSourceInfo } from '../../extension/messages';
import { BACKFILL_S } from '../sync/ahead';
import { ElementClock } from '../sync/clock';
import { type Demux, SourceBufferFeed, type StreamDecoder } from './feed';
import { FeedMargin } from './live';
import { AudioTimeline } from './timeline';

/**
 * Memory bound of the decoded audio: media time kept behind and ahead of the element's position.
 * At 48 kHz stereo float32 that is 375 KiB per second, so the bound holds at most ≈ 79 MB.
 */
export const DECODED_BEHIND_S = 30;
export const DECODED_AHEAD_S = 180;
/**
 * Appended audio that ends more than this far behind the element's position (s) is not decoded: the
 * replay of the page's appends after a switch-on holds up to DECODED_BEHIND_S of it, all decoded
 * before the playhead's own audio (the decoder goes in order), and the remix separates no further
 * back than BACKFILL_S after a switch-on or a seek. Audio that plays on is decoded as it comes, so
 * the cache still reaches DECODED_BEHIND_S back after 30 s of play.
 */
export const REPLAY_BEHIND_S = BACKFILL_S;

/**
 * Clock samples older than this (ms) mean the tap is gone (navigation, a disarmed bridge). Generous:
 * samples wait in this document's queue while a separation step holds its thread (up to ~2 s).
 */
export const STALE_CLOCK_MS = 3000;

export type DecoderFactory = (
  sink: (time: number, rate: number, channels: Float32Array[]) => void,
  onError: (e: Error) => void,
) => StreamDecoder;

export interface TappedSource {
  readonly key: string;
  readonly timeline: AudioTimeline;
  /** The element this MediaSource plays through, as its clock samples say. */
  readonly clock: ElementClock;
  /** The last clock sample (null: never attached). */
  lastClock: ClockSample | null;
  closed: boolean;
  /** `endOfStream()` was called and nothing appended since: no more audio will come. */
  ended: boolean;
  failed: string | null;
  /** Is its audio appended just in time (live)? */
  readonly margin: FeedMargin;
}
type Source = TappedSource;

interface Buffer {
  readonly source: Source;
  readonly feed: SourceBufferFeed | null;
  failed: string | null;
}

export class ReadAhead {
  private readonly sources = new Map<string, Source>();
  private readonly buffers = new Map<string, Buffer>();
  private chain: Promise<void> = Promise.resolve();
  /** Events queued on `chain` and not applied yet (appends being demuxed and decoded). */
  private pending = 0;
  private closed = false;
  /** The key of the MediaSource whose element reported a clock sample last while playing. */
  current: string | null = null;

  constructor(
    private readonly makeDecoder: DecoderFactory,
    private readonly demux?: Demux,
  ) {}

  /** One relayed event from frame `frameId` of the tab. Returns when it (and all before it) is applied. */
  handle(frameId: number, ev: TapEvent<string>): Promise<void> {
    // The element's clock is needed at once (a seek must stop the stems within milliseconds) and
    // does not depend on the appends, so it does not queue behind their demuxing and decoding.
    if (ev.t === 'clock') return this.apply(frameId, ev);
    this.pending++;
    this.chain = this.chain
      .then(() => this.apply(frameId, ev))
      .catch(() => undefined)
      .finally(() => this.pending--);
    return this.chain;
  }

  /** Has the tap seen any audio SourceBuffer? */
  get hasAudio(): boolean {
    return this.buffers.size > 0;
  }

  /** Why the current MediaSource cannot be played in sync, or null when it can (see `usable`). */
  unusable(now: number): string | null {
    const s = this.source();
    if (this.sources.size === 0) return 'the page’s audio cannot be read ahead (no Media Source audio seen)';
    if (!s) return 'no element plays the audio read ahead';
    const failed =
      s.failed ?? [...this.buffers.values()].find((b) => b.source === s && b.failed)?.failed ?? null;
    if (failed) return `the page’s audio cannot be read ahead: ${failed}`;
    if (![...this.buffers.values()].some((b) => b.source === s))
      return 'the playing element has no audio read ahead';
    const at = s.clock.lastSampleAt;
    if (at === null || now - at > STALE_CLOCK_MS) return 'the page stopped reporting its playback position';
    const pos = s.clock.at(now);
    if (pos) {
      const range = s.timeline.rangeAt(pos.time);
      if (s.margin.update(now, pos.playing && this.pending === 0, range ? range[1] - pos.time : 0, s.ended))
        return 'the page’s audio arrives just in time (a live stream?): too late to separate ahead';
    }
    return null;
  }

  /** Waits for every event so far and every packet given to a decoder to reach the timelines. */
  async settle(): Promise<void> {
    await this.chain;
    for (const b of this.buffers.values()) await b.feed?.idle().catch(() => undefined);
  }

  source(key: string | null = this.current): Source | null {
    return key === null ? null : (this.sources.get(key) ?? null);
  }

  info(): ReadAheadSourceInfo[] {
    return [...this.sources.values()].map((s) => {
      const feeds = [...this.buffers.values()].filter((b) => b.source === s);
      return {
        key: s.key,
        ranges: s.timeline.ranges(),
        elementTime: s.lastClock?.time ?? null,
        closed: s.closed,
        failed: s.failed ?? feeds.find((b) => b.failed)?.failed ?? null,
        decodedBytes: s.timeline.bytes,
        segments: feeds.reduce((n, b) => n + (b.feed?.segments ?? 0), 0),
      };
    });
  }

  close(): void {
    this.closed = true;
    for (const b of this.buffers.values()) b.feed?.close();
    for (const s of this.sources.values()) s.timeline.clear();
    this.buffers.clear();
    this.sources.clear();
    this.current = null;
  }

  private sourceFor(frameId: number, ms: number): Source {
    const key = `${frameId}:${ms}`;
    let s = this.sources.get(key);
    if (!s) {
      s = {
        key,
        timeline: new AudioTimeline(),
        clock: new ElementClock(),
        margin: new FeedMargin(),
        lastClock: null,
        closed: false,
        ended: false,
        failed: null,
      };
      this.sources.set(key, s);
    }
    return s;
  }

  private async apply(frameId: number, ev: TapEvent<string>): Promise<void> {
    if (this.closed) return;
    switch (ev.t) {
      case 'source':
        this.sourceFor(frameId, ev.ms);
        return;
      case 'buffer': {
        const source = this.sourceFor(frameId, ev.ms);
        let feed: SourceBufferFeed | null = null;
        let failed: string | null = null;
        try {
          const decoder = this.makeDecoder(
            (time, rate, channels) => source.timeline.insert(time, rate, channels),
            (e) => {
              const b = this.buffers.get(`${frameId}:${ev.sb}`);
              if (b) b.failed = `the audio decoder failed: ${errorText(e)}`;
            },
          );
          feed = new SourceBufferFeed(ev.mime, source.timeline, decoder, this.demux);
        } catch (e) {
          failed = errorText(e);
        }
        this.buffers.set(`${frameId}:${ev.sb}`, { source, feed, failed });
        return;
      }
      case 'muxed':
        this.sourceFor(frameId, ev.ms).failed = `audio muxed with video (${ev.mime}) is not read ahead`;
        return;
      case 'eos':
        this.sourceFor(frameId, ev.ms).ended = true;
        return;
      case 'close':
        this.sourceFor(frameId, ev.ms).closed = true;
        if (this.current === `${frameId}:${ev.ms}`) this.current = null;
        return;
      case 'clock': {
        const s = this.sourceFor(frameId, ev.ms);
        const { t: _, ms: __, ...sample } = ev;
        s.lastClock = sample;
        s.clock.add(sample);
        if (!ev.paused || this.current === null) this.current = s.key;
        s.timeline.prune(ev.time - DECODED_BEHIND_S, ev.time + DECODED_AHEAD_S);
        return;
      }
    }
    const b = this.buffers.get(`${frameId}:${ev.sb}`);
    if (!b?.feed || b.failed) return;
    try {
      switch (ev.t) {
        case 'append': {
          b.source.ended = false; // appending after endOfStream reopens the MediaSource
          // Audio far behind the playhead is not decoded (the replay after switching on).
          const playhead = b.source.lastClock?.time;
          await b.feed.append(
            base64ToBytes(ev.bytes),
            ev.params,
            playhead === undefined ? null : playhead - REPLAY_BEHIND_S,
          );
          break;
        }
        case 'remove':
          await b.feed.remove(ev.start, ev.end);
          break;
        case 'abort':
          b.feed.abort();
          break;
        case 'gap':
          b.feed.gap();
          break;
        case 'type':
          b.feed.changeType(ev.mime);
          break;
      }
    } catch (e) {
      b.failed = errorText(e);
      b.feed.close();
    }
  }
}
