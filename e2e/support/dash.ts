/**
 * DASH-style audio for the read-ahead tests: ffmpeg's dash muxer cuts one input into an init
 * segment and media segments of about `segmentSeconds` (WebM/Opus or fragmented MP4/AAC), the
 * way a streaming site serves them, and ffmpeg's decode of the whole stream (init + every segment)
 * after the codec delay is the reference the tap's timeline must equal. Measured here: ffmpeg drops
 * exactly the Opus pre-skip (1000 packets decode to 960000 − 312 frames) but not the AAC priming
 * that a fragmented MP4's edit list names (863 packets → 863 × 1024 frames, start time −1024/44100 s),
 * so the reference drops that priming itself. Chrome's `decodeAudioData` is no reference: on
 * ffmpeg's WebM, whose timestamps are whole milliseconds, it drops 24 frames more (the 0.5 ms by
 * which the 6.5-ms codec delay was rounded). Node only; needs ffmpeg.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptInit, encryptSegment } from './cenc';
import type { DashRepresentation } from './pages';
import type { MediaFile } from './server';

export const FFMPEG = '/usr/bin/ffmpeg';

export type DashCodec = 'opus' | 'aac';

export interface DashAudio {
  readonly codec: DashCodec;
  /** The SourceBuffer MIME type with codecs. */
  readonly mime: string;
  readonly init: Buffer;
  readonly segments: Buffer[];
  /** Decoder output rate (Opus: 48 kHz; AAC: the input's). */
  readonly rate: number;
  /** ffmpeg's decode of init + all segments, planar stereo, sample 0 at media time 0. */
  readonly reference: Float32Array[];
}

/** `input`: ffmpeg input arguments (e.g. `['-i', file]` or a lavfi source); `seconds` of it are cut. */
export function makeDashAudio(
  input: readonly string[],
  codec: DashCodec,
  seconds: number,
  segmentSeconds = 4,
): DashAudio {
  const dir = mkdtempSync(join(tmpdir(), 'stemdeck-dash-'));
  try {
    const rate = codec === 'opus' ? 48_000 : 44_100;
    const [enc, type, ext] = codec === 'opus' ? ['libopus', 'webm', 'webm'] : ['aac', 'mp4', 'm4s'];
    execFileSync(FFMPEG, [
      '-nostdin',
      '-v',
      'error',
      '-y',
      ...input,
      '-vn',
      '-t',
      String(seconds),
      '-ac',
      '2',
      '-ar',
      String(rate),
      '-c:a',
      enc,
      '-b:a',
      '128k',
      '-f',
      'dash',
      '-seg_duration',
      String(segmentSeconds),
      '-dash_segment_type',
      type,
      '-init_seg_name',
      `init.${ext}`,
      '-media_seg_name',
      `seg-$Number%03d$.${ext}`,
      join(dir, 'audio.mpd'),
    ]);
    const init = readFileSync(join(dir, `init.${ext}`));
    const segments = readdirSync(dir)
      .filter((f) => f.startsWith('seg-'))
      .sort()
      .map((f) => readFileSync(join(dir, f)));
    const whole = join(dir, `whole.${ext}`);
    writeFileSync(whole, Buffer.concat([init, ...segments]));
    const pcm = execFileSync(
      FFMPEG,
      ['-nostdin', '-v', 'error', '-i', whole, '-f', 'f32le', '-ac', '2', '-'],
      {
        maxBuffer: 1 << 30,
      },
    );
    // AAC: the frames before media time 0 (the edit list's priming), which ffmpeg leaves in.
    const start = codec === 'aac' ? Math.round(-firstTimestamp(whole) * rate) : 0;
    const all = new Float32Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 4).subarray(2 * start);
    const frames = all.length / 2;
    const reference = [new Float32Array(frames), new Float32Array(frames)];
    for (let i = 0; i < frames; i++) {
      reference[0][i] = all[2 * i];
      reference[1][i] = all[2 * i + 1];
    }
    const mime = codec === 'opus' ? 'audio/webm; codecs="opus"' : 'audio/mp4; codecs="mp4a.40.2"';
    return { codec, mime, init, segments, rate, reference };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `d` as a representation of the DASH page (`pages.ts` `dashPage`) named `name`, with the media the
 * test server must serve for it.
 */
export function dashRepresentation(
  d: DashAudio,
  name: string,
  segmentSeconds: number,
  duration: number,
): [Record<string, MediaFile>, DashRepresentation] {
  const ext = d.codec === 'opus' ? 'webm' : 'm4s';
  const type = d.codec === 'opus' ? 'audio/webm' : 'audio/mp4';
  const media: Record<string, MediaFile> = { [`/dash/${name}/init.${ext}`]: { body: d.init, type } };
  d.segments.forEach((body, i) => {
    media[`/dash/${name}/seg-${i}.${ext}`] = { body, type };
  });
  const rep: DashRepresentation = {
    mime: d.mime,
    init: `/dash/${name}/init.${ext}`,
    segments: d.segments.map((_, i) => `/dash/${name}/seg-${i}.${ext}`),
    segmentSeconds,
    duration,
  };
  return [media, rep];
}

/** The audio stream's start time as ffprobe reads it (negative: priming before media time 0). */
function firstTimestamp(file: string): number {
  const out = execFileSync('/usr/bin/ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'a:0',
    '-show_entries',
    'stream=start_time',
    '-of',
    'csv=p=0',
    file,
  ]);
  const t = Number(String(out).trim());
  if (!Number.isFinite(t)) throw new Error(`ffprobe gave no start time for ${file}`);
  return t;
}

/** A stereo test signal: two tones and a little noise (lavfi), `seconds` long. */
export function toneInput(seconds: number): string[] {
  return [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=660:duration=${seconds}`,
    '-filter_complex',
    '[0][1]amerge=inputs=2',
  ];
}

/** The ClearKey key of `encryptedAac` (hex): the test page's EME licence is the key itself. */
export const TEST_CLEAR_KEY = {
  kid: '0123456789abcdef0123456789abcdef',
  key: '00112233445566778899aabbccddeeff',
};

/**
 * `seconds` of `input` as encrypted fragmented MP4/AAC (CENC, AES-CTR, `TEST_CLEAR_KEY`; see
 * cenc.ts), as ffmpeg's DASH segments: an init segment whose sample entry is `enca` and 4-s media
 * segments — what a DRM-protected stream's player appends, and what the read-ahead cannot read.
 */
export function encryptedAac(
  input: readonly string[],
  seconds: number,
  name: string,
): [Record<string, MediaFile>, DashRepresentation] {
  const clear = makeDashAudio(input, 'aac', seconds, 4);
  const key = Buffer.from(TEST_CLEAR_KEY.key, 'hex');
  const init = encryptInit(clear.init, Buffer.from(TEST_CLEAR_KEY.kid, 'hex'));
  const segments = clear.segments.map((s, i) => encryptSegment(s, key, i + 1));
  const [media, rep] = dashRepresentation({ ...clear, init, segments }, name, 4, seconds);
  return [media, { ...rep, clearKey: TEST_CLEAR_KEY }];
}
