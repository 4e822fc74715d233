/**
 * `npm run bench:separate` — speed (real-time factor) and peak memory of `npm run separate` with a
 * model, on a 1-minute and a 10-minute input: memory must not grow with the input's length (the
 * separation streams in segments). Each run is a child process so its peak RSS is its own.
 *
 *   npm run bench:separate -- [--model models/X.onnx] [--song ../shared/data/songs/Kevin_MacLeod_-_Vibe_Ace.ogg] [--tta]
 *
 * Without --model it uses the default model if present, else random weights of the default size
 * (hidden 128, 4 targets) — the speed is the same, the output meaningless; the report says which.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { umxConfig } from '../../src/core/model/config';
import { exportUmxOnnx } from '../export/onnx';
import { randomUmxWeights } from '../export/test-weights';
import { DEFAULT_MODEL_PATH } from '../separate/defaults';

const opts = new Command('bench:separate')
  .option('--model <path>', 'exported model')
  .option(
    '--song <path>',
    'audio to loop into the test inputs',
    '../shared/data/songs/Kevin_MacLeod_-_Vibe_Ace.ogg',
  )
  .option('--minutes <list>', 'input lengths', '1,10')
  .option('--tta', 'with test-time augmentation (npm run separate --tta)', false)
  .parse()
  .opts<{ model?: string; song: string; minutes: string; tta: boolean }>();

const dir = mkdtempSync(join(tmpdir(), 'stemdeck-bench-sep-'));
try {
  let model = opts.model ?? (existsSync(DEFAULT_MODEL_PATH) ? DEFAULT_MODEL_PATH : '');
  let label = model;
  if (!model) {
    model = join(dir, 'random.onnx');
    writeFileSync(
      model,
      exportUmxOnnx(
        randomUmxWeights(umxConfig({ targets: ['vocals', 'drums', 'bass', 'other'], hiddenSize: 128 }), 1),
      ),
    );
    label = 'random weights, hidden 128, 4 targets (no trained model found)';
  }
  if (!existsSync(opts.song)) throw new Error(`song not found: ${opts.song}`);
  console.log(
    `machine: ${cpus()[0]?.model}, ${availableParallelism()} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(`model: ${label}${opts.tta ? ', --tta (left/right swap averaged)' : ''}`);
  for (const minutes of opts.minutes.split(',').map(Number)) {
    const input = join(dir, `input-${minutes}min.wav`);
    execFileSync('ffmpeg', [
      '-nostdin',
      '-v',
      'error',
      '-y',
      '-stream_loop',
      '-1',
      '-i',
      resolve(opts.song),
      '-t',
      String(minutes * 60),
      '-ac',
      '2',
      '-ar',
      '44100',
      input,
    ]);
    const started = performance.now();
    const res = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve('training/bench/separate-child.ts'),
        input,
        model,
        join(dir, `out-${minutes}`),
        opts.tta ? 'tta' : '',
      ],
      { encoding: 'utf8' },
    );
    const wall = (performance.now() - started) / 1000;
    if (res.status !== 0) throw new Error(`separation failed: ${res.stderr}`);
    const { maxRssMb, seconds } = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}');
    console.log(
      `${minutes} min: RTF ${(seconds / (minutes * 60)).toFixed(3)} (${seconds.toFixed(1)} s separating, ${wall.toFixed(1)} s wall incl. start-up), peak RSS ${maxRssMb.toFixed(0)} MB`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
