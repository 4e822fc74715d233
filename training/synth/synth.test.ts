import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMidi } from 'midi-file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { STEM_NAMES } from '../../src/core/stems';
import { listStemFolders, loadStemFolderTrack } from '../data/stems-folder';
import { toneEnergy } from '../data/testing';
import { readWav, writeWav } from '../node/audio-io';
import {
  CHORD_TONES,
  composeParts,
  GENRES,
  GM_DRUM_NOTES,
  guitarVoicing,
  PART_RANGE,
  type Part,
  planSong,
} from './compose';
import { ampChain, sineWave } from './dsp';
import { checkSynthSetup, SOUNDFONTS, SynthSetupError } from './fluidsynth';
import { checkGuitarix, guitarixChain, randomGuitarix } from './guitarix';
import { DRUM_CHANNEL, partsToMidi } from './midi';
import { listRecordings, recordingPart } from './real';
import { Rng } from './rng';
import { runSynth } from './run';

function songParts(seed: number): Part[] {
  const rng = new Rng(seed);
  const plan = planSong(rng, 40, GENRES[seed % GENRES.length]);
  plan.duration = 40; // as renderSong does: the song is cut at its requested length
  const all = { drums: true, bass: true, rhythmGuitar: true, leadGuitar: true, keys: true, other: true };
  return composeParts(rng, plan, all);
}

describe('composition', () => {
  it('keeps notes inside each instrument range and drums on GM drum notes', () => {
    for (let seed = 0; seed < 24; seed++) {
      for (const part of songParts(seed)) {
        expect(part.notes.length, `${part.name} seed ${seed}`).toBeGreaterThan(0);
        for (const n of part.notes) {
          if (part.drums) expect(GM_DRUM_NOTES).toContain(n.pitch);
          else {
            const [lo, hi] = PART_RANGE[part.name as keyof typeof PART_RANGE];
            expect(n.pitch, `${part.name} seed ${seed}`).toBeGreaterThanOrEqual(lo);
            expect(n.pitch, `${part.name} seed ${seed}`).toBeLessThanOrEqual(hi);
          }
          expect(n.velocity).toBeGreaterThanOrEqual(1);
          expect(n.velocity).toBeLessThanOrEqual(127);
          expect(n.duration).toBeGreaterThan(0);
        }
      }
    }
  });

  it('bends and vibrates the lead guitar, pedals the piano, spreads strums', () => {
    let bendUps = 0;
    for (let seed = 0; seed < 12; seed++) {
      const parts = songParts(seed);
      const lead = parts.find((p) => p.name === 'leadGuitar')!;
      bendUps += lead.bends.filter((b) => b.value >= 4000).length; // at least a half-step up
      expect(lead.bends.some((b) => b.value !== 0)).toBe(true);
      const keys = parts.find((p) => p.name === 'keys')!;
      expect(keys.ccs.some((c) => c.controller === 64 && c.value === 127)).toBe(true);
    }
    expect(bendUps).toBeGreaterThan(0);
    // a guitar voicing is built of chord tones in guitar range
    const v = guitarVoicing({ root: 4, quality: 'min', start: 0, end: 1 }, false);
    expect(v[0]).toBe(40); // E on the low E string
    for (const p of v) expect(CHORD_TONES.min).toContain((p - 4 + 120) % 12);
  });

  it('writes drums on MIDI channel 10 and the bend range RPN for pitched parts', () => {
    const parts = songParts(3);
    const { bytes, starts } = partsToMidi(parts, 40);
    expect(starts).toHaveLength(parts.length);
    const midi = parseMidi(bytes);
    let tick = 0;
    const drumStart = starts[parts.findIndex((p) => p.drums)] * 1920;
    const drumEnd = drumStart + 40 * 1920;
    let drumNotes = 0;
    let otherNotesOn10 = 0;
    let bends = 0;
    for (const e of midi.tracks[0]) {
      tick += e.deltaTime;
      if (e.type === 'noteOn') {
        if (e.channel === DRUM_CHANNEL) drumNotes++;
        if (e.channel === DRUM_CHANNEL && (tick < drumStart || tick > drumEnd)) otherNotesOn10++;
      }
      if (e.type === 'pitchBend' && e.value !== 0) bends++;
    }
    expect(drumNotes).toBe(parts.find((p) => p.drums)!.notes.length);
    expect(otherNotesOn10).toBe(0);
    expect(bends).toBeGreaterThan(0);
    expect(midi.tracks[0].some((e) => e.type === 'controller' && e.controllerType === 101)).toBe(true);
  });

  it('is deterministic in the seed', () => {
    expect(JSON.stringify(songParts(7))).toBe(JSON.stringify(songParts(7)));
    expect(JSON.stringify(songParts(7))).not.toBe(JSON.stringify(songParts(8)));
  });
});

describe('amp and cabinet', () => {
  it('adds harmonics to a sine, more with more drive', () => {
    const harmonicRatio = (driveDb: number) => {
      const x = sineWave(220, 0.5);
      ampChain(x, { driveDb, bias: 0.15, bass: 0, mid: 0, treble: 0, cabLowpass: 5000, cabResonance: 110 });
      const f = toneEnergy(x, 220);
      return (toneEnergy(x, 440) + toneEnergy(x, 660) + toneEnergy(x, 1100)) / f;
    };
    const clean = sineWave(220, 0.5);
    const before = (toneEnergy(clean, 440) + toneEnergy(clean, 660)) / toneEnergy(clean, 220);
    expect(before).toBeLessThan(1e-6);
    const crunch = harmonicRatio(12);
    const lead = harmonicRatio(36);
    expect(crunch).toBeGreaterThan(1e-3);
    expect(lead).toBeGreaterThan(crunch);
  });
});

const haveGuitarix = (() => {
  try {
    checkGuitarix();
    return true;
  } catch {
    console.warn(
      'skipping the guitarix amp tests: lv2file or guitarix-lv2 missing (install-system-deps.sh --data)',
    );
    return false;
  }
})();

describe.skipIf(!haveGuitarix)('guitarix amp models', () => {
  it('a high-gain amp adds more harmonics than a clean one', async () => {
    const ratio = async (amp: { uri: string; params: Record<string, number> }) => {
      const x = sineWave(220, 1.5, 0.3);
      const cab = { driveDb: 0, bias: 0, bass: 0, mid: 0, treble: 0, cabLowpass: 5000, cabResonance: 110 };
      await guitarixChain(x, { inputDb: -9, pedal: null, amp }, cab);
      expect(x.every(Number.isFinite)).toBe(true);
      const y = x.subarray(x.length >> 1); // past the plugins' start-up
      return (toneEnergy(y, 440) + toneEnergy(y, 660) + toneEnergy(y, 1100)) / toneEnergy(y, 220);
    };
    const gx = 'http://guitarix.sourceforge.net/plugins/';
    const clean = await ratio({ uri: `${gx}gx_redeye#chump`, params: { Gain: 0.1, Tone: 0.5 } });
    const lead = await ratio({ uri: `${gx}gx_redeye#chump`, params: { Gain: 1, Tone: 0.5 } });
    expect(lead).toBeGreaterThan(1);
    expect(lead).toBeGreaterThan(10 * clean);
  });

  it('draws every amp and pedal with controls inside their ranges, deterministically', () => {
    const a = Array.from({ length: 40 }, (_, i) => randomGuitarix(new Rng(i), i % 2 === 0));
    const b = Array.from({ length: 40 }, (_, i) => randomGuitarix(new Rng(i), i % 2 === 0));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(new Set(a.map((s) => s.amp.uri)).size).toBeGreaterThanOrEqual(5);
    expect(a.some((s) => s.pedal !== null)).toBe(true);
    for (const s of a) {
      expect(s.inputDb).toBeGreaterThanOrEqual(-12);
      expect(s.inputDb).toBeLessThanOrEqual(-6);
    }
  });

  it('names the plugin when lv2file fails', async () => {
    const x = sineWave(220, 0.1, 0.3);
    const bad = { inputDb: -9, pedal: null, amp: { uri: 'urn:stemdeck:no-such-plugin', params: {} } };
    await expect(
      guitarixChain(x, bad, {
        driveDb: 0,
        bias: 0,
        bass: 0,
        mid: 0,
        treble: 0,
        cabLowpass: 5000,
        cabResonance: 110,
      }),
    ).rejects.toThrow(/urn:stemdeck:no-such-plugin/);
  });
});

describe('setup errors', () => {
  it('names the Debian package of a missing soundfont', async () => {
    const fake = [{ id: 'Fake', path: '/nonexistent/Fake.sf2', debianPackage: 'fluid-soundfont-gm' }];
    await expect(checkSynthSetup(['Fake'], fake)).rejects.toThrow(/apt-get install .*fluid-soundfont-gm/);
    await expect(checkSynthSetup(['Nope'], fake)).rejects.toThrow(/unknown soundfont "Nope"/);
  });

  it('names the fluidsynth package when the binary is missing', async () => {
    const saved = process.env.STEMDECK_FLUIDSYNTH;
    process.env.STEMDECK_FLUIDSYNTH = '/nonexistent/fluidsynth';
    try {
      const err = await checkSynthSetup([], []).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SynthSetupError);
      expect(String((err as Error).message)).toMatch(/fluidsynth not found.*apt-get install fluidsynth/);
    } finally {
      if (saved === undefined) delete process.env.STEMDECK_FLUIDSYNTH;
      else process.env.STEMDECK_FLUIDSYNTH = saved;
    }
  });
});

describe('held-out real audio', () => {
  it('splits every collection 4:1 into train and test recordings that share no file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stemdeck-synth-split-'));
    try {
      for (const dir of ['guitar/a', 'guitar/b', 'piano/c'])
        await mkdir(join(root, dir), { recursive: true });
      const tone = { sampleRate: SAMPLE_RATE, channels: [sineWave(220, 0.1, 0.3)] };
      for (let i = 0; i < 10; i++) await writeWav(join(root, `guitar/a/${i}.wav`), tone);
      for (let i = 0; i < 3; i++) await writeWav(join(root, `guitar/b/${i}.wav`), tone);
      for (let i = 0; i < 5; i++) await writeWav(join(root, `piano/c/${i}.wav`), tone);
      const all = await listRecordings(root, 'all');
      const train = await listRecordings(root, 'train');
      const test = await listRecordings(root, 'test');
      expect(all).toHaveLength(18);
      expect(train.length + test.length).toBe(18);
      const trainFiles = new Set(train.map((r) => r.file));
      expect(test.some((r) => trainFiles.has(r.file))).toBe(false);
      // sorted order within each collection: 4.wav and 9.wav of a, 4.wav of c; b is too small
      expect(test.map((r) => r.file).sort()).toEqual(['guitar/a/4.wav', 'guitar/a/9.wav', 'piano/c/4.wav']);
      expect([0, 1, 2, 3, 4, 5].map(recordingPart)).toEqual([
        'train',
        'train',
        'train',
        'train',
        'test',
        'train',
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Tiny renders (need fluidsynth and the TimGM6mb soundfont)

const tim = SOUNDFONTS.find((s) => s.id === 'TimGM6mb')!;
const haveSynth = await checkSynthSetup(['TimGM6mb'])
  .then(() => true)
  .catch((err: unknown) => {
    console.warn(`skipping synth render tests: ${(err as Error).message}`);
    return false;
  });
const musdbRoot = join(import.meta.dirname, '../../../shared/data/musdb18-7');
const haveMusdb = existsSync(join(musdbRoot, 'train'));
if (!haveMusdb) console.warn(`skipping the MUSDB18 hybrid render test: ${musdbRoot}/train not found`);

describe.skipIf(!haveSynth)('tiny renders', () => {
  let root: string;
  let instruments: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stemdeck-synth-test-'));
    // a fake "DI guitar" and "piano" recording: two seconds of tones
    instruments = join(root, 'instruments');
    await mkdir(join(instruments, 'guitar/nam-di'), { recursive: true });
    await mkdir(join(instruments, 'piano/berklee'), { recursive: true });
    const tone = sineWave(196, 2, 0.3);
    await writeWav(join(instruments, 'guitar/nam-di/di.wav'), { sampleRate: SAMPLE_RATE, channels: [tone] });
    await writeWav(join(instruments, 'piano/berklee/p.wav'), {
      sampleRate: SAMPLE_RATE,
      channels: [sineWave(262, 2, 0.3)],
    });
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  const render = (out: string, extra: Partial<Parameters<typeof runSynth>[0]> = {}) =>
    runSynth({
      hours: 7 / 3600,
      seed: 11,
      out,
      workers: 0,
      songSeconds: [3, 4],
      soundfonts: [tim.id],
      musdbRoot: null,
      instrumentsRoot: instruments,
      recordingFraction: 0.5,
      ...extra,
    });

  it('writes the stems layout; stems sum to the mixture; same seed gives the same bytes', async () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    const summary = await render(a);
    await render(b);
    expect(summary.songs.length).toBeGreaterThanOrEqual(2);
    expect(summary.seconds).toBeCloseTo(7, 1);
    for (const song of summary.songs) {
      const dir = join(a, song.name);
      const files = await readdir(dir);
      for (const t of [...STEM_NAMES, 'mixture']) expect(files).toContain(`${t}.wav`);
      expect(files).toContain('manifest.json');
      const mix = await readWav(join(dir, 'mixture.wav'));
      const stems = await Promise.all(STEM_NAMES.map((t) => readWav(join(dir, `${t}.wav`))));
      let maxErr = 0;
      let mixPeak = 0;
      for (let c = 0; c < 2; c++) {
        for (let i = 0; i < mix.channels[c].length; i++) {
          let s = 0;
          for (const st of stems) s += st.channels[c][i];
          maxErr = Math.max(maxErr, Math.abs(s - mix.channels[c][i]));
          mixPeak = Math.max(mixPeak, Math.abs(mix.channels[c][i]));
        }
      }
      expect(maxErr).toBeLessThan(1e-6);
      expect(mixPeak).toBeGreaterThan(0.3);
      expect(mixPeak).toBeLessThan(1);
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      expect(manifest.seed).toBe(11);
      expect(manifest.stems.drums.source).toBe('generated');
      // identical bytes in the second run
      for (const f of files) {
        expect((await readFile(join(b, song.name, f))).equals(await readFile(join(dir, f))), f).toBe(true);
      }
    }
    expect(
      (await readFile(join(a, 'synth-manifest.json'))).equals(await readFile(join(b, 'synth-manifest.json'))),
    ).toBe(true);
    // the training loaders read the output as a stems folder
    const refs = await listStemFolders(a);
    expect(refs.map((r) => r.name)).toEqual(summary.songs.map((s) => s.name));
    const track = await loadStemFolderTrack(refs[0], [...STEM_NAMES]);
    expect(Object.keys(track.stems).sort()).toEqual([...STEM_NAMES].sort());
    // a different seed gives different audio
    const c = join(root, 'c');
    const other = await render(c, { seed: 12 });
    const first = await readFile(join(c, other.songs[0].name, 'mixture.wav'));
    expect(first.equals(await readFile(join(a, summary.songs[0].name, 'mixture.wav')))).toBe(false);
  });

  it.skipIf(!haveGuitarix)('--amp guitarix changes the guitar stem only', async () => {
    const a = join(root, 'amp-builtin');
    const g = join(root, 'amp-guitarix');
    const summary = await render(a, { recordingFraction: 1 });
    await render(g, { recordingFraction: 1, amp: 'guitarix' });
    let guitarDiffers = false;
    for (const song of summary.songs) {
      // The other stems are the same audio; only the mixture's peak normalisation (one gain for
      // every stem of the song) may differ.
      const gains: number[] = [];
      for (const t of STEM_NAMES) {
        const [x, y] = await Promise.all([
          readWav(join(a, song.name, `${t}.wav`)),
          readWav(join(g, song.name, `${t}.wav`)),
        ]);
        let xy = 0;
        let xx = 0;
        for (let c = 0; c < 2; c++)
          for (let i = 0; i < x.channels[c].length; i++) {
            xy += x.channels[c][i] * y.channels[c][i];
            xx += x.channels[c][i] ** 2;
          }
        if (t === 'guitar') {
          guitarDiffers ||= xx > 0 && Math.abs(xy / xx - 1) > 1e-3;
          continue;
        }
        if (xx === 0) continue;
        const k = xy / xx;
        let err = 0;
        for (let c = 0; c < 2; c++)
          for (let i = 0; i < x.channels[c].length; i++)
            err = Math.max(err, Math.abs(y.channels[c][i] - k * x.channels[c][i]));
        expect(err, `${song.name}/${t}.wav: same audio up to a gain`).toBeLessThan(1e-5);
        gains.push(k);
      }
      for (const k of gains) expect(k).toBeCloseTo(gains[0], 5);
      const manifest = await readFile(join(g, song.name, 'manifest.json'), 'utf8');
      expect(manifest).toMatch(/guitarix\.sourceforge\.net/);
    }
    expect(guitarDiffers).toBe(true);
  });

  it('pcm16 output: the mixture is the exact integer sum of the stems', async () => {
    const out = join(root, 'pcm');
    const summary = await render(out, { format: 'pcm16', hours: 3 / 3600, recordingFraction: 1 });
    const dir = join(out, summary.songs[0].name);
    // with recordingFraction 1, guitar and piano come from the (fake) recordings, DI guitar via the amp
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.stems.guitar.source).toBe('recording');
    expect(manifest.stems.piano.source).toBe('recording');
    expect(
      manifest.recordings.some(
        (r: { file: string; amp: unknown }) => r.file === 'guitar/nam-di/di.wav' && r.amp,
      ),
    ).toBe(true);
    expect(manifest.parts.map((p: { part: string }) => p.part)).not.toContain('keys');
    const mix = await readWav(join(dir, 'mixture.wav'));
    const stems = await Promise.all(STEM_NAMES.map((t) => readWav(join(dir, `${t}.wav`))));
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < mix.channels[c].length; i++) {
        let s = 0;
        for (const st of stems) s += Math.round(st.channels[c][i] * 32768);
        expect(s).toBe(Math.round(mix.channels[c][i] * 32768));
      }
    }
  });

  it.skipIf(!haveMusdb)('hybrid songs take real MUSDB18 drums, bass and vocals', async () => {
    const out = join(root, 'hybrid');
    const summary = await render(out, { musdbRoot, realFraction: 1, hours: 3 / 3600 });
    const manifest = JSON.parse(await readFile(join(out, summary.songs[0].name, 'manifest.json'), 'utf8'));
    expect(manifest.kind).toBe('hybrid');
    expect(manifest.musdb18.track).toBeTruthy();
    expect(manifest.parts.map((p: { part: string }) => p.part)).not.toContain('drums');
    expect(['musdb18', 'silent']).toContain(manifest.stems.drums.source);
  });
});
