/**
 * One tab's remix, whichever way it is made: owns the tab capture (which silences the tab and is
 * the fail-open path), the read-ahead of the page's media feed (fed by the tap's ports), and the
 * engine playing now — `SyncSession` (in sync with the picture) or `RemixSession` (delayed) — and
 * moves the capture between them as `chooseMode` says. Only the current engine's reports go out.
 *
 * On YouTube hosts, for the first `GRACE_MS` (1 s) no engine runs: the capture plays straight
 * through (the page's own audio) while the tap, armed by the worker once the remix has started,
 * delivers what the page appended so far. Usable → in sync at once; otherwise the delayed remix starts.
 */
import browser from 'webextension-polyfill';
import { parseTapEvent } from '../content/tap-protocol';
import { errorText } from '../core/errors';
import { outputStems } from '../core/stems';
import type { EngineFault, EngineStatus, PlaybackFigures, StemGains } from '../extension/messages';
// The build-time stem list (vite.config.ts): the popup's rows before any model is loaded here.
import { SHIPPED_MODEL_STEMS } from '../popup/model-stems';
import { chooseMode } from './mode';
import {
  type LoadedModel,
  modelBytes,
  ORT_PATH,
  syncCalibrationCache,
  syncWorkerThreads,
  wasmThreads,
} from './model';
import { watchOutput } from './output-watch';
import { ReadAhead } from './readahead/read-ahead';
import { WebCodecsDecoder } from './readahead/webcodecs';
import {
  CAPTURE_ENDED,
  type CapturedTab,
  endCapture,
  onCaptureEnded,
  playbackFigures,
  RemixSession,
  type StatusListener,
} from './session';
import { SeparationClient } from './sync/separation-client';
import { SyncSession } from './sync/sync-session';

const CHECK_MS = 250;
export const GRACE_MS = 1000;

/** The part of a runtime port the read-ahead tap needs (a bridge in one frame of the tab). */
/** A separation worker on its way: the client at once, `ready` once its model session is up. */
export type WorkerStart = ReturnType<typeof SeparationClient.start>;

/** Starts the in-sync remix's separation worker with the shipped model. */
export function startSeparationWorker(): WorkerStart {
  return SeparationClient.start(
    modelBytes(),
    browser.runtime.getURL(ORT_PATH),
    syncWorkerThreads(),
    syncCalibrationCache,
  );
}

export interface TapPort {
  readonly onMessage: { addListener(cb: (msg: unknown) => void): void };
  readonly onDisconnect: { addListener(cb: () => void): void };
  disconnect(): void;
}

export class TabRemix {
  /** The page's MSE audio, decoded by media time; dropped when the remix ends. */
  readonly readAhead = new ReadAhead((sink, onError) => new WebCodecsDecoder(sink, onError));
  private readonly ports = new Set<TapPort>();
  private engine: RemixSession | SyncSession | null = null;
  private captured: CapturedTab | null = null;
  /** Stops watching the capture's AudioContext (output-watch.ts). */
  private unwatchOutput: () => void = () => undefined;
  /** The separation worker: started early on YouTube hosts or at the first audio SourceBuffer. */
  private worker: WorkerStart | null = null;
  /** A fault was injected (test builds): the worker may carry it, so it is not kept after the remix. */
  private faulted = false;
  private startedAt = 0;
  private unusableSince: number | null = null;
  /** Why the in-sync remix failed, if it did: this remix stays delayed from then on. */
  private syncFailed: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private ended = false;
  private switching = false;
  /** Test builds: [what, wall ms] of the switch-on (see SyncSession's milestones). */
  readonly milestones: [string, number][] = [];
  /** Test builds: a fault injected before an engine ran, for the first one. */
  private pendingFault: EngineFault | null = null;

  /** The delayed path's model, once loaded. */
  private loaded: LoadedModel | null = null;

  constructor(
    readonly tabId: number,
    /** Loads (once) the model the delayed path runs on this document's thread. */
    private readonly loadDelayedModel: () => Promise<LoadedModel>,
    private gains: StemGains,
    private readonly report: StatusListener,
    private readonly record: boolean,
    /** The tab's host is one the tap runs on: start the separation worker at once. */
    private readonly readAheadHost: boolean,
    /** A worker started for this tab when the popup opened (`offscreen/warm`), if any. */
    warmWorker: WorkerStart | null = null,
  ) {
    if (warmWorker) {
      this.worker = warmWorker;
      this.milestone('worker warm');
      warmWorker.ready.then(
        () => this.milestone('worker ready'),
        () => undefined,
      );
    }
    if (readAheadHost) this.startWorker();
  }

  private milestone(what: string): void {
    if (this.record) this.milestones.push([what, performance.timeOrigin + performance.now()]);
  }

  private startWorker(): void {
    if (this.worker) return;
    this.milestone('worker start');
    this.worker = startSeparationWorker();
    const { client } = this.worker;
    this.worker.ready.then(
      () => {
        if (this.record) this.milestones.push(...client.steps);
        this.milestone('worker ready');
      },
      () => undefined, // a failure is reported when the in-sync remix needs it
    );
  }

  async start(captured: CapturedTab): Promise<void> {
    this.captured = captured;
    this.startedAt = performance.now();
    this.milestone('captured');
    // Before an engine runs, nobody else listens: the capture ending ends the remix.
    onCaptureEnded(captured.stream, () => {
      if (!this.engine) void this.stop(CAPTURE_ENDED, 'failed');
    });
    // The capture silences the tab: an output that stops (and stays stopped) must give it back.
    this.unwatchOutput = watchOutput(captured.context, (reason) => this.outputLost(reason));
    this.timer = setInterval(() => void this.check(), CHECK_MS);
    this.report(this.status());
    await this.check();
  }

  status(): EngineStatus {
    if (this.engine) return this.engine.status();
    return {
      phase: this.ended ? 'stopped' : 'buffering',
      backend: this.loaded?.backend ?? 'wasm',
      threads: this.loaded?.threads ?? wasmThreads(),
      delayMs: null,
      load: null,
      stems: this.loaded ? outputStems(this.loaded.model.targets) : SHIPPED_MODEL_STEMS,
      lateSeconds: 0,
      degraded: null,
      engineNote: this.loaded ? (this.loaded.failover ?? this.loaded.decision.reason) : null,
      error: null,
      mode: null,
      modeNote: 'looking for the page’s media feed',
      at: Date.now(),
    };
  }

  setGains(gains: StemGains): void {
    this.gains = gains;
    this.engine?.setGains(gains);
  }

  injectFault(fault: EngineFault): void {
    this.faulted = true;
    const context = this.captured?.context;
    if ((fault === 'output-suspended' || fault === 'output-stuck') && context) {
      // What an output device or the system does to the context; `stuck` refuses every resume.
      if (fault === 'output-stuck') context.resume = () => Promise.resolve();
      void context.suspend();
      return;
    }
    if (this.engine) this.engine.injectFault(fault);
    else if (fault === 'capture-ended') endCapture(this.captured?.stream);
    else this.pendingFault = fault; // for the engine about to start
  }

  takeTap(clear: boolean, audio: boolean) {
    return this.engine?.takeTap(clear, audio) ?? null;
  }

  /** The remix's output underruns so far (null where the browser does not report them). */
  playback(): PlaybackFigures | null {
    return this.captured ? playbackFigures(this.captured.context) : null;
  }

  /** Test builds: the in-sync engine's trace (null while delayed). */
  takeTrace(clear: boolean) {
    return this.engine instanceof SyncSession ? this.engine.takeTrace(clear) : null;
  }

  /** A frame's tap bridge connected: its events feed the read-ahead until the remix ends. */
  attachTap(port: TapPort, frameId: number): void {
    if (this.ended) {
      port.disconnect();
      return;
    }
    this.ports.add(port);
    port.onDisconnect.addListener(() => this.ports.delete(port));
    port.onMessage.addListener((raw) => {
      const ev = parseTapEvent(raw);
      if (!ev) return;
      // Audio that can be read ahead: start the separation worker now, while the rest arrives
      // (not for every page with a tap: a page without MSE audio never needs it).
      if (ev.t === 'buffer') this.startWorker();
      const applied = this.readAhead.handle(frameId, ev);
      if (ev.t === 'clock') {
        if (this.engine instanceof SyncSession) this.engine.onClock(ev);
        void applied.then(() => this.check());
      } else if (ev.t === 'buffer' && this.engine === null) {
        // The feed the remix waits for: decide now, not at the next clock sample or check.
        void applied.then(() => {
          this.milestone('feed seen');
          return this.check();
        });
      }
    });
  }

  /**
   * Lets go of the in-sync separation worker (its jobs end with the remix; the model's session stays)
   * for the next switch-on to start on — before `stop`, which would close it. Null where there is none,
   * or its separation failed or a fault was injected (test builds).
   */
  releaseWorker(): WorkerStart | null {
    if (this.ended || this.faulted || this.syncFailed !== null) return null; // `stop` closes it
    const worker = this.worker;
    this.worker = null;
    return worker;
  }

  /** Hands the audio back to the page. Idempotent. */
  async stop(reason: string | null = null, phase: 'stopped' | 'failed' = 'stopped'): Promise<void> {
    if (this.engine) await this.engine.stop(reason);
    else if (!this.ended) {
      this.captured?.release();
      this.report({ ...this.status(), phase, error: reason });
    }
    this.shutdown();
  }

  private forward(from: RemixSession | SyncSession, status: EngineStatus): void {
    if (from !== this.engine) return; // a detached engine's last words
    this.report(status);
    if (status.phase === 'failed' || status.phase === 'stopped') this.shutdown();
  }

  /** The audio output stopped for good: the remix ends and the tab plays itself again (fail open). */
  private outputLost(reason: string): void {
    if (this.ended) return;
    if (this.engine) this.engine.fail(reason);
    else void this.stop(reason, 'failed');
  }

  /** The remix ended: the tap is disarmed (its ports close), the decoded audio and the worker dropped. */
  private shutdown(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.unwatchOutput();
    for (const p of this.ports) p.disconnect();
    this.ports.clear();
    this.readAhead.close();
    this.worker?.client.close();
  }

  /**
   * The in-sync separation failed mid-remix: the worker goes, and the delayed remix takes over on
   * the next check (the page's own audio meanwhile); the popup says why.
   */
  private failSync(from: SyncSession, reason: string): void {
    if (from !== this.engine || this.ended) return;
    this.syncFailed = `the in-sync ${reason}`;
    this.worker?.client.close();
    this.worker = null;
    void this.check();
  }

  private async check(): Promise<void> {
    if (this.ended || this.switching || !this.captured) return;
    const now = performance.timeOrigin + performance.now();
    let unusable = this.syncFailed ?? this.readAhead.unusable(now);
    this.unusableSince = unusable === null ? null : (this.unusableSince ?? now);
    if (this.engine instanceof RemixSession) this.engine.modeNote = unusable;
    let decision: 'stay' | 'in-sync' | 'delayed';
    if (this.engine === null) {
      // Elsewhere than YouTube the delayed remix starts at once, as it always did; a feed that
      // shows up later still moves it in sync.
      const grace = this.readAheadHost ? GRACE_MS : 0;
      decision =
        unusable === null ? 'in-sync' : performance.now() - this.startedAt >= grace ? 'delayed' : 'stay';
    } else if (this.syncFailed !== null) {
      // In sync no more for this remix: its separation failed, the delayed one runs its own model.
      decision = this.engine instanceof SyncSession ? 'delayed' : 'stay';
    } else {
      decision = chooseMode(
        this.engine instanceof SyncSession ? 'in-sync' : 'delayed',
        unusable,
        this.unusableSince,
        now,
      );
    }
    if (decision === 'stay') return;
    this.switching = true;
    try {
      // What the next engine needs, before the current one lets go of the capture.
      let worker: SeparationClient | null = null;
      let loaded: LoadedModel | null = null;
      if (decision === 'in-sync') {
        this.startWorker();
        try {
          worker = await (this.worker as NonNullable<typeof this.worker>).ready;
        } catch (e) {
          this.unusableSince = null;
          if (this.engine) return; // stay delayed
          decision = 'delayed';
          unusable = `the separation worker could not start: ${errorText(e)}`;
        }
      }
      if (decision === 'delayed') {
        if (!this.readAhead.hasAudio) {
          // Nothing to read ahead after all (a page without MSE audio): the worker, started early on
          // the host's promise, would only take CPU from the delayed path (measured: enough to make
          // it give up on two cores). A feed that shows up later starts it again.
          this.worker?.client.close();
          this.worker = null;
        }
        try {
          loaded = this.loaded ?? (await this.loadDelayedModel());
          this.loaded = loaded;
        } catch (e) {
          await this.stop(`the separation model could not be loaded: ${errorText(e)}`, 'failed');
          return;
        }
      }
      if (this.ended) return;
      const captured = this.engine ? this.engine.detach() : this.captured;
      if (!captured) return;
      const next: RemixSession | SyncSession =
        worker !== null
          ? new SyncSession(
              this.tabId,
              worker,
              this.gains,
              (st) => this.forward(next, st),
              this.record,
              this.readAhead,
              this.milestones,
            )
          : new RemixSession(
              this.tabId,
              loaded as LoadedModel,
              this.gains,
              (st) => this.forward(next, st),
              this.record,
            );
      if (next instanceof RemixSession) next.modeNote = unusable;
      else next.onSeparationFailed = (reason) => this.failSync(next, reason);
      this.engine = next;
      if (this.pendingFault) next.injectFault(this.pendingFault);
      this.pendingFault = null;
      try {
        await next.start(captured);
      } catch (e) {
        captured.release();
        await next.stop(`the remix could not start (${decision}): ${errorText(e)}`);
      }
    } finally {
      this.switching = false;
    }
  }
}
