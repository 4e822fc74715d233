/**
 * Offscreen document: owns the one running remix (service workers have no Web Audio). The service
 * worker sends start/stop/gains; status changes go back to it as `engine/status` messages.
 * One tab at a time: starting another tab stops the first (its own audio returns).
 */
import browser from 'webextension-polyfill';
import { bytesToBase64, TAP_PORT_NAME } from '../content/tap-protocol';
import { SAMPLE_RATE } from '../core/audio';
import { errorText } from '../core/errors';
import {
  type EngineStatus,
  type EngineStatusMessage,
  isOffscreenMessage,
  KEEP_WARM_MS,
  type OffscreenMessage,
  type OffscreenReadAheadReply,
  type OffscreenShifterCheckReply,
  type OffscreenStatusReply,
  type OffscreenTapReply,
  parseMessage,
  WARM_MS,
} from '../extension/messages';
import { loadModel } from './model';
import { type CapturedTab, captureTab } from './session';
import { startSeparationWorker, TabRemix, type WorkerStart } from './tab-remix';

/** Test builds record what the remix plays (the e2e suite's ears); release builds cannot. */
const RECORD = import.meta.env.MODE === 'test';

let session: TabRemix | null = null;

/**
 * A separation worker ready for the next in-sync switch-on: started when the popup opened on a
 * YouTube tab (`WARM_MS`), or kept from a remix the user switched off (`KEEP_WARM_MS`). It holds
 * onnxruntime and the model's session, nothing of any tab, so whichever tab switches on next takes it.
 */
let warm: { worker: WorkerStart; timer: ReturnType<typeof setTimeout> | undefined; until: number } | null =
  null;

function dropWarm(): void {
  if (!warm) return;
  clearTimeout(warm.timer);
  warm.worker.client.close();
  warm = null;
}

/** The warm worker, handed over (null when there is none). */
function takeWarm(): WorkerStart | null {
  if (!warm) return null;
  clearTimeout(warm.timer);
  const { worker } = warm;
  warm = null;
  return worker;
}

/** `worker` waits at least `ms` more for a switch-on (a fresher one replaces the one waiting). */
function keepWarm(worker: WorkerStart, ms: number): void {
  if (warm?.worker !== worker) dropWarm();
  if (!warm) warm = { worker, timer: undefined, until: 0 };
  warm.until = Math.max(warm.until, Date.now() + ms);
  clearTimeout(warm.timer);
  warm.timer = setTimeout(dropWarm, warm.until - Date.now());
}

function report(tabId: number, status: EngineStatus): void {
  const msg: EngineStatusMessage = { type: 'engine/status', tabId, status };
  browser.runtime.sendMessage(msg).catch(() => undefined); // the worker may be restarting
}

function failedStatus(error: string): EngineStatus {
  return {
    phase: 'failed',
    backend: null,
    threads: 0,
    delayMs: null,
    load: null,
    stems: [],
    lateSeconds: 0,
    degraded: null,
    engineNote: null,
    error,
    mode: null,
    modeNote: null,
    at: Date.now(),
  };
}

async function handle(
  msg: OffscreenMessage,
): Promise<OffscreenStatusReply | OffscreenTapReply | OffscreenReadAheadReply | OffscreenShifterCheckReply> {
  switch (msg.type) {
    case 'offscreen/start': {
      const early: [string, number][] = [['start message', performance.timeOrigin + performance.now()]];
      await session?.stop('another tab started a remix');
      session = null;
      const fail = (error: string): OffscreenStatusReply => {
        const status = failedStatus(error);
        report(msg.tabId, status);
        return { ok: true, tabId: msg.tabId, status };
      };
      // Capture first (the stream id is short-lived); the capture plays straight through while the
      // model loads, so the user hears the original, not silence. Where the tap runs (YouTube) the
      // in-sync remix is likely: its worker starts at once, and this thread's model (the delayed
      // path's) loads only if that path is needed.
      let model: Promise<Awaited<ReturnType<typeof loadModel>>> | null = msg.readAhead ? null : loadModel();
      const load = () => {
        model ??= loadModel();
        return model;
      };
      let captured: CapturedTab;
      try {
        captured = await captureTab(msg.streamId, (what) =>
          early.push([what, performance.timeOrigin + performance.now()]),
        );
      } catch (e) {
        return fail(`could not capture the tab's audio: ${errorText(e)}`);
      }
      if (!msg.readAhead) {
        try {
          await load();
        } catch (e) {
          // Ending the capture hands the audio straight back to the page.
          captured.release();
          return fail(`the separation model could not be loaded: ${errorText(e)}`);
        }
      }
      // A worker warmed when the popup opened, or kept from the last remix: the in-sync remix starts on it.
      const warmWorker = msg.readAhead === true ? takeWarm() : null;
      dropWarm(); // not wanted: the delayed remix runs its own model
      const s = new TabRemix(
        msg.tabId,
        load,
        msg.gains,
        (st) => report(msg.tabId, st),
        RECORD,
        msg.readAhead === true,
        warmWorker,
      );
      session = s;
      if (RECORD) s.milestones.unshift(...early);
      try {
        await s.start(captured);
      } catch (e) {
        captured.release();
        await s.stop();
        return fail(`the remix could not start: ${errorText(e)}`);
      }
      return { ok: true, tabId: msg.tabId, status: s.status() };
    }
    case 'offscreen/stop':
      if (session?.tabId === msg.tabId) {
        const kept = msg.keepWorker === true ? session.releaseWorker() : null;
        await session.stop(msg.reason);
        if (kept) keepWarm(kept, KEEP_WARM_MS);
      }
      return { ok: true, tabId: session?.tabId ?? null, status: session?.status() ?? null };
    case 'offscreen/gains':
      if (session?.tabId === msg.tabId) session.setGains(msg.gains);
      return { ok: true, tabId: session?.tabId ?? null, status: session?.status() ?? null };
    case 'offscreen/ping':
      return { ok: true, tabId: session?.tabId ?? null, status: session?.status() ?? null };
    case 'offscreen/warm':
      if (!session && !warm) {
        const worker = startSeparationWorker();
        worker.ready.catch(() => undefined); // a failure shows when the remix needs the worker
        keepWarm(worker, WARM_MS);
      } else if (warm) keepWarm(warm.worker, WARM_MS);
      return { ok: true, tabId: session?.tabId ?? null, status: session?.status() ?? null };
    case 'offscreen/fault':
      if (!RECORD) return { ok: false, error: 'fault injection exists in test builds only' };
      if (!session) return { ok: false, error: 'no remix is running' };
      {
        // Reply first, then fault: an ended capture ends the session at once, and the worker may
        // close this document before a reply sent after it arrives ("message channel closed").
        const s = session;
        const reply = { ok: true, tabId: s.tabId, status: s.status() } as const;
        setTimeout(() => s.injectFault(msg.fault), 0);
        return reply;
      }
    case 'offscreen/readahead': {
      if (!RECORD) return { ok: false, error: 'the read-ahead probe exists in test builds only' };
      if (!session) return { ok: false, error: 'no remix is running' };
      const ra = session.readAhead;
      await ra.settle();
      let pcm: { rate: number; channels: string[] } | null = null;
      const source = ra.source();
      if (source && msg.from !== undefined && msg.seconds !== undefined) {
        const rates = [...source.timeline.ratesIn(msg.from, msg.from + msg.seconds)];
        const rate = rates.length === 1 ? rates[0] : null;
        const data = rate ? source.timeline.read(msg.from, Math.round(msg.seconds * rate), rate, 2) : null;
        if (rate && data) pcm = { rate, channels: data.map((c) => bytesToBase64(c.buffer as ArrayBuffer)) };
      }
      return {
        ok: true,
        sources: ra.info(),
        current: ra.current,
        pcm,
      };
    }
    case 'offscreen/shifter-check': {
      if (!RECORD) return { ok: false, error: 'the pitch-shifter check exists in test builds only' };
      const { checkShifter } = await import('./sync/shifter-check');
      return { ok: true, ...(await checkShifter(msg.rate)) } satisfies OffscreenShifterCheckReply;
    }
    case 'offscreen/tap': {
      if (!RECORD) return { ok: false, error: 'the recording tap exists in test builds only' };
      const tap = session?.takeTap(msg.clear, msg.traceOnly !== true) ?? null;
      const trace = session?.takeTrace(msg.clear) ?? null;
      return {
        ok: true,
        sampleRate: SAMPLE_RATE,
        start: tap?.start ?? 0,
        output: tap?.output ?? [[], []],
        original: tap?.original ?? [[], []],
        remixed: tap?.remixed ?? [],
        ...(tap?.positions ? { positions: tap.positions } : {}),
        ...(trace ?? {}),
        playback: session?.playback() ?? null,
        status: session?.status() ?? null,
      };
    }
  }
}

// The read-ahead tap's bridges (one per frame of a YouTube tab, armed by the worker when a remix
// starts) connect here; only the tab being remixed is accepted.
browser.runtime.onConnect.addListener((port) => {
  if (port.name !== TAP_PORT_NAME) return;
  const tabId = port.sender?.tab?.id;
  if (!session || session.tabId !== tabId) {
    port.disconnect();
    return;
  }
  session.attachTap(port, port.sender?.frameId ?? 0);
});

// Polyfill contract: a returned promise is the reply; `undefined` leaves the message to the worker.
browser.runtime.onMessage.addListener((raw: unknown) => {
  const msg = parseMessage(raw);
  if (!msg || !isOffscreenMessage(msg)) return undefined;
  return handle(msg).catch((e: unknown) => ({ ok: false, error: errorText(e) }) as const);
});
