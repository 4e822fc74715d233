/**
 * Training checkpoints: one file, written atomically (temp file + rename), holding everything a
 * resumed run needs to continue bit-for-bit:
 *
 *   bytes 0–7   magic "UMXCKPT\x01"
 *   bytes 8–11  header length N (uint32 LE), then N bytes of UTF-8 JSON
 *               { format, version, config: TrainConfig, state: TrainState, sections: [{ name, offset, length }] }
 *   padding     zeros to a multiple of 8
 *   body        sections, each a complete `.umxw` weights file (training/export/weights-file.ts):
 *               `weights` (parameters and BatchNorm running statistics of every target), `adam-m` and
 *               `adam-v` (the optimiser moments under the same tensor names; buffers stored as zeros)
 *
 * Everything else (epoch, step within the epoch, sampler position, per-target learning rate, plateau
 * and early-stopping counters, best validation loss, Adam step, log length) is in `state`.
 */
import { readFile } from 'node:fs/promises';
import { parameterSize, type UmxTargetWeights, type UmxWeights, umxParameters } from '../../src/core/model';
import type { NetworkName } from '../../src/core/stems';
import type { SamplerState } from '../data/sampler';
import { decodeWeights, encodeWeights } from '../export/weights-file';
import { joinHeads, splitHeads, trainingUnits } from '../model/umx-tf';
import { writeFileAtomic } from '../node/atomic';
import type { AdamWState } from './adamw';
import type { TrainConfig } from './config';

export const CHECKPOINT_MAGIC = Uint8Array.from([0x55, 0x4d, 0x58, 0x43, 0x4b, 0x50, 0x54, 1]); // "UMXCKPT" v1

/** Per-target training progress (one Open-Unmix network each). */
export interface TargetProgress {
  lr: number;
  /** Best validation loss so far (Infinity before the first validation). */
  best: number;
  bestEpoch: number;
  /** Epochs since the last new best (early stopping). */
  badEpochs: number;
  /** Epochs since the last new best or LR reduction (plateau scheduler). */
  plateauEpochs: number;
  stopped: boolean;
}

export interface TrainState {
  /** Completed epochs. */
  epoch: number;
  /** Batches already done in epoch `epoch + 1` (non-zero only for an interrupted epoch). */
  stepInEpoch: number;
  /** Batches done since the start of the run. */
  globalStep: number;
  sampler: SamplerState;
  /** Sum of the training losses of the batches done in the current epoch, per target. */
  epochLossSum: Record<string, number>;
  targets: Record<string, TargetProgress>;
  /** Bytes of log.jsonl that belong to this checkpoint (a resumed run truncates the rest). */
  logBytes: number;
  /** Training wall time so far, seconds (informational). */
  seconds: number;
}

export interface Checkpoint {
  readonly config: TrainConfig;
  readonly state: TrainState;
  readonly weights: UmxWeights;
  /** Per training unit (`trainingUnits`: each target, or `joint`), tensors by UmxTf parameter key. */
  readonly adam: Readonly<Record<string, AdamWState>>;
}

interface Section {
  name: 'weights' | 'adam-m' | 'adam-v';
  offset: number;
  length: number;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** Adam moments as a weights container: parameter tensors from `pick`, buffers zero. */
function momentWeights(c: Checkpoint, pick: (s: AdamWState) => Record<string, Float32Array>): UmxWeights {
  const config = c.weights.config;
  const specs = umxParameters(config);
  const targets: Partial<Record<NetworkName, UmxTargetWeights>> = {};
  const zeros = new Map(specs.map((spec) => [spec.name, new Float32Array(parameterSize(spec))]));
  for (const unit of trainingUnits(config)) {
    const s = c.adam[unit.name];
    if (!s) throw new Error(`checkpoint: no optimiser state for "${unit.name}"`);
    for (const t of unit.targets) {
      const moments = splitHeads(config, unit.heads, t, pick(s));
      const tw: UmxTargetWeights = {};
      for (const spec of specs)
        tw[spec.name] = spec.role === 'weight' ? moments[spec.name] : zeros.get(spec.name)!;
      targets[t] = tw;
    }
  }
  return { config, targets };
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const blobs: [Section['name'], Uint8Array][] = [
    ['weights', encodeWeights(c.weights)],
    ['adam-m', encodeWeights(momentWeights(c, (s) => s.m))],
    ['adam-v', encodeWeights(momentWeights(c, (s) => s.v))],
  ];
  const sections: Section[] = [];
  let offset = 0;
  for (const [name, blob] of blobs) {
    sections.push({ name, offset, length: blob.length });
    offset = align8(offset + blob.length);
  }
  const adamSteps = Object.fromEntries(Object.entries(c.adam).map(([t, s]) => [t, s?.step ?? 0]));
  const header = new TextEncoder().encode(
    JSON.stringify({
      format: 'stemdeck-checkpoint',
      version: 1,
      config: c.config,
      // Infinity (no validation yet) is not JSON: stored as null.
      state: c.state,
      adamSteps,
      sections,
    }),
  );
  const bodyStart = align8(12 + header.length);
  const out = new Uint8Array(bodyStart + offset);
  out.set(CHECKPOINT_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  for (const [i, [, blob]] of blobs.entries()) out.set(blob, bodyStart + sections[i].offset);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (bytes.length < 12 || CHECKPOINT_MAGIC.some((b, i) => bytes[i] !== b))
    fail('not a Stemdeck training checkpoint (bad magic)');
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + n > bytes.length) fail('truncated header');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n)));
  const bodyStart = align8(12 + n);
  const section = (name: Section['name']) => {
    const s = (header.sections as Section[]).find((x) => x.name === name) ?? fail(`no section ${name}`);
    if (bodyStart + s.offset + s.length > bytes.length) fail(`section ${name} is truncated`);
    return decodeWeights(
      bytes.subarray(bodyStart + s.offset, bodyStart + s.offset + s.length),
      `${source} (${name})`,
    );
  };
  const weights = section('weights');
  const m = section('adam-m');
  const v = section('adam-v');
  const state = header.state as TrainState;
  for (const p of Object.values(state.targets)) p.best ??= Number.POSITIVE_INFINITY;
  const adam: Record<string, AdamWState> = {};
  for (const unit of trainingUnits(weights.config)) {
    const moments = (w: UmxWeights) =>
      unit.heads
        ? joinHeads(weights.config, unit.heads, w.targets as Record<string, UmxTargetWeights>)
        : w.targets[unit.targets[0]]!;
    adam[unit.name] = { step: header.adamSteps[unit.name], m: moments(m), v: moments(v) };
  }
  return { config: header.config as TrainConfig, state, weights, adam };
}

export async function writeCheckpoint(path: string, c: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(c));
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  return decodeCheckpoint(new Uint8Array(await readFile(path)), path);
}
