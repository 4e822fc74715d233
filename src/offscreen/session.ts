/**
 * One tab's remix: tab capture → AudioWorklet (remix-core.ts) → speakers, with the separation on
 * this (main) thread in overlapping segments (the shared ChunkedSeparator).
 *
 * Fail open: any fault stops the capture, which makes Chrome play the tab's own audio again, and the
 * status says why. While running, a late segment is covered by the original at the same position.
 */

import { SAMPLE_RATE } from '../core/audio';
import { errorText } from '../core/errors';
import {
  ChunkedSeparator,
  type ChunkingOptions,
  chunkingLatency,
  LOW_LATENCY_CHUNKING,
  LOW_LATENCY_OPTIONS,
} from '../core/separator';
import { outputStems, type StemName } from '../core/stems';
import type { EngineFault, EngineStatus, PlaybackFigures, StemGains } from '../extension/messages';
import type { LoadedModel } from './model';
import { pace, RECENT_S, RecentDelta } from './pacing';
import { Recorder, type Recording, TAP_LIMIT_S } from './recorder';
import workletUrl from './remix-worklet.ts?worker&url';
import { type FromWorklet, REMIX_PROCESSOR, type ToWorklet } from './worklet-protocol';

/**
 * Streaming segments for the bidirectional model (the shared core's low-latency chunking: 4-s
 * segments, 1-s overlap, a 0.1-s cross-fade centred in it, Wiener blocks of 8 + 8 frames), close to
 * whole-track separation in SDR (docs/BENCHMARKS.md, "Chunked vs whole-signal separation"). An output
 * sample is final once up to `chunkingLatency().max` of later input has been separated; the delay adds
 * the time to separate a segment (`COMPUTE_MARGIN_S`).
 */
export const STREAM_CHUNKING: ChunkingOptions = LOW_LATENCY_CHUNKING;
const COMPUTE_MARGIN_S = 2;
const BLOCK_FRAMES = 4096;
/** Routine status reports (load, late audio) at most this often; phase changes go at once. */
const REPORT_EVERY_MS = 1000;
const CAPACITY = 1 << 19; // 11.9 s at 44.1 kHz
const CHANNELS = 2;

/** A captured tab, already playing straight through (no remix yet). */
export interface CapturedTab {
  readonly stream: MediaStream;
  readonly context: AudioContext;
  readonly source: MediaStreamAudioSourceNode;
  /** Ends the capture (Chrome plays the tab itself again) and closes the context. */
  release(): void;
}

/**
 * Opens the tab-capture stream and plays it straight to the speakers at once: from this moment
 * Chrome no longer plays the tab itself, so until the remix is ready (model load, calibration) the
 * user must hear the capture, not silence.
 */
export async function captureTab(
  streamId: string,
  milestone: (what: string) => void = () => undefined,
): Promise<CapturedTab> {
  // Chrome's tab-capture constraints are not in the standard MediaTrackConstraints type.
  const constraints = {
    audio: { mandatory: { chromeMediaSource: 'tab', chromeMediaSourceId: streamId } },
    video: false,
  } as unknown as MediaStreamConstraints;
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  milestone('getUserMedia');
  // The model's rate: Chrome resamples the capture into it.
  const context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'playback' });
  const source = context.createMediaStreamSource(stream);
  source.connect(context.destination);
  if (context.state !== 'running') await context.resume();
  milestone('context running');
  return {
    stream,
    context,
    source,
    release() {
      for (const t of stream.getTracks()) t.stop();
      void context.close().catch(() => undefined);
    },
  };
}

/** Chrome's `AudioPlaybackStats` (not in TypeScript's DOM types yet). */
interface AudioPlaybackStatsLike {
  readonly underrunEvents: number;
  readonly underrunDuration: number;
  readonly totalDuration: number;
  readonly averageLatency: number;
}

/**
 * Underruns of `context`'s output so far, from Chrome's `AudioContext.playbackStats` (null where
 * the browser has none): what a shorter output latency risks, measured rather than assumed.
 */
export function playbackFigures(context: AudioContext): PlaybackFigures | null {
  const stats = (context as { playbackStats?: AudioPlaybackStatsLike }).playbackStats;
  if (!stats) return null;
  return {
    underrunEvents: stats.underrunEvents,
    underrunMs: 1000 * stats.underrunDuration,
    playedSeconds: stats.totalDuration,
    averageLatencyMs: 1000 * stats.averageLatency,
  };
}

export type StatusListener = (status: EngineStatus) => void;

/** Why a remix ends when Chrome ends its capture. */
export const CAPTURE_ENDED = 'the tab capture ended (tab closed or capture revoked)';

/** Calls `onEnded` when the capture ends (tab closed, capture revoked). */
export function onCaptureEnded(stream: MediaStream, onEnded: () => void): void {
  for (const track of stream.getAudioTracks()) track.addEventListener('ended', onEnded);
}

/**
 * Puts `node` between the capture and the speakers: the capture plays through the node from now
 * on, no longer straight out (the node passes it through until it has something else to play).
 */
export function routeThrough(captured: CapturedTab, node: AudioWorkletNode): void {
  node.connect(captured.context.destination, 0);
  captured.source.connect(node);
  captured.source.disconnect(captured.context.destination);
}

/** Test builds' `capture-ended` fault: what Chrome does when a capture is revoked (its tracks end). */
export function endCapture(stream: MediaStream | null | undefined): void {
  for (const t of stream?.getTracks() ?? []) {
    t.stop();
    t.dispatchEvent(new Event('ended'));
  }
}

/** Per-stem gains in the worklet's stem order (a stem without a setting plays at 1). */
export function gainVector(stems: readonly string[], gains: StemGains): number[] {
  return stems.map((t) => (gains as Record<string, number>)[t] ?? 1);
}

export class RemixSession {
  private phase: EngineStatus['phase'] = 'starting';
  private error: string | null = null;
  private context: AudioContext | null = null;
  private stream: MediaStream | null = null;
  private node: AudioWorkletNode | null = null;
  private separator: ChunkedSeparator;
  /** The model's output stems (its networks minus group networks), in the worklet's order. */
  private readonly stems: StemName[];
  private queue: Promise<void> = Promise.resolve();
  private queuedFrames = 0;
  private lateFrames = 0;
  private load: number | null = null;
  private busySeconds = 0;
  private doneSeconds = 0;
  /** Busy seconds over separated seconds, and late seconds over wall time, for pacing. */
  private readonly recentWork = new RecentDelta(RECENT_S);
  private readonly recentLate = new RecentDelta(RECENT_S);
  private faultInjected: EngineFault | null = null;
  private degraded: string | null = null;
  private reportedAt = 0;
  private tapData: Recorder | null = null;
  private captured: CapturedTab | null = null;
  /** Why this remix is delayed rather than in sync (set by the owner). */
  modeNote: string | null = null;
  readonly delayFrames = chunkingLatency(STREAM_CHUNKING).max + COMPUTE_MARGIN_S * SAMPLE_RATE;

  constructor(
    readonly tabId: number,
    private readonly loaded: LoadedModel,
    private gains: StemGains,
    private readonly report: StatusListener,
    private readonly record: boolean,
  ) {
    this.stems = outputStems(loaded.model.targets);
    this.recentWork.add(0, 0);
    this.separator = new ChunkedSeparator(
      {
        targets: loaded.model.targets,
        estimate: async (...args) => {
          if (this.faultInjected === 'model-error') throw new Error('injected model fault');
          if (this.faultInjected === 'too-slow') await new Promise((r) => setTimeout(r, 4000));
          return loaded.model.estimate(...args);
        },
      },
      CHANNELS,
      { wienerIterations: 1, exactSum: true, ...LOW_LATENCY_OPTIONS },
      STREAM_CHUNKING,
    );
  }

  /** AudioContext base + output latency in seconds (0 before the context exists). */
  private outputLatency(): number {
    const c = this.context;
    return c ? (c.baseLatency || 0) + (c.outputLatency || 0) : 0;
  }

  private onStatus(status: EngineStatus): void {
    this.reportedAt = performance.now();
    this.report(status);
  }

  /** Separation seconds per media second over the last RECENT_S: what pacing judges and the popup shows. */
  private recentLoad(): number | null {
    const work = this.recentWork.delta();
    return work.dx > 0 ? work.dy / work.dx : this.load;
  }

  status(): EngineStatus {
    return {
      phase: this.phase,
      backend: this.loaded.backend,
      threads: this.loaded.threads,
      // The remix's own delay plus what the browser reports for its audio path to the speakers.
      delayMs: Math.round((1000 * this.delayFrames) / SAMPLE_RATE + 1000 * this.outputLatency()),
      load: this.recentLoad(),
      stems: this.stems,
      lateSeconds: this.lateFrames / SAMPLE_RATE,
      degraded: this.degraded,
      engineNote: this.loaded.failover ?? this.loaded.decision.reason,
      error: this.error,
      mode: 'delayed',
      modeNote: this.modeNote,
      at: Date.now(),
    };
  }

  /** Takes over a captured tab (see `captureTab`) and moves its sound through the remix. */
  async start(captured: CapturedTab): Promise<void> {
    const { stream, context } = captured;
    this.captured = captured;
    this.stream = stream;
    this.context = context;
    onCaptureEnded(stream, () => this.fail(CAPTURE_ENDED));
    await context.audioWorklet.addModule(workletUrl);
    const node = new AudioWorkletNode(context, REMIX_PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [CHANNELS],
      processorOptions: {
        channels: CHANNELS,
        stems: this.stems.length,
        capacity: CAPACITY,
        delay: this.delayFrames,
        blockFrames: BLOCK_FRAMES,
        record: this.record,
      },
    });
    this.node = node;
    node.port.onmessage = (e: MessageEvent<FromWorklet>) => this.onWorklet(e.data);
    this.post({ type: 'gains', gains: gainVector(this.stems, this.gains) });
    // The worklet starts by passing the original through undelayed: swapping it in is seamless.
    routeThrough(captured, node);
    this.setPhase('buffering');
  }

  setGains(gains: StemGains): void {
    this.gains = gains;
    this.post({ type: 'gains', gains: gainVector(this.stems, this.gains) });
  }

  injectFault(fault: EngineFault): void {
    if (fault === 'capture-ended') {
      endCapture(this.stream);
      return;
    }
    this.faultInjected = fault;
  }

  /** Test builds: the recorded output and original since the last clear. */
  takeTap(clear: boolean, audio = true): Recording | null {
    const t = this.tapData?.take(audio) ?? null;
    if (clear) this.tapData = null;
    return t;
  }

  /**
   * Leaves the capture running and playing straight through, for another session (in sync) to
   * take over; this one ends without reporting.
   */
  detach(): CapturedTab | null {
    const captured = this.captured;
    if (!captured || this.phase === 'stopped' || this.phase === 'failed') return null;
    if (this.node) this.node.port.onmessage = null;
    this.node?.disconnect();
    captured.source.disconnect();
    captured.source.connect(captured.context.destination);
    this.node = null;
    this.stream = null;
    this.context = null;
    this.captured = null;
    this.phase = 'stopped';
    return captured;
  }

  /** Hands the audio back to the page. Idempotent. */
  async stop(reason: string | null = null): Promise<void> {
    this.end('stopped', reason);
  }

  fail(reason: string): void {
    this.end('failed', reason);
  }

  /** The one way out: the first stop or fault wins, later ones change nothing. */
  private end(phase: 'stopped' | 'failed', reason: string | null): void {
    if (this.phase === 'stopped' || this.phase === 'failed') return;
    this.release();
    this.error = reason;
    this.setPhase(phase);
  }

  /** Ending the capture returns the tab's own audio at once; the rest is cleanup. */
  private release(): void {
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = null;
    if (this.node) this.node.port.onmessage = null;
    this.node?.disconnect();
    this.node = null;
    void this.context?.close().catch(() => undefined);
    this.context = null;
  }

  private setPhase(phase: EngineStatus['phase']): void {
    this.phase = phase;
    this.onStatus(this.status());
  }

  private post(msg: ToWorklet, transfer: Transferable[] = []): void {
    this.node?.port.postMessage(msg, transfer);
  }

  private onWorklet(msg: FromWorklet): void {
    switch (msg.type) {
      case 'input':
        this.enqueue(msg.channels);
        break;
      case 'stats': {
        this.lateFrames = msg.lateFrames;
        this.recentLate.add(performance.now() / 1000, msg.lateFrames / SAMPLE_RATE);
        if (msg.running && this.phase === 'buffering') this.setPhase('running');
        else if (performance.now() - this.reportedAt >= REPORT_EVERY_MS) this.onStatus(this.status());
        this.keepPace();
        break;
      }
      case 'tap':
        this.appendTap(msg);
        break;
      case 'error':
        this.fail(`the remix failed on the audio thread: ${msg.message}`);
        break;
    }
  }

  /** Degrade, then give up, when separation cannot keep up (pacing.ts). */
  private keepPace(): void {
    const load = this.recentLoad();
    const decision = pace({
      load,
      lateSeconds: this.recentLate.delta().dy,
      backlogSeconds: this.queuedFrames / SAMPLE_RATE,
      degraded: this.degraded !== null,
      // The first segments include warm-up (WASM compilation, allocation): judge load and backlog after a few.
      warmingUp: this.doneSeconds < 8,
    });
    if (decision === 'degrade') {
      this.separator.setOptions({ ...this.separator.separationOptions, wienerIterations: 0 });
      this.degraded = 'no Wiener step';
      this.onStatus(this.status());
    } else if (decision === 'give-up') {
      this.fail(
        `separation fell behind real time (load ${load?.toFixed(2) ?? '?'}× even without the Wiener step): this computer is too slow for the remix`,
      );
    }
  }

  private enqueue(channels: Float32Array[]): void {
    const frames = channels[0].length;
    this.queuedFrames += frames;
    this.keepPace();
    if (this.phase === 'failed') return;
    this.queue = this.queue.then(async () => {
      if (this.phase === 'failed' || this.phase === 'stopped') return;
      const before = this.separator.outputLength;
      const t0 = performance.now();
      try {
        const out = await this.separator.push(channels);
        this.queuedFrames -= frames;
        if (out) {
          const produced = this.separator.outputLength - before;
          this.busySeconds += (performance.now() - t0) / 1000;
          this.doneSeconds += produced / SAMPLE_RATE;
          this.load = this.busySeconds / this.doneSeconds;
          this.recentWork.add(this.doneSeconds, this.busySeconds);
          const data = this.stems.flatMap((t) => out[t]);
          this.post(
            { type: 'stems', start: before, data },
            data.map((d) => d.buffer),
          );
        }
      } catch (err) {
        this.fail(`separation failed: ${errorText(err)}`);
      }
    });
  }

  private appendTap(msg: Extract<FromWorklet, { type: 'tap' }>): void {
    this.tapData ??= new Recorder(msg.start, TAP_LIMIT_S * SAMPLE_RATE);
    this.tapData.add(msg);
  }
}
