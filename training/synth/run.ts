/**
 * A generator run: plans songs until the requested hours are reached (deterministically from the seed),
 * renders them on a pool of worker threads (one song per core; each song renders its soundfont groups
 * in parallel FluidSynth processes) and writes the run manifest `<out>/synth-manifest.json`.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { writeFileAtomic } from '../node/atomic';
import { checkSynthSetup, SOUNDFONTS, type SoundfontInfo } from './fluidsynth';
import { checkGuitarix } from './guitarix';
import {
  listMusdb,
  listRecordings,
  type MusdbSource,
  musdbSeconds,
  musdbSubsetFor,
  type RealPart,
  type Recording,
} from './real';
import { deriveSeed, Rng } from './rng';
import {
  type AmpModel,
  renderSong,
  type SongContext,
  type SongResult,
  type SongSpec,
  SYNTH_FORMAT_VERSION,
} from './song';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** `$STEMDECK_DATA` or `../shared/data` beside the repository. */
export function defaultDataRoot(): string {
  return process.env.STEMDECK_DATA ?? resolve(REPO_ROOT, '../shared/data');
}

export interface SynthRunOptions {
  hours: number;
  seed: number;
  out: string;
  /** Worker threads; 0 renders in this thread (tests). Default: one per core. */
  workers?: number;
  /** Fraction of songs that take real MUSDB18 drums, bass and vocals (default 0.5). */
  realFraction?: number;
  /** Per song and per instrument, probability that guitar / piano is real recordings (default 0.3). */
  recordingFraction?: number;
  /** Length range of fully synthetic songs, seconds (default [30, 75]). */
  songSeconds?: [number, number];
  soundfonts?: string[];
  format?: 'float32' | 'pcm16';
  keepMidi?: boolean;
  /** Electric guitar's amp (default `builtin`; `guitarix` needs lv2file and guitarix-lv2). */
  amp?: AmpModel;
  /** Which real audio to draw (`real.ts`): `train` / `test` share no recording or MUSDB18 track. */
  realPart?: RealPart;
  /** MUSDB18 root (`<root>/{train,test}/*.stem.mp4`); null: none. Default `<data>/musdb18-7`. */
  musdbRoot?: string | null;
  /** Isolated recordings root (`<root>/{guitar,piano}/<collection>/*`); null: none. */
  instrumentsRoot?: string | null;
  onSong?: (result: SongResult, done: number, total: number) => void;
  onNote?: (message: string) => void;
}

export interface SynthRunSummary {
  songs: SongResult[];
  seconds: number;
  out: string;
}

export const DEFAULTS = {
  realFraction: 0.5,
  recordingFraction: 0.3,
  songSeconds: [30, 75] as [number, number],
  format: 'float32' as const,
  realPart: 'all' as RealPart,
  amp: 'builtin' as AmpModel,
};

export async function planSongs(
  opts: Pick<SynthRunOptions, 'hours' | 'seed' | 'realFraction' | 'songSeconds'>,
  musdb: MusdbSource[],
): Promise<SongSpec[]> {
  const total = opts.hours * 3600;
  const [lo, hi] = opts.songSeconds ?? DEFAULTS.songSeconds;
  const realFraction = opts.realFraction ?? DEFAULTS.realFraction;
  const specs: SongSpec[] = [];
  let acc = 0;
  for (let i = 0; acc < total - 0.5; i++) {
    const rng = new Rng(deriveSeed(opts.seed, 'plan', i));
    const wanted = rng.range(lo, hi);
    const hybrid = musdb.length > 0 && rng.chance(realFraction);
    const name = `synth-${opts.seed}-${String(i).padStart(5, '0')}`;
    const remaining = total - acc;
    if (hybrid) {
      const src = rng.pick(musdb);
      const dur = await musdbSeconds(src);
      const len = Math.floor(Math.min(dur - 0.1, wanted, Math.max(remaining, 2)) * 10) / 10;
      const start = Math.floor(rng.range(0, Math.max(0, dur - 0.1 - len)) * 100) / 100;
      specs.push({
        index: i,
        name,
        kind: 'hybrid',
        seconds: len,
        musdb: { path: src.path, name: src.name, start },
      });
      acc += len;
    } else {
      const len = Math.round(Math.max(2, Math.min(wanted, remaining)) * 10) / 10;
      specs.push({ index: i, name, kind: 'synthetic', seconds: len });
      acc += len;
    }
  }
  return specs;
}

function runOnWorker(worker: Worker, spec: SongSpec): Promise<SongResult> {
  return new Promise((resolvePromise, reject) => {
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (msg: { ok: true; result: SongResult } | { ok: false; error: string }) => {
      cleanup();
      if (msg.ok) resolvePromise(msg.result);
      else reject(new Error(`${spec.name}: ${msg.error}`));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new Error(`${spec.name}: worker failed: ${err.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`${spec.name}: worker exited with code ${code}`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(spec);
  });
}

export async function runSynth(opts: SynthRunOptions): Promise<SynthRunSummary> {
  if (!(opts.hours > 0)) throw new Error('--hours must be positive');
  const soundfonts: SoundfontInfo[] = await checkSynthSetup(opts.soundfonts ?? SOUNDFONTS.map((s) => s.id));
  const note = opts.onNote ?? (() => undefined);
  const dataRoot = defaultDataRoot();
  const musdbRoot = opts.musdbRoot === undefined ? join(dataRoot, 'musdb18-7') : opts.musdbRoot;
  const instrumentsRoot =
    opts.instrumentsRoot === undefined ? join(dataRoot, 'instruments') : opts.instrumentsRoot;
  const realPart = opts.realPart ?? DEFAULTS.realPart;
  const musdbSubset = musdbSubsetFor(realPart);
  const musdb =
    musdbRoot && (opts.realFraction ?? DEFAULTS.realFraction) > 0
      ? await listMusdb(musdbRoot, musdbSubset)
      : [];
  if (musdbRoot && musdb.length === 0 && (opts.realFraction ?? DEFAULTS.realFraction) > 0) {
    note(`note: no MUSDB18 ${musdbSubset} tracks in ${musdbRoot}: every song is fully synthetic`);
  }
  const recordingFraction = opts.recordingFraction ?? DEFAULTS.recordingFraction;
  let recordings: Recording[] = [];
  if (instrumentsRoot && recordingFraction > 0) {
    if (existsSync(instrumentsRoot)) recordings = await listRecordings(instrumentsRoot, realPart);
    if (recordings.length === 0)
      note(`note: no guitar/piano recordings in ${instrumentsRoot}: MIDI parts only`);
  }
  if (opts.amp === 'guitarix') checkGuitarix();
  const specs = await planSongs(opts, musdb);
  const out = resolve(opts.out);
  await mkdir(out, { recursive: true });
  const ctx: SongContext = {
    seed: opts.seed,
    out,
    soundfonts,
    recordings,
    recordingFraction,
    format: opts.format ?? DEFAULTS.format,
    keepMidi: opts.keepMidi ?? true,
    amp: opts.amp ?? DEFAULTS.amp,
  };
  const results: SongResult[] = new Array(specs.length);
  let done = 0;
  const finish = (i: number, r: SongResult) => {
    results[i] = r;
    opts.onSong?.(r, ++done, specs.length);
  };
  const workers = Math.min(opts.workers ?? availableParallelism(), specs.length);
  if (workers <= 0) {
    for (let i = 0; i < specs.length; i++) finish(i, await renderSong(specs[i], ctx));
  } else {
    let next = 0;
    const lane = async () => {
      const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: { ctx } });
      try {
        for (let i = next++; i < specs.length; i = next++) finish(i, await runOnWorker(worker, specs[i]));
      } finally {
        await worker.terminate();
      }
    };
    await Promise.all(Array.from({ length: workers }, lane));
  }
  const seconds = results.reduce((s, r) => s + r.seconds, 0);
  const manifest = {
    format: 'stemdeck-synth-run',
    version: SYNTH_FORMAT_VERSION,
    seed: opts.seed,
    hours: opts.hours,
    options: {
      realFraction: opts.realFraction ?? DEFAULTS.realFraction,
      recordingFraction,
      songSeconds: opts.songSeconds ?? DEFAULTS.songSeconds,
      format: ctx.format,
      realPart,
      amp: ctx.amp,
    },
    soundfonts: soundfonts.map((s) => ({ id: s.id, file: s.path, debianPackage: s.debianPackage })),
    sources: {
      musdb18:
        musdb.length > 0
          ? { subset: musdbSubset, tracks: musdb.length, stems: ['drums', 'bass', 'vocals'] }
          : null,
      recordings: recordings.map((r) => ({
        file: r.file,
        instrument: r.instrument,
        seconds: Math.round(r.seconds * 100) / 100,
        di: r.di,
      })),
    },
    songs: results.map((r) => ({
      name: r.name,
      kind: r.kind,
      seconds: r.seconds,
      mixtureLufs: r.mixture.lufs,
      stems: Object.fromEntries(
        Object.entries(r.stems).map(([k, v]) => [k, { source: v.source, lufs: v.lufs }]),
      ),
    })),
    totalSeconds: Math.round(seconds * 10) / 10,
  };
  await writeFileAtomic(join(out, 'synth-manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { songs: results, seconds, out };
}
