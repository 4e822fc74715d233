/**
 * Measuring the in-sync remix against the page's own clock (Node side of e2e/sync.test.ts).
 *
 * Two independent records meet here. The offscreen document's trace says, per render quantum,
 * which media frame its stems played (−1: the page's own audio) and, per scheduling tick, when a
 * context frame reaches the speakers (`getOutputTimestamp`, the browser's own account of output
 * latency). The page's element is sampled by a script the test puts in the page (its
 * `currentTime` with the wall time it was read). The offset of a quantum is the media time the
 * stems played minus the element's time at the moment that quantum is heard.
 */

import { writeFileSync } from 'node:fs';
import type { Page } from 'puppeteer';
import type { RemixMode } from '../../src/extension/messages';
import { type ExtensionDriver, sleep, UNITY } from './drive';

const RATE = 44_100;
/** The sync scenario's media: long enough for its seek to 90 s plus 30 s of play. */
export const SYNC_MEDIA_SECONDS = 120;
/** After a seek: how long the stems rendered before it may still be heard (output latency + message). */
export const SEEK_SETTLE_MS = 250;

/** A sample of the page's element, read in the page. */
export interface ElementSample {
  /** Wall ms (`performance.timeOrigin + performance.now()`). */
  readonly at: number;
  readonly time: number;
  readonly steady: boolean;
  readonly rate: number;
}

/** Installs the sampler in the page (every 20 ms); `window.__samples` collects `ElementSample`s. */
export const SAMPLER = `(() => {
  const v = document.querySelector('video');
  window.__samples = [];
  setInterval(() => window.__samples.push({
    at: performance.timeOrigin + performance.now(), time: v.currentTime,
    steady: !v.paused && !v.seeking && v.readyState >= 3, rate: v.playbackRate,
  }), 20);
})()`;

/** Wall ms at which context frame `ctxFrame` is heard, from the trace's clock map. */
export function syncWall(clockMap: readonly (readonly [number, number])[], ctxFrame: number): number {
  return interp(clockMap, ctxFrame);
}

/** Linear interpolation of y at x over points sorted by x (extrapolates at the ends). */
function interp(points: readonly (readonly [number, number])[], x: number): number {
  let i = 1;
  while (i < points.length - 1 && points[i][0] < x) i++;
  const [x0, y0] = points[i - 1];
  const [x1, y1] = points[i];
  return x1 === x0 ? y0 : y0 + ((x - x0) * (y1 - y0)) / (x1 - x0);
}

/** Samples within this many ms either side of a moment make the element's line there. */
const LINE_MS = 150;

/**
 * The element's media time at wall time `at`: the line of slope `rate` through the samples within
 * LINE_MS either side (the median of their offsets: a page busy with playback reads `currentTime`
 * late or early by several ms, more at 1.5×, and the picture follows the clock, not one read), when
 * they are all steady playback at one rate on one line (no seek, pause or stall among them); null otherwise.
 */
export function elementTimeAt(samples: readonly ElementSample[], at: number): number | null {
  let lo = 0;
  let hi = samples.length - 1;
  if (hi < 1 || at < samples[0].at || at > samples[hi].at) return null;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (samples[mid].at <= at) lo = mid;
    else hi = mid;
  }
  let a = lo;
  let z = hi;
  while (a > 0 && samples[a - 1].at >= at - LINE_MS) a--;
  while (z < samples.length - 1 && samples[z + 1].at <= at + LINE_MS) z++;
  const near = samples.slice(a, z + 1);
  const rate = near[0].rate;
  if (near.some((s) => !s.steady || s.rate !== rate)) return null;
  const offsets = near.map((s) => s.time - (rate * s.at) / 1000).sort((x, y) => x - y);
  // A jump among them (a seek the samples caught as steady on both sides) is no line.
  if (offsets[offsets.length - 1] - offsets[0] > 0.04) return null;
  return offsets[offsets.length >> 1] + (rate * at) / 1000;
}

export interface QuantumOffset {
  /** Wall ms at which the quantum is heard. */
  readonly at: number;
  /** Stems' media time minus the element's, seconds. */
  readonly offset: number;
}

/** Offsets of every stem quantum whose hearing time falls in steady playback. */
export function syncOffsets(
  quanta: readonly (readonly [number, number, number])[],
  clockMap: readonly (readonly [number, number])[],
  samples: readonly ElementSample[],
  sampleRate: number,
): QuantumOffset[] {
  const out: QuantumOffset[] = [];
  for (const [ctxFrame, mediaFrame, alone] of quanta) {
    if (mediaFrame < 0 || alone !== 1) continue;
    const at = interp(clockMap, ctxFrame);
    const t = elementTimeAt(samples, at);
    if (t !== null) out.push({ at, offset: mediaFrame / sampleRate - t });
  }
  return out;
}

/** The p-th percentile (0–100) of |values|. */
export function percentileAbs(values: readonly number[], p: number): number {
  const s = values.map(Math.abs).sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * Wall ms at which the first quantum heard at/after `wallFrom` played stems from media time
 * `near` on (up to 8 s past it: a job starts where the playhead will be; any position when null),
 * or null when none did.
 */
export function firstStemsAfter(
  quanta: readonly (readonly [number, number, number])[],
  clockMap: readonly (readonly [number, number])[],
  wallFrom: number,
  sampleRate: number,
  near: number | null = null,
): number | null {
  for (const [ctxFrame, mediaFrame] of quanta) {
    const t = mediaFrame / sampleRate;
    if (mediaFrame < 0 || (near !== null && (t < near - 0.5 || t > near + 8))) continue;
    const at = interp(clockMap, ctxFrame);
    if (at >= wallFrom) return at;
  }
  return null;
}

/**
 * Wall ms at which the element, after a seek to `target` s made at `after`, started presenting
 * `target`: its steady line 0.1–0.3 s on (past Chrome's settling), extrapolated back (median of
 * the samples there); null when it did not play on. The page's own audio cannot come sooner.
 */
export function elementResumedAt(
  samples: readonly ElementSample[],
  after: number,
  target: number,
): number | null {
  const starts = samples
    .filter((s) => s.at > after && s.steady && s.time >= target + 0.1 && s.time <= target + 0.3)
    .map((s) => s.at - ((s.time - target) * 1000) / s.rate)
    .sort((a, b) => a - b);
  return starts.length > 0 ? starts[starts.length >> 1] : null;
}

/** With `SYNC_DUMP=file`, a scenario's raw trace and page samples go there (for looking into a bad run). */
function dumpTrace(trace: object): void {
  if (process.env.SYNC_DUMP) writeFileSync(process.env.SYNC_DUMP, JSON.stringify(trace));
}

/** What one run of the sync scenario measured (ms unless named otherwise; null where it did not happen). */
export interface SyncFigures {
  readonly mode: RemixMode | null;
  readonly measuredSeconds: number;
  readonly syncOffsetP95Ms: number;
  readonly syncOffsetP99Ms: number;
  readonly syncOffsetWorstMs: number;
  readonly switchOnMs: number;
  readonly seekCachedMs: number;
  /** From the element's own resume after that seek (`elementResumedAt`) to stems. */
  readonly seekCachedAfterResumeMs: number;
  readonly seekNewMs: number;
  /**
   * The worst offset of the stems heard in the first `SEEK_SETTLE_MS` after either seek (left out
   * of the offsets above): stems that start on a predicted resume must be in sync too.
   */
  readonly seekSettleOffsetWorstMs: number;
  /** Old stems heard after the seeks, the larger of the two. */
  readonly staleAfterSeekMs: number;
  readonly rtf: number | null;
  readonly pageAudioSeconds: number;
  /** The switch-on's milestones, seconds after the switch-on (what it spends its time on). */
  readonly milestones: string;
  /** Output underruns over the scenario (Chrome's playbackStats; null where it has none). */
  readonly underrunEvents: number | null;
  readonly underrunMs: number | null;
  /** When they happened, seconds after the switch-on. */
  readonly underrunsAt: string;
  /** The output's latency as Chrome reports it (context + device), ms. */
  readonly outputLatencyMs: number | null;
}

/**
 * The scenario of `e2e/sync.test.ts` and `npm run bench:browser` on the DASH page (playing): the
 * popup opens (`tab/warm`, as the real popup sends) and is clicked 1.5 s later, 2 s in; 24 s of play, a 2-s pause, 8 s, a seek back into separated audio (to 10 s), 10 s, a seek
 * forward into audio not separated yet (to 90 s), 12 s; then measure against the element's clock.
 */
export async function runSyncScenario(
  drive: ExtensionDriver,
  page: Page,
  tabId: number,
): Promise<SyncFigures> {
  const wallNow = () => page.evaluate(() => performance.timeOrigin + performance.now());
  await page.evaluate(SAMPLER);
  await sleep(500);
  // The user opens the popup, reads it, switches on.
  await drive.send({ type: 'tab/warm', tabId });
  await sleep(1500);
  const onAt = await wallNow();
  await drive.switchOn(tabId, UNITY);
  await drive.waitFor(
    () => drive.tabState(tabId),
    (s) => s.engine?.mode != null,
    'the remix choosing its mode',
    10_000,
  );
  await sleep(24_000);
  await page.evaluate('player.video.pause()');
  await sleep(2000);
  await page.evaluate('player.video.play()');
  await sleep(8000);
  let prof: import('puppeteer').CDPSession | null = null;
  if (process.env.SYNC_PROFILE) {
    const t = drive.browser.targets().find((x) => x.url().includes('offscreen'));
    if (t) {
      prof = await t.createCDPSession();
      await prof.send('Profiler.enable');
      await prof.send('Profiler.setSamplingInterval', { interval: 200 });
      await prof.send('Profiler.start');
    }
  }
  const backAt = await wallNow();
  await page.evaluate('player.video.currentTime = 10');
  await sleep(3000);
  if (prof) {
    const { profile } = await prof.send('Profiler.stop');
    (await import('node:fs')).writeFileSync(process.env.SYNC_PROFILE as string, JSON.stringify(profile));
  }
  await sleep(7000);
  const forwardAt = await wallNow();
  await page.evaluate('player.seek(90)');
  await sleep(12_000);

  const tap = await drive.tap(true, true);
  const samples = (await page.evaluate('window.__samples')) as ElementSample[];
  const quanta = tap.quanta ?? [];
  const clockMap = tap.clockMap ?? [];
  dumpTrace({
    onAt,
    backAt,
    forwardAt,
    samples,
    quanta,
    clockMap,
    schedules: tap.schedules ?? [],
    clockSamples: tap.clockSamples ?? [],
    milestones: tap.milestones ?? [],
    underruns: tap.underruns ?? [],
  });
  // Seeks take effect in the page first: the stems already rendered still play out (the output
  // latency) before the audio thread hears of the seek. Those moments are measured on their own.
  const seeks = [backAt, forwardAt];
  const all = syncOffsets(quanta, clockMap, samples, RATE);
  const settling = (o: QuantumOffset) => seeks.some((t) => o.at >= t && o.at < t + SEEK_SETTLE_MS);
  const offsets = all.filter((o) => !settling(o)).map((o) => o.offset);
  // Stems of the new position only: the old position's, played out after a seek, are `staleAfterSeekMs`.
  const settleOffsets = all.filter((o) => settling(o) && Math.abs(o.offset) < 1).map((o) => o.offset);
  const after = (at: number, from: number | null) =>
    (firstStemsAfter(quanta, clockMap, at, RATE, from) ?? Number.POSITIVE_INFINITY) - at;
  const oldAfter = (at: number, near: number) =>
    Math.max(
      0,
      ...quanta
        .filter(([, m]) => m >= 0 && Math.abs(m / RATE - near) > 6)
        .map(([f]) => syncWall(clockMap, f) - at)
        .filter((ms) => ms >= 0 && ms < 5000),
    );
  const status = (await drive.tabState(tabId)).engine;
  return {
    mode: status?.mode ?? null,
    measuredSeconds: (offsets.length * 128) / RATE,
    syncOffsetP95Ms: 1000 * percentileAbs(offsets, 95),
    syncOffsetP99Ms: 1000 * percentileAbs(offsets, 99),
    syncOffsetWorstMs: 1000 * percentileAbs(offsets, 100),
    switchOnMs: after(onAt, null),
    seekCachedMs: after(backAt, 10),
    seekCachedAfterResumeMs:
      after(backAt, 10) + backAt - (elementResumedAt(samples, backAt, 10) ?? Number.NaN),
    seekNewMs: after(forwardAt, 90),
    seekSettleOffsetWorstMs: 1000 * percentileAbs(settleOffsets, 100),
    staleAfterSeekMs: Math.max(oldAfter(backAt, 10), oldAfter(forwardAt, 90)),
    rtf: status?.load ?? null,
    pageAudioSeconds: status?.lateSeconds ?? 0,
    milestones: describeMilestones(tap.milestones ?? [], onAt),
    underrunEvents: tap.playback?.underrunEvents ?? null,
    underrunMs: tap.playback?.underrunMs ?? null,
    underrunsAt: describeUnderruns(tap.underruns ?? [], onAt),
    outputLatencyMs: tap.playback?.averageLatencyMs ?? null,
  };
}

/** What the speed scenario measured at one playback rate. */
export interface RateFigures {
  readonly rate: number;
  /** Seconds played at this rate; the first is left out of the offsets. */
  readonly seconds: number;
  /** Seconds of stems measured against the element at this rate. */
  readonly measuredSeconds: number;
  readonly syncOffsetP95Ms: number;
  readonly syncOffsetP99Ms: number;
  readonly syncOffsetWorstMs: number;
  /** From the rate change until stems (shifted where the rate is not 1) are heard again, ms. */
  readonly stemsAfterMs: number;
  /** The popup's mode note while at this rate (null: none). */
  readonly note: string | null;
}

/**
 * The speed scenario on the DASH page (playing): switch on cold (the keyboard shortcut: no popup,
 * so no worker started ahead; `switchOnColdMs`), 12 s at 1×, 10 s at 1.5×, 10 s at
 * 0.75×, 6 s at 1×; the offset to the element at each rate (the first second after each change,
 * the cross-fade, is left out of the offsets and measured as `stemsAfterMs`).
 */
export async function runRateScenario(
  drive: ExtensionDriver,
  page: Page,
  tabId: number,
): Promise<{
  switchOnColdMs: number;
  milestones: string;
  rates: RateFigures[];
  underrunEvents: number | null;
  underrunMs: number | null;
  underrunsAt: string;
}> {
  const wallNow = () => page.evaluate(() => performance.timeOrigin + performance.now());
  await page.evaluate(SAMPLER);
  const onAt = await wallNow();
  await drive.switchOn(tabId, UNITY);
  await sleep(12_000);
  const steps: { rate: number; at: number; seconds: number; note: string | null }[] = [];
  for (const [rate, seconds] of [
    [1.5, 10],
    [0.75, 10],
    [1, 6],
  ] as const) {
    const at = await wallNow();
    await page.evaluate(`player.video.playbackRate = ${rate}`);
    await sleep((seconds * 1000) / 2);
    const note = (await drive.tabState(tabId)).engine?.modeNote ?? null;
    await sleep((seconds * 1000) / 2);
    steps.push({ rate, at, seconds, note });
  }
  const tap = await drive.tap(true, true);
  const samples = (await page.evaluate('window.__samples')) as ElementSample[];
  const quanta = tap.quanta ?? [];
  const clockMap = tap.clockMap ?? [];
  const all = syncOffsets(quanta, clockMap, samples, RATE);
  const switchOnColdMs = (firstStemsAfter(quanta, clockMap, onAt, RATE) ?? Number.POSITIVE_INFINITY) - onAt;
  const milestones = describeMilestones(tap.milestones ?? [], onAt);
  dumpTrace({
    steps,
    samples,
    quanta,
    clockMap,
    schedules: tap.schedules ?? [],
    clockSamples: tap.clockSamples ?? [],
    all,
  });
  const rates = steps.map(({ rate, at, seconds, note }) => {
    const end = at + seconds * 1000;
    const offsets = all.filter((o) => o.at >= at + 1000 && o.at < end).map((o) => o.offset);
    const first = all.find((o) => o.at >= at && o.at < end);
    return {
      rate,
      seconds,
      measuredSeconds: (offsets.length * 128) / RATE,
      syncOffsetP95Ms: 1000 * percentileAbs(offsets, 95),
      syncOffsetP99Ms: 1000 * percentileAbs(offsets, 99),
      syncOffsetWorstMs: 1000 * percentileAbs(offsets, 100),
      stemsAfterMs: first ? first.at - at : Number.POSITIVE_INFINITY,
      note,
    };
  });
  return {
    switchOnColdMs,
    milestones,
    rates,
    underrunEvents: tap.playback?.underrunEvents ?? null,
    underrunMs: tap.playback?.underrunMs ?? null,
    underrunsAt: describeUnderruns(tap.underruns ?? [], onAt),
  };
}

/**
 * Switches on (no popup, as the keyboard shortcut) on a playing DASH page: ms until stems play and
 * the switch-on's milestones, from the trace `waitMs` later.
 */
export async function timeSwitchOn(
  drive: ExtensionDriver,
  page: Page,
  tabId: number,
  waitMs = 8000,
): Promise<{ ms: number; gapMs: number; milestones: string }> {
  const onAt = (await page.evaluate(() => performance.timeOrigin + performance.now())) as number;
  await drive.switchOn(tabId, UNITY);
  await sleep(waitMs);
  const tap = await drive.tap(true, true);
  const first = firstStemsAfter(tap.quanta ?? [], tap.clockMap ?? [], onAt, RATE);
  return {
    ms: (first ?? Number.POSITIVE_INFINITY) - onAt,
    gapMs: (missingAfterFirstStems(tap.quanta ?? []) / RATE) * 1000,
    milestones: describeMilestones(tap.milestones ?? [], onAt),
  };
}

/**
 * Frames of the page's own audio after the first stems (the tap's [context frame, media frame,
 * remixed] entries, media frame < 0 where no stems played): a second segment that came too late
 * after the first. Each entry lasts until the next one's frame; the recording's last entry is left out.
 */
export function missingAfterFirstStems(quanta: readonly (readonly [number, number, number])[]): number {
  const q = [...quanta].sort((a, b) => a[0] - b[0]);
  const first = q.findIndex(([, m]) => m >= 0);
  if (first < 0) return 0;
  let missing = 0;
  for (let i = first; i + 1 < q.length; i++) if (q[i][1] < 0) missing += q[i + 1][0] - q[i][0];
  return missing;
}

export function describeRateFigures(rs: readonly RateFigures[]): string {
  return rs
    .map(
      (r) =>
        `${r.rate}×: ${r.measuredSeconds.toFixed(1)} s measured, offset p95 ${r.syncOffsetP95Ms.toFixed(1)} ms, ` +
        `p99 ${r.syncOffsetP99Ms.toFixed(1)} ms, worst ${r.syncOffsetWorstMs.toFixed(1)} ms, stems ${r.stemsAfterMs.toFixed(0)} ms after the change` +
        (r.note ? ` (${r.note})` : ''),
    )
    .join('; ');
}

/** "3.21 s: 2 (45 ms), …": when the output's underrun count went up (to 2 events, 45 ms so far), after wall ms `zero`. */
export function describeUnderruns(u: readonly (readonly [number, number, number])[], zero: number): string {
  return u
    .map(([at, n, ms]) => `${((at - zero) / 1000).toFixed(2)} s: ${n} (${ms.toFixed(0)} ms)`)
    .join(', ');
}

/** "worker ready 2.41 s, first chunk 4.30 s, …": each milestone's first time, after wall ms `zero`. */
export function describeMilestones(ms: readonly (readonly [string, number])[], zero: number): string {
  const seen = new Set<string>();
  return [...ms]
    .sort((a, b) => a[1] - b[1])
    .filter(([w]) => !seen.has(w) && seen.add(w))
    .map(([w, t]) => `${w} ${((t - zero) / 1000).toFixed(2)} s`)
    .join(', ');
}

export function describeSyncFigures(f: SyncFigures): string {
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'never');
  return (
    `${f.measuredSeconds.toFixed(1)} s of stems measured against the element: offset p95 ${f.syncOffsetP95Ms.toFixed(1)} ms, ` +
    `p99 ${f.syncOffsetP99Ms.toFixed(1)} ms, worst ${f.syncOffsetWorstMs.toFixed(1)} ms; stems after switch-on ${ms(f.switchOnMs)}, ` +
    `after a seek into separated audio ${ms(f.seekCachedMs)} (${ms(f.seekCachedAfterResumeMs)} after the element resumed), into new audio ${ms(f.seekNewMs)}, worst offset in the first ${SEEK_SETTLE_MS} ms after a seek ${f.seekSettleOffsetWorstMs.toFixed(1)} ms; old stems heard after a seek ` +
    `${ms(f.staleAfterSeekMs)}; separation load ${f.rtf?.toFixed(2)}; page audio while stems were missing ${f.pageAudioSeconds.toFixed(1)} s; ` +
    `after switch-on: ${f.milestones}; output underruns ${f.underrunEvents ?? '?'} (${f.underrunMs?.toFixed(0) ?? '?'} ms), ` +
    `at ${f.underrunsAt || '—'}; output latency ${f.outputLatencyMs?.toFixed(0) ?? '?'} ms`
  );
}
