/** compare-runs on two small generated run folders: the table holds the logged values, and bad folders fail clearly. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../..');
const tsx = resolve(repoRoot, 'node_modules/.bin/tsx');
const dir = mkdtempSync(join(tmpdir(), 'stemdeck-compare-'));

function makeRun(name: string, input: object, sdr: number[], loss: number[], target = 'bass', extra = {}) {
  const run = join(dir, 'exp', name);
  mkdirSync(run, { recursive: true });
  writeFileSync(
    join(run, 'config.json'),
    JSON.stringify({ model: { targets: [target], hiddenSize: 16, input, ...extra } }),
  );
  const lines = loss.flatMap((l, i) => [
    { step: i, epoch: i + 1, tag: `valid/loss/${target}`, value: l },
    { step: i, epoch: i + 1, tag: 'train/epoch_audio_s_per_s', value: 10 + i },
    ...(sdr[i] !== undefined ? [{ step: i, epoch: i + 1, tag: `valid/sdr/${target}`, value: sdr[i] }] : []),
  ]);
  writeFileSync(join(run, 'log.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  return run;
}

const run = (args: string[]) =>
  spawnSync(tsx, [resolve(repoRoot, 'training/cli/compare-runs.ts'), ...args], { encoding: 'utf8' });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('compare-runs', () => {
  it('lists validation SDR, best loss so far and mean throughput at the common epochs', () => {
    const a = makeRun('linear', { kind: 'linear' }, [1.5, 2.5], [3, 2]);
    const b = makeRun('mel', { kind: 'bands', scale: 'mel', bands: 64 }, [1.25, 3], [2.5, 2.75]);
    const res = run([a, b]);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain('| exp/linear | linear, hidden 16 | 2 | 2.50 | 2.000 | 10.5 |');
    // Best loss so far, not the last one: epoch 2 of the mel run keeps epoch 1's 2.5.
    expect(res.stdout).toContain('| exp/mel | mel 64, hidden 16 | 2 | 3.00 | 2.500 | 10.5 |');
    expect(res.stdout).toContain('| exp/mel | mel 64, hidden 16 | 1 | 1.25 | 2.500 | 10.0 |');
  });

  it('A+B: two folders (one model trained as two processes) as one run; joint runs are labelled', () => {
    const bass = makeRun('pt-bass', { kind: 'linear' }, [1], [3]);
    const vocals = makeRun('pt-vocals', { kind: 'linear' }, [2], [4], 'vocals');
    const joint = makeRun('joint', { kind: 'linear' }, [0.5], [5], 'bass', { joint: true });
    const res = run([`${bass}+${vocals}`, joint]);
    expect(res.status, res.stderr).toBe(0);
    // Only bass is common to both runs.
    expect(res.stdout).toContain(
      '| exp/pt-bass + exp/pt-vocals | linear, hidden 16 | 1 | 1.00 | 3.000 | 10.0 |',
    );
    expect(res.stdout).toContain('| exp/joint | linear, hidden 16, joint | 1 | 0.50 | 5.000 | 10.0 |');
  });

  it('fails with a clear message on a folder that is not a run', () => {
    const res = run([join(dir, 'nothing-here')]);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/is not a training run folder/);
  });
});
