/**
 * Evaluation data: MUSDB18 (`<root>/<subset>/<track>.stem.mp4`) or MUSDB18-HQ-style folders
 * (`<root>/<subset>/<track>/{mixture,drums,bass,other,vocals}.wav`), and folders of `<stem>.wav` files.
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type AudioBuffer32, SAMPLE_RATE } from '../../src/core/audio';
import { MUSDB_STEMS, STEM_NAMES } from '../../src/core/stems';
import { AudioInputError, decodeAudio, decodeStems } from '../node/audio-io';

export interface TrackSource {
  /** Track name (file name without `.stem.mp4`, or the folder name). */
  name: string;
  kind: 'stem-mp4' | 'stem-folder';
  path: string;
}

export interface TrackStems {
  name: string;
  mixture: AudioBuffer32;
  /** True stems by target name, all at 44.1 kHz stereo and of equal length. */
  stems: Record<string, AudioBuffer32>;
}

/** Lists the tracks of a MUSDB18 subset, sorted by name. Throws a clear error when there are none. */
export async function listMusdbTracks(root: string, subset: string): Promise<TrackSource[]> {
  const dir = join(root, subset);
  if (!existsSync(dir)) throw new Error(`MUSDB18 subset folder not found: ${dir}`);
  const entries = await readdir(dir, { withFileTypes: true });
  const tracks: TrackSource[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isFile() && e.name.endsWith('.stem.mp4')) {
      tracks.push({ name: e.name.slice(0, -'.stem.mp4'.length), kind: 'stem-mp4', path });
    } else if (e.isDirectory() && existsSync(join(path, 'mixture.wav'))) {
      tracks.push({ name: e.name, kind: 'stem-folder', path });
    }
  }
  if (tracks.length === 0) throw new Error(`no MUSDB18 tracks (*.stem.mp4 or <track>/mixture.wav) in ${dir}`);
  return tracks.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Decodes one track's mixture and true stems: the four of a `.stem.mp4`; for a folder, every
 * `<name>.wav` beside `mixture.wav` (MUSDB18-HQ: four; `npm run synth` songs: six; `npm run
 * guitar-songs` excerpts: guitar and rest). A folder needs MUSDB18's four stems, or a guitar.
 */
export async function loadTrack(source: TrackSource): Promise<TrackStems> {
  if (source.kind === 'stem-mp4') {
    const { mixture, stems } = await decodeStems(source.path);
    return { name: source.name, mixture, stems };
  }
  const mixture = await decodeAudio(join(source.path, 'mixture.wav'));
  const stems: Record<string, AudioBuffer32> = {};
  const names = (await readdir(source.path))
    .filter((f) => f.endsWith('.wav') && f !== 'mixture.wav')
    .map((f) => f.slice(0, -'.wav'.length))
    .sort((a, b) => stemOrder(a) - stemOrder(b) || a.localeCompare(b));
  for (const stem of names) stems[stem] = await decodeAudio(join(source.path, `${stem}.wav`));
  const missing = MUSDB_STEMS.filter((s) => !stems[s]);
  if (Object.keys(stems).length === 0 || (missing.length > 0 && !stems.guitar)) {
    throw new AudioInputError(source.path, `no ${missing.join('.wav, ')}.wav beside mixture.wav`);
  }
  return { name: source.name, mixture, stems };
}

/** The shared stem list's order first, other names after it. */
function stemOrder(name: string): number {
  const i = (STEM_NAMES as readonly string[]).indexOf(name);
  return i < 0 ? STEM_NAMES.length : i;
}

/**
 * Stems summed into one estimate: `other=guitar,piano,other` scores a 6-stem separation against a
 * 4-stem reference (MUSDB18's "other" holds guitars and keys). Parsed from `--group` options.
 */
export type StemGroups = Readonly<Record<string, readonly string[]>>;

export function parseStemGroup(text: string, previous: StemGroups = {}): StemGroups {
  const m = /^([a-z]+)=([a-z]+(?:,[a-z]+)*)$/.exec(text.trim());
  if (!m) throw new Error(`--group expects NAME=STEM,STEM,… (e.g. other=guitar,piano,other), got "${text}"`);
  return { ...previous, [m[1]]: m[2].split(',') };
}

/**
 * Estimates for `names` from a folder of `<stem>.wav` files; a grouped name is the sample-wise sum
 * of its members' files (all of which must exist).
 */
export async function loadEstimates(
  dir: string,
  names: readonly string[],
  groups: StemGroups = {},
): Promise<Record<string, Float32Array[]>> {
  const files = await loadStemFolder(dir, [...new Set(names.flatMap((n) => groups[n] ?? [n]))]);
  const channels = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, f.channels]));
  return groupStems(channels, names, groups, (n) => {
    throw new AudioInputError(join(dir, `${n}.wav`), 'grouped estimates differ in length');
  });
}

/**
 * `names` from separated stems: a grouped name is the sample-wise sum of its members (e.g. a 6-stem
 * separation's guitar + piano + other as MUSDB18's "other"), any other name the stem itself.
 * `onLengthMismatch` is called (and must throw) when a group's members differ in length.
 */
export function groupStems(
  stems: Readonly<Record<string, Float32Array[]>>,
  names: readonly string[],
  groups: StemGroups,
  onLengthMismatch: (name: string) => never = (n) => {
    throw new Error(`${n}: grouped stems differ in length`);
  },
): Record<string, Float32Array[]> {
  const out: Record<string, Float32Array[]> = {};
  for (const n of names) {
    const members = (groups[n] ?? [n]).map((m) => stems[m]);
    out[n] = members[0].map((_, c) => {
      const sum = new Float32Array(members[0][c].length);
      for (const ch of members) {
        if (ch[c].length !== sum.length) onLengthMismatch(n);
        for (let i = 0; i < sum.length; i++) sum[i] += ch[c][i];
      }
      return sum;
    });
  }
  return out;
}

/**
 * Reads every `<stem>.wav` (or other audio file) in a folder, keyed by file name without extension,
 * decoded to 44.1 kHz stereo. `only` restricts and orders the names; a missing one is an error.
 */
export async function loadStemFolder(
  dir: string,
  only?: readonly string[],
): Promise<Record<string, AudioBuffer32>> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`not a folder: ${dir}`);
  const files = (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.wav'));
  const byName = new Map(files.map((f) => [basename(f, '.wav').replace(/\.WAV$/, ''), join(dir, f)]));
  const names = only ?? [...byName.keys()].filter((n) => n !== 'mixture').sort();
  if (names.length === 0) throw new Error(`no <stem>.wav files in ${dir}`);
  const out: Record<string, AudioBuffer32> = {};
  for (const name of names) {
    const path = byName.get(name);
    if (!path) throw new AudioInputError(join(dir, `${name}.wav`), 'missing estimate for this target');
    const audio = await decodeAudio(path);
    if (audio.sampleRate !== SAMPLE_RATE)
      throw new AudioInputError(path, `decoded at ${audio.sampleRate} Hz`);
    out[name] = audio;
  }
  return out;
}
