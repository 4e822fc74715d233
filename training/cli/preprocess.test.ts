/**
 * `npm run preprocess` end to end on a generated stems folder with one corrupt file: the skip policy
 * warns and counts, the stop policy names the file and exits non-zero.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeStemsTrack } from '../data/testing';

const repoRoot = resolve(import.meta.dirname, '../..');
const tsx = resolve(repoRoot, 'node_modules/.bin/tsx');

function run(args: string[]) {
  const res = spawnSync(tsx, [resolve(repoRoot, 'training/cli/preprocess.ts'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

describe('preprocess CLI', () => {
  let dir: string;
  let root: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stemdeck-preprocess-cli-'));
    root = join(dir, 'stems');
    for (const t of ['one', 'two', 'three'])
      await writeStemsTrack(root, t, ['vocals', 'guitar'], t.length, 0.3);
    await writeFile(join(root, 'two', 'guitar.wav'), 'RIFF but not really');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('skips the bad track with a one-line warning and counts it in the summary', () => {
    const res = run(['--dataset', 'stems', '--root', root, '--cache', join(dir, 'cache')]);
    expect(res.code, res.err).toBe(0);
    expect(res.err).toMatch(/^warning: skipped "two": .*two.guitar\.wav.*not a WAV/m);
    expect(res.out).toMatch(/preprocess stems: 3 tracks — 2 decoded, 0 rebuilt, 0 already cached, 1 skipped/);
    const [, train, valid] = res.out.match(/split seeded: (\d+) train \/ (\d+) valid/) ?? [];
    expect(Number(train) + Number(valid)).toBe(2); // the split is drawn over all three, "two" drops out
  });

  it('stops with --on-bad-data stop, naming the file, exit code 1', () => {
    const res = run([
      '--dataset',
      'stems',
      '--root',
      root,
      '--cache',
      join(dir, 'c2'),
      '--on-bad-data',
      'stop',
    ]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^error: .*two.guitar\.wav.*not a WAV/m);
    expect(res.err).toMatch(/preprocess stopped/);
  });

  it('rejects an unknown dataset kind', () => {
    const res = run(['--dataset', 'gtzan', '--root', root]);
    expect(res.code).not.toBe(0);
    expect(res.err).toMatch(/musdb18, medleydb, stems/);
  });
});
