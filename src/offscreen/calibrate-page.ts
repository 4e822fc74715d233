/**
 * Test builds only (vite.config.ts adds this page in `--mode test`): calibrates both engines on one
 * chunk, even on a software WebGPU adapter (SwiftShader in headless Chromium), so the e2e suite
 * checks the WebGPU engine's numerics against WASM in the browser, and what the normal rule decides.
 */

import { errorText } from '../core/errors';
import { calibrateForced } from './model';

const out = document.getElementById('result');
calibrateForced().then(
  (result) => {
    if (out) out.textContent = JSON.stringify(result);
    document.body.dataset.done = 'ok';
  },
  (err: unknown) => {
    if (out) out.textContent = JSON.stringify({ error: errorText(err) });
    document.body.dataset.done = 'error';
  },
);
