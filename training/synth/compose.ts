/**
 * Procedural songs: a plan (genre, tempo, meter, key, time feel, sections, chord progression) and the
 * parts played over it (drums, bass, rhythm guitar, lead guitar, keys, other), as note, controller and
 * pitch-bend events in seconds. Everything comes from one `Rng`; nothing here touches audio.
 */
import type { StemName } from '../../src/core/stems';
import type { Rng } from './rng';

export const GENRES = ['rock', 'pop', 'funk', 'ballad', 'blues', 'metal'] as const;
export type Genre = (typeof GENRES)[number];

/** `rhythmGuitar2` is a second take of the rhythm part (double-tracking, panned opposite). */
export const PART_NAMES = [
  'drums',
  'bass',
  'rhythmGuitar',
  'rhythmGuitar2',
  'leadGuitar',
  'keys',
  'other',
] as const;
export type PartName = (typeof PART_NAMES)[number];

/** The stem each generated part lands in. */
export const PART_TARGET: Record<PartName, StemName> = {
  drums: 'drums',
  bass: 'bass',
  rhythmGuitar: 'guitar',
  rhythmGuitar2: 'guitar',
  leadGuitar: 'guitar',
  keys: 'piano',
  other: 'other',
};

export type Quality = 'maj' | 'min' | 'dim' | '7' | 'maj7' | 'min7' | 'sus4' | '5';

export interface Chord {
  /** Pitch class of the root, 0 = C. */
  root: number;
  quality: Quality;
  start: number;
  end: number;
}

export interface Section {
  name: 'intro' | 'verse' | 'chorus' | 'bridge' | 'solo' | 'outro';
  startBar: number;
  bars: number;
}

export interface SongPlan {
  genre: Genre;
  tempo: number;
  beatsPerBar: 3 | 4;
  /** Position of the off-beat eighth inside a beat: 0.5 straight, ~0.66 shuffle. */
  swing: number;
  key: number;
  mode: 'major' | 'minor';
  sections: Section[];
  chords: Chord[];
  bars: number;
  /** Song length in seconds (the stems' length). */
  duration: number;
}

export interface NoteEvent {
  time: number;
  duration: number;
  pitch: number;
  velocity: number;
}
export interface CcEvent {
  time: number;
  controller: number;
  value: number;
}
/** Pitch bend, -8192..8191 with a ±2-semitone range (set by the MIDI writer). */
export interface BendEvent {
  time: number;
  value: number;
}

export interface Part {
  name: PartName;
  target: StemName;
  /** GM program (0–127); for drums the kit number in bank 128. */
  program: number;
  drums: boolean;
  style: string;
  notes: NoteEvent[];
  ccs: CcEvent[];
  bends: BendEvent[];
}

/** Playable MIDI ranges per part (GM instruments as played; tests check generated notes against them). */
export const PART_RANGE: Record<Exclude<PartName, 'drums'>, [number, number]> = {
  bass: [28, 60],
  rhythmGuitar: [40, 88],
  rhythmGuitar2: [40, 88],
  leadGuitar: [52, 91],
  keys: [21, 108],
  other: [36, 96],
};
export const GM_DRUM_NOTES = [35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 53, 54, 57];

const MAJOR = [0, 2, 4, 5, 7, 9, 11];
const MINOR = [0, 2, 3, 5, 7, 8, 10];
const MAJOR_Q: Quality[] = ['maj', 'min', 'min', 'maj', 'maj', 'min', 'dim'];
const MINOR_Q: Quality[] = ['min', 'dim', 'maj', 'min', 'min', 'maj', 'maj'];
const PROGRESSIONS: Record<'major' | 'minor', number[][]> = {
  major: [
    [0, 4, 5, 3],
    [0, 3, 4, 4],
    [0, 5, 3, 4],
    [5, 3, 0, 4],
    [0, 0, 3, 4],
    [1, 4, 0, 0],
    [0, 3, 0, 4],
    [3, 4, 0, 5],
  ],
  minor: [
    [0, 5, 2, 6],
    [0, 3, 4, 0],
    [0, 6, 5, 6],
    [0, 3, 6, 2],
    [0, 5, 3, 4],
    [0, 0, 5, 6],
  ],
};
const BLUES_12 = [0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4];

export const CHORD_TONES: Record<Quality, number[]> = {
  maj: [0, 4, 7],
  min: [0, 3, 7],
  dim: [0, 3, 6],
  '7': [0, 4, 7, 10],
  maj7: [0, 4, 7, 11],
  min7: [0, 3, 7, 10],
  sus4: [0, 5, 7],
  '5': [0, 7],
};

const TEMPO: Record<Genre, [number, number]> = {
  rock: [100, 150],
  pop: [88, 128],
  funk: [88, 116],
  ballad: [60, 84],
  blues: [70, 124],
  metal: [120, 180],
};

export function planSong(rng: Rng, targetSeconds: number, genre: Genre = rng.pick(GENRES)): SongPlan {
  const tempo = Math.round(rng.range(...TEMPO[genre]));
  const beatsPerBar: 3 | 4 = (genre === 'ballad' && rng.chance(0.35)) || rng.chance(0.05) ? 3 : 4;
  const swing =
    genre === 'blues'
      ? rng.range(0.62, 0.68)
      : genre === 'funk'
        ? rng.range(0.5, 0.56)
        : rng.chance(0.15)
          ? rng.range(0.55, 0.64)
          : 0.5;
  const mode: 'major' | 'minor' =
    genre === 'metal' ? 'minor' : genre === 'blues' ? 'major' : rng.chance(0.55) ? 'major' : 'minor';
  const key = rng.int(0, 11);
  const barSeconds = (60 / tempo) * beatsPerBar;
  const bars = Math.max(1, Math.ceil(targetSeconds / barSeconds));
  const form: Section['name'][] = ['intro', 'verse', 'chorus', 'verse', 'chorus', 'bridge', 'solo', 'chorus'];
  const sections: Section[] = [];
  for (let bar = 0, i = 0; bar < bars; i++) {
    const name = i < form.length ? form[i] : rng.pick(['verse', 'chorus', 'solo'] as const);
    const len = Math.min(
      bars - bar,
      name === 'intro' || name === 'bridge' ? rng.pick([2, 4]) : rng.pick([4, 8]),
    );
    sections.push({ name, startBar: bar, bars: len });
    bar += len;
  }
  if (sections.length > 2) sections[sections.length - 1].name = 'outro';
  const scale = mode === 'major' ? MAJOR : MINOR;
  const qualities = mode === 'major' ? MAJOR_Q : MINOR_Q;
  const sevenths = genre === 'funk' || genre === 'blues' || (genre === 'pop' && rng.chance(0.3));
  const progBySection = new Map<string, number[]>();
  const chords: Chord[] = [];
  const chordsPerBar = tempo < 90 && rng.chance(0.4) ? 2 : 1;
  for (const s of sections) {
    let prog = progBySection.get(s.name);
    if (!prog) {
      prog = genre === 'blues' ? BLUES_12 : rng.pick(PROGRESSIONS[mode]);
      progBySection.set(s.name, prog);
    }
    for (let b = 0; b < s.bars; b++) {
      for (let h = 0; h < chordsPerBar; h++) {
        const step = genre === 'blues' ? b : b * chordsPerBar + h;
        const degree = prog[step % prog.length];
        const root = (key + scale[degree]) % 12;
        let quality: Quality = qualities[degree];
        if (genre === 'blues') quality = '7';
        else if (genre === 'metal' && quality !== 'dim') quality = '5';
        else if (sevenths && quality !== 'dim')
          quality = quality === 'maj' ? (degree === 4 ? '7' : 'maj7') : 'min7';
        else if (mode === 'minor' && degree === 4 && rng.chance(0.5)) quality = 'maj';
        else if (rng.chance(0.05)) quality = 'sus4';
        const start = (s.startBar + b + h / chordsPerBar) * barSeconds;
        chords.push({ root, quality, start, end: start + barSeconds / chordsPerBar });
      }
    }
  }
  return {
    genre,
    tempo,
    beatsPerBar,
    swing,
    key,
    mode,
    sections,
    chords,
    bars,
    duration: bars * barSeconds,
  };
}

// ---------------------------------------------------------------------------------------------
// Timing helpers

function beatSeconds(plan: SongPlan): number {
  return 60 / plan.tempo;
}

/** Seconds of a position in beats from the song start, with the plan's swing on off-beat eighths. */
export function beatTime(plan: SongPlan, beats: number): number {
  const b = Math.floor(beats);
  const f = beats - b;
  const s = plan.swing;
  const g = f <= 0.5 ? (f / 0.5) * s : s + ((f - 0.5) / 0.5) * (1 - s);
  return (b + g) * beatSeconds(plan);
}

function chordAt(plan: SongPlan, time: number): Chord {
  let lo = 0;
  for (let i = 0; i < plan.chords.length; i++) if (plan.chords[i].start <= time + 1e-9) lo = i;
  return plan.chords[lo];
}

function sectionOfBar(plan: SongPlan, bar: number): Section {
  return plan.sections.find((s) => bar >= s.startBar && bar < s.startBar + s.bars) ?? plan.sections[0];
}

function clampVel(v: number): number {
  return Math.max(1, Math.min(127, Math.round(v)));
}

/** Nearest pitch with pitch class `pc` at or above `lo`. */
function pcAtOrAbove(pc: number, lo: number): number {
  return lo + ((((pc - lo) % 12) + 12) % 12);
}

function pushNote(part: Part, time: number, duration: number, pitch: number, velocity: number): void {
  part.notes.push({
    time: Math.max(0, time),
    duration: Math.max(0.02, duration),
    pitch,
    velocity: clampVel(velocity),
  });
}

function newPart(name: PartName, program: number, style: string): Part {
  return {
    name,
    target: PART_TARGET[name],
    program,
    drums: name === 'drums',
    style,
    notes: [],
    ccs: [],
    bends: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Drums

const DRUM_KITS: Record<Genre, [number, number][]> = {
  rock: [
    [0, 3],
    [8, 2],
    [16, 3],
  ],
  pop: [
    [0, 3],
    [24, 1],
    [25, 1],
    [8, 1],
  ],
  funk: [
    [0, 3],
    [8, 2],
    [25, 1],
  ],
  ballad: [
    [0, 2],
    [40, 2],
    [32, 1],
    [8, 1],
  ],
  blues: [
    [0, 2],
    [32, 2],
    [8, 1],
  ],
  metal: [
    [16, 3],
    [0, 2],
  ],
};

interface Groove {
  kick: string;
  snare: string;
  hat: string;
  ghost?: string;
}
const GROOVES: Record<Genre, Groove[]> = {
  rock: [
    { kick: 'x.......x.x.....', snare: '....x.......x...', hat: 'x.x.x.x.x.x.x.x.' },
    { kick: 'x.....x.x.......', snare: '....x.......x...', hat: 'x.x.x.x.x.x.x.x.' },
  ],
  pop: [
    { kick: 'x.....x...x.....', snare: '....x.......x...', hat: 'xxxxxxxxxxxxxxxx' },
    { kick: 'x.......x.......', snare: '....x.......x...', hat: 'x.x.x.x.x.x.x.x.' },
  ],
  funk: [
    {
      kick: 'x..x..x...x..x..',
      snare: '....x.......x...',
      hat: 'xxxxxxxxxxxxxxxx',
      ghost: '.x.....x.x....x.',
    },
    {
      kick: 'x.x....x..x.....',
      snare: '....x.......x...',
      hat: 'xxxxxxxxxxxxxxxx',
      ghost: '..x..x.....x..x.',
    },
  ],
  ballad: [
    { kick: 'x.......x.......', snare: '........x.......', hat: 'x.x.x.x.x.x.x.x.' },
    { kick: 'x.........x.....', snare: '....x.......x...', hat: 'x...x...x...x...' },
  ],
  blues: [{ kick: 'x.......x.......', snare: '....x.......x...', hat: 'x.x.x.x.x.x.x.x.' }],
  metal: [
    { kick: 'xxxxxxxxxxxxxxxx', snare: '....x.......x...', hat: 'x.x.x.x.x.x.x.x.' },
    { kick: 'x.x.x.x.x.x.x.x.', snare: '....x.......x...', hat: 'x...x...x...x...' },
  ],
};

function fitPattern(p: string, steps: number): string {
  return p.length === steps ? p : p.slice(0, steps);
}

export function composeDrums(rng: Rng, plan: SongPlan): Part {
  const kit = rng.weighted(DRUM_KITS[plan.genre]);
  const groove = rng.pick(GROOVES[plan.genre]);
  const part = newPart('drums', kit, `${plan.genre} groove`);
  const steps = plan.beatsPerBar * 4;
  const feel = rng.range(0.004, 0.012); // timing spread (s)
  const dyn = rng.range(0.8, 1.05);
  const hit = (beats: number, note: number, vel: number) =>
    pushNote(part, beatTime(plan, beats) + rng.gauss(feel), 0.12, note, (vel + rng.gauss(7)) * dyn);
  for (const s of plan.sections) {
    const loud = s.name === 'chorus' || s.name === 'solo';
    const hatNote = loud && rng.chance(0.5) ? 51 : s.name === 'intro' ? 44 : 42;
    for (let b = 0; b < s.bars; b++) {
      const bar = s.startBar + b;
      const bar0 = bar * plan.beatsPerBar;
      const fill = b === s.bars - 1 && s.bars > 1 && rng.chance(0.7);
      if (b === 0 && (loud || rng.chance(0.3))) hit(bar0, rng.chance(0.7) ? 49 : 57, 110);
      const fillFrom = fill ? steps - rng.pick([4, 8]) : steps;
      for (let i = 0; i < steps; i++) {
        const pos = bar0 + i / 4;
        if (i >= fillFrom) {
          if (rng.chance(0.85)) {
            const toms = [50, 48, 47, 45, 43, 41];
            const n = rng.chance(0.35)
              ? 38
              : toms[
                  Math.min(toms.length - 1, Math.floor(((i - fillFrom) / (steps - fillFrom)) * toms.length))
                ];
            hit(pos, n, 80 + ((i - fillFrom) / (steps - fillFrom)) * 35);
          }
          continue;
        }
        if (fitPattern(groove.kick, steps)[i] === 'x' && (s.name !== 'intro' || i % 8 === 0))
          hit(pos, 36, 100);
        if (fitPattern(groove.snare, steps)[i] === 'x')
          hit(pos, s.name === 'intro' && rng.chance(0.5) ? 37 : 38, 105);
        if (groove.ghost && fitPattern(groove.ghost, steps)[i] === 'x') hit(pos, 38, 35);
        if (fitPattern(groove.hat, steps)[i] === 'x') {
          const accent = i % 4 === 0 ? 20 : 0;
          const open = hatNote === 42 && i === steps - 2 && rng.chance(0.3);
          hit(pos, open ? 46 : hatNote, 65 + accent);
        }
      }
    }
  }
  const end = plan.duration;
  if (rng.chance(0.6)) hit(end / beatSeconds(plan) - plan.beatsPerBar, 49, 110);
  return part;
}

// ---------------------------------------------------------------------------------------------
// Bass

const BASS_PROGRAMS: Record<Genre, [number, number][]> = {
  rock: [
    [34, 3],
    [33, 2],
  ],
  pop: [
    [33, 3],
    [38, 1],
    [39, 1],
    [34, 1],
  ],
  funk: [
    [36, 2],
    [37, 1],
    [33, 2],
  ],
  ballad: [
    [33, 2],
    [35, 2],
    [32, 1],
  ],
  blues: [
    [33, 2],
    [32, 2],
  ],
  metal: [
    [34, 3],
    [33, 1],
  ],
};

export function composeBass(rng: Rng, plan: SongPlan): Part {
  const program = rng.weighted(BASS_PROGRAMS[plan.genre]);
  const style =
    plan.genre === 'funk'
      ? 'funk'
      : plan.genre === 'blues'
        ? 'walking'
        : plan.genre === 'ballad'
          ? 'long'
          : plan.genre === 'metal' || rng.chance(0.5)
            ? 'eighths'
            : 'root-fifth';
  const part = newPart('bass', program, style);
  const beat = beatSeconds(plan);
  const low = rng.int(28, 33);
  for (const chord of plan.chords) {
    const root = pcAtOrAbove(chord.root, low);
    const fifth = root + 7;
    const beats = Math.round((chord.end - chord.start) / beat);
    const b0 = chord.start / beat;
    const tones = CHORD_TONES[chord.quality].map((t) => root + t);
    const next = chordAt(plan, chord.end + 1e-3);
    for (let i = 0; i < beats * 2; i++) {
      const pos = b0 + i / 2;
      const t = beatTime(plan, pos) + rng.gauss(0.006);
      let pitch: number | undefined;
      let dur = beat / 2;
      let vel = 90 + (i % 2 === 0 ? 10 : 0);
      if (style === 'eighths') pitch = i === beats * 2 - 1 && rng.chance(0.3) ? root + 12 : root;
      else if (style === 'root-fifth') {
        if (i % 2 === 0) pitch = [root, fifth, root + 12, fifth][(i / 2) % 4];
        dur = beat * 0.9;
      } else if (style === 'long') {
        if (i === 0) {
          pitch = root;
          dur = beat * beats * 0.95;
        } else if (i === beats && rng.chance(0.5)) {
          pitch = rng.pick([fifth, root + 12, root]);
          dur = beat * (beats / 2) * 0.9;
        }
      } else if (style === 'walking') {
        if (i % 2 === 0) {
          const k = i / 2;
          const target = pcAtOrAbove(next.root, low);
          pitch = k === beats - 1 ? target + (rng.chance(0.5) ? -1 : 1) : tones[k % tones.length];
          dur = beat * 0.85;
        }
      } else {
        // funk: sixteenth-based syncopation, octave pops, dead notes
        for (let q = 0; q < 2; q++) {
          if (!rng.chance(i % 2 === 0 && q === 0 ? 0.9 : 0.35)) continue;
          const tq = beatTime(plan, pos + q / 4) + rng.gauss(0.004);
          const pop = rng.chance(0.2);
          pushNote(
            part,
            tq,
            beat / 4.5,
            pop ? root + 12 : rng.chance(0.15) ? root + 10 : root,
            pop ? 115 : 85 + rng.gauss(10),
          );
        }
        continue;
      }
      if (pitch === undefined) continue;
      vel += rng.gauss(8);
      pushNote(part, t, dur, Math.min(PART_RANGE.bass[1], pitch), vel);
    }
  }
  return part;
}

// ---------------------------------------------------------------------------------------------
// Guitars

/** Guitar chord shapes as intervals from the root on the lowest string used. */
function guitarShape(q: Quality, aString: boolean): number[] {
  switch (q) {
    case 'maj':
      return aString ? [0, 7, 12, 16, 19] : [0, 7, 12, 16, 19, 24];
    case 'min':
      return aString ? [0, 7, 12, 15, 19] : [0, 7, 12, 15, 19, 24];
    case '7':
      return aString ? [0, 7, 10, 16, 19] : [0, 7, 10, 16, 19, 24];
    case 'maj7':
      return [0, 7, 11, 16, 19];
    case 'min7':
      return aString ? [0, 7, 10, 15, 19] : [0, 7, 10, 15, 19, 24];
    case 'sus4':
      return [0, 7, 12, 17, 19];
    case 'dim':
      return [0, 6, 12, 15];
    case '5':
      return [0, 7, 12];
  }
}

export function guitarVoicing(chord: Chord, power: boolean): number[] {
  const eRoot = pcAtOrAbove(chord.root, 40); // E string, frets 0–11
  const aRoot = pcAtOrAbove(chord.root, 45);
  const useA = eRoot > 47 && !power;
  const root = useA ? aRoot : eRoot;
  return (power ? [0, 7, 12] : guitarShape(chord.quality, useA)).map((i) => root + i);
}

const STRUM_PATTERNS = ['D.D.D.D.', 'D.DU.UDU', 'D..UD.DU', 'D.DUDUDU', 'D...D...', 'D..U.UDU'];

export function composeRhythmGuitar(rng: Rng, plan: SongPlan): Part {
  const style =
    plan.genre === 'metal' || (plan.genre === 'rock' && rng.chance(0.5))
      ? 'power-chords'
      : plan.genre === 'funk'
        ? 'chops'
        : plan.genre === 'ballad' && rng.chance(0.6)
          ? 'arpeggio'
          : rng.chance(0.2)
            ? 'arpeggio'
            : 'strum';
  const program =
    style === 'power-chords'
      ? rng.weighted([
          [30, 2],
          [29, 2],
          [27, 1],
        ] as const)
      : style === 'chops'
        ? rng.pick([28, 27])
        : style === 'arpeggio'
          ? rng.pick([24, 25, 26, 27])
          : rng.pick([25, 25, 24, 27, 26, 29]);
  const part = newPart('rhythmGuitar', program, style);
  const beat = beatSeconds(plan);
  const pattern = rng.pick(STRUM_PATTERNS);
  const strumSpread = rng.range(0.004, 0.02); // per-string delay of a strum (s)
  const arpOrder = rng.pick([
    [0, 2, 1, 3, 2, 4, 3, 2],
    [0, 1, 2, 3, 4, 3, 2, 1],
    [0, 3, 2, 4, 1, 3, 2, 4],
  ]);
  for (const chord of plan.chords) {
    const bar = Math.floor(chord.start / (beat * plan.beatsPerBar) + 1e-6);
    const section = sectionOfBar(plan, bar);
    if (section.name === 'intro' && rng.chance(0.5)) continue;
    const voicing = guitarVoicing(chord, style === 'power-chords');
    const beats = Math.round((chord.end - chord.start) / beat);
    const b0 = chord.start / beat;
    const loud = section.name === 'chorus' ? 12 : 0;
    if (style === 'strum') {
      for (let i = 0; i < beats * 2; i++) {
        const dir = pattern[i % pattern.length];
        if (dir === '.') continue;
        const t = beatTime(plan, b0 + i / 2) + rng.gauss(0.008);
        const nextT = chord.start + beats * beat;
        const strings = dir === 'D' ? voicing : voicing.slice(-rng.int(3, 4)).reverse();
        const base = (dir === 'D' ? 88 : 68) + (i % 2 === 0 ? 6 : 0) + loud + rng.gauss(8);
        const spread = strumSpread * rng.range(0.7, 1.3);
        strings.forEach((p, k) => {
          pushNote(
            part,
            t + k * spread,
            Math.max(0.1, nextT - t - 0.02),
            p,
            base - k * rng.range(0, 3) + rng.gauss(4),
          );
        });
      }
    } else if (style === 'power-chords') {
      for (let i = 0; i < beats * 2; i++) {
        const t = beatTime(plan, b0 + i / 2) + rng.gauss(0.005);
        const open = i === 0 && (section.name === 'chorus' || rng.chance(0.2));
        const dur = open ? beat * beats * 0.95 : beat * rng.range(0.18, 0.3); // palm mute = short and soft
        const vel = open ? 110 : 75 + rng.gauss(8) + loud;
        for (let k = 0; k < voicing.length; k++) pushNote(part, t + k * 0.003, dur, voicing[k], vel);
        if (open) break;
      }
    } else if (style === 'chops') {
      for (let i = 0; i < beats * 4; i++) {
        if (!rng.chance(i % 4 === 2 ? 0.8 : 0.3)) continue;
        const t = beatTime(plan, b0 + i / 4) + rng.gauss(0.004);
        const top = voicing.slice(-3);
        for (let k = 0; k < top.length; k++)
          pushNote(part, t + k * 0.004, beat / 5, top[k], 80 + rng.gauss(10));
      }
    } else {
      for (let i = 0; i < beats * 2; i++) {
        const t = beatTime(plan, b0 + i / 2) + rng.gauss(0.006);
        const p = voicing[arpOrder[i % arpOrder.length] % voicing.length];
        pushNote(part, t, beat * rng.range(1, 2.5), p, 70 + rng.gauss(8) + loud);
      }
    }
  }
  return part;
}

const PENT_MINOR = [0, 3, 5, 7, 10];
const PENT_MAJOR = [0, 2, 4, 7, 9];

export function composeLeadGuitar(rng: Rng, plan: SongPlan): Part {
  const program = rng.weighted([
    [29, 2],
    [30, 2],
    [27, 1],
    [26, 1],
  ] as const);
  const part = newPart('leadGuitar', program, 'licks');
  const beat = beatSeconds(plan);
  const scalePcs =
    plan.mode === 'minor' || plan.genre === 'blues' || plan.genre === 'rock'
      ? PENT_MINOR.map((i) => (plan.key + (plan.mode === 'major' ? 9 : 0) + i) % 12)
      : PENT_MAJOR.map((i) => (plan.key + i) % 12);
  const pitches: number[] = [];
  for (let p = 52; p <= 88; p++) if (scalePcs.includes(p % 12)) pitches.push(p);
  const vibratoRate = rng.range(4.5, 6.5);
  const vibratoDepth = rng.range(0.15, 0.45); // semitones
  const semi = 8191 / 2; // bend units per semitone (±2-semitone range)
  let idx = rng.int(Math.floor(pitches.length * 0.3), Math.floor(pitches.length * 0.6));
  for (const s of plan.sections) {
    const active = s.name === 'solo' || s.name === 'chorus' || s.name === 'outro' || rng.chance(0.3);
    if (!active) continue;
    let pos = s.startBar * plan.beatsPerBar + rng.pick([0, 0.5, 1]);
    const end = (s.startBar + s.bars) * plan.beatsPerBar;
    while (pos < end - 1) {
      const phraseLen = rng.int(3, 9);
      for (let n = 0; n < phraseLen && pos < end - 0.5; n++) {
        const len = rng.weighted([
          [0.25, 2],
          [0.5, 4],
          [1, 2],
          [2, 1],
          [1 / 3, 1],
        ] as const);
        idx = Math.max(
          0,
          Math.min(
            pitches.length - 1,
            idx +
              rng.weighted([
                [-2, 1],
                [-1, 4],
                [0, 1],
                [1, 4],
                [2, 1],
              ] as const),
          ),
        );
        const pitch = pitches[idx];
        const t = beatTime(plan, pos) + rng.gauss(0.008);
        const dur = len * beat * rng.range(0.85, 1);
        pushNote(part, t, dur, pitch, 85 + rng.gauss(12));
        part.bends.push({ time: Math.max(0, t - 0.002), value: 0 });
        const bend = dur > 0.18 && rng.chance(0.3);
        if (bend) {
          // bend up a half or whole step, hold, maybe release
          const amount = rng.chance(0.7) ? 2 : 1;
          const rise = Math.min(dur * 0.5, rng.range(0.06, 0.2));
          const steps = 8;
          for (let k = 1; k <= steps; k++) {
            part.bends.push({ time: t + (rise * k) / steps, value: Math.round(semi * amount * (k / steps)) });
          }
          if (rng.chance(0.4) && dur > 0.4) {
            for (let k = 1; k <= steps && dur * 0.6 + (rise * k) / steps < dur; k++) {
              part.bends.push({
                time: t + dur * 0.6 + (rise * k) / steps,
                value: Math.round(semi * amount * (1 - k / steps)),
              });
            }
          }
        } else if (dur > 0.35) {
          // vibrato: sinusoidal bend after the attack
          for (let tt = 0.12; tt < dur; tt += 0.012) {
            const v =
              Math.sin(2 * Math.PI * vibratoRate * (tt - 0.12)) *
              vibratoDepth *
              Math.min(1, (tt - 0.12) / 0.2);
            part.bends.push({ time: t + tt, value: Math.round(v * semi) });
          }
        }
        pos += len;
      }
      pos += rng.pick([1, 1.5, 2, 3]);
    }
  }
  part.bends.sort((a, b) => a.time - b.time);
  return part;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** Close voicing of the chord tones whose centre is nearest to `centre`. */
function closeVoicing(chord: Chord, centre: number): number[] {
  const tones = CHORD_TONES[chord.quality === '5' ? 'maj' : chord.quality];
  let best: number[] = [];
  let bestDist = Number.POSITIVE_INFINITY;
  for (let inv = 0; inv < tones.length; inv++) {
    for (const base of [centre - 12, centre - 6, centre]) {
      const lo = pcAtOrAbove((chord.root + tones[inv]) % 12, base);
      const notes = [lo];
      for (let k = 1; k < tones.length; k++)
        notes.push(pcAtOrAbove((chord.root + tones[(inv + k) % tones.length]) % 12, notes[k - 1] + 1));
      const mid = (notes[0] + notes[notes.length - 1]) / 2;
      if (Math.abs(mid - centre) < bestDist) {
        bestDist = Math.abs(mid - centre);
        best = notes;
      }
    }
  }
  return best;
}

export function composeKeys(rng: Rng, plan: SongPlan): Part {
  const program = rng.weighted([
    [0, 4],
    [1, 2],
    [2, 1],
    [3, 1],
    [4, 2],
    [5, 1],
  ] as const);
  const style =
    plan.genre === 'ballad'
      ? rng.pick(['ballad', 'broken'])
      : rng.pick(['block', 'syncopated', 'ballad', 'broken']);
  const part = newPart('keys', program, style);
  const beat = beatSeconds(plan);
  const centre = rng.int(60, 70);
  const rhythm = rng
    .pick([
      [0, 1, 2, 3],
      [0, 1.5, 3],
      [0, 2],
      [0, 0.5, 1.5, 2.5, 3.5],
    ])
    .filter((r) => r < plan.beatsPerBar);
  for (const chord of plan.chords) {
    const rh = closeVoicing(chord, centre);
    const lh = pcAtOrAbove(chord.root, 36);
    const beats = Math.round((chord.end - chord.start) / beat);
    const b0 = chord.start / beat;
    const t0 = chord.start;
    // sustain pedal: up just before the change, down just after it
    part.ccs.push({ time: Math.max(0, t0 - 0.01), controller: 64, value: 0 });
    part.ccs.push({ time: t0 + 0.03, controller: 64, value: 127 });
    if (style === 'block' || style === 'syncopated') {
      for (const r of rhythm) {
        if (r >= beats) continue;
        const anticip = style === 'syncopated' && rng.chance(0.3) ? -0.5 : 0;
        const t = beatTime(plan, b0 + r + anticip) + rng.gauss(0.006);
        const vel = 72 + (r === 0 ? 10 : 0) + rng.gauss(8);
        for (const p of rh) pushNote(part, t + rng.gauss(0.003), beat * 0.9, p, vel + rng.gauss(4));
        if (r === 0) pushNote(part, t, beat * beats * 0.95, lh, vel - 5);
      }
    } else if (style === 'ballad') {
      pushNote(part, beatTime(plan, b0), beat * beats, lh, 70 + rng.gauss(6));
      pushNote(part, beatTime(plan, b0) + 0.01, beat * beats, lh + 12, 60 + rng.gauss(6));
      for (const p of rh)
        pushNote(part, beatTime(plan, b0 + 1) + rng.gauss(0.01), beat * (beats - 1), p, 62 + rng.gauss(8));
    } else {
      const notes = [lh, lh + 7, ...rh];
      for (let i = 0; i < beats * 2; i++) {
        const p = notes[i % notes.length];
        pushNote(part, beatTime(plan, b0 + i / 2) + rng.gauss(0.006), beat * 1.5, p, 66 + rng.gauss(8));
      }
    }
  }
  return part;
}

// ---------------------------------------------------------------------------------------------
// Other (pads, strings, organ, synth, brass)

export function composeOther(rng: Rng, plan: SongPlan): Part {
  const kind = rng.pick(['pad', 'strings', 'organ', 'synth', 'brass'] as const);
  const program =
    kind === 'pad'
      ? rng.int(88, 95)
      : kind === 'strings'
        ? rng.int(48, 51)
        : kind === 'organ'
          ? rng.int(16, 18)
          : kind === 'synth'
            ? rng.int(80, 81)
            : rng.pick([61, 62, 56]);
  const part = newPart('other', program, kind);
  const beat = beatSeconds(plan);
  const centre = rng.int(58, 72);
  for (const chord of plan.chords) {
    const bar = Math.floor(chord.start / (beat * plan.beatsPerBar) + 1e-6);
    const section = sectionOfBar(plan, bar);
    if (section.name === 'verse' && rng.chance(0.4)) continue;
    const voicing = closeVoicing(chord, centre);
    const beats = Math.round((chord.end - chord.start) / beat);
    const b0 = chord.start / beat;
    if (kind === 'synth') {
      for (let i = 0; i < beats * 4; i++) {
        pushNote(
          part,
          beatTime(plan, b0 + i / 4),
          beat / 4.5,
          voicing[i % voicing.length] + 12,
          60 + rng.gauss(6),
        );
      }
    } else if (kind === 'brass') {
      const hits = rng.pick([[0], [0, 2.5], [1.5, 3]]).filter((h) => h < beats);
      for (const h of hits)
        for (const p of voicing) pushNote(part, beatTime(plan, b0 + h), beat * 0.45, p, 95 + rng.gauss(6));
    } else {
      const t = chord.start + rng.gauss(0.01);
      for (const p of voicing) pushNote(part, t, chord.end - chord.start - 0.02, p, 70 + rng.gauss(6));
      // expression swell
      for (let k = 0; k <= 4; k++) {
        part.ccs.push({
          time: t + (k / 4) * (chord.end - chord.start) * 0.5,
          controller: 11,
          value: Math.round(80 + 40 * (k / 4)),
        });
      }
    }
  }
  return part;
}

export interface PartChoice {
  drums: boolean;
  bass: boolean;
  rhythmGuitar: boolean;
  leadGuitar: boolean;
  keys: boolean;
  other: boolean;
}

/** Which parts a song has: drums and bass always (unless real ones replace them), guitar or keys at least. */
export function chooseParts(rng: Rng, opts: { generateRhythmSection: boolean }): PartChoice {
  let rhythmGuitar = rng.chance(0.85);
  const keys = rng.chance(0.7);
  if (!rhythmGuitar && !keys) rhythmGuitar = true;
  return {
    drums: opts.generateRhythmSection,
    bass: opts.generateRhythmSection,
    rhythmGuitar,
    leadGuitar: rng.chance(0.55),
    keys,
    other: rng.chance(0.65),
  };
}

/**
 * A string, key or voice struck again stops ringing: each note ends (at the latest) 5 ms before the next
 * onset of the same pitch. MIDI synths would otherwise stack voices, and the first note-off of a pitch
 * silences all of them.
 */
function cutRetriggers(part: Part): void {
  part.notes.sort((a, b) => a.time - b.time || a.pitch - b.pitch);
  const last = new Map<number, NoteEvent>();
  const dropped = new Set<NoteEvent>();
  for (const n of part.notes) {
    const prev = last.get(n.pitch);
    if (prev && n.time - prev.time < 0.015) {
      // the same pitch twice at once (doubled voicing, strum onto a ringing string): keep one, louder
      n.velocity = Math.max(n.velocity, prev.velocity);
      n.duration = Math.max(n.duration, prev.time + prev.duration - n.time);
      dropped.add(prev);
    } else if (prev && prev.time + prev.duration > n.time - 0.005) {
      prev.duration = n.time - 0.005 - prev.time;
    }
    last.set(n.pitch, n);
  }
  if (dropped.size > 0) part.notes = part.notes.filter((n) => !dropped.has(n));
}

export function composeParts(rng: Rng, plan: SongPlan, choice: PartChoice): Part[] {
  const parts: Part[] = [];
  // every composer is called in a fixed order whether or not its part is used, so that turning one
  // part off does not change the others
  const all: [PartName, Part][] = [
    ['drums', composeDrums(rng, plan)],
    ['bass', composeBass(rng, plan)],
    ['rhythmGuitar', composeRhythmGuitar(rng, plan)],
    ['leadGuitar', composeLeadGuitar(rng, plan)],
    ['keys', composeKeys(rng, plan)],
    ['other', composeOther(rng, plan)],
  ];
  // double-tracked rhythm guitar: a second take with its own timing and velocity spread
  const double = rng.chance(plan.genre === 'rock' || plan.genre === 'metal' ? 0.5 : 0.15);
  const take1 = all[2][1];
  const take2: Part = {
    ...take1,
    name: 'rhythmGuitar2',
    style: `${take1.style} (double)`,
    program: rng.chance(0.7) ? take1.program : rng.pick([take1.program, 27, 29, 30]),
    notes: take1.notes.map((n) => ({
      ...n,
      time: Math.max(0, n.time + rng.gauss(0.008)),
      velocity: Math.max(1, Math.min(127, Math.round(n.velocity + rng.gauss(6)))),
    })),
    ccs: [...take1.ccs],
    bends: [],
  };
  all.splice(3, 0, ['rhythmGuitar2', take2]);
  for (const [name, part] of all) {
    if (name === 'rhythmGuitar2' ? !(choice.rhythmGuitar && double) : !choice[name]) continue;
    if (!part.drums) cutRetriggers(part);
    part.notes = part.notes.filter((n) => n.time < plan.duration);
    part.ccs = part.ccs.filter((c) => c.time < plan.duration);
    part.bends = part.bends.filter((c) => c.time < plan.duration);
    parts.push(part);
  }
  return parts;
}
