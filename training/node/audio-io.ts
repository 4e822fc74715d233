/**
 * Node-only audio I/O: decode anything ffmpeg reads to Stemdeck's float32 44.1 kHz stereo, decode
 * MUSDB18 `.stem.mp4` files, and read/write WAV with wavefile. Every input problem surfaces as one
 * `AudioInputError` whose message is a single line naming the file and the cause.
 */
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import wavefile from 'wavefile';
import { type AudioBuffer32, audioLength, CHANNELS, SAMPLE_RATE } from '../../src/core/audio';
import { errorText } from '../../src/core/errors';
import { MUSDB_STEMS, type MusdbStem } from '../../src/core/stems';
import { writeFileAtomic } from './atomic';

// wavefile ships CommonJS (`export =`), so Node's ESM loader only offers the default export.
const { WaveFile } = wavefile;

/** Overridable for machines where ffmpeg is not on PATH. */
const FFMPEG = process.env['STEMDECK_FFMPEG'] ?? 'ffmpeg';
const FFPROBE = process.env['STEMDECK_FFPROBE'] ?? 'ffprobe';

/** The one error type for unreadable audio input: `<file>: <cause>` on one line. */
export class AudioInputError extends Error {
  override readonly name = 'AudioInputError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot read audio "${file}": ${oneLine(reason)}`);
  }
}

export interface AudioStreamInfo {
  /** Index among the file's audio streams (what `-map 0:a:N` selects), not the container index. */
  readonly audioIndex: number;
  readonly codec: string;
  readonly sampleRate: number;
  readonly channels: number;
  /** Declared duration in seconds, when the container states one. */
  readonly duration: number | undefined;
}

export interface AudioProbe {
  readonly file: string;
  readonly format: string;
  /** Container duration in seconds, when known. */
  readonly duration: number | undefined;
  readonly audioStreams: AudioStreamInfo[];
  /** Codec types of the other streams (MUSDB files carry a PNG cover as a video stream). */
  readonly otherStreams: string[];
}

export interface DecodeOptions {
  /** Which audio stream to decode (0-based among audio streams; default 0 = the mixture of a stem file). */
  stream?: number;
  /** Start offset in seconds (default 0). */
  start?: number;
  /** Decode at most this many seconds (default: to the end). */
  duration?: number;
  /**
   * An ffmpeg audio filter chain applied while decoding (`-af`), e.g. `rubberband=pitch=1.059` for
   * training-data augmentation. The declared-length check is skipped: filters may change the length.
   */
  filter?: string;
}

export interface DecodedStems {
  mixture: AudioBuffer32;
  stems: Record<MusdbStem, AudioBuffer32>;
}

export type WavFormat = 'float32' | 'pcm16';

/**
 * Decoded output longer than the declared duration by at most this much is codec padding and is cut:
 * ffmpeg 5.1 applies an MP4 edit list's start (AAC priming) but not its end, so AAC decodes run
 * 150–250 samples past the stated length.
 */
const MAX_PADDING_SAMPLES = 4096;

/** Shorter than declared by more than this (and by > 10 %) means the file was cut off. */
const TRUNCATION_TOLERANCE_S = 0.5;

/** Stream count of a MUSDB18 `.stem.mp4`: mixture + drums, bass, other, vocals. */
const MUSDB_STREAMS = 1 + MUSDB_STEMS.length;

// ---------------------------------------------------------------------------------------------
// Probing

/** Runs ffprobe on `path`; throws `AudioInputError` when it is missing, empty, or not media. */
export async function probeAudio(path: string): Promise<AudioProbe> {
  await checkFile(path);
  const res = await run(FFPROBE, [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_streams',
    '-show_format',
    ffmpegInput(path),
  ]);
  if (res.code !== 0) {
    throw new AudioInputError(
      path,
      `not a readable audio file (ffprobe: ${lastMeaningfulLine(res.stderr, path)})`,
    );
  }
  let json: FfprobeJson;
  try {
    json = JSON.parse(res.outputs[0].toString('utf8')) as FfprobeJson;
  } catch {
    throw new AudioInputError(path, 'ffprobe printed no readable description of the file');
  }
  const streams = json.streams ?? [];
  const audioStreams: AudioStreamInfo[] = streams
    .filter((s) => s.codec_type === 'audio')
    .map((s, i) => ({
      audioIndex: i,
      codec: s.codec_name ?? 'unknown',
      sampleRate: Number(s.sample_rate ?? 0),
      channels: s.channels ?? 0,
      duration: finiteOrUndefined(s.duration),
    }));
  return {
    file: path,
    format: json.format?.format_name ?? 'unknown',
    duration: finiteOrUndefined(json.format?.duration),
    audioStreams,
    otherStreams: streams.filter((s) => s.codec_type !== 'audio').map((s) => s.codec_type ?? 'unknown'),
  };
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes one audio stream of anything ffmpeg reads to float32, 44.1 kHz, stereo: ffmpeg resamples and
 * downmixes more than two channels with its default matrix; mono is decoded as mono and duplicated here,
 * because ffmpeg's own mono→stereo upmix lowers the level by 3 dB (Web Audio's duplication does not).
 */
export async function decodeAudio(path: string, opts: DecodeOptions = {}): Promise<AudioBuffer32> {
  const probe = await probeAudio(path);
  const index = opts.stream ?? 0;
  const info = requireAudioStream(probe, index);
  const [pcm] = await runDecoder(path, [index], opts, info.channels === 1 ? 1 : CHANNELS);
  const audio = deinterleave(pcm, info.channels === 1 ? 1 : CHANNELS);
  const trimmed = opts.start === undefined && opts.duration === undefined && opts.filter === undefined;
  return checkLength(path, audio, trimmed ? expectedSamples(info, probe) : undefined);
}

/**
 * Decodes a MUSDB18 `.stem.mp4` (audio streams: mixture, drums, bass, other, vocals) in one ffmpeg run
 * writing five pipes (measured faster than five runs on the 2-core CI box; see the report in the PR).
 *
 * Lengths: all five AAC streams of the MUSDB18-7 previews declare 299 880 samples (6.8 s) and ffmpeg 5.1
 * decodes 300 032 from each (the end padding is not cut). We cut every stream to the declared length,
 * then to the shortest stream, and reject files whose streams differ by more than codec padding.
 */
export async function decodeStems(path: string): Promise<DecodedStems> {
  const probe = await probeAudio(path);
  if (probe.audioStreams.length !== MUSDB_STREAMS) {
    throw new AudioInputError(
      path,
      `expected ${MUSDB_STREAMS} audio streams (mixture, ${MUSDB_STEMS.join(', ')}), found ${probe.audioStreams.length}`,
    );
  }
  probe.audioStreams.forEach((_, i) => {
    requireAudioStream(probe, i);
  });
  // MUSDB streams are all stereo; a mono one would come out 3 dB down (see decodeAudio), which the
  // mixture = sum-of-stems test on real files would notice.
  const pcms = await runDecoder(
    path,
    probe.audioStreams.map((s) => s.audioIndex),
    {},
    CHANNELS,
  );
  const decoded = pcms.map((pcm, i) =>
    checkLength(path, deinterleave(pcm, CHANNELS), expectedSamples(probe.audioStreams[i], probe)),
  );
  const lengths = decoded.map(audioLength);
  const shortest = Math.min(...lengths);
  const longest = Math.max(...lengths);
  if (longest - shortest > MAX_PADDING_SAMPLES) {
    throw new AudioInputError(path, `stem streams differ in length (${lengths.join(', ')} samples)`);
  }
  const [mixture, ...stems] = decoded.map((a) => sliceAudio(a, shortest));
  const record = Object.fromEntries(MUSDB_STEMS.map((name, i) => [name, stems[i]])) as Record<
    MusdbStem,
    AudioBuffer32
  >;
  return { mixture, stems: record };
}

/**
 * Decodes the given audio streams with one ffmpeg process, one output pipe per stream (fd 1, then 3, 4, …;
 * fd 2 is stderr). Returns raw interleaved f32le bytes (`channels` per frame) per stream.
 */
async function runDecoder(
  path: string,
  streams: number[],
  opts: DecodeOptions,
  channels: number,
): Promise<Buffer[]> {
  const args = ['-nostdin', '-hide_banner', '-v', 'error', '-xerror'];
  if (opts.start !== undefined) args.push('-ss', String(opts.start));
  args.push('-i', ffmpegInput(path));
  streams.forEach((stream, k) => {
    args.push('-map', `0:a:${stream}`);
    if (opts.duration !== undefined) args.push('-t', String(opts.duration));
    if (opts.filter !== undefined) args.push('-af', opts.filter);
    args.push('-f', 'f32le', '-c:a', 'pcm_f32le', '-ac', String(channels), '-ar', String(SAMPLE_RATE));
    args.push(`pipe:${k === 0 ? 1 : k + 2}`);
  });
  const res = await run(FFMPEG, args, streams.length);
  if (res.code !== 0) {
    throw new AudioInputError(path, `truncated or corrupt (ffmpeg: ${lastMeaningfulLine(res.stderr, path)})`);
  }
  return res.outputs;
}

/** Rejects empty or cut-off decodes and cuts codec padding beyond the declared length. */
function checkLength(path: string, audio: AudioBuffer32, expected: number | undefined): AudioBuffer32 {
  const n = audioLength(audio);
  if (n === 0) throw new AudioInputError(path, 'decoded zero audio samples (empty, truncated or corrupt)');
  if (expected === undefined) return audio;
  checkNotTruncated(path, n, expected);
  return n > expected && n - expected <= MAX_PADDING_SAMPLES ? sliceAudio(audio, expected) : audio;
}

/**
 * Throws when `decoded` samples fall well short of the `expected` the file declares (more than 0.5 s
 * and 10 %): truncated MP3s and WAVs decode without an ffmpeg error, only the declared duration gives
 * them away.
 */
export function checkNotTruncated(path: string, decoded: number, expected: number | undefined): void {
  if (expected === undefined) return;
  const missing = expected - decoded;
  if (missing > TRUNCATION_TOLERANCE_S * SAMPLE_RATE && missing > 0.1 * expected) {
    const got = (decoded / SAMPLE_RATE).toFixed(2);
    const want = (expected / SAMPLE_RATE).toFixed(2);
    throw new AudioInputError(path, `truncated: decoded ${got} s of the ${want} s the file declares`);
  }
}

export function expectedSamples(info: AudioStreamInfo, probe: AudioProbe): number | undefined {
  const seconds = info.duration ?? probe.duration;
  return seconds === undefined ? undefined : Math.round(seconds * SAMPLE_RATE);
}

function requireAudioStream(probe: AudioProbe, index: number): AudioStreamInfo {
  const n = probe.audioStreams.length;
  if (n === 0) {
    const others = probe.otherStreams.length > 0 ? ` (only ${probe.otherStreams.join(', ')})` : '';
    throw new AudioInputError(probe.file, `no audio stream${others}`);
  }
  const info = probe.audioStreams[index];
  if (!Number.isInteger(index) || info === undefined) {
    throw new AudioInputError(probe.file, `no audio stream ${index} (the file has ${n})`);
  }
  if (info.channels <= 0) throw new AudioInputError(probe.file, `audio stream ${index} has no channels`);
  if (!(info.sampleRate > 0))
    throw new AudioInputError(probe.file, `audio stream ${index} has no sample rate`);
  return info;
}

/** Interleaved f32le bytes → planar stereo (mono duplicated). Copies into an aligned buffer first. */
function deinterleave(bytes: Buffer, sourceChannels: number): AudioBuffer32 {
  const frames = Math.floor(bytes.byteLength / (4 * sourceChannels));
  // Buffers from Node pipes are not guaranteed 4-byte aligned, so view a fresh copy. f32le = host
  // order on every platform we run on (x86-64, arm64).
  const aligned = new Float32Array(frames * sourceChannels);
  new Uint8Array(aligned.buffer).set(bytes.subarray(0, aligned.byteLength));
  if (sourceChannels === 1) return { sampleRate: SAMPLE_RATE, channels: [aligned, aligned.slice()] };
  const channels = Array.from({ length: sourceChannels }, () => new Float32Array(frames));
  for (let c = 0; c < sourceChannels; c++) {
    const out = channels[c];
    for (let i = 0, j = c; i < frames; i++, j += sourceChannels) out[i] = aligned[j];
  }
  return { sampleRate: SAMPLE_RATE, channels };
}

function sliceAudio(audio: AudioBuffer32, length: number): AudioBuffer32 {
  if (audioLength(audio) === length) return audio;
  return { sampleRate: audio.sampleRate, channels: audio.channels.map((c) => c.slice(0, length)) };
}

// ---------------------------------------------------------------------------------------------
// WAV

/** Reads a PCM (8/16/24/32-bit) or float (32/64-bit) WAV at its own rate and channel count, as float32. */
export async function readWav(path: string): Promise<AudioBuffer32> {
  await checkFile(path);
  const bytes = await readFile(path);
  const wav = new WaveFile();
  try {
    wav.fromBuffer(bytes);
  } catch (err) {
    throw new AudioInputError(path, `not a WAV file (${errorText(err)})`);
  }
  const fmt = wav.fmt as WavFmt;
  const data = wav.data as { chunkSize: number; samples: Uint8Array };
  const channels = fmt.numChannels;
  if (!(channels > 0)) throw new AudioInputError(path, 'WAV header declares zero channels');
  if (!(fmt.sampleRate > 0)) throw new AudioInputError(path, 'WAV header declares no sample rate');
  const kind = wavSampleKind(fmt);
  if (kind === undefined) {
    throw new AudioInputError(
      path,
      `unsupported WAV encoding (format ${fmt.audioFormat}, ${fmt.bitsPerSample} bits); use decodeAudio`,
    );
  }
  const frameBytes = channels * (fmt.bitsPerSample / 8);
  if (data.samples.byteLength < data.chunkSize) {
    throw new AudioInputError(
      path,
      `truncated: data chunk declares ${data.chunkSize} bytes, file holds ${data.samples.byteLength}`,
    );
  }
  const frames = Math.floor(data.samples.byteLength / frameBytes);
  if (frames === 0) throw new AudioInputError(path, 'WAV holds zero audio samples');
  const planar = readWavSamples(data.samples, kind, fmt.bitsPerSample, channels, frames);
  return { sampleRate: fmt.sampleRate, channels: planar };
}

/**
 * Writes `audio` as a WAV (float32 or 16-bit PCM; PCM clips to [-1, 1)) atomically: the bytes go to a
 * temporary file beside `path` and are renamed over it, so `path` never holds half a file.
 */
export async function writeWav(
  path: string,
  audio: AudioBuffer32,
  opts: { format: WavFormat } = { format: 'float32' },
): Promise<void> {
  const channels = audio.channels.length;
  if (channels === 0) throw new Error(`writeWav ${path}: audio has no channels`);
  if (!Number.isInteger(audio.sampleRate) || audio.sampleRate <= 0) {
    throw new Error(`writeWav ${path}: invalid sample rate ${audio.sampleRate}`);
  }
  const frames = audioLength(audio);
  if (audio.channels.some((c) => c.length !== frames)) {
    throw new Error(`writeWav ${path}: channels differ in length`);
  }
  const interleaved =
    opts.format === 'pcm16' ? new Int16Array(frames * channels) : new Float32Array(frames * channels);
  for (let c = 0; c < channels; c++) {
    const src = audio.channels[c];
    if (opts.format === 'pcm16') {
      for (let i = 0, j = c; i < frames; i++, j += channels) {
        const v = Math.round(src[i] * 32768);
        interleaved[j] = Math.min(32767, Math.max(-32768, v)); // Int16Array would wrap, not clip
      }
    } else {
      for (let i = 0, j = c; i < frames; i++, j += channels) interleaved[j] = src[i];
    }
  }
  // wavefile builds the header; its per-sample packing takes ~9 s per minute of float32 stereo, so
  // the samples go in as bytes (typed arrays are little-endian on every platform we run on).
  const wav = new WaveFile();
  wav.fromScratch(channels, audio.sampleRate, opts.format === 'pcm16' ? '16' : '32f', []);
  const data = wav.data as { chunkSize: number; samples: Uint8Array };
  data.samples = new Uint8Array(interleaved.buffer, interleaved.byteOffset, interleaved.byteLength);
  data.chunkSize = data.samples.byteLength;
  await writeFileAtomic(path, wav.toBuffer());
}

interface WavFmt {
  audioFormat: number;
  numChannels: number;
  sampleRate: number;
  bitsPerSample: number;
  subformat: number[];
}

type WavSampleKind = 'int' | 'float';

function wavSampleKind(fmt: WavFmt): WavSampleKind | undefined {
  // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first bytes of the subformat GUID; wavefile
  // itself would read extensible float as integers.
  const format = fmt.audioFormat === 0xfffe ? (fmt.subformat[0] ?? 0) & 0xffff : fmt.audioFormat;
  if (format === 1 && [8, 16, 24, 32].includes(fmt.bitsPerSample)) return 'int';
  if (format === 3 && [32, 64].includes(fmt.bitsPerSample)) return 'float';
  return undefined;
}

/** Decodes little-endian WAV sample bytes directly (wavefile's per-sample unpacking is slow on songs). */
function readWavSamples(
  bytes: Uint8Array,
  kind: WavSampleKind,
  bits: number,
  channels: number,
  frames: number,
): Float32Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  const step = bits / 8;
  const read = sampleReader(view, kind, bits);
  for (let i = 0, off = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, off += step) out[c][i] = read(off);
  }
  return out;
}

function sampleReader(view: DataView, kind: WavSampleKind, bits: number): (offset: number) => number {
  if (kind === 'float') {
    return bits === 32 ? (o) => view.getFloat32(o, true) : (o) => view.getFloat64(o, true);
  }
  switch (bits) {
    case 8: // 8-bit WAV is unsigned with 128 as zero.
      return (o) => (view.getUint8(o) - 128) / 128;
    case 16:
      return (o) => view.getInt16(o, true) / 32768;
    case 24:
      return (o) => ((view.getUint16(o, true) | (view.getInt8(o + 2) << 16)) as number) / 8388608;
    default:
      return (o) => view.getInt32(o, true) / 2147483648;
  }
}

// ---------------------------------------------------------------------------------------------
// Processes and file checks

/** One-line errors for the problems `stat` can already see, before ffmpeg says something vaguer. */
async function checkFile(path: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AudioInputError(path, 'file not found');
    if (code === 'EACCES') throw new AudioInputError(path, 'permission denied');
    throw new AudioInputError(path, errorText(err));
  }
  if (info.isDirectory()) throw new AudioInputError(path, 'is a directory, not an audio file');
  if (!info.isFile()) throw new AudioInputError(path, 'not a regular file');
  if (info.size === 0) throw new AudioInputError(path, 'file is empty (0 bytes)');
}

/** `file:` keeps names with colons or a leading dash from being read as protocols or options. */
function ffmpegInput(path: string): string {
  return `file:${resolve(path)}`;
}

interface RunResult {
  code: number | null;
  outputs: Buffer[];
  stderr: string;
}

/** Spawns `cmd`, collecting stdout (output 0) and `extraOutputs - 1` more pipes on fds 3, 4, …. */
function run(cmd: string, args: string[], outputCount = 1): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe'];
    for (let k = 1; k < outputCount; k++) stdio.push('pipe');
    const child = spawn(cmd, args, { stdio });
    const fds = [1, ...Array.from({ length: outputCount - 1 }, (_, k) => k + 3)];
    const chunks: Buffer[][] = fds.map(() => []);
    fds.forEach((fd, k) => {
      child.stdio[fd]?.on('data', (chunk: Buffer) => chunks[k].push(chunk));
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      // Keep the tail only: a badly corrupt file can make ffmpeg print an error per packet.
      stderr = (stderr + text).slice(-16_384);
    });
    child.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      reject(
        code === 'ENOENT'
          ? new Error(`${cmd} not found on PATH; install ffmpeg (or set STEMDECK_FFMPEG / STEMDECK_FFPROBE)`)
          : err,
      );
    });
    // 'close' waits for every stdio stream to end, so all output chunks are in.
    child.on('close', (code) => {
      resolvePromise({ code, outputs: chunks.map((c) => Buffer.concat(c)), stderr });
    });
  });
}

/**
 * The last stderr line that says something, with ffmpeg's `[codec @ 0x…]` prefix shortened and the
 * file name removed (the error message names the file already).
 */
function lastMeaningfulLine(stderr: string, path: string): string {
  const abs = resolve(path);
  const lines = stderr
    .split(/\r?\n/)
    .map((l) =>
      l
        .replace(/^\[([\w.-]+) @ 0x[0-9a-f]+\]\s*/i, '$1: ')
        .split(`file:${abs}`)
        .join('input')
        .split(abs)
        .join('input')
        .trim(),
    )
    .filter((l) => l.length > 0 && !/^(Conversion failed!|Exiting normally)/.test(l));
  return lines.at(-1) ?? 'no error message';
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function finiteOrUndefined(value: string | number | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) ? n : undefined;
}

interface FfprobeJson {
  streams?: {
    codec_type?: string;
    codec_name?: string;
    sample_rate?: string;
    channels?: number;
    duration?: string;
  }[];
  format?: { format_name?: string; duration?: string };
}
