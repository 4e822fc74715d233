/**
 * `npm run export` — a Stemdeck weights file (.umxw) to the ONNX graph the extension runs.
 *
 *   npm run export -- --weights FILE.umxw [MORE.umxw…] --out models/X.onnx [--fp16] [--targets vocals,drums]
 *
 * Several weights files (e.g. targets trained in separate processes) are merged into one graph.
 */
import { Command } from 'commander';
import { writeFileAtomic } from '../../src/core/node/atomic';
import { STEM_NAMES, type StemName } from '../../src/core/stems';
import { exportUmxOnnx } from '../export/onnx';
import { mergeWeights, readWeightsFile } from '../export/weights-file';

const program = new Command('export')
  .description('Exports Open-Unmix weights (.umxw) as one ONNX graph: mix [1,C,bins,T] → est [J,1,C,bins,T].')
  .requiredOption(
    '--weights <files...>',
    'Stemdeck weights file(s) (npm run import-umx, or the trainer); several are merged',
  )
  .requiredOption('--out <file>', 'output .onnx file')
  .option('--fp16', 'store weights as float16 (half the size; computed in float32)', false)
  .option('--targets <list>', 'comma-separated subset of the weights’ targets, in output order')
  .parse();

const opts = program.opts<{ weights: string[]; out: string; fp16: boolean; targets?: string }>();

try {
  let weights = mergeWeights(await Promise.all(opts.weights.map((f) => readWeightsFile(f))), opts.weights);
  if (opts.targets) {
    const wanted = opts.targets.split(',').map((s) => s.trim());
    const missing = wanted.filter((t) => !weights.config.targets.includes(t as StemName));
    if (missing.length > 0 || wanted.some((t) => !(STEM_NAMES as readonly string[]).includes(t))) {
      throw new Error(
        `--targets: ${missing.join(', ')} not in ${opts.weights.join(', ')} (${weights.config.targets.join(', ')})`,
      );
    }
    weights = { ...weights, config: { ...weights.config, targets: wanted as StemName[] } };
  }
  const bytes = exportUmxOnnx(weights, { float16: opts.fp16 });
  await writeFileAtomic(opts.out, bytes);
  const c = weights.config;
  console.log(
    `wrote ${opts.out} (${(bytes.length / 1e6).toFixed(1)} MB, ${opts.fp16 ? 'fp16' : 'fp32'} weights): ` +
      `targets ${c.targets.join(', ')}; hidden ${c.hiddenSize}, ${c.nbLayers} ${c.bidirectional ? 'bi' : 'uni'}directional LSTM layers`,
  );
} catch (err) {
  console.error(`export: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
