/**
 * An exported Stemdeck model (`npm run export`) as a MagnitudeModel, for whichever onnxruntime the
 * caller has: onnxruntime-node in `npm run separate`, onnxruntime-web in the offscreen document.
 * Both expose the same `InferenceSession` / `Tensor` API (onnxruntime-common); the runtime is
 * injected so this file stays free of either package.
 *
 * The graph's input is `mix` [1, C, bins, T] (mixture magnitudes) and its output `est`
 * [J, 1, C, bins, T]; the `stemdeck.config` metadata entry holds the UmxConfig it was built from.
 */
import onnxProto from 'onnx-proto';
import { errorText } from './errors';
import { type UmxConfig, validateUmxConfig } from './model/config';
import type { MagnitudeModel } from './separator';
import type { NetworkName } from './stems';

const { onnx } = onnxProto;

/** The part of onnxruntime-common this runner needs (structural, so both packages satisfy it). */
export interface OrtTensorLike {
  readonly data: unknown;
  dispose?(): void;
}
export interface OrtSessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release?(): Promise<void>;
}
export interface OrtLike<SessionOptions> {
  InferenceSession: { create(bytes: Uint8Array, options?: SessionOptions): Promise<OrtSessionLike> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensorLike;
}

export interface OnnxMagnitudeModel extends MagnitudeModel {
  readonly config: UmxConfig;
  /** Frees the session (WASM memory in the browser). */
  release(): Promise<void>;
}

/** Metadata key of an ensemble's members (`npm run export -- --ensemble`): `ModelMember[]` as JSON. */
export const ENSEMBLE_METADATA_KEY = 'stemdeck.ensemble';

/**
 * One network set of a model file: its config and the prefix of its initializers' names. An
 * ensemble member may have only some of the model's targets; each target's estimate is the mean
 * over the members that have it.
 */
export interface ModelMember {
  readonly prefix: string;
  readonly config: UmxConfig;
}

type MetadataEntry = { key?: string | null; value?: string | null };

function metadata(bytes: Uint8Array): MetadataEntry[] {
  try {
    return onnx.ModelProto.decode(bytes).metadataProps ?? [];
  } catch (err) {
    throw new Error(`not an ONNX model (${errorText(err)})`);
  }
}

/**
 * The targets of an ensemble of these members: the first member's, in its order, then those new in
 * each later member, in theirs. So a model can be built of members that each have only part of it —
 * e.g. a hierarchical one of a top level (vocals, drums, bass and the group guitar+piano+other) and
 * another member's guitar, piano and other networks that split the group (`networkGroups`).
 */
export function ensembleTargets(members: readonly Pick<UmxConfig, 'targets'>[]): NetworkName[] {
  const targets: NetworkName[] = [];
  for (const m of members) for (const t of m.targets) if (!targets.includes(t)) targets.push(t);
  return targets;
}

/**
 * An ensemble's config as readers see it (`stemdeck.config`): the first member's, with the
 * ensemble's targets (`ensembleTargets`) — the first member's config itself where it has them all,
 * as every ensemble built before members could add targets does (their files stay byte for byte).
 */
export function ensembleConfig(members: readonly UmxConfig[]): UmxConfig {
  if (members.length === 0) throw new Error('an ensemble needs a member');
  const first = members[0];
  const targets = ensembleTargets(members);
  return targets.length === first.targets.length ? first : { ...first, targets };
}

function configFrom(meta: readonly MetadataEntry[]): UmxConfig {
  const entry = meta.find((p) => p.key === 'stemdeck.config');
  if (!entry?.value) throw new Error('no stemdeck.config metadata (not exported by `npm run export`?)');
  const config = JSON.parse(entry.value) as UmxConfig;
  validateUmxConfig(config);
  return config;
}

/**
 * Reads `stemdeck.config` from the model bytes; throws a plain-words error for anything else. For an
 * ensemble this is its first member's config with the model's targets (`ensembleConfig`): the
 * targets of all members, and the STFT they share.
 */
export function readModelConfig(bytes: Uint8Array): UmxConfig {
  return configFrom(metadata(bytes));
}

/** The network sets in the file: one with prefix '' for a plain model, each member of an ensemble. */
export function readModelMembers(bytes: Uint8Array): ModelMember[] {
  return modelMembers(metadata(bytes));
}

/**
 * `readModelMembers` from a model's already decoded metadata (decoding a shipped model's protobuf
 * takes a while: readers that decode it anyway pass theirs).
 */
export function modelMembers(meta: readonly MetadataEntry[]): ModelMember[] {
  const config = configFrom(meta);
  const entry = meta.find((p) => p.key === ENSEMBLE_METADATA_KEY);
  if (!entry?.value) return [{ prefix: '', config }];
  const members = JSON.parse(entry.value) as ModelMember[];
  if (!Array.isArray(members) || members.length === 0)
    throw new Error(`${ENSEMBLE_METADATA_KEY}: no members`);
  for (const m of members) {
    if (typeof m.prefix !== 'string') throw new Error(`${ENSEMBLE_METADATA_KEY}: a member without a prefix`);
    validateUmxConfig(m.config, config.targets); // its targets are the model's
    if (m.config.nbBins !== config.nbBins || m.config.nbChannels !== config.nbChannels) {
      throw new Error(
        `${ENSEMBLE_METADATA_KEY}: member "${m.prefix}" has other bins or channels than the model`,
      );
    }
  }
  // Every target of the model comes from some member (the graph's output would lack it otherwise).
  const had = ensembleTargets(members.map((m) => m.config));
  const orphans = config.targets.filter((t) => !had.includes(t));
  if (orphans.length > 0) throw new Error(`${ENSEMBLE_METADATA_KEY}: no member has ${orphans.join(', ')}`);
  return members;
}

export async function createOnnxModel<SessionOptions>(
  ort: OrtLike<SessionOptions>,
  bytes: Uint8Array,
  sessionOptions?: SessionOptions,
): Promise<OnnxMagnitudeModel> {
  const config = readModelConfig(bytes);
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  const targets = [...config.targets];
  return {
    config,
    targets,
    async estimate(magnitude, channels, bins, frames) {
      if (bins !== config.nbBins || channels !== config.nbChannels) {
        throw new Error(
          `model expects ${config.nbChannels} × ${config.nbBins} bins, got ${channels} × ${bins}`,
        );
      }
      // A fresh tensor per run: onnxruntime-web's proxy mode detaches the buffer it is given.
      const input = new ort.Tensor('float32', magnitude, [1, channels, bins, frames]);
      const { est } = await session.run({ mix: input });
      const data = est.data as Float32Array;
      const size = channels * bins * frames;
      if (data.length !== targets.length * size) {
        throw new Error(`model output has ${data.length} values, expected ${targets.length * size}`);
      }
      const out = targets.map((_, j) => data.slice(j * size, (j + 1) * size));
      est.dispose?.();
      return out;
    },
    async release() {
      await session.release?.();
    },
  };
}
