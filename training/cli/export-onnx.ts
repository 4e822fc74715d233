/**
 * `npm run export` — Stemdeck weights (.umxw) to the ONNX graph the extension runs.
 *
 *   npm run export -- --weights FILE.umxw [MORE.umxw…] --out models/X.onnx [--fp16] [--int8] [--targets vocals,drums]
 *   npm run export -- --ensemble A.umxw|A.onnx B.umxw|B.onnx[:target,old=new…]… --out models/X.onnx [--fp16] [--int8] [--targets …]
 *
 * Several --weights files (e.g. targets trained in separate processes) are merged into one model.
 * --ensemble makes each file one member of an ensemble whose output, per target, is the mean over the
 * members that have it (any configs with the same STFT). The model's targets are all the members':
 * the first member's, then those new in later members — so a member may bring networks the first
 * lacks, e.g. a hierarchical model of a top level and a member splitting its group:
 *
 *   npm run export -- --ensemble umxhq.umxw:vocals,drums,bass,other=guitar+piano+other \
 *     models/stemdeck-umx6.onnx#0:guitar,piano,other --out models/umxhq-6stem.onnx --fp16 --int8
 *
 * A member may be an exported .onnx (its weights are read back, exactly for fp16 and int8 ones) — how
 * the shipped ensembles were built from shipped models.
 */
import { Command } from 'commander';
import { describeUmx, type UmxWeights } from '../../src/core/model';
import { ensembleTargets } from '../../src/core/onnx-model';
import {
  groupMembers,
  type NetworkName,
  networkGroups,
  STEM_NAMES,
  type StemName,
} from '../../src/core/stems';
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
  .option(
    '--targets <list>',
    'comma-separated subset of the weights’ targets, in output order (an ensemble’s: of all its members’ targets)',
  )
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
    // The model's targets are all the members' (the first member's, then the new ones in order);
    // --targets keeps a subset of them. A member left with none of the kept ones is an error, not
    // silently dropped. A member that shares no target with the first is fine: it may be the
    // networks that split the first member's group (a hierarchical model).
    const all = ensembleTargets(tagged.map(({ w }) => w.config));
    const wanted = opts.targets ? opts.targets.split(',').map((s) => s.trim()) : null;
    if (wanted) {
      const missing = wanted.filter((t) => !all.includes(t as NetworkName));
      if (missing.length > 0)
        throw new Error(`--targets: ${missing.join(', ')} not in the members' targets (${all.join(', ')})`);
    }
    const members = tagged.map(({ w, file }) => {
      if (!wanted) return w;
      const targets = wanted.filter((t) => w.config.targets.includes(t as NetworkName)) as NetworkName[];
      if (targets.length === 0)
        throw new Error(
          `--ensemble ${file}: none of its targets (${w.config.targets.join(', ')}) is among the model's (${wanted.join(', ')})`,
        );
      return { ...w, config: { ...w.config, targets } };
    });
    const targets = ensembleTargets(members.map((m) => m.config));
    bytes = exportUmxEnsembleOnnx(members, { float16: opts.fp16, int8: opts.int8 });
    // Stems that only later members have and no group holds sit beside the first member's stems
    // as equals: right for an ensemble of 6-stem models, likely a slip where the first member is a
    // 4-stem model whose "other" holds them (it should be renamed to the group).
    const grouped = new Set(networkGroups(targets).flatMap((g) => g.members.map((j) => targets[j])));
    const loose = targets.filter(
      (t) => !members[0].config.targets.includes(t) && groupMembers(t) === null && !grouped.has(t),
    );
    if (loose.length > 0)
      console.warn(
        `export: note: ${loose.join(', ')} ${loose.length > 1 ? 'come' : 'comes'} only from later members and ${loose.length > 1 ? 'are' : 'is'} in no group; for a hierarchical model rename the first member's "other" (FILE:…,other=guitar+piano+other)`,
      );
    summary = `ensemble of ${members.length}, targets ${targets.join(', ')}: ${members.map(describe).join(' | ')}`;
  }
  await writeFileAtomic(opts.out, bytes);
  console.log(
    `wrote ${opts.out} (${(bytes.length / 1e6).toFixed(1)} MB, ${opts.int8 ? 'int8 matrices, ' : ''}${opts.fp16 ? 'fp16' : 'fp32'} weights): ${summary}`,
  );
} catch (err) {
  console.error(`export: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
