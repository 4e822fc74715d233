/**
 * In sync with the picture (issue 19): on the YouTube-like DASH page the remix plays stems
 * separated ahead of the playhead at the element's own position. Measured against the element's
 * clock, sampled in the page (support/sync.ts): the offset over about a minute of playback with a
 * pause, a seek back into separated audio and a seek forward into new audio; how soon stems play
 * after switching on and after each seek (the page's own audio until then); and the fail-open cases.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TabState } from '../src/core/messages';
import { CHROMIUM, HAVE_CHROMIUM, type Launched, launchWithExtension } from './support/browser';
import { type DashAudio, FFMPEG, makeDashAudio } from './support/dash';
import { ExtensionDriver, sleep, type Tap, UNITY } from './support/drive';
import { type DashRepresentation, dashPage } from './support/pages';
import { type MediaFile, startTestServer, type TestServer } from './support/server';
import {
  type ElementSample,
  firstStemsAfter,
  percentileAbs,
  SAMPLER,
  syncOffsets,
  syncWall,
} from './support/sync';

const SONG = resolve(import.meta.dirname, '../demo/Kevin_MacLeod_-_Vibe_Ace.ogg');
const HAVE_FFMPEG = existsSync(FFMPEG);
const SECONDS = 120;
const SEGMENT_S = 4;
const RATE = 44_100;
/** After a seek: how long the stems rendered before it may still be heard (output latency + message). */
const SEEK_SETTLE_MS = 250;

if (!HAVE_CHROMIUM)
  console.warn(`e2e sync: ${CHROMIUM} is missing: SKIPPED, not passed (apt install chromium).`);
else if (!HAVE_FFMPEG)
  console.warn(`e2e sync: ${FFMPEG} is missing, so no DASH segments: SKIPPED, not passed.`);

function representation(d: DashAudio, name: string): [Record<string, MediaFile>, DashRepresentation] {
  const ext = d.codec === 'opus' ? 'webm' : 'm4s';
  const type = d.codec === 'opus' ? 'audio/webm' : 'audio/mp4';
  const media: Record<string, MediaFile> = { [`/dash/${name}/init.${ext}`]: { body: d.init, type } };
  d.segments.forEach((body, i) => {
    media[`/dash/${name}/seg-${i}.${ext}`] = { body, type };
  });
  return [
    media,
    {
      mime: d.mime,
      init: `/dash/${name}/init.${ext}`,
      segments: d.segments.map((_, i) => `/dash/${name}/seg-${i}.${ext}`),
      segmentSeconds: SEGMENT_S,
      duration: SECONDS,
    },
  ];
}

describe.skipIf(!HAVE_CHROMIUM || !HAVE_FFMPEG)('in sync with the picture on a YouTube-like page', () => {
  let server: TestServer;
  let launched: Launched;
  let browser: Browser;
  let drive: ExtensionDriver;
  const usedTabs = new Set<number>();

  beforeAll(async () => {
    // The demo song twice over (2 min), as WebM/Opus: YouTube's usual audio.
    const [media, rep] = representation(
      makeDashAudio(['-stream_loop', '1', '-i', SONG], 'opus', SECONDS, SEGMENT_S),
      'opus',
    );
    server = await startTestServer(media, { '/dash': dashPage({ opus: rep }) });
    launched = await launchWithExtension(server.port);
    browser = launched.browser;
    drive = await ExtensionDriver.open(browser, server.origin);
  });

  afterAll(async () => {
    await launched?.close();
    await server?.close();
  });

  async function open(path: string): Promise<{ page: Page; tabId: number }> {
    const page = await browser.newPage();
    await page.goto(`${server.origin}${path}`);
    await page.waitForFunction(() => document.body.dataset.dash !== undefined, { timeout: 20_000 });
    const state = await page.$eval('body', (b) => b.dataset.dash);
    if (state !== 'playing') throw new Error(`the DASH page did not play: ${state}`);
    const isNew = (s: TabState) =>
      s.hostname === '127.0.0.1' && s.media?.playing === true && !usedTabs.has(s.tabId);
    const all = await drive.waitFor(
      () =>
        drive.control.evaluate(() => chrome.storage.session.get(null)) as Promise<Record<string, TabState>>,
      (v) => Object.values(v).some(isNew),
      'the content script reporting the DASH page',
    );
    const tabId = Object.values(all).filter(isNew)[0].tabId;
    usedTabs.add(tabId);
    return { page, tabId };
  }

  const wallNow = (page: Page) => page.evaluate(() => performance.timeOrigin + performance.now());

  it('plays stems at the element’s position through play, pause, a seek back and a seek forward', async () => {
    const { page, tabId } = await open('/dash?rep=opus');
    await page.evaluate(SAMPLER);
    await sleep(2000);

    // Switching on mid-playback: stems within 3 s, the page's own audio until then.
    const onAt = await wallNow(page);
    await drive.switchOn(tabId, UNITY);
    await drive.waitFor(
      () => drive.tabState(tabId),
      (s) => s.engine?.mode === 'in-sync',
      'the remix going in sync',
      10_000,
    );
    await sleep(24_000);
    // Pause, resume; a seek back into separated audio; a seek forward into audio not separated yet.
    await page.evaluate('player.video.pause()');
    await sleep(2000);
    await page.evaluate('player.video.play()');
    await sleep(8000);
    const backAt = await wallNow(page);
    await page.evaluate('player.video.currentTime = 10');
    await sleep(10_000);
    const forwardAt = await wallNow(page);
    await page.evaluate('player.seek(90)');
    await sleep(12_000);

    const tap: Tap = await drive.tap(true, true);
    const samples = (await page.evaluate('window.__samples')) as ElementSample[];
    const quanta = tap.quanta ?? [];
    const clockMap = tap.clockMap ?? [];
    expect(quanta.length, 'the in-sync trace').toBeGreaterThan(1000);

    // Seeks take effect in the page first: the stems already rendered still play out (the output
    // latency) before the audio thread hears of the seek. Those moments are measured on their own.
    const seeks = [backAt, forwardAt];
    const offsets = syncOffsets(quanta, clockMap, samples, RATE).filter(
      (o) => !seeks.some((t) => o.at >= t && o.at < t + SEEK_SETTLE_MS),
    );
    const seconds = (offsets.length * 128) / RATE;
    const p95 = percentileAbs(
      offsets.map((o) => o.offset),
      95,
    );
    const p99 = percentileAbs(
      offsets.map((o) => o.offset),
      99,
    );
    const worst = percentileAbs(
      offsets.map((o) => o.offset),
      100,
    );
    const after = (at: number, from: number | null) =>
      (firstStemsAfter(quanta, clockMap, at, RATE, from) ?? Number.POSITIVE_INFINITY) - at;
    const switchOn = after(onAt, null);
    const seekBack = after(backAt, 10);
    const seekForward = after(forwardAt, 90);
    // How long stems of the old position went on being heard after each seek.
    const oldAfter = (at: number, near: number) =>
      Math.max(
        0,
        ...quanta
          .filter(([, m]) => m >= 0 && Math.abs(m / RATE - near) > 6)
          .map(([f]) => syncWall(clockMap, f) - at)
          .filter((ms) => ms >= 0 && ms < 5000),
      );
    const staleBack = oldAfter(backAt, 10);
    const staleForward = oldAfter(forwardAt, 90);
    const status = (await drive.tabState(tabId)).engine;
    console.info(
      `e2e sync: ${seconds.toFixed(1)} s of stems measured against the element: offset p95 ${(1000 * p95).toFixed(1)} ms, ` +
        `p99 ${(1000 * p99).toFixed(1)} ms, worst ${(1000 * worst).toFixed(1)} ms; stems after switch-on ${switchOn.toFixed(0)} ms, after a seek into separated ` +
        `audio ${seekBack.toFixed(0)} ms, into new audio ${seekForward.toFixed(0)} ms; old stems heard after the seeks ` +
        `${staleBack.toFixed(0)} / ${staleForward.toFixed(0)} ms; separation load ${status?.load?.toFixed(2)}; page audio while ` +
        `stems were missing ${status?.lateSeconds.toFixed(1)} s`,
    );
    expect(status?.mode).toBe('in-sync');
    expect(seconds, 'seconds of stems measured').toBeGreaterThan(40);
    // The bar: within ±40 ms of the element's clock through a pause, a seek back and a seek
    // forward — met by 99 % of the audio; single moments (around a resume) reach 50–60 ms today.
    expect(p99, '99th percentile of the offset to the element (s)').toBeLessThan(0.04);
    expect(worst, 'largest offset to the element (s)').toBeLessThan(0.1);
    expect(Math.max(staleBack, staleForward), 'ms of old stems heard after a seek').toBeLessThan(
      SEEK_SETTLE_MS,
    );
    // Bounds on what is measured today on this 2-core machine; the targets (3 s, 100 ms,
    // 2 s) are not met yet — docs/BENCHMARKS.md "In sync" has the figures and what is next.
    expect(switchOn, 'ms from switching on to stems').toBeLessThan(15_000);
    expect(seekBack, 'ms from a seek into separated audio to stems').toBeLessThan(1500);
    expect(seekForward, 'ms from a seek into new audio to stems').toBeLessThan(8000);
    await drive.switchOff(tabId);
    await page.close();
  }, 180_000);
});
