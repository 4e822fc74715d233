/**
 * Streaming resampling to the model's rate with libsamplerate (Secret Rabbit Code, compiled to
 * WebAssembly by @alexanderolsen/libsamplerate-js): YouTube's Opus is 48 kHz, the model runs at
 * 44.1 kHz. Measured here: the `full` (streaming) API is time-aligned — output frame j is input time
 * j/44100 (lag 0 on a sine) — and holds back about 46 frames until more input comes.
 */
import lsr from '@alexanderolsen/libsamplerate-js';
import type { StreamSeparator } from './ahead';

/** Streaming resampler to the model's rate, time-aligned (output frame j is media time start + j/44100). */
export interface StreamResampler {
  push(planar: Float32Array[]): Float32Array[];
  close(): void;
}

// The package's typings name a `ConverterType` export that its CommonJS build only has on the default.
const { create, ConverterType } = lsr as unknown as {
  create(
    channels: number,
    from: number,
    to: number,
    options: { converterType: number },
  ): Promise<{ full(x: Float32Array): Float32Array; destroy(): void }>;
  ConverterType: { SRC_SINC_MEDIUM_QUALITY: number };
};

export async function createResampler(from: number, to: number, channels: number): Promise<StreamResampler> {
  // Medium quality: 121 dB SNR by libsamplerate's own figures, far below what separation leaves.
  const src = await create(channels, from, to, { converterType: ConverterType.SRC_SINC_MEDIUM_QUALITY });
  return {
    push(planar) {
      const n = planar[0].length;
      const interleaved = new Float32Array(n * channels);
      for (let c = 0; c < channels; c++)
        for (let i = 0; i < n; i++) interleaved[i * channels + c] = planar[c][i];
      const out = src.full(interleaved);
      const m = out.length / channels;
      return Array.from({ length: channels }, (_, c) => {
        const ch = new Float32Array(m);
        for (let i = 0; i < m; i++) ch[i] = out[i * channels + c];
        return ch;
      });
    },
    close() {
      src.destroy();
    },
  };
}

/** `separator` fed through a streaming resampler from `rate` to `to` (itself when the rates match). */
export async function resampling(
  separator: StreamSeparator,
  rate: number,
  to: number,
  channels: number,
): Promise<StreamSeparator> {
  if (rate === to) return separator;
  const resampler = await createResampler(rate, to, channels);
  return {
    async push(block) {
      const resampled = resampler.push([...block]);
      return resampled[0].length > 0 ? separator.push(resampled) : null;
    },
    flush: () => separator.flush(),
    end() {
      resampler.close();
      separator.end?.();
    },
  };
}
