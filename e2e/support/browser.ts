/** Launching Debian's Chromium with the built test extension, quietly and offline. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer';
import { COMPONENT_UPDATER_SINK } from './server';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** Where `npm run build:test` (vite --mode test) writes the test build. */
export const EXTENSION_DIR = resolve(import.meta.dirname, '../../out/extension-test');

/**
 * Chromium's id for an unpacked extension: the first 32 hex digits of SHA-256 of its absolute path,
 * written with the letters a–p. Known before launch, so the flags can name it.
 */
export function unpackedExtensionId(dir: string): string {
  const hex = createHash('sha256').update(dir).digest('hex').slice(0, 32);
  return [...hex].map((d) => String.fromCharCode(97 + Number.parseInt(d, 16))).join('');
}
export const EXTENSION_ID = unpackedExtensionId(EXTENSION_DIR);

export interface Launched {
  readonly browser: Browser;
  /** The id of the extension it runs (from its folder). */
  readonly extensionId: string;
  close(): Promise<void>;
}

export async function launchWithExtension(
  proxyPort: number,
  options: { headless?: boolean; extensionDir?: string } = {},
): Promise<Launched> {
  const extensionDir = options.extensionDir ?? EXTENSION_DIR;
  const extensionId = unpackedExtensionId(extensionDir);
  if (!existsSync(join(extensionDir, 'manifest.json'))) {
    throw new Error(`no test build in ${extensionDir}: run \`npm run build:test\` (npm run test:e2e does)`);
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'stemdeck-e2e-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: options.headless ?? true,
    pipe: true, // needed for enableExtensions
    enableExtensions: [extensionDir],
    userDataDir,
    // Puppeteer mutes audio by default, and a muted browser captures silence.
    ignoreDefaultArgs: ['--mute-audio'],
    args: [
      '--no-sandbox',
      // tabCapture needs the user to invoke the extension (a click on its action); this flag stands
      // in for that click, so the suite drives the popup's real capture path without pixels.
      `--allowlisted-extension-id=${extensionId}`,
      // A WebGPU adapter (SwiftShader, a software fallback here): the engine choice must refuse it,
      // and the calibration page checks the WebGPU engine's numerics on it.
      '--enable-unsafe-webgpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
      // Everything that is not loopback goes to the test server's recording proxy (server.ts).
      `--proxy-server=http://127.0.0.1:${proxyPort}`,
      // Browser-internal traffic measured on this Chromium (156) with no extension loaded:
      // the network-time query is switched off; the on-demand component update check
      // (Optimization Guide models manifest), which --disable-component-update does not stop,
      // is pointed at a loopback sink on the test server so it never leaves the machine.
      '--disable-features=NetworkTimeServiceQuerying',
      `--component-updater=url-source=http://127.0.0.1:${proxyPort}${COMPONENT_UPDATER_SINK}`,
    ],
  });
  return {
    browser,
    extensionId,
    close: async () => {
      await browser.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
