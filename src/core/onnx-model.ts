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

/** Reads `stemdeck.config` from the model bytes; throws a plain-words error for anything else. */
export function readModelConfig(bytes: Uint8Array): UmxConfig {
  let meta: { key?: string | null; value?: string | null }[];
  try {
    meta = onnx.ModelProto.decode(bytes).metadataProps ?? [];
  } catch (err) {
    throw new Error(`not an ONNX model (${errorText(err)})`);
  }
  const entry = meta.find((p) => p.key === 'stemdeck.config');
  if (!entry?.value) throw new Error('no stemdeck.config metadata (not exported by `npm run export`?)');
  const config = JSON.parse(entry.value) as UmxConfig;
  validateUmxConfig(config);
  return config;
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
