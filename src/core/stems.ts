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

/**
 * A network that estimates the sum of several stems, named by them joined with "+"
 * ("guitar+piano+other"). A model with one separates hierarchically: the Wiener/EM step runs on the
 * group's estimate beside the other top-level stems, and the group's result is then shared among its
 * member stems in proportion to their own networks' estimates (so the members sum to it exactly).
 * This is how a 6-stem model keeps a 4-stem model's vocals, drums, bass and "other" bit for bit.
 */
export type GroupName = `${StemName}+${string}`;
/** What a model's network (and its output) is: a stem, or a group of stems. */
export type NetworkName = StemName | GroupName;

/** The member stems of a group network's name, or null for a plain stem. Throws on a malformed group. */
export function groupMembers(name: string): StemName[] | null {
  if (!name.includes('+')) return null;
  const members = name.split('+');
  const bad = members.filter((m) => !isStemName(m));
  if (bad.length > 0 || new Set(members).size !== members.length) {
    throw new Error(`group "${name}": members must be distinct stems (${STEM_NAMES.join(', ')})`);
  }
  return members as StemName[];
}

/** The stems a model with these networks outputs (its networks minus its group networks), in order. */
export function outputStems(networks: readonly string[]): StemName[] {
  return networks.filter((n): n is StemName => groupMembers(n) === null);
}

/**
 * Checks a model's network list: unique names, and every group's members are networks of the model,
 * in no other group. Returns the groups with the index of each member network.
 */
export function networkGroups(networks: readonly string[]): { group: number; members: number[] }[] {
  if (new Set(networks).size !== networks.length) throw new Error('duplicate targets');
  const taken = new Set<string>();
  const groups: { group: number; members: number[] }[] = [];
  networks.forEach((name, group) => {
    const members = groupMembers(name);
    if (!members) return;
    const indices = members.map((m) => {
      const i = networks.indexOf(m);
      if (i < 0) throw new Error(`group "${name}": its member "${m}" is not a target of the model`);
      if (taken.has(m)) throw new Error(`group "${name}": "${m}" is in two groups`);
      taken.add(m);
      return i;
    });
    groups.push({ group, members: indices });
  });
  return groups;
}
