/**
 * Joins `.umxw` files of the same architecture but different targets (e.g. the `best.umxw` of two
 * training processes, vocals+drums and bass+other) into one model file for `npm run export`:
 *
 *   npx tsx training/train/merge.ts --out models/umx-small.umxw out/train/X/vocals-drums/best.umxw out/train/X/bass-other/best.umxw
 *
 * Targets are ordered as in the first file, then the next, …; a target in two files is an error, as
 * is any difference in the rest of the config. `FILE.umxw:vocals,drums` takes only those targets of a
 * file (e.g. a 4-stem model's vocals, drums and bass beside a 6-stem run's guitar, piano and other);
 * `other=guitar+piano+other` takes a target under another name — here the 4-stem "other" network as
 * the group network of a hierarchical 6-stem model (see `groupMembers` in src/core/stems.ts). The
 * merged config is checked like any other (a group's members must be in the model).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { UmxTargetWeights, UmxWeights } from '../../src/core/model';
import type { NetworkName } from '../../src/core/stems';
import { umxMembersFromOnnx } from '../../src/core/webgpu/onnx-weights';
import { mergeWeights, readWeightsFile, writeWeightsFile } from '../export/weights-file';

export { mergeWeights };

/** The named targets of `w` only (in the given order); `name=newName` renames one. */
export function pickTargets(w: UmxWeights, names: readonly string[], from = 'weights'): UmxWeights {
  const targets: Partial<Record<NetworkName, UmxTargetWeights>> = {};
  const order: NetworkName[] = [];
  for (const pick of names) {
    const [n, as = n] = pick.split('=');
    const t = w.targets[n as NetworkName];
    if (!t) throw new Error(`merge: ${from} has no target "${n}" (it has ${w.config.targets.join(', ')})`);
    if (targets[as as NetworkName]) throw new Error(`merge: target "${as}" picked twice from ${from}`);
    targets[as as NetworkName] = t;
    order.push(as as NetworkName);
  }
  return { config: { ...w.config, targets: order }, targets };
}

/**
 * `FILE.umxw[:picks]`, or an exported `FILE.onnx[:picks]` (the networks as the file holds them, e.g.
 * the shipped model's guitar network to fine-tune; of an ensemble, the first member that has every
 * picked target).
 */
export async function readPart(arg: string): Promise<UmxWeights> {
  const m = /^(.*\.(?:umxw|onnx)):([a-z,=+]+)$/.exec(arg);
  const path = resolve(m ? m[1] : arg);
  const picks = m ? m[2].split(',') : undefined;
  if (!path.endsWith('.onnx')) {
    const w = await readWeightsFile(path);
    return picks ? pickTargets(w, picks, path) : w;
  }
  const members = umxMembersFromOnnx(await readFile(path));
  const names = (picks ?? []).map((p) => p.split('=')[0]);
  const member = members.find((w) => names.every((n) => (w.config.targets as readonly string[]).includes(n)));
  if (!member || (!picks && members.length > 1)) {
    throw new Error(
      `merge: ${path} has ${members.length} members; name targets that one member has (${members
        .map((w) => w.config.targets.join(','))
        .join(' | ')})`,
    );
  }
  return picks ? pickTargets(member, picks, path) : member;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('merge.ts')) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  if (at < 0 || at + 1 >= args.length) {
    console.error(
      'usage: npx tsx training/train/merge.ts --out OUT.umxw IN1.umxw|IN1.onnx[:target,…] IN2.umxw …',
    );
    process.exit(2);
  }
  const out = resolve(args[at + 1]);
  const inputs = args.filter((_, i) => i !== at && i !== at + 1);
  const merged = mergeWeights(await Promise.all(inputs.map(readPart)), inputs);
  await writeWeightsFile(out, merged);
  console.log(`${out}: targets ${merged.config.targets.join(', ')}`);
}
