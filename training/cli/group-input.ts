/**
 * `npm run group-input` — training tracks for a second-stage member network (training/separate/
 * group-input.ts): for each track of a preprocessed dataset that has the member stem, the model's raw
 * estimate of the group network, split into `<target>.wav` and `rest.wav` (estimate − target):
 *
 *   npm run group-input -- --model models/stemdeck-umx6.onnx --network guitar+piano+other \
 *     --target guitar --cache .cache/stemdeck/<dataset> --out out/group-input/<name>
 *
 * Then `npm run preprocess -- --dataset stems --root <out> …` with the source cache's split seed and
 * fraction (same names, same split), and train with `randomTrackMix: false`.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { SAMPLE_RATE } from '../../src/core/audio';
import { openCache } from '../data/cache';
import { writeWav } from '../node/audio-io';
import { networkEstimateAudio, splitAgainst } from '../separate/group-input';
import { loadOnnxModel } from '../separate/onnx-model';

const program = new Command('group-input')
  .description("Writes a group network's estimate of each track, split into a member stem and the rest.")
  .requiredOption('--model <file.onnx>', 'exported model with the group network')
  .requiredOption('--network <name>', 'the group network whose estimate the member will read')
  .requiredOption('--target <stem>', 'the member stem (the target the network learns)')
  .requiredOption('--cache <dir>', 'preprocessed dataset (npm run preprocess)')
  .requiredOption('--out <dir>', 'output folder: <out>/<track>/{<target>,rest}.wav')
  .option('--threads <n>', 'onnxruntime threads', (v) => Number.parseInt(v, 10), 1)
  .showHelpAfterError();

program.parse();
const opts = program.opts<{
  model: string;
  network: string;
  target: string;
  cache: string;
  out: string;
  threads: number;
}>();
try {
  const model = await loadOnnxModel(resolve(opts.model), opts.threads);
  const data = await openCache(resolve(opts.cache));
  let written = 0;
  for (const [i, t] of data.tracks.entries()) {
    if (!t.stems.includes(opts.target)) {
      console.log(`skipped ${t.name}: no "${opts.target}" stem`);
      continue;
    }
    const started = performance.now();
    const { mixture, stems } = data.readTrack(i);
    const estimate = await networkEstimateAudio(model, opts.network, mixture);
    const { target, rest } = splitAgainst(estimate, stems[opts.target]);
    const dir = join(resolve(opts.out), t.name);
    await mkdir(dir, { recursive: true });
    await writeWav(join(dir, `${opts.target}.wav`), { sampleRate: SAMPLE_RATE, channels: target });
    await writeWav(join(dir, 'rest.wav'), { sampleRate: SAMPLE_RATE, channels: rest });
    written++;
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `wrote ${t.name} (${(t.length / SAMPLE_RATE).toFixed(0)} s of audio in ${seconds.toFixed(1)} s)`,
    );
  }
  console.log(`${written} tracks in ${resolve(opts.out)}`);
} catch (err) {
  console.error(`group-input: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
