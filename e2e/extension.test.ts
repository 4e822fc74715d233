/**
 * End to end: the built test extension in Debian's Chromium, a local page with an <audio>
 * element, the content script → worker → popup path, the toggle command path, and a hard check
 * that nothing left the machine.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEMS } from '../src/core/stems';
import type { TabState, TabStateReply } from '../src/extension/messages';
import { CHROMIUM, HAVE_CHROMIUM, type Launched, launchWithExtension } from './support/browser';
import { gainsOf, MODEL_STEMS } from './support/drive';
import { type NetLog, recordRequests } from './support/netlog';
import { startTestServer, type TestServer } from './support/server';

const ARTIFACTS = resolve(import.meta.dirname, 'artifacts');

/**
 * Off-machine attempts that are the browser's own, not the extension's, each measured on this
 * machine's Chromium 156 with no extension loaded at all. Debian's /usr/bin/chromium wrapper
 * exports Google API keys, so Chromium's account code asks accounts.google.com for the signed-in
 * accounts (ListAccounts) at startup. Tried without effect: --allow-browser-signin=false,
 * --gaia-url, and the profile prefs signin.allowed / signin.allowed_on_next_startup = false.
 * Only the bare CONNECT is tolerated, and the per-context request log separately proves that no
 * extension context requested it.
 */
const BROWSER_NOISE: readonly { method: string; url: string; why: string }[] = [
  { method: 'CONNECT', url: 'accounts.google.com:443', why: 'Gaia ListAccounts (Debian wrapper API keys)' },
];

if (!HAVE_CHROMIUM) {
  console.warn(
    `e2e: ${CHROMIUM} is missing: the browser tests are SKIPPED, not passed (apt install chromium).`,
  );
}

/** Polls `probe` until it returns a value `ok` accepts; the last value is in the timeout error. */
async function waitFor<T>(
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

describe.skipIf(!HAVE_CHROMIUM)('Stemdeck extension in Chromium', () => {
  let server: TestServer;
  let launched: Launched;
  let browser: Browser;
  let netlog: NetLog;
  let extensionId: string;
  let page: Page; // the web page with the <audio>
  let popup: Page; // the popup, opened as a tab with ?tab=<id>
  let tabId: number;

  const popupUrl = () => `chrome-extension://${extensionId}/src/popup/index.html?tab=${tabId}`;

  /** Reads tab state through the real protocol, from an extension page (popup rules apply). */
  const tabState = async (): Promise<TabState> => {
    const reply = (await popup.evaluate(
      (id) => chrome.runtime.sendMessage({ type: 'tab/get', tabId: id }),
      tabId,
    )) as TabStateReply;
    if (!reply.ok) throw new Error(reply.error);
    return reply.state;
  };

  /**
   * Evaluates in the extension's service worker. Right after the target appears its script may
   * not have run yet ("chrome is not defined"), so that one error is retried briefly.
   */
  const workerEval = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    const target = await browser.waitForTarget(
      (t) => t.type() === 'service_worker' && t.url().startsWith('chrome-extension://'),
    );
    const worker = await target.worker();
    if (!worker) throw new Error('service worker target has no worker');
    for (let i = 0; ; i++) {
      try {
        return (await worker.evaluate(fn)) as T;
      } catch (e) {
        if (i >= 50 || !String(e).includes('chrome is not defined')) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  beforeAll(async () => {
    server = await startTestServer();
    launched = await launchWithExtension(server.port);
    browser = launched.browser;
    netlog = recordRequests(browser);
  });

  afterAll(async () => {
    await launched?.close();
    await server?.close();
  });

  it('starts the service worker of the test build', async () => {
    const worker = await browser.waitForTarget(
      (t) => t.type() === 'service_worker' && t.url().startsWith('chrome-extension://'),
    );
    const url = new URL(worker.url());
    extensionId = url.host;
    expect(url.pathname).toBe('/service-worker-loader.js');
    const manifest = (await workerEval(() => chrome.runtime.getManifest())) as {
      name: string;
      content_scripts: { matches: string[] }[];
    };
    expect(manifest.name).toBe('Stemdeck (test build)');
    expect(manifest.content_scripts[0].matches).toContain('http://127.0.0.1/*');
  });

  it('detects the page <audio> and the worker records it playing', async () => {
    page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => {
      const a = document.querySelector('audio');
      return a !== null && !a.paused && a.currentTime > 0;
    });
    // Find the tab through the worker's own session storage: the only tab on 127.0.0.1.
    const stored = await waitFor(
      () => workerEval(() => chrome.storage.session.get(null)) as Promise<Record<string, TabState>>,
      (all) => Object.values(all).some((s) => s.hostname === '127.0.0.1' && s.media?.playing === true),
      'a playing report from the content script',
    );
    const tabs = Object.values(stored).filter((s) => s.hostname === '127.0.0.1');
    expect(tabs).toHaveLength(1);
    tabId = tabs[0].tabId;
    expect(tabs[0].media).toMatchObject({ present: true, kind: 'audio', playing: true, srcKind: 'network' });

    popup = await browser.newPage();
    await popup.setViewport({ width: 360, height: 420, deviceScaleFactor: 2 });
    await popup.goto(popupUrl());
    await page.bringToFront(); // the popup page's own polling must not matter for what follows

    // pause / seek / ratechange / play all reach the worker
    await page.evaluate(() => document.querySelector('audio')!.pause());
    await waitFor(tabState, (s) => s.media?.playing === false, 'paused');
    await page.evaluate(() => {
      document.querySelector('audio')!.currentTime = 5;
    });
    await waitFor(tabState, (s) => Math.abs((s.media?.currentTime ?? 0) - 5) < 0.25, 'seek to 5 s');
    await page.evaluate(() => {
      document.querySelector('audio')!.playbackRate = 1.5;
    });
    await waitFor(tabState, (s) => s.media?.playbackRate === 1.5, 'rate 1.5');
    await page.evaluate(() => document.querySelector('audio')!.play());
    await waitFor(tabState, (s) => s.media?.playing === true, 'playing again');
  });

  it('follows the media element across swaps', async () => {
    await page.evaluate(() => document.querySelector('audio')!.remove());
    await waitFor(tabState, (s) => s.media?.present === false, 'element removed');
    await page.evaluate(async () => {
      const v = document.createElement('video');
      v.src = '/tone.wav';
      v.loop = true;
      document.getElementById('slot')!.append(v);
      await v.play();
    });
    await waitFor(tabState, (s) => s.media?.kind === 'video' && s.media.playing, 'the new <video> playing');
    await page.evaluate(async () => {
      document.querySelector('video')!.remove();
      const a = document.createElement('audio');
      a.src = '/tone.wav';
      a.loop = true;
      document.getElementById('slot')!.append(a);
      await a.play();
    });
    await waitFor(tabState, (s) => s.media?.kind === 'audio' && s.media.playing, 'a fresh <audio> playing');
  });

  it('renders the popup: one row per model stem, fail-open status, live media line, labelled controls', async () => {
    await popup.bringToFront();
    await popup.reload();
    await popup.waitForSelector('[data-stem] input:not([disabled])');
    const rows = await popup.$$eval('[data-stem]', (els) =>
      els.map((el) => ({
        stem: el.getAttribute('data-stem'),
        label: el.querySelector('label')?.textContent,
      })),
    );
    // The model's stems in the shared list's order, with its labels.
    expect(rows).toEqual(
      STEMS.filter((s) => MODEL_STEMS.includes(s.name)).map((s) => ({ stem: s.name, label: s.label })),
    );
    const engine = await popup.$eval('[data-testid=engine-status]', (el) => el.textContent ?? '');
    expect(engine).toBe('Off: the page’s own audio plays unchanged.');
    const media = await popup.waitForFunction(() =>
      /^Playing <audio> · \d+:\d\d/.test(
        document.querySelector('[data-testid=media-status]')?.textContent ?? '',
      ),
    );
    expect(media).toBeTruthy();
    const unlabelled = await popup.$$eval('button, input', (els) =>
      els.filter((el) => !el.getAttribute('aria-label')).map((el) => el.outerHTML),
    );
    expect(unlabelled).toEqual([]);
  });

  it('remembers a slider change (keyboard) and mute per site, and sends effective gains', async () => {
    const slider = '[data-stem=vocals] input[type=range]';
    await popup.focus(slider);
    await popup.keyboard.press('Home');
    await popup.waitForFunction(
      () => document.querySelector('[data-stem=vocals] output')?.textContent === '0% · −∞ dB',
    );
    const site = () =>
      popup.evaluate(() => chrome.storage.local.get('site:127.0.0.1')) as Promise<
        Record<string, Record<string, { gain: number; muted: boolean; solo: boolean }>>
      >;
    await waitFor(site, (s) => s['site:127.0.0.1']?.vocals?.gain === 0, 'vocals 0 stored');

    await popup.focus('[data-stem=drums] button.mute');
    await popup.keyboard.press('Space');
    await waitFor(site, (s) => s['site:127.0.0.1']?.drums?.muted === true, 'drums mute stored');
    const s = await waitFor(tabState, (st) => st.gains?.drums === 0, 'effective gains at the worker');
    expect(s.gains).toEqual(gainsOf({ drums: 0, vocals: 0 }));

    // Arrow keys move by 1 %: 0 → 3 %.
    await popup.focus(slider);
    for (let i = 0; i < 3; i++) await popup.keyboard.press('ArrowRight');
    await waitFor(site, (st) => st['site:127.0.0.1']?.vocals?.gain === 0.03, 'vocals 3 % stored');

    // A new popup for the same site starts from the stored settings.
    await popup.reload();
    await popup.waitForSelector(`${slider}:not([disabled])`);
    expect(await popup.$eval(slider, (el) => (el as HTMLInputElement).value)).toBe('3');
    expect(await popup.$eval('[data-stem=drums] button.mute', (el) => el.getAttribute('aria-pressed'))).toBe(
      'true',
    );

    // Presets apply in one click: karaoke mutes vocals and nothing else.
    await popup.click('[data-preset=karaoke]');
    const k = await waitFor(
      tabState,
      (st) => st.gains?.vocals === 0 && st.gains.drums === 1,
      'karaoke gains',
    );
    expect(k.gains).toEqual(gainsOf({ vocals: 0 }));

    // One row per model stem, in the shared stem order; "No guitar" only where the model has guitar.
    const rows = await popup.$$eval('[data-stem]', (els) => els.map((el) => el.getAttribute('data-stem')));
    expect([...rows].sort()).toEqual([...MODEL_STEMS].sort());
    const noGuitar = await popup.$('[data-preset=no-guitar]');
    expect(noGuitar !== null).toBe(MODEL_STEMS.includes('guitar'));
    if (noGuitar) {
      await noGuitar.click();
      const g = await waitFor(tabState, (st) => st.gains?.guitar === 0, '"No guitar" gains');
      expect(g.gains).toEqual(gainsOf({ guitar: 0 }));
      await popup.click('[data-preset=karaoke]');
      await waitFor(tabState, (st) => st.gains?.vocals === 0 && st.gains.guitar === 1, 'karaoke again');
    }

    await mkdir(ARTIFACTS, { recursive: true });
    await popup.waitForFunction(() =>
      /^Playing/.test(document.querySelector('[data-testid=media-status]')?.textContent ?? ''),
    );
    const main = await popup.$('main');
    await main!.screenshot({ path: resolve(ARTIFACTS, 'popup.png') });
  });

  it('switches on from the popup (tab capture → offscreen engine) and off through the command handler path', async () => {
    const offscreenOpen = () =>
      Promise.resolve(browser.targets().some((t) => t.url().endsWith('/src/offscreen/index.html')));
    expect((await tabState()).enabled).toBe(false);
    // The popup's switch: it asks chrome.tabCapture for a stream id itself (the flag in browser.ts
    // stands in for the click on the toolbar icon), then the worker starts the offscreen engine.
    await popup.bringToFront();
    await popup.click('[role=switch]');
    const on = await waitFor(
      tabState,
      (s) => s.engine?.phase === 'buffering' || s.engine?.phase === 'running',
      'the engine capturing the tab',
      20_000,
    );
    expect(on.enabled).toBe(true);
    expect(on.engine).toMatchObject({ backend: 'wasm', stems: MODEL_STEMS });
    expect(await offscreenOpen()).toBe(true);
    const ping = await popup.evaluate(() => chrome.runtime.sendMessage({ type: 'offscreen/ping' }));
    expect(ping).toMatchObject({ ok: true, tabId });
    await popup.waitForSelector('[role=switch][aria-checked=true]');
    await popup.waitForFunction(() =>
      /^(Buffering|Remixing)/.test(document.querySelector('[data-testid=engine-status]')?.textContent ?? ''),
    );

    // The toggle-remix command handler calls exactly this message's handler.
    const reply = (await popup.evaluate(
      (id) => chrome.runtime.sendMessage({ type: 'tab/toggle-enabled', tabId: id }),
      tabId,
    )) as TabStateReply;
    if (!reply.ok) throw new Error(reply.error);
    expect(reply.state.enabled).toBe(false);
    await waitFor(offscreenOpen, (open) => !open, 'offscreen document closed');
    await popup.waitForSelector('[role=switch][aria-checked=false]');
    await page.bringToFront();
  });

  it('WebGPU engine: agrees with WASM on SwiftShader, and the engine choice refuses that software adapter', async () => {
    const cal = await browser.newPage();
    await cal.goto(`chrome-extension://${extensionId}/src/offscreen/calibrate.html`);
    await cal.waitForSelector('body[data-done]', { timeout: 120_000 });
    const result = JSON.parse(await cal.$eval('#result', (el) => el.textContent ?? '')) as {
      error?: string;
      calibration: {
        adapter: string | null;
        fallbackAdapter: boolean;
        wasmMs: number;
        webgpuMs: number | null;
        relativeError: number | null;
        webgpuError: string | null;
        webgpuSubgroups?: boolean;
      };
      decision: { engine: string; reason: string };
    };
    await cal.close();
    expect(result.error).toBeUndefined();
    const c = result.calibration;
    console.info(
      `e2e: calibration on ${c.adapter}: WASM ${c.wasmMs.toFixed(0)} ms, WebGPU engine ${c.webgpuMs?.toFixed(0)} ms per 4-s chunk (subgroup kernels: ${c.webgpuSubgroups}), relative error ${c.relativeError?.toExponential(2)}`,
    );
    expect(c.adapter).not.toBeNull();
    expect(c.fallbackAdapter).toBe(true);
    expect(c.webgpuError).toBeNull();
    expect(c.relativeError).toBeLessThan(1e-4);
    expect(result.decision).toMatchObject({
      engine: 'wasm',
      reason: expect.stringMatching(/software fallback/),
    });
  }, 150_000);

  it('rejects tab control from a web page context and malformed messages', async () => {
    // The page cannot reach chrome.runtime at all (no externally_connectable).
    expect(
      await page.evaluate(() => typeof (globalThis as { chrome?: { runtime?: unknown } }).chrome?.runtime),
    ).not.toBe('object');
    const bad = await popup.evaluate(() =>
      chrome.runtime.sendMessage({ type: 'tab/set-enabled', tabId: -4 }),
    );
    expect(bad).toMatchObject({ ok: false });
  });

  it('never touched the page audio (fail open)', async () => {
    const audio = await page.evaluate(() => {
      const a = document.querySelector('audio')!;
      return { paused: a.paused, muted: a.muted, volume: a.volume };
    });
    expect(audio).toEqual({ paused: false, muted: false, volume: 1 });
  });

  it('made no network request beyond the local test server and the extension itself', async () => {
    await popup.close();
    await page.close();
    const isNoise = (r: { method: string; url: string }) =>
      BROWSER_NOISE.some((n) => n.method === r.method && n.url === r.url);
    const offMachine = server.requests.filter((r) => r.via === 'proxied' || r.via === 'connect');
    const noise = offMachine.filter(isNoise);
    const sunk = server.requests.filter((r) => r.via === 'sink');
    if (noise.length + sunk.length > 0) {
      console.info(
        `e2e: browser-internal requests (not the extension): ${noise.length} tolerated CONNECT(s) to ` +
          `${[...new Set(noise.map((r) => r.url))].join(', ')}; ${sunk.length} component-update check(s) sunk on loopback`,
      );
    }
    expect(
      offMachine.filter((r) => !isNoise(r)),
      'requests through the proxy (i.e. off this machine)',
    ).toEqual([]);
    const local = server.requests.filter((r) => r.via === 'local');
    expect(local.filter((r) => !server.paths.includes(new URL(r.url).pathname))).toEqual([]);

    const allowed = (u: string) =>
      u.startsWith(`${server.origin}/`) || u.startsWith(`chrome-extension://${extensionId}/`);
    expect(netlog.urls.filter((r) => !allowed(r.url))).toEqual([]);
    // The log must have seen traffic at all, or the check above proves nothing.
    expect(netlog.urls.some((r) => r.url.startsWith(`chrome-extension://${extensionId}/`))).toBe(true);
    expect(netlog.urls.some((r) => r.url === `${server.origin}/tone.wav`)).toBe(true);
  });
});
