/**
 * Demuxes one complete media segment (with its init segment) into encoded audio packets with media
 * timestamps, using mediabunny.
 *
 * Why mediabunny: it reads both containers a streaming player appends (WebM/Matroska and fragmented
 * MP4, edit lists included), gives WebCodecs-ready decoder configs, has no dependencies, is tree-shaken
 * to the two input formats used here, and is widely used and maintained (MPL-2.0: used unmodified,
 * which the licence allows in an MIT project). The alternatives each cover one container
 * (mp4box: MP4 only; ts-ebml: WebM only).
 */
import { BufferSource, EncodedPacketSink, Input, MP4, WEBM } from 'mediabunny';
import type { ContainerFormat } from './splitter';

export interface DemuxedPacket {
  /** Presentation time in seconds, as the container states it (edit lists applied; before timestampOffset). */
  readonly timestamp: number;
  readonly duration: number;
  readonly data: Uint8Array;
}

export interface TrackInfo {
  /** WebCodecs config (`codec` such as `opus` or `mp4a.40.2`, rate, channels, description). */
  readonly config: AudioDecoderConfig;
  /**
   * Frames the decoder outputs before the first presented one and that WebCodecs does not drop
   * (Opus pre-skip; the media element drops them). AAC priming needs nothing here: the MP4 edit list
   * already moves the first packet before 0 (mediabunny applies it).
   */
  readonly codecDelayFrames: number;
}

export interface DemuxedSegment {
  readonly track: TrackInfo;
  readonly packets: DemuxedPacket[];
}

/** Opus pre-skip from an OpusHead (RFC 7845 §5.1: little-endian u16 at byte 10). */
export function opusPreSkip(description: AllowSharedBufferSource | undefined): number {
  if (!description) return 0;
  const bytes = ArrayBuffer.isView(description)
    ? new Uint8Array(description.buffer, description.byteOffset, description.byteLength)
    : new Uint8Array(description);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  return magic === 'OpusHead' && bytes.length >= 12 ? bytes[10] | (bytes[11] << 8) : 0;
}

/** The audio track of `init` + `media`: decoder config and packets in decode order. */
export async function demuxSegment(
  format: ContainerFormat,
  init: Uint8Array,
  media: Uint8Array,
): Promise<DemuxedSegment> {
  const bytes = new Uint8Array(init.length + media.length);
  bytes.set(init);
  bytes.set(media, init.length);
  const input = new Input({ source: new BufferSource(bytes), formats: format === 'mp4' ? [MP4] : [WEBM] });
  try {
    const track = await input.getPrimaryAudioTrack();
    if (!track) throw new Error('the segment has no audio track');
    const config = await track.getDecoderConfig();
    if (!config) throw new Error(`no decoder for the codec ${(await track.getCodec()) ?? 'unknown'}`);
    const codecDelayFrames = config.codec === 'opus' ? opusPreSkip(config.description) : 0;
    const packets: DemuxedPacket[] = [];
    for await (const p of new EncodedPacketSink(track).packets()) {
      packets.push({ timestamp: p.timestamp, duration: p.duration, data: p.data });
    }
    return { track: { config, codecDelayFrames }, packets };
  } finally {
    input.dispose();
  }
}
