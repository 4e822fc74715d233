import { describe, expect, it } from 'vitest';
import { type Calibration, decideEngine, relativeError } from './engine-choice';

const hw: Calibration = {
  adapter: 'nvidia ampere RTX 3060',
  fallbackAdapter: false,
  wasmMs: 60,
  webgpuMs: 8,
  relativeError: 2e-6,
  webgpuError: null,
};

describe('decideEngine', () => {
  it('picks WebGPU only when a hardware adapter agrees with WASM and is clearly faster', () => {
    expect(decideEngine(hw)).toMatchObject({ engine: 'webgpu' });
    expect(decideEngine({ ...hw, webgpuMs: 58 })).toMatchObject({
      engine: 'wasm',
      reason: /WASM measured faster/,
    });
  });
  it('never picks a software fallback adapter, however it timed', () => {
    const d = decideEngine({ ...hw, adapter: 'google swiftshader', fallbackAdapter: true, webgpuMs: 1 });
    expect(d.engine).toBe('wasm');
    expect(d.reason).toMatch(/software fallback/);
  });
  it('falls back to WASM without an adapter, when the engine failed, or when the outputs disagree', () => {
    expect(decideEngine({ ...hw, adapter: null, webgpuMs: null }).reason).toBe('no WebGPU adapter');
    expect(decideEngine({ ...hw, webgpuMs: null, webgpuError: 'out of memory' }).reason).toMatch(
      /out of memory/,
    );
    expect(decideEngine({ ...hw, relativeError: 0.01 })).toMatchObject({
      engine: 'wasm',
      reason: /disagreed/,
    });
    expect(decideEngine({ ...hw, relativeError: Number.NaN }).engine).toBe('wasm');
  });
});

describe('relativeError', () => {
  it('is the largest difference over the peak magnitude', () => {
    const ref = [Float32Array.of(0, 2, -4), Float32Array.of(1)];
    expect(relativeError([Float32Array.of(0, 2, -4), Float32Array.of(1)], ref)).toBe(0);
    expect(relativeError([Float32Array.of(0.4, 2, -4), Float32Array.of(1)], ref)).toBeCloseTo(0.1, 6);
  });
});
