/**
 * Test helpers: small generated datasets (never real music) in the layouts the loaders read, and
 * the path of the shared read-only data with a skip message when it is absent.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SAMPLE_RATE } from '../../src/core/audio';
import { mulberry32 } from '../../src/core/random';
import { writeWav } from '../node/audio-io';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** `<repo>/../shared/data/<sub>`, or undefined with a warning naming the path when it is absent. */
export function sharedData(sub: string, who: string): string | undefined {
  const path = resolve(REPO_ROOT, '../shared/data', sub);
  if (existsSync(path)) return path;
  console.warn(`${who}: skipping the tests on real data, ${path} is absent`);
  return undefined;
}

/**
 * A distinct stereo test signal per `seed`: a tone (frequency from the seed) plus a little noise,
 * channels slightly different so a left/right swap is visible.
 */
export function testSignal(seed: number, length: number, amplitude = 0.2): Float32Array[] {
  const rand = mulberry32(seed);
  const freq = 110 + 37 * (seed % 23);
  return [0, 1].map((c) =>
    Float32Array.from(
      { length },
      (_, i) =>
        amplitude * Math.sin((2 * Math.PI * freq * i) / SAMPLE_RATE + c * 0.7) +
        0.02 * (rand() - 0.5) * (c + 1),
    ),
  );
}

/** Energy of `x` at `freq` (one Goertzel bin), normalised by length. */
export function toneEnergy(x: Float32Array, freq: number): number {
  const k = (2 * Math.PI * freq) / SAMPLE_RATE;
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i] * Math.cos(k * i);
    im -= x[i] * Math.sin(k * i);
  }
  return (re * re + im * im) / (x.length * x.length);
}

export async function writeStereo(path: string, channels: Float32Array[], sampleRate = SAMPLE_RATE) {
  await writeWav(path, { sampleRate, channels }, { format: 'float32' });
}

/** `<dir>/<track>/{mixture,drums,bass,other,vocals}.wav`, mixture = sum; returns the track folder. */
export async function writeHqTrack(dir: string, track: string, seed: number, seconds = 1): Promise<string> {
  const folder = join(dir, track);
  const length = Math.round(seconds * SAMPLE_RATE);
  const mix = [new Float32Array(length), new Float32Array(length)];
  for (const [k, stem] of ['drums', 'bass', 'other', 'vocals'].entries()) {
    const s = testSignal(seed * 10 + k, length);
    for (let c = 0; c < 2; c++) for (let i = 0; i < length; i++) mix[c][i] += s[c][i];
    await writeStereo(join(folder, `${stem}.wav`), s);
  }
  await writeStereo(join(folder, 'mixture.wav'), mix);
  return folder;
}

/** A plain stems folder track: `<dir>/<track>/<target>.wav` for the given targets. */
export async function writeStemsTrack(
  dir: string,
  track: string,
  targets: readonly string[],
  seed: number,
  seconds = 1,
): Promise<string> {
  const folder = join(dir, track);
  const length = Math.round(seconds * SAMPLE_RATE);
  for (const [k, t] of targets.entries())
    await writeStereo(join(folder, `${t}.wav`), testSignal(seed * 10 + k, length));
  return folder;
}

/**
 * A MedleyDB-layout track: `<dir>/<name>/<name>_METADATA.yaml` and `<name>_STEMS/<name>_STEM_NN.wav`,
 * one stem per label (mono files, as MedleyDB's are not always stereo).
 */
export async function writeMedleydbTrack(
  dir: string,
  name: string,
  labels: readonly string[],
  seed: number,
  seconds = 1,
): Promise<string> {
  const folder = join(dir, name);
  const length = Math.round(seconds * SAMPLE_RATE);
  const lines = [
    `artist: Test`,
    `title: ${name}`,
    `mix_filename: ${name}_MIX.wav`,
    `stem_dir: ${name}_STEMS`,
    `has_bleed: no`,
    `stems:`,
  ];
  for (const [k, label] of labels.entries()) {
    const id = String(k + 1).padStart(2, '0');
    const file = `${name}_STEM_${id}.wav`;
    await writeWav(
      join(folder, `${name}_STEMS`, file),
      { sampleRate: SAMPLE_RATE, channels: [testSignal(seed * 10 + k, length)[0]] },
      { format: 'float32' },
    );
    lines.push(`  S${id}:`, `    component: ''`, `    filename: ${file}`, `    instrument: ${label}`);
  }
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, `${name}_METADATA.yaml`), `${lines.join('\n')}\n`);
  return folder;
}
