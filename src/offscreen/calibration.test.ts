import { describe, expect, it } from 'vitest';
import type { UmxConfig } from '../core/model/config';
import { chooseEngine } from './calibration';
import type { Calibration } from './engine-choice';

/** A WASM model that counts its runs (the calibration times two). */
function fakeWasm() {
  let runs = 0;
  return {
    runs: () => runs,
    config: { nbBins: 3 } as UmxConfig,
    targets: ['vocals'],
    async estimate(magnitude: Float32Array) {
      runs++;
      return [magnitude.slice()];
    },
  };
}

/** An adapter whose device cannot be had (the WebGPU engine then fails to build). */
function fakeAdapter(description: string, fallback = false): GPUAdapter {
  return {
    info: { vendor: 'acme', architecture: '', description, isFallbackAdapter: fallback },
    features: new Set<string>(),
    limits: { maxStorageBufferBindingSize: 1 << 27 },
    requestDevice: () => Promise.reject(new Error('no device here')),
  } as unknown as GPUAdapter;
}

const BYTES = new Uint8Array(0);
const cachedWasm = (adapter: string | null): Calibration => ({
  adapter,
  fallbackAdapter: false,
  wasmMs: 100,
  webgpuMs: 200,
  relativeError: 1e-6,
  webgpuError: null,
});

describe('chooseEngine (the engine for this machine, given a cached calibration)', () => {
  it('takes WASM without timing where there is no adapter, and stores that', async () => {
    const wasm = fakeWasm();
    const c = await chooseEngine(wasm, BYTES, null, null);
    expect(c.decision).toEqual({ engine: 'wasm', reason: 'no WebGPU adapter' });
    expect(c.gpu).toBeNull();
    expect(c.store?.adapter).toBeNull();
    expect(wasm.runs()).toBe(0);
  });

  it('keeps a cached WASM decision for the same adapter without timing anything', async () => {
    const wasm = fakeWasm();
    const c = await chooseEngine(wasm, BYTES, fakeAdapter('gpu one'), cachedWasm('acme gpu one'));
    expect(c.decision.engine).toBe('wasm');
    expect(c.decision.reason).toContain('WASM measured faster');
    expect(c.store).toBeNull();
    expect(wasm.runs()).toBe(0);
  });

  it('measures again when the cached calibration is another adapter’s', async () => {
    const wasm = fakeWasm();
    const c = await chooseEngine(wasm, BYTES, fakeAdapter('gpu two'), cachedWasm('acme gpu one'));
    expect(wasm.runs()).toBe(2); // warm-up and the timed run
    expect(c.decision.engine).toBe('wasm');
    expect(c.decision.reason).toContain('the WebGPU engine failed: no device here');
    expect(c.store).toMatchObject({ adapter: 'acme gpu two', webgpuError: 'no device here' });
  });

  it('never times a software adapter, unless a test build forces WebGPU (and then stores nothing)', async () => {
    const wasm = fakeWasm();
    const plain = await chooseEngine(wasm, BYTES, fakeAdapter('swiftshader', true), null);
    expect(plain.decision.reason).toContain('software fallback');
    expect(wasm.runs()).toBe(0);
    const forced = await chooseEngine(wasm, BYTES, fakeAdapter('swiftshader', true), null, true);
    expect(wasm.runs()).toBe(2);
    expect(forced.gpu).toBeNull(); // its device failed: WASM, whatever was forced
    expect(forced.decision.engine).toBe('wasm');
    expect(forced.store).toBeNull();
  });
});
