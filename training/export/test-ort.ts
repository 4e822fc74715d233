/** Runs exported models in onnxruntime-node (the export and fetch tests' reference runtime). */
import * as ort from 'onnxruntime-node';
import type { UmxConfig } from '../../src/core/model';

/**
 * Runs a model file in onnxruntime-node on magnitudes `input` ([1, C, bins, T] layout, flat) and
 * returns its `est`, flat. The session gets a copy of `input` (ort.Tensor wraps the array it is
 * given), so the caller's array stays its own to reuse.
 */
export async function runOrt(
  bytes: Uint8Array,
  input: Float32Array,
  c: Pick<UmxConfig, 'nbChannels' | 'nbBins'>,
  frames: number,
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const feeds = { mix: new ort.Tensor('float32', input.slice(), [1, c.nbChannels, c.nbBins, frames]) };
    return (await session.run(feeds)).est.data as Float32Array;
  } finally {
    await session.release();
  }
}
