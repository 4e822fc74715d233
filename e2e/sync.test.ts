/**
 * In sync with the picture (issue 19): on the YouTube-like DASH page the remix plays stems
 * separated ahead of the playhead at the element's own position. Measured against the element's
 * clock, sampled in the page (support/sync.ts): the offset over about a minute of playback with a
 * pause, a seek back into separated audio and a seek forward into new audio; how soon stems play
 * after switching on and after each seek (the page's own audio until then); and the fail-open cases.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, HAVE_CHROMIUM, type Launched, launchWithExtension } from './support/browser';
import { dashRepresentation, FFMPEG, makeDashAudio } from './support/dash';
import { ExtensionDriver, UNITY } from './support/drive';
import { type DashRepresentation, dashPage } from './support/pages';
import { type MediaFile, startTestServer, type TestServer } from './support/server';
import { describeSyncFigures, runSyncScenario, SEEK_SETTLE_MS, SYNC_MEDIA_SECONDS } from './support/sync';

const SONG = resolve(import.meta.dirname, '../demo/Kevin_MacLeod_-_Vibe_Ace.ogg');
const HAVE_FFMPEG = existsSync(FFMPEG);
const SEGMENT_S = 4;

/** The demo song's first 40 s as MP3, served as an empty init and 10 byte-cut pieces. */
async function mp3Representation(): Promise<{ media: Record<string, MediaFile>; rep: DashRepresentation }> {
  const body = execFileSync(FFMPEG, [
    '-nostdin',
    '-v',
    'error',
    '-i',
    SONG,
    '-vn',
    '-t',
    '40',
    '-c:a',
    'libmp3lame',
    '-b:a',
    '128k',
    '-f',
    'mp3',
    '-',
  ]);
  const media: Record<string, MediaFile> = {
    '/dash/mp3/init.mp3': { body: Buffer.alloc(0), type: 'audio/mpeg' },
  };
  const pieces = 10;
  for (let i = 0; i < pieces; i++) {
    const a = Math.floor((i * body.length) / pieces);
    const z = Math.floor(((i + 1) * body.length) / pieces);
    media[`/dash/mp3/seg-${i}.mp3`] = { body: body.subarray(a, z), type: 'audio/mpeg' };
  }
  const rep: DashRepresentation = {
    mime: 'audio/mpeg',
    init: '/dash/mp3/init.mp3',
    segments: Array.from({ length: pieces }, (_, i) => `/dash/mp3/seg-${i}.mp3`),
    segmentSeconds: 4,
    duration: 40,
  };
  return { media, rep };
}

if (!HAVE_CHROMIUM)
  console.warn(`e2e sync: ${CHROMIUM} is missing: SKIPPED, not passed (apt install chromium).`);
else if (!HAVE_FFMPEG)
  console.warn(`e2e sync: ${FFMPEG} is missing, so no DASH segments: SKIPPED, not passed.`);

describe.skipIf(!HAVE_CHROMIUM || !HAVE_FFMPEG)('in sync with the picture on a YouTube-like page', () => {
  let server: TestServer;
  let launched: Launched;
  let browser: Browser;
  let drive: ExtensionDriver;

  beforeAll(async () => {
    // The demo song twice over (2 min), as WebM/Opus: YouTube's usual audio.
    // An MP3 feed (MSE plays it; the read-ahead does not read it): the fail-open case of a format the
    // tap cannot decode, cut at arbitrary byte offsets as a streaming player would append it.
    const mp3 = await mp3Representation();
    const [media, rep] = dashRepresentation(
      makeDashAudio(['-stream_loop', '1', '-i', SONG], 'opus', SYNC_MEDIA_SECONDS, SEGMENT_S),
      'opus',
      SEGMENT_S,
      SYNC_MEDIA_SECONDS,
    );
    server = await startTestServer(
      { ...media, ...mp3.media },
      { '/dash': dashPage({ opus: rep, mp3: mp3.rep }) },
    );
    launched = await launchWithExtension(server.port);
    browser = launched.browser;
    drive = await ExtensionDriver.open(browser, server.origin);
  });

  afterAll(async () => {
    await launched?.close();
    await server?.close();
  });

  const open = (path: string) => drive.openDash(path);

  it('falls back to the delayed remix, and says why, where the feed cannot be read ahead', async () => {
    const { page, tabId } = await open('/dash?rep=mp3');
    await drive.switchOn(tabId, UNITY);
    const s = await drive.waitFor(
      () => drive.tabState(tabId),
      (st) => st.engine?.mode === 'delayed',
      'the delayed remix on an MP3 feed',
      20_000,
    );
    console.info(`e2e sync: MP3 feed → ${s.engine?.mode}: ${s.engine?.modeNote}`);
    expect(s.engine?.modeNote).toMatch(/cannot be read ahead/);
    await drive.running(tabId);
    expect(await page.evaluate('player.video.paused')).toBe(false);
    expect(await drive.capturing(tabId)).toBe(true);
    await drive.switchOff(tabId);
    await page.close();
  });

  it('plays stems at the element’s position through play, pause, a seek back and a seek forward', async () => {
    const { page, tabId } = await open('/dash?rep=opus');
    const f = await runSyncScenario(drive, page, tabId);
    console.info(`e2e sync: ${describeSyncFigures(f)}`);
    expect(f.mode).toBe('in-sync');
    expect(f.measuredSeconds, 'seconds of stems measured').toBeGreaterThan(40);
    // The bar: within ±40 ms of the element's clock through a pause, a seek back and a seek
    // forward — met by 99 % of the audio; single moments (around a resume) reach 50–60 ms today.
    expect(f.syncOffsetP99Ms, '99th percentile of the offset to the element (ms)').toBeLessThan(40);
    expect(f.syncOffsetWorstMs, 'largest offset to the element (ms)').toBeLessThan(100);
    expect(f.staleAfterSeekMs, 'ms of old stems heard after a seek').toBeLessThan(SEEK_SETTLE_MS);
    // Bounds on what is measured today on this 2-core machine; the targets (3 s, 100 ms,
    // 2 s) are not met yet — docs/BENCHMARKS.md "In sync" has the figures and what is next.
    expect(f.switchOnMs, 'ms from switching on to stems').toBeLessThan(15_000);
    expect(f.seekCachedMs, 'ms from a seek into separated audio to stems').toBeLessThan(1500);
    expect(f.seekNewMs, 'ms from a seek into new audio to stems').toBeLessThan(8000);
    await drive.switchOff(tabId);
    await page.close();
  }, 180_000);
});
