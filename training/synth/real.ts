/**
 * Real audio for the generator: MUSDB18 stems (drums, bass, vocals — never "other", which holds
 * guitars and pianos) and the isolated recordings of `../shared/data/instruments` (guitar, piano),
 * cut into excerpts and augmented with pitch shift and time stretch by ffmpeg's `rubberband` filter.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SAMPLE_RATE } from '../../src/core/audio';
import { isAudioFile } from '../data/audio-file';
import { decodeStems, probeAudio } from '../node/audio-io';

export interface MusdbSource {
  path: string;
  name: string;
  seconds: number;
}

export interface Recording {
  /** Path relative to the instruments root (manifests stay machine-independent). */
  file: string;
  path: string;
  instrument: 'guitar' | 'piano';
  /** Sub-folder (collection), e.g. `nam-di`. */
  collection: string;
  seconds: number;
  /** A dry direct-input signal that needs the amp/cabinet stage. */
  di: boolean;
}

/** Guitar collections recorded dry (DI): they go through the amp and cabinet simulation. */
export const DI_COLLECTIONS = ['nam-di', 'nfx-emulation', 'micbuffa-di'];

/**
 * Which real audio a run may draw, so a test set shares nothing real with the training set:
 * `train` — MUSDB18 `train` and four of every five recordings of each collection; `test` — MUSDB18
 * `test` and the fifth recording (file order within its collection); `all` — MUSDB18 `train` and
 * every recording (the generator's default before held-out sets existed).
 */
export type RealPart = 'all' | 'train' | 'test';

export const REAL_PARTS: readonly RealPart[] = ['all', 'train', 'test'];

/** Every fifth recording of a collection (sorted file order) is held out for test sets. */
export function recordingPart(indexInCollection: number): 'train' | 'test' {
  return indexInCollection % 5 === 4 ? 'test' : 'train';
}

export function musdbSubsetFor(part: RealPart): 'train' | 'test' {
  return part === 'test' ? 'test' : 'train';
}

export async function listMusdb(root: string, subset: 'train' | 'test' = 'train'): Promise<MusdbSource[]> {
  const dir = join(root, subset);
  if (!existsSync(dir)) return [];
  const names = (await readdir(dir)).filter((f) => f.endsWith('.stem.mp4')).sort();
  return names.map((f) => ({
    path: join(dir, f),
    name: f.slice(0, -'.stem.mp4'.length),
    seconds: Number.NaN,
  }));
}

/** Duration of a MUSDB18 track (ffprobe), cached on the object. */
export async function musdbSeconds(src: MusdbSource): Promise<number> {
  if (Number.isNaN(src.seconds)) {
    const probe = await probeAudio(src.path);
    src.seconds = probe.audioStreams[0]?.duration ?? probe.duration ?? 0;
  }
  return src.seconds;
}

/** Drums, bass and vocals of a MUSDB18 `.stem.mp4`, cut to [start, start + seconds). */
export async function loadMusdbRhythm(
  path: string,
  start: number,
  seconds: number,
): Promise<Record<'drums' | 'bass' | 'vocals', Float32Array[]>> {
  const { stems } = await decodeStems(path);
  const from = Math.round(start * SAMPLE_RATE);
  const n = Math.round(seconds * SAMPLE_RATE);
  const cut = (chs: Float32Array[]) =>
    chs.map((c) => {
      const out = new Float32Array(n);
      out.set(c.subarray(from, Math.min(c.length, from + n)));
      return out;
    });
  return {
    drums: cut(stems.drums.channels),
    bass: cut(stems.bass.channels),
    vocals: cut(stems.vocals.channels),
  };
}

/**
 * Every guitar and piano recording under `root`. Durations are probed lazily (`recordingSeconds`), only
 * for the files a song draws, so listing costs no ffprobe runs.
 */
export async function listRecordings(root: string, part: RealPart = 'all'): Promise<Recording[]> {
  const out: Recording[] = [];
  for (const instrument of ['guitar', 'piano'] as const) {
    const dir = join(root, instrument);
    if (!existsSync(dir)) continue;
    for (const collection of (await readdir(dir)).sort()) {
      const cdir = join(dir, collection);
      if (!(await stat(cdir)).isDirectory()) continue;
      const files = (await readdir(cdir)).filter(isAudioFile).sort();
      for (const [i, f] of files.entries()) {
        if (part !== 'all' && recordingPart(i) !== part) continue;
        const path = join(cdir, f);
        out.push({
          file: relative(root, path),
          path,
          instrument,
          collection,
          seconds: Number.NaN,
          di: instrument === 'guitar' && DI_COLLECTIONS.includes(collection),
        });
      }
    }
  }
  return out;
}

const durations = new Map<string, number>();

/** Duration of a recording in seconds (ffprobe once per file and thread); 0 when unreadable. */
export async function recordingSeconds(rec: Recording): Promise<number> {
  let d = durations.get(rec.path);
  if (d === undefined) {
    const probe = await probeAudio(rec.path).catch(() => null);
    d = probe?.duration ?? probe?.audioStreams[0]?.duration ?? 0;
    durations.set(rec.path, d);
  }
  return d;
}

/**
 * Decodes `seconds` of output from `path` starting at `start` (input time), pitch-shifted by `semitones`
 * and time-stretched by `tempo` (> 1 = faster) with ffmpeg's rubberband filter, as 44.1 kHz stereo.
 * The output may be shorter than asked when the file ends.
 */
export async function decodeAugmented(
  path: string,
  start: number,
  seconds: number,
  semitones: number,
  tempo: number,
): Promise<Float32Array[]> {
  const filters = [`aresample=${SAMPLE_RATE}`];
  if (semitones !== 0 || tempo !== 1) {
    filters.push(`rubberband=pitch=${(2 ** (semitones / 12)).toFixed(6)}:tempo=${tempo.toFixed(6)}`);
  }
  const args = [
    '-nostdin',
    '-v',
    'error',
    '-ss',
    start.toFixed(4),
    '-t',
    (seconds * tempo + 0.05).toFixed(4),
    '-i',
    path,
    '-af',
    filters.join(','),
    '-ac',
    '2',
    '-ar',
    String(SAMPLE_RATE),
    '-f',
    'f32le',
    '-threads',
    '1',
    'pipe:1',
  ];
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    p.stderr.on('data', (d: Buffer) => errs.push(d));
    p.on('error', reject);
    p.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0)
    throw new Error(`ffmpeg failed on ${path}: ${Buffer.concat(errs).toString().trim().slice(-300)}`);
  const bytes = new Uint8Array(Buffer.concat(chunks));
  const frames = Math.min(Math.floor(bytes.byteLength / 8), Math.round(seconds * SAMPLE_RATE));
  const inter = new Float32Array(bytes.buffer, 0, frames * 2);
  const l = new Float32Array(frames);
  const r = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    l[i] = inter[2 * i];
    r[i] = inter[2 * i + 1];
  }
  return [l, r];
}
