import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { crx } from '@crxjs/vite-plugin';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';
import manifest from './manifest.config';
import { readModelConfig } from './src/core/onnx-model';
import { SHIPPED_MODEL_PATH } from './src/core/shipped-model';
import { outputStems } from './src/core/stems';

/**
 * The model the build ships: SHIPPED_MODEL_PATH (the 6-stem model) unless `STEMDECK_MODEL` names
 * another file under models/ (e.g. `STEMDECK_MODEL=models/stemdeck-umx4.onnx npm run build` for the
 * 4-stem model: two thirds of the compute and 10 MB instead of 17.4, no guitar or piano sliders).
 */
const MODEL_FILE = process.env.STEMDECK_MODEL ?? SHIPPED_MODEL_PATH;
if (!/^models\/[\w.-]+\.onnx$/.test(MODEL_FILE) || !existsSync(resolve(import.meta.dirname, MODEL_FILE))) {
  throw new Error(`STEMDECK_MODEL must name an .onnx file in models/, got "${MODEL_FILE}"`);
}
/** The shipped model's stems, so the popup can show its rows before the engine first runs. */
const MODEL_STEMS = outputStems(
  readModelConfig(readFileSync(resolve(import.meta.dirname, MODEL_FILE))).targets,
);

/**
 * Files the offscreen document loads at run time, shipped inside the extension so that nothing is
 * fetched from the network: onnxruntime-web's WASM loader and binary (the only ones its
 * `onnxruntime-web/wasm` build loads; ../shared/notes) and the model.
 */
const RUNTIME_FILES: readonly [from: string, to: string][] = [
  ['node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs', 'ort/ort-wasm-simd-threaded.mjs'],
  ['node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm', 'ort/ort-wasm-simd-threaded.wasm'],
  [MODEL_FILE, MODEL_FILE],
];

function runtimeFiles(): Plugin {
  return {
    name: 'stemdeck-runtime-files',
    apply: 'build',
    async generateBundle() {
      for (const [from, to] of RUNTIME_FILES) {
        this.emitFile({
          type: 'asset',
          fileName: to,
          source: await readFile(resolve(import.meta.dirname, from)),
        });
      }
    },
  };
}

// `vite build` → dist/ (release). `vite build --mode test` → out/extension-test/, kept apart so a
// test build (which also runs on http://127.0.0.1) can never be zipped from dist/ by mistake.
export default defineConfig(({ mode }) => ({
  plugins: [preact(), crx({ manifest }), runtimeFiles()],
  define: {
    __STEMDECK_MODEL_STEMS__: JSON.stringify(MODEL_STEMS),
    __STEMDECK_MODEL_PATH__: JSON.stringify(MODEL_FILE),
  },
  // The ORT build that loads its .mjs/.wasm from `env.wasm.wasmPaths` instead of bundling them.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm'] },
  build: {
    outDir: mode === 'test' ? 'out/extension-test' : 'dist',
    emptyOutDir: true,
    sourcemap: mode === 'test',
    modulePreload: { polyfill: false }, // extension pages run in Chrome, which has modulepreload
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      input: {
        offscreen: 'src/offscreen/index.html',
        // The engine-calibration page exists in test builds only (e2e numerics of the WebGPU engine).
        ...(mode === 'test' ? { calibrate: 'src/offscreen/calibrate.html' } : {}),
      },
    },
  },
}));
