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
  const inputFrom: Partial<Record<NetworkName, NetworkName>> = {};
  for (const pick of names) {
    const [n, as = n] = pick.split('=');
    const t = w.targets[n as NetworkName];
    if (!t) throw new Error(`merge: ${from} has no target "${n}" (it has ${w.config.targets.join(', ')})`);
    if (targets[as as NetworkName]) throw new Error(`merge: target "${as}" picked twice from ${from}`);
    targets[as as NetworkName] = t;
    order.push(as as NetworkName);
    const reads = w.config.inputFrom?.[n as NetworkName];
    if (reads) inputFrom[as as NetworkName] = reads;
  }
  const { inputFrom: _, ...shape } = w.config;
  const config = { ...shape, targets: order, ...(Object.keys(inputFrom).length > 0 ? { inputFrom } : {}) };
  return { config, targets };
}

/**
 * A networks-file argument, as merge.ts and `npm run export -- --ensemble` take it: `FILE.umxw` or an
 * exported `FILE.onnx`, then optionally `#k` (member k of an exported ensemble, from 0) and
 * `:target,old=new,…` (picks, as pickTargets takes them).
 */
export function parseNetworksArg(arg: string): { file: string; member?: number; picks?: string[] } {
  const m = /^(.*\.(?:umxw|onnx))(?:#(\d+))?(?::([a-z,=+]+))?$/.exec(arg);
  if (!m) return { file: arg };
  return {
    file: m[1],
    ...(m[2] !== undefined ? { member: Number(m[2]) } : {}),
    ...(m[3] ? { picks: m[3].split(',') } : {}),
  };
}

/** Every network set a file holds: a .umxw's one, or each member of an exported .onnx. */
export async function readNetworkSets(file: string): Promise<UmxWeights[]> {
  if (!file.endsWith('.onnx')) return [await readWeightsFile(file)];
  const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'file not found' : err.message}`);
  });
  try {
    return umxMembersFromOnnx(new Uint8Array(bytes));
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Member `k` of a file's network sets, or an error naming how many there are. */
export function memberOf(sets: readonly UmxWeights[], k: number, file: string): UmxWeights {
  const w = sets[k];
  if (!w) throw new Error(`${file} has ${sets.length} member(s): there is no #${k}`);
  return w;
}

/**
 * One network set from a networks-file argument (parseNetworksArg), e.g. the shipped model's guitar
 * network to fine-tune: member `#k`, or else the first member that has every picked target.
 */
export async function readPart(arg: string): Promise<UmxWeights> {
  const { file, member, picks } = parseNetworksArg(arg);
  const path = resolve(file);
  const sets = await readNetworkSets(path);
  const names = (picks ?? []).map((p) => p.split('=')[0]);
  const chosen =
    member !== undefined
      ? memberOf(sets, member, path)
      : sets.find((w) => names.every((n) => (w.config.targets as readonly string[]).includes(n)));
  if (!chosen || (!picks && member === undefined && sets.length > 1)) {
    throw new Error(
      `merge: ${path} has ${sets.length} members; name targets that one member has (${sets
        .map((w) => w.config.targets.join(','))
        .join(' | ')})`,
    );
  }
  return picks ? pickTargets(chosen, picks, path) : chosen;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('merge.ts')) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  if (at < 0 || at + 1 >= args.length) {
    console.error(
      'usage: npx tsx training/train/merge.ts --out OUT.umxw IN1.umxw|IN1.onnx[#k][:target,…] IN2.umxw …',
    );
    process.exit(2);
  }
  const out = resolve(args[at + 1]);
  const inputs = args.filter((_, i) => i !== at && i !== at + 1);
  const merged = mergeWeights(await Promise.all(inputs.map(readPart)), inputs);
  await writeWeightsFile(out, merged);
  console.log(`${out}: targets ${merged.config.targets.join(', ')}`);
}
