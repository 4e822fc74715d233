/**
 * One tab's remix in sync with the picture: stems separated ahead of the playhead from the page's
 * own media feed (the read-ahead tap), played by the sync worklet at the media position the
 * element presents, with the tab capture as the fail-open path (the page's own audio wherever stems
 * are missing) and as what silences the tab.
 *
 * The main thread runs two loops: `tick` (every 50 ms and on every clock sample) maps the element's
 * clock onto the AudioContext's frames (output latency included, via getOutputTimestamp) and hands
 * the worklet its schedule and the stem chunks around the playhead; `separate` keeps the
 * AheadSeparator busy from the playhead on.
 *
 * At playback rates other than 1 the worklet reads the stems at that rate into its second output,
 * and a pitch shifter puts the pitch back (YouTube keeps pitch). The shifter is signalsmith-stretch
 * (MIT, WASM in an AudioWorklet, maintained; SoundTouch's web port is MPL and time-stretches whole
 * buffers, rubberband's is GPL): its live-input mode shifts pitch with a stated, fixed delay, which
 * the worklet's schedule accounts for. It is created on the first rate other than 1 (it costs CPU
 * even when fed silence), and at rate 1 nothing passes through it.
 */
import type { StretchNode } from 'signalsmith-stretch';
import type { ClockSample } from '../../content/tap-protocol';
import { SAMPLE_RATE } from '../../core/audio';
import { errorText } from '../../core/errors';
import { LOW_LATENCY_CHUNKING, LOW_LATENCY_OPTIONS } from '../../core/separator';
import { outputStems, type StemName } from '../../core/stems';
import type { EngineFault, EngineStatus, StemGains } from '../../extension/messages';
import type { ReadAhead, TappedSource } from '../readahead/read-ahead';
import { Recorder, type Recording, TAP_LIMIT_S } from '../recorder';
import {
  CAPTURE_ENDED,
  type CapturedTab,
  endCapture,
  gainVector,
  onCaptureEnded,
  playbackFigures,
  routeThrough,
  type StatusListener,
} from '../session';
import { AheadSeparator, type AheadSource, FIRST_OUTPUT_GUESS_S, MODEL_RATE } from './ahead';
import { OutputClock } from './clock';
import type { SeparationClient } from './separation-client';
import { CHUNK_FRAMES, nearestFirst, StemCache } from './stem-cache';
import type { Schedule } from './sync-core';
import { type FromSyncWorklet, SYNC_PROCESSOR, type ToSyncWorklet } from './sync-protocol';
import workletUrl from './sync-worklet.ts?worker&url';

const CHANNELS = 2;
const TICK_MS = 50;
/**
 * A job's chunking: the capture path's 4-s segments, but a shorter first one, so that a job's first
 * stems (switching on, a seek into new audio) come after 2.5 s of audio's compute instead of 4 s'.
 * Its output (1.9 s) outlasts the next segment's compute, so the stems do not run dry in between.
 */
const JOB_CHUNKING = { ...LOW_LATENCY_CHUNKING, first: Math.round(2.5 * MODEL_RATE) };
/**
 * Chunks the worklet holds ahead of the playhead (10 s, 10.6 MB for six stems): this thread may be
 * busy separating for a second or two, and the worklet must not run dry meanwhile.
 */
const WORKLET_AHEAD = 50;
const WORKLET_BEHIND = 3;
/**
 * Chunks handed to the worklet per tick, the playhead's first: after a seek the whole window is
 * new, and expanding and posting it in one go held this thread for 0.1–0.2 s — clock samples and
 * the schedule for the new position waited behind it. At this rate a tick still sends 20 s of
 * audio per second.
 */
const CHUNKS_PER_TICK = 5;
/**
 * Chunks handed over on a clock sample: the render position's and the next, so that after a seek
 * into separated audio the stems are there when the element resumes, not a tick later. Samples
 * come in bursts around a seek; at two each (none twice) they cannot hold this thread up.
 */
const CHUNKS_PER_CLOCK = 2;
/** Schedule for a context frame this far ahead of the render position (s), so it arrives before it plays. */
const SCHEDULE_LEAD_S = 0.05;
const REPORT_EVERY_MS = 1000;
/**
 * Added to the expected time to a job's first stems when placing its start ahead of the playhead.
 * Stems that come sooner wait for the playhead (the user hears the page's audio meanwhile); stems
 * that come later start part-way into the first segment, leaving the second segment less time
 * before they run out. Chosen by a rule written before the runs (switch-on faster by ≥ 0.2 s, no
 * run with over 100 ms of the page's audio after its first stems): 0.2 s took the cold switch-on's
 * median 0.35 s under 0.5 s's (docs/experiments/2026-12-08-switch-on-lead.md).
 */
const LEAD_MARGIN_S = 0.2;

export class SyncSession {
  private phase: EngineStatus['phase'] = 'starting';
  private error: string | null = null;
  private context: AudioContext | null = null;
  private captured: CapturedTab | null = null;
  private node: AudioWorkletNode | null = null;
  /** The pitch shifter on the worklet's second output; null until a rate other than 1 asks for it. */
  private shifter: StretchNode | null = null;
  private shifterStarted = false;
  /** The shifter's delay, context frames (null until it is ready). */
  private shifterFrames: number | null = null;
  private shifterSemitones = 0;
  private readonly stems: StemName[];
  private readonly cache: StemCache;
  private readonly ahead: AheadSeparator;
  /** Chunks the worklet has. */
  private readonly sent = new Set<number>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private position: number | null = null;
  private missingFrames = 0;
  private note: string | null = null;
  private reportedAt = 0;
  /** Test builds: the recording, from the context frame of its first frame. */
  private tapData: Recorder | null = null;
  /** Test builds: [context frame, wall ms when it is heard] per tick. */
  private clockMap: [number, number][] = [];
  /**
   * Test builds: per tap message [context frame, media frame (−1: page audio), 1 if stems alone],
   * and where stems start within a message, that frame's (see `appendTap`).
   */
  private quanta: [number, number, number][] = [];
  /** Test builds: the schedules sent, [context frame, media frame, playing, stems allowed]. */
  private schedules: [number, number, number, number][] = [];
  /** Test builds: [wall ms, underrun events so far, underrun ms so far] whenever the count went up. */
  private underruns: [number, number, number][] = [];
  private underrunEvents = 0;
  /** Test builds: the page's clock samples as they arrived (see `EngineTapReply.clockSamples`). */
  private clockSamples: [number, number, number, number, number][] = [];
  /**
   * Test builds: [what, wall ms] of the switch-on's milestones — the tab remix's (start message,
   * capture, worker ready) and the session's (start, separator, first chunk, stems heard).
   */
  private milestones: [string, number][];
  private active = false;
  private shifterNote: string | null = null;
  /** When context times are heard (getOutputTimestamp, steadied). */
  private readonly output = new OutputClock();
  /** The MediaSource the cached stems come from (an ad's MediaSource has media times of its own). */
  private sourceKey: string | null = null;
  /**
   * Called (once) when separation fails, instead of ending the remix: the owner moves to the
   * delayed remix, which runs its own model. Unset: the remix fails (the page's audio, and why).
   */
  onSeparationFailed: ((reason: string) => void) | null = null;
  /** Has the separation worker been asked for its optimised session? */
  private optimising = false;

  constructor(
    readonly tabId: number,
    /** The separation worker (the tab's; its owner closes it). */
    private readonly worker: SeparationClient,
    private gains: StemGains,
    private readonly report: StatusListener,
    private readonly record: boolean,
    private readonly readAhead: ReadAhead,
    earlierMilestones: readonly [string, number][] = [],
  ) {
    this.milestones = [...earlierMilestones];
    this.stems = outputStems(worker.targets);
    this.cache = new StemCache(this.stems.length * CHANNELS);
    this.ahead = new AheadSeparator(
      this.cache,
      {
        stems: this.stems,
        channels: CHANNELS,
        newSeparator: async (rate) => {
          // The capture path's separation: close to whole-track separation (docs/BENCHMARKS.md, chunked).
          const options = { wienerIterations: 1, exactSum: true, ...LOW_LATENCY_OPTIONS };
          const separator = await this.worker.newSeparator(CHANNELS, rate, MODEL_RATE, options, JOB_CHUNKING);
          this.milestone('separator');
          return separator;
        },
      },
      () => {
        if (this.cache.size === 1) this.milestone('first chunk');
        this.tick();
      },
    );
    // A worker kept from an earlier remix knows how soon its jobs' first stems come — sooner than the
    // guess, which is for a cold one; its last job's figure can be a busy moment's (a CI run waited
    // 1.3 s after its first chunk on one), so the guess bounds it.
    if (worker.firstOutputSeconds !== null)
      this.ahead.firstOutputSeconds = Math.min(FIRST_OUTPUT_GUESS_S, worker.firstOutputSeconds);
  }

  private milestone(what: string): void {
    if (this.record) this.milestones.push([what, performance.timeOrigin + performance.now()]);
  }

  status(): EngineStatus {
    const busy = this.ahead.busySeconds;
    const produced = this.ahead.producedSeconds;
    return {
      phase: this.phase,
      backend: this.worker.failover === null ? (this.worker.engine?.backend ?? 'wasm') : 'wasm',
      threads: this.worker.threads,
      delayMs: 0,
      load: produced > 0 ? busy / produced : null,
      stems: this.stems,
      lateSeconds: this.missingFrames / SAMPLE_RATE,
      degraded: null,
      engineNote: this.engineNote(),
      error: this.error,
      mode: 'in-sync',
      modeNote: this.note,
      at: Date.now(),
    };
  }

  /** The worker's engine and why, for the popup. */
  private engineNote(): string {
    const { engine, failover } = this.worker;
    if (failover !== null) return `the in-sync remix's worker: ${failover}`;
    if (engine === null)
      return 'the in-sync remix separates in a worker of its own, on WASM (WebGPU is weighed once the stems are ahead)';
    return `the in-sync remix separates in a worker of its own, on ${engine.backend === 'webgpu' ? 'WebGPU' : 'WASM'}: ${engine.reason}`;
  }

  /** Memory the separated stems take now, bytes (benchmarks). */
  get cacheBytes(): number {
    return this.cache.bytes;
  }

  /** Takes over a captured tab (see `captureTab`), which keeps playing straight through until stems play. */
  async start(captured: CapturedTab): Promise<void> {
    const { context, stream } = captured;
    this.captured = captured;
    this.context = context;
    onCaptureEnded(stream, () => this.fail(CAPTURE_ENDED));
    await context.audioWorklet.addModule(workletUrl);
    const node = new AudioWorkletNode(context, SYNC_PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 2,
      outputChannelCount: [CHANNELS, CHANNELS],
      processorOptions: {
        channels: CHANNELS,
        stems: this.stems.length,
        chunkFrames: CHUNK_FRAMES,
        record: this.record,
      },
    });
    this.node = node;
    node.port.onmessage = (e: MessageEvent<FromSyncWorklet>) => this.onWorklet(e.data);
    this.post({ type: 'gains', gains: gainVector(this.stems, this.gains) });
    // The worklet plays the capture until it has stems for the playhead: swapping it in is seamless.
    routeThrough(captured, node);
    this.active = true;
    this.milestone('start');
    this.setPhase('running');
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
    void this.separate();
  }

  setGains(gains: StemGains): void {
    this.gains = gains;
    this.post({ type: 'gains', gains: gainVector(this.stems, this.gains) });
  }

  injectFault(fault: EngineFault): void {
    if (fault === 'capture-ended') {
      endCapture(this.captured?.stream);
      return;
    }
    this.worker.injectFault(fault);
  }

  takeTap(clear: boolean, audio = true): Recording | null {
    const t = this.tapData?.take(audio) ?? null;
    if (clear) this.tapData = null;
    return t;
  }

  /** Test builds: the sync trace since the last clear (see `clockMap`, `quanta`). */
  takeTrace(clear: boolean): {
    clockMap: [number, number][];
    quanta: [number, number, number][];
    milestones: [string, number][];
    schedules: [number, number, number, number][];
    clockSamples: [number, number, number, number, number][];
    underruns: [number, number, number][];
  } {
    const t = {
      clockMap: this.clockMap,
      quanta: this.quanta,
      milestones: this.milestones,
      schedules: this.schedules,
      clockSamples: this.clockSamples,
      underruns: this.underruns,
    };
    if (clear) {
      this.clockMap = [];
      this.quanta = [];
      this.schedules = [];
      this.clockSamples = [];
    }
    return t;
  }

  /** Hands the audio back to the page (ends the capture). Idempotent. */
  async stop(reason: string | null = null): Promise<void> {
    this.end('stopped', reason);
  }

  /** Leaves the capture running and playing straight through, for another session to take over. */
  detach(): CapturedTab | null {
    const captured = this.captured;
    if (!captured || !this.active) return null;
    this.shutdown();
    captured.source.connect(captured.context.destination);
    this.captured = null;
    this.context = null;
    this.phase = 'stopped';
    return captured;
  }

  fail(reason: string): void {
    this.end('failed', reason);
  }

  private end(phase: 'stopped' | 'failed', reason: string | null): void {
    if (this.phase === 'stopped' || this.phase === 'failed') return;
    this.shutdown();
    this.captured?.release();
    this.captured = null;
    this.context = null;
    this.error = reason;
    this.setPhase(phase);
  }

  private shutdown(): void {
    this.active = false;
    this.worker.firstOutputSeconds = this.ahead.firstOutputSeconds;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.ahead.abandon();
    this.cache.clear();
    if (this.node) this.node.port.onmessage = null;
    this.node?.disconnect();
    this.shifter?.disconnect();
    this.shifter = null;
    this.shifterFrames = null;
    this.captured?.source.disconnect();
    this.node = null;
  }

  private setPhase(phase: EngineStatus['phase']): void {
    this.phase = phase;
    this.reportedAt = performance.now();
    this.report(this.status());
  }

  private post(msg: ToSyncWorklet, transfer: Transferable[] = []): void {
    this.node?.port.postMessage(msg, transfer);
  }

  private onWorklet(msg: FromSyncWorklet): void {
    switch (msg.type) {
      case 'stats':
        if (this.position === null && msg.position !== null) this.milestone('stems');
        this.position = msg.position;
        this.missingFrames = msg.missingFrames;
        // The audio thread's clock drives scheduling: this document's timers are throttled (ticks
        // came 140–160 ms apart instead of 50), its worklet messages are not.
        this.tick();
        if (performance.now() - this.reportedAt >= REPORT_EVERY_MS) {
          this.reportedAt = performance.now();
          this.report(this.status());
        }
        break;
      case 'tap':
        this.appendTap(msg);
        break;
      case 'release':
        // Nothing to do: the buffers are garbage here, on this thread, not on the audio thread.
        break;
      case 'error':
        this.fail(`the remix failed on the audio thread: ${msg.message}`);
        break;
    }
  }

  /**
   * Creates the pitch shifter (once) and connects it after the worklet's second output. A failure
   * leaves rates other than 1 on the page's own audio and says why.
   */
  private async startShifter(context: AudioContext, node: AudioWorkletNode): Promise<void> {
    this.shifterStarted = true;
    try {
      const { default: SignalsmithStretch } = await import('signalsmith-stretch');
      const shifter = await SignalsmithStretch(context, {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [CHANNELS],
      });
      if (!this.active || this.node !== node) return;
      await shifter.schedule({ active: true, semitones: this.shifterSemitones });
      const latency = await shifter.latency();
      if (!this.active || this.node !== node) return;
      node.connect(shifter, 1, 0);
      shifter.connect(context.destination);
      this.shifter = shifter;
      this.shifterFrames = Math.round(latency * context.sampleRate);
      this.milestone('shifter ready');
    } catch (e) {
      this.shifterNote = `the pitch shifter failed (${errorText(e)}); at other speeds the page’s own audio plays`;
    }
  }

  /** Semitones that undo the pitch change of reading the stems at `rate`. */
  private setShift(rate: number): void {
    const semitones = -12 * Math.log2(rate);
    if (Math.abs(semitones - this.shifterSemitones) < 1e-6) return;
    this.shifterSemitones = semitones;
    void this.shifter?.schedule({ semitones });
  }

  /**
   * A clock sample arrived: a seek or pause must reach the audio thread at once, with the stems
   * for the new position; the rest of the window waits for the next tick (`CHUNKS_PER_CLOCK`).
   */
  onClock(sample: ClockSample): void {
    if (this.record && this.clockSamples.length < 20_000) {
      const steady = !sample.paused && !sample.seeking && !sample.waiting;
      const now = performance.timeOrigin + performance.now();
      this.clockSamples.push([sample.at, sample.time, steady ? 1 : 0, sample.rate, now]);
    }
    this.tick(CHUNKS_PER_CLOCK);
  }

  /** The wall time (ms) at which context time `t` (s) reaches the speakers. */
  private wallAt(t: number): number {
    const c = this.context;
    if (!c) return performance.timeOrigin + performance.now();
    const ts = c.getOutputTimestamp();
    if (ts.performanceTime !== undefined && ts.contextTime !== undefined && ts.performanceTime > 0)
      this.output.add(ts.contextTime, performance.timeOrigin + ts.performanceTime);
    const wall = this.output.wallAt(t);
    if (wall !== null) return wall;
    const latency = (c.baseLatency || 0) + (c.outputLatency || 0);
    return performance.timeOrigin + performance.now() + (t - c.currentTime + latency) * 1000;
  }

  /** Test builds: when the output's underrun count (Chrome's `playbackStats`) went up. */
  private noteUnderruns(c: AudioContext): void {
    const f = playbackFigures(c);
    if (!f || f.underrunEvents === this.underrunEvents || this.underruns.length >= 1000) return;
    this.underrunEvents = f.underrunEvents;
    this.underruns.push([performance.timeOrigin + performance.now(), f.underrunEvents, f.underrunMs]);
  }

  /** The media frame the element presents now (for the separation's playhead), or null. */
  private playhead(source: TappedSource): number | null {
    const p = source.clock.at(performance.timeOrigin + performance.now());
    return p ? p.time * MODEL_RATE : null;
  }

  /** Schedule and up to `budget` stem chunks for the worklet; the mode note for the popup. */
  private tick(budget = CHUNKS_PER_TICK): void {
    const c = this.context;
    if (!this.active || !c) return;
    const source = this.readAhead.source();
    if (source) this.follow(source.key);
    const ctxTime = c.currentTime + SCHEDULE_LEAD_S;
    const pos = source?.clock.at(this.wallAt(ctxTime)) ?? null;
    const stale = this.readAhead.unusable(performance.timeOrigin + performance.now());
    const unit = pos === null || pos.rate === 1;
    if (!unit && !this.shifterStarted && this.node) void this.startShifter(c, this.node);
    // The shifter's pitch follows the current rate (back to none at 1, for a shifted voice fading out).
    if (pos !== null && pos.rate > 0) this.setShift(pos.rate);
    const rateOk = pos !== null && (unit || this.shifterFrames !== null);
    // A predicted resume starts at its own moment, which may come before `ctxTime` is heard.
    const fromTime = pos?.from != null ? this.output.contextAt(pos.from) : null;
    const schedule: Schedule = {
      ctxFrame: Math.round(ctxTime * c.sampleRate),
      mediaFrame: (pos?.time ?? 0) * MODEL_RATE,
      rate: pos?.rate ?? 1,
      playing: pos?.playing ?? false,
      playingFrom: fromTime === null ? null : Math.round(fromTime * c.sampleRate),
      stems: stale === null && rateOk,
      stretchFrames: this.shifterFrames,
    };
    this.post({ type: 'schedule', schedule });
    // Test builds: when each scheduled context frame reaches the speakers (the e2e suite's ruler).
    if (this.record) this.noteUnderruns(c);
    if (this.record && this.clockMap.length < 20_000) {
      this.clockMap.push([schedule.ctxFrame, this.wallAt(ctxTime)]);
      const { ctxFrame, mediaFrame, playing, stems } = schedule;
      this.schedules.push([ctxFrame, Math.round(mediaFrame), playing ? 1 : 0, stems ? 1 : 0]);
    }
    this.note =
      stale ??
      (pos === null
        ? 'waiting for the page’s playback position'
        : !pos.playing
          ? null
          : !rateOk
            ? (this.shifterNote ??
              `at ${pos.rate}× the page’s own audio plays until the pitch shifter is ready`)
            : this.position === null
              ? 'the page’s own audio plays until the stems for this position are separated'
              : null);
    if (!source || pos === null) return;
    // Stem chunks around the playhead for the worklet, the nearest first: from the chunk it renders
    // now (`pos` is `SCHEDULE_LEAD_S` ahead of that).
    const k0 = Math.floor(((pos.time - pos.rate * SCHEDULE_LEAD_S) * MODEL_RATE) / CHUNK_FRAMES);
    const from = k0 - WORKLET_BEHIND;
    const to = k0 + WORKLET_AHEAD;
    for (const k of [...this.sent]) if (k < from || k >= to) this.sent.delete(k);
    this.post({ type: 'keep', from, to });
    for (const k of nearestFirst(Math.max(0, from), k0, to)) {
      if (budget === 0) break;
      if (this.sent.has(k)) continue;
      const chunk = this.cache.copy(k);
      if (!chunk) continue;
      budget--;
      this.sent.add(k);
      this.post({ type: 'chunk', index: k, chunk }, [
        ...chunk.samples.map((d) => d.buffer),
        chunk.scales.buffer,
      ]);
    }
  }

  /**
   * The element plays from MediaSource `key`: stems cached for another (the video before an ad,
   * the ad before the video) say nothing about this one's media times, so they go, in the worklet too.
   */
  private follow(key: string): void {
    if (key === this.sourceKey) return;
    if (this.sourceKey !== null) {
      this.ahead.abandon();
      // The first-output time measured on the other MediaSource (an ad appended just in time, a
      // worker busy building its optimised session) would set this one's lead: start from the guess.
      this.ahead.firstOutputSeconds = FIRST_OUTPUT_GUESS_S;
      this.cache.clear();
      this.sent.clear();
      this.post({ type: 'keep', from: 0, to: 0 });
    }
    this.sourceKey = key;
  }

  /** Keeps separating from the playhead on while the session is active. */
  private async separate(): Promise<void> {
    while (this.active) {
      const source = this.readAhead.source();
      if (source) this.follow(source.key);
      const playhead = source ? this.playhead(source) : null;
      let worked = false;
      let rest = 0;
      let playing = false;
      if (source && playhead !== null) {
        const view: AheadSource = {
          ended: source.ended,
          rateAt: (t) => {
            const rates = source.timeline.ratesIn(t, t + 1e-6);
            return rates.size === 1 ? [...rates][0] : null;
          },
          read: (t, count, rate) => source.timeline.read(t, count, rate, CHANNELS),
        };
        const relaxed = this.ahead.relaxed(view, playhead);
        // Playing: a new job starts where the playhead will be when its first stems come out.
        const now = source.clock.at(performance.timeOrigin + performance.now());
        playing = now?.playing === true;
        const lead =
          now && playing
            ? Math.min(6, this.ahead.firstOutputSeconds + LEAD_MARGIN_S) * now.rate * MODEL_RATE
            : 0;
        const t0 = performance.now();
        try {
          // Should the element move to another MediaSource meanwhile, `follow` abandons the job and
          // the step puts nothing (AheadSeparator's abandon guards).
          worked = await this.ahead.step(view, playhead, lead);
          if (this.sourceKey === source.key) this.ahead.prune(playhead);
        } catch (e) {
          const reason = `separation failed: ${errorText(e)}`;
          // With a fallback the remix goes on: stems stop coming, so the page's own audio plays
          // (cross-faded, as wherever stems are missing) until the owner has switched engines.
          if (this.onSeparationFailed) this.onSeparationFailed(reason);
          else this.fail(reason);
          return;
        }
        rest = relaxed ? performance.now() - t0 : 0;
        // The worker starts on its quick session; the optimised one (faster per chunk, about a
        // second to build) comes in once the stems are a whole eager window ahead of the playhead —
        // not while a seek waits for new audio, which would wait a second longer.
        if (!this.optimising && relaxed) {
          this.optimising = true;
          try {
            await this.worker.optimise();
            this.milestone('optimised');
          } catch (e) {
            // The quick session stays: slower per chunk, the same stems.
            console.warn(`Stemdeck: no optimised session (${errorText(e)})`);
          }
        }
      }
      // Yield between steps so clock samples and ticks get through; rest beyond the eager window;
      // wait when there is nothing to do — briefly while the element plays on without stems (its
      // audio is being decoded: after a switch-on or a seek, every poll interval is the user's wait).
      const waiting = playing && playhead !== null && !this.cache.has(Math.floor(playhead / CHUNK_FRAMES));
      await new Promise((r) => setTimeout(r, worked ? rest : waiting ? 20 : 100));
    }
  }

  private appendTap(msg: Extract<FromSyncWorklet, { type: 'tap' }>): void {
    if (this.quanta.length < 200_000) {
      // Shifted stems are heard `lead` frames after the quantum that fed them.
      this.quanta.push([
        msg.ctxFrame + msg.lead,
        msg.positions[0],
        msg.remixed.every((r) => r === 1) ? 1 : 0,
      ]);
      // Where stems start within the message (after the page's audio), that frame too: when they
      // start is measured to the frame, not to the message.
      const first = msg.positions[0] < 0 ? msg.positions.findIndex((p) => p >= 0) : -1;
      if (first > 0) this.quanta.push([msg.ctxFrame + msg.lead + first, msg.positions[first], 0]);
    }
    this.tapData ??= new Recorder(msg.ctxFrame, TAP_LIMIT_S * SAMPLE_RATE);
    this.tapData.add(msg);
  }
}
