/**
 * `npm run export-dataset` — Stemdeck's preprocessed training data as a folder open-unmix-pytorch's
 * trainer reads as it is (`scripts/train.py --dataset trackfolder_fix`), with COMMANDS.md: one
 * training process per target, each on its own GPU, then `npm run import-umx` and `npm run export`.
 * See training/README.md, "GPU training with open-unmix-pytorch".
 *
 *   npm run export-dataset -- --cache DIR [--cache DIR …] --targets vocals,drums,bass,other --out DIR
 *       [--format float32|pcm16] [--segment-seconds 30] [--gpus N] [--hidden-size N] [--force]
 */
import { relative, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_SEGMENT_SECONDS, exportDataset } from '../export-dataset/export';
import { positiveInt } from './args';
import { ProgressBar } from './progress';

function seconds(value: string): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number of seconds ≥ 0');
  return n;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const program = new Command('export-dataset')
  .description(
    "Writes preprocessed training data as open-unmix-pytorch's trackfolder_fix layout, with the training commands.",
  )
  .option(
    '--cache <dir>',
    'preprocessed dataset folder (npm run preprocess); repeat for more',
    (v: string, prev: string[]) => [...prev, v],
    [] as string[],
  )
  .requiredOption(
    '--targets <list>',
    'comma-separated Stemdeck stems or groups, one training process each (e.g. vocals,drums,bass,other)',
    list,
  )
  .requiredOption('--out <dir>', 'output folder (empty or new; --force for an earlier export)')
  .addOption(
    new Option('--format <format>', 'WAV samples: float32 (exact) or pcm16 (half the disk)')
      .choices(['float32', 'pcm16'])
      .default('float32'),
  )
  .option(
    '--segment-seconds <s>',
    'cut training tracks into parts of at least this length (0: whole tracks)',
    seconds,
    DEFAULT_SEGMENT_SECONDS,
  )
  .option('--gpus <n>', 'GPUs to spread the processes over (default: one per target)', positiveInt)
  .option(
    '--hidden-size <n>',
    'Open-Unmix hidden size (default: from the hours of training audio)',
    positiveInt,
  )
  .option('--force', 'write into a non-empty folder, replacing an earlier export', false)
  .option('--no-progress', 'no progress bar')
  .showHelpAfterError();

interface Options {
  cache: string[];
  targets: string[];
  out: string;
  format: 'float32' | 'pcm16';
  segmentSeconds: number;
  gpus?: number;
  hiddenSize?: number;
  force: boolean;
  progress: boolean;
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(1)} kB`;
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<Options>();
  const bar = new ProgressBar(
    'export-dataset {bar} {value}/{total} folders | {eta_formatted} left | {track}',
  );
  const started = performance.now();
  try {
    const result = await exportDataset({
      caches: opts.cache,
      out: resolve(opts.out),
      targets: opts.targets,
      format: opts.format,
      segmentSeconds: opts.segmentSeconds,
      gpus: opts.gpus,
      hiddenSize: opts.hiddenSize,
      force: opts.force,
      onFolder: (done, total, name) => {
        if (opts.progress) bar.update(done, total, { track: name });
      },
    });
    for (const w of result.warnings) bar.note(w);
    bar.stop();
    const where = relative(process.cwd(), result.out) || '.';
    const targets = result.targets
      .map((t) => `${t.name} ${t.trainFolders}/${t.validTracks} (GPU ${t.gpu})`)
      .join(', ');
    console.log(
      `export-dataset: ${result.folders.train} train / ${result.folders.valid} valid folders, ${result.files} files, ` +
        `${(result.audioSeconds / 60).toFixed(1)} min of audio, ${formatBytes(result.bytes)} in ${where}, ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s` +
        (result.unused > 0 ? `; ${result.unused} tracks give none of the targets (left out)` : '') +
        `; train/valid per target: ${targets}; next: ${where}/COMMANDS.md`,
    );
  } catch (err) {
    bar.stop();
    console.error(`export-dataset: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

await main();
