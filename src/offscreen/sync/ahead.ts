/**
 * Separation ahead of the playhead: picks the first chunk at or after the element's position that
 * the cache lacks and separates forward from there (playhead first, up to `EAGER_S` ahead), then
 * the decoded audio just behind the playhead (`BACKFILL_S`: the passage a player goes back to —
 * after switching on, or to play a phrase again), then further ahead while decoded audio and time
 * allow, up to `AHEAD_S`. A job is one continuous run of the shared
 * ChunkedSeparator from a chunk boundary (behind a streaming resampler for 48-kHz Opus); a seek
 * elsewhere abandons it for a new one where the playhead now is.
 *
 * Everything it needs is injected (timeline, separator, resampler), so the scheduling is unit-tested
 * with fakes; `session` wires in the real ones.
 */
import { CHUNK_FRAMES, type StemCache } from './stem-cache';

export const MODEL_RATE = 44_100;
/** Separate at most this far ahead of the playhead (seconds); the cache keeps this much. */
export const AHEAD_S = 90;
/**
 * Up to this far ahead (seconds) separation runs flat out; beyond it at half duty (the caller
 * rests as long as each step took), so that the page, its decoder and the audio threads keep
 * their share of a small machine while the cache still fills "while the machine has time".
 */
export const EAGER_S = 20;
/** Keep separated stems this far behind the playhead (seconds) for seeking back and loops. */
export const BEHIND_S = 30;
/**
 * Separate audio this far behind the playhead (seconds) that has not been (it played before the
 * remix was switched on, or a seek jumped over it), once the eager window ahead is full.
 */
export const BACKFILL_S = 15;
/**
 * A job filling in behind the playhead goes on until the stems ahead of the playhead are shorter
 * than this (seconds): a job restart costs a segment's warm-up, so the two do not take turns per chunk.
 */
const BACKFILL_YIELD_S = EAGER_S / 2;
/** Seconds from a job's start to its first chunk, before any is measured (a short first segment). */
export const FIRST_OUTPUT_GUESS_S = 1.5;
/** Input block fed to the separator per step: 0.1 s (4800 source frames at 48 kHz). */
const BLOCK = 4410;
/**
 * A new job's first block, where the audio is at hand: 2.5 s, the in-sync remix's first segment —
 * its first stems wait for that much input anyway, and one request instead of 25 round trips to
 * the worker, each behind a busy thread, brings them sooner.
 */
const FIRST_BLOCK = 25 * BLOCK;

/** The decoded audio of the MediaSource playing now. */
export interface AheadSource {
  /** Sample rate of the decoded audio at media time `t` (null: none decoded there). */
  rateAt(t: number): number | null;
  /** `count` frames at `rate` from media time `t`, stereo, or null unless all decoded at that rate. */
  read(t: number, count: number, rate: number): Float32Array[] | null;
  /** No more audio will come after what is decoded (end of stream). */
  readonly ended: boolean;
}

/** What `nextMissing` knows of the audio (see there). */
export interface NextOptions {
  readonly decoded?: (k: number) => boolean;
  readonly ended?: boolean;
  readonly eager?: number;
}

/** Is chunk k's audio at hand (decoded at its first and last frame)? */
function decodedIn(source: AheadSource): (k: number) => boolean {
  return (k) => {
    const t = (k * CHUNK_FRAMES) / MODEL_RATE;
    return source.rateAt(t) !== null && source.rateAt(t + (CHUNK_FRAMES - 1) / MODEL_RATE) !== null;
  };
}

export interface StreamSeparator {
  push(block: readonly Float32Array[]): Promise<Record<string, Float32Array[]> | null>;
  flush(): Promise<Record<string, Float32Array[]> | null>;
  /** Frees what the separator holds (optional: an in-thread separator needs nothing). */
  end?(): void;
}

export interface AheadDeps {
  /**
   * A separator for a job whose input comes at `rate` (it resamples to the model's rate itself,
   * time-aligned: output frame j is the job's start + j/44100 s).
   */
  newSeparator(rate: number): Promise<StreamSeparator>;
  /** Output stems in the worklet's order. */
  readonly stems: readonly string[];
  readonly channels: number;
}

interface Job {
  /** First media frame (a chunk boundary). */
  readonly start: number;
  readonly rate: number;
  /** Next media frame to read (model rate). */
  inPos: number;
  /** Next media frame the separator will emit. */
  outPos: number;
  readonly separator: StreamSeparator;
  /** The chunk being filled: stem j, channel c at [j·channels + c]. */
  partial: Float32Array[];
  finished: boolean;
  /** `performance.now()` at its start (the time to its first output is measured). */
  readonly createdAt: number;
}

export class AheadSeparator {
  private job: Job | null = null;
  /** Counts `abandon()`s: a step whose job was abandoned while it awaited puts nothing. */
  private generation = 0;
  /**
   * Chunks no job can fill: the chunk where a codec or rate change cut a job short. The remix plays
   * the page's own audio there (a fifth of a second), rather than a job restarting on them forever.
   */
  private readonly unseparable = new Set<number>();
  /** Seconds spent separating and media seconds produced (load = busy / produced). */
  busySeconds = 0;
  producedSeconds = 0;
  /**
   * Seconds from a job's start to its first chunk, as last measured (a first guess until then, for
   * a short first segment on a small machine): how far ahead of a moving playhead a new job starts.
   */
  firstOutputSeconds = FIRST_OUTPUT_GUESS_S;

  constructor(
    private readonly cache: StemCache,
    private readonly deps: AheadDeps,
    /** Called for each chunk put in the cache. */
    private readonly onChunk: (k: number) => void,
  ) {}

  /**
   * The chunk to separate next for `playhead` (media frame). Ahead, the first missing chunk within
   * AHEAD_S (`ended`: past the decoded audio nothing more comes, so none there is missing). That
   * chunk, if it lies within `eager` seconds — unless its audio has not arrived yet while at least
   * BACKFILL_YIELD_S of stems are ready (then waiting for it can wait). Otherwise, given `decoded`
   * (is chunk k's audio at hand?), the first missing decoded chunk within BACKFILL_S behind; else
   * that first missing chunk ahead.
   */
  nextMissing(playhead: number, at: NextOptions = {}): number | null {
    const { decoded, ended = false, eager = EAGER_S } = at;
    const k0 = Math.floor(Math.max(0, playhead) / CHUNK_FRAMES);
    const chunks = (s: number) => Math.ceil((s * MODEL_RATE) / CHUNK_FRAMES);
    const missing = (k: number) => k >= 0 && !this.cache.has(k) && !this.unseparable.has(k);
    let ahead: number | null = null;
    for (let k = k0; k < k0 + chunks(AHEAD_S) && ahead === null; k++)
      if (missing(k) && (!ended || !decoded || decoded(k))) ahead = k;
    if (
      ahead !== null &&
      ahead < k0 + chunks(eager) &&
      (!decoded || decoded(ahead) || ahead < k0 + chunks(BACKFILL_YIELD_S))
    )
      return ahead;
    if (decoded) for (let k = k0 - chunks(BACKFILL_S); k < k0; k++) if (missing(k) && decoded(k)) return k;
    return ahead;
  }

  /** Drops chunks outside [playhead − BEHIND_S, playhead + AHEAD_S]. */
  prune(playhead: number): void {
    const k0 = Math.floor(playhead / CHUNK_FRAMES);
    const from = k0 - Math.ceil((BEHIND_S * MODEL_RATE) / CHUNK_FRAMES);
    const to = k0 + Math.ceil((AHEAD_S * MODEL_RATE) / CHUNK_FRAMES) + 1;
    this.cache.prune(from, to);
    for (const k of this.unseparable) if (k < from || k >= to) this.unseparable.delete(k);
  }

  /** Is the next missing chunk beyond the eager window (so the caller should rest between steps)? */
  relaxed(source: AheadSource, playhead: number): boolean {
    const k = this.nextMissing(playhead, { decoded: decodedIn(source), ended: source.ended });
    return k !== null && k * CHUNK_FRAMES > playhead + EAGER_S * MODEL_RATE;
  }

  /**
   * One step toward the stems the playhead needs: true if it did work (call again at once), false
   * if it waits (nothing missing, or the audio is not decoded yet).
   */
  async step(source: AheadSource, playhead: number, lead = 0): Promise<boolean> {
    const decoded = decodedIn(source);
    const job = this.job;
    const backfilling = job !== null && !job.finished && job.start < playhead;
    const k = this.nextMissing(playhead, {
      decoded,
      ended: source.ended,
      eager: backfilling ? BACKFILL_YIELD_S : EAGER_S,
    });
    if (k === null) return false;
    const want = k * CHUNK_FRAMES;
    const behind = want + CHUNK_FRAMES <= playhead;
    // The running job will produce `want` soon if it lies between the chunk the job is filling and
    // a little past its input; a job started ahead of the playhead (the lead) is kept too.
    const filling = job ? Math.floor(job.outPos / CHUNK_FRAMES) * CHUNK_FRAMES : 0;
    const continues =
      job !== null &&
      !job.finished &&
      ((want >= filling && want <= job.inPos + 8 * MODEL_RATE) ||
        (job.start > playhead && job.start <= playhead + lead + MODEL_RATE));
    if (!continues) {
      this.abandon();
      // Playhead first, but where the playhead will be when the first output arrives (`lead`):
      // stems for audio that has played by then are of no use. Behind the playhead: from the gap's start.
      const kStart = behind ? k : (this.nextMissing(playhead + lead, { decoded, ended: source.ended }) ?? k);
      const start = kStart * CHUNK_FRAMES;
      const rate = source.rateAt(start / MODEL_RATE);
      if (rate === null) return false;
      const generation = this.generation;
      const separator = await this.deps.newSeparator(rate);
      // Abandoned while the separator was being made (a seek, another MediaSource): not this job's.
      if (generation !== this.generation) {
        separator.end?.();
        return true;
      }
      this.job = {
        start,
        rate,
        inPos: start,
        outPos: start,
        separator,
        partial: [],
        finished: false,
        createdAt: performance.now(),
      };
    }
    const worked = await this.advance(source);
    // Audio behind the playhead that cannot be read on (a hole after it) is left to the page's own
    // audio, rather than holding up the separation ahead.
    if (!worked && behind && this.job?.start === want) {
      this.unseparable.add(k);
      this.abandon();
    }
    return worked;
  }

  /** Ends the job (after a seek elsewhere, or when the session ends). */
  abandon(): void {
    this.job?.separator.end?.();
    this.job = null;
    this.generation++;
  }

  private async advance(source: AheadSource): Promise<boolean> {
    const job = this.job;
    if (!job) return false;
    const t = job.inPos / MODEL_RATE;
    const read = (frames: number) => source.read(t, Math.round((frames * job.rate) / MODEL_RATE), job.rate);
    let block = job.inPos === job.start ? FIRST_BLOCK : BLOCK;
    let input = read(block);
    if (!input && block !== BLOCK) {
      block = BLOCK;
      input = read(block);
    }
    const t0 = performance.now();
    let out: Record<string, Float32Array[]> | null;
    let ended = false;
    if (input) {
      job.inPos += block;
      out = await job.separator.push(input);
    } else if (source.ended || (source.rateAt(t) !== null && source.rateAt(t) !== job.rate)) {
      // The end of the stream, or a codec/rate change: separate what is left; a new job takes over.
      ended = source.ended;
      out = await job.separator.flush();
      job.finished = true;
    } else {
      return false;
    }
    // Abandoned meanwhile (a seek, another MediaSource, the end): its output goes nowhere.
    if (this.job !== job) return true;
    if (out) this.take(job, out);
    this.busySeconds += (performance.now() - t0) / 1000;
    if (job.finished) this.finish(job, ended);
    return true;
  }

  /**
   * A job ran out: at the end of the stream its last chunk is kept, silent past the end (where the
   * element plays nothing either); otherwise the chunk it left unfilled is marked unseparable.
   */
  private finish(job: Job, ended: boolean): void {
    const k = Math.floor(job.outPos / CHUNK_FRAMES);
    if (job.partial.length > 0 && ended) {
      this.cache.put(k, job.partial);
      this.onChunk(k);
    } else if (!this.cache.has(k)) {
      this.unseparable.add(k);
    }
    this.abandon();
  }

  /** Appends separated output to the job's partial chunk; completed chunks go to the cache. */
  private take(job: Job, out: Record<string, Float32Array[]>): void {
    const { stems, channels } = this.deps;
    const data = stems.flatMap((s) => out[s]);
    if (data.length !== stems.length * channels) throw new Error('separator output lacks a stem');
    const n = data[0].length;
    this.producedSeconds += n / MODEL_RATE;
    let at = 0;
    while (at < n) {
      const k = Math.floor(job.outPos / CHUNK_FRAMES);
      const offset = job.outPos - k * CHUNK_FRAMES;
      if (job.partial.length === 0) job.partial = data.map(() => new Float32Array(CHUNK_FRAMES));
      const take = Math.min(CHUNK_FRAMES - offset, n - at);
      for (let a = 0; a < data.length; a++) job.partial[a].set(data[a].subarray(at, at + take), offset);
      at += take;
      job.outPos += take;
      if (offset + take === CHUNK_FRAMES) {
        if (k * CHUNK_FRAMES === job.start)
          this.firstOutputSeconds = (performance.now() - job.createdAt) / 1000;
        // A job running on into stems already made (the end of a gap) keeps the ones the worklet has.
        if (!this.cache.has(k)) {
          this.cache.put(k, job.partial);
          this.onChunk(k);
        }
        job.partial = [];
      }
    }
  }
}
