/**
 * One audio SourceBuffer of the page, mirrored: its appends (with the timestampOffset and append
 * window in force for each) are split into segments, demuxed and decoded into the timeline at the
 * media times the element will present them, following the MSE rules for `remove`, `abort` and
 * `changeType`. The decoder is injected (WebCodecs in the offscreen document, a fake in unit tests).
 */
import { type DemuxedPacket, type DemuxedSegment, demuxSegment, type TrackInfo } from './demux';
import {
  ByteStreamSplitter,
  type ContainerFormat,
  containerOf,
  isEncrypted,
  StreamFormatError,
} from './splitter';
import type { AudioTimeline } from './timeline';

/** The SourceBuffer attributes that shape an append, read by the page tap at the append. */
export interface AppendParams {
  readonly timestampOffset: number;
  readonly appendWindowStart: number;
  /** `Infinity` when unset (sent as null over JSON). */
  readonly appendWindowEnd: number | null;
  readonly mode: 'segments' | 'sequence';
}

/** What the decoder needs to place one packet's output on the timeline. */
export interface ChunkInfo {
  /** The packet's presentation time in seconds (container time + timestampOffset). */
  readonly time: number;
  /** The append window in force when it was appended: output outside it is dropped. */
  readonly window: readonly [number, number];
  /** The packet does not continue the previous one (first packet, seek, jump): a new run starts here. */
  readonly newRun: boolean;
  /** Frames at a run's start that the container's times do not count (Opus pre-skip in WebM). */
  readonly codecDelayFrames: number;
}

/** Decodes a stream of packets; outputs go, in order, through an `OutputPlacer` to the timeline. */
export interface StreamDecoder {
  /**
   * Before each segment's packets (given, so a new decoder can measure itself on them): a new
   * config replaces the decoder, after draining it.
   */
  configure(track: TrackInfo, packets: readonly DemuxedPacket[]): Promise<void>;
  decode(packet: DemuxedPacket, info: ChunkInfo): void;
  /**
   * Waits until every packet given so far has reached the timeline, without ending the codec's
   * stream (a WebCodecs flush resets the codec: the next packet would decode from a clean state).
   */
  idle(): Promise<void>;
  /** The next packet does not follow the last: start from a clean decoder state. */
  reset(): Promise<void>;
  close(): void;
}

/**
 * Places decoded output as the media element plays it: a run (the packets from a start or a jump
 * on) begins at its first packet's time and continues contiguously by decoded frames. Container
 * timestamps only anchor runs: WebM's are rounded to the millisecond (ffmpeg's, for one), and the
 * element's audio clock advances by frames played, not by them.
 *
 * At a run start two conventions meet. The container's: WebM times the first sample after the Opus
 * pre-skip (`codecDelayFrames`), while an MP4 edit list already moves the first packet back by
 * the AAC priming. The decoder's: the browser's may drop frames itself at a stream start
 * (`decoderDropFrames`, measured). So a run drops what the container still counts and the decoder
 * did not, and starts later by what the decoder dropped beyond it.
 */
export class OutputPlacer {
  /** Frames the decoder drops by itself at each stream start (measured by the decoder's owner). */
  decoderDropFrames = 0;
  private runEnd: number | null = null;
  private drop = 0;

  constructor(private readonly insert: (time: number, rate: number, channels: Float32Array[]) => void) {}

  place(info: ChunkInfo, rate: number, decoded: Float32Array[]): void {
    let channels = decoded;
    let time: number;
    if (info.newRun || this.runEnd === null) {
      this.drop = Math.max(0, info.codecDelayFrames - this.decoderDropFrames);
      time = info.time + Math.max(0, this.decoderDropFrames - info.codecDelayFrames) / rate;
    } else {
      time = this.runEnd;
    }
    if (this.drop > 0) {
      const k = Math.min(this.drop, channels[0]?.length ?? 0);
      channels = channels.map((c) => c.subarray(k));
      this.drop -= k;
    }
    const n = channels[0]?.length ?? 0;
    if (n === 0) return;
    this.runEnd = time + n / rate;
    const cropped = cropToWindow(time, rate, channels, info.window);
    if (cropped) this.insert(cropped.time, rate, cropped.channels);
  }
}

/**
 * Decoded audio at `time` cropped to the append window [start, end), as MSE drops (and for audio
 * partially trims) frames outside it; null when nothing is left.
 */
export function cropToWindow(
  time: number,
  rate: number,
  channels: Float32Array[],
  window: readonly [number, number],
): { time: number; channels: Float32Array[] } | null {
  const n = channels[0]?.length ?? 0;
  const from = Math.max(0, Math.round((window[0] - time) * rate));
  const to = Math.min(n, Number.isFinite(window[1]) ? Math.round((window[1] - time) * rate) : n);
  return to > from ? { time: time + from / rate, channels: channels.map((c) => c.subarray(from, to)) } : null;
}

export type Demux = (format: ContainerFormat, init: Uint8Array, media: Uint8Array) => Promise<DemuxedSegment>;

/**
 * How far, in packet durations, a packet may sit from where the previous one ended and still
 * continue it. Chrome's MSE frame processor calls a jump a discontinuity beyond twice the last
 * frame's duration, and below that its audio renderer plays the frames back to back; ffmpeg's WebM
 * muxer leaves such small jitter (timestamps in whole milliseconds, a +10/−10 ms step seen here).
 */
const CONTINUITY_TOLERANCE = 2;

export class SourceBufferFeed {
  private format: ContainerFormat;
  private splitter: ByteStreamSplitter;
  private init: Uint8Array | null = null;
  /** Presentation time the next packet continues from, when the stream is continuous. */
  private nextTime: number | null = null;
  private lastDuration = 0;
  /** Segments decoded so far (status and tests). */
  segments = 0;
  /** Packets not decoded: they ended before `append`'s `skipBefore`. */
  skipped = 0;

  constructor(
    mime: string,
    private readonly timeline: AudioTimeline,
    private readonly decoder: StreamDecoder,
    private readonly demux: Demux = demuxSegment,
  ) {
    this.format = SourceBufferFeed.formatOf(mime);
    this.splitter = new ByteStreamSplitter(this.format);
  }

  static formatOf(mime: string): ContainerFormat {
    const f = containerOf(mime);
    if (!f) throw new StreamFormatError(`the container of "${mime}" cannot be read ahead`);
    return f;
  }

  /**
   * `skipBefore`: packets that end before this media time are not decoded (the read-ahead would prune
   * them at once: after a switch-on the page's history of appends since it loaded is replayed, minutes
   * of it, and decoding it all kept the playhead's own audio waiting).
   */
  async append(bytes: Uint8Array, params: AppendParams, skipBefore: number | null = null): Promise<void> {
    if (params.mode !== 'segments') throw new StreamFormatError('a SourceBuffer in "sequence" mode');
    for (const seg of this.splitter.push(bytes)) {
      if (seg.kind === 'init') {
        if (isEncrypted(this.format, seg.bytes))
          throw new StreamFormatError(
            'the audio is encrypted (DRM): only the page’s own player can decode it',
          );
        this.init = seg.bytes;
        continue;
      }
      if (!this.init) throw new StreamFormatError('a media segment before any init segment');
      const { track, packets } = await this.demux(this.format, this.init, seg.bytes);
      await this.decoder.configure(track, packets);
      const window: [number, number] = [
        params.appendWindowStart,
        params.appendWindowEnd ?? Number.POSITIVE_INFINITY,
      ];
      for (const p of packets) {
        const time = p.timestamp + params.timestampOffset;
        // Skipped packets leave the decoder as it was: the next one decoded continues its run if it
        // follows the last one decoded, and starts a new one otherwise, as after any jump.
        if (skipBefore !== null && time + p.duration < skipBefore) {
          this.skipped++;
          continue;
        }
        // A jump (seek, ad, re-append elsewhere) must not decode with the previous packet's state.
        const tolerance = CONTINUITY_TOLERANCE * Math.max(p.duration, this.lastDuration);
        const newRun = this.nextTime === null || Math.abs(time - this.nextTime) > tolerance;
        if (newRun && this.nextTime !== null) await this.decoder.reset();
        this.decoder.decode(p, { time, window, newRun, codecDelayFrames: track.codecDelayFrames });
        // The last block of a WebM cluster may have no duration: assume the one before it.
        const duration = p.duration > 0 ? p.duration : this.lastDuration;
        this.lastDuration = duration;
        this.nextTime = time + duration;
      }
      this.segments++;
    }
  }

  /** `SourceBuffer.remove(start, end)`: after what is queued has been decoded, the span goes. */
  async remove(start: number, end: number | null): Promise<void> {
    await this.decoder.idle();
    this.timeline.remove(start, end ?? Number.POSITIVE_INFINITY);
  }

  /** `abort()`: a partial segment is dropped (the append window also resets, which the next append's params carry). */
  abort(): void {
    this.splitter.reset();
  }

  /** Appends the tap could not keep were dropped: resynchronise on the next segment. */
  gap(): void {
    this.splitter.gap();
    this.nextTime = null;
  }

  /** `changeType(mime)`: a new container or codec follows, starting with its init segment. */
  changeType(mime: string): void {
    this.format = SourceBufferFeed.formatOf(mime);
    this.splitter = new ByteStreamSplitter(this.format);
    this.init = null;
    this.nextTime = null;
  }

  async idle(): Promise<void> {
    await this.decoder.idle();
  }

  close(): void {
    this.decoder.close();
  }
}
