/**
 * One song: plan → parts → MIDI → FluidSynth (one process per soundfont used, parts one after another
 * in time) → per-part processing (amp/cabinet for electric guitars, EQ, compression, stereo placement)
 * → stems (plus real MUSDB18 drums/bass/vocals and real guitar/piano recordings where drawn) → reverb
 * and levels → mixture = Σ stems → `<out>/<song>/<target>.wav`, `mixture.wav`, `manifest.json`, MIDI.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_RATE } from '../../src/core/audio';
import { STEM_NAMES, type StemName } from '../../src/core/stems';
import { writeFileAtomic } from '../node/atomic';
import { writeWav } from '../node/audio-io';
import { chooseParts, composeParts, planSong, type SongPlan } from './compose';
import {
  type AmpSettings,
  ampChain,
  type BiquadSpec,
  compress,
  eq,
  loudnessLufs,
  peakOf,
  placeStereo,
  reverb,
  scale,
} from './dsp';
import { renderMidi, type SoundfontInfo } from './fluidsynth';
import { type GuitarixSettings, guitarixChain, randomGuitarix } from './guitarix';
import { partsToMidi, partToMidi } from './midi';
import { decodeAugmented, loadMusdbRhythm, type Recording, recordingSeconds } from './real';
import { deriveSeed, Rng } from './rng';

export const SYNTH_FORMAT_VERSION = 1;

export interface SongSpec {
  index: number;
  name: string;
  kind: 'synthetic' | 'hybrid';
  seconds: number;
  /** Hybrid songs: the MUSDB18 track and where its excerpt starts. */
  musdb?: { path: string; name: string; start: number };
}

export interface SongContext {
  seed: number;
  out: string;
  soundfonts: SoundfontInfo[];
  recordings: Recording[];
  /** Probability that a song's guitar (piano) stem is made of real recordings instead of MIDI. */
  recordingFraction: number;
  format: 'float32' | 'pcm16';
  keepMidi: boolean;
  /**
   * Electric guitar's amp: the hand-written `ampChain`, or guitarix's amp and pedal models with the
   * same cabinet (`guitarix.ts`). Both draw the same songs; guitarix's choices come from their own
   * random stream, so the rest of a song is identical either way.
   */
  amp: AmpModel;
}

export type AmpModel = 'builtin' | 'guitarix';
export const AMP_MODELS: readonly AmpModel[] = ['builtin', 'guitarix'];

/**
 * Amp and cabinet for an electric guitar part or DI recording, in place, as `ctx.amp` says; returns
 * guitarix's settings where it ran. A part is high-gain where its drawn drive is (`randomAmp`: 22 dB
 * and up).
 */
async function applyAmp(
  mono: Float32Array,
  amp: AmpSettings,
  ctx: SongContext,
  gxRng: Rng,
): Promise<GuitarixSettings | null> {
  if (ctx.amp === 'builtin') {
    ampChain(mono, amp);
    return null;
  }
  const settings = randomGuitarix(gxRng, amp.driveDb >= 20);
  await guitarixChain(mono, settings, amp);
  return settings;
}

export interface StemInfoOut {
  file: string;
  source: 'generated' | 'musdb18' | 'recording' | 'mixed' | 'silent';
  peak: number;
  lufs: number | null;
}

export interface SongResult {
  name: string;
  seconds: number;
  kind: SongSpec['kind'];
  stems: Record<StemName, StemInfoOut>;
  mixture: { peak: number; lufs: number | null };
  renderSeconds: number;
}

const ELECTRIC_GUITAR_PROGRAMS = new Set([26, 27, 28, 29, 30, 31]);

/** Target loudness (LUFS) of each stem before the random offset. */
const STEM_LOUDNESS: Record<StemName, number> = {
  vocals: -20,
  drums: -19,
  bass: -21,
  guitar: -21,
  piano: -22,
  other: -24,
};

/** Loudness of the real MUSDB18 drums + bass + vocals together, before the per-stem offsets. */
const MUSDB_LOUDNESS = -17;

function zeros(n: number): Float32Array[] {
  return [new Float32Array(n), new Float32Array(n)];
}

function addInto(dst: Float32Array[], src: Float32Array[], offset = 0): void {
  for (let c = 0; c < 2; c++) {
    const d = dst[c];
    const s = src[c % src.length];
    const n = Math.min(s.length, d.length - offset);
    for (let i = 0; i < n; i++) d[offset + i] += s[i];
  }
}

function randomEq(rng: Rng): BiquadSpec[] {
  return [
    { kind: 'highpass', freq: rng.range(20, 60) },
    { kind: 'lowshelf', freq: rng.range(80, 250), gainDb: rng.range(-3, 3) },
    { kind: 'peak', freq: rng.range(300, 4000), q: rng.range(0.7, 2), gainDb: rng.range(-4, 4) },
    { kind: 'highshelf', freq: rng.range(3000, 9000), gainDb: rng.range(-4, 3) },
  ];
}

export function randomAmp(rng: Rng, highGain: boolean, preDistorted: boolean): AmpSettings {
  const drive = highGain ? rng.range(22, 42) : rng.range(0, 14);
  return {
    driveDb: preDistorted ? Math.min(drive, rng.range(0, 10)) : drive,
    bias: rng.range(0, 0.25),
    bass: rng.range(-3, 4),
    mid: highGain ? rng.range(-6, 2) : rng.range(-2, 4),
    treble: rng.range(-3, 4),
    cabLowpass: rng.range(3500, 6500),
    cabResonance: rng.range(90, 140),
  };
}

function fade(channels: Float32Array[], inSamples: number, outSamples: number): void {
  for (const c of channels) {
    const n = c.length;
    for (let i = 0; i < Math.min(inSamples, n); i++) c[i] *= i / inSamples;
    for (let i = 0; i < Math.min(outSamples, n); i++) c[n - 1 - i] *= i / outSamples;
  }
}

function round2(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : x;
}

interface RecordingPlan {
  target: 'guitar' | 'piano';
  amp: AmpSettings;
  pan: number;
  width: number;
  excerpts: {
    rec: Recording;
    at: number;
    start: number;
    semitones: number;
    tempo: number;
    levelDb: number;
    eq: BiquadSpec[];
    audio: Promise<Float32Array[]>;
  }[];
}

interface PartLog {
  part: string;
  target: StemName;
  style: string;
  program: number;
  soundfont: string;
  notes: number;
  bends: number;
  amp?: AmpSettings;
  /** Where `--amp guitarix` ran: its amp and pedal (the cabinet is `amp`'s). */
  guitarix?: GuitarixSettings;
  pan: number;
}

/** Renders one song into `<ctx.out>/<spec.name>/`; deterministic in (ctx.seed, spec). */
export async function renderSong(spec: SongSpec, ctx: SongContext): Promise<SongResult> {
  const t0 = performance.now();
  const rng = new Rng(deriveSeed(ctx.seed, 'song', spec.index));
  const gxRng = new Rng(deriveSeed(ctx.seed, 'guitarix', spec.index));
  const n = Math.round(spec.seconds * SAMPLE_RATE);
  const plan: SongPlan = planSong(rng, spec.seconds);
  plan.duration = spec.seconds;
  const choice = chooseParts(rng, { generateRhythmSection: spec.kind === 'synthetic' });
  const guitarRecs = ctx.recordings.filter((r) => r.instrument === 'guitar');
  const pianoRecs = ctx.recordings.filter((r) => r.instrument === 'piano');
  const realGuitar = guitarRecs.length > 0 && rng.chance(ctx.recordingFraction);
  const realPiano = pianoRecs.length > 0 && rng.chance(ctx.recordingFraction);
  if (realGuitar) choice.rhythmGuitar = choice.leadGuitar = false;
  if (realPiano) choice.keys = false;
  const parts = composeParts(rng, plan, choice);
  const sfFor = parts.map(() => rng.pick(ctx.soundfonts));
  // recordings: every random draw first, then the ffmpeg decodes start (they run while FluidSynth renders)
  const recordingPlans: RecordingPlan[] = [];
  let decodeQueue: Promise<unknown> = Promise.resolve();
  for (const [use, recs, target] of [
    [realGuitar, guitarRecs, 'guitar'],
    [realPiano, pianoRecs, 'piano'],
  ] as const) {
    if (!use) continue;
    const plan: RecordingPlan = {
      target,
      amp: randomAmp(rng, rng.chance(0.6), false),
      excerpts: [],
      pan: 0,
      width: 1,
    };
    let t = rng.range(0, 1);
    while (t < spec.seconds - 0.5) {
      // collection first, then a file: the 100-odd single piano notes do not crowd out the phrases
      const collection = rng.pick([...new Set(recs.map((r) => r.collection))]);
      const rec = rng.pick(recs.filter((r) => r.collection === collection));
      const recSeconds = await recordingSeconds(rec);
      const semitones = rng.chance(0.75) ? rng.int(-3, 3) : 0;
      const tempo = rng.chance(0.7) ? rng.range(0.85, 1.15) : 1;
      const want = Math.min(rng.range(2, 8), spec.seconds - t);
      const start = rng.range(0, Math.max(0, recSeconds - want * tempo - 0.05));
      // one ffmpeg at a time per song (a long song has dozens of excerpts)
      const audio = decodeQueue.then(() =>
        recSeconds > 0
          ? decodeAugmented(rec.path, start, want, semitones, tempo)
          : [new Float32Array(0), new Float32Array(0)],
      );
      decodeQueue = audio.then(
        () => undefined,
        () => undefined,
      ); // failures surface where `audio` is awaited
      plan.excerpts.push({
        rec,
        at: t,
        start,
        semitones,
        tempo,
        levelDb: rng.range(-4, 0),
        eq: randomEq(rng),
        audio,
      });
      t += want + rng.range(0, 1.5);
    }
    plan.pan = rng.range(-0.5, 0.5);
    plan.width = rng.range(0.3, 1);
    recordingPlans.push(plan);
  }

  const dir = join(ctx.out, spec.name);
  await mkdir(dir, { recursive: true });
  const scratch = await mkdtemp(join(tmpdir(), 'stemdeck-synth-'));
  const stems: Record<StemName, Float32Array[]> = Object.fromEntries(
    STEM_NAMES.map((s) => [s, zeros(n)]),
  ) as Record<StemName, Float32Array[]>;
  const sources: Record<StemName, Set<StemInfoOut['source']>> = Object.fromEntries(
    STEM_NAMES.map((s) => [s, new Set()]),
  ) as unknown as Record<StemName, Set<StemInfoOut['source']>>;
  const partLogs: PartLog[] = [];
  const recordingLogs: Record<string, unknown>[] = [];
  // the MUSDB18 decode (ffmpeg) runs while FluidSynth renders; it draws no random numbers
  const realPromise =
    spec.kind === 'hybrid' && spec.musdb
      ? loadMusdbRhythm(spec.musdb.path, spec.musdb.start, spec.seconds)
      : null;
  realPromise?.catch(() => undefined); // awaited below; avoid an unhandled rejection if rendering fails first
  try {
    // ---- MIDI parts: one FluidSynth process per soundfont, in parallel
    const groups = new Map<string, number[]>();
    sfFor.forEach((sf, k) => {
      groups.set(sf.id, [...(groups.get(sf.id) ?? []), k]);
    });
    const rendered: Float32Array[][] = new Array(parts.length);
    await Promise.all(
      [...groups.entries()].map(async ([id, idx]) => {
        const sf = ctx.soundfonts.find((s) => s.id === id)!;
        const midi = partsToMidi(
          idx.map((k) => parts[k]),
          spec.seconds,
        );
        const midiPath = join(scratch, `${id}.mid`);
        await writeFile(midiPath, midi.bytes);
        const audio = await renderMidi(midiPath, sf, join(scratch, `${id}.raw`));
        idx.forEach((k, j) => {
          const from = Math.round(midi.starts[j] * SAMPLE_RATE);
          rendered[k] = audio.map((c) => {
            const out = new Float32Array(n);
            out.set(c.subarray(from, Math.min(c.length, from + n)));
            return out;
          });
        });
      }),
    );
    if (ctx.keepMidi) {
      for (const p of parts) await writeFile(join(dir, `${p.name}.mid`), partToMidi(p, spec.seconds));
    }
    // ---- per-part processing (random draws in part order: deterministic)
    for (const [k, part] of parts.entries()) {
      let audio = rendered[k];
      let amp: AmpSettings | undefined;
      let guitarix: GuitarixSettings | null = null;
      const centre = part.name === 'drums' || part.name === 'bass';
      const doubled = parts.some((p) => p.name === 'rhythmGuitar2');
      const pan =
        part.name === 'rhythmGuitar2'
          ? rng.range(0.6, 1)
          : part.name === 'rhythmGuitar' && doubled
            ? -rng.range(0.6, 1)
            : centre
              ? rng.range(-0.1, 0.1)
              : rng.range(-0.7, 0.7);
      if (part.target === 'guitar' && ELECTRIC_GUITAR_PROGRAMS.has(part.program)) {
        const mono = new Float32Array(n);
        for (let i = 0; i < n; i++) mono[i] = (audio[0][i] + audio[1][i]) / 2;
        amp = randomAmp(
          rng,
          part.style === 'power-chords' || (part.name === 'leadGuitar' && rng.chance(0.7)),
          part.program === 29 || part.program === 30,
        );
        guitarix = await applyAmp(mono, amp, ctx, gxRng);
        const a = ((pan + 1) * Math.PI) / 4;
        audio = [
          mono.map((v) => v * Math.cos(a) * Math.SQRT2),
          mono.map((v) => v * Math.sin(a) * Math.SQRT2),
        ];
      } else {
        placeStereo(audio, pan, rng.range(0.5, 1));
      }
      eq(audio, randomEq(rng));
      if (rng.chance(0.6)) {
        compress(audio, {
          thresholdDb: rng.range(-18, -6),
          ratio: rng.range(2, 6),
          attackMs: rng.range(2, 30),
          releaseMs: rng.range(50, 300),
        });
      }
      const partPeak = peakOf(audio);
      if (partPeak > 0) scale(audio, (0.5 / partPeak) * 10 ** (rng.range(-4, 0) / 20));
      addInto(stems[part.target], audio);
      sources[part.target].add('generated');
      partLogs.push({
        part: part.name,
        target: part.target,
        style: part.style,
        program: part.program,
        soundfont: sfFor[k].id,
        notes: part.notes.length,
        bends: part.bends.length,
        ...(amp
          ? {
              amp: Object.fromEntries(
                Object.entries(amp).map(([key, v]) => [key, round2(v)]),
              ) as unknown as AmpSettings,
            }
          : {}),
        ...(guitarix ? { guitarix } : {}),
        pan: round2(pan),
      });
    }
    // ---- real recordings (guitar DI through the amp; piano), pitch-shifted and time-stretched
    for (const plan of recordingPlans) {
      const decoded = await Promise.all(plan.excerpts.map((e) => e.audio));
      for (const [k, e] of plan.excerpts.entries()) {
        const audio = decoded[k];
        if (audio[0].length === 0) continue;
        let placed = audio;
        let guitarix: GuitarixSettings | null = null;
        if (e.rec.di) {
          const mono = new Float32Array(audio[0].length);
          for (let i = 0; i < mono.length; i++) mono[i] = (audio[0][i] + audio[1][i]) / 2;
          guitarix = await applyAmp(mono, plan.amp, ctx, gxRng);
          placed = [mono, mono.slice()];
        }
        const p = peakOf(placed);
        if (p > 0) scale(placed, (0.5 / p) * 10 ** (e.levelDb / 20));
        eq(placed, e.eq);
        fade(placed, 441, 441);
        addInto(stems[plan.target], placed, Math.round(e.at * SAMPLE_RATE));
        recordingLogs.push({
          target: plan.target,
          file: e.rec.file,
          start: round2(e.start),
          at: round2(e.at),
          seconds: round2(audio[0].length / SAMPLE_RATE),
          pitchSemitones: e.semitones,
          tempo: round2(e.tempo),
          amp: e.rec.di
            ? Object.fromEntries(Object.entries(plan.amp).map(([key, v]) => [key, round2(v)]))
            : null,
          ...(guitarix ? { guitarix } : {}),
        });
      }
      placeStereo(stems[plan.target], plan.pan, plan.width);
      sources[plan.target].add('recording');
    }
    // ---- real MUSDB18 drums, bass, vocals
    if (realPromise) {
      const real = await realPromise;
      // one gain for the three (their own balance is kept, so a near-silent stem stays near silent),
      // then ±3 dB per stem
      const sum = zeros(n);
      for (const target of ['drums', 'bass', 'vocals'] as const) addInto(sum, real[target]);
      const lufs = loudnessLufs(sum);
      const common = Number.isFinite(lufs) ? 10 ** ((MUSDB_LOUDNESS - lufs) / 20) : 1;
      for (const target of ['drums', 'bass', 'vocals'] as const) {
        scale(real[target], common * 10 ** (rng.range(-3, 3) / 20));
        addInto(stems[target], real[target]);
        sources[target].add('musdb18');
      }
    }
    // ---- per-stem reverb (one room per song, a send per stem) and levels
    const room = { room: rng.range(0.3, 0.9), damp: rng.range(0.2, 0.8), predelayMs: rng.range(0, 40) };
    const wetRange: Record<StemName, [number, number]> = {
      vocals: [0, 0],
      drums: [0.02, 0.12],
      bass: [0, 0.03],
      guitar: [0.05, 0.25],
      piano: [0.05, 0.3],
      other: [0.1, 0.35],
    };
    const stemGainDb: Partial<Record<StemName, number>> = {};
    for (const target of STEM_NAMES) {
      const stem = stems[target];
      const wet = rng.range(...wetRange[target]);
      const offset = rng.range(-4, 4);
      if (sources[target].size === 0 || peakOf(stem) === 0) continue;
      if (sources[target].has('musdb18')) continue; // levelled above
      if (sources[target].has('generated') || sources[target].has('recording')) {
        if (wet > 0) reverb(stem, { ...room, wet });
      }
      const lufs = loudnessLufs(stem);
      if (Number.isFinite(lufs)) {
        const g = Math.min(30, STEM_LOUDNESS[target] + offset - lufs);
        stemGainDb[target] = round2(g);
        scale(stem, 10 ** (g / 20));
      }
    }
    for (const target of STEM_NAMES) fade(stems[target], 220, Math.min(n, Math.round(0.3 * SAMPLE_RATE)));
    // ---- mixture = Σ stems, scaled (all stems alike) to a random peak level in [0.5, 0.95]
    const targetPeak = rng.range(0.5, 0.95);
    let mixture = sumStems(stems, n, ctx.format);
    const mixPeak = peakOf(mixture);
    if (mixPeak > 0) {
      for (const target of STEM_NAMES) scale(stems[target], targetPeak / mixPeak);
      mixture = sumStems(stems, n, ctx.format);
    }
    // ---- write
    const stemInfo = {} as Record<StemName, StemInfoOut>;
    for (const target of STEM_NAMES) {
      const file = `${target}.wav`;
      await writeWav(
        join(dir, file),
        { sampleRate: SAMPLE_RATE, channels: stems[target] },
        { format: ctx.format },
      );
      const src = [...sources[target]];
      const peak = peakOf(stems[target]);
      const lufs = peak > 0 ? loudnessLufs(stems[target]) : Number.NEGATIVE_INFINITY;
      stemInfo[target] = {
        file,
        source: peak === 0 ? 'silent' : src.length > 1 ? 'mixed' : (src[0] ?? 'silent'),
        peak: Math.round(peak * 1e4) / 1e4,
        lufs: Number.isFinite(lufs) ? round2(lufs) : null,
      };
    }
    await writeWav(
      join(dir, 'mixture.wav'),
      { sampleRate: SAMPLE_RATE, channels: mixture },
      { format: ctx.format },
    );
    const mixLufs = loudnessLufs(mixture);
    const result: SongResult = {
      name: spec.name,
      seconds: spec.seconds,
      kind: spec.kind,
      stems: stemInfo,
      mixture: {
        peak: Math.round(peakOf(mixture) * 1e4) / 1e4,
        lufs: Number.isFinite(mixLufs) ? round2(mixLufs) : null,
      },
      renderSeconds: (performance.now() - t0) / 1000,
    };
    const manifest = {
      format: 'stemdeck-synth-song',
      version: SYNTH_FORMAT_VERSION,
      name: spec.name,
      seed: ctx.seed,
      index: spec.index,
      songSeed: deriveSeed(ctx.seed, 'song', spec.index),
      kind: spec.kind,
      sampleRate: SAMPLE_RATE,
      channels: 2,
      length: n,
      seconds: spec.seconds,
      wavFormat: ctx.format,
      plan: {
        genre: plan.genre,
        tempo: plan.tempo,
        beatsPerBar: plan.beatsPerBar,
        swing: round2(plan.swing),
        key: plan.key,
        mode: plan.mode,
        sections: plan.sections,
        chords: plan.chords.length,
      },
      parts: partLogs,
      recordings: recordingLogs,
      musdb18: spec.musdb
        ? { track: spec.musdb.name, start: round2(spec.musdb.start), stems: ['drums', 'bass', 'vocals'] }
        : null,
      stemGainDb,
      stems: stemInfo,
      mixture: result.mixture,
      note: 'mixture.wav is the sample-wise sum of the six stem files (float32 sum; pcm16: integer sum)',
    };
    await writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return result;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Σ stems in a fixed order. float32: each stem is already float32, the sum is rounded once to float32.
 * pcm16: every stem is first rounded to the 16-bit grid (what its file will hold), so the mixture file
 * is their exact integer sum.
 */
export function sumStems(
  stems: Record<StemName, Float32Array[]>,
  n: number,
  format: 'float32' | 'pcm16',
): Float32Array[] {
  if (format === 'pcm16') {
    for (const t of STEM_NAMES) {
      for (const c of stems[t])
        for (let i = 0; i < n; i++)
          c[i] = Math.max(-32768, Math.min(32767, Math.round(c[i] * 32768))) / 32768;
    }
  }
  const mix = zeros(n);
  for (let c = 0; c < 2; c++) {
    const acc = new Float64Array(n);
    for (const t of STEM_NAMES) {
      const x = stems[t][c];
      for (let i = 0; i < n; i++) acc[i] += x[i];
    }
    mix[c].set(acc);
  }
  return mix;
}
