import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { WARM_UP_MODEL } from './separation-protocol';

describe('WARM_UP_MODEL', () => {
  it('is a valid ONNX model that onnxruntime runs: y = x', async () => {
    const session = await ort.InferenceSession.create(WARM_UP_MODEL);
    try {
      expect(session.inputNames).toEqual(['x']);
      const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.of(3.5), [1]) });
      expect([...(y.data as Float32Array)]).toEqual([3.5]);
    } finally {
      await session.release();
    }
  });
});
