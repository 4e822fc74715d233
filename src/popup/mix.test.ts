import { describe, expect, it } from 'vitest';
import type { StemName } from '../core/stems';
import {
  effectiveGains as effectiveFor,
  formatDb,
  gainToDb,
  gainToPercent,
  type MixSettings,
  MUSDB_ROW_STEMS,
  ORIGINAL_MIX,
  parseMixSettings,
  percentToGain,
  presetsFor,
  rowsFor,
  sameMix,
  withStem,
} from './mix';

const SIX: StemName[] = ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other'];
const PRESETS = presetsFor(MUSDB_ROW_STEMS);
const effectiveGains = (mix: MixSettings) => effectiveFor(mix, MUSDB_ROW_STEMS);

describe('effectiveGains', () => {
  it('passes gains through with no mute or solo', () => {
    const mix = withStem(ORIGINAL_MIX, 'bass', { gain: 0.25 });
    expect(effectiveGains(mix)).toEqual({ drums: 1, bass: 0.25, other: 1, vocals: 1 });
  });

  it('mute zeroes its stem only', () => {
    const mix = withStem(ORIGINAL_MIX, 'vocals', { muted: true, gain: 0.8 });
    expect(effectiveGains(mix)).toEqual({ drums: 1, bass: 1, other: 1, vocals: 0 });
  });

  it('solo wins: only soloed stems sound, at their own gain', () => {
    let mix = withStem(ORIGINAL_MIX, 'drums', { solo: true, gain: 0.5 });
    mix = withStem(mix, 'bass', { solo: true });
    expect(effectiveGains(mix)).toEqual({ drums: 0.5, bass: 1, other: 0, vocals: 0 });
  });

  it('a muted stem stays silent even when soloed', () => {
    const mix = withStem(ORIGINAL_MIX, 'drums', { solo: true, muted: true });
    expect(effectiveGains(mix)).toEqual({ drums: 0, bass: 0, other: 0, vocals: 0 });
  });
});

describe('dB display', () => {
  it('is −∞ at 0 % and 0 dB at 100 %', () => {
    expect(gainToDb(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(formatDb(0)).toBe('−∞ dB');
    expect(formatDb(1)).toBe('0.0 dB');
  });
  it('is about −6 dB at half amplitude and −20 dB at 10 %', () => {
    expect(formatDb(0.5)).toBe('−6.0 dB');
    expect(formatDb(0.1)).toBe('−20.0 dB');
    expect(gainToDb(0.5)).toBeCloseTo(-6.0206, 3);
  });
  it('maps slider percent to gain, clamped', () => {
    expect(percentToGain(50)).toBe(0.5);
    expect(percentToGain(140)).toBe(1);
    expect(percentToGain(-3)).toBe(0);
    expect(gainToPercent(percentToGain(37))).toBe(37);
  });
});

describe('presets', () => {
  const get = (id: string) => PRESETS.find((p) => p.id === id)!.mix;
  it('Original is unity everywhere', () => {
    expect(effectiveGains(get('original'))).toEqual({ drums: 1, bass: 1, other: 1, vocals: 1 });
  });
  it('karaoke removes vocals', () => {
    expect(effectiveGains(get('karaoke'))).toEqual({ drums: 1, bass: 1, other: 1, vocals: 0 });
  });
  it('drums only keeps drums', () => {
    expect(effectiveGains(get('drums-only'))).toEqual({ drums: 1, bass: 0, other: 0, vocals: 0 });
  });
  it('are told apart by sameMix', () => {
    expect(sameMix(get('original'), ORIGINAL_MIX, MUSDB_ROW_STEMS)).toBe(true);
    expect(sameMix(get('karaoke'), ORIGINAL_MIX, MUSDB_ROW_STEMS)).toBe(false);
    // A stem set at 100 % explicitly is the same sound as an absent one.
    expect(sameMix(withStem(ORIGINAL_MIX, 'bass', { gain: 1 }), ORIGINAL_MIX, MUSDB_ROW_STEMS)).toBe(true);
  });
  it('offer "No guitar" only for a model with guitar, and it removes guitar only', () => {
    expect(PRESETS.map((p) => p.id)).toEqual(['original', 'karaoke', 'drums-only']);
    const six = presetsFor(SIX);
    expect(six.map((p) => p.id)).toEqual(['original', 'karaoke', 'no-guitar', 'drums-only']);
    const noGuitar = six.find((p) => p.id === 'no-guitar')!.mix;
    expect(effectiveFor(noGuitar, SIX)).toEqual({
      vocals: 1,
      drums: 1,
      bass: 1,
      guitar: 0,
      piano: 1,
      other: 1,
    });
  });
});

describe('rows and stored settings', () => {
  it('are the model’s stems in display order, vocals first', () => {
    expect(rowsFor(['drums', 'bass', 'other', 'vocals']).map((s) => s.name)).toEqual(MUSDB_ROW_STEMS);
    expect(rowsFor(['other', 'guitar', 'piano', 'vocals', 'drums', 'bass']).map((s) => s.label)).toEqual([
      'Vocals',
      'Drums',
      'Bass',
      'Guitar',
      'Piano',
      'Other',
    ]);
  });
  it('round-trips valid settings and rejects corrupt ones', () => {
    const mix = withStem(ORIGINAL_MIX, 'other', { gain: 0.3, solo: true });
    expect(parseMixSettings(JSON.parse(JSON.stringify(mix)))).toEqual(mix);
    expect(parseMixSettings({ ...mix, drums: { gain: 2, muted: false, solo: false } })).toBeNull();
    expect(parseMixSettings({ ...mix, bass: null })).toBeNull();
    expect(parseMixSettings({ ...mix, kazoo: { gain: 1, muted: false, solo: false } })).toBeNull();
    expect(parseMixSettings('x')).toBeNull();
    // Settings stored by the four-stem build still read, and a guitar setting keeps for later.
    const old = {
      drums: { gain: 1, muted: false, solo: false },
      vocals: { gain: 0, muted: true, solo: false },
    };
    expect(parseMixSettings(old)).toEqual(old);
    expect(parseMixSettings({ guitar: { gain: 0.5, muted: false, solo: false } })).toEqual({
      guitar: { gain: 0.5, muted: false, solo: false },
    });
  });
  it('solo among six stems silences the other five', () => {
    const mix = withStem(ORIGINAL_MIX, 'guitar', { solo: true });
    expect(effectiveFor(mix, SIX)).toEqual({ vocals: 0, drums: 0, bass: 0, guitar: 1, piano: 0, other: 0 });
  });
});
