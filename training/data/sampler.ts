/**
 * Training batches with Open-Unmix's augmentations, seeded (mulberry32) so that the same table,
 * options and seed give bit-identical batches on every machine:
 *
 * - random chunks of `chunkSeconds` (uniform start; a track shorter than a chunk is zero-padded);
 * - a random gain per source, uniform in [0.25, 1.25];
 * - a random left/right swap per source with probability 0.5;
 * - with `randomTrackMix`, every source from its own random track and start ("random track mix");
 *   without it, all sources of an example share one track and one start (a coherent excerpt —
 *   Open-Unmix draws a start per source even then).
 *
 * The mixture of an example is the sum of its augmented sources (all of them, not only the targets),
 * so the targets always add up to the mixture when every source is a target.
 */
import { CHANNELS, SAMPLE_RATE } from '../../src/core/audio';
import { mulberry32 } from '../../src/core/random';
import { type TrackTable, tableTargets } from './table';
import { BadDataError } from './track';

export interface SamplerOptions {
  readonly seed: number;
  /** Chunk length in seconds (Open-Unmix's default sequence duration is 6 s). */
  readonly chunkSeconds: number;
  readonly batchSize: number;
  /** Stems returned as training targets; each must be one of the sources. */
  readonly targets: readonly string[];
  /** Stems summed into the mixture; default: every target that occurs in the table. */
  readonly sources?: readonly string[];
  /** Draw every source from its own random track and start. */
  readonly randomTrackMix: boolean;
  /** Indices into the table to draw from (e.g. the train split); default all. */
  readonly tracks?: readonly number[];
  /**
   * Instead of `tracks`: several pools of track indices (e.g. one per dataset), each source's track
   * drawn from a pool chosen with probability proportional to its weight, so a large generated set
   * does not drown a small real one.
   */
  readonly pools?: readonly { readonly tracks: readonly number[]; readonly weight: number }[];
  /** Gain range per source, default [0.25, 1.25]. */
  readonly gain?: readonly [number, number];
  /** Probability of swapping left and right per source, default 0.5. */
  readonly channelSwap?: number;
}

/** How one source of one example was made (for tests, debugging and logs). */
export interface SourceDraw {
  readonly track: number;
  readonly start: number;
  readonly gain: number;
  readonly swapped: boolean;
}

/**
 * One batch, planar: element (b, c, i) of `mixture` and of each target lives at
 * `(b * channels + c) * length + i` — the layout of a [batch, channel, time] tensor.
 */
export interface Batch {
  readonly batchSize: number;
  readonly channels: number;
  readonly length: number;
  readonly mixture: Float32Array;
  readonly targets: Record<string, Float32Array>;
  /** draws[b][source]: how source `source` of example b was drawn. */
  readonly draws: Record<string, SourceDraw>[];
}

/**
 * Where a sampler is in its seeded stream, as plain JSON (for training checkpoints): the seed and the
 * number of random numbers drawn so far. `restore` replays that many draws of the shared PRNG
 * (src/core/random.ts), a few microseconds per thousand batches.
 */
export interface SamplerState {
  readonly seed: number;
  readonly draws: number;
}

export interface Sampler {
  readonly sources: readonly string[];
  readonly targets: readonly string[];
  readonly chunkLength: number;
  /** The next batch of the seeded stream. */
  next(): Batch;
  /** The stream position after the batches returned so far. */
  state(): SamplerState;
  /** Continues the stream from `state` (same table and options; the seed must match). */
  restore(state: SamplerState): void;
}

export function createSampler(table: TrackTable, opts: SamplerOptions): Sampler {
  const sources = [...(opts.sources ?? tableTargets(table))];
  const targets = [...opts.targets];
  for (const t of targets) {
    if (!sources.includes(t))
      throw new Error(`target "${t}" is not a source (sources: ${sources.join(', ')})`);
  }
  if (sources.length === 0) throw new Error('no sources to mix');
  if (!(opts.chunkSeconds > 0)) throw new Error(`chunkSeconds must be positive, got ${opts.chunkSeconds}`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  if (opts.tracks && opts.pools) throw new Error('give tracks or pools, not both');
  const pools = (opts.pools ?? [{ tracks: opts.tracks ?? table.tracks.map((_, i) => i), weight: 1 }]).map(
    (p) => ({ tracks: [...p.tracks], weight: p.weight }),
  );
  for (const p of pools) {
    if (p.tracks.length === 0) throw new Error('no tracks to sample from');
    if (!(p.weight > 0) || !Number.isFinite(p.weight))
      throw new Error(`pool weight must be positive, got ${p.weight}`);
    for (const i of p.tracks) if (!table.tracks[i]) throw new Error(`no track ${i} in the table`);
  }
  const totalWeight = pools.reduce((a, p) => a + p.weight, 0);
  const [gainLow, gainHigh] = opts.gain ?? [0.25, 1.25];
  const swapP = opts.channelSwap ?? 0.5;
  const n = Math.round(opts.chunkSeconds * SAMPLE_RATE);
  let prng = mulberry32(opts.seed);
  let drawn = 0;
  const rand = () => {
    drawn++;
    return prng();
  };
  const pickPool = () => {
    if (pools.length === 1) return pools[0].tracks; // no draw: single-pool streams stay as they were
    let u = rand() * totalWeight;
    for (const p of pools) {
      u -= p.weight;
      if (u < 0) return p.tracks;
    }
    return pools[pools.length - 1].tracks;
  };
  const pickTrack = () => {
    const pool = pickPool();
    return pool[Math.floor(rand() * pool.length)];
  };
  const pickStart = (track: number) => {
    const u = rand(); // drawn even when unused, so one short track does not shift the whole stream
    const span = table.tracks[track].length - n;
    return span > 0 ? Math.floor(u * (span + 1)) : 0;
  };

  const scratch = new Float32Array(n);

  const next = (): Batch => {
    const size = opts.batchSize * CHANNELS * n;
    const mixture = new Float32Array(size);
    const out: Record<string, Float32Array> = Object.fromEntries(
      targets.map((t) => [t, new Float32Array(size)]),
    );
    const draws: Record<string, SourceDraw>[] = [];
    for (let b = 0; b < opts.batchSize; b++) {
      const shared = opts.randomTrackMix ? undefined : pickTrack();
      const sharedStart = shared === undefined ? 0 : pickStart(shared);
      const example: Record<string, SourceDraw> = {};
      for (const source of sources) {
        const track = shared ?? pickTrack();
        const start = shared === undefined ? pickStart(track) : sharedStart;
        const gain = gainLow + rand() * (gainHigh - gainLow);
        const swapped = rand() < swapP;
        example[source] = { track, start, gain, swapped };
        const chunk = table.readChunk(track, source, start, n);
        const target = out[source];
        for (let c = 0; c < CHANNELS; c++) {
          const src = chunk[swapped ? CHANNELS - 1 - c : c];
          const off = (b * CHANNELS + c) * n;
          const mix = mixture.subarray(off, off + n);
          // Rounded to float32 before summing, so the mixture is exactly the sum of the returned targets.
          const dst = target ? target.subarray(off, off + n) : scratch;
          for (let i = 0; i < n; i++) dst[i] = src[i] * gain;
          for (let i = 0; i < n; i++) mix[i] += dst[i];
        }
      }
      draws.push(example);
    }
    checkBatchFinite(table, mixture, draws, n);
    return { batchSize: opts.batchSize, channels: CHANNELS, length: n, mixture, targets: out, draws };
  };

  const state = (): SamplerState => ({ seed: opts.seed, draws: drawn });
  const restore = (st: SamplerState): void => {
    if (st.seed !== opts.seed)
      throw new Error(`sampler state has seed ${st.seed}, this sampler ${opts.seed}`);
    if (!Number.isSafeInteger(st.draws) || st.draws < 0)
      throw new Error(`bad sampler state draws ${st.draws}`);
    prng = mulberry32(opts.seed);
    for (let i = 0; i < st.draws; i++) prng();
    drawn = st.draws;
  };

  return { sources, targets, chunkLength: n, next, state, restore };
}

/**
 * Any non-finite source sample makes the mixture non-finite (gains are finite and positive), so one
 * pass over the mixture guards the whole batch; the culprit is then named.
 */
function checkBatchFinite(
  table: TrackTable,
  mixture: Float32Array,
  draws: Record<string, SourceDraw>[],
  n: number,
): void {
  for (let j = 0; j < mixture.length; j++) {
    if (!Number.isNaN(mixture[j] - mixture[j])) continue;
    const b = Math.floor(j / (CHANNELS * n));
    for (const [source, d] of Object.entries(draws[b])) {
      const chunk = table.readChunk(d.track, source, d.start, n);
      if (chunk.some((x) => x.some((v) => !Number.isFinite(v)))) {
        throw new BadDataError(
          `${table.tracks[d.track].name}/${source}`,
          `non-finite samples in ${(n / SAMPLE_RATE).toFixed(1)} s from ${(d.start / SAMPLE_RATE).toFixed(2)} s`,
        );
      }
    }
    throw new Error(`non-finite mixture sample in example ${b} with finite sources`);
  }
}
