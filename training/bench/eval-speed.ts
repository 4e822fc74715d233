/**
 * `npm run bench:eval` — how fast the BSS Eval v4 evaluator runs: seconds of compute per second of
 * 4-stem stereo audio, on MUSDB18-7 test tracks scored against their irm1 oracle estimates (1-s windows,
 * 512-tap filters, as museval's defaults for MUSDB). Decoding and the oracle are not timed.
 *
 *   npm run bench:eval -- [--tracks 10] [--workers 2] [--musdb ../shared/data/musdb18-7]
 */
import { availableParallelism, cpus } from 'node:os';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Command } from 'commander';
import { SAMPLE_RATE } from '../../src/core/audio';
import { positiveInt } from '../cli/args';
import { bssEvalV4 } from '../eval/bsseval/bsseval';
import { oracleSeparate } from '../eval/oracle';
import { listMusdbTracks, loadTrack } from '../eval/tracks';
import type { BenchTrack } from './eval-speed-worker';

const program = new Command('bench:eval')
  .option('--musdb <root>', 'MUSDB18 root', '../shared/data/musdb18-7')
  .option('--subset <name>', 'subset', 'test')
  .option('--tracks <n>', 'number of tracks', positiveInt, 10)
  .option(
    '--workers <n>',
    'worker threads for the parallel run',
    positiveInt,
    Math.max(1, availableParallelism()),
  )
  .parse();
const opts = program.opts<{ musdb: string; subset: string; tracks: number; workers: number }>();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const sources = (await listMusdbTracks(resolve(opts.musdb), opts.subset)).slice(0, opts.tracks);
const tracks: BenchTrack[] = [];
for (const source of sources) {
  const track = await loadTrack(source);
  const references = Object.fromEntries(Object.entries(track.stems).map(([n, a]) => [n, a.channels]));
  const estimates = oracleSeparate('irm1', references);
  const names = Object.keys(references);
  tracks.push({
    name: track.name,
    references: names.map((n) => references[n]),
    estimates: names.map((n) => estimates[n]),
  });
}
const audioSeconds = tracks.map((t) => t.references[0][0].length / SAMPLE_RATE);
const totalAudio = audioSeconds.reduce((a, b) => a + b, 0);

// Warm-up (JIT), then one thread, track after track.
bssEvalV4(tracks[0].references, tracks[0].estimates);
const single = tracks.map((t) => {
  const start = performance.now();
  bssEvalV4(t.references, t.estimates);
  return (performance.now() - start) / 1000;
});
const perTrack = single.map((s, i) => s / audioSeconds[i]);

// Parallel: tracks dealt round-robin to workers, wall time of the whole batch.
const lanes = Array.from({ length: Math.min(opts.workers, tracks.length) }, (_, w) =>
  tracks.filter((_, i) => i % opts.workers === w),
);
const workers = lanes.map(
  () =>
    new Worker(new URL('../eval/worker-entry.mjs', import.meta.url), {
      workerData: { module: new URL('./eval-speed-worker.ts', import.meta.url).href },
    }),
);
const warm = workers.map((w) => new Promise((r) => w.once('message', r)));
for (const w of workers) w.postMessage([tracks[0]]);
await Promise.all(warm);
const started = performance.now();
await Promise.all(
  workers.map((w, i) => {
    const done = new Promise<number[]>((r) => w.once('message', r));
    w.postMessage(lanes[i]);
    return done;
  }),
);
const wall = (performance.now() - started) / 1000;
await Promise.all(workers.map((w) => w.terminate()));

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `machine: ${cpu}, ${availableParallelism()} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
);
console.log(
  `data: ${tracks.length} MUSDB18-7 ${opts.subset} tracks, ${totalAudio.toFixed(1)} s of 4-stem stereo audio, irm1 estimates`,
);
console.log(
  `one thread: ${(single.reduce((a, b) => a + b, 0) / totalAudio).toFixed(3)} s compute per audio second ` +
    `(median track ${median(perTrack).toFixed(3)}, ${median(single).toFixed(2)} s per track)`,
);
console.log(
  `${workers.length} workers: ${(wall / totalAudio).toFixed(3)} s wall per audio second (${wall.toFixed(2)} s for the batch)`,
);
