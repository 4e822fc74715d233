/**
 * `npm run synth` — synthetic multitracks with guitar and piano stems (see training/README.md,
 * "Synthetic multitracks").
 *
 *   npm run synth -- --hours H --seed S --out DIR [--workers N] [--real-fraction 0.5]
 *                    [--recording-fraction 0.3] [--song-seconds 30-75] [--soundfonts a,b] [--format float32|pcm16]
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { SOUNDFONTS, SynthSetupError } from '../synth/fluidsynth';
import { REAL_PARTS, type RealPart } from '../synth/real';
import { DEFAULTS, runSynth } from '../synth/run';
import { AMP_MODELS, type AmpModel } from '../synth/song';

function positive(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number');
  return n;
}
function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}
function probability(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number in [0, 1]');
  return n;
}
function secondsRange(value: string): [number, number] {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!m || !(Number(m[1]) > 0) || Number(m[2]) < Number(m[1]))
    throw new InvalidArgumentError('expected MIN-MAX seconds, e.g. 30-75');
  return [Number(m[1]), Number(m[2])];
}

const program = new Command()
  .name('npm run synth --')
  .description(
    'Generate synthetic multitracks (vocals, drums, bass, guitar, piano, other + mixture) from procedural MIDI, FluidSynth and real audio.',
  )
  .requiredOption('--hours <h>', 'hours of audio (mixture length) to generate', positive)
  .requiredOption('--seed <n>', 'seed: the same seed gives byte-identical output', integer)
  .requiredOption('--out <dir>', 'output folder: <out>/<song>/<target>.wav + mixture.wav + manifest.json')
  .option('--workers <n>', 'worker threads (songs in parallel); default: one per core', integer)
  .option(
    '--real-fraction <p>',
    'fraction of songs with real MUSDB18 drums, bass and vocals',
    probability,
    DEFAULTS.realFraction,
  )
  .option(
    '--recording-fraction <p>',
    'per song, chance that guitar (piano) is real recordings',
    probability,
    DEFAULTS.recordingFraction,
  )
  .option('--song-seconds <min-max>', 'length of fully synthetic songs', secondsRange, DEFAULTS.songSeconds)
  .option('--soundfonts <ids>', `soundfonts to draw from (${SOUNDFONTS.map((s) => s.id).join(', ')})`)
  .option(
    '--musdb <dir>',
    'MUSDB18 root with train/*.stem.mp4 (default: $STEMDECK_DATA or ../shared/data, musdb18-7)',
  )
  .addOption(
    new Option(
      '--real-part <part>',
      'real audio to draw: train (MUSDB18 train, 4 of 5 recordings per collection), test (MUSDB18 test, the held-out fifth), all',
    )
      .choices([...REAL_PARTS])
      .default(DEFAULTS.realPart),
  )
  .option('--instruments <dir>', 'isolated recordings root (default: <data>/instruments)')
  .option('--no-midi', 'do not keep the parts as .mid files beside the stems')
  .addOption(
    new Option(
      '--amp <model>',
      "electric guitar's amp: builtin (hand-written drive, tone and cabinet) or guitarix (guitarix's LV2 amp and pedal models, then the same cabinet; needs lv2file and guitarix-lv2)",
    )
      .choices([...AMP_MODELS])
      .default(DEFAULTS.amp),
  )
  .addOption(
    new Option('--format <f>', 'WAV sample format').choices(['float32', 'pcm16']).default(DEFAULTS.format),
  )
  .parse();

const o = program.opts<{
  hours: number;
  seed: number;
  out: string;
  workers?: number;
  realFraction: number;
  recordingFraction: number;
  songSeconds: [number, number];
  soundfonts?: string;
  musdb?: string;
  realPart: RealPart;
  instruments?: string;
  midi: boolean;
  format: 'float32' | 'pcm16';
  amp: AmpModel;
}>();

const started = performance.now();
try {
  const summary = await runSynth({
    hours: o.hours,
    seed: o.seed,
    out: o.out,
    workers: o.workers,
    realFraction: o.realFraction,
    recordingFraction: o.recordingFraction,
    songSeconds: o.songSeconds,
    soundfonts: o.soundfonts?.split(',').map((s) => s.trim()),
    musdbRoot: o.musdb,
    realPart: o.realPart,
    instrumentsRoot: o.instruments,
    keepMidi: o.midi,
    amp: o.amp,
    format: o.format,
    onNote: (m) => process.stderr.write(`${m}\n`),
    onSong: (r, done, total) =>
      process.stderr.write(
        `[${done}/${total}] ${r.name} ${r.kind} ${r.seconds.toFixed(1)} s in ${r.renderSeconds.toFixed(1)} s\n`,
      ),
  });
  const wall = (performance.now() - started) / 1000;
  const hybrid = summary.songs.filter((s) => s.kind === 'hybrid').length;
  console.log(
    `synth: ${summary.songs.length} songs (${hybrid} with real MUSDB18 drums/bass/vocals), ` +
      `${(summary.seconds / 60).toFixed(1)} min of audio in ${summary.out}, ${wall.toFixed(1)} s ` +
      `(${(summary.seconds / wall).toFixed(1)}× real time)`,
  );
} catch (err) {
  if (err instanceof SynthSetupError) {
    console.error(`error: ${err.message}`);
    process.exit(2);
  }
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
