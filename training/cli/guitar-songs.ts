/**
 * `npm run guitar-songs` — real "guitar vs rest" evaluation tracks from the Frets on Fire songs
 * (training/data/fretsonfire.ts): `<out>/<song>/{mixture,guitar,rest}.wav`, the middle of each song.
 *
 *   npm run guitar-songs -- --out out/songs/fof-test [--subset test|train|all] [--seconds 30] [--root DIR]
 *
 * Then separate and score "guitar" and the "No guitar" remix (every other stem) against the truth:
 *
 *   npm run separate -- out/songs/fof-test/* --out out/sep/fof-test
 *   npm run eval -- --musdb out/songs --subset fof-test --estimates-root out/sep/fof-test \
 *     --group rest=vocals,drums,bass,piano,other --report out/eval/fof-test
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { FRETSONFIRE_ROOT, FRETSONFIRE_SUBSETS, writeGuitarSongs } from '../data/fretsonfire';

function seconds(value: string): number {
  const n = Number(value);
  if (!(n >= 0)) throw new InvalidArgumentError('expected seconds ≥ 0 (0: whole songs)');
  return n;
}

const program = new Command('guitar-songs')
  .description(
    'Writes real guitar-vs-rest evaluation tracks (mixture, guitar, rest) from Frets on Fire songs.',
  )
  .requiredOption('--out <dir>', 'output folder')
  .addOption(
    new Option('--subset <name>', 'held-out test songs, the training songs, or all')
      .choices(FRETSONFIRE_SUBSETS)
      .default('test'),
  )
  .option('--seconds <s>', 'length of the excerpt from the middle of each song (0: whole songs)', seconds, 30)
  .option('--root <dir>', 'song packages folder', FRETSONFIRE_ROOT)
  .showHelpAfterError();

program.parse();
const opts = program.opts<{ out: string; subset: string; seconds: number; root: string }>();
try {
  const dirs = await writeGuitarSongs({
    root: resolve(opts.root),
    subset: opts.subset,
    seconds: opts.seconds,
    out: resolve(opts.out),
    onSong: (name) => console.log(`wrote ${name}`),
  });
  console.log(`${dirs.length} songs in ${resolve(opts.out)}`);
} catch (err) {
  console.error(`guitar-songs: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
