/**
 * Real amp and pedal models for the generator's electric guitar: guitarix's LV2 plugins (Debian
 * `guitarix-lv2`, circuit-derived tube and pedal simulations) run over a part by `lv2file` (Debian),
 * as the alternative to `ampChain`'s hand-written drive and tone stage (`npm run synth -- --amp
 * guitarix`). Issue 20 asks which of the two brings generated and DI guitar closer to recorded
 * guitar; the answer is measured by training on each (docs/experiments/).
 *
 * Why a process per part and not a library: the plugins are C++ shared objects for an LV2 host;
 * `lv2file` is that host for files. guitarix's convolving plugins (`gx_amp`, `gx_cabinet`) crash
 * in `lv2file` (it offers no block-length options), so the cabinet stays the hand-written one
 * (`cabinet` in dsp.ts) after the guitarix amp, in both variants alike.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SAMPLE_RATE } from '../../src/core/audio';
import { errorText } from '../../src/core/errors';
import { readWav, writeWav } from '../node/audio-io';
import { type AmpSettings, cabinet, peakOf } from './dsp';
import { SynthSetupError } from './fluidsynth';
import type { Rng } from './rng';

const GX = 'http://guitarix.sourceforge.net/plugins/';
const run = promisify(execFile);

/** One plugin and its control values. */
export interface LV2Stage {
  readonly uri: string;
  readonly params: Readonly<Record<string, number>>;
}

export interface GuitarixSettings {
  /** Input level into the chain, dBFS peak (guitar pickups drive amps from about −12 to −6). */
  readonly inputDb: number;
  readonly pedal: LV2Stage | null;
  readonly amp: LV2Stage;
}

type Ranges = Readonly<Record<string, readonly [number, number]>>;
interface PluginChoice {
  readonly uri: string;
  readonly ranges: Ranges;
  /** Fixed controls (bypass switches and the like). */
  readonly fixed?: Readonly<Record<string, number>>;
}

/**
 * Overdrive and distortion pedals in front of a high-gain amp (half of high-gain parts). Ranges: where
 * each control audibly works (a 220-Hz sine at −9 dBFS: harmonics 2, 3 and 5 against the fundamental).
 */
const PEDALS: readonly PluginChoice[] = [
  { uri: `${GX}gxts9#ts9sim`, ranges: { fslider0_: [-8, 0], fslider1_: [300, 900], fslider2_: [0.5, 1] } },
  { uri: `${GX}gx_bossds1_#_bossds1_`, ranges: { TONE: [0.3, 0.7], DRIVE: [0.5, 1] }, fixed: { BYPASS: 1 } },
  { uri: `${GX}gx_mxrdist_#_mxrdist_`, ranges: { DRIVE: [0.6, 1] } },
];

/** Crunch to high-gain amps. */
const HIGH_GAIN_AMPS: readonly PluginChoice[] = [
  { uri: `${GX}gxmetal_amp#metal_amp`, ranges: { TONE: [0.3, 0.7], DRIVE: [10, 20], PREGAIN: [0, 20] } },
  { uri: `${GX}gxmetal_head#metal_head`, ranges: { TONE: [0.3, 0.7], DRIVE: [0.6, 1], PREGAIN: [0, 20] } },
  {
    uri: `${GX}gx_jcm800pre_#_jcm800pre_`,
    ranges: { P6v: [0.6, 1], Bass: [0.3, 0.7], Middle: [0.2, 0.7], Treble: [0.3, 0.7] },
  },
  { uri: `${GX}gx_redeye#chump`, ranges: { Gain: [0.6, 1], Tone: [0.3, 0.7] } },
  { uri: `${GX}gx_redeye#bigchump`, ranges: { Gain: [0.7, 1], Tone: [0.3, 0.7] } },
];

/** Clean to edge-of-breakup amps. */
const CLEAN_AMPS: readonly PluginChoice[] = [
  { uri: `${GX}gx_redeye#chump`, ranges: { Gain: [0.05, 0.3], Tone: [0.3, 0.7] } },
  { uri: `${GX}gx_redeye#bigchump`, ranges: { Gain: [0.1, 0.4], Tone: [0.3, 0.7] } },
  { uri: `${GX}gx_redeye#vibrochump`, ranges: { Gain: [0.1, 0.4], Tone: [0.3, 0.7], Intensity: [0, 4] } },
  {
    uri: `${GX}gx_studiopre#studiopre`,
    ranges: { volume: [0.3, 0.7], bass: [0.3, 0.7], treble: [0.3, 0.7] },
    fixed: { bright: 0 },
  },
  {
    uri: `${GX}gx_jcm800pre_#_jcm800pre_`,
    ranges: { P6v: [0.1, 0.4], Bass: [0.3, 0.7], Middle: [0.3, 0.7], Treble: [0.3, 0.7] },
  },
];

function draw(rng: Rng, choice: PluginChoice): LV2Stage {
  const params: Record<string, number> = { ...choice.fixed };
  for (const [name, [lo, hi]] of Object.entries(choice.ranges)) params[name] = round3(rng.range(lo, hi));
  return { uri: choice.uri, params };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** A random guitarix chain: an amp of the part's kind, a pedal before half of the high-gain ones. */
export function randomGuitarix(rng: Rng, highGain: boolean): GuitarixSettings {
  const inputDb = round3(rng.range(-12, -6));
  const pedal = highGain && rng.chance(0.5) ? draw(rng, rng.pick(PEDALS)) : null;
  const amp = draw(rng, rng.pick(highGain ? HIGH_GAIN_AMPS : CLEAN_AMPS));
  return { inputDb, pedal, amp };
}

export class GuitarixError extends Error {
  override name = 'GuitarixError';
}

/** Throws a `SynthSetupError` that says what to install when `lv2file` or the plugins are missing. */
export function checkGuitarix(): void {
  const r = spawnSync('lv2file', ['-n', `${GX}gxts9#ts9sim`], { encoding: 'utf8' });
  // lv2file exits 1 after listing ports: the listing itself is the check.
  if (r.error || !/Control Ports/.test(r.stdout ?? ''))
    throw new SynthSetupError(
      '--amp guitarix needs lv2file and guitarix-lv2 (Debian): bash scripts/install-system-deps.sh --data',
    );
}

/**
 * Guitar amp and cabinet for a mono DI-like signal, in place: the input set to `inputDb` peak, the
 * pedal and amp plugins, the output back to a peak of 0.9 (the level `ampChain` gives), then the
 * hand-written cabinet of `cab`.
 */
export async function guitarixChain(x: Float32Array, s: GuitarixSettings, cab: AmpSettings): Promise<void> {
  const peak = peakOf([x]);
  if (peak === 0) return;
  const gain = 10 ** (s.inputDb / 20) / peak;
  const dir = await mkdtemp(join(tmpdir(), 'stemdeck-gx-'));
  try {
    let current = join(dir, 'in.wav');
    const input = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) input[i] = x[i] * gain;
    await writeWav(current, { sampleRate: SAMPLE_RATE, channels: [input] });
    for (const [k, stage] of [s.pedal, s.amp].entries()) {
      if (!stage) continue;
      const out = join(dir, `stage${k}.wav`);
      const args = ['-i', current, '-o', out, '--ignore-clipping'];
      for (const [name, v] of Object.entries(stage.params)) args.push('-p', `${name}:${v}`);
      args.push(stage.uri);
      try {
        await run('lv2file', args, { maxBuffer: 1 << 20 });
      } catch (err) {
        throw new GuitarixError(`lv2file ${stage.uri} failed: ${errorText(err).slice(0, 400)}`);
      }
      current = out;
    }
    const y = (await readWav(current)).channels[0];
    if (y.length < x.length) throw new GuitarixError(`lv2file returned ${y.length} of ${x.length} samples`);
    const outPeak = peakOf([y.subarray(0, x.length)]);
    if (!Number.isFinite(outPeak)) throw new GuitarixError('the amp model returned non-finite samples');
    const norm = outPeak > 0 ? 0.9 / outPeak : 0;
    for (let i = 0; i < x.length; i++) x[i] = y[i] * norm;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  cabinet(x, cab);
}
