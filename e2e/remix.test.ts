/**
 * The remix itself, judged by ear: the test build's offscreen document records what it played and
 * the original it stood for (a tap absent from release builds), and these tests compare them.
 * Pages: a CC-BY song bundled in demo/ (always), and a MUSDB18-7 test mixture from ../shared/data
 * (the separation-quality check skips without it).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Browser } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../src/core/audio';
import { separateSignal } from '../src/core/separator';
import { outputStems } from '../src/core/stems';
import type { EngineFault } from '../src/extension/messages';
import { evaluateTrack } from '../training/eval/bsseval/museval';
import { trackMedians } from '../training/eval/report';
import { listMusdbTracks, loadTrack, type TrackStems } from '../training/eval/tracks';
import { DEFAULT_MODEL_PATH } from '../training/separate/defaults';
import { loadOnnxModel } from '../training/separate/onnx-model';
import { CHROMIUM, HAVE_CHROMIUM, type Launched, launchWithExtension } from './support/browser';
import { ExtensionDriver, KARAOKE, sleep, UNITY } from './support/drive';
import { type MediaFile, startTestServer, type TestServer } from './support/server';
import { errorDb, gather, repeat, rms, sumSignals } from './support/signal';
import { float32Wav } from './support/wav';

const ROOT = resolve(import.meta.dirname, '..');
const SONG = resolve(ROOT, 'demo/Kevin_MacLeod_-_Vibe_Ace.ogg');
const MUSDB = resolve(ROOT, '../shared/data/musdb18-7');
const MUSDB_TRACK = 'Al James - Schoolboy Facination';
const HAVE_MUSDB = existsSync(resolve(MUSDB, 'test', `${MUSDB_TRACK}.stem.mp4`));

if (!HAVE_CHROMIUM)
  console.warn(`e2e remix: ${CHROMIUM} is missing: SKIPPED, not passed (apt install chromium).`);
if (!HAVE_MUSDB) {
  console.warn(
    `e2e remix: ${MUSDB}/test/${MUSDB_TRACK}.stem.mp4 is missing: the separation-quality check is SKIPPED.`,
  );
}

describe.skipIf(!HAVE_CHROMIUM)('the remix, recorded from the extension output', () => {
  let server: TestServer;
  let launched: Launched;
  let browser: Browser;
  let drive: ExtensionDriver;
  let track: TrackStems | null = null;

  beforeAll(async () => {
    const media: Record<string, MediaFile> = {
      '/song.ogg': { body: await readFile(SONG), type: 'audio/ogg' },
    };
    if (HAVE_MUSDB) {
      const [source] = (await listMusdbTracks(MUSDB, 'test')).filter((t) => t.name === MUSDB_TRACK);
      track = await loadTrack(source);
      // Four copies back to back (28 s): the recording falls inside one play-through, where track
      // positions are exact (a media element's own loop restart is not sample-exact), also with the
      // second the remix waits for a read-ahead tap before it starts the delayed path.
      media['/musdb.wav'] = { body: float32Wav(repeat(track.mixture.channels, 4)), type: 'audio/wav' };
    }
    server = await startTestServer(media);
    launched = await launchWithExtension(server.port);
    browser = launched.browser;
    drive = await ExtensionDriver.open(browser, server.origin);
  });

  afterAll(async () => {
    await launched?.close();
    await server?.close();
  });

  it('plays exactly the original with every slider at 100 % (stems sum to the mix)', async () => {
    const { page, tabId } = await drive.play('/song.ogg');
    await drive.switchOn(tabId, UNITY);
    await drive.running(tabId);
    await drive.tap(true);
    await sleep(3000);
    const t = await drive.tap(false);
    const remixed = t.remixed.reduce((a, b) => a + b, 0);
    expect(remixed / SAMPLE_RATE).toBeGreaterThan(2);
    expect(rms(t.original)).toBeGreaterThan(0.02); // real music came through, not silence
    expect(errorDb(t.output, t.original, t.remixed)).toBeLessThan(-60);
    expect(t.status?.backend).toBe('wasm');
    // A page whose audio cannot be read ahead (no Media Source here): today's capture path, and why.
    expect(t.status?.mode).toBe('delayed');
    expect(t.status?.modeNote).toMatch(/no Media Source audio seen/);
    console.info(
      `e2e remix: WASM ${t.status?.threads} thread(s), delay ${t.status?.delayMs} ms, load ${t.status?.load?.toFixed(3)}, late ${t.status?.lateSeconds.toFixed(2)} s`,
    );

    // Karaoke on the fly: the output now differs from the original and is quieter.
    await drive.send({ type: 'tab/set-gains', tabId, gains: KARAOKE });
    await sleep(300);
    await drive.tap(true);
    await sleep(2000);
    const k = await drive.tap(false);
    expect(errorDb(k.output, k.original, k.remixed)).toBeGreaterThan(-20);
    expect(rms(k.output)).toBeLessThan(rms(k.original));

    // Switching off hands the audio back to the page quickly.
    const off = await drive.switchOff(tabId);
    console.info(
      `e2e remix: switched off → worker answered in ${off.reply} ms, capture gone after ${off.ended} ms`,
    );
    // Behaviour, not a benchmark: the capture ends on the stop message itself, not after the
    // engine's delay, a timeout or the worker's bookkeeping. The 200-ms figure is measured
    // by `npm run bench:browser` (docs/BENCHMARKS.md); a loaded CI box must not fail on it.
    // The delayed path runs onnxruntime on the offscreen document's own thread: a stop that lands
    // during a segment's inference waits for it (a 4-s segment: up to ~1.5 s here; 1.05 s seen in a
    // fresh-clone run). Still far short of the engine's 5.6-s delay.
    expect(off.ended).toBeLessThan(2000);
    expect((await drive.tabState(tabId)).enabled).toBe(false);
    const playing = await page.evaluate(() => !document.querySelector('audio')!.paused);
    expect(playing).toBe(true);
    await page.close();
  });

  it.skipIf(!HAVE_MUSDB)(
    'removes vocals from a MUSDB18-7 test mixture as well as offline separation does (SDR)',
    async () => {
      if (!track) throw new Error('track not loaded');
      // 9 s of a 7-s track (the page plays four copies back to back, so it crosses the track’s end).
      // Where in the (looping) track the recording is: the captured original is the track itself.
      // Every part that matches counts: a loaded machine drops captured audio now and then.
      const mixture = track.mixture.channels;
      const { t, al } = await drive.recordAligned('/musdb.wav', KARAOKE, 9000, mixture[0]);
      expect(al.runSeconds).toBeGreaterThan(4);
      console.info(`e2e remix: recording located in the track with correlation ${al.correlation.toFixed(5)}`);
      expect(al.correlation).toBeGreaterThan(0.99); // the track, even if resampled (signal.ts)
      const seconds = al.length / SAMPLE_RATE;
      console.info(
        `e2e remix: ${seconds.toFixed(1)} s of the ${al.runSeconds.toFixed(1)}-s recording match the track, in ${al.pieces.length} piece(s)`,
      );
      expect(seconds).toBeGreaterThan(3);
      const { pieces } = al;
      const original = gather(t.original, pieces, 'start');
      const fromTrack = (names: string[]) =>
        names.map((n) => gather(track!.stems[n].channels, pieces, 'offset'));
      const refs = {
        vocals: fromTrack(['vocals'])[0],
        accompaniment: sumSignals(fromTrack(['drums', 'bass', 'other'])),
      };
      const browserAcc = gather(t.output, pieces, 'start');
      const browserScores = trackMedians(
        evaluateTrack(
          'browser',
          refs,
          {
            accompaniment: browserAcc,
            vocals: browserAcc.map((ch, c) => ch.map((v, i) => original[c][i] - v)),
          },
          SAMPLE_RATE,
        ),
      );

      // Offline: `npm run separate`'s path (same model, one whole signal), scored on the same
      // pieces. Compared like for like, it separates what the browser was given: the captured
      // original. A loaded machine drops captured audio now and then, and the model hears each
      // dropout as a click that the clean track does not have; in CI that alone put the browser up
      // to 0.55 dB under the clean track's offline separation while within 0.1 dB of the captured
      // audio's (docs/experiments/2026-12-08-remix-check.md). The clean track's figure is still
      // bounded: the capture path may not cost more than 1 dB.
      const model = await loadOnnxModel(resolve(ROOT, DEFAULT_MODEL_PATH));
      const offlineScore = (stems: Record<string, Float32Array[] | undefined>, by: 'start' | 'offset') => {
        const backing = outputStems(model.targets)
          .filter((n) => n !== 'vocals')
          .map((n) => gather(stems[n]!, pieces, by));
        const acc = sumSignals(backing);
        const vocals = gather(stems.vocals!, pieces, by);
        return trackMedians(evaluateTrack('offline', refs, { accompaniment: acc, vocals }, SAMPLE_RATE))
          .accompaniment.SDR;
      };
      const heard = offlineScore(
        await separateSignal(
          model,
          t.original.map((ch) => Float32Array.from(ch)),
          { wienerIterations: 1, exactSum: true },
        ),
        'start',
      );
      const clean = offlineScore(
        await separateSignal(model, mixture, { wienerIterations: 1, exactSum: true }),
        'offset',
      );
      const b = browserScores.accompaniment.SDR;
      console.info(
        `e2e remix: accompaniment SDR over ${seconds.toFixed(1)} s of "${MUSDB_TRACK}": browser ${b.toFixed(2)} dB, offline ${heard.toFixed(2)} dB of the captured audio, ${clean.toFixed(2)} dB of the track`,
      );
      expect(Math.abs(b - heard)).toBeLessThan(0.5);
      expect(clean - b).toBeLessThan(1);
    },
    120_000,
  );

  it('survives a service-worker restart, and fails open when the offscreen document is closed', async () => {
    const { page, tabId } = await drive.play('/song.ogg');
    await drive.switchOn(tabId, UNITY);
    await drive.running(tabId);
    // MV3 stops idle workers at will: stop it now. The remix runs in the offscreen document.
    const cdp = await drive.control.createCDPSession();
    await cdp.send('ServiceWorker.enable');
    const swGone = new Promise<void>((done) =>
      browser.on('targetdestroyed', (x) => {
        if (x.type() === 'service_worker') done();
      }),
    );
    await cdp.send('ServiceWorker.stopAllWorkers');
    await swGone; // the worker really stopped
    await drive.tap(true);
    await sleep(1500);
    const after = await drive.tabState(tabId); // wakes the worker; state came from storage.session
    expect(after.enabled).toBe(true);
    expect(after.engine?.phase).toBe('running');
    const t = await drive.tap(false);
    expect(t.remixed.reduce((a, b) => a + b, 0) / SAMPLE_RATE).toBeGreaterThan(1);
    expect(errorDb(t.output, t.original, t.remixed)).toBeLessThan(-60);

    // The offscreen document disappears (as in a crash): its capture ends with it; the next
    // status read says so and the page plays on.
    expect(await drive.closeOffscreen(), 'the offscreen document to close').toBe(true);
    await drive.waitFor(
      () => drive.capturing(tabId),
      (c) => !c,
      'the capture to end with the document',
      2_000,
    );
    const off = await drive.waitFor(
      () => drive.tabState(tabId),
      (s) => !s.enabled,
      'the tab switched off',
    );
    expect(off.notice).toMatch(/closed unexpectedly/);
    expect(await page.evaluate(() => !document.querySelector('audio')!.paused)).toBe(true);
    await page.close();
  });

  it('muting the tab stops the remix (the capture would otherwise keep playing it)', async () => {
    const { page, tabId } = await drive.play('/song.ogg');
    await drive.switchOn(tabId, KARAOKE);
    await drive.engineUp(tabId);
    await drive.control.evaluate((id) => chrome.tabs.update(id, { muted: true }), tabId);
    const off = await drive.waitFor(
      () => drive.tabState(tabId),
      (s) => !s.enabled,
      'the mute to switch the tab off',
    );
    expect(off.notice).toMatch(/muted/);
    await drive.waitFor(
      () => drive.capturing(tabId),
      (c) => !c,
      'the capture to end',
      2_000,
    );
    await page.close();
  });

  it.each<[EngineFault, RegExp]>([
    ['model-error', /separation failed: injected model fault/],
    ['too-slow', /too slow/],
    ['capture-ended', /capture ended/],
    ['output-stuck', /audio output stopped/],
  ])('fails open on %s: capture ends, the page keeps playing, the popup says why', async (fault, why) => {
    const { page, tabId } = await drive.play('/song.ogg');
    await drive.switchOn(tabId, KARAOKE);
    await drive.engineUp(tabId);
    expect(await drive.capturing(tabId)).toBe(true);
    const injected = await drive.send<{ ok: boolean }>({ type: 'offscreen/fault', fault });
    expect(injected.ok).toBe(true);
    const off = await drive.waitFor(
      () => drive.tabState(tabId),
      (s) => !s.enabled,
      'the fault to switch the tab off',
      20_000,
    );
    expect(off.notice).toMatch(why);
    await drive.waitFor(
      () => drive.capturing(tabId),
      (c) => !c,
      'the capture to end',
      2_000,
    );
    const before = await page.evaluate(() => document.querySelector('audio')!.currentTime);
    await sleep(400);
    const state = await page.evaluate(() => {
      const a = document.querySelector('audio')!;
      return { paused: a.paused, muted: a.muted, t: a.currentTime };
    });
    expect(state.paused).toBe(false);
    expect(state.muted).toBe(false);
    expect(state.t).toBeGreaterThan(before);
    await page.close();
  });
});
