/** The manifest's mode split, checked without a browser: only the test build reaches 127.0.0.1. */
import type { ConfigEnv } from 'vite';
import { describe, expect, it } from 'vitest';
import manifestExport from '../manifest.config';

interface Manifest {
  name: string;
  permissions: string[];
  host_permissions?: string[];
  content_scripts: {
    matches: string[];
    js: string[];
    run_at: string;
    world?: string;
    all_frames?: boolean;
  }[];
  content_security_policy: { extension_pages: string };
  commands: Record<string, unknown>;
}

async function manifestFor(mode: string): Promise<Manifest> {
  if (typeof manifestExport !== 'function')
    throw new Error('manifest.config.ts should export a function of env');
  const env: ConfigEnv = { mode, command: 'build', isSsrBuild: false, isPreview: false };
  return (await manifestExport(env)) as unknown as Manifest;
}

describe('manifest.config.ts', () => {
  it('release build: the music sites only, least permissions', async () => {
    const m = await manifestFor('production');
    expect(m.name).toBe('Stemdeck');
    const [media, ...tap] = m.content_scripts;
    expect(media.matches).toEqual([
      'https://www.youtube.com/*',
      'https://m.youtube.com/*',
      'https://music.youtube.com/*',
      'https://open.spotify.com/*',
    ]);
    // The read-ahead tap: YouTube hosts only (never Spotify or any other site), page world at
    // document_start in every frame (embeds), with its isolated-world bridge beside it.
    const YOUTUBE = [
      'https://www.youtube.com/*',
      'https://m.youtube.com/*',
      'https://music.youtube.com/*',
      'https://www.youtube-nocookie.com/*',
    ];
    expect(tap.map((c) => [c.js, c.matches, c.run_at, c.all_frames, c.world ?? 'ISOLATED'])).toEqual([
      [['src/content/page-tap.iife.ts'], YOUTUBE, 'document_start', true, 'MAIN'],
      [['src/content/tap-bridge.iife.ts'], YOUTUBE, 'document_start', true, 'ISOLATED'],
    ]);
    expect(m.permissions.sort()).toEqual(['offscreen', 'storage', 'tabCapture']);
    expect(m.host_permissions).toBeUndefined();
    expect(m.content_security_policy.extension_pages).toBe(
      "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'",
    );
    expect(Object.keys(m.commands)).toEqual(['toggle-remix']);
  });

  it('test build additionally matches the local e2e server', async () => {
    const m = await manifestFor('test');
    for (const c of m.content_scripts) expect(c.matches).toContain('http://127.0.0.1/*');
    expect(m.permissions.sort()).toEqual(['offscreen', 'storage', 'tabCapture']);
  });
});
