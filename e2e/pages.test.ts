/**
 * Pages that behave like the real sites (support/pages.ts): a YouTube-like single-page app
 * (in-page navigation with history.pushState, an ad that swaps the <video>'s source, seek, rate
 * 1.5) and a Media Source Extensions player. The content script must follow the video through all
 * of it, and the remix (tab capture, so per tab) must keep running across the SPA's navigation and
 * the ad, playing exactly the original at unity gains.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TabState } from '../src/extension/messages';
import { CHROMIUM, HAVE_CHROMIUM, type Launched, launchWithExtension } from './support/browser';
import { ExtensionDriver, sleep, type Tap, UNITY } from './support/drive';
import { type MseSource, msePage, spaPage } from './support/pages';
import { type MediaFile, startTestServer, type TestServer } from './support/server';
import { errorDb, rms, toneSecondsIn } from './support/signal';
import { makeToneWav } from './support/wav';

const FFMPEG = '/usr/bin/ffmpeg';
const HAVE_FFMPEG = existsSync(FFMPEG);

if (!HAVE_CHROMIUM)
  console.warn(`e2e pages: ${CHROMIUM} is missing: SKIPPED, not passed (apt install chromium).`);
if (HAVE_CHROMIUM && !HAVE_FFMPEG) {
  console.warn(
    `e2e pages: ${FFMPEG} is missing, so there is no fragmented media for the MSE page: the MSE test is SKIPPED, not passed (apt install ffmpeg).`,
  );
}

/**
 * 40 s of a two-tone chord with a little noise, stereo, encoded by ffmpeg as fragmented MP4 (AAC)
 * and as WebM (Opus): the two byte-stream formats sites feed to MSE.
 */
async function makeMseMedia(): Promise<Record<string, MediaFile>> {
  const dir = await mkdtemp(join(tmpdir(), 'stemdeck-mse-'));
  try {
    const source = [
      '-f',
      'lavfi',
      '-i',
      'aevalsrc=0.2*sin(2*PI*330*t)+0.1*sin(2*PI*495*t)+0.02*(random(0)-0.5)|0.2*sin(2*PI*330*t)+0.1*sin(2*PI*660*t)+0.02*(random(1)-0.5):s=48000:d=40',
    ];
    const run = promisify(execFile);
    await run(FFMPEG, [
      ...['-v', 'error', '-y', ...source],
      ...['-c:a', 'aac', '-b:a', '128k'],
      ...['-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '1000000'],
      ...['-f', 'mp4', join(dir, 'mse.mp4')],
    ]);
    await run(FFMPEG, [
      ...['-v', 'error', '-y', ...source],
      ...['-c:a', 'libopus', '-b:a', '96k', '-f', 'webm', join(dir, 'mse.webm')],
    ]);
    return {
      '/mse.mp4': { body: await readFile(join(dir, 'mse.mp4')), type: 'audio/mp4' },
      '/mse.webm': { body: await readFile(join(dir, 'mse.webm')), type: 'audio/webm' },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const MSE_SOURCES: readonly MseSource[] = [
  { src: '/mse.mp4', type: 'audio/mp4; codecs="mp4a.40.2"' },
  { src: '/mse.webm', type: 'audio/webm; codecs="opus"' },
];

/** Tones of the SPA's media (makeToneWav), so a recording shows which of them it holds. */
const HZ = { one: 440, two: 554, ad: 880 } as const;

/** Seconds of the page's audio in the recording where the tone at `hz` carries most of the energy. */
const toneSeconds = (t: Tap, hz: number) => toneSecondsIn(t.original[0], t.sampleRate, hz);

describe.skipIf(!HAVE_CHROMIUM)('YouTube-like SPA and MSE pages', () => {
  let server: TestServer;
  let launched: Launched;
  let browser: Browser;
  let drive: ExtensionDriver;
  const usedTabs = new Set<number>();

  beforeAll(async () => {
    const media: Record<string, MediaFile> = {
      // Distinct tones, so a recording tells the videos and the ad apart.
      '/video-one.wav': { body: makeToneWav(60, HZ.one), type: 'audio/wav' },
      '/video-two.wav': { body: makeToneWav(60, HZ.two), type: 'audio/wav' },
      '/ad.wav': { body: makeToneWav(3, HZ.ad), type: 'audio/wav' },
      ...(HAVE_FFMPEG ? await makeMseMedia() : {}),
    };
    const pages: Record<string, string> = {
      '/spa': spaPage({ one: '/video-one.wav', two: '/video-two.wav', ad: '/ad.wav' }),
    };
    if (HAVE_FFMPEG) pages['/mse'] = msePage(MSE_SOURCES);
    server = await startTestServer(media, pages);
    launched = await launchWithExtension(server.port);
    browser = launched.browser;
    drive = await ExtensionDriver.open(browser, server.origin);
  });

  afterAll(async () => {
    await launched?.close();
    await server?.close();
  });

  const tabState = (tabId: number) => drive.tabState(tabId);
  const waitFor = <T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, ms?: number) =>
    drive.waitFor(probe, ok, what, ms);

  /** Waits for the worker's record of `tabId` to satisfy `ok` (the content script's reports). */
  const media = (tabId: number, ok: (m: NonNullable<TabState['media']>) => boolean, what: string) =>
    waitFor(
      () => tabState(tabId),
      (s) => s.media !== null && ok(s.media),
      what,
    );

  /**
   * Opens `path`, waits until its <video> plays, and finds its tab id in the worker's records (as
   * `drive.play` does for its `/player` page).
   */
  async function open(path: string): Promise<{ page: Page; tabId: number }> {
    const page = await browser.newPage();
    await page.goto(`${server.origin}${path}`);
    await page.waitForFunction(
      () => {
        const v = document.querySelector('video');
        // The MSE page reports a failure (unsupported type, error) instead of ever playing.
        const mse = document.body.dataset.mse;
        return (v !== null && !v.paused && v.currentTime > 0.2) || (mse !== undefined && mse !== 'playing');
      },
      { timeout: 20_000 },
    );
    const mse = await page.$eval('body', (b) => b.dataset.mse);
    if (mse !== undefined && mse !== 'playing') {
      throw new Error(
        mse === 'unsupported'
          ? `this Chromium's MSE supports none of ${MSE_SOURCES.map((s) => s.type).join(', ')}`
          : `the MSE page failed: ${mse}`,
      );
    }
    const isNew = (s: TabState) =>
      s.hostname === '127.0.0.1' && s.media?.playing === true && !usedTabs.has(s.tabId);
    const all = await waitFor(
      () =>
        drive.control.evaluate(() => chrome.storage.session.get(null)) as Promise<Record<string, TabState>>,
      (v) => Object.values(v).some(isNew),
      'the content script reporting the new page',
    );
    const fresh = Object.values(all).filter(isNew);
    if (fresh.length !== 1) throw new Error(`expected one new playing tab, found ${fresh.length}`);
    usedTabs.add(fresh[0].tabId);
    return { page, tabId: fresh[0].tabId };
  }

  const switchOn = (tabId: number) => drive.switchOn(tabId, UNITY);
  const running = (tabId: number) => drive.running(tabId);
  const tap = (clear: boolean) => drive.tap(clear);
  const switchOff = (tabId: number) => drive.switchOff(tabId);

  /**
   * The recording since the last read: mostly remixed, not silent, and at unity gains the output
   * equals the original wherever the remix played.
   */
  function expectUnity(t: Tap, what: string): void {
    const frames = t.remixed.length;
    const remixed = t.remixed.reduce((a, b) => a + b, 0);
    const err = errorDb(t.output, t.original, t.remixed);
    console.info(
      `e2e pages: ${what}: ${(frames / t.sampleRate).toFixed(2)} s recorded, ${(remixed / t.sampleRate).toFixed(2)} s remixed, ` +
        `rms ${rms(t.original).toFixed(3)}, output − original ${err.toFixed(1)} dB`,
    );
    expect(frames / t.sampleRate, `${what}: seconds recorded`).toBeGreaterThan(1);
    expect(remixed / frames, `${what}: share of frames remixed`).toBeGreaterThan(0.5);
    expect(rms(t.original), `${what}: the page audio is not silent`).toBeGreaterThan(0.02);
    expect(rms(t.output), `${what}: the remix is not silent`).toBeGreaterThan(0.02);
    expect(err, `${what}: output − original (dB)`).toBeLessThan(-60);
  }

  it('follows the SPA video across pushState navigation, an ad and back, seek, rate 1.5, pause/play', async () => {
    const { page, tabId } = await open('/spa?v=one');
    const boot = await page.$eval('body', (b) => b.dataset.boot);
    const onVideo = (fn: string) => page.evaluate(`(() => { const v = spa.video(); ${fn} })()`);

    let s = await tabState(tabId);
    expect(s.media).toMatchObject({ present: true, kind: 'video', playing: true, srcKind: 'network' });
    expect(s.media?.playbackRate).toBe(1);

    // Seek, rate 1.5, pause and play on video one.
    await onVideo('v.currentTime = 20;');
    await media(tabId, (m) => Math.abs(m.currentTime - 20) < 0.5, 'the seek to 20 s');
    await onVideo('v.playbackRate = 1.5;');
    await media(tabId, (m) => m.playbackRate === 1.5, 'rate 1.5');
    await onVideo('v.pause();');
    await media(tabId, (m) => !m.playing, 'paused');
    await onVideo('v.play();');
    await media(tabId, (m) => m.playing, 'playing again');

    // In-page navigation to video two: a fresh <video> at 0 s and rate 1 (the old one was at
    // 20 s and 1.5, so the report must come from the new element).
    await page.click('#link-two');
    await page.waitForFunction(() => document.body.dataset.route === 'two');
    expect(new URL(page.url()).search).toBe('?v=two');
    s = await media(
      tabId,
      (m) => m.present && m.playing && m.playbackRate === 1 && m.currentTime < 10,
      'video two playing from its start',
    );
    expect(s.media).toMatchObject({ kind: 'video', srcKind: 'network' });
    await onVideo('v.currentTime = 7;');
    await media(tabId, (m) => Math.abs(m.currentTime - 7) < 0.5, 'the seek in video two');
    await onVideo('v.playbackRate = 1.5;');
    await media(tabId, (m) => m.playbackRate === 1.5, 'rate 1.5 in video two');

    // The ad: the same element switches to a 3-s source, then back to video two where it left.
    const resumeAt = (await page.evaluate('spa.playAd()')) as number;
    expect(resumeAt).toBeGreaterThanOrEqual(6.9); // just after the seek to 7 s
    await media(tabId, (m) => m.playing && m.currentTime < 3.2 && m.playbackRate === 1, 'the ad playing');
    await page.waitForFunction(() => document.body.dataset.ad === 'done', { timeout: 15_000 });
    await media(
      tabId,
      (m) => m.playing && m.currentTime >= resumeAt - 0.1 && m.currentTime < resumeAt + 10,
      'video two resumed after the ad',
    );

    // Back (popstate) to video one: again a fresh element from its start.
    await page.evaluate(() => history.back());
    await page.waitForFunction(() => document.body.dataset.route === 'one');
    await media(tabId, (m) => m.playing && m.currentTime < 10 && m.playbackRate === 1, 'video one again');
    await onVideo('v.pause();');
    await media(tabId, (m) => !m.playing, 'paused after back');
    await onVideo('v.play();');
    await media(tabId, (m) => m.playing, 'playing after back');

    // All of it without a reload: one document, loaded once.
    expect(await page.$eval('body', (b) => b.dataset.boot)).toBe(boot);
    expect(server.requests.filter((r) => new URL(r.url).pathname === '/spa')).toHaveLength(1);
    expect((await tabState(tabId)).hostname).toBe('127.0.0.1');
    await page.close();
  });

  it('keeps remixing (output = original at unity) across in-page navigation and the ad', async () => {
    const { page, tabId } = await open('/spa?v=one');
    await switchOn(tabId);
    const delayMs = (await running(tabId)).engine?.delayMs ?? 0;
    console.info(`e2e pages: the remix plays ${delayMs} ms behind the page`);
    await tap(true);

    await page.click('#link-two');
    await page.waitForFunction(() => document.body.dataset.route === 'two');
    await sleep(2000);
    expect((await tabState(tabId)).engine?.phase).toBe('running');
    await page.evaluate('spa.playAd()');
    await page.waitForFunction(() => document.body.dataset.ad === 'done', { timeout: 15_000 });
    // The recording runs `delayMs` behind the page: wait that long past the ad's end so that the
    // recording holds video one, the navigation, video two, the ad and video two again.
    await sleep(delayMs + 1000);
    const s = await tabState(tabId);
    expect(s.enabled).toBe(true);
    expect(s.engine?.phase).toBe('running');
    const t = await tap(true);
    expectUnity(t, 'across the navigation and the ad');
    const tones = { one: toneSeconds(t, HZ.one), two: toneSeconds(t, HZ.two), ad: toneSeconds(t, HZ.ad) };
    console.info(`e2e pages: seconds of each tone in that recording: ${JSON.stringify(tones)}`);
    expect(tones.one).toBeGreaterThan(0.5);
    expect(tones.two).toBeGreaterThan(1.5);
    expect(tones.ad).toBeGreaterThan(2); // of its 3 s

    await switchOff(tabId);
    await page.close();
  });

  it.skipIf(!HAVE_FFMPEG)(
    'reports an MSE <video> as srcKind blob and remixes it in sync (stems, never silence)',
    async () => {
      const { page, tabId } = await open('/mse');
      console.info(`e2e pages: the MSE page plays ${await page.$eval('body', (b) => b.dataset.type)}`);
      const s = await media(tabId, (m) => m.playing, 'the MSE video playing');
      expect(s.media).toMatchObject({ present: true, kind: 'video', srcKind: 'blob' });

      // The read-ahead tap sees this page's MSE audio: the remix goes in sync with the element
      // (e2e/sync.test.ts measures how well); here it must play stems and never silence.
      await switchOn(tabId);
      const on = await drive.waitFor(
        () => tabState(tabId),
        (st) => st.engine?.mode === 'in-sync',
        'the remix going in sync on the MSE page',
      );
      expect(on.engine?.phase).toBe('running');
      await sleep(6000);
      const t = await tap(true);
      const stems = t.remixed.reduce((a, b) => a + b, 0) / t.sampleRate;
      console.info(
        `e2e pages: MSE, in sync: ${stems.toFixed(1)} s of stems in ${(t.remixed.length / t.sampleRate).toFixed(1)} s`,
      );
      expect(stems).toBeGreaterThan(0.5);
      expect(rms(t.output), 'the remix is not silent').toBeGreaterThan(0.02);
      await switchOff(tabId);
      await page.close();
    },
  );

  it.skipIf(!HAVE_FFMPEG)(
    'reports MSE fed from a dedicated worker (srcObject is a MediaSourceHandle) as srcKind blob',
    async () => {
      const { page, tabId } = await open('/mse?worker=1');
      expect(await page.evaluate(() => document.querySelector('video')!.currentSrc)).toBe('');
      const s = await media(tabId, (m) => m.playing, 'the worker-fed MSE video playing');
      expect(s.media).toMatchObject({ present: true, kind: 'video', srcKind: 'blob' });
      await page.close();
    },
  );
});
