/**
 * `npm run separate` as a user runs it (a child process): options that combine, and bad input that
 * must end in a one-line message and no output files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { REPO_ROOT, testSignal, writeStereo } from '../data/testing';

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

/** A stereo float32 WAV of the project's test signal (a tone plus a little noise). */
async function tone(name: string, seconds: number): Promise<string> {
  const file = join(dir, name);
  await writeStereo(file, testSignal(1, Math.round(seconds * SAMPLE_RATE)));
  return file;
}

describe('npm run separate (CLI)', () => {
  it('writes residual.wav with --residual even when --stems does not list it', async () => {
    const input = await tone('song.wav', 2);
    const out = join(dir, 'residual');
    const res = separate(input, '--out', out, '--model', MODEL, '--stems', 'vocals', '--residual');
    expect(res.code, res.output).toBe(0);
    expect(readdirSync(join(out, 'song')).sort()).toEqual(['residual.wav', 'vocals.wav']);
  }, 60_000);

  it('refuses an unknown stem with a one-line usage error, not a stack trace', async () => {
    const res = separate(await tone('a.wav', 1), '--out', join(dir, 'unknown'), '--stems', 'vox');
    expect(res.code).toBe(1);
    expect(res.output).toMatch(/--stems <list>.*'vox' is invalid\. unknown stem\(s\): vox/);
    expect(res.output).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'unknown'))).toBe(false);
  }, 60_000);

  it('refuses a truncated WAV by name and writes no stems for it', async () => {
    const whole = readFileSync(await tone('whole.wav', 3));
    const cut = join(dir, 'cut.wav');
    writeFileSync(cut, whole.subarray(0, whole.length >> 2));
    const out = join(dir, 'cut-out');
    const res = separate(cut, '--out', out, '--model', MODEL);
    expect(res.code).toBe(1);
    expect(res.output).toMatch(/cut\.wav.*truncated or corrupt/);
    expect(existsSync(join(out, 'cut'))).toBe(false);
  }, 60_000);
});
