/**
 * `npm run preprocess` — decode a multitrack dataset once into the training cache and compute the
 * model's input-scaling statistics (see training/README.md).
 *
 *   npm run preprocess -- --dataset musdb18|medleydb|stems --root DIR [--subset train] [--cache DIR]
 *                         [--on-bad-data skip|stop] [--split auto|official|seeded|none] [--seed 42]
 */
import { relative, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type PreprocessOptions, preprocess } from '../data/preprocess';
import { DEFAULT_VALID_FRACTION } from '../data/split';
import { DATASET_KINDS, type DatasetKind } from '../data/track';
import { positiveInt } from './args';
import { ProgressBar } from './progress';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('expected a number in [0, 1)');
  return n;
}

function targetList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const program = new Command('preprocess')
  .description('Decodes a multitrack dataset into the training cache and computes input statistics.')
  .addOption(new Option('--dataset <kind>', 'dataset layout').choices(DATASET_KINDS).makeOptionMandatory())
  .requiredOption('--root <dir>', 'dataset root (MUSDB18: the folder holding train/ and test/)')
  .option('--subset <name>', 'MUSDB18 subset folder; Frets on Fire: train, test (held out) or all', 'train')
  .option('--cache <dir>', 'cache root', resolve(REPO_ROOT, '.cache/stemdeck'))
  .addOption(
    new Option('--on-bad-data <policy>', 'skip a bad track with a warning, or stop the run')
      .choices(['skip', 'stop'])
      .default('skip'),
  )
  .addOption(
    new Option('--split <method>', 'train/validation split (auto: official for full MUSDB18 train)')
      .choices(['auto', 'official', 'seeded', 'none'])
      .default('auto'),
  )
  .option('--seed <n>', 'seed of the seeded split', integer, 42)
  .option(
    '--valid-fraction <x>',
    'share of tracks for validation (seeded split)',
    fraction,
    DEFAULT_VALID_FRACTION,
  )
  .option('--targets <list>', 'targets every track must have, comma-separated (others: bad data)', targetList)
  .option('--limit <n>', 'only the first n tracks', positiveInt)
  .option('--force', 'rebuild valid cache entries too', false)
  .showHelpAfterError();

interface Options {
  dataset: DatasetKind;
  root: string;
  subset: string;
  cache: string;
  onBadData: 'skip' | 'stop';
  split: PreprocessOptions['split'];
  seed: number;
  validFraction: number;
  targets?: string[];
  limit?: number;
  force: boolean;
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(1)} kB`;
}

function formatDuration(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<Options>();
  const bar = new ProgressBar('preprocess {bar} {value}/{total} tracks | {eta_formatted} left | {track}');
  const started = performance.now();
  try {
    const result = await preprocess({
      dataset: opts.dataset,
      root: resolve(opts.root),
      subset: opts.subset,
      cacheRoot: resolve(opts.cache),
      onBadData: opts.onBadData,
      split: opts.split,
      seed: opts.seed,
      validFraction: opts.validFraction,
      required: opts.targets,
      limit: opts.limit,
      force: opts.force,
      onTrack: (e) => {
        if (e.status === 'skipped') bar.note(`warning: skipped "${e.name}": ${e.message}`);
        if (e.status === 'rebuilt') bar.note(`note: rebuilt "${e.name}" (${e.message})`);
        bar.increment(e.total, { track: e.name });
      },
    });
    bar.stop();
    const seconds = (performance.now() - started) / 1000;
    const where = relative(process.cwd(), result.dir) || '.';
    if (result.stoppedBy) {
      console.error(`error: ${result.stoppedBy}`);
      console.error(`preprocess stopped (--on-bad-data stop); tracks cached so far stay valid in ${where}`);
      process.exitCode = 1;
      return;
    }
    if (result.unknownLabels.length > 0) {
      console.error(
        `note: MedleyDB labels not in the mapping table, used as "other": ${result.unknownLabels.join(', ')}`,
      );
    }
    const split = result.split!;
    console.log(
      `preprocess ${opts.dataset}: ${result.listed} tracks — ${result.built} decoded, ${result.rebuilt.length} rebuilt, ` +
        `${result.cached} already cached, ${result.skipped.length} skipped (bad data) — ` +
        `${formatDuration(result.audioSeconds)} of audio, ${formatBytes(result.bytes)} in ${where}, ` +
        `${seconds.toFixed(1)} s; split ${split.method}: ${split.train.length} train / ${split.valid.length} valid; ` +
        `stats.json over ${split.train.length} tracks`,
    );
  } catch (err) {
    bar.stop();
    console.error(`preprocess: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

await main();
