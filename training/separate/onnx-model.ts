/**
 * An exported Stemdeck model (`npm run export`) as a MagnitudeModel run by onnxruntime-node. The
 * runner itself is the shared one in src/core/onnx-model.ts (the offscreen document uses it with
 * onnxruntime-web); this file only reads the file and picks the thread counts.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { UmxConfig } from '../../src/core/model/config';
import { createOnnxModel } from '../../src/core/onnx-model';
import type { MagnitudeModel } from '../../src/core/separator';

export interface OnnxSeparationModel extends MagnitudeModel {
  readonly config: UmxConfig;
  readonly path: string;
}

/** Reads the model and its `stemdeck.config` metadata; a clear error for anything else. */
export async function loadOnnxModel(path: string, threads = 1): Promise<OnnxSeparationModel> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read model "${path}": ${err.code === 'ENOENT' ? 'file not found' : err.message}`);
  });
  try {
    const model = await createOnnxModel<ort.InferenceSession.SessionOptions>(ort, bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    return { ...model, path };
  } catch (err) {
    throw new Error(`cannot read model "${path}": ${err instanceof Error ? err.message : String(err)}`);
  }
}
