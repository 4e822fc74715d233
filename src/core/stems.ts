/**
 * The one stem list of Stemdeck: names, display colours and order, shared by the extension
 * (popup rows, remix), the training pipeline and the evaluator.
 */
export interface StemInfo {
  /** Identifier used in file names (`<stem>.wav`), model outputs and messages. */
  readonly name: StemName;
  /** Human label for the popup. */
  readonly label: string;
  /** Colour of the stem's row and plots (CSS hex). */
  readonly colour: string;
}

export const STEM_NAMES = ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other'] as const;
export type StemName = (typeof STEM_NAMES)[number];

/** All stems Stemdeck knows, in display order. A model carries a subset of them. */
export const STEMS: readonly StemInfo[] = [
  { name: 'vocals', label: 'Vocals', colour: '#e4572e' },
  { name: 'drums', label: 'Drums', colour: '#29335c' },
  { name: 'bass', label: 'Bass', colour: '#669bbc' },
  { name: 'guitar', label: 'Guitar', colour: '#f3a712' },
  { name: 'piano', label: 'Piano', colour: '#a8c686' },
  { name: 'other', label: 'Other', colour: '#8d6a9f' },
];

/** The four MUSDB18 targets, in the order of the `.stem.mp4` streams 1–4 (stream 0 is the mixture). */
export const MUSDB_STEMS = ['drums', 'bass', 'other', 'vocals'] as const satisfies readonly StemName[];
export type MusdbStem = (typeof MUSDB_STEMS)[number];

export function isStemName(value: string): value is StemName {
  return (STEM_NAMES as readonly string[]).includes(value);
}

export function stemInfo(name: StemName): StemInfo {
  const info = STEMS.find((s) => s.name === name);
  if (!info) throw new Error(`unknown stem "${name}"`);
  return info;
}

/** Parses a comma-separated stem list (CLI flags), rejecting unknown names with a clear message. */
export function parseStemList(text: string): StemName[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const unknown = names.filter((n) => !isStemName(n));
  if (unknown.length > 0) {
    throw new Error(`unknown stem(s): ${unknown.join(', ')} (known: ${STEM_NAMES.join(', ')})`);
  }
  return names as StemName[];
}
