/**
 * `npm run eval` — BSS Eval v4 (museval-exact) from the command line.
 *
 *   npm run eval -- --references DIR --estimates DIR [--out FILE.json] [--win 44100 --hop 44100]
 *   npm run eval -- --musdb ROOT --subset test (--oracle mix|mixture|irm1|irm2 | --estimates-root DIR) --report DIR
 */
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SAMPLE_RATE } from '../../src/core/audio';
import { openCache } from '../data/cache';
import { evaluateTrack, type MusevalTrack } from '../eval/bsseval/museval';
import type { EvalJob } from '../eval/job';
import { ORACLE_KINDS, type OracleKind } from '../eval/oracle';
import { runPool } from '../eval/pool';
import { formatSummaryTable, METRICS, summarize, toJson, trackMedians, writeReport } from '../eval/report';
import { listMusdbTracks, loadStemFolder, parseStemGroup, type StemGroups } from '../eval/tracks';
import { writeFileAtomic } from '../node/atomic';
import { positiveInt } from './args';

const program = new Command('eval')
  .description('Scores separations with BSS Eval v4, exactly as museval (SiSEC 2018) does.')
  .option('--references <dir>', 'folder of true <stem>.wav files')
  .option('--estimates <dir>', 'folder of estimated <stem>.wav files (same names)')
  .option('--out <file>', 'write museval-format JSON here')
  .option('--musdb <root>', 'MUSDB18 root (<root>/<subset>/*.stem.mp4 or HQ <track>/ folders)')
  .option('--subset <name>', 'MUSDB18 subset', 'test')
  .addOption(new Option('--oracle <kind>', 'score a built-in oracle separator').choices(ORACLE_KINDS))
  .option('--estimates-root <dir>', 'separations to score: <dir>/<track>/<stem>.wav')
  .option('--report <dir>', 'write per-track JSON, summary and plots here (MUSDB mode)')
  .option('--save-estimates <dir>', "also write the oracle's estimates as <dir>/<track>/<stem>.wav")
  .option(
    '--group <name=stems>',
    'score the sum of estimate files as one target, e.g. other=guitar,piano,other (repeatable)',
    (v: string, prev: StemGroups) => parseStemGroup(v, prev),
    {},
  )
  .option(
    '--split <cache:side>',
    "only one side of a preprocessed cache's train/validation split, e.g. .cache/stemdeck/X:valid",
  )
  .option('--limit <n>', 'only the first n tracks', positiveInt)
  .option('--jobs <n>', 'worker threads', positiveInt, Math.max(1, availableParallelism()))
  .option('--win <samples>', 'window length', positiveInt, 44_100)
  .option('--hop <samples>', 'hop between windows', positiveInt, 44_100)
  .option('--filters-len <taps>', 'distortion filter length', positiveInt, 512)
  .showHelpAfterError();

interface Options {
  references?: string;
  estimates?: string;
  out?: string;
  musdb?: string;
  subset: string;
  oracle?: OracleKind;
  estimatesRoot?: string;
  report?: string;
  saveEstimates?: string;
  split?: string;
  limit?: number;
  group: StemGroups;
  jobs: number;
  win: number;
  hop: number;
  filtersLen: number;
}

function printMedians(track: MusevalTrack): void {
  const medians = trackMedians(track);
  for (const [target, values] of Object.entries(medians)) {
    const cells = METRICS.map((m) => `${m} ${Number.isNaN(values[m]) ? 'n/a' : values[m].toFixed(2)}`);
    console.log(`${target.padEnd(8)} ${cells.join('  ')}`);
  }
}

async function evalFolders(opts: Options): Promise<number> {
  if (!opts.references || !opts.estimates) {
    throw new InvalidArgumentError('give both --references and --estimates, or --musdb');
  }
  const references = await loadStemFolder(resolve(opts.references));
  const estimates = await loadStemFolder(resolve(opts.estimates), Object.keys(references));
  const name = basename(resolve(opts.references));
  const result = evaluateTrack(
    name,
    Object.fromEntries(Object.entries(references).map(([n, a]) => [n, a.channels])),
    Object.fromEntries(Object.entries(estimates).map(([n, a]) => [n, a.channels])),
    SAMPLE_RATE,
    { window: opts.win, hop: opts.hop, filtersLength: opts.filtersLen },
  );
  if (opts.out) await writeFileAtomic(resolve(opts.out), toJson(result));
  console.log(`${name}: median over ${result.targets[0].frames.length} frames`);
  printMedians(result);
  return 0;
}

/** The track names of one side (`train` or `valid`) of a preprocessed cache's split. */
async function splitTracks(arg: string): Promise<string[]> {
  const at = arg.lastIndexOf(':');
  const [dir, side] = at > 0 ? [arg.slice(0, at), arg.slice(at + 1)] : [arg, ''];
  if (side !== 'train' && side !== 'valid') {
    throw new InvalidArgumentError(`--split: expected CACHE_DIR:train or CACHE_DIR:valid, got "${arg}"`);
  }
  const index = (
    await openCache(resolve(dir)).catch((err: Error) => {
      throw new InvalidArgumentError(`--split: ${err.message}`);
    })
  ).index;
  if (!index.split) throw new InvalidArgumentError(`--split: ${dir} has no train/validation split`);
  return [...index.split[side]];
}

async function evalMusdb(opts: Options): Promise<number> {
  if (!opts.musdb) throw new InvalidArgumentError('--musdb is required');
  if (!opts.report) throw new InvalidArgumentError('--report DIR is required with --musdb');
  if (Boolean(opts.oracle) === Boolean(opts.estimatesRoot)) {
    throw new InvalidArgumentError('give exactly one of --oracle or --estimates-root');
  }
  let tracks = await listMusdbTracks(resolve(opts.musdb), opts.subset);
  if (opts.split) {
    const names = await splitTracks(opts.split);
    const missing = names.filter((n) => !tracks.some((t) => t.name === n));
    if (missing.length > 0) {
      throw new InvalidArgumentError(
        `--split: ${missing.length} track(s) of the split are not in ${opts.musdb}/${opts.subset}, e.g. "${missing[0]}"`,
      );
    }
    tracks = tracks.filter((t) => names.includes(t.name));
  }
  if (opts.limit) tracks = tracks.slice(0, opts.limit);
  const estimates: EvalJob['estimates'] = opts.oracle
    ? { oracle: opts.oracle }
    : { root: resolve(opts.estimatesRoot as string) };
  const jobs: EvalJob[] = tracks.map((track) => ({
    track,
    estimates,
    saveEstimates: opts.saveEstimates ? resolve(opts.saveEstimates) : undefined,
    groups: opts.group,
    window: opts.win,
    hop: opts.hop,
    filtersLength: opts.filtersLen,
  }));
  const method = opts.oracle
    ? `oracle:${opts.oracle}`
    : `estimates:${basename(resolve(opts.estimatesRoot as string))}`;
  const results: MusevalTrack[] = [];
  const failures: string[] = [];
  let audioSeconds = 0;
  let evalSeconds = 0;
  const bar = new SingleBar({
    format: 'eval {bar} {value}/{total} tracks | {eta_formatted} left | {track}',
    stream: process.stderr,
    hideCursor: true,
  });
  const started = performance.now();
  bar.start(jobs.length, 0, { track: '' });
  await runPool(jobs, opts.jobs, (job, outcome) => {
    if (outcome.ok) {
      results.push(outcome.value.result);
      audioSeconds += outcome.value.audioSeconds;
      evalSeconds += outcome.value.evalSeconds;
    } else {
      failures.push(`${job.track.name}: ${outcome.error}`);
    }
    bar.increment(1, { track: job.track.name });
  });
  bar.stop();
  const wall = (performance.now() - started) / 1000;
  results.sort((a, b) => a.track.localeCompare(b.track));
  if (results.length > 0) {
    const { summary } = await writeReport(resolve(opts.report), results, method);
    console.log(`${method}: ${results.length} tracks (median over frames, then over tracks)\n`);
    console.log(formatSummaryTable(summary));
    console.log(`\nreport: ${resolve(opts.report, 'index.md')}`);
    console.log(
      `BSS Eval compute ${(evalSeconds / audioSeconds).toFixed(3)} s per audio second per thread; ` +
        `${wall.toFixed(1)} s wall for ${audioSeconds.toFixed(0)} s of audio with ${opts.jobs} workers (decoding included)`,
    );
  }
  for (const f of failures) console.error(`failed: ${f}`);
  return failures.length > 0 || results.length === 0 ? 1 : 0;
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<Options>();
  try {
    process.exitCode = opts.musdb ? await evalMusdb(opts) : await evalFolders(opts);
  } catch (err) {
    if (err instanceof InvalidArgumentError) program.error(`error: ${err.message}`);
    console.error(`eval: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

// summarize is re-exported for callers that want the numbers without the report.
export { summarize };

await main();
