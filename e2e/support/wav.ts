import wavefile from 'wavefile';
import { SAMPLE_RATE } from '../../src/core/audio';

// wavefile ships CommonJS (`export =`): under tsx (npm run bench:browser) Node's ESM loader offers only
// the default export; a named import worked in vitest alone and broke the benchmark script.
const { WaveFile } = wavefile;

/** A 16-bit PCM mono WAV of a sine tone with a little noise, generated so the suite needs no fixtures. */
export function makeToneWav(seconds: number, frequency = 440, sampleRate = 8_000): Buffer {
  const frames = Math.round(seconds * sampleRate);
  const data = Buffer.alloc(frames * 2);
  let seed = 1;
  for (let i = 0; i < frames; i++) {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0; // deterministic noise
    const noise = (seed / 2 ** 32 - 0.5) * 0.05;
    const v = 0.3 * Math.sin((2 * Math.PI * frequency * i) / sampleRate) + noise;
    data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, v)) * 32_767), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** A 32-bit float WAV of planar channels at 44.1 kHz (test media built from real stems). */
export function float32Wav(channels: Float32Array[]): Buffer {
  const wav = new WaveFile();
  wav.fromScratch(channels.length, SAMPLE_RATE, '32f', channels);
  return Buffer.from(wav.toBuffer());
}
