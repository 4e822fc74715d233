/**
 * `npm run augment` — pitch-shifted copies of a preprocessed dataset's training tracks, as a stems
 * folder to preprocess and add to a training config as `data.extra` (see training/README.md).
 *
 *   npm run augment -- --cache .cache/stemdeck/<dataset> --out DIR [--semitones -2,-1,1,2]
 */
import { relative, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { augmentPitch, checkSemitones } from '../data/augment';
import { ProgressBar } from './progress';

function semitoneList(value: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim()));
  try {
    checkSemitones(list);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return list;
}

const program = new Command('augment')
  .description('Writes pitch-shifted copies (tempo kept) of the train split of a preprocessed dataset.')
  .requiredOption('--cache <dir>', 'preprocessed dataset folder (npm run preprocess)')
  .requiredOption('--out <dir>', 'output stems folder (<track> (pitch ±k)/<stem>.wav)')
  .option('--semitones <list>', 'comma-separated shifts in semitones', semitoneList, [-2, -1, 1, 2])
  .option('--no-progress', 'no progress bar')
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<{ cache: string; out: string; semitones: number[]; progress: boolean }>();
  const bar = new ProgressBar('augment {bar} {value}/{total} copies | {eta_formatted} left | {track}');
  const started = performance.now();
  try {
    const result = await augmentPitch({
      cache: resolve(opts.cache),
      out: resolve(opts.out),
      semitones: opts.semitones,
      onTrack: (done, total, name) => {
        if (opts.progress) bar.update(done, total, { track: name });
      },
    });
    bar.stop();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const out = relative(process.cwd(), resolve(opts.out)) || '.';
    console.log(
      `augment: ${result.tracks.length} copies (${result.written} written, ${result.alreadyThere} already there) ` +
        `in ${out}, ${seconds} s; next: npm run preprocess -- --dataset stems --root ${out} --split none`,
    );
  } catch (err) {
    bar.stop();
    console.error(`augment: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

await main();
