/**
 * FluidSynth and the Debian GM soundfonts: finding them (with a message naming the Debian package when
 * one is missing) and rendering a MIDI file to float32 stereo at 44.1 kHz.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { SAMPLE_RATE } from '../../src/core/audio';

export interface SoundfontInfo {
  /** Short id used in manifests. */
  id: string;
  path: string;
  debianPackage: string;
}

/** The soundfonts the generator draws from, with the Debian package that installs each. */
export const SOUNDFONTS: readonly SoundfontInfo[] = [
  { id: 'FluidR3_GM', path: '/usr/share/sounds/sf2/FluidR3_GM.sf2', debianPackage: 'fluid-soundfont-gm' },
  { id: 'TimGM6mb', path: '/usr/share/sounds/sf2/TimGM6mb.sf2', debianPackage: 'timgm6mb-soundfont' },
  {
    id: 'MuseScore_General',
    path: '/usr/share/sounds/sf3/MuseScore_General.sf3',
    debianPackage: 'musescore-general-soundfont',
  },
];

export const FLUIDSYNTH_PACKAGE = 'fluidsynth';

export class SynthSetupError extends Error {
  override name = 'SynthSetupError';
}

/** The fluidsynth binary: `$STEMDECK_FLUIDSYNTH`, else `fluidsynth` on PATH. */
export function fluidsynthBinary(): string {
  return process.env.STEMDECK_FLUIDSYNTH ?? 'fluidsynth';
}

async function commandWorks(cmd: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('close', (code) => resolve(code === 0));
  });
}

/**
 * Checks that fluidsynth runs and the requested soundfonts exist; throws `SynthSetupError` naming the
 * Debian packages to install otherwise. `ids` defaults to every soundfont in `SOUNDFONTS`.
 */
export async function checkSynthSetup(
  ids: readonly string[] = SOUNDFONTS.map((s) => s.id),
  soundfonts: readonly SoundfontInfo[] = SOUNDFONTS,
): Promise<SoundfontInfo[]> {
  const problems: string[] = [];
  const packages: string[] = [];
  const bin = fluidsynthBinary();
  if (!(await commandWorks(bin, ['--version']))) {
    problems.push(`fluidsynth not found (tried "${bin}")`);
    packages.push(FLUIDSYNTH_PACKAGE);
  }
  const chosen: SoundfontInfo[] = [];
  for (const id of ids) {
    const sf = soundfonts.find((s) => s.id === id);
    if (!sf) {
      throw new SynthSetupError(
        `unknown soundfont "${id}" (known: ${soundfonts.map((s) => s.id).join(', ')})`,
      );
    }
    if (!existsSync(sf.path)) {
      problems.push(`soundfont ${sf.path} not found`);
      packages.push(sf.debianPackage);
    } else chosen.push(sf);
  }
  if (problems.length > 0) {
    throw new SynthSetupError(
      `${problems.join('; ')}. Install the Debian package${packages.length > 1 ? 's' : ''}: ` +
        `sudo apt-get install ${[...new Set(packages)].join(' ')} (or run scripts/install-system-deps.sh)`,
    );
  }
  return chosen;
}

/**
 * Renders `midiPath` with one soundfont to planar float32 stereo at 44.1 kHz, no soundfont reverb or
 * chorus (effects are applied per stem afterwards). `rawPath` is a scratch file, removed afterwards.
 * Deterministic: the same MIDI and soundfont give the same samples.
 */
export async function renderMidi(
  midiPath: string,
  soundfont: SoundfontInfo,
  rawPath: string,
  gain = 0.4,
): Promise<Float32Array[]> {
  const args = [
    '-n',
    '-i',
    '-q',
    '-R',
    '0',
    '-C',
    '0',
    '-g',
    String(gain),
    '-r',
    String(SAMPLE_RATE),
    '-o',
    'synth.cpu-cores=1',
    '-o',
    'synth.polyphony=256',
    '-o',
    'synth.dynamic-sample-loading=1',
    '-O',
    'float',
    '-T',
    'raw',
    '-F',
    rawPath,
    soundfont.path,
    midiPath,
  ];
  const stderr: Buffer[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn(fluidsynthBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr.on('data', (d: Buffer) => stderr.push(d));
    p.on('error', (err) =>
      reject(
        new SynthSetupError(
          `cannot run fluidsynth (${err.message}); install the Debian package ${FLUIDSYNTH_PACKAGE}`,
        ),
      ),
    );
    p.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    throw new Error(
      `fluidsynth failed (exit ${code}) on ${midiPath}: ${Buffer.concat(stderr).toString().trim().slice(-400)}`,
    );
  }
  const bytes = await readFile(rawPath);
  await rm(rawPath, { force: true });
  const frames = Math.floor(bytes.byteLength / 8);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
  const inter = new Float32Array(aligned.buffer, aligned.byteOffset, frames * 2);
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  for (let i = 0, j = 0; i < frames; i++, j += 2) {
    left[i] = inter[j];
    right[i] = inter[j + 1];
  }
  return [left, right];
}
