import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encryptedAac, FFMPEG, makeDashAudio, toneInput } from '../../../e2e/support/dash';
import { ByteStreamSplitter, containerOf, isEncrypted, StreamFormatError } from './splitter';

const HAS_FFMPEG = existsSync(FFMPEG);
if (!HAS_FFMPEG)
  console.warn(`splitter.test: ${FFMPEG} is missing: the segment tests are SKIPPED, not passed`);

/** Pushes `bytes` in pieces of the given sizes (cycled), collecting the segments. */
function pushInPieces(s: ByteStreamSplitter, bytes: Uint8Array, sizes: number[]) {
  const out = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = sizes[k % sizes.length];
    out.push(...s.push(bytes.subarray(at, at + n)));
    at += n;
  }
  return out;
}

describe('containerOf', () => {
  it('names the container of a SourceBuffer MIME type', () => {
    expect(containerOf('audio/webm; codecs="opus"')).toBe('webm');
    expect(containerOf('audio/mp4; codecs="mp4a.40.2"')).toBe('mp4');
    expect(containerOf('audio/mpeg')).toBeNull();
  });
});

describe.skipIf(!HAS_FFMPEG).each(['opus', 'aac'] as const)('ByteStreamSplitter (%s)', (codec) => {
  const dash = makeDashAudio(toneInput(10), codec, 10, 2);
  const stream = Buffer.concat([dash.init, ...dash.segments]);
  const format = codec === 'opus' ? 'webm' : 'mp4';

  it('finds the init segment and each media segment whatever the append sizes', () => {
    for (const sizes of [[stream.length], [1], [7, 4096, 13], [65_536]]) {
      const segs = pushInPieces(new ByteStreamSplitter(format), stream, sizes);
      expect(segs.map((s) => s.kind)).toEqual(['init', ...dash.segments.map(() => 'media')]);
      // Each media segment is the whole of one served segment (less MP4's styp/sidx prefix).
      segs.slice(1).forEach((s, i) => {
        expect(Buffer.from(dash.segments[i]).includes(Buffer.from(s.bytes))).toBe(true);
      });
    }
  });

  it('after a gap it resynchronises on the next segment; abort drops a partial one', () => {
    const s = new ByteStreamSplitter(format);
    expect(s.push(Buffer.concat([dash.init, dash.segments[0].subarray(0, 100)])).map((x) => x.kind)).toEqual([
      'init',
    ]);
    s.gap();
    // The rest of segment 0 is lost; the middle of segment 1 arrives, then segment 2 whole.
    expect(s.push(dash.segments[1].subarray(500))).toEqual([]);
    expect(s.push(dash.segments[2]).map((x) => x.kind)).toEqual(['media']);
    s.push(dash.segments[3].subarray(0, 200));
    expect(s.pendingBytes).toBeGreaterThan(0);
    s.reset();
    expect(s.pendingBytes).toBe(0);
    expect(s.push(dash.segments[4]).map((x) => x.kind)).toEqual(['media']);
  });
});

describe('ByteStreamSplitter errors', () => {
  it('refuses boxes that cannot be framed', () => {
    const s = new ByteStreamSplitter('mp4');
    expect(() => s.push(Uint8Array.of(0, 0, 0, 0, 0x6d, 0x64, 0x61, 0x74))).toThrow(StreamFormatError);
    const w = new ByteStreamSplitter('webm');
    // A Cluster of unknown size (live WebM).
    expect(() =>
      w.push(Uint8Array.of(0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
    ).toThrow(/unknown size/);
  });
});

describe.skipIf(!HAS_FFMPEG)('isEncrypted', () => {
  it('tells a CENC-encrypted MP4 init segment from clear MP4 and WebM ones', () => {
    const [media, rep] = encryptedAac(toneInput(5), 5, 'enc');
    expect(isEncrypted('mp4', media[rep.init].body)).toBe(true);
    expect(isEncrypted('mp4', makeDashAudio(toneInput(5), 'aac', 5, 4).init)).toBe(false);
    expect(isEncrypted('webm', makeDashAudio(toneInput(5), 'opus', 5, 4).init)).toBe(false);
  });
});
