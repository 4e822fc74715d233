/**
 * GTZAN genre collection: `<root>/genres/<genre>/*.wav` (or `<root>/<genre>/*.wav` when `root` is the
 * `genres` folder itself). No stems: clips with genre labels, read by `npm run insights`
 * (`training/insights/`).
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AudioBuffer32 } from '../../src/core/audio';
import { SAMPLE_RATE } from '../../src/core/audio';
import { isAudioFile, loadAudioFile } from './audio-file';
import { checkFinite } from './track';

export interface GtzanClip {
  /** File name without extension, e.g. `blues.00000`. */
  readonly name: string;
  readonly genre: string;
  readonly path: string;
}

export interface GtzanListing {
  /** Genre folder names, sorted: index = class label. */
  readonly genres: string[];
  /** Clips sorted by genre, then name. */
  readonly clips: GtzanClip[];
  /** Genre folders that hold no audio file (left out of `genres`), as paths, so callers can say so. */
  readonly emptyGenres: string[];
}

export async function listGtzan(root: string): Promise<GtzanListing> {
  const dir = existsSync(join(root, 'genres')) ? join(root, 'genres') : root;
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`GTZAN folder not found: ${root}`);
  const genres: string[] = [];
  const clips: GtzanClip[] = [];
  const emptyGenres: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory());
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const files = (await readdir(join(dir, e.name))).filter(isAudioFile).sort();
    if (files.length === 0) {
      emptyGenres.push(join(dir, e.name));
      continue;
    }
    genres.push(e.name);
    for (const f of files) {
      clips.push({ name: f.replace(/\.[^.]+$/, ''), genre: e.name, path: join(dir, e.name, f) });
    }
  }
  if (clips.length === 0) {
    const empty = emptyGenres.length > 0 ? ` (empty genre folders: ${emptyGenres.join(', ')})` : '';
    throw new Error(`no GTZAN clips (genres/<genre>/*.wav) in ${root}${empty}`);
  }
  return { genres, clips, emptyGenres };
}

/** Decodes a clip (GTZAN is 22.05 kHz mono) to 44.1 kHz stereo; non-finite samples are an error. */
export async function loadGtzanClip(clip: GtzanClip): Promise<AudioBuffer32> {
  const part = await loadAudioFile(clip.path, clip.genre);
  checkFinite(clip.path, part.channels);
  return { sampleRate: SAMPLE_RATE, channels: part.channels };
}
