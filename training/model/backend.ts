/**
 * TensorFlow.js backend selection for the Node trainer. tfjs-node cannot be installed offline (its
 * install step downloads libtensorflow), so training runs on tfjs-backend-wasm (XNNPACK, SIMD, one
 * thread in Node) or the pure-JS cpu backend; `npm run bench:train` measures both.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import './gradients';
import { patchWasmSlicing } from './wasm-slice';

export type TrainBackend = 'wasm' | 'cpu';

let wasmPathsSet = false;

/** Makes `name` the active tfjs backend (idempotent). */
export async function useBackend(name: TrainBackend): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    // In Node the wasm backend would look for its .wasm files next to the calling script; point it at
    // the package's dist folder instead (trailing slash: a prefix, not a file).
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(`${dist}${path.sep}`);
    wasmPathsSet = true;
    patchWasmSlicing();
  }
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs backend "${name}" failed to initialise`);
  }
  await tf.ready();
}
