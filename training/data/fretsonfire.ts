/**
 * Real "guitar vs rest" songs: the Frets on Fire song packages of Debian (`fretsonfire-songs-muldjord`,
 * `fretsonfire-songs-sectoid`; `bash scripts/install-system-deps.sh --data` installs them). Each song
 * folder `<root>/<package>/<song>/` holds `guitar.ogg` (the lead guitar, isolated) and `song.ogg`
 * (everything else, mixed). Only those two are known, so a track here has two stems: `guitar` and
 * `rest` — the mixture is their sum, and "rest" may hold further guitar layers. A training run uses
 * them to teach the guitar network (`rest` becomes one more source of the mixture, never a target).
 *
 * Held out, never trained on: the first song of each package in code-point order of the folder names
 * (a rule fixed before any result on these songs), so `--subset test` is one song per package and
 * `--subset train` the others.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_RATE } from '../../src/core/audio';
import { writeWav } from '../node/audio-io';
import { loadAudioFile } from './audio-file';
import { assembleTrack, rms, sumSignals, type Track, type TrackRef } from './track';

/** Where the Debian packages put the songs. */
export const FRETSONFIRE_ROOT = '/usr/share/games/fretsonfire/data/songs';
export const FRETSONFIRE_PACKAGES = ['muldjord', 'sectoid'] as const;
export const FRETSONFIRE_SUBSETS = ['train', 'test', 'all'] as const;
export type FretsOnFireSubset = (typeof FRETSONFIRE_SUBSETS)[number];

/** File → stem of a song folder. */
const FILES = { guitar: 'guitar.ogg', rest: 'song.ogg' } as const;

/** `<package>/<song>` folders with both files, by package then song name (code-point order). */
async function songsOfPackage(root: string, pkg: string): Promise<TrackRef[]> {
  const dir = join(root, pkg);
  if (!existsSync(dir)) return [];
  const refs: TrackRef[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory() && Object.values(FILES).every((f) => existsSync(join(path, f)))) {
      refs.push({ dataset: 'fretsonfire', name: `${pkg}-${e.name}`, path });
    }
  }
  return refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The songs of one subset. `test` is the first song of each package present, `train` the rest.
 * Throws a clear error when the packages are not installed.
 */
export async function listFretsOnFire(
  root: string = FRETSONFIRE_ROOT,
  subset: string = 'train',
): Promise<TrackRef[]> {
  if (!(FRETSONFIRE_SUBSETS as readonly string[]).includes(subset)) {
    throw new Error(`Frets on Fire subset must be one of ${FRETSONFIRE_SUBSETS.join(', ')}, got "${subset}"`);
  }
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) {
    throw new Error(
      `Frets on Fire songs not found at ${root}: install them with \`bash scripts/install-system-deps.sh --data\``,
    );
  }
  const out: TrackRef[] = [];
  for (const pkg of FRETSONFIRE_PACKAGES) {
    const songs = await songsOfPackage(root, pkg);
    if (subset === 'all') out.push(...songs);
    else if (subset === 'test') out.push(...songs.slice(0, 1));
    else out.push(...songs.slice(1));
  }
  if (out.length === 0) {
    throw new Error(`no Frets on Fire songs (<package>/<song>/{guitar,song}.ogg) under ${root}`);
  }
  return out;
}

export async function fretsOnFireSourceFiles(ref: TrackRef): Promise<string[]> {
  return Object.values(FILES).map((f) => join(ref.path, f));
}

/** Decodes a song: stems `guitar` and `rest`; no mixture of its own (it is their sum). */
export async function loadFretsOnFireTrack(ref: TrackRef): Promise<Track> {
  const parts = [];
  for (const [target, file] of Object.entries(FILES))
    parts.push(await loadAudioFile(join(ref.path, file), target));
  return assembleTrack(ref, parts, await fretsOnFireSourceFiles(ref), {
    trackFile: ref.path,
    required: Object.entries(FILES).map(([target, f]) => ({ target, expectedFile: join(ref.path, f) })),
  });
}

/**
 * The middle `seconds` of a track (the whole track when it is shorter, or `seconds` is 0): the
 * evaluation excerpt, away from count-ins and fade-outs.
 */
export function middleExcerpt(track: Track, seconds: number): Track {
  const n = Math.round(seconds * SAMPLE_RATE);
  if (!(n > 0) || n >= track.length) return track;
  const start = Math.floor((track.length - n) / 2);
  const cut = (x: readonly Float32Array[]) => x.map((c) => c.slice(start, start + n));
  return {
    ...track,
    length: n,
    stems: Object.fromEntries(Object.entries(track.stems).map(([k, v]) => [k, cut(v)])),
    ...(track.mixture ? { mixture: cut(track.mixture) } : {}),
  };
}

/**
 * `<dir>/mixture.wav` (the sum of `stems`) and `<dir>/<stem>.wav` for each stem, float32, written
 * whole or not at all (a temporary name, renamed at the end).
 */
async function writeEvalFolder(
  dir: string,
  stems: Readonly<Record<string, Float32Array[]>>,
  length: number,
): Promise<void> {
  const tmp = `${dir}.partial`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const mixture = sumSignals(Object.values(stems), length);
  for (const [name, channels] of [['mixture', mixture], ...Object.entries(stems)] as const) {
    await writeWav(join(tmp, `${name}.wav`), { sampleRate: SAMPLE_RATE, channels });
  }
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/**
 * Writes `<out>/<song>/{mixture,guitar,rest}.wav` (float32; mixture = guitar + rest) for each song
 * of a subset: evaluation tracks for `npm run separate` and `npm run eval -- --musdb`. Each folder is
 * written whole or not at all (a temporary name, renamed at the end). Returns the folders.
 */
export async function writeGuitarSongs(opts: {
  root?: string;
  subset: string;
  seconds: number;
  out: string;
  onSong?: (name: string) => void;
}): Promise<string[]> {
  const refs = await listFretsOnFire(opts.root, opts.subset);
  await mkdir(opts.out, { recursive: true });
  const dirs: string[] = [];
  for (const ref of refs) {
    const track = middleExcerpt(await loadFretsOnFireTrack(ref), opts.seconds);
    const dir = join(opts.out, ref.name);
    await writeEvalFolder(dir, track.stems, track.length);
    dirs.push(dir);
    opts.onSong?.(ref.name);
  }
  return dirs;
}

/** An accompaniment to lay real guitar over (e.g. a MUSDB18 test track's vocals + drums + bass). */
export interface Accompaniment {
  readonly name: string;
  readonly channels: readonly Float32Array[];
}

/** Guitar pieces quieter than this RMS (about −70 dBFS: the lead is resting) are left out. */
const SILENT_RMS = 3e-4;

/**
 * Real recorded guitar over accompaniments that hold no guitar: each song's excerpt (`seconds` from
 * its middle) cut into `pieces` consecutive pieces, piece j of song s laid over accompaniment
 * (pieces·s + j) mod count, as long as the shorter of the two; with `levelDb`, the guitar scaled to
 * that many dB relative to the accompaniment's RMS (else as recorded). Written as
 * `<out>/<song> @ <accompaniment>/{mixture,guitar,rest}.wav`, each folder whole or not at all. This
 * scores the guitar network on real guitar without the Frets on Fire songs' own rhythm guitars in
 * "rest" (which count against a network that takes them). Pieces whose guitar is silent are left
 * out. Returns the folders.
 */
export async function writeGuitarOverAccompaniments(opts: {
  root?: string;
  subset: string;
  seconds: number;
  pieces: number;
  accompaniments: readonly Accompaniment[];
  levelDb: number | null;
  out: string;
  onPiece?: (name: string) => void;
}): Promise<string[]> {
  const { accompaniments, pieces } = opts;
  if (!(Number.isInteger(pieces) && pieces >= 1))
    throw new Error(`pieces must be a whole number ≥ 1, got ${pieces}`);
  if (accompaniments.length === 0) throw new Error('no accompaniments to lay the guitar over');
  const refs = await listFretsOnFire(opts.root, opts.subset);
  await mkdir(opts.out, { recursive: true });
  const dirs: string[] = [];
  for (const [s, ref] of refs.entries()) {
    const song = middleExcerpt(await loadFretsOnFireTrack(ref), opts.seconds);
    const guitar = song.stems.guitar;
    for (let j = 0; j < pieces; j++) {
      const acc = accompaniments[(pieces * s + j) % accompaniments.length];
      const n = Math.min(acc.channels[0].length, Math.floor(song.length / pieces));
      const start = j * n;
      const rest = acc.channels.map((c) => c.slice(0, n));
      let g = guitar.map((c) => c.slice(start, start + n));
      const level = rms(g);
      if (level < SILENT_RMS) continue; // also an empty piece (rms 0)
      if (opts.levelDb !== null) {
        const gain = (10 ** (opts.levelDb / 20) * rms(rest)) / level;
        g = g.map((c) => c.map((v) => v * gain));
      }
      const name = `${ref.name} @ ${acc.name}`;
      const dir = join(opts.out, name);
      await writeEvalFolder(dir, { guitar: g, rest }, n);
      dirs.push(dir);
      opts.onPiece?.(name);
    }
  }
  return dirs;
}
