/**
 * Mixer rules, pure: per-stem gain/mute/solo → the effective gains sent to the worker, dB display,
 * presets, and validation of settings read back from storage.
 */
import type { StemGains } from '../core/messages';
import { MUSDB_STEMS, type MusdbStem, STEMS, type StemInfo } from '../core/stems';

export interface StemSetting {
  /** Linear amplitude 0…1 (the slider's 0–100 %). */
  readonly gain: number;
  readonly muted: boolean;
  readonly solo: boolean;
}
export type MixSettings = Readonly<Record<MusdbStem, StemSetting>>;

/** The popup's rows: the MUSDB four, in the shared display order of STEMS (vocals first). */
export const MIX_STEMS: readonly StemInfo[] = STEMS.filter((s) =>
  (MUSDB_STEMS as readonly string[]).includes(s.name),
);

const UNITY: StemSetting = { gain: 1, muted: false, solo: false };

function build(f: (stem: MusdbStem) => StemSetting): MixSettings {
  return Object.fromEntries(MUSDB_STEMS.map((s) => [s, f(s)])) as Record<MusdbStem, StemSetting>;
}

export const ORIGINAL_MIX: MixSettings = build(() => UNITY);

/**
 * Mute always silences its stem; if any stem is soloed, only soloed stems sound (solo wins over
 * the others' settings); otherwise each stem plays at its gain.
 */
export function effectiveGains(mix: MixSettings): StemGains {
  const anySolo = MUSDB_STEMS.some((s) => mix[s].solo);
  const out: Partial<Record<MusdbStem, number>> = {};
  for (const s of MUSDB_STEMS) {
    const { gain, muted, solo } = mix[s];
    out[s] = muted || (anySolo && !solo) ? 0 : gain;
  }
  return out as StemGains;
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

export function withStem(mix: MixSettings, stem: MusdbStem, change: Partial<StemSetting>): MixSettings {
  return { ...mix, [stem]: { ...mix[stem], ...change } };
}

export interface Preset {
  readonly id: 'original' | 'karaoke' | 'drums-only';
  readonly label: string;
  readonly mix: MixSettings;
}

export const PRESETS: readonly Preset[] = [
  { id: 'original', label: 'Original', mix: ORIGINAL_MIX },
  {
    id: 'karaoke',
    label: 'No vocals — karaoke',
    mix: build((s) => (s === 'vocals' ? { ...UNITY, muted: true } : UNITY)),
  },
  {
    id: 'drums-only',
    label: 'Drums only',
    mix: build((s) => (s === 'drums' ? { ...UNITY, solo: true } : UNITY)),
  },
];

export function sameMix(a: MixSettings, b: MixSettings): boolean {
  return MUSDB_STEMS.every(
    (s) => a[s].gain === b[s].gain && a[s].muted === b[s].muted && a[s].solo === b[s].solo,
  );
}

/** Validates settings read from storage; anything off yields null (the caller falls back to Original). */
export function parseMixSettings(v: unknown): MixSettings | null {
  if (typeof v !== 'object' || v === null) return null;
  const rec = v as Record<string, unknown>;
  const out: Partial<Record<MusdbStem, StemSetting>> = {};
  for (const s of MUSDB_STEMS) {
    const e = rec[s] as Record<string, unknown> | undefined;
    if (typeof e !== 'object' || e === null) return null;
    const { gain, muted, solo } = e;
    if (typeof gain !== 'number' || !(gain >= 0 && gain <= 1)) return null;
    if (typeof muted !== 'boolean' || typeof solo !== 'boolean') return null;
    out[s] = { gain, muted, solo };
  }
  return out as MixSettings;
}
