/**
 * `npm run export` — Stemdeck weights (.umxw) to the ONNX graph the extension runs.
 *
 *   npm run export -- --weights FILE.umxw [MORE.umxw…] --out models/X.onnx [--fp16] [--int8] [--targets vocals,drums]
 *   npm run export -- --ensemble A.umxw|A.onnx B.umxw|B.onnx[:target,old=new…]… --out models/X.onnx [--fp16] [--int8] [--targets …]
 *
 * Several --weights files (e.g. targets trained in separate processes) are merged into one model.
 * --ensemble makes each file one member of an ensemble whose output, per target, is the mean over the
 * members that have it (any configs with the same STFT; the first member's targets are the model's);
 * a member may be an exported .onnx (its weights are read back, exactly for fp16 and int8 ones) — how
 * the shipped ensembles were built from shipped models.
 */
import { Command } from 'commander';
import { describeUmx, type UmxWeights } from '../../src/core/model';
import { STEM_NAMES, type StemName } from '../../src/core/stems';
import { exportUmxEnsembleOnnx, exportUmxOnnx } from '../export/onnx';
import { mergeWeights, readWeightsFile } from '../export/weights-file';
import { writeFileAtomic } from '../node/atomic';
import { memberOf, parseNetworksArg, pickTargets, readNetworkSets } from '../train/merge';

const program = new Command('export')
  .description('Exports Open-Unmix weights (.umxw) as one ONNX graph: mix [1,C,bins,T] → est [J,1,C,bins,T].')
  .option(
    '--weights <files...>',
    'Stemdeck weights file(s) (npm run import-umx, or the trainer); several are merged',
  )
  .option(
    '--ensemble <files...>',
    'one ensemble member per file (.umxw or exported .onnx[#member], [:target,old=new…]); output = the mean per target',
  )
  .requiredOption('--out <file>', 'output .onnx file')
  .option('--fp16', 'store weights as float16 (half the size; computed in float32)', false)
  .option(
    '--int8',
    'store the weight matrices as int8 with a float32 scale per channel (computed in float32)',
    false,
  )
  .option('--targets <list>', 'comma-separated subset of the weights’ targets, in output order')
  .parse();

const opts = program.opts<{
  weights?: string[];
  ensemble?: string[];
  out: string;
  fp16: boolean;
  int8: boolean;
  targets?: string;
}>();

/**
 * An ensemble member argument: a file (weights, or every member of an exported model; `#k` only its
 * member k, counted from 0), optionally `:target,…` to take only those targets, `name=newName` to
 * take one under another name (as in merge.ts) — e.g. `umx4.onnx:vocals,drums,bass,other=guitar+piano+other`
 * beside a 6-stem model, or `umx6.onnx#1` for the second member of the shipped 6-stem ensemble.
 */
async function readMembers(arg: string): Promise<UmxWeights[]> {
  const { file, member, picks } = parseNetworksArg(arg);
  const sets = await readNetworkSets(file);
  const members = member !== undefined ? [memberOf(sets, member, file)] : sets;
  return picks ? members.map((w) => pickTargets(w, picks, file)) : members;
}

/** `weights` cut to the --targets subset, in its order. */
function selectTargets(weights: UmxWeights, source: string): UmxWeights {
  if (!opts.targets) return weights;
  const wanted = opts.targets.split(',').map((s) => s.trim());
  const missing = wanted.filter((t) => !weights.config.targets.includes(t as StemName));
  if (missing.length > 0 || wanted.some((t) => !(STEM_NAMES as readonly string[]).includes(t))) {
    throw new Error(
      `--targets: ${missing.join(', ')} not in ${source} (${weights.config.targets.join(', ')})`,
    );
  }
  return { ...weights, config: { ...weights.config, targets: wanted as StemName[] } };
}

const describe = (w: UmxWeights) => {
  return `${describeUmx(w.config)} (${w.config.targets.length} targets)`;
};

try {
  if (!opts.weights === !opts.ensemble)
    throw new Error('give --weights FILE… or --ensemble FILE… (one of them)');
  let bytes: Uint8Array;
  let summary: string;
  if (opts.weights) {
    const files = opts.weights;
    const weights = selectTargets(
      mergeWeights(await Promise.all(files.map((f) => readWeightsFile(f))), files),
      files.join(', '),
    );
    bytes = exportUmxOnnx(weights, { float16: opts.fp16, int8: opts.int8 });
    summary = `targets ${weights.config.targets.join(', ')}; ${describe(weights)}`;
  } else {
    const files = opts.ensemble!;
    const tagged = (await Promise.all(files.map(readMembers))).flatMap((ws, k) =>
      ws.map((w) => ({ w, file: files[k] })),
    );
    const [{ w: first }, ...rest] = tagged;
    // The first member's targets are the model's (--targets: a subset of them); every other member
    // must name only those, and keeps the ones --targets keeps — a member that would add nothing is
    // an error, not silently left out.
    const model = selectTargets(first, files[0]);
    const others = rest.map(({ w, file }) => {
      const foreign = w.config.targets.filter((t) => !first.config.targets.includes(t));
      if (foreign.length > 0)
        throw new Error(
          `--ensemble ${file}: ${foreign.join(', ')} ${foreign.length > 1 ? 'are not targets' : 'is not a target'} of the first member (${first.config.targets.join(', ')}); pick or rename targets with FILE:target,old=new`,
        );
      const targets = w.config.targets.filter((t) => model.config.targets.includes(t));
      if (targets.length === 0)
        throw new Error(
          `--ensemble ${file}: none of its targets (${w.config.targets.join(', ')}) is among the model's (${model.config.targets.join(', ')})`,
        );
      return { ...w, config: { ...w.config, targets } };
    });
    const members = [model, ...others];
    bytes = exportUmxEnsembleOnnx(members, { float16: opts.fp16, int8: opts.int8 });
    summary = `ensemble of ${members.length}, targets ${model.config.targets.join(', ')}: ${members.map(describe).join(' | ')}`;
  }
  await writeFileAtomic(opts.out, bytes);
  console.log(
    `wrote ${opts.out} (${(bytes.length / 1e6).toFixed(1)} MB, ${opts.int8 ? 'int8 matrices, ' : ''}${opts.fp16 ? 'fp16' : 'fp32'} weights): ${summary}`,
  );
} catch (err) {
  console.error(`export: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
