/**
 * A plain folder of multitracks, for users' own recordings: `<root>/<track>/<target>.<ext>` with any
 * target names (`vocals.wav`, `guitar.flac`, `keys.mp3`, …); an optional `mixture.<ext>` is kept as
 * the track's mix. Every target a listing asks for (`required`) must be present in every track.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { isAudioFile, loadAudioFile } from './audio-file';
import { assembleTrack, BadDataError, type DecodedPart, type Track, type TrackRef } from './track';

export async function listStemFolders(root: string): Promise<TrackRef[]> {
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`stems folder not found: ${root}`);
  const refs: TrackRef[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const path = join(root, e.name);
    const files = await readdir(path);
    if (files.some(isAudioFile)) refs.push({ dataset: 'stems', name: e.name, path });
  }
  if (refs.length === 0)
    throw new Error(`no track folders with audio files (<track>/<target>.wav) in ${root}`);
  return refs.sort((a, b) => a.name.localeCompare(b.name));
}

/** Audio files of a track folder by target (file name without extension, lower case). */
async function filesByTarget(ref: TrackRef): Promise<Map<string, string>> {
  const byTarget = new Map<string, string>();
  for (const f of (await readdir(ref.path)).filter(isAudioFile).sort()) {
    const target = f.slice(0, -extname(f).length).toLowerCase();
    const other = byTarget.get(target);
    if (other) {
      throw new BadDataError(join(ref.path, f), `a second file for target "${target}" (besides ${other})`);
    }
    byTarget.set(target, join(ref.path, f));
  }
  return byTarget;
}

export async function stemFolderSourceFiles(ref: TrackRef): Promise<string[]> {
  return [...(await filesByTarget(ref)).values()];
}

export async function loadStemFolderTrack(ref: TrackRef, required: readonly string[] = []): Promise<Track> {
  const byTarget = await filesByTarget(ref);
  const parts: DecodedPart[] = [];
  for (const [target, file] of byTarget) parts.push(await loadAudioFile(file, target));
  return assembleTrack(ref, parts, [...byTarget.values()], {
    trackFile: ref.path,
    required: required.map((target) => ({ target, expectedFile: join(ref.path, `${target}.*`) })),
  });
}
