/** Atomic file writes for Node: readers never see a half-written file. */
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

let counter = 0;

/**
 * Writes `data` to `<path>.tmp-<pid>-<n>` and renames it over `path` (atomic on one filesystem),
 * creating parent directories first. The `-<n>` suffix keeps concurrent writes of one process apart.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${counter++}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
