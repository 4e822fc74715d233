import { defineManifest } from '@crxjs/vite-plugin';
import pkg from './package.json' with { type: 'json' };
import { READ_AHEAD_HOSTS, TEST_READ_AHEAD_HOST } from './src/content/tap-protocol';

/** Sites whose media the content script follows (the extension's whole reach into web pages). */
const RELEASE_MATCHES = [
  'https://www.youtube.com/*',
  // Mobile YouTube too: the worker learns a tab's host from this script, and the host decides the
  // in-sync (read-ahead) start; without it, an m.youtube.com tab started delayed.
  'https://m.youtube.com/*',
  'https://music.youtube.com/*',
  'https://open.spotify.com/*',
];
/**
 * Hosts whose players feed their media element through Media Source Extensions ahead of playback,
 * which the read-ahead tap reads (YouTube, YouTube Music, embeds). Spotify's audio is encrypted: capture only.
 */
const READ_AHEAD_MATCHES = READ_AHEAD_HOSTS.map((h) => `https://${h}/*`);
/**
 * Only the test build (`vite build --mode test`) also runs on the e2e suite's local server, both as
 * itself and as its stand-in YouTube host.
 */
const TEST_MATCHES = ['http://127.0.0.1/*', `http://${TEST_READ_AHEAD_HOST}/*`];

export default defineManifest((env) => {
  const tapMatches = env.mode === 'test' ? [...READ_AHEAD_MATCHES, ...TEST_MATCHES] : READ_AHEAD_MATCHES;
  return {
    manifest_version: 3,
    name: env.mode === 'test' ? 'Stemdeck (test build)' : 'Stemdeck',
    description: 'Turn one instrument down in whatever is playing: in-browser stem separation and remix.',
    version: pkg.version,
    minimum_chrome_version: '116', // chrome.offscreen with the USER_MEDIA reason and runtime.getContexts
    permissions: [
      // storage: per-tab session state (chrome.storage.session) survives service-worker restarts;
      // per-site mixer settings are remembered in chrome.storage.local.
      'storage',
      // offscreen: service workers have no Web Audio; the offscreen document captures, separates and
      // plays the remix while a tab's remix is switched on.
      'offscreen',
      // tabCapture: the tab's audio, including DRM-protected and cross-origin media that an element
      // tap would hear as silence; capturing also mutes the tab, so the user hears the remix OR the
      // original, never both. Chrome grants it per tab only after the user invokes the extension.
      'tabCapture',
    ],
    // No host_permissions, tabs or activeTab: the content scripts' matches are the only reach into pages.
    background: { service_worker: 'src/background/index.ts', type: 'module' },
    content_scripts: [
      {
        matches: env.mode === 'test' ? [...RELEASE_MATCHES, ...TEST_MATCHES] : RELEASE_MATCHES,
        js: ['src/content/index.ts'],
        run_at: 'document_idle',
      },
      // The read-ahead tap: the page-world half sees the page's MSE appends (it must wrap the APIs
      // before the player's scripts run, in embeds too); the isolated half relays them while the remix
      // runs. Both are IIFE bundles, so they run synchronously at document_start.
      {
        matches: tapMatches,
        js: ['src/content/page-tap.iife.ts'],
        run_at: 'document_start',
        all_frames: true,
        world: 'MAIN',
      },
      {
        matches: tapMatches,
        js: ['src/content/tap-bridge.iife.ts'],
        run_at: 'document_start',
        all_frames: true,
      },
    ],
    action: { default_popup: 'src/popup/index.html', default_title: 'Stemdeck' },
    commands: {
      'toggle-remix': {
        suggested_key: { default: 'Alt+Shift+S' },
        description: 'Switch the remix on or off for the current tab',
      },
    },
    // 'wasm-unsafe-eval' is for onnxruntime-web's WebAssembly in extension pages; nothing else is relaxed.
    content_security_policy: { extension_pages: "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'" },
    // Cross-origin isolation of the extension's pages: onnxruntime-web's WASM threads need
    // SharedArrayBuffer. Extension pages load only the extension's own files, so nothing breaks.
    cross_origin_embedder_policy: { value: 'require-corp' },
    cross_origin_opener_policy: { value: 'same-origin' },
  };
});
