/**
 * The export's bookkeeping without audio: what `other` means, which stems of a track can hide which
 * (MUSDB18's `other`, Frets on Fire's `rest`), which tracks give a target exactly, the interferer
 * files, the parts of long tracks, and the trainer settings.
 */
import { describe, expect, it } from 'vitest';
import { STEM_NAMES } from '../../src/core/stems';
import {
  atomsName,
  defines,
  fileStems,
  interfererGroups,
  parseTargets,
  segments,
  trackBlocks,
  trainSettings,
} from './plan';

const SIX = ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other'];
const MUSDB = ['drums', 'bass', 'other', 'vocals'];
const FOF = ['guitar', 'rest'];
const blockAtoms = (blocks: { atoms: readonly string[] }[]) => blocks.map((b) => atomsName(b.atoms as never));

describe('parseTargets', () => {
  it('gives "other" every stem no target names', () => {
    const four = parseTargets(['vocals', 'drums', 'bass', 'other']);
    expect(four.otherHolds).toEqual(['guitar', 'piano', 'other']);
    expect(four.atoms).toEqual(['vocals', 'drums', 'bass', 'other']);
    expect(four.atomOf('guitar')).toBe('other');

    const six = parseTargets([...SIX, 'guitar+piano+other']);
    expect(six.otherHolds).toEqual(['other']);
    expect(six.atoms).toEqual(STEM_NAMES);
    expect(six.targets.at(-1)).toEqual({ name: 'guitar+piano+other', atoms: ['guitar', 'piano', 'other'] });

    const guitar = parseTargets(['guitar']);
    expect(guitar.otherUsed).toBe(false);
    expect(guitar.atoms).toEqual(STEM_NAMES);
  });

  it('rejects unknown names, groups out of stem order, repeats and a target that is the whole mix', () => {
    expect(() => parseTargets(['vocals', 'keys'])).toThrow('unknown target "keys"');
    expect(() => parseTargets(['other+guitar'])).toThrow('as guitar+other');
    expect(() => parseTargets(['guitar+guitar'])).toThrow('distinct stems');
    expect(() => parseTargets(['vocals', 'vocals'])).toThrow('given twice');
    expect(() => parseTargets(['other'])).toThrow('holds all the music');
    expect(() => parseTargets([])).toThrow('no targets');
  });
});

describe('trackBlocks and defines', () => {
  const six = parseTargets([...SIX, 'guitar+piano+other']);
  const four = parseTargets(['vocals', 'drums', 'bass', 'other']);

  it('MUSDB18: guitar and piano may hide in other, so it gives the group but not guitar or a 6-stem other', () => {
    const blocks = trackBlocks(MUSDB, 'musdb18', six);
    expect(blockAtoms(blocks)).toEqual(['vocals', 'drums', 'bass', 'guitar+piano+other']);
    expect(defines(blocks, ['vocals'])).toBe(true);
    expect(defines(blocks, ['guitar'])).toBe(false);
    expect(defines(blocks, ['other'])).toBe(false);
    expect(defines(blocks, ['guitar', 'piano', 'other'])).toBe(true);
    expect(fileStems(blocks, ['guitar', 'piano', 'other'])).toEqual(['other']);
    // In a 4-stem export, other is other.
    const b4 = trackBlocks(MUSDB, 'musdb18', four);
    expect(blockAtoms(b4)).toEqual(['vocals', 'drums', 'bass', 'other']);
    expect(defines(b4, ['other'])).toBe(true);
  });

  it('Frets on Fire: rest holds everything but the lead guitar', () => {
    const blocks = trackBlocks(FOF, 'fretsonfire', six);
    expect(blockAtoms(blocks)).toEqual(['vocals+drums+bass+piano+other', 'guitar']);
    expect(defines(blocks, ['guitar'])).toBe(true);
    expect(defines(blocks, ['vocals'])).toBe(false);
    expect(defines(blocks, ['guitar', 'piano', 'other'])).toBe(false);
    // 4-stem: the guitar is part of other, and so is rest: nothing can be told apart.
    const b4 = trackBlocks(FOF, 'fretsonfire', four);
    expect(blockAtoms(b4)).toEqual(['vocals+drums+bass+other']);
    expect(b4[0].stems).toEqual(['guitar', 'rest']);
    expect(four.targets.some((t) => defines(b4, t.atoms))).toBe(false);
  });

  it('generated songs: the six stems, summed into other for a 4-stem export', () => {
    const blocks = trackBlocks(SIX, 'stems', four);
    expect(blockAtoms(blocks)).toEqual(['vocals', 'drums', 'bass', 'other']);
    expect(fileStems(blocks, ['other'])).toEqual(['guitar', 'piano', 'other']);
    expect(trackBlocks(SIX, 'stems', six)).toHaveLength(6);
  });

  it('MedleyDB: a stem it lacks is silent, not hidden in other', () => {
    const blocks = trackBlocks(['vocals', 'drums', 'guitar', 'other'], 'medleydb', six);
    expect(blockAtoms(blocks)).toEqual(['vocals', 'drums', 'guitar', 'other']);
    expect(defines(blocks, ['piano'])).toBe(true);
    expect(fileStems(blocks, ['piano'])).toEqual([]);
    // The same stems in a stems folder: piano and bass may be inside other.
    expect(defines(trackBlocks(['vocals', 'drums', 'guitar', 'other'], 'stems', six), ['piano'])).toBe(false);
    // Without any residual stem, nothing hides: the mix is the sum of what is there.
    expect(defines(trackBlocks(['vocals', 'drums'], 'stems', six), ['bass'])).toBe(true);
  });
});

describe('interfererGroups', () => {
  const six = parseTargets([...SIX, 'guitar+piano+other']);
  const target = (name: string) => six.targets.find((t) => t.name === name)!;
  const musdb = trackBlocks(MUSDB, 'musdb18', six);
  const synth = trackBlocks(SIX, 'stems', six);
  const fof = trackBlocks(FOF, 'fretsonfire', six);

  it('keeps every stem its own interferer when the tracks allow, and groups what one track cannot split', () => {
    expect(interfererGroups(six, target('guitar'), [synth]).map(atomsName)).toEqual([
      'vocals',
      'drums',
      'bass',
      'piano',
      'other',
    ]);
    expect(interfererGroups(six, target('vocals'), [musdb, synth]).map(atomsName)).toEqual([
      'drums',
      'bass',
      'guitar+piano+other',
    ]);
    expect(interfererGroups(six, target('guitar'), [synth, fof]).map(atomsName)).toEqual([
      'vocals+drums+bass+piano+other',
    ]);
    expect(interfererGroups(six, target('guitar+piano+other'), [musdb, synth]).map(atomsName)).toEqual([
      'vocals',
      'drums',
      'bass',
    ]);
  });
});

describe('segments', () => {
  it('cuts into equal parts of at least the segment length, covering the track once', () => {
    const parts = segments(100, 30);
    expect(parts).toEqual([
      { start: 0, length: 33 },
      { start: 33, length: 34 },
      { start: 67, length: 33 },
    ]);
    expect(segments(29, 30)).toEqual([{ start: 0, length: 29 }]);
    expect(segments(1000, 0)).toEqual([{ start: 0, length: 1000 }]);
    const many = segments(44100 * 245, 44100 * 30);
    expect(many).toHaveLength(8);
    expect(many.reduce((s, p) => s + p.length, 0)).toBe(44100 * 245);
    expect(Math.min(...many.map((p) => p.length))).toBeGreaterThanOrEqual(44100 * 30);
  });
});

describe('trainSettings', () => {
  it("keeps Open-Unmix's 6-s excerpts for long folders and scales the epoch counts to the epoch size", () => {
    const long = trainSettings(Array(1000).fill(30), 512);
    expect(long).toMatchObject({ seqDur: 6, batchSize: 16, hiddenSize: 512, lr: 0.001 });
    expect(long.epochs).toBe(Math.round(1000 * 5.504));
    expect(long.patience).toBe(Math.round(140 * 5.504));
    // Few folders: at most ten times Open-Unmix's counts; a big dataset: its counts as they are.
    expect(trainSettings(Array(81).fill(6.8), 128)).toMatchObject({ epochs: 10000, patience: 1400 });
    expect(trainSettings(Array(9000).fill(30), 512)).toMatchObject({ epochs: 1000, patience: 140 });
  });

  it('shortens the excerpt when more than a tenth of the folders are not longer than 6 s', () => {
    expect(trainSettings([...Array(8).fill(30), 3, 3], 128).seqDur).toBe(2.9);
    expect(trainSettings([...Array(19).fill(30), 3], 128).seqDur).toBe(6);
    expect(trainSettings([0.5, 0.5, 0.5], 128).seqDur).toBe(0.4);
  });
});
