/**
 * `npm run separate` as a user runs it (a child process): options that combine, and bad input that
 * must end in a one-line message and no output files.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../data/testing';

const dir = mkdtempSync(join(tmpdir(), 'stemdeck-separate-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MODEL = join(REPO_ROOT, 'models/stemdeck-umx4.onnx');

function separate(...args: string[]) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'training/cli/separate.ts', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { code: res.status, output: `${res.stdout}${res.stderr}` };
}

function tone(name: string, seconds: number): string {
  const file = join(dir, name);
  execFileSync('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=330:duration=${seconds}`,
    '-ac',
    '2',
    file,
  ]);
  return file;
}

describe('npm run separate (CLI)', () => {
  it('writes residual.wav with --residual even when --stems does not list it', () => {
    const input = tone('song.wav', 2);
    const out = join(dir, 'residual');
    const res = separate(input, '--out', out, '--model', MODEL, '--stems', 'vocals', '--residual');
    expect(res.code, res.output).toBe(0);
    expect(readdirSync(join(out, 'song')).sort()).toEqual(['residual.wav', 'vocals.wav']);
  }, 60_000);

  it('refuses an unknown stem with a one-line usage error, not a stack trace', () => {
    const res = separate(tone('a.wav', 1), '--out', join(dir, 'unknown'), '--stems', 'vox');
    expect(res.code).toBe(1);
    expect(res.output).toMatch(/--stems <list>.*'vox' is invalid\. unknown stem\(s\): vox/);
    expect(res.output).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'unknown'))).toBe(false);
  }, 60_000);

  it('refuses a truncated WAV by name and writes no stems for it', () => {
    const whole = readFileSync(tone('whole.wav', 3));
    const cut = join(dir, 'cut.wav');
    writeFileSync(cut, whole.subarray(0, whole.length >> 2));
    const out = join(dir, 'cut-out');
    const res = separate(cut, '--out', out, '--model', MODEL);
    expect(res.code).toBe(1);
    expect(res.output).toMatch(/cut\.wav.*truncated or corrupt/);
    expect(existsSync(join(out, 'cut'))).toBe(false);
  }, 60_000);
});
