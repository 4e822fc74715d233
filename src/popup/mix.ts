/**
 * Mixer rules, pure: per-stem gain/mute/solo → the effective gains sent to the worker, dB display,
 * presets, and validation of settings read back from storage. The stems are whichever the loaded
 * model has (the shared stem list's order); a stem with no stored setting plays unchanged.
 */

import { isStemName, STEMS, type StemInfo, type StemName } from '../core/stems';
import type { StemGains } from '../extension/messages';

export interface StemSetting {
  /** Linear amplitude 0…1 (the slider's 0–100 %). */
  readonly gain: number;
  readonly muted: boolean;
  readonly solo: boolean;
}
/** Settings per stem; absent stems are at unity (so settings survive a model with more stems). */
export type MixSettings = Readonly<Partial<Record<StemName, StemSetting>>>;

/** The four MUSDB18 stems: what the shipped model has. */
export const MUSDB_ROW_STEMS: readonly StemName[] = ['vocals', 'drums', 'bass', 'other'];

/** The popup's rows for a model's stems, in the shared display order (vocals first). */
export function rowsFor(stems: readonly string[]): StemInfo[] {
  return STEMS.filter((s) => stems.includes(s.name));
}

const UNITY: StemSetting = { gain: 1, muted: false, solo: false };

export function settingOf(mix: MixSettings, stem: StemName): StemSetting {
  return mix[stem] ?? UNITY;
}

export const ORIGINAL_MIX: MixSettings = {};

/**
 * Mute always silences its stem; if any of `stems` is soloed, only soloed stems sound (solo wins
 * over the others' settings); otherwise each stem plays at its gain.
 */
export function effectiveGains(mix: MixSettings, stems: readonly StemName[]): StemGains {
  const anySolo = stems.some((s) => settingOf(mix, s).solo);
  const out: Partial<Record<StemName, number>> = {};
  for (const s of stems) {
    const { gain, muted, solo } = settingOf(mix, s);
    out[s] = muted || (anySolo && !solo) ? 0 : gain;
  }
  return out;
}

export function gainToDb(gain: number): number {
  return gain <= 0 ? Number.NEGATIVE_INFINITY : 20 * Math.log10(gain);
}

/** "0.0 dB", "−6.0 dB", "−∞ dB" (with a real minus sign, as audio UIs print it). */
export function formatDb(gain: number): string {
  const db = gainToDb(gain);
  if (db === Number.NEGATIVE_INFINITY) return '−∞ dB';
  const text = Math.abs(db).toFixed(1);
  return `${db < -0.05 ? '−' : ''}${text} dB`;
}

export function percentToGain(percent: number): number {
  return Math.min(100, Math.max(0, Math.round(percent))) / 100;
}
export function gainToPercent(gain: number): number {
  return Math.round(gain * 100);
}

export function withStem(mix: MixSettings, stem: StemName, change: Partial<StemSetting>): MixSettings {
  return { ...mix, [stem]: { ...settingOf(mix, stem), ...change } };
}

export interface Preset {
  readonly id: 'original' | 'karaoke' | 'no-guitar' | 'drums-only';
  readonly label: string;
  readonly mix: MixSettings;
}

/** The presets that make sense for a model's stems ("No guitar" only once a model has guitar). */
export function presetsFor(stems: readonly StemName[]): Preset[] {
  const presets: Preset[] = [{ id: 'original', label: 'Original', mix: ORIGINAL_MIX }];
  if (stems.includes('vocals')) {
    presets.push({ id: 'karaoke', label: 'No vocals — karaoke', mix: { vocals: { ...UNITY, muted: true } } });
  }
  if (stems.includes('guitar')) {
    presets.push({ id: 'no-guitar', label: 'No guitar', mix: { guitar: { ...UNITY, muted: true } } });
  }
  if (stems.includes('drums')) {
    presets.push({ id: 'drums-only', label: 'Drums only', mix: { drums: { ...UNITY, solo: true } } });
  }
  return presets;
}

/** Same sound for these stems (absent = unity). */
export function sameMix(a: MixSettings, b: MixSettings, stems: readonly StemName[]): boolean {
  return stems.every((s) => {
    const x = settingOf(a, s);
    const y = settingOf(b, s);
    return x.gain === y.gain && x.muted === y.muted && x.solo === y.solo;
  });
}

/** Validates settings read from storage; anything off yields null (the caller falls back to Original). */
export function parseMixSettings(v: unknown): MixSettings | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const out: Partial<Record<StemName, StemSetting>> = {};
  for (const [s, e] of Object.entries(v as Record<string, unknown>)) {
    if (!isStemName(s)) return null;
    if (typeof e !== 'object' || e === null) return null;
    const { gain, muted, solo } = e as Record<string, unknown>;
    if (typeof gain !== 'number' || !(gain >= 0 && gain <= 1)) return null;
    if (typeof muted !== 'boolean' || typeof solo !== 'boolean') return null;
    out[s] = { gain, muted, solo };
  }
  return out;
}
