import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random';
import {
  ChunkedSeparator,
  type ChunkingOptions,
  channelSwapAveraged,
  chunkingLatency,
  LOW_LATENCY_OPTIONS,
  type MagnitudeModel,
  resolveChunking,
  separateSignal,
  wienerReach,
} from './separator';

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

/**
 * Like bandSplitModel but with a soft, channel-dependent split, so both targets share every bin and
 * the Wiener/EM covariances matter.
 */
function leakyModel(split: number): MagnitudeModel {
  return {
    targets: ['low', 'high'],
    async estimate(mag, channels, bins, frames) {
      const low = new Float32Array(mag.length);
      const high = new Float32Array(mag.length);
      for (let c = 0; c < channels; c++) {
        for (let k = 0; k < bins; k++) {
          const w = 1 / (1 + Math.exp((k - split) / (20 + 10 * c)));
          const o = (c * bins + k) * frames;
          for (let t = 0; t < frames; t++) {
            low[o + t] = w * mag[o + t];
            high[o + t] = (1 - w) * mag[o + t];
          }
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

function joinAll(parts: Record<string, Float32Array[]>[], length: number): Record<string, Float32Array[]> {
  const out: Record<string, Float32Array[]> = {};
  for (const name of Object.keys(parts[0])) {
    out[name] = [0, 1].map((c) => {
      const ch = new Float32Array(length);
      let o = 0;
      for (const p of parts) {
        ch.set(p[name][c], o);
        o += p[name][c].length;
      }
      expect(o).toBe(length);
      return ch;
    });
  }
  return out;
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

describe('separateSignal with a group network (hierarchical stems)', () => {
  /** leakyModel's two outputs as bass and guitar+piano, the group shared among guitar and piano by bin. */
  function hierarchical(split: number, memberSplit: number): MagnitudeModel {
    const flat = leakyModel(split);
    return {
      targets: ['bass', 'guitar', 'piano', 'guitar+piano'],
      async estimate(mag, channels, bins, frames) {
        const [low, high] = await flat.estimate(mag, channels, bins, frames);
        const guitar = new Float32Array(high.length);
        const piano = new Float32Array(high.length);
        for (let c = 0; c < channels; c++) {
          for (let k = 0; k < bins; k++) {
            const o = (c * bins + k) * frames;
            // Member estimates need not sum to the group's: only their ratio is used.
            for (let t = 0; t < frames; t++) (k < memberSplit ? guitar : piano)[o + t] = 3 * high[o + t];
          }
        }
        return [low, guitar, piano, high];
      },
    };
  }
  const asFlat = (m: MagnitudeModel): MagnitudeModel => ({ ...m, targets: ['bass', 'other'] });

  it('leaves the top level as the flat model has it, and the members sum to the group', async () => {
    const x = signal(30_000, 11);
    for (const options of [{ wienerIterations: 1 }, { wienerIterations: 1, exactSum: true }]) {
      const flat = await separateSignal(asFlat(leakyModel(300)), x, options);
      const stems = await separateSignal(hierarchical(300, 500), x, options);
      expect(Object.keys(stems)).toEqual(['bass', 'guitar', 'piano']);
      expect(stems.bass).toEqual(flat.bass);
      expect(errorDb(sumStems({ guitar: stems.guitar, piano: stems.piano }), flat.other)).toBeLessThan(-100);
    }
  });

  it("shares the group's result by the members' estimates: the 5-kHz tone goes to the member owning its bins", async () => {
    const x = signal(30_000, 12);
    // Group = bins above 300 (the 5-kHz tone is bin ≈ 464); guitar owns bins < 1000 of it, piano the rest.
    const stems = await separateSignal(hierarchical(300, 1000), x, { wienerIterations: 0 });
    const tone = [0, 1].map(() =>
      Float32Array.from(x[0], (_, i) => 0.2 * Math.sin((2 * Math.PI * 5000 * i) / 44_100)),
    );
    expect(errorDb(stems.guitar, tone)).toBeLessThan(-15);
    // Piano got (almost) nothing: its energy relative to the tone's.
    const energy = (chs: Float32Array[]) => chs.reduce((e, ch) => e + ch.reduce((a, v) => a + v * v, 0), 0);
    expect(10 * Math.log10(energy(stems.piano) / energy(tone))).toBeLessThan(-15);
  });

  it('adds a residual at the top level', async () => {
    const x = signal(30_000, 13);
    const stems = await separateSignal(hierarchical(300, 500), x, { wienerIterations: 1, residual: true });
    expect(Object.keys(stems)).toEqual(['bass', 'guitar', 'piano', 'residual']);
    expect(errorDb(sumStems(stems), x)).toBeLessThan(-60);
  });
});

describe('ChunkedSeparator', () => {
  const chunking = { segment: 20_000, overlap: 4_000 };

  const centred: ChunkingOptions = { segment: 20_000, overlap: 8_000, fade: 1_000 };
  const hardCut: ChunkingOptions = { segment: 20_000, overlap: 8_000, fade: 0 };
  /** A short first segment (a stream that must start soon): its step rounds down to the hop. */
  const shortFirst: ChunkingOptions = { segment: 20_000, overlap: 8_000, fade: 1_000, first: 12_000 };

  it('rounds a short first segment to the STFT hop and refuses one that cannot hold the overlap', () => {
    const r = resolveChunking(shortFirst);
    expect(r.firstStep % 1024).toBe(0);
    expect(r.first).toBe(r.firstStep + r.overlap);
    expect(r.first).toBeLessThanOrEqual(12_000);
    expect(resolveChunking(chunking).first).toBe(chunking.segment);
    expect(() => resolveChunking({ ...shortFirst, first: 8_500 })).toThrow(/first/);
    expect(() => resolveChunking({ ...shortFirst, first: 30_000 })).toThrow(/first/);
  });

  for (const [name, c] of Object.entries({ chunking, centred, hardCut, shortFirst })) {
    it(`returns exactly the input length whatever the block sizes (${name})`, async () => {
      const { step, overlap } = resolveChunking(c);
      // Lengths ending inside a segment, right at the end of one, and within the last overlap.
      for (const length of [53_333, 7_000, c.segment + 2 * step, c.segment + step + overlap - 5]) {
        const x = signal(length, 3);
        const rand = mulberry32(9);
        const sep = new ChunkedSeparator(bandSplitModel(200), 2, { wienerIterations: 0 }, c);
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
      }
    });
  }

  it('releases each block of output after the input latency chunkingLatency states', async () => {
    for (const c of [chunking, centred, shortFirst]) {
      const latency = chunkingLatency(c);
      const x = signal(100_000, 6);
      const sep = new ChunkedSeparator(bandSplitModel(200), 2, { wienerIterations: 0 }, c);
      const block = 100;
      for (let i = 0; i < x[0].length; i += block) {
        const before = sep.outputLength;
        await sep.push(x.map((ch) => ch.subarray(i, i + block)));
        const after = sep.outputLength;
        if (after === before) continue;
        const input = i + block;
        // The first new sample waited `max` (`first` for the very first block), the last one `min`.
        // Blocks of output are released when the input reaches a segment's end (within one block).
        // Their first sample waited `max` (`first` for the very first block), their last one `min`.
        const first = before === 0 ? latency.first : latency.max;
        expect(input - before).toBeGreaterThanOrEqual(first);
        expect(input - before).toBeLessThan(first + block);
        expect(input - (after - 1)).toBeGreaterThanOrEqual(latency.min);
        expect(input - (after - 1)).toBeLessThan(latency.min + block);
      }
    }
  });

  it('with a centred fade leaving context ≥ the Wiener reach, equals whole-signal separation with EM', async () => {
    const options = { wienerIterations: 1, exactSum: true, ...LOW_LATENCY_OPTIONS };
    const c: ChunkingOptions = { segment: 60_000, overlap: 45_000, fade: 4_000 };
    expect(resolveChunking(c).context).toBeGreaterThanOrEqual(wienerReach(options));
    const x = signal(150_000, 7);
    const whole = await separateSignal(leakyModel(60), x, options);
    const sep = new ChunkedSeparator(leakyModel(60), 2, options, c);
    const parts = [] as Record<string, Float32Array[]>[];
    for (let i = 0; i < x[0].length; i += 7_777) {
      const out = await sep.push(x.map((ch) => ch.subarray(i, i + 7_777)));
      if (out) parts.push(out);
    }
    const rest = await sep.flush();
    if (rest) parts.push(rest);
    const chunked = joinAll(parts, x[0].length);
    expect(errorDb(chunked.low, whole.low)).toBeLessThan(-90);
    expect(errorDb(chunked.high, whole.high)).toBeLessThan(-90);
    expect(errorDb(sumStems(chunked), x)).toBeLessThan(-60);
    // So does a short first segment (the in-sync remix's quick start) with the same context.
    const quick = new ChunkedSeparator(leakyModel(60), 2, options, { ...c, first: 50_000 });
    const q = joinAll(
      [await quick.push(x), await quick.flush()].filter((p) => p !== null),
      x[0].length,
    );
    expect(errorDb(q.low, whole.low)).toBeLessThan(-90);
    // A trailing cross-fade (no context) with whole-segment covariances is visibly further off.
    const trailing = new ChunkedSeparator(
      leakyModel(60),
      2,
      { ...options, wienerWindow: 0 },
      {
        segment: 60_000,
        overlap: 45_000,
      },
    );
    const wholeOne = await separateSignal(leakyModel(60), x, { ...options, wienerWindow: 0 });
    const t = joinAll(
      [await trailing.push(x), await trailing.flush()].filter((p) => p !== null),
      x[0].length,
    );
    expect(errorDb(t.low, wholeOne.low)).toBeGreaterThan(-90);
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
    const chunked = joinAll(parts, x[0].length);
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

describe('channelSwapAveraged (test-time augmentation)', () => {
  const bins = 3;
  const frames = 4;
  const input = Float32Array.from({ length: 2 * bins * frames }, (_, i) => i + 1);
  // Not swap-equivariant: weighs the left channel twice, the right once, per target j by (j + 1).
  const lopsided: MagnitudeModel = {
    targets: ['vocals', 'drums'],
    async estimate(m, _channels, b, f) {
      const plane = b * f;
      return [1, 2].map((k) => m.map((v, i) => k * v * (i < plane ? 2 : 1)));
    },
  };

  it('averages the direct estimate with the swapped one swapped back', async () => {
    const out = await channelSwapAveraged(lopsided).estimate(input, 2, bins, frames);
    expect(out).toHaveLength(2);
    // Each channel is seen once on the left (×2) and once on the right (×1): 1.5× on average.
    for (const [j, est] of out.entries()) {
      expect(Array.from(est)).toEqual(Array.from(input, (v) => (j + 1) * 1.5 * v));
    }
  });

  it('leaves a swap-equivariant model unchanged and passes mono through', async () => {
    const identity: MagnitudeModel = { targets: ['vocals'], estimate: async (m) => [m.slice()] };
    expect(Array.from((await channelSwapAveraged(identity).estimate(input, 2, bins, frames))[0])).toEqual(
      Array.from(input),
    );
    const mono = input.subarray(0, bins * frames);
    const [est] = await channelSwapAveraged(lopsided).estimate(mono, 1, bins, frames);
    expect(Array.from(est)).toEqual(Array.from(mono, (v) => 2 * v));
  });
});
