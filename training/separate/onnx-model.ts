/**
 * An exported Stemdeck model (`npm run export`) as a MagnitudeModel for the shared separator, run by
 * onnxruntime-node. The graph's input is `mix` [1, C, bins, T] and its output `est` [J, 1, C, bins, T].
 */
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { UmxConfig } from '../../src/core/model/config';
import type { MagnitudeModel } from '../../src/core/separator';

const { onnx } = onnxProto;

export interface OnnxSeparationModel extends MagnitudeModel {
  readonly config: UmxConfig;
  readonly path: string;
}

/** Reads the model and its `stemdeck.config` metadata; a clear error for anything else. */
export async function loadOnnxModel(path: string, threads = 1): Promise<OnnxSeparationModel> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read model "${path}": ${err.code === 'ENOENT' ? 'file not found' : err.message}`);
  });
  let config: UmxConfig;
  try {
    const meta = onnx.ModelProto.decode(bytes).metadataProps ?? [];
    const entry = meta.find((p) => p.key === 'stemdeck.config');
    if (!entry?.value) throw new Error('no stemdeck.config metadata (not exported by `npm run export`?)');
    config = JSON.parse(entry.value) as UmxConfig;
  } catch (err) {
    throw new Error(`cannot read model "${path}": ${err instanceof Error ? err.message : String(err)}`);
  }
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const targets = [...config.targets];
  return {
    config,
    path,
    targets,
    async estimate(magnitude, channels, bins, frames) {
      if (bins !== config.nbBins || channels !== config.nbChannels) {
        throw new Error(
          `model expects ${config.nbChannels} × ${config.nbBins} bins, got ${channels} × ${bins}`,
        );
      }
      const feeds = { mix: new ort.Tensor('float32', magnitude, [1, channels, bins, frames]) };
      const { est } = await session.run(feeds);
      const data = est.data as Float32Array;
      const size = channels * bins * frames;
      return targets.map((_, j) => data.slice(j * size, (j + 1) * size));
    },
  };
}
