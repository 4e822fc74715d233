/**
 * Stemdeck's weights file (`.umxw`): one Open-Unmix model (config + every target's tensors) in a
 * form any language reads without a framework.
 *
 *   bytes 0–7   magic "UMXW\0\0\0\x01" (format version 1 in the last byte)
 *   bytes 8–11  header length N, uint32 little-endian
 *   bytes 12…   N bytes of UTF-8 JSON: { config: UmxConfig, tensors: [{ name, target, shape, offset }] }
 *   padding     zeros up to a multiple of 8, so the body is aligned for Float32Array views
 *   body        float32 little-endian tensors; `offset` is in bytes from the body's start
 *
 * Tensor names and shapes are open-unmix-pytorch's state_dict ones (`umxParameters`), row-major. A
 * joint model (`config.joint`) stores its shared trunk once, under the first target; the others hold
 * only their heads.
 */
import { readFile } from 'node:fs/promises';
import {
  checkJointWeights,
  checkUmxWeights,
  isHeadParameter,
  parameterSize,
  UMX_DEFAULTS,
  type UmxConfig,
  type UmxTargetWeights,
  type UmxWeights,
  umxParameters,
  validateUmxConfig,
} from '../../src/core/model';
import type { NetworkName } from '../../src/core/stems';
import { writeFileAtomic } from '../node/atomic';

export const WEIGHTS_MAGIC = Uint8Array.from([0x55, 0x4d, 0x58, 0x57, 0, 0, 0, 1]); // "UMXW" v1

export interface WeightsTensorEntry {
  readonly name: string;
  readonly target: NetworkName;
  readonly shape: readonly number[];
  readonly offset: number;
}

export interface WeightsHeader {
  readonly config: UmxConfig;
  readonly tensors: readonly WeightsTensorEntry[];
}

/** Serialises `weights` (every target of `weights.config.targets`, validated first). */
export function encodeWeights(weights: UmxWeights): Uint8Array {
  const { config } = weights;
  validateUmxConfig(config);
  checkJointWeights(weights);
  const specs = umxParameters(config);
  const tensors: WeightsTensorEntry[] = [];
  const data: Float32Array[] = [];
  let offset = 0;
  for (const target of config.targets) {
    const tw = weights.targets[target];
    if (!tw) throw new Error(`weights: no tensors for target "${target}"`);
    checkUmxWeights(config, tw);
    for (const spec of specs) {
      if (config.joint && target !== config.targets[0] && !isHeadParameter(spec.name)) continue;
      tensors.push({ name: spec.name, target, shape: spec.shape, offset });
      data.push(tw[spec.name]);
      offset += parameterSize(spec) * 4;
    }
  }
  const extra = Object.keys(weights.targets).filter((t) => !config.targets.includes(t as NetworkName));
  if (extra.length > 0) throw new Error(`weights: target(s) ${extra.join(', ')} not in config.targets`);

  const header = new TextEncoder().encode(JSON.stringify({ config, tensors } satisfies WeightsHeader));
  const bodyStart = align8(12 + header.length);
  const out = new Uint8Array(bodyStart + offset);
  out.set(WEIGHTS_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  const body = new DataView(out.buffer, bodyStart);
  let pos = 0;
  // Explicit little-endian writes: the file's byte order does not depend on the host's.
  for (const arr of data) for (let i = 0; i < arr.length; i++, pos += 4) body.setFloat32(pos, arr[i], true);
  return out;
}

/** Parses and validates a weights file; `source` names the file in errors. */
export function decodeWeights(bytes: Uint8Array, source = 'weights file'): UmxWeights {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (bytes.length < 12 || WEIGHTS_MAGIC.some((b, i) => bytes[i] !== b)) {
    fail('not a Stemdeck weights file (bad magic; expected "UMXW" version 1)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) fail('truncated header');
  let header: WeightsHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  const config = header.config;
  if (typeof config !== 'object' || config === null) return fail('header has no config');
  // Every config key must be stated: a silently defaulted hidden size would mis-read the body.
  for (const key of Object.keys(UMX_DEFAULTS)) {
    if (!(key in config)) fail(`config lacks "${key}"`);
  }
  try {
    validateUmxConfig(config);
  } catch (err) {
    fail((err as Error).message);
  }
  if (!Array.isArray(header.tensors)) fail('header has no tensor list');

  const bodyStart = align8(12 + headerLength);
  const bodyLength = bytes.length - bodyStart;
  const specs = new Map(umxParameters(config).map((s) => [s.name, s]));
  const targets: Partial<Record<NetworkName, UmxTargetWeights>> = {};
  for (const t of header.tensors) {
    if (!config.targets.includes(t.target)) {
      fail(`tensor "${t.name}" has target "${t.target}", not one of ${config.targets.join(', ')}`);
    }
    const spec = specs.get(t.name);
    if (!spec) return fail(`unknown tensor "${t.name}" (target ${t.target})`);
    if (!sameShape(t.shape, spec.shape)) {
      fail(`tensor "${t.name}" (target ${t.target}) has shape [${t.shape}], expected [${spec.shape}]`);
    }
    const n = parameterSize(spec);
    if (!Number.isInteger(t.offset) || t.offset < 0 || t.offset % 4 !== 0 || t.offset + 4 * n > bodyLength) {
      fail(`tensor "${t.name}" (target ${t.target}) lies outside the body (offset ${t.offset})`);
    }
    const arr = new Float32Array(n);
    const body = new DataView(bytes.buffer, bytes.byteOffset + bodyStart + t.offset, 4 * n);
    for (let i = 0; i < n; i++) arr[i] = body.getFloat32(4 * i, true);
    const tw = (targets[t.target] ??= {});
    if (tw[t.name]) fail(`tensor "${t.name}" (target ${t.target}) appears twice`);
    tw[t.name] = arr;
  }
  for (const target of config.targets) {
    const tw = targets[target] ?? fail(`no tensors for target "${target}"`);
    if (config.joint && target !== config.targets[0]) {
      // The shared trunk is stored once: the same arrays serve every target.
      const trunk = targets[config.targets[0]]!;
      for (const spec of specs.values()) {
        if (isHeadParameter(spec.name)) continue;
        if (tw[spec.name]) fail(`joint model: target ${target} repeats trunk tensor "${spec.name}"`);
        if (trunk[spec.name]) tw[spec.name] = trunk[spec.name];
      }
    }
    try {
      checkUmxWeights(config, tw);
    } catch (err) {
      fail(`target ${target}: ${(err as Error).message}`);
    }
  }
  return { config, targets };
}

export async function writeWeightsFile(path: string, weights: UmxWeights): Promise<void> {
  await writeFileAtomic(path, encodeWeights(weights));
}

export async function readWeightsFile(path: string): Promise<UmxWeights> {
  return decodeWeights(new Uint8Array(await readFile(path)), path);
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function sameShape(a: unknown, b: readonly number[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Whether two model configs are the same network but for their targets (mergeable, warm-startable). */
export function sameArchitecture(a: UmxConfig, b: UmxConfig): boolean {
  // Which input a network reads (`inputFrom`) is no part of its shape.
  const strip = (c: UmxConfig) =>
    JSON.stringify({ ...c, targets: [], joint: c.joint ?? false, inputFrom: undefined });
  return strip(a) === strip(b);
}

/**
 * Joins models trained separately per target (e.g. one training process per pair of targets) into
 * one: every config must agree except for `targets`, no target may appear twice, and the merged
 * config must be valid (a group network's members must be in it). `names` label the parts in errors.
 */
export function mergeWeights(parts: readonly UmxWeights[], names: readonly string[] = []): UmxWeights {
  if (parts.length === 0) throw new Error('merge: no weights');
  const base = parts[0].config;
  if (parts.length > 1 && parts.some((p) => p.config.joint)) {
    throw new Error('merge: a joint model is one network (its targets share a trunk) and cannot be merged');
  }
  const targets: NetworkName[] = [];
  const merged: Partial<Record<NetworkName, UmxTargetWeights>> = {};
  const inputFrom: Partial<Record<NetworkName, NetworkName>> = {};
  for (const [i, part] of parts.entries()) {
    const name = names[i] ?? `part ${i + 1}`;
    if (!sameArchitecture(part.config, base))
      throw new Error(`merge: ${name} has another architecture than ${names[0] ?? 'part 1'}`);
    for (const t of part.config.targets) {
      if (merged[t]) throw new Error(`merge: target "${t}" appears twice (again in ${name})`);
      targets.push(t);
      merged[t] = part.targets[t];
      const from = part.config.inputFrom?.[t];
      if (from) inputFrom[t] = from;
    }
  }
  const { inputFrom: _, ...shape } = base;
  const config: UmxConfig = {
    ...shape,
    targets,
    ...(Object.keys(inputFrom).length > 0 ? { inputFrom } : {}),
  };
  validateUmxConfig(config);
  for (const t of targets) checkUmxWeights(config, merged[t]!);
  return { config, targets: merged };
}
