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
 *
 * With `--over <musdb-root>`: each song's guitar instead, in `--pieces` pieces, over MUSDB18 tracks'
 * vocals + drums + bass (`--over-subset`, default test; their `other` is left out: its guitars are
 * not labelled guitar), at `--level` dB relative to the accompaniment (default: as recorded):
 *
 *   npm run guitar-songs -- --subset all --over ../shared/data/musdb18-7 --level -6 --out out/songs/fof-over-musdb-6
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  type Accompaniment,
  FRETSONFIRE_ROOT,
  FRETSONFIRE_SUBSETS,
  writeGuitarOverAccompaniments,
  writeGuitarSongs,
} from '../data/fretsonfire';
import { sumSignals } from '../data/track';
import { listMusdbTracks, loadTrack } from '../eval/tracks';
import { positiveInt } from './args';

function seconds(value: string): number {
  const n = Number(value);
  if (!(n >= 0)) throw new InvalidArgumentError('expected seconds ≥ 0 (0: whole songs)');
  return n;
}

function decibels(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected decibels (e.g. -6)');
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
  .option('--over <musdb-root>', "lay each song's guitar over MUSDB18 tracks' vocals + drums + bass")
  .option('--over-subset <name>', 'the MUSDB18 subset for --over', 'test')
  .option('--pieces <n>', 'with --over: pieces per song (each over another track)', positiveInt, 4)
  .option(
    '--level <dB>',
    'with --over: guitar level relative to the accompaniment (default: as recorded)',
    decibels,
  )
  .showHelpAfterError();

program.parse();
const opts = program.opts<{
  out: string;
  subset: string;
  seconds: number;
  root: string;
  over?: string;
  overSubset: string;
  pieces: number;
  level?: number;
}>();
try {
  if (opts.over) {
    const accompaniments: Accompaniment[] = [];
    for (const source of await listMusdbTracks(resolve(opts.over), opts.overSubset)) {
      const { stems, mixture } = await loadTrack(source);
      const parts = ['vocals', 'drums', 'bass'].map((s) => stems[s]?.channels);
      if (parts.some((p) => !p)) throw new Error(`${source.name}: no vocals, drums and bass stems`);
      accompaniments.push({
        name: source.name,
        channels: sumSignals(parts as Float32Array[][], mixture.channels[0].length),
      });
    }
    const dirs = await writeGuitarOverAccompaniments({
      root: resolve(opts.root),
      subset: opts.subset,
      seconds: opts.seconds,
      pieces: opts.pieces,
      accompaniments,
      levelDb: opts.level ?? null,
      out: resolve(opts.out),
      onPiece: (name) => console.log(`wrote ${name}`),
    });
    console.log(`${dirs.length} pieces in ${resolve(opts.out)}`);
  } else {
    const dirs = await writeGuitarSongs({
      root: resolve(opts.root),
      subset: opts.subset,
      seconds: opts.seconds,
      out: resolve(opts.out),
      onSong: (name) => console.log(`wrote ${name}`),
    });
    console.log(`${dirs.length} songs in ${resolve(opts.out)}`);
  }
} catch (err) {
  console.error(`guitar-songs: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
