import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FFMPEG, makeDashAudio, toneInput } from '../../../e2e/support/dash';
import { bytesToBase64, type TapEvent } from '../../content/tap-protocol';
import { type AppendParams, OutputPlacer, type StreamDecoder } from './feed';
import { REPLAY_BEHIND_S, ReadAhead } from './read-ahead';

const HAS_FFMPEG = existsSync(FFMPEG);
if (!HAS_FFMPEG) console.warn(`read-ahead.test: ${FFMPEG} is missing: these tests are SKIPPED, not passed`);

/** A decoder that turns each packet into 960 frames of 48 kHz silence, placed as WebCodecs' would be. */
function fakeDecoder(sink: (t: number, r: number, c: Float32Array[]) => void): StreamDecoder {
  const placer = new OutputPlacer(sink);
  return {
    configure: async () => undefined,
    decode: (_p, info) => placer.place(info, 48_000, [new Float32Array(960)]),
    idle: async () => undefined,
    reset: async () => undefined,
    close: () => undefined,
  };
}

const PARAMS: AppendParams = {
  timestampOffset: 0,
  appendWindowStart: 0,
  appendWindowEnd: null,
  mode: 'segments',
};
const append = (sb: number, bytes: Uint8Array, params = PARAMS): TapEvent<string> => ({
  t: 'append',
  sb,
  bytes: bytesToBase64(new Uint8Array(bytes).buffer), // a copy: a Node Buffer may view a shared pool
  params,
});
const clock = (ms: number, time: number, paused = false): TapEvent<string> => ({
  t: 'clock',
  ms,
  time,
  rate: 1,
  paused,
  seeking: false,
  waiting: false,
  at: 0,
});

describe.skipIf(!HAS_FFMPEG)('ReadAhead', () => {
  const dash = makeDashAudio(toneInput(8), 'opus', 8, 4);

  it('keeps one timeline per MediaSource: an ad in a new MediaSource leaves the video alone', async () => {
    const ra = new ReadAhead(fakeDecoder);
    const frame = 0;
    for (const ev of [
      { t: 'buffer', ms: 1, sb: 2, mime: dash.mime },
      append(2, dash.init),
      append(2, dash.segments[0]),
      clock(1, 1),
      // The ad: a new MediaSource whose audio starts at 0 again.
      { t: 'buffer', ms: 3, sb: 4, mime: dash.mime },
      append(4, dash.init),
      append(4, dash.segments[1], { ...PARAMS, timestampOffset: -4 }),
      clock(3, 0.5),
    ] as TapEvent<string>[]) {
      await ra.handle(frame, ev);
    }
    await ra.settle();
    const info = Object.fromEntries(ra.info().map((s) => [s.key, s]));
    expect(info['0:1'].ranges[0][0]).toBe(0);
    expect(info['0:1'].ranges[0][1]).toBeCloseTo(3.98, 1);
    expect(info['0:3'].ranges[0][1]).toBeCloseTo(4, 1);
    expect(ra.current).toBe('0:3');
    // The ad's MediaSource closes: the video's is current again at its next clock sample.
    await ra.handle(frame, { t: 'close', ms: 3 });
    expect(ra.current).toBeNull();
    await ra.handle(frame, clock(1, 1.2));
    expect(ra.current).toBe('0:1');
    ra.close();
    expect(ra.info()).toEqual([]);
  });

  it('replaying the page’s appends after a switch-on, decodes nothing far behind the playhead', async () => {
    const long = makeDashAudio(toneInput(40), 'opus', 40, 4);
    const ra = new ReadAhead(fakeDecoder);
    // The tap sends the clock first, then its history: everything appended since the page loaded.
    await ra.handle(0, { t: 'buffer', ms: 1, sb: 2, mime: long.mime });
    await ra.handle(0, clock(1, 30));
    for (const seg of [long.init, ...long.segments]) await ra.handle(0, append(2, seg));
    await ra.settle();
    const [range] = ra.info()[0].ranges;
    expect(range[0]).toBeGreaterThan(30 - REPLAY_BEHIND_S - 0.05);
    expect(range[0]).toBeLessThan(30 - REPLAY_BEHIND_S + 0.05);
    expect(range[1]).toBeCloseTo(40, 1);
    ra.close();
  });

  it('marks a SourceBuffer it cannot read and ignores it from then on', async () => {
    const ra = new ReadAhead(fakeDecoder);
    await ra.handle(0, { t: 'buffer', ms: 1, sb: 2, mime: 'audio/mpeg' });
    await ra.handle(0, { t: 'buffer', ms: 5, sb: 6, mime: dash.mime });
    await ra.handle(0, append(6, dash.init, { ...PARAMS, mode: 'sequence' }));
    await ra.handle(0, append(6, dash.segments[0]));
    const info = Object.fromEntries(ra.info().map((s) => [s.key, s]));
    expect(info['0:1'].failed).toMatch(/cannot be read ahead/);
    expect(info['0:5'].failed).toMatch(/sequence/);
    expect(info['0:5'].ranges).toEqual([]);
    await ra.handle(0, { t: 'muxed', ms: 7, mime: 'video/mp4; codecs="avc1.4d401f,mp4a.40.2"' });
    expect(ra.info().find((s) => s.key === '0:7')?.failed).toMatch(/muxed/);
  });
});
