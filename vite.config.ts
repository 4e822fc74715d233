import { crx } from '@crxjs/vite-plugin';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';
import manifest from './manifest.config';

// `vite build` → dist/ (release). `vite build --mode test` → out/extension-test/, kept apart so a
// test build (which also runs on http://127.0.0.1) can never be zipped from dist/ by mistake.
export default defineConfig(({ mode }) => ({
  plugins: [preact(), crx({ manifest })],
  build: {
    outDir: mode === 'test' ? 'out/extension-test' : 'dist',
    emptyOutDir: true,
    sourcemap: mode === 'test',
    modulePreload: { polyfill: false }, // extension pages run in Chrome, which has modulepreload
    rollupOptions: { input: { offscreen: 'src/offscreen/index.html' } },
  },
}));
