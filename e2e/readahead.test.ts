/**
 * The read-ahead tap on a YouTube-like streaming page (support/pages.ts `dashPage`): DASH-style
 * segments made by ffmpeg from the bundled CC-BY song, appended through MSE ahead of the playhead in
 * partial appends. With the remix switched on, the offscreen document's decoded timeline must equal
 * ffmpeg's decode of the whole stream as one file (which drops exactly the Opus pre-skip and the AAC
 * priming, support/dash.ts), sample for sample, for WebM/Opus and
 * fragmented MP4/AAC, across a quality switch with a codec change (`changeType`), a seek (`abort`,
 * `remove`) and nothing before the remix is on or after it is off.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64ToBytes } from '../src/content/tap-protocol';
import type { OffscreenReadAheadReply } from '../src/extension/messages';
import { CHROMIUM, HAVE_CHROMIUM, type Launched, launchWithExtension } from './support/browser';
import { type DashAudio, dashRepresentation, FFMPEG, makeDashAudio } from './support/dash';
import { ExtensionDriver, UNITY } from './support/drive';
import { type DashRepresentation, dashPage } from './support/pages';
import { type MediaFile, startTestServer, type TestServer } from './support/server';

const SONG = resolve(import.meta.dirname, '../demo/Kevin_MacLeod_-_Vibe_Ace.ogg');
const HAVE_FFMPEG = existsSync(FFMPEG);
const SECONDS = 40;
const SEGMENT_S = 4;

if (!HAVE_CHROMIUM)
  console.warn(`e2e read-ahead: ${CHROMIUM} is missing: SKIPPED, not passed (apt install chromium).`);
else if (!HAVE_FFMPEG)
  console.warn(`e2e read-ahead: ${FFMPEG} is missing, so no DASH segments: SKIPPED, not passed.`);

type ReadAhead = Extract<OffscreenReadAheadReply, { ok: true }>;

/** Error of `got` against `want` in dB of `want`'s energy at a lag (`got[i]` against `want[i + lag]`). */
function errorAt(got: Float32Array, want: Float32Array, lag: number): number {
  let e = 0;
  let s = 0;
  for (let i = Math.max(0, -lag); i < Math.min(got.length, want.length - lag); i++) {
    e += (got[i] - want[i + lag]) ** 2;
    s += want[i + lag] ** 2;
  }
  return 10 * Math.log10(e / s);
}

/** The error at lag 0 and the lag (within ±`search` samples) where the error is least. */
function compare(
  got: Float32Array,
  want: Float32Array,
  search = 1200,
): { errDb: number; bestLag: number; bestDb: number } {
  // Coarse-to-fine is not safe for tonal music; a 0.25-s window keeps the full search cheap.
  const g = got.subarray(search, search + 12_000);
  let bestLag = 0;
  let bestDb = Number.POSITIVE_INFINITY;
  for (let lag = -search; lag <= search; lag++) {
    const db = errorAt(g, want.subarray(search), lag);
    if (db < bestDb) {
      bestDb = db;
      bestLag = lag;
    }
  }
  return { errDb: errorAt(got, want, 0), bestLag, bestDb };
}

describe.skipIf(!HAVE_CHROMIUM || !HAVE_FFMPEG)('read-ahead tap on a YouTube-like MSE page', () => {
  let server: TestServer;
  let launched: Launched;
  let browser: Browser;
  let drive: ExtensionDriver;
  const dash: Record<'opus' | 'aac', DashAudio> = {} as never;

  beforeAll(async () => {
    const media: Record<string, MediaFile> = {};
    const reps: Record<string, DashRepresentation> = {};
    for (const codec of ['opus', 'aac'] as const) {
      const d = makeDashAudio(['-i', SONG], codec, SECONDS, SEGMENT_S);
      dash[codec] = d;
      const [files, rep] = dashRepresentation(d, codec, SEGMENT_S, SECONDS);
      Object.assign(media, files);
      reps[codec] = rep;
    }
    server = await startTestServer(media, { '/dash': dashPage(reps) });
    launched = await launchWithExtension(server.port);
    browser = launched.browser;
    drive = await ExtensionDriver.open(browser, server.origin);
  });

  afterAll(async () => {
    await launched?.close();
    await server?.close();
  });

  const open = (path: string) => drive.openDash(path);

  const readAhead = async (from?: number, seconds?: number): Promise<ReadAhead> => {
    const r = await drive.send<OffscreenReadAheadReply>({ type: 'offscreen/readahead', from, seconds });
    if (!r.ok) throw new Error(r.error);
    return r;
  };
  /** No session holds decoded audio: no offscreen document answers, or it has no remix. */
  const noSession = async () => {
    const r = await drive.send<OffscreenReadAheadReply | undefined>({ type: 'offscreen/readahead' });
    return r === undefined || (!r.ok && r.error === 'no remix is running');
  };
  const covered = (r: ReadAhead, from: number, to: number) =>
    r.sources.some((s) => s.key === r.current && s.ranges.some(([a, z]) => a <= from && z >= to));

  /**
   * The timeline's PCM for [from, from + seconds) against ffmpeg's whole-stream decode. `maxLag` > 0:
   * a run that starts mid-stream (after a seek) is anchored on the container's timestamps, which
   * WebM holds in whole milliseconds (ffmpeg's are 1 ms late, rounded): there the audio must match
   * within that resolution rather than at lag 0.
   */
  async function expectEqualsReference(
    d: DashAudio,
    from: number,
    seconds: number,
    what: string,
    maxLag = 0,
  ) {
    const reference = d.reference;
    const r = await readAhead(from, seconds);
    expect(r.pcm, `${what}: PCM for ${from}–${from + seconds} s`).not.toBeNull();
    expect(r.pcm?.rate).toBe(d.rate);
    const start = Math.round(from * d.rate);
    for (let c = 0; c < 2; c++) {
      const bytes = base64ToBytes(r.pcm?.channels[c] ?? '');
      const got = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const want = reference[c].subarray(start, start + got.length);
      if (process.env.STEMDECK_DUMP) {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(`/tmp/dump-${what.replace(/\W+/g, '_')}-${c}-got.f32`, got);
        writeFileSync(`/tmp/dump-${what.replace(/\W+/g, '_')}-${c}-ref.f32`, reference[c]);
      }
      const { errDb, bestLag, bestDb } = compare(got, want);
      console.info(
        `e2e read-ahead: ${what}, channel ${c}: error ${errDb.toFixed(1)} dB; least error ${bestDb.toFixed(1)} dB at lag ${bestLag} samples`,
      );
      expect(
        Math.abs(bestLag),
        `${what}: offset against ffmpeg's whole-stream decode (samples)`,
      ).toBeLessThanOrEqual(maxLag);
      expect(bestDb, `${what}: decoded timeline − ffmpeg's decode at the best lag (dB)`).toBeLessThan(-40);
      if (maxLag === 0)
        expect(errDb, `${what}: decoded timeline − ffmpeg's whole-stream decode (dB)`).toBeLessThan(-40);
    }
  }

  for (const codec of ['opus', 'aac'] as const) {
    it(`decodes ${codec} appended ahead of the playhead into a timeline equal to a whole-stream decode`, async () => {
      const { page, tabId } = await open(`/dash?rep=${codec}`);
      // Before the remix is on, the tap sends nothing (there is not even a session to send to).
      expect(await noSession()).toBe(true);
      await drive.switchOn(tabId, UNITY);
      // Everything appended before the switch (the page-side history) and after it arrives.
      const r = await drive.waitFor(
        () => readAhead(),
        (v) => covered(v, 0, 30),
        'the timeline covering 0–30 s',
      );
      const src = r.sources.find((s) => s.key === r.current);
      console.info(`e2e read-ahead: ${codec}: ${JSON.stringify(src)}`);
      expect(src?.failed).toBeNull();
      expect(src?.elementTime).toBeGreaterThan(0);
      await expectEqualsReference(dash[codec], 0, 6, `${codec} 0–6 s`);
      await expectEqualsReference(dash[codec], 17.5, 8, `${codec} 17.5–25.5 s`);
      await drive.switchOff(tabId);
      await page.close();
    });
  }

  it('follows a seek (abort, remove, re-append) and a codec switch (changeType, new init)', async () => {
    const { page, tabId } = await open('/dash?rep=opus&ahead=8');
    await drive.switchOn(tabId, UNITY);
    await drive.waitFor(
      () => readAhead(),
      (v) => covered(v, 0, 6),
      'the first seconds decoded',
    );
    // Seek to 24 s: the player removes everything and appends from segment 6 on.
    await page.evaluate('player.seek(24)');
    const r = await drive.waitFor(
      () => readAhead(),
      (v) => covered(v, 24, 30),
      'the timeline after the seek',
    );
    const ranges = r.sources.find((s) => s.key === r.current)?.ranges ?? [];
    expect(
      ranges.every(([a]) => a >= 23.9),
      `nothing before the seek target is left: ${JSON.stringify(ranges)}`,
    ).toBe(true);
    await expectEqualsReference(dash.opus, 24.5, 5, 'opus after the seek', 48);
    // AAC from the segment before the next one on: the timeline continues at 44.1 kHz.
    await page.evaluate(`player.switchTo('aac')`);
    const s = await drive.waitFor(
      () => readAhead(),
      (v) => v.sources.some((x) => x.key === v.current && x.ranges.some(([a, z]) => a <= 26 && z >= 39.9)),
      'the timeline across the codec switch',
    );
    console.info(`e2e read-ahead: after the switch: ${JSON.stringify(s.sources)}`);
    // Past the AAC run's first frame (a fresh decoder's first 1024 frames lack their overlap).
    await expectEqualsReference(dash.aac, 37, 2.5, 'aac after the codec switch');
    await drive.switchOff(tabId);
    // The session is gone, and with it the decoded audio.
    expect(await noSession()).toBe(true);
    await page.close();
  });
});
