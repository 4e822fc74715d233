import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FFMPEG, makeDashAudio, toneInput } from '../../../e2e/support/dash';
import { type DemuxedPacket, demuxSegment, opusPreSkip, type TrackInfo } from './demux';
import {
  type AppendParams,
  type ChunkInfo,
  cropToWindow,
  OutputPlacer,
  SourceBufferFeed,
  type StreamDecoder,
} from './feed';
import { StreamFormatError } from './splitter';
import { AudioTimeline } from './timeline';

const HAS_FFMPEG = existsSync(FFMPEG);
if (!HAS_FFMPEG)
  console.warn(`feed.test: ${FFMPEG} is missing: the demux and feed tests are SKIPPED, not passed`);

const PARAMS: AppendParams = {
  timestampOffset: 0,
  appendWindowStart: 0,
  appendWindowEnd: null,
  mode: 'segments',
};

/**
 * Stands in for WebCodecs: each packet decodes to `duration × rate` frames of its own index, so
 * where every packet landed can be read off the timeline; resets and configs are counted.
 */
class FakeDecoder implements StreamDecoder {
  rate = 0;
  packets = 0;
  resets = 0;
  configs: TrackInfo[] = [];
  private readonly placer: OutputPlacer;
  constructor(timeline: AudioTimeline) {
    this.placer = new OutputPlacer((time, rate, ch) => timeline.insert(time, rate, ch));
  }
  async configure(track: TrackInfo) {
    this.configs.push(track);
    this.rate = track.config.sampleRate;
  }
  decode(_p: DemuxedPacket, info: ChunkInfo) {
    // Real codecs give a fixed frame count per packet: Opus 20 ms here, AAC 1024.
    const n = this.rate === 48_000 ? 960 : 1024;
    this.placer.place(info, this.rate, [new Float32Array(n).fill(++this.packets)]);
  }
  async idle() {}
  async reset() {
    this.resets++;
  }
  close() {}
}

function feedOf(mime: string) {
  const timeline = new AudioTimeline();
  const decoder = new FakeDecoder(timeline);
  return { timeline, decoder, feed: new SourceBufferFeed(mime, timeline, decoder) };
}

describe('cropToWindow', () => {
  it('trims frames outside the append window, partially at its edges', () => {
    const ch = [Float32Array.from({ length: 10 }, (_, i) => i)];
    const c = cropToWindow(1, 10, ch, [1.22, 1.74]);
    expect(c?.time).toBeCloseTo(1.2);
    expect(Array.from(c?.channels[0] ?? [])).toEqual([2, 3, 4, 5, 6]);
    expect(cropToWindow(1, 10, ch, [3, 4])).toBeNull();
  });
});

describe('OutputPlacer', () => {
  it('drops the codec delay at a run start and continues by decoded frames, not container times', () => {
    const t = new AudioTimeline();
    const placer = new OutputPlacer((time, rate, ch) => t.insert(time, rate, ch));
    const info = (time: number, newRun: boolean): ChunkInfo => ({
      time,
      window: [0, Number.POSITIVE_INFINITY],
      newRun,
      codecDelayFrames: 3,
    });
    const block = (v: number) => [new Float32Array(10).fill(v)];
    placer.place(info(0, true), 100, block(1));
    placer.place(info(0.111, false), 100, block(2)); // a rounded container time: ignored
    expect(t.ranges()).toEqual([[0, 0.17]]);
    expect(Array.from(t.read(0.06, 2, 100, 1)?.[0] ?? [])).toEqual([1, 2]);
    // A new run anchors at its own time and drops the delay again.
    placer.place(info(1, true), 100, block(3));
    expect(t.ranges()).toEqual([
      [0, 0.17],
      [1, 1.07],
    ]);
    // A decoder that drops the delay itself (Chrome's Opus with an OpusHead) is not cut twice…
    placer.decoderDropFrames = 3;
    placer.place(info(2, true), 100, [new Float32Array(7).fill(4)]);
    expect(t.rangeAt(2)).toEqual([2, 2.07]);
    // …and one that drops more than the container counts (Chrome's AAC: its first 1024-frame
    // frame, where the MP4 edit list already moved the times) starts that much later.
    placer.decoderDropFrames = 10;
    placer.place({ ...info(3, true), codecDelayFrames: 0 }, 100, block(5));
    expect(t.rangeAt(3.1)).toEqual([3.1, 3.2]);
  });
});

describe('opusPreSkip', () => {
  it('reads the pre-skip from an OpusHead and 0 from anything else', () => {
    const head = new Uint8Array(19);
    head.set(new TextEncoder().encode('OpusHead'));
    head[10] = 0x38;
    head[11] = 0x01;
    expect(opusPreSkip(head)).toBe(312);
    expect(opusPreSkip(new Uint8Array(5))).toBe(0);
    expect(opusPreSkip(undefined)).toBe(0);
  });
});

describe.skipIf(!HAS_FFMPEG).each(['opus', 'aac'] as const)('demux and feed (%s)', (codec) => {
  const dash = makeDashAudio(toneInput(12), codec, 12, 4);
  const format = codec === 'opus' ? 'webm' : 'mp4';
  const packetSeconds = codec === 'opus' ? 0.02 : 1024 / 44_100;

  it('demuxes a mid-stream segment with its media timestamps and codec delay', async () => {
    const seg = await demuxSegment(format, dash.init, dash.segments[1]);
    expect(seg.track.config.codec).toBe(codec === 'opus' ? 'opus' : 'mp4a.40.2');
    expect(seg.track.config.sampleRate).toBe(dash.rate);
    expect(seg.track.codecDelayFrames).toBe(codec === 'opus' ? 312 : 0);
    // The second segment starts about 4 s in (the MP4 edit list moves AAC by its 1024 priming frames).
    const start = seg.packets[0].timestamp;
    expect(Math.abs(start - 4)).toBeLessThan(0.05);
    seg.packets.forEach((p, i) => {
      if (i > 0)
        expect(p.timestamp).toBeCloseTo(seg.packets[i - 1].timestamp + seg.packets[i - 1].duration, 6);
    });
  });

  it('lays the whole stream out contiguously from media time 0, appended in arbitrary pieces', async () => {
    const { timeline, decoder, feed } = feedOf(dash.mime);
    const stream = Buffer.concat([dash.init, ...dash.segments]);
    for (let at = 0; at < stream.length; at += 5000)
      await feed.append(stream.subarray(at, at + 5000), PARAMS);
    expect(feed.segments).toBe(dash.segments.length);
    expect(decoder.resets).toBe(0);
    const ranges = timeline.ranges();
    expect(ranges).toHaveLength(1);
    // Audio before 0 (Opus pre-skip, AAC priming) falls outside the default append window.
    expect(ranges[0][0]).toBe(0);
    expect(ranges[0][1]).toBeGreaterThan(11.9);
    expect(decoder.configs).toHaveLength(dash.segments.length);
  });

  it('does not decode what ends before skipBefore; skipping leaves the decoder’s run alone', async () => {
    const { timeline, decoder, feed } = feedOf(dash.mime);
    const stream = Buffer.concat([dash.init, ...dash.segments]);
    // The replay after a switch-on with the element at 21 s: audio before 6 s is not decoded.
    await feed.append(stream, PARAMS, 6);
    expect(feed.skipped).toBeGreaterThan(5.9 / packetSeconds);
    expect(decoder.resets).toBe(0); // nothing decoded before the first packet kept: a fresh decoder
    const ranges = timeline.ranges();
    expect(ranges).toHaveLength(1);
    expect(ranges[0][0]).toBeGreaterThan(6 - 2 * packetSeconds);
    expect(ranges[0][0]).toBeLessThan(6 + packetSeconds);
    expect(ranges[0][1]).toBeGreaterThan(11.9);
  });

  it('a skipped append between two contiguous ones does not break the run between them', async () => {
    const { timeline, decoder, feed } = feedOf(dash.mime);
    await feed.append(Buffer.concat([dash.init, dash.segments[0], dash.segments[1]]), PARAMS);
    // The page re-appends audio far behind the playhead (not decoded), then goes on where it was.
    await feed.append(dash.segments[0], PARAMS, 6);
    await feed.append(dash.segments[2], PARAMS, 6);
    expect(decoder.resets).toBe(0); // the decoder's state carries on into segment 2: no seam
    const ranges = timeline.ranges();
    expect(ranges).toHaveLength(1);
    expect(ranges[0][1]).toBeGreaterThan(11.9);
  });

  it('follows timestampOffset, the append window, remove, abort and changeType', async () => {
    const { timeline, decoder, feed } = feedOf(dash.mime);
    await feed.append(dash.init, PARAMS);
    // Segment 2 (8–12 s) first, shifted by 100 s as an ad or an offset player would.
    await feed.append(dash.segments[2], { ...PARAMS, timestampOffset: 100, appendWindowEnd: 111 });
    let ranges = timeline.ranges();
    expect(ranges).toHaveLength(1);
    expect(Math.abs(ranges[0][0] - 108)).toBeLessThan(packetSeconds);
    expect(ranges[0][1]).toBeCloseTo(111, 6);
    // Then segment 0 at its own time: a jump back, so the decoder starts from a clean state.
    await feed.append(dash.segments[0], PARAMS);
    expect(decoder.resets).toBe(1);
    expect(timeline.ranges()).toHaveLength(2);
    await feed.remove(100, null);
    ranges = timeline.ranges();
    expect(ranges).toHaveLength(1);
    expect(ranges[0][1]).toBeLessThan(4.1);
    // A partial segment, then abort: the next whole segment still parses.
    await feed.append(dash.segments[1].subarray(0, 300), PARAMS);
    feed.abort();
    await feed.append(dash.segments[1], PARAMS);
    expect(timeline.ranges()[0][1]).toBeGreaterThan(7.9);
    // changeType: a new init must come first.
    feed.changeType(dash.mime);
    await expect(feed.append(dash.segments[2], PARAMS)).rejects.toThrow(/before any init segment/);
  });

  it('refuses what it cannot read ahead', async () => {
    const { feed } = feedOf(dash.mime);
    await expect(feed.append(dash.init, { ...PARAMS, mode: 'sequence' })).rejects.toThrow(StreamFormatError);
    expect(() => feedOf('audio/mpeg')).toThrow(/cannot be read ahead/);
  });
});
