/**
 * `npm run separate` — split audio files into stems: `<out>/<input name>/<stem>.wav`.
 *
 *   npm run separate -- INPUT... --out DIR [--model models/X.onnx] [--stems vocals,drums] [--residual]
 *   npm run separate -- INPUT... --out DIR --oracle irm1 [--references DIR]
 *
 * With a model (the default model when `--model` is not given), inputs are decoded and separated as a
 * stream in cross-faded segments, so a long file takes no more memory than a short one. The oracles
 * need the true stems: a MUSDB18 `.stem.mp4` carries them, a MUSDB18-HQ track folder holds them, and
 * for a plain audio file they come from `--references DIR`.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type AudioBuffer32, SAMPLE_RATE } from '../../src/core/audio';
import { channelSwapAveraged } from '../../src/core/separator';
import { MUSDB_STEMS, parseStemList } from '../../src/core/stems';
import { ORACLE_KINDS, type OracleKind, oracleSeparate } from '../eval/oracle';
import { loadStemFolder, loadTrack } from '../eval/tracks';
import { decodeAudio, writeWav } from '../node/audio-io';
import { DEFAULT_MODEL_PATH } from '../separate/defaults';
import { separateFileWithModel } from '../separate/model-separate';
import { loadOnnxModel } from '../separate/onnx-model';

/** Stem names plus `residual` (the model mode's extra stem). */
function parseOutputStems(text: string): string[] {
  const names = text
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  try {
    return [
      ...parseStemList(names.filter((n) => n !== 'residual').join(',')),
      ...names.filter((n) => n === 'residual'),
    ];
  } catch (err) {
    // commander prints this as a one-line usage error instead of a stack trace.
    throw new InvalidArgumentError((err as Error).message);
  }
}

const program = new Command('separate')
  .description('Separates audio files into stems, written as <out>/<input name>/<stem>.wav (float32).')
  .argument('<inputs...>', 'audio files, MUSDB18 .stem.mp4 files or MUSDB18-HQ track folders')
  .requiredOption('--out <dir>', 'output folder')
  .option('--model <path>', `exported model (.onnx; default ${DEFAULT_MODEL_PATH})`)
  .option('--wiener <n>', 'Wiener/EM iterations after the model', (v) => Number.parseInt(v, 10), 1)
  .option(
    '--softmask',
    "start the Wiener/EM step from soft masks (Open-Unmix's softmask) instead of magnitudes",
  )
  .option('--residual', 'also write residual.wav (mixture minus the other stems)')
  .option('--tta', 'average the model over the mixture and its left/right swap (2× network compute)')
  .option('--segment <seconds>', 'segment length for chunked processing', Number, 30)
  .option('--overlap <seconds>', 'overlap between segments', Number, 4)
  .option('--fade <seconds>', 'cross-fade length, centred in the overlap (≤ overlap)', Number, 0.5)
  .addOption(new Option('--oracle <kind>', 'oracle separator (needs the true stems)').choices(ORACLE_KINDS))
  .option('--references <dir>', 'true <stem>.wav files for a plain audio input (oracle mode)')
  .option(
    '--stems <list>',
    'comma-separated stems to write (default: all; with --residual also residual)',
    parseOutputStems,
  )
  .showHelpAfterError();

interface Options {
  out: string;
  model?: string;
  wiener: number;
  softmask?: boolean;
  residual?: boolean;
  tta?: boolean;
  segment: number;
  overlap: number;
  fade: number;
  oracle?: OracleKind;
  references?: string;
  stems?: string[];
}

/** Output folder name: the file name without its extension(s), or the folder's name. */
function inputName(path: string): string {
  const base = basename(path);
  if (base.endsWith('.stem.mp4')) return base.slice(0, -'.stem.mp4'.length);
  if (existsSync(path) && statSync(path).isDirectory()) return base;
  return base.slice(0, base.length - extname(base).length);
}

async function trueStems(input: string, opts: Options): Promise<Record<string, AudioBuffer32>> {
  if (input.endsWith('.stem.mp4'))
    return (await loadTrack({ name: inputName(input), kind: 'stem-mp4', path: input })).stems;
  if (existsSync(input) && statSync(input).isDirectory()) {
    return (await loadTrack({ name: inputName(input), kind: 'stem-folder', path: input })).stems;
  }
  if (!opts.references) {
    throw new Error(`${input}: an oracle needs the true stems — give --references DIR with <stem>.wav files`);
  }
  // Decoding the input checks it is readable audio even though the oracle rebuilds the mix from stems.
  const mixture = await decodeAudio(input);
  const stems = await loadStemFolder(resolve(opts.references), MUSDB_STEMS);
  const length = mixture.channels[0].length;
  for (const [name, audio] of Object.entries(stems)) {
    if (Math.abs(audio.channels[0].length - length) > SAMPLE_RATE / 10) {
      throw new Error(
        `${input}: reference ${name}.wav is ${audio.channels[0].length} samples, the input ${length}`,
      );
    }
  }
  return stems;
}

async function separateOne(input: string, opts: Options, step: (stage: string) => void): Promise<string[]> {
  if (!existsSync(input)) throw new Error(`${input}: no such file or folder`);
  step('decoding');
  const stems = await trueStems(input, opts);
  step(`oracle ${opts.oracle}`);
  const estimates = oracleSeparate(
    opts.oracle as OracleKind,
    Object.fromEntries(Object.entries(stems).map(([n, a]) => [n, a.channels])),
  );
  const wanted = opts.stems ?? Object.keys(estimates);
  const missing = wanted.filter((s) => !(s in estimates));
  if (missing.length > 0)
    throw new Error(`${input}: no ${missing.join(', ')} stem (has ${Object.keys(estimates).join(', ')})`);
  const dir = join(resolve(opts.out), inputName(input));
  const written: string[] = [];
  for (const stem of wanted) {
    step(`writing ${stem}`);
    const path = join(dir, `${stem}.wav`);
    await writeWav(path, { sampleRate: SAMPLE_RATE, channels: estimates[stem] }, { format: 'float32' });
    written.push(path);
  }
  return written;
}

function inputAudioFile(input: string): string {
  // A MUSDB18-HQ track folder: separate its mixture.
  if (existsSync(input) && statSync(input).isDirectory()) return join(input, 'mixture.wav');
  return input;
}

async function main(): Promise<void> {
  program.parse();
  const inputs = program.args;
  const opts = program.opts<Options>();
  const failures: string[] = [];
  if (opts.oracle) {
    for (const input of inputs) {
      const stages = 2 + (opts.stems?.length ?? 4);
      const bar = new SingleBar({
        format: `${inputName(input)} {bar} {value}/{total} | {stage}`,
        stream: process.stderr,
        hideCursor: true,
      });
      bar.start(stages, 0, { stage: 'starting' });
      try {
        const written = await separateOne(input, opts, (stage) => bar.increment(1, { stage }));
        bar.update(stages, { stage: `done: ${written.length} stems` });
      } catch (err) {
        bar.update({ stage: 'failed' });
        failures.push(err instanceof Error ? err.message : String(err));
      }
      bar.stop();
    }
  } else {
    const modelPath = resolve(opts.model ?? DEFAULT_MODEL_PATH);
    if (!existsSync(modelPath)) {
      program.error(
        `error: no model at ${modelPath}${opts.model ? '' : ' (the default)'}; pass --model FILE.onnx ` +
          '(see models/README.md) or an oracle with --oracle mix|mixture|irm1|irm2 and the true stems',
      );
    }
    const loaded = await loadOnnxModel(modelPath).catch((err: Error) =>
      program.error(`error: ${err.message}`),
    );
    const model = opts.tta ? channelSwapAveraged(loaded) : loaded;
    for (const input of inputs) {
      const bar = new SingleBar({
        format: `${inputName(input)} {bar} {value}/{total} s`,
        stream: process.stderr,
        hideCursor: true,
      });
      bar.start(1, 0);
      try {
        if (!existsSync(input)) throw new Error(`${input}: no such file or folder`);
        await separateFileWithModel(
          inputAudioFile(input),
          model,
          join(resolve(opts.out), inputName(input)),
          {
            // --residual asks for residual.wav: written even when --stems does not list it.
            stems:
              opts.stems && opts.residual && !opts.stems.includes('residual')
                ? [...opts.stems, 'residual']
                : opts.stems,
            wienerIterations: opts.wiener,
            softmask: opts.softmask ?? false,
            residual: opts.residual ?? false,
            exactSum: !opts.residual,
            chunking: {
              segment: Math.round(opts.segment * SAMPLE_RATE),
              overlap: Math.round(opts.overlap * SAMPLE_RATE),
              fade: Math.round(Math.min(opts.fade, opts.overlap) * SAMPLE_RATE),
            },
          },
          (done, total) => {
            bar.setTotal(Math.max(1, Math.round(total)));
            bar.update(Math.round(done));
          },
        );
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
      bar.stop();
    }
  }
  for (const f of failures) console.error(`separate: ${f}`);
  const done = inputs.length - failures.length;
  console.log(`${done}/${inputs.length} inputs separated into ${resolve(opts.out)}`);
  if (failures.length > 0) process.exitCode = 1;
}

await main();
