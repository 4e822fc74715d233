/**
 * `npm run bench:synth` — speed of the synthetic multitrack generator: renders `--hours` (default 0.25)
 * with all cores into a scratch folder (removed afterwards unless `--keep`), then prints the machine,
 * the date, audio-hours per wall-hour and the extrapolated wall time of a 3-hour run. It also prints
 * the CPU time used (this process's threads plus its FluidSynth/ffmpeg children) and the load average
 * before the start, because on a shared machine wall time measures the other jobs too: the CPU-bound
 * figure (audio-hours per CPU-hour × cores) is what the machine gives when nothing else runs.
 *
 *   npm run bench:synth -- [--hours 0.25] [--workers N] [--seed 1] [--out DIR] [--keep]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
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

/** CPU seconds of this process (all threads) and of its waited-for children (Linux /proc). */
function cpuSeconds(): number {
  const self = process.cpuUsage();
  let children = 0;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime, USER_HZ = 100
  } catch {
    // not Linux: children not counted
  }
  return (self.user + self.system) / 1e6 + children;
}

const loadBefore = loadavg()[0];
const cpuBefore = cpuSeconds();
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
const cpu = cpuSeconds() - cpuBefore;
process.stderr.write('\n');
if (!o.keep) await rm(out, { recursive: true, force: true });
const hours = summary.seconds / 3600;
const rate = hours / (wall / 3600);
const cores = availableParallelism();
const model = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `machine: ${model}, ${cores} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
console.log(`date: ${new Date().toISOString()}`);
console.log(
  `rendered ${hours.toFixed(3)} h of stems (${summary.songs.length} songs, ${workers} workers) in ${wall.toFixed(1)} s: ` +
    `${rate.toFixed(1)} audio-hours per wall-hour; 3 h would take ~${((3 / rate) * 60).toFixed(1)} min`,
);
const cpuRate = (hours / (cpu / 3600)) * cores;
console.log(
  `CPU: ${cpu.toFixed(0)} s (threads + fluidsynth/ffmpeg children) = ${((cpu / summary.seconds) * 60).toFixed(1)} CPU-s per ` +
    `audio minute; CPU-bound on ${cores} free cores: ${cpuRate.toFixed(1)} audio-hours per wall-hour ` +
    `(3 h in ~${((3 / cpuRate) * 60).toFixed(1)} min); load average before start ${loadBefore.toFixed(2)}` +
    (loadBefore > 0.5 * cores ? ' — the machine was busy: the wall-time figure includes other jobs' : ''),
);
