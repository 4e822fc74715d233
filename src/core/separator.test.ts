import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random';
import { ChunkedSeparator, type MagnitudeModel, separateSignal } from './separator';

/** A frame-local stand-in model: "low" = bins below `split`, "high" = the rest. No temporal context. */
function bandSplitModel(split: number): MagnitudeModel {
  return {
    targets: ['low', 'high'],
    async estimate(mag, channels, bins, frames) {
      const low = new Float32Array(mag.length);
      const high = new Float32Array(mag.length);
      for (let c = 0; c < channels; c++) {
        for (let k = 0; k < bins; k++) {
          const o = (c * bins + k) * frames;
          for (let t = 0; t < frames; t++) (k < split ? low : high)[o + t] = mag[o + t];
        }
      }
      return [low, high];
    },
  };
}

function signal(length: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  return [0, 1].map((c) =>
    Float32Array.from(
      { length },
      (_, i) =>
        0.3 * Math.sin((2 * Math.PI * 110 * i) / 44_100 + c) +
        0.2 * Math.sin((2 * Math.PI * 5000 * i) / 44_100) +
        0.05 * (rand() - 0.5),
    ),
  );
}

function errorDb(x: Float32Array[], ref: Float32Array[]): number {
  let e = 0;
  let r = 0;
  ref.forEach((ch, c) => {
    for (let i = 0; i < ch.length; i++) {
      e += (x[c][i] - ch[i]) ** 2;
      r += ch[i] ** 2;
    }
  });
  return 10 * Math.log10(e / r);
}

function sumStems(stems: Record<string, Float32Array[]>): Float32Array[] {
  const all = Object.values(stems);
  return all[0].map((_, c) => {
    const out = new Float32Array(all[0][c].length);
    for (const s of all) for (let i = 0; i < out.length; i++) out[i] += s[c][i];
    return out;
  });
}

describe('separateSignal', () => {
  it('separates a low tone from a high one with a band-split model', async () => {
    const x = signal(44_100, 1);
    const stems = await separateSignal(bandSplitModel(100), x, { wienerIterations: 0 });
    const lowOnly = [0, 1].map((c) =>
      Float32Array.from(x[c], (_, i) => 0.3 * Math.sin((2 * Math.PI * 110 * i) / 44_100 + c)),
    );
    expect(errorDb(stems.low, lowOnly)).toBeLessThan(-20);
  });

  it('with a residual stem, the stems sum to the mixture (≤ −60 dB), also after one EM iteration', async () => {
    const x = signal(30_000, 2);
    for (const wienerIterations of [0, 1]) {
      const stems = await separateSignal(bandSplitModel(300), x, { wienerIterations, residual: true });
      expect(Object.keys(stems)).toEqual(['low', 'high', 'residual']);
      expect(errorDb(sumStems(stems), x)).toBeLessThan(-60);
    }
  });

  it('with exactSum and no residual, the stems sum to the mixture after EM too', async () => {
    const x = signal(30_000, 5);
    const plain = await separateSignal(bandSplitModel(300), x, { wienerIterations: 1 });
    const exact = await separateSignal(bandSplitModel(300), x, { wienerIterations: 1, exactSum: true });
    expect(Object.keys(exact)).toEqual(['low', 'high']);
    expect(errorDb(sumStems(exact), x)).toBeLessThan(-60);
    // The shared remainder is tiny: the stems barely move.
    expect(errorDb(exact.low, plain.low)).toBeLessThan(-40);
  });
});

describe('ChunkedSeparator', () => {
  const chunking = { segment: 20_000, overlap: 4_000 };

  it('returns exactly the input length whatever the block sizes', async () => {
    const x = signal(53_333, 3);
    const rand = mulberry32(9);
    const sep = new ChunkedSeparator(bandSplitModel(200), 2, { wienerIterations: 0 }, chunking);
    let got = 0;
    for (let i = 0; i < x[0].length; ) {
      const n = Math.min(1 + Math.floor(rand() * 9000), x[0].length - i);
      const out = await sep.push(x.map((ch) => ch.subarray(i, i + n)));
      if (out) got += out.low[0].length;
      i += n;
    }
    const rest = await sep.flush();
    if (rest) got += rest.low[0].length;
    expect(got).toBe(x[0].length);
    expect(sep.outputLength).toBe(x[0].length);
  });

  it('matches whole-signal separation for a frame-local model, and keeps stems summing to the mix', async () => {
    const x = signal(70_000, 4);
    const whole = await separateSignal(bandSplitModel(200), x, { wienerIterations: 0, residual: true });
    const sep = new ChunkedSeparator(
      bandSplitModel(200),
      2,
      { wienerIterations: 0, residual: true },
      chunking,
    );
    const parts = [await sep.push(x), await sep.flush()].filter((p) => p !== null);
    const chunked: Record<string, Float32Array[]> = {};
    for (const name of Object.keys(whole)) {
      chunked[name] = [0, 1].map((c) => {
        const out = new Float32Array(x[0].length);
        let o = 0;
        for (const p of parts) {
          out.set(p[name][c], o);
          o += p[name][c].length;
        }
        return out;
      });
    }
    // Only the STFT's edge frames at segment borders differ, and the cross-fade hides most of that.
    expect(errorDb(chunked.low, whole.low)).toBeLessThan(-40);
    expect(errorDb(sumStems(chunked), x)).toBeLessThan(-60);
  });

  it('rejects an overlap as long as the segment', () => {
    expect(() => new ChunkedSeparator(bandSplitModel(1), 2, {}, { segment: 10, overlap: 10 })).toThrow(
      /overlap/,
    );
  });
});
