import { describe, expect, it } from 'vitest';
import { failoverModel } from './failover';

/** A fake engine: returns [input × factor] and records its calls; `failAt` makes call n throw. */
function fakeModel(factor: number, failAt = -1) {
  const calls: Float32Array[] = [];
  let released = 0;
  return {
    calls,
    released: () => released,
    config: { name: `x${factor}` },
    targets: ['vocals'],
    async estimate(magnitude: Float32Array) {
      calls.push(magnitude);
      if (calls.length - 1 === failAt) throw new Error('GPUDevice was lost');
      return [magnitude.map((v) => v * factor)];
    },
    release() {
      released++;
    },
  };
}

describe('failoverModel (WebGPU with WASM behind it)', () => {
  it('serves from WebGPU while it works', async () => {
    const gpu = fakeModel(2);
    const wasm = fakeModel(3);
    const f = failoverModel(gpu, wasm, () => {
      throw new Error('no failure expected');
    });
    const out = await f.model.estimate(new Float32Array([1, 2]), 1, 2, 1);
    expect([...out[0]]).toEqual([2, 4]);
    expect(f.backend()).toBe('webgpu');
    expect(f.failure()).toBeNull();
    expect(wasm.calls).toHaveLength(0);
    expect(f.model.config).toBe(wasm.config);
  });

  it('re-runs the failed chunk on WASM, stays there, releases the GPU model and reports once', async () => {
    const gpu = fakeModel(2, 1);
    const wasm = fakeModel(3);
    const reasons: string[] = [];
    const f = failoverModel(gpu, wasm, (r) => reasons.push(r));
    await f.model.estimate(new Float32Array([1]), 1, 1, 1);
    const chunk = new Float32Array([5, 6]);
    const out = await f.model.estimate(chunk, 1, 2, 1);
    // The chunk WebGPU failed on comes back from WASM: no gap in the audio.
    expect([...out[0]]).toEqual([15, 18]);
    expect(wasm.calls[0]).toBe(chunk);
    expect(f.backend()).toBe('wasm');
    expect(f.failure()).toMatch(/WebGPU failed \(.*GPUDevice was lost.*\), WASM took over/);
    expect(reasons).toEqual([f.failure()]);
    expect(gpu.released()).toBe(1);
    await f.model.estimate(new Float32Array([1]), 1, 1, 1);
    expect(gpu.calls).toHaveLength(2);
    expect(wasm.calls).toHaveLength(2);
    expect(reasons).toHaveLength(1);
  });

  it('carries on when releasing the lost device throws too', async () => {
    const gpu = {
      ...fakeModel(2, 0),
      release: () => {
        throw new Error('device destroyed');
      },
    };
    const wasm = fakeModel(3);
    const f = failoverModel(gpu, wasm, () => undefined);
    const out = await f.model.estimate(new Float32Array([1]), 1, 1, 1);
    expect([...out[0]]).toEqual([3]);
    expect(f.backend()).toBe('wasm');
  });
});
