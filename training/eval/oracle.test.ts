import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WaveFile } from 'wavefile';
import { mulberry32 as rng } from '../../src/core/random';
import { istft, stft } from '../../src/core/stft';
import { isOracleKind, mixtureOf, ORACLE_KINDS, oracleSeparate, type StemAudio } from './oracle';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TRACK_DIR = path.resolve(repoRoot, '../shared/data/musdb18-hq-sample/test/Mu - Too Bright');
const MUSDB = ['drums', 'bass', 'other', 'vocals'];

/** Synthetic stems with different spectra (tone, noise, clicks) so the masks are far from uniform. */
function syntheticStems(length: number, seed: number): StemAudio {
  const r = rng(seed);
  const tone = [0, 1].map((c) => Float32Array.from({ length }, (_, i) => 0.4 * Math.sin(0.05 * i + c)));
  const noise = [0, 1].map(() => Float32Array.from({ length }, () => 0.2 * (r() - 0.5)));
  const clicks = [0, 1].map((c) => Float32Array.from({ length }, (_, i) => (i % 3001 === c ? 0.9 : 0)));
  return { tone, noise, clicks };
}

function energy(a: readonly Float32Array[]): number {
  let e = 0;
  for (const ch of a) for (let i = 0; i < ch.length; i++) e += ch[i] * ch[i];
  return e;
}

function errorEnergy(a: readonly Float32Array[], b: readonly ArrayLike<number>[]): number {
  let e = 0;
  for (let c = 0; c < b.length; c++) {
    expect(a[c].length).toBe(b[c].length);
    for (let i = 0; i < b[c].length; i++) e += (a[c][i] - b[c][i]) ** 2;
  }
  return e;
}

/** Sum of the estimates, per channel, in double precision. */
function sumOf(estimates: Record<string, Float32Array[]>): Float64Array[] {
  const names = Object.keys(estimates);
  return estimates[names[0]].map((ch0, c) => {
    const s = new Float64Array(ch0.length);
    for (const name of names) {
      const x = estimates[name][c];
      for (let i = 0; i < x.length; i++) s[i] += x[i];
    }
    return s;
  });
}

function db(ratio: number): number {
  return 10 * Math.log10(ratio);
}

describe('oracles on synthetic stems', () => {
  const length = 3 * 44_100 + 123;
  const stems = syntheticStems(length, 1);
  const mixture = mixtureOf(stems);

  it('lists the kinds', () => {
    expect(ORACLE_KINDS).toEqual(['mix', 'mixture', 'irm1', 'irm2']);
    expect(isOracleKind('irm2')).toBe(true);
    expect(isOracleKind('ibm')).toBe(false);
  });

  it('mix: every stem is mixture / J and they sum to the mixture', () => {
    const est = oracleSeparate('mix', stems);
    expect(Object.keys(est)).toEqual(['tone', 'noise', 'clicks']);
    for (const name of Object.keys(est)) {
      for (let c = 0; c < 2; c++) {
        for (let i = 0; i < length; i += 997) expect(est[name][c][i]).toBeCloseTo(mixture[c][i] / 3, 7);
      }
    }
    expect(db(errorEnergy(mixture, sumOf(est)) / energy(mixture))).toBeLessThan(-120);
  });

  it('mixture: every stem is the whole mixture', () => {
    const est = oracleSeparate('mixture', stems);
    expect(Object.keys(est)).toEqual(['tone', 'noise', 'clicks']);
    for (const name of Object.keys(est)) {
      for (let c = 0; c < 2; c++) expect(est[name][c]).toEqual(mixture[c]);
    }
  });

  for (const kind of ['irm1', 'irm2'] as const) {
    it(`${kind}: estimates keep the length and sum to the mixture within −80 dB`, () => {
      const est = oracleSeparate(kind, stems);
      for (const name of Object.keys(stems)) {
        expect(est[name].length).toBe(2);
        expect(est[name][0].length).toBe(length);
      }
      expect(db(errorEnergy(mixture, sumOf(est)) / energy(mixture))).toBeLessThan(-80);
    });

    it(`${kind}: a source alone (others silent) is reproduced and the silent ones stay silent`, () => {
      const alone: StemAudio = {
        tone: stems.tone,
        noise: [new Float32Array(length), new Float32Array(length)],
        clicks: [new Float32Array(length), new Float32Array(length)],
      };
      const est = oracleSeparate(kind, alone);
      expect(db(errorEnergy(est.tone, stems.tone) / energy(stems.tone))).toBeLessThan(-80);
      expect(db(energy(est.noise) / energy(stems.tone))).toBeLessThan(-80);
    });

    it(`${kind}: equals the whole-signal mask computation done here with stft / istft`, () => {
      const p = kind === 'irm1' ? 1 : 2;
      const short = syntheticStems(20_000, 2);
      const names = Object.keys(short);
      const specs = names.map((n) => stft(short[n], { float64: true }));
      const x = stft(mixtureOf(short), { float64: true });
      const est = oracleSeparate(kind, short);
      for (let j = 0; j < names.length; j++) {
        const y = stft(short[names[j]], { float64: true });
        for (let i = 0; i < x.re.length; i++) {
          let total = 0;
          for (const s of specs) total += Math.hypot(s.re[i], s.im[i]) ** p;
          const m = total > 0 ? Math.hypot(specs[j].re[i], specs[j].im[i]) ** p / total : 1 / names.length;
          y.re[i] = m * x.re[i];
          y.im[i] = m * x.im[i];
        }
        const expected = istft(y, { length: 20_000 });
        expect(db(errorEnergy(est[names[j]], expected) / energy(expected))).toBeLessThan(-100);
      }
    });
  }

  it('is exact on silence and rejects inconsistent stems', () => {
    const silent: StemAudio = { a: [new Float32Array(5000)], b: [new Float32Array(5000)] };
    for (const kind of ORACLE_KINDS) {
      const est = oracleSeparate(kind, silent);
      expect(est.a[0].every((v) => v === 0)).toBe(true);
    }
    expect(() => oracleSeparate('irm2', { a: [new Float32Array(10)], b: [new Float32Array(11)] })).toThrow(
      /samples/,
    );
    expect(() => oracleSeparate('mix', {})).toThrow(/no stems/);
  });
});

function readWav(file: string): Float32Array[] {
  const wav = new WaveFile(readFileSync(file));
  const fmt = wav.fmt as { bitsPerSample: number };
  const scale = 2 ** (fmt.bitsPerSample - 1);
  const samples = wav.getSamples(false, Float64Array) as unknown as Float64Array[] | Float64Array;
  const channels = Array.isArray(samples) ? samples : [samples];
  return channels.map((ch) => Float32Array.from(ch, (v) => v / scale));
}

describe.skipIf(!existsSync(TRACK_DIR))(`oracles on MUSDB18-HQ "Mu - Too Bright" (${TRACK_DIR})`, () => {
  it('irm2 and irm1 are closer to the true stems than the mix oracle', () => {
    const stems: StemAudio = {};
    for (const name of MUSDB) stems[name] = readWav(path.join(TRACK_DIR, `${name}.wav`));
    expect(stems.vocals.length).toBe(2);
    expect(stems.vocals[0].length).toBeGreaterThan(6 * 44_100);
    const err = (kind: (typeof ORACLE_KINDS)[number]) => {
      const t0 = performance.now();
      const est = oracleSeparate(kind, stems);
      const ms = performance.now() - t0;
      const perStem = MUSDB.map((n) => errorEnergy(est[n], stems[n]));
      console.log(
        `${kind}: ${ms.toFixed(0)} ms, error/energy per stem (dB): ` +
          MUSDB.map((n, j) => `${n} ${db(perStem[j] / energy(stems[n])).toFixed(1)}`).join(', '),
      );
      return perStem.reduce((a, b) => a + b, 0);
    };
    const mix = err('mix');
    const irm1 = err('irm1');
    const irm2 = err('irm2');
    expect(irm2).toBeLessThan(mix);
    expect(irm1).toBeLessThan(mix);
  });
});

if (!existsSync(TRACK_DIR)) {
  console.warn(
    `oracle.test: skipping the MUSDB18-HQ check, ${TRACK_DIR} is absent (../shared beside the checkout)`,
  );
}
