/**
 * Streaming audio I/O for long inputs: decode with ffmpeg block by block (memory bounded by the block,
 * not the file) and write float32 WAVs incrementally, atomically (temp file renamed on close).
 */
import { spawn } from 'node:child_process';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CHANNELS, SAMPLE_RATE } from '../../src/core/audio';
import { AudioInputError, checkNotTruncated, expectedSamples, probeAudio } from './audio-io';

const FFMPEG = process.env['STEMDECK_FFMPEG'] ?? 'ffmpeg';

/**
 * Yields planar stereo float32 blocks of `blockFrames` samples (the last may be shorter) of anything
 * ffmpeg reads, resampled to 44.1 kHz; mono is copied to both channels at full level.
 */
export async function* decodeAudioBlocks(
  path: string,
  blockFrames = SAMPLE_RATE * 10,
): AsyncGenerator<Float32Array[]> {
  const probe = await probeAudio(path);
  const info = probe.audioStreams[0];
  if (!info) throw new AudioInputError(path, 'no audio stream');
  const sourceChannels = info.channels === 1 ? 1 : CHANNELS;
  // -xerror: a cut WAV's last packet is an error, not a quiet end (as in decodeAudio).
  const args = [
    '-nostdin',
    '-hide_banner',
    '-v',
    'error',
    '-xerror',
    '-i',
    `file:${resolve(path)}`,
    '-map',
    '0:a:0',
  ];
  args.push(
    '-f',
    'f32le',
    '-c:a',
    'pcm_f32le',
    '-ac',
    String(sourceChannels),
    '-ar',
    String(SAMPLE_RATE),
    'pipe:1',
  );
  const child = spawn(FFMPEG, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t: string) => {
    stderr = (stderr + t).slice(-4096);
  });
  const exited = new Promise<number | null>((done) => child.on('close', done));
  const frameBytes = 4 * sourceChannels;
  const blockBytes = blockFrames * frameBytes;
  let pending: Buffer = Buffer.alloc(0);
  let total = 0;
  const toBlock = (bytes: Buffer): Float32Array[] => {
    const frames = bytes.length / frameBytes;
    const interleaved = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
    );
    const out = [new Float32Array(frames), new Float32Array(frames)];
    for (let i = 0; i < frames; i++) {
      out[0][i] = interleaved[i * sourceChannels];
      out[1][i] = interleaved[i * sourceChannels + sourceChannels - 1];
    }
    return out;
  };
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= blockBytes) {
        yield toBlock(pending.subarray(0, blockBytes));
        total += blockFrames;
        pending = pending.subarray(blockBytes);
      }
    }
    const code = await exited;
    if (code !== 0)
      throw new AudioInputError(path, `truncated or corrupt (ffmpeg: ${stderr.trim().split('\n').pop()})`);
    const whole = pending.length - (pending.length % frameBytes);
    if (whole > 0) {
      yield toBlock(pending.subarray(0, whole));
      total += whole / frameBytes;
    }
    if (total === 0) throw new AudioInputError(path, 'decoded to zero samples');
    // After the last block: a caller writing atomically (npm run separate) then writes nothing.
    checkNotTruncated(path, total, expectedSamples(info, probe));
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

/** An incremental 32-bit float WAV writer; nothing appears at `path` until `close()` succeeds. */
export interface WavWriter {
  write(block: readonly Float32Array[]): Promise<void>;
  close(): Promise<void>;
  /** Removes the temporary file (after an error). */
  abort(): Promise<void>;
}

let counter = 0;

export async function createWavWriter(
  path: string,
  channels = CHANNELS,
  sampleRate = SAMPLE_RATE,
): Promise<WavWriter> {
  await mkdir(dirname(resolve(path)), { recursive: true });
  const temp = `${path}.tmp-${process.pid}-${counter++}`;
  const file = await open(temp, 'w');
  await file.write(wavHeader(channels, sampleRate, 0), 0, 44, 0);
  let dataBytes = 0;
  return {
    async write(block) {
      const frames = block[0].length;
      const interleaved = new Float32Array(frames * channels);
      for (let c = 0; c < channels; c++) {
        const ch = block[c];
        for (let i = 0; i < frames; i++) interleaved[i * channels + c] = ch[i];
      }
      const bytes = Buffer.from(interleaved.buffer);
      await file.write(bytes, 0, bytes.length, 44 + dataBytes);
      dataBytes += bytes.length;
    },
    async close() {
      await file.write(wavHeader(channels, sampleRate, dataBytes), 0, 44, 0);
      await file.sync();
      await file.close();
      await rename(temp, path);
    },
    async abort() {
      await file.close().catch(() => {});
      await rm(temp, { force: true });
    },
  };
}

/** RIFF/WAVE header for IEEE float 32-bit PCM (format tag 3). */
function wavHeader(channels: number, sampleRate: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(3, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 4, 28);
  h.writeUInt16LE(channels * 4, 32);
  h.writeUInt16LE(32, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}
