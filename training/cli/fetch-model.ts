/**
 * `npm run fetch-model` — the published Open-Unmix weights in one command: downloads the four
 * target .pth files, checks their SHA-256, and imports them into one Stemdeck weights file (.umxw).
 *
 *   npm run fetch-model -- umxhq
 *   npm run fetch-model -- umxl --accept-licence CC-BY-NC-SA-4.0
 *   npm run fetch-model -- umxhq [--dir DIR] [--out FILE.umxw] [--base-url URL] [--timeout SECONDS]
 *
 * Files already in the folder with the right hash are not downloaded again; a download cut short
 * resumes where it stopped.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Argument, Command, InvalidArgumentError } from 'commander';
import { describeUmx } from '../../src/core/model';
import { DEFAULT_WEIGHTS_ROOT, fetchModel, LicenceNotAccepted, modelSource } from '../fetch/fetch-model';
import { MODEL_SOURCES } from '../fetch/sources';
import { positiveInt } from './args';
import { ProgressBar } from './progress';

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

function nonNegativeInt(value: string): number {
  return value === '0' ? 0 : positiveInt(value);
}

const program = new Command('fetch-model')
  .description(
    'Downloads published Open-Unmix weights, verifies their SHA-256 and imports them into a .umxw file.',
  )
  .addArgument(new Argument('<model>', 'published model').choices(Object.keys(MODEL_SOURCES)))
  .option('--dir <dir>', `folder for the .pth files (default ${DEFAULT_WEIGHTS_ROOT}/<model>)`)
  .option('--out <file>', 'weights file to write (default <dir>/<model>.umxw)')
  .option(
    '--accept-licence <id>',
    'accept a restrictive weights licence by naming it (umxl: CC-BY-NC-SA-4.0)',
  )
  .option('--base-url <url>', 'fetch the published file names from this folder URL (a mirror) instead')
  .option('--timeout <seconds>', 'give up on a server silent for this long', seconds, 30)
  .option('--retries <n>', 'resume attempts after a cut connection', nonNegativeInt, 3)
  .showHelpAfterError();

interface Options {
  dir?: string;
  out?: string;
  acceptLicence?: string;
  baseUrl?: string;
  timeout: number;
  retries: number;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** Relative to the working directory when inside it (the default cache), else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<Options>();
  const name = program.args[0];
  const source = modelSource(name); // commander has checked the name against the table
  console.log(`${source.title}, ${source.record}`);
  console.log(`licence: ${source.licence.id}: ${source.licence.summary} (${source.licence.url})`);
  const dir = resolve(opts.dir ?? join(DEFAULT_WEIGHTS_ROOT, source.name));
  const out = resolve(opts.out ?? join(dir, `${source.name}.umxw`));

  let bar: ProgressBar | undefined;
  try {
    const result = await fetchModel(name, {
      dir,
      out,
      acceptLicence: opts.acceptLicence,
      baseUrl: opts.baseUrl,
      download: { timeoutMs: opts.timeout * 1000, retries: opts.retries },
      onProgress: (file, received, total) => {
        bar ??= new ProgressBar('{file} {bar} {percentage}% | {got} of {size} MB');
        const size = total ?? received;
        bar.update(received, size, { file, got: mb(received), size: total === undefined ? '?' : mb(size) });
      },
      onFile: (target, path, outcome) => {
        bar?.stop();
        bar = undefined;
        const what = outcome === 'present' ? 'already here, hash checked' : 'downloaded, hash checked';
        console.log(`${target}: ${shown(path)}: ${what}`);
      },
    });
    const c = result.config;
    const written = shown(result.out);
    console.log(`wrote ${written}: targets ${c.targets.join(', ')}; ${describeUmx(c)}, nbBins ${c.nbBins}`);
    console.log(`next: npm run export -- --weights ${written} --out models/${source.name}.onnx --fp16`);
  } catch (err) {
    bar?.stop();
    const message = err instanceof Error ? err.message : String(err);
    console.error(`fetch-model: ${message}`);
    process.exitCode = err instanceof LicenceNotAccepted ? 2 : 1;
  }
}

await main();
