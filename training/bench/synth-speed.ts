/**
 * `npm run bench:synth` — speed of the synthetic multitrack generator: renders `--hours` (default 0.25)
 * with all cores into a scratch folder (removed afterwards unless `--keep`), then prints the machine,
 * the date, audio-hours per wall-hour and the extrapolated wall time of a 3-hour run.
 *
 *   npm run bench:synth -- [--hours 0.25] [--workers N] [--seed 1] [--out DIR] [--keep]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { runSynth } from '../synth/run';

function positive(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number');
  return n;
}

const o = new Command()
  .name('npm run bench:synth --')
  .option('--hours <h>', 'hours of audio to render', positive, 0.25)
  .option('--workers <n>', 'worker threads (default: one per core)', positive)
  .option('--seed <n>', 'seed', positive, 1)
  .option('--out <dir>', 'output folder (default: a temporary folder)')
  .option('--keep', 'keep the rendered files')
  .parse()
  .opts<{ hours: number; workers?: number; seed: number; out?: string; keep?: boolean }>();

const out = o.out ?? (await mkdtemp(join(tmpdir(), 'stemdeck-bench-synth-')));
const workers = o.workers ?? availableParallelism();
const started = performance.now();
const summary = await runSynth({
  hours: o.hours,
  seed: o.seed,
  out,
  workers,
  onNote: (m) => process.stderr.write(`${m}\n`),
  onSong: (r, done, total) =>
    process.stderr.write(
      `\r[${done}/${total}] ${r.name} ${r.kind} ${r.seconds.toFixed(1)} s in ${r.renderSeconds.toFixed(1)} s   `,
    ),
});
const wall = (performance.now() - started) / 1000;
process.stderr.write('\n');
if (!o.keep) await rm(out, { recursive: true, force: true });
const hours = summary.seconds / 3600;
const rate = hours / (wall / 3600);
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `machine: ${cpu}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
console.log(`date: ${new Date().toISOString()}`);
console.log(
  `rendered ${hours.toFixed(3)} h of stems (${summary.songs.length} songs, ${workers} workers) in ${wall.toFixed(1)} s: ` +
    `${rate.toFixed(1)} audio-hours per wall-hour; 3 h would take ~${((3 / rate) * 60).toFixed(1)} min`,
);
