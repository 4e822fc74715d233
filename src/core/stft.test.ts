import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Fft } from './fft';
import { mulberry32 as rng } from './random';
import {
  createSpectrogram,
  frameCount,
  istft,
  magnitude,
  type Spectrogram,
  StreamingIstft,
  StreamingStft,
  spectrogramIndex,
  stft,
} from './stft';
import { maxAbsDiff } from './test-compare';

interface StftCase {
  name: string;
  nFft: number;
  hop: number;
  channels: number;
  length: number;
  frames: number;
  bins: number[];
  re: number[];
  im: number[];
  input: number[][] | 'formula';
}
interface IstftCase {
  hop: number;
  channels: number;
  frames: number;
  bins: number;
  re: number[];
  im: number[];
  outputs: { length: number | null; output: number[][] }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./__fixtures__/stft_reference.json', import.meta.url), 'utf8'),
) as {
  stft: StftCase[];
  istft: IstftCase;
};

/** Same formula as formula_signal in scripts/reference/stft_reference.py (integer hash is exact). */
function formulaSignal(channels: number, length: number): Float64Array[] {
  return Array.from({ length: channels }, (_, c) => {
    const x = new Float64Array(length);
    for (let n = 0; n < length; n++) {
      const noise = ((n * 7919 + c * 104729) % 1000) / 500 - 1;
      x[n] = 0.5 * Math.sin(0.0123 * n + c) + 0.3 * Math.sin(0.731 * n) + 0.1 * noise;
    }
    return x;
  });
}

function noise(channels: number, length: number, seed: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: channels }, () => Float32Array.from({ length }, () => 2 * r() - 1));
}

/** 10·log10(‖a − b‖² / ‖b‖²) over all channels. */
function relativeErrorDb(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  let err = 0;
  let ref = 0;
  for (let c = 0; c < b.length; c++) {
    expect(a[c].length).toBe(b[c].length);
    for (let i = 0; i < b[c].length; i++) {
      err += (a[c][i] - b[c][i]) ** 2;
      ref += b[c][i] ** 2;
    }
  }
  return 10 * Math.log10(err / ref);
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function concatSpectrograms(parts: Spectrogram[], channels: number, bins: number): Spectrogram {
  const frames = parts.reduce((n, p) => n + p.frames, 0);
  const out = createSpectrogram(channels, frames, bins, true);
  let t0 = 0;
  for (const p of parts) {
    for (let c = 0; c < channels; c++) {
      for (let t = 0; t < p.frames; t++) {
        const src = spectrogramIndex(p, c, t, 0);
        const dst = spectrogramIndex(out, c, t0 + t, 0);
        for (let k = 0; k < bins; k++) {
          out.re[dst + k] = p.re[src + k];
          out.im[dst + k] = p.im[src + k];
        }
      }
    }
    t0 += p.frames;
  }
  return out;
}

function concatAudio(parts: Float32Array[][], channels: number): Float32Array[] {
  return Array.from({ length: channels }, (_, c) => {
    const total = parts.reduce((n, p) => n + p[c].length, 0);
    const y = new Float32Array(total);
    let at = 0;
    for (const p of parts) {
      y.set(p[c], at);
      at += p[c].length;
    }
    return y;
  });
}

describe('stft against the NumPy reference of torch.stft', () => {
  for (const c of fixture.stft) {
    it(c.name, () => {
      const input = c.input === 'formula' ? formulaSignal(c.channels, c.length) : c.input;
      for (const float64 of [false, true]) {
        const spec = stft(input, { nFft: c.nFft, hop: c.hop, float64 });
        expect(spec.channels).toBe(c.channels);
        expect(spec.frames).toBe(c.frames);
        expect(spec.bins).toBe(c.nFft / 2 + 1);
        expect(spec.re).toBeInstanceOf(float64 ? Float64Array : Float32Array);
        const re: number[] = [];
        const im: number[] = [];
        for (let ch = 0; ch < c.channels; ch++) {
          for (let t = 0; t < c.frames; t++) {
            for (const k of c.bins) {
              re.push(spec.re[spectrogramIndex(spec, ch, t, k)]);
              im.push(spec.im[spectrogramIndex(spec, ch, t, k)]);
            }
          }
        }
        const scale = Math.max(maxAbs(c.re), maxAbs(c.im));
        // Float32 storage rounds at ~6e-8 relative; the float64 path only sees the fixture's 10 digits.
        const tol = float64 ? 1e-8 : 1e-5;
        expect(maxAbsDiff(re, c.re) / scale).toBeLessThan(tol);
        expect(maxAbsDiff(im, c.im) / scale).toBeLessThan(tol);
      }
    });
  }
});

describe('istft against the NumPy reference of torch.istft', () => {
  const c = fixture.istft;
  const spec: Spectrogram = {
    channels: c.channels,
    frames: c.frames,
    bins: c.bins,
    re: Float64Array.from(c.re),
    im: Float64Array.from(c.im),
  };
  for (const { length, output } of c.outputs) {
    it(`length ${length ?? 'default'}`, () => {
      const y = istft(spec, { hop: c.hop, ...(length === null ? {} : { length }) });
      expect(y.length).toBe(c.channels);
      for (let ch = 0; ch < c.channels; ch++) {
        expect(y[ch].length).toBe(output[ch].length);
        expect(maxAbsDiff(y[ch], output[ch]) / maxAbs(output[ch])).toBeLessThan(1e-5);
      }
    });
  }
});

describe('stft / istft round trip', () => {
  it('reconstructs random stereo below −100 dB with the Open-Unmix defaults', () => {
    const x = noise(2, 3 * 44_100 + 517, 1);
    const spec = stft(x);
    expect(spec.frames).toBe(frameCount(x[0].length));
    expect(spec.bins).toBe(2049);
    const y = istft(spec, { length: x[0].length });
    expect(relativeErrorDb(y, x)).toBeLessThan(-100);
  });

  it('reconstructs with other sizes, hops and float64 storage', () => {
    for (const [nFft, hop, length] of [
      [256, 64, 5000],
      [512, 128, 513],
      [64, 32, 999],
      [32, 24, 101],
    ]) {
      const x = noise(3, length, nFft + hop);
      const y = istft(stft(x, { nFft, hop, float64: true }), { hop, length });
      expect(relativeErrorDb(y, x)).toBeLessThan(-120);
    }
  });

  it('handles signals too short to reflect by zero padding, down to zero samples', () => {
    for (const length of [0, 1, 2, 100, 2048, 2049]) {
      const x = noise(2, length, length + 7);
      const spec = stft(x);
      expect(spec.frames).toBe(frameCount(length));
      const y = istft(spec, { length });
      expect(y[0].length).toBe(length);
      if (length > 0) expect(relativeErrorDb(y, x)).toBeLessThan(-100);
    }
    // Zero padding, not reflection: a lone sample at the centre of frame 0 gives a flat spectrum w[n/2]·x.
    const spec = stft([Float32Array.of(0.5)], { nFft: 8, hop: 2 });
    for (let k = 0; k < spec.bins; k++) {
      expect(spec.re[k]).toBeCloseTo(0.5 * (k % 2 === 0 ? 1 : -1), 6);
      expect(spec.im[k]).toBeCloseTo(0, 6);
    }
  });

  it('defaults the ISTFT length to hop · (frames − 1) and zero-fills past the frames', () => {
    const x = noise(1, 3000, 5);
    const spec = stft(x, { nFft: 256, hop: 64 });
    expect(istft(spec, { hop: 64 })[0].length).toBe(64 * (spec.frames - 1));
    const long = istft(spec, { hop: 64, length: 4000 })[0];
    expect(long.length).toBe(4000);
    // Frames cover padded samples up to nFft + hop·(frames − 1), i.e. output samples < hop·(frames − 1) + nFft/2.
    const covered = 64 * (spec.frames - 1) + 128;
    expect(maxAbs(long.subarray(covered))).toBe(0);
    expect(maxAbs(long.subarray(covered - 10, covered))).toBeGreaterThan(0);
  });

  it('rejects bad configurations and hops whose window envelope vanishes', () => {
    const x = noise(1, 1000, 9);
    expect(() => stft(x, { nFft: 100 })).toThrow(/power of two/);
    expect(() => stft(x, { nFft: 64, hop: 65 })).toThrow(/hop/);
    expect(() => stft([new Float32Array(5), new Float32Array(6)])).toThrow(/length/);
    // Periodic Hann has w[0] = 0, so hop = nFft leaves zeros in the envelope (torch raises too).
    expect(() => istft(stft(x, { nFft: 64, hop: 64 }), { hop: 64, length: 1000 })).toThrow(/envelope/);
  });

  it('computes magnitudes and powers', () => {
    const spec: Spectrogram = {
      channels: 1,
      frames: 1,
      bins: 3,
      re: Float32Array.of(3, 0, -1),
      im: Float32Array.of(4, -2, 0),
    };
    expect(Array.from(magnitude(spec))).toEqual([5, 2, 1]);
    expect(Array.from(magnitude(spec, 2))).toEqual([25, 4, 1]);
    expect(Array.from(magnitude(spec, 3))).toEqual([125, 8, 1]);
  });
});

describe('streaming', () => {
  function randomBlocks(length: number, r: () => number, maxBlock: number): number[] {
    const sizes: number[] = [];
    let left = length;
    while (left > 0) {
      // Mix of empty, tiny and large blocks.
      const pick = r();
      const n = Math.min(
        left,
        pick < 0.1 ? 0 : pick < 0.3 ? 1 + Math.floor(r() * 3) : Math.floor(r() * maxBlock),
      );
      sizes.push(n);
      left -= n;
    }
    return sizes;
  }

  it('StreamingStft emits exactly the frames of stft for random block sizes', () => {
    const r = rng(42);
    const configs = [
      { nFft: 4096, hop: 1024, lengths: [44_100, 2049, 2048, 100, 0, 5000] },
      { nFft: 64, hop: 16, lengths: [1000, 33, 32, 1] },
      { nFft: 32, hop: 24, lengths: [257] },
      { nFft: 16, hop: 16, lengths: [100] },
    ];
    for (const { nFft, hop, lengths } of configs) {
      for (const length of lengths) {
        const x = noise(2, length, length + nFft);
        const whole = stft(x, { nFft, hop, float64: true });
        for (const maxBlock of [5, 700, 9000]) {
          const s = new StreamingStft(2, { nFft, hop, float64: true });
          const parts: Spectrogram[] = [];
          let at = 0;
          for (const n of randomBlocks(length, r, maxBlock)) {
            const part = s.push(x.map((ch) => ch.subarray(at, at + n)));
            at += n;
            // A frame comes out as soon as its last sample (and the lead padding) is there.
            const ready = at >= nFft / 2 + 1 ? Math.floor((at - nFft / 2) / hop) + 1 : 0;
            expect(s.framesEmitted).toBe(Math.min(ready, frameCount(at, hop)));
            parts.push(part);
          }
          parts.push(s.flush());
          const streamed = concatSpectrograms(parts, 2, nFft / 2 + 1);
          expect(streamed.frames).toBe(whole.frames);
          const scale = Math.max(1, maxAbs(whole.re));
          expect(maxAbsDiff(streamed.re, whole.re) / scale).toBeLessThan(1e-6);
          expect(maxAbsDiff(streamed.im, whole.im) / scale).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('StreamingStft refuses pushes after flush until reset', () => {
    const s = new StreamingStft(1, { nFft: 16, hop: 4 });
    s.push([new Float32Array(30)]);
    s.flush();
    expect(() => s.push([new Float32Array(3)])).toThrow(/after flush/);
    s.reset();
    const x = noise(1, 50, 3);
    const frames = concatSpectrograms([s.push(x), s.flush()], 1, 9);
    const whole = stft(x, { nFft: 16, hop: 4 });
    expect(maxAbsDiff(frames.re, whole.re)).toBeLessThan(1e-6);
  });

  it('StreamingIstft produces the samples of istft for random frame blocks', () => {
    const r = rng(7);
    for (const [nFft, hop, frames, lengthExtra] of [
      [4096, 1024, 40, 0],
      [64, 16, 30, 5],
      [32, 8, 3, -3],
      [32, 24, 17, 11],
    ]) {
      const bins = nFft / 2 + 1;
      // Random, hence inconsistent, spectrogram: output depends on the exact overlap-add and envelope.
      const spec = createSpectrogram(2, frames, bins, true);
      for (let i = 0; i < spec.re.length; i++) {
        spec.re[i] = 2 * r() - 1;
        spec.im[i] = 2 * r() - 1;
      }
      const length = hop * (frames - 1) + lengthExtra;
      for (const withLength of [true, false]) {
        const whole = istft(spec, withLength ? { hop, length } : { hop });
        const s = new StreamingIstft(2, { nFft, hop });
        const parts: Float32Array[][] = [];
        let t = 0;
        while (t < frames) {
          const n = Math.min(frames - t, Math.floor(r() * 5));
          const block = createSpectrogram(2, n, bins, true);
          for (let c = 0; c < 2; c++) {
            const from = spectrogramIndex(spec, c, t, 0);
            block.re.set(spec.re.subarray(from, from + n * bins), c * n * bins);
            block.im.set(spec.im.subarray(from, from + n * bins), c * n * bins);
          }
          parts.push(s.push(block));
          t += n;
        }
        parts.push(s.flush(withLength ? length : undefined));
        const streamed = concatAudio(parts, 2);
        for (let c = 0; c < 2; c++) expect(maxAbsDiff(streamed[c], whole[c])).toBeLessThan(1e-6);
      }
    }
  });

  it('chains StreamingStft → StreamingIstft back to the input', () => {
    const x = noise(2, 20_000, 11);
    const a = new StreamingStft(2, { nFft: 1024, hop: 256 });
    const s = new StreamingIstft(2, { nFft: 1024, hop: 256 });
    const parts: Float32Array[][] = [];
    for (let at = 0; at < x[0].length; at += 1500)
      parts.push(s.push(a.push(x.map((ch) => ch.subarray(at, at + 1500)))));
    parts.push(s.push(a.flush()));
    parts.push(s.flush(x[0].length));
    expect(relativeErrorDb(concatAudio(parts, 2), x)).toBeLessThan(-100);
  });
});

describe('Fft typed fast paths', () => {
  it('forwardRealTyped / inverseRealTyped match forwardReal / inverseReal', () => {
    const r = rng(3);
    for (const n of [4, 8, 16, 64, 4096]) {
      const fft = new Fft(n);
      const x = Float64Array.from({ length: n + 3 }, () => r() - 0.5);
      const re1 = new Float64Array(fft.bins);
      const im1 = new Float64Array(fft.bins);
      const re2 = new Float64Array(fft.bins);
      const im2 = new Float64Array(fft.bins);
      fft.forwardReal(x, re1, im1, 3, n);
      fft.forwardRealTyped(x, re2, im2, 3);
      expect(maxAbsDiff(re2, re1)).toBeLessThan(1e-12 * n);
      expect(maxAbsDiff(im2, im1)).toBeLessThan(1e-12 * n);
      // Nonzero imaginary DC / Nyquist parts must be ignored by both.
      const sr = Float64Array.from({ length: fft.bins }, () => r() - 0.5);
      const si = Float64Array.from({ length: fft.bins }, () => r() - 0.5);
      const y1 = new Float64Array(n);
      const y2 = new Float64Array(n);
      fft.inverseReal(sr, si, y1);
      fft.inverseRealTyped(sr, si, y2);
      expect(maxAbsDiff(y2, y1)).toBeLessThan(1e-14);
      // Window and offsets: spectrum of the windowed slice written mid-array, and back.
      const w = Float64Array.from({ length: n }, () => r());
      const windowed = Float64Array.from({ length: n }, (_, i) => x[3 + i] * w[i]);
      fft.forwardReal(windowed, re1, im1);
      const re3 = new Float32Array(fft.bins + 5);
      const im3 = new Float32Array(fft.bins + 5);
      fft.forwardRealTyped(x, re3, im3, 3, w, 5);
      expect(maxAbsDiff(re3.subarray(5), re1) / maxAbs(re1)).toBeLessThan(1e-6);
      expect(maxAbsDiff(im3.subarray(5), im1) / maxAbs(re1)).toBeLessThan(1e-6);
      const spread = new Float64Array(fft.bins + 2);
      const spreadIm = new Float64Array(fft.bins + 2);
      spread.set(sr, 2);
      spreadIm.set(si, 2);
      fft.inverseRealTyped(spread, spreadIm, y2, 2, w);
      expect(
        maxAbsDiff(
          y2,
          y1.map((v, i) => v * w[i]),
        ),
      ).toBeLessThan(1e-14);
    }
  });
});
