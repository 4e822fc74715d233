import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AudioInputError, decodeAudio, readWav } from './audio-io';
import { createWavWriter, decodeAudioBlocks } from './audio-stream';

const dir = mkdtempSync(join(tmpdir(), 'stemdeck-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 440-Hz tone from ffmpeg's lavfi `sine` source (`options`: e.g. `duration=3`) in `dir/name`. */
function sine(name: string, options: string): string {
  const file = join(dir, name);
  execFileSync('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:${options}`,
    file,
  ]);
  return file;
}

describe('decodeAudioBlocks', () => {
  it('yields the same samples as decodeAudio, block by block (48 kHz mono FLAC → 44.1 kHz stereo)', async () => {
    const file = sine('tone.flac', 'sample_rate=48000:duration=3');
    const whole = await decodeAudio(file);
    const blocks: Float32Array[][] = [];
    for await (const b of decodeAudioBlocks(file, 10_000)) blocks.push(b);
    expect(blocks.slice(0, -1).every((b) => b[0].length === 10_000)).toBe(true);
    const joined = blocks.flatMap((b) => Array.from(b[1]));
    expect(joined.length).toBeGreaterThanOrEqual(whole.channels[0].length);
    for (let i = 0; i < whole.channels[0].length; i += 997)
      expect(joined[i]).toBeCloseTo(whole.channels[1][i], 6);
  });

  it('rejects truncated files after the last block (a cut WAV, a cut MP3 that decodes cleanly)', async () => {
    const drain = async (file: string) => {
      for await (const _ of decodeAudioBlocks(file, 10_000)) void _;
    };
    for (const ext of ['wav', 'mp3']) {
      const whole = sine(`whole.${ext}`, 'duration=3');
      const cut = join(dir, `cut.${ext}`);
      const bytes = readFileSync(whole);
      writeFileSync(cut, bytes.subarray(0, bytes.length >> 2));
      await expect(drain(cut)).rejects.toThrow(AudioInputError);
      await expect(drain(cut)).rejects.toThrow(new RegExp(`cut\\.${ext}.*truncated`));
      await drain(whole);
    }
  });

  it('fails with the file name on a file that is not audio', async () => {
    const bad = join(dir, 'text.mp3');
    execFileSync('sh', ['-c', `echo hello > "${bad}"`]);
    const run = async () => {
      for await (const _ of decodeAudioBlocks(bad)) void _;
    };
    await expect(run()).rejects.toThrow(AudioInputError);
    await expect(run()).rejects.toThrow(/text\.mp3/);
  });
});

describe('createWavWriter', () => {
  it('writes a float32 WAV incrementally that reads back exactly, and only on close', async () => {
    const path = join(dir, 'out.wav');
    const w = await createWavWriter(path);
    const a = [Float32Array.of(0.1, -0.2, 0.3), Float32Array.of(1, 2, 3)];
    const b = [Float32Array.of(0.5), Float32Array.of(-0.5)];
    await w.write(a);
    await w.write(b);
    expect(existsSync(path)).toBe(false);
    await w.close();
    const back = await readWav(path);
    expect(back.sampleRate).toBe(44_100);
    expect(Array.from(back.channels[0])).toEqual(Array.from(Float32Array.of(0.1, -0.2, 0.3, 0.5)));
    expect(Array.from(back.channels[1])).toEqual([1, 2, 3, -0.5]);
  });

  it('abort leaves nothing behind', async () => {
    const path = join(dir, 'aborted.wav');
    const w = await createWavWriter(path);
    await w.write([Float32Array.of(1), Float32Array.of(1)]);
    await w.abort();
    expect(existsSync(path)).toBe(false);
  });
});
