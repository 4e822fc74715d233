/**
 * In sync with the picture (issue 19): on the YouTube-like DASH page the remix plays stems
 * separated ahead of the playhead at the element's own position. Measured against the element's
 * clock, sampled in the page (support/sync.ts): the offset over about a minute of playback with a
 * pause, a seek back into separated audio and a seek forward into new audio; how soon stems play
 * after switching on and after each seek (the page's own audio until then); and the fail-open cases.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_READ_AHEAD_HOST } from '../src/content/tap-protocol';
import { SAMPLE_RATE } from '../src/core/audio';
import { separateSignal } from '../src/core/separator';
import { outputStems } from '../src/core/stems';
import type { EngineFault, OffscreenShifterCheckReply } from '../src/extension/messages';
import { createResampler } from '../src/offscreen/sync/resample';
import { evaluateTrack } from '../training/eval/bsseval/museval';
import { trackMedians } from '../training/eval/report';
import { listMusdbTracks, loadTrack } from '../training/eval/tracks';
import { DEFAULT_MODEL_PATH } from '../training/separate/defaults';
import { loadOnnxModel } from '../training/separate/onnx-model';
import { CHROMIUM, HAVE_CHROMIUM, type Launched, launchWithExtension } from './support/browser';
import { dashRepresentation, encryptedAac, FFMPEG, makeDashAudio } from './support/dash';
import { ExtensionDriver, KARAOKE, sleep, UNITY } from './support/drive';
import { type DashRepresentation, dashPage, embedPage } from './support/pages';
import { type MediaFile, startTestServer, type TestServer } from './support/server';
import { rms, sumSignals, toneSecondsIn } from './support/signal';
import {
  describeRateFigures,
  describeSyncFigures,
  type ElementSample,
  percentileAbs,
  runRateScenario,
  runSyncScenario,
  SAMPLER,
  SEEK_SETTLE_MS,
  SYNC_MEDIA_SECONDS,
  syncOffsets,
  timeSwitchOn,
} from './support/sync';
import { float32Wav } from './support/wav';

const ROOT = resolve(import.meta.dirname, '..');
const SONG = resolve(ROOT, 'demo/Kevin_MacLeod_-_Vibe_Ace.ogg');
const MUSDB = resolve(ROOT, '../shared/data/musdb18-7');
const HAVE_MUSDB = existsSync(resolve(MUSDB, 'test'));
/** MUSDB18-7 test tracks played end to end on the DASH page for the quality check (35 s). */
const MUSDB_TRACKS = 5;
const HAVE_FFMPEG = existsSync(FFMPEG);
const SEGMENT_S = 4;
/** The inserted ad: a tone the video never has, so the recording shows whose audio played. */
const AD_HZ = 1320;
const AD_SECONDS = 8;

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
if (!HAVE_MUSDB)
  console.warn(`e2e sync: ${MUSDB}/test is missing: the separation-quality check is SKIPPED, not passed.`);

/** MUSDB18-7 test tracks end to end, for the quality check: the mixture and the true stems. */
interface MusdbSpan {
  readonly mixture: Float32Array[];
  readonly vocals: Float32Array[];
  readonly accompaniment: Float32Array[];
}

async function musdbSpan(): Promise<MusdbSpan> {
  const tracks = (await listMusdbTracks(MUSDB, 'test')).slice(0, MUSDB_TRACKS);
  const loaded = await Promise.all(tracks.map((t) => loadTrack(t)));
  const join = (parts: Float32Array[][]) =>
    [0, 1].map((c) => {
      const out = new Float32Array(parts.reduce((n, p) => n + p[c].length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p[c], at);
        at += p[c].length;
      }
      return out;
    });
  return {
    mixture: join(loaded.map((t) => t.mixture.channels)),
    vocals: join(loaded.map((t) => t.stems.vocals.channels)),
    accompaniment: join(
      loaded.map((t) => sumSignals(['drums', 'bass', 'other'].map((n) => t.stems[n].channels))),
    ),
  };
}

describe.skipIf(!HAVE_CHROMIUM || !HAVE_FFMPEG)('in sync with the picture on a YouTube-like page', () => {
  let server: TestServer;
  let launched: Launched;
  let browser: Browser;
  let drive: ExtensionDriver;
  let musdb: MusdbSpan | null = null;
  let musdbDash: ReturnType<typeof makeDashAudio> | null = null;

  beforeAll(async () => {
    // The demo song twice over (2 min), as WebM/Opus: YouTube's usual audio.
    // An MP3 feed (MSE plays it; the read-ahead does not read it): the fail-open case of a format the
    // tap cannot decode, cut at arbitrary byte offsets as a streaming player would append it.
    const mp3 = await mp3Representation();
    const [adMedia, adRep] = dashRepresentation(
      makeDashAudio(['-f', 'lavfi', '-i', `sine=frequency=${AD_HZ}:duration=12`], 'opus', 12, SEGMENT_S),
      'ad',
      SEGMENT_S,
      12,
    );
    // DRM-protected audio: CENC-encrypted AAC, played through EME (ClearKey).
    const [encMedia, encRep] = encryptedAac(['-i', SONG], 40, 'enc');
    const [media, rep] = dashRepresentation(
      makeDashAudio(['-stream_loop', '1', '-i', SONG], 'opus', SYNC_MEDIA_SECONDS, SEGMENT_S),
      'opus',
      SEGMENT_S,
      SYNC_MEDIA_SECONDS,
    );
    // MUSDB18-7 test tracks end to end as WebM/Opus, for the quality check.
    let musdbMedia: Record<string, MediaFile> = {};
    const reps: Record<string, DashRepresentation> = { opus: rep, mp3: mp3.rep, ad: adRep, enc: encRep };
    if (HAVE_MUSDB) {
      musdb = await musdbSpan();
      const dir = mkdtempSync(join(tmpdir(), 'stemdeck-musdb-'));
      try {
        const wav = join(dir, 'span.wav');
        writeFileSync(wav, float32Wav(musdb.mixture));
        const seconds = musdb.mixture[0].length / SAMPLE_RATE;
        musdbDash = makeDashAudio(['-i', wav], 'opus', seconds, SEGMENT_S);
        const [m, r] = dashRepresentation(musdbDash, 'musdb', SEGMENT_S, seconds);
        musdbMedia = m;
        reps.musdb = r;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    server = await startTestServer(
      { ...media, ...mp3.media, ...adMedia, ...encMedia, ...musdbMedia },
      {
        '/dash': dashPage(reps),
        '/embed': embedPage(TEST_READ_AHEAD_HOST),
      },
    );
    launched = await launchWithExtension(server.port);
    browser = launched.browser;
    drive = await ExtensionDriver.open(browser, server.origin);
  });

  afterAll(async () => {
    await launched?.close();
    await server?.close();
  });

  // On the stand-in YouTube host: what a YouTube user gets (worker with the capture, grace second).
  const open = (path: string) => drive.openDash(path, true);

  /** Switches on and waits for the delayed remix, whose note must match `why`; the page keeps playing. */
  async function expectDelayed(path: string, why: RegExp, what: string): Promise<void> {
    const { page, tabId } = await open(path);
    await drive.switchOn(tabId, UNITY);
    const s = await drive.waitFor(
      () => drive.tabState(tabId),
      (st) => st.engine?.mode === 'delayed',
      `the delayed remix on ${what}`,
      40_000,
    );
    console.info(`e2e sync: ${what} → ${s.engine?.mode}: ${s.engine?.modeNote}`);
    expect(s.engine?.modeNote).toMatch(why);
    await drive.running(tabId);
    expect(await page.evaluate('player.video.paused')).toBe(false);
    expect(await drive.capturing(tabId)).toBe(true);
    await drive.switchOff(tabId);
    await page.close();
  }

  /** Switches on on the Opus DASH page and waits for the in-sync remix to run. */
  async function runningInSync(): Promise<{ page: Page; tabId: number }> {
    const { page, tabId } = await open('/dash?rep=opus');
    await drive.switchOn(tabId, UNITY);
    await drive.waitFor(
      () => drive.tabState(tabId),
      (st) => st.engine?.mode === 'in-sync' && st.engine.phase === 'running',
      'the in-sync remix',
      40_000,
    );
    return { page, tabId };
  }

  /** Injects a test build's fault into the running engine. */
  async function inject(fault: EngineFault): Promise<void> {
    expect((await drive.send<{ ok: boolean }>({ type: 'offscreen/fault', fault })).ok).toBe(true);
  }

  it('falls back to the delayed remix, and says why, where the feed cannot be read ahead', async () => {
    // A container the read-ahead cannot read (MP3 through MSE).
    await expectDelayed('/dash?rep=mp3', /cannot be read ahead/, 'an MP3 feed');
    // DRM: encrypted audio (CENC, played through EME) decodes only inside the page's media pipeline.
    await expectDelayed('/dash?rep=enc', /encrypted/, 'an encrypted (ClearKey) feed');
    // A live-like feed appended just in time: too little ahead ever to separate before it plays.
    await expectDelayed('/dash?rep=opus&live=1', /just in time/, 'a live-like feed');
  }, 180_000);

  it('moves to the delayed remix, and says why, when the in-sync separation fails mid-remix', async () => {
    const { page, tabId } = await runningInSync();
    await inject('model-error');
    const s = await drive.waitFor(
      () => drive.tabState(tabId),
      (st) => !st.enabled || st.engine?.mode === 'delayed',
      'the delayed remix after the fault',
      40_000,
    );
    console.info(`e2e sync: a separation fault in sync → ${s.engine?.mode}: ${s.engine?.modeNote}`);
    expect(s.enabled, 'the remix goes on').toBe(true);
    expect(s.engine?.modeNote).toMatch(/in-sync separation failed: injected model fault/);
    await drive.running(tabId);
    expect(await page.evaluate('player.video.paused')).toBe(false);
    expect(await drive.capturing(tabId)).toBe(true);
    await drive.switchOff(tabId);
    await page.close();
  }, 120_000);

  it('resumes a suspended audio output, and gives the page its audio back when it stays stopped', async () => {
    const { page, tabId } = await runningInSync();
    // Suspended (an output device change, the system's audio session): resumed, the remix goes on.
    await inject('output-suspended');
    await sleep(2000);
    await drive.tap(true, true);
    await sleep(2000);
    const after = await drive.tap(true, true);
    // The worklet's reports over those 2 s: the context runs again (suspended, it reports nothing).
    const frames = (after.quanta ?? []).map(([f]) => f);
    const played = frames.length > 1 ? (Math.max(...frames) - Math.min(...frames)) / after.sampleRate : 0;
    const on = await drive.tabState(tabId);
    console.info(
      `e2e sync: output suspended → ${on.engine?.phase}, ${Number(played).toFixed(1)} s played in 2 s`,
    );
    expect(on.enabled).toBe(true);
    expect(on.engine?.phase).toBe('running');
    expect(played, 'seconds the remix played in 2 s after the resume').toBeGreaterThan(1.5);
    // Suspended for good: silence is no option, so the capture ends and the tab plays itself again.
    await inject('output-stuck');
    const off = await drive.waitFor(
      () => drive.tabState(tabId),
      (st) => !st.enabled,
      'the stopped output to switch the tab off',
      10_000,
    );
    console.info(`e2e sync: output stuck → ${off.notice}`);
    expect(off.notice).toMatch(/audio output stopped/);
    await drive.waitFor(
      () => drive.capturing(tabId),
      (c) => !c,
      'the capture to end',
      2_000,
    );
    expect(await page.evaluate('player.video.paused')).toBe(false);
    await page.close();
  }, 120_000);

  it('separates on WebGPU in its worker where chosen, and moves to WASM without a gap when the device is lost', async () => {
    const { page, tabId } = await runningInSync();
    // SwiftShader is a software adapter, which the calibration never picks: the test build forces
    // WebGPU (it must still agree with WASM), chosen once the stems are ahead.
    await inject('force-webgpu');
    const gpu = await drive.waitFor(
      () => drive.tabState(tabId),
      (st) => st.engine?.backend === 'webgpu' || /failed|disagreed/.test(st.engine?.engineNote ?? ''),
      'the worker on WebGPU',
      90_000,
    );
    console.info(`e2e sync: worker engine ${gpu.engine?.backend}: ${gpu.engine?.engineNote}`);
    expect(gpu.engine?.backend).toBe('webgpu');
    // Forced or not, the choice ran the WebGPU engine in the worker on a 4-s chunk (twice) and
    // found it within 1e-3 of WASM's estimate; the figures come from those runs.
    expect(gpu.engine?.engineNote).toMatch(
      /on WebGPU: WebGPU forced by the test build .*\(\d+ ms vs WASM \d+ ms per 4-s chunk\)/,
    );
    // The next WebGPU run fails as a lost device would; that chunk is re-run on WASM.
    await inject('gpu-lost');
    const lost = await drive.waitFor(
      () => drive.tabState(tabId),
      (st) => st.engine?.backend === 'wasm',
      'WASM after the device loss',
      60_000,
    );
    console.info(`e2e sync: after the device loss: ${lost.engine?.backend}: ${lost.engine?.engineNote}`);
    const note = lost.engine?.engineNote ?? '';
    expect(note).toMatch(/WebGPU failed \(injected device loss\), WASM took over/);
    expect(lost.engine?.mode).toBe('in-sync');
    // The remix plays on: stems at the playhead (separated ahead, on either engine), in sync.
    await drive.tap(true, true);
    await sleep(4000);
    const afterLoss = await drive.tap(true, true);
    // What played in those 4 s: the share with stems. (Seconds played vary with the machine: the
    // forced software WebGPU saturates two cores, and the audio thread then under-runs.)
    const q = afterLoss.quanta ?? [];
    const frames = q.map(([f]) => f);
    const played = frames.length > 1 ? (Math.max(...frames) - Math.min(...frames)) / afterLoss.sampleRate : 0;
    const share = q.length > 0 ? q.filter(([, m, alone]) => m >= 0 && alone === 1).length / q.length : 0;
    const end = await drive.tabState(tabId);
    console.info(
      `e2e sync: after the loss, ${played.toFixed(1)} s played in 4 s, ${(100 * share).toFixed(0)} % of it stems; ${end.engine?.mode}`,
    );
    expect(played, 'seconds played in the 4 s after the loss').toBeGreaterThan(1);
    expect(share, 'share of stems in what played after the loss').toBeGreaterThan(0.9);
    expect(end.engine?.mode).toBe('in-sync');
    expect(end.engine?.phase).toBe('running');
    await drive.switchOff(tabId);
    await page.close();
  }, 200_000);

  it('plays an inserted ad (its own MediaSource) as the ad, never the video’s stems, then the video’s again', async () => {
    const { page, tabId } = await open('/dash?rep=opus');
    await drive.switchOn(tabId, UNITY);
    await drive.waitFor(
      () => drive.tabState(tabId),
      (st) => st.engine?.mode === 'in-sync',
      'the in-sync remix',
      20_000,
    );
    // Long enough for stems of the video's first seconds, the media times the ad will have too.
    await sleep(10_000);
    await page.evaluate(`void player.playAd('ad', ${AD_SECONDS})`);
    await page.waitForFunction(() => document.body.dataset.ad === 'playing', { timeout: 30_000 });
    // Clears the recording without fetching it: up to a minute of audio would exceed CDP's 64 MiB.
    await drive.tap(true, true);
    // The recording in two pieces (a CDP message holds at most 64 MiB of it).
    await sleep((AD_SECONDS * 1000) / 2);
    const first = await drive.tap(true);
    await page.waitForFunction(() => document.body.dataset.ad === 'done', { timeout: 30_000 });
    const second = await drive.tap(true);
    await sleep(10_000);
    const after = await drive.tap(true, true);
    const state = await drive.tabState(tabId);

    const rate = first.sampleRate;
    const join = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      Float32Array.from([...Array.from(a), ...Array.from(b)]);
    const adIn = toneSecondsIn(join(first.original[0], second.original[0]), rate, AD_HZ);
    const adOut = toneSecondsIn(join(first.output[0], second.output[0]), rate, AD_HZ);
    const during = { output: [join(first.output[0], second.output[0])] };
    const heard = new Set(
      (after.quanta ?? []).filter(([, m, alone]) => m >= 0 && alone === 1).map(([f]) => f),
    );
    const stemsAfter = (heard.size * 128) / rate;
    console.info(
      `e2e sync: ad: ${adIn.toFixed(1)} s of the ad's tone in the page's audio, ${adOut.toFixed(1)} s in the remix; ` +
        `then ${stemsAfter.toFixed(1)} s of the video's stems; ${state.engine?.mode}`,
    );
    expect(adIn, 'seconds of the ad heard from the page').toBeGreaterThan(AD_SECONDS - 2);
    // Had the video's stems for those media times played, the remix would lack the ad's tone.
    expect(adOut, 'seconds of the ad in the remix').toBeGreaterThan(adIn - 1);
    expect(rms(during.output), 'the remix is not silent during the ad').toBeGreaterThan(0.02);
    expect(state.engine?.mode).toBe('in-sync');
    expect(stemsAfter, 'seconds of stems after the ad').toBeGreaterThan(4);
    await drive.switchOff(tabId);
    await page.close();
  }, 150_000);

  it('moves an embedded player (a cross-site iframe) into sync once its feed shows up', async () => {
    // The page's own site is not YouTube: the remix starts delayed (no grace, no worker); the tap
    // in the iframe, armed in every frame, then shows the feed and the remix moves into sync.
    const page = await browser.newPage();
    await page.goto(`${server.origin}/embed?rep=opus`);
    const frame = await drive.waitFor(
      async () => page.frames().find((f) => f.url().includes(`//${TEST_READ_AHEAD_HOST}:`)) ?? null,
      (f) => f !== null,
      'the embedded player',
    );
    if (!frame) throw new Error('no embedded player');
    await frame.waitForFunction(() => document.body.dataset.dash !== undefined, { timeout: 20_000 });
    expect(await frame.$eval('body', (b) => b.dataset.dash)).toBe('playing');
    const tabId = await drive.newTab(new URL(server.origin).hostname, false);
    await frame.evaluate(SAMPLER);
    const onAt = Date.now();
    await drive.switchOn(tabId, UNITY);
    const s = await drive.waitFor(
      () => drive.tabState(tabId),
      (st) => st.engine?.mode === 'in-sync' && st.engine.phase === 'running',
      'the in-sync remix of the embedded player',
      40_000,
    );
    console.info(
      `e2e sync: embed → ${s.engine?.mode} ${((Date.now() - onAt) / 1000).toFixed(1)} s after the switch-on (${s.engine?.modeNote ?? 'no note'})`,
    );
    await drive.tap(true, true);
    await sleep(12_000);
    const tap = await drive.tap(true, true);
    const samples = (await frame.evaluate('window.__samples')) as ElementSample[];
    const offsets = syncOffsets(tap.quanta ?? [], tap.clockMap ?? [], samples, SAMPLE_RATE).map(
      (o) => o.offset,
    );
    const measured = (offsets.length * 128) / SAMPLE_RATE;
    const p95 = 1000 * percentileAbs(offsets, 95);
    console.info(
      `e2e sync: embed: ${measured.toFixed(1)} s of stems measured, offset p95 ${p95.toFixed(1)} ms`,
    );
    expect(measured, 'seconds of stems (of 12) against the embedded element').toBeGreaterThan(6);
    expect(p95, '95th percentile of the offset to the embedded element (ms)').toBeLessThan(40);
    expect(await frame.evaluate('player.video.paused')).toBe(false);
    await drive.switchOff(tabId);
    await page.close();
  }, 120_000);

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
    // The popup's opening started the separation worker (tab/warm), and the switch-on used it.
    expect(f.milestones).toMatch(/worker warm/);
    // Regression bounds, about twice what is measured on this 2-core machine; the targets
    // (3 s, 100 ms, 2 s) and today's figures are in docs/BENCHMARKS.md "In sync".
    expect(f.switchOnMs, 'ms from switching on to stems').toBeLessThan(8000);
    // A seek into the cache: the stems start on the element's predicted resume (clock.ts), an output
    // latency after the seek reached this document, and in sync from the first frame.
    expect(f.seekCachedMs, 'ms from a seek into separated audio to stems').toBeLessThan(250);
    expect(f.seekSettleOffsetWorstMs, 'ms off the element right after the seeks').toBeLessThan(40);
    expect(f.seekNewMs, 'ms from a seek into new audio to stems').toBeLessThan(5000);
    await drive.switchOff(tabId);
    await page.close();
  }, 180_000);

  it('keeps the pitch and the sync at 0.75× and 1.5×', async () => {
    // Cold: no worker kept from the tests before (a switch-off keeps it for the next switch-on).
    await drive.closeOffscreen();
    const { page, tabId } = await open('/dash?rep=opus');
    const {
      switchOnColdMs,
      milestones,
      rates: figures,
      underrunEvents,
      underrunMs,
      underrunsAt,
    } = await runRateScenario(drive, page, tabId);
    console.info(
      `e2e sync: switched on cold (no popup): stems after ${switchOnColdMs.toFixed(0)} ms; ${milestones}; ` +
        `output underruns ${underrunEvents ?? '?'} (${underrunMs?.toFixed(0) ?? '?'} ms) at ${underrunsAt || '—'}`,
    );
    console.info(`e2e sync: speeds: ${describeRateFigures(figures)}`);
    // The pitch shifter as the worklet uses it, run offline in the same document: the delay it
    // states (which the schedule relies on) is the delay it has, and the pitch comes back to 440 Hz.
    for (const rate of [0.75, 1.5]) {
      const c = await drive.send<OffscreenShifterCheckReply>({ type: 'offscreen/shifter-check', rate });
      if (!c.ok) throw new Error(c.error);
      console.info(
        `e2e sync: shifter at ${rate}×: stated delay ${c.statedMs.toFixed(1)} ms, measured ${c.measuredMs.toFixed(1)} ms; ` +
          `${c.inputHz.toFixed(1)} Hz in, ${c.outputHz.toFixed(1)} Hz out`,
      );
      expect(Math.abs(c.measuredMs - c.statedMs), 'shifter delay: measured − stated (ms)').toBeLessThan(10);
      expect(Math.abs(c.outputHz / 440 - 1), 'pitch put back to 440 Hz').toBeLessThan(0.01);
    }
    for (const f of figures) {
      expect(f.measuredSeconds, `seconds of stems measured at ${f.rate}×`).toBeGreaterThan(
        0.8 * (f.seconds - 1),
      );
      // Within ±40 ms for 95 % of the audio at each speed. Single moments at 1.5× reached 60–100 ms
      // in some runs here (p99 above 40 ms): not explained yet, so not asserted away — the figures
      // are in docs/BENCHMARKS.md "In sync".
      expect(f.syncOffsetP95Ms, `95th percentile of the offset at ${f.rate}× (ms)`).toBeLessThan(40);
      expect(f.syncOffsetWorstMs, `largest offset at ${f.rate}× (ms)`).toBeLessThan(200);
      expect(f.note, `popup note at ${f.rate}×`).toBeNull();
    }
    expect(milestones, 'a cold switch-on starts its own worker').not.toMatch(/worker warm/);
    expect(await page.evaluate('player.video.paused')).toBe(false);
    await drive.switchOff(tabId);
    // The musician listens to the original for a few seconds, then switches back on (the keyboard
    // shortcut again): the remix starts on the worker the switch-off kept.
    await sleep(5000);
    const again = await timeSwitchOn(drive, page, tabId);
    console.info(
      `e2e sync: switched on again (no popup): stems after ${again.ms.toFixed(0)} ms; ${again.milestones}`,
    );
    expect(again.milestones, 'the worker kept from the switch-off').toMatch(/worker warm/);
    expect(again.milestones).not.toMatch(/onnxruntime/);
    // A regression bound, about twice what is measured here (docs/BENCHMARKS.md "In sync").
    expect(again.ms, 'ms from switching on again to stems').toBeLessThan(6000);
    await drive.switchOff(tabId);
    await page.close();
  }, 150_000);

  it.skipIf(!HAVE_MUSDB)(
    'removes vocals in sync as well as offline separation of the same audio does (SDR)',
    async () => {
      if (!musdb || !musdbDash) throw new Error('MUSDB span not loaded');
      const { page, tabId } = await open('/dash?rep=musdb');
      await drive.switchOn(tabId, KARAOKE);
      await drive.waitFor(
        () => drive.tabState(tabId),
        (st) => st.engine?.mode === 'in-sync' && st.engine.phase === 'running',
        'the in-sync remix',
        20_000,
      );
      // Past the switch-on's page audio, then 8 s of karaoke (a CDP message holds 64 MiB of recording).
      await sleep(4000);
      await drive.tap(true);
      await sleep(8000);
      const t = await drive.tap(true);
      await drive.switchOff(tabId);
      await page.close();

      // Every frame of stems alone, at the media frame it played: exactly where it was heard.
      const positions = t.positions ?? [];
      const frames: number[] = [];
      const at: number[] = [];
      for (let i = 0; i < t.remixed.length; i++) {
        if (t.remixed[i] === 1 && positions[i] >= 0) {
          frames.push(i);
          at.push(Math.round(positions[i]));
        }
      }
      const n = frames.length;
      console.info(
        `e2e sync: karaoke: ${(n / SAMPLE_RATE).toFixed(1)} s of stems in ${(t.remixed.length / SAMPLE_RATE).toFixed(1)} s recorded, ` +
          `media ${(at[0] / SAMPLE_RATE).toFixed(2)}–${(at[n - 1] / SAMPLE_RATE).toFixed(2)} s`,
      );
      expect(n / SAMPLE_RATE, 'seconds of stems recorded').toBeGreaterThan(5);
      const span = (x: Float32Array[]) => x.map((ch) => Float32Array.from(at, (p) => ch[p] ?? 0));
      const refs = { vocals: span(musdb.vocals), accompaniment: span(musdb.accompaniment) };

      // What both separate: the page's Opus decoded (ffmpeg, the read-ahead's reference) and brought
      // to the model's rate by the resampler the in-sync remix uses.
      const resampler = await createResampler(musdbDash.rate, SAMPLE_RATE, 2);
      const decoded = resampler.push([
        ...musdbDash.reference.map((c) => Float32Array.from([...c, ...new Float32Array(4800)])),
      ]);
      resampler.close();
      const mixture = span(decoded);
      const browserAcc = t.output.map((ch) => Float32Array.from(frames, (i) => ch[i]));
      const browser = trackMedians(
        evaluateTrack(
          'browser',
          refs,
          {
            accompaniment: browserAcc,
            vocals: mixture.map((ch, c) => ch.map((v, i) => v - browserAcc[c][i])),
          },
          SAMPLE_RATE,
        ),
      );
      // Offline: `npm run separate`'s path (whole signal, same model) on the same decoded audio.
      const model = await loadOnnxModel(resolve(ROOT, DEFAULT_MODEL_PATH));
      const stems = await separateSignal(model, decoded, { wienerIterations: 1, exactSum: true });
      const offlineAcc = span(
        sumSignals(
          outputStems(model.targets)
            .filter((s) => s !== 'vocals')
            .map((s) => stems[s]),
        ),
      );
      const offline = trackMedians(
        evaluateTrack(
          'offline',
          refs,
          { accompaniment: offlineAcc, vocals: span(stems.vocals) },
          SAMPLE_RATE,
        ),
      );
      const b = browser.accompaniment.SDR;
      const o = offline.accompaniment.SDR;
      console.info(
        `e2e sync: karaoke accompaniment SDR over ${(n / SAMPLE_RATE).toFixed(1)} s of MUSDB18-7 test tracks: in sync ${b.toFixed(2)} dB, offline ${o.toFixed(2)} dB`,
      );
      expect(Math.abs(b - o), 'in-sync − offline accompaniment SDR (dB)').toBeLessThan(0.5);
    },
    180_000,
  );
});
