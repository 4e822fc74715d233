/**
 * `npm run fetch-model` — the published Open-Unmix weights in one command: downloads the four
 * target .pth files, checks their SHA-256, imports them into one Stemdeck weights file (.umxw) and
 * exports the model file the extension ships — by default the hierarchical 6-stem model (the
 * published networks on top, their "other" split by Stemdeck's own guitar, piano and other networks
 * from the shipped model), so the build keeps its guitar and piano sliders:
 *
 *   npm run fetch-model -- umxhq                  # → models/umxhq-6stem.onnx
 *   STEMDECK_MODEL=models/umxhq-6stem.onnx npm run build
 *   npm run fetch-model -- umxl --accept-licence CC-BY-NC-SA-4.0
 *   npm run fetch-model -- umxhq --stems 4        # → models/umxhq.onnx: the published four stems alone
 *   npm run fetch-model -- umxhq [--dir DIR] [--out FILE.umxw] [--onnx FILE.onnx] [--members NETWORKS]
 *                               [--base-url URL] [--timeout SECONDS]
 *
 * Files already in the folder with the right hash are not downloaded again; a download cut short
 * resumes where it stopped.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { describeUmx } from '../../src/core/model';
import {
  DEFAULT_MEMBER_NETWORKS,
  DEFAULT_WEIGHTS_ROOT,
  defaultOnnxPath,
  fetchModel,
  GROUP,
  LicenceNotAccepted,
  modelSource,
} from '../fetch/fetch-model';
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
    'Downloads published Open-Unmix weights, verifies their SHA-256, imports them into a .umxw file and builds the model file for the extension.',
  )
  .addArgument(new Argument('<model>', 'published model').choices(Object.keys(MODEL_SOURCES)))
  .option('--dir <dir>', `folder for the .pth files (default ${DEFAULT_WEIGHTS_ROOT}/<model>)`)
  .option('--out <file>', 'weights file to write (default <dir>/<model>.umxw)')
  .option(
    '--accept-licence <id>',
    'accept a restrictive weights licence by naming it (umxl: CC-BY-NC-SA-4.0)',
  )
  .addOption(
    new Option(
      '--stems <n>',
      `model file to build: 6 = the published networks on top of Stemdeck's guitar/piano/other (hierarchical), 4 = the published networks alone`,
    )
      .choices(['4', '6'])
      .default('6'),
  )
  .option(
    '--onnx <file>',
    'model file to write (default models/<model>-6stem.onnx, or models/<model>.onnx with --stems 4)',
  )
  .option(
    '--members <networks>',
    `the guitar, piano and other networks that split the published "other" (FILE.onnx[#k]|FILE.umxw[:guitar,piano,other]; default the shipped model's)`,
  )
  .option('--base-url <url>', 'fetch the published file names from this folder URL (a mirror) instead')
  .option('--timeout <seconds>', 'give up on a server silent for this long', seconds, 30)
  .option('--retries <n>', 'resume attempts after a cut connection', nonNegativeInt, 3)
  .showHelpAfterError();

interface Options {
  dir?: string;
  out?: string;
  stems: '4' | '6';
  onnx?: string;
  members?: string;
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

/** A networks-file argument with its file shown as `shown` does. */
function shownNetworks(arg: string): string {
  const m = /^(.*\.(?:umxw|onnx))(.*)$/.exec(arg);
  return m ? `${shown(m[1])}${m[2]}` : arg;
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
  const stems = opts.stems === '4' ? 4 : 6;
  const onnx = resolve(opts.onnx ?? defaultOnnxPath(source.name, stems));

  let bar: ProgressBar | undefined;
  try {
    const result = await fetchModel(name, {
      dir,
      out,
      acceptLicence: opts.acceptLicence,
      baseUrl: opts.baseUrl,
      download: { timeoutMs: opts.timeout * 1000, retries: opts.retries },
      onnx: { stems, out: onnx, ...(opts.members ? { memberNetworks: opts.members } : {}) },
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
    const model = result.onnx!;
    const file = shown(model.path);
    const how =
      stems === 6
        ? `the published vocals, drums, bass and other (as ${GROUP}; ${describeUmx(c)}), the group split by ` +
          `${shownNetworks(model.memberNetworks ?? DEFAULT_MEMBER_NETWORKS)} (${describeUmx(model.members[1])})`
        : `the published networks (${describeUmx(c)})`;
    console.log(
      `wrote ${file} (${mb(model.size)} MB, int8 matrices): stems ${model.stems.join(', ')}; ${how}`,
    );
    // vite.config.ts takes STEMDECK_MODEL only as models/<name>.onnx under the repository root.
    if (/^models\/[\w.-]+\.onnx$/.test(file)) {
      console.log(`build the extension with it: STEMDECK_MODEL=${file} npm run build`);
    } else {
      console.log(
        `to build the extension with it, copy it into models/ and run STEMDECK_MODEL=models/<name>.onnx npm run build`,
      );
    }
  } catch (err) {
    bar?.stop();
    const message = err instanceof Error ? err.message : String(err);
    console.error(`fetch-model: ${message}`);
    process.exitCode = err instanceof LicenceNotAccepted ? 2 : 1;
  }
}

await main();
