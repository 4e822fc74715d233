/**
 * What `npm run export-dataset` writes for open-unmix-pytorch's trainer, worked out before any audio
 * is read: which Stemdeck stems each file holds, which tracks can train which target, and the
 * interferer files of each target.
 *
 * The layout is open-unmix-pytorch's `trackfolder_fix` dataset (FixedSourcesTrackFolderDataset in
 * `openunmix/data.py`): `<root>/{train,valid}/<track>/<file>.wav`, and per training process one
 * `--target-file` plus a fixed list of `--interferer-files`; the mixture is their sum, a track that
 * lacks any of those files is left out of that process, and `--random-track-mix` draws every
 * interferer from its own random track (Open-Unmix's MUSDB18 recipe). Why that class and not
 * `trackfolder_var` (which sums every `*.wav` of a folder): Stemdeck's targets overlap — a group such
 * as `guitar+piano+other` beside its members — and its tracks know different stems (MUSDB18 hides
 * guitar and piano inside `other`, Frets on Fire has only `guitar` and `rest`). With explicit files
 * per target, one folder holds a group's file beside its members' files, and a track simply lacks
 * the file of a target it cannot give, so it never trains that target with a wrong answer.
 *
 * Words used below:
 * - **atom**: a part of the music this export tells apart: each Stemdeck stem a target names, and —
 *   when a target names `other` — one atom `other` for every stem no target names (in a 4-stem export
 *   `other` holds guitar and piano, as MUSDB18's and the 4-stem model's `other` do).
 * - **block**: the atoms one of a track's files can hold. MUSDB18's `other` may hold guitar and piano
 *   (block guitar+piano+other in a 6-stem export); Frets on Fire's `rest` holds everything but the
 *   lead guitar. A track *defines* a target when each of its blocks lies wholly inside or wholly
 *   outside the target's atoms: only then is the target's audio known exactly.
 * - **file name**: the atoms a file holds, joined with `+` in Stemdeck's stem order — the same name
 *   means the same music in every track, and a target's file is named as the target.
 */
import { groupMembers, isStemName, STEM_NAMES, type StemName } from '../../src/core/stems';
import type { DatasetKind } from '../data/track';

export interface ExportTarget {
  /** The target as given, also its file name (without `.wav`) and the name open-unmix gives its model. */
  readonly name: string;
  /** The atoms it holds. */
  readonly atoms: readonly StemName[];
}

export interface TargetSet {
  readonly targets: readonly ExportTarget[];
  /** This export's atoms, in stem order. */
  readonly atoms: readonly StemName[];
  /** The atom each Stemdeck stem belongs to. */
  readonly atomOf: (stem: StemName) => StemName;
  /** Whether a target names `other`, which then stands for every stem no target names. */
  readonly otherUsed: boolean;
  /** The Stemdeck stems the atom `other` stands for in this export. */
  readonly otherHolds: readonly StemName[];
}

const ORDER = new Map<string, number>(STEM_NAMES.map((s, i) => [s, i]));

/** Atoms (or stems) in Stemdeck's order, joined with `+`: a file's name without `.wav`. */
export function atomsName(atoms: Iterable<StemName>): string {
  return [...new Set(atoms)].sort((a, b) => ORDER.get(a)! - ORDER.get(b)!).join('+');
}

/**
 * Checks `--targets` and works out the atoms. Targets are Stemdeck stems or groups of them
 * (`guitar+piano+other`, members in stem order); `other` means every stem no target names.
 */
export function parseTargets(names: readonly string[]): TargetSet {
  if (names.length === 0) throw new Error('no targets given');
  const members = names.map((name) => {
    if (isStemName(name)) return [name];
    if (!name.includes('+')) {
      throw new Error(
        `unknown target "${name}" (stems: ${STEM_NAMES.join(', ')}; a group joins stems with +, e.g. guitar+piano+other)`,
      );
    }
    const group = groupMembers(name)!;
    if (atomsName(group) !== name) {
      throw new Error(`target "${name}": write the group in Stemdeck's stem order, as ${atomsName(group)}`);
    }
    return group;
  });
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new Error(`target "${n}" is given twice`);
    seen.add(n);
  }
  const named = new Set<StemName>(members.flat().filter((s) => s !== 'other'));
  const otherUsed = members.some((m) => m.includes('other'));
  const atomOf = (stem: StemName): StemName => (otherUsed && !named.has(stem) ? 'other' : stem);
  const atoms = STEM_NAMES.filter((s) => atomOf(s) === s);
  const targets = names.map((name, i) => ({ name, atoms: [...new Set(members[i].map(atomOf))] }));
  const whole = targets.find((t) => t.atoms.length === atoms.length);
  if (whole) {
    throw new Error(
      `target "${whole.name}" holds all the music here (other = every stem no target names): add the targets it is separated from`,
    );
  }
  return {
    targets,
    atoms,
    atomOf,
    otherUsed,
    otherHolds: otherUsed ? STEM_NAMES.filter((s) => atomOf(s) === 'other') : ['other'],
  };
}

/** Some of a track's stems, summed into one file, and the atoms they may hold. */
export interface Block {
  readonly atoms: readonly StemName[];
  /** Cache stem names, in stem order then by name. */
  readonly stems: readonly string[];
}

function stemOrder(a: string, b: string): number {
  const ia = ORDER.get(a) ?? STEM_NAMES.length;
  const ib = ORDER.get(b) ?? STEM_NAMES.length;
  return ia - ib || a.localeCompare(b);
}

/**
 * A track's blocks from the stems its cache entry lists. A stem outside Stemdeck's six (Frets on
 * Fire's `rest`, a stems folder's `keys`) and `other` are *residual*: they may hold any Stemdeck stem
 * the track does not list, so they form one block with those stems' atoms. MedleyDB is the exception:
 * its loader maps every labelled stem to one of the six, so a stem it lacks is silent, not hidden.
 * A track without residual stems hides nothing either (its mixture is the sum of what it lists).
 * Blocks that share an atom are merged: their music cannot be told apart in this export.
 */
export function trackBlocks(stems: readonly string[], dataset: DatasetKind, set: TargetSet): Block[] {
  const listed = stems.filter(isStemName);
  const residual = stems.filter((s) => !isStemName(s) || s === 'other');
  const blocks: { atoms: Set<StemName>; stems: string[] }[] = listed
    .filter((s) => s !== 'other')
    .map((s) => ({ atoms: new Set([set.atomOf(s)]), stems: [s] }));
  if (residual.length > 0) {
    const atoms = new Set([set.atomOf('other')]);
    if (dataset !== 'medleydb') {
      for (const s of STEM_NAMES) if (!listed.includes(s)) atoms.add(set.atomOf(s));
    }
    blocks.push({ atoms, stems: residual });
  }
  // Merge blocks that share an atom, until none do.
  const merged: { atoms: Set<StemName>; stems: string[] }[] = [];
  for (const b of blocks) {
    let into = { atoms: new Set(b.atoms), stems: [...b.stems] };
    for (let i = merged.length - 1; i >= 0; i--) {
      if ([...merged[i].atoms].some((a) => into.atoms.has(a))) {
        into = {
          atoms: new Set([...merged[i].atoms, ...into.atoms]),
          stems: [...merged[i].stems, ...into.stems],
        };
        merged.splice(i, 1);
      }
    }
    merged.push(into);
  }
  return merged
    .map((b) => ({ atoms: [...b.atoms].sort(stemOrder) as StemName[], stems: b.stems.sort(stemOrder) }))
    .sort((a, b) => stemOrder(a.atoms[0], b.atoms[0]));
}

/** True when the blocks give `atoms` exactly: each block lies wholly inside or wholly outside them. */
export function defines(blocks: readonly Block[], atoms: readonly StemName[]): boolean {
  const inside = new Set(atoms);
  return blocks.every((b) => b.atoms.every((a) => inside.has(a)) || b.atoms.every((a) => !inside.has(a)));
}

/** The cache stems a file of these atoms sums in a track (none: the file is silent there). */
export function fileStems(blocks: readonly Block[], atoms: readonly StemName[]): string[] {
  const inside = new Set(atoms);
  return blocks
    .filter((b) => b.atoms.every((a) => inside.has(a)))
    .flatMap((b) => b.stems)
    .sort(stemOrder);
}

/**
 * The interferer files of a target: the atoms outside it, grouped as finely as every track that
 * defines it allows (atoms that share a block in any of them share a file). In a uniform dataset
 * each stem is its own interferer, as in Open-Unmix's MUSDB18 recipe; with Frets on Fire songs in
 * the mix, the guitar's interferer is one file, the rest.
 */
export function interfererGroups(
  set: TargetSet,
  target: ExportTarget,
  tracks: readonly (readonly Block[])[],
): StemName[][] {
  const inTarget = new Set(target.atoms);
  const parent = new Map<StemName, StemName>(set.atoms.filter((a) => !inTarget.has(a)).map((a) => [a, a]));
  const find = (a: StemName): StemName => {
    let r = a;
    while (parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  for (const blocks of tracks) {
    for (const b of blocks) {
      if (b.atoms.some((a) => inTarget.has(a))) continue;
      for (const a of b.atoms.slice(1)) parent.set(find(a), find(b.atoms[0]));
    }
  }
  const groups = new Map<StemName, StemName[]>();
  for (const a of parent.keys()) {
    const r = find(a);
    groups.set(r, [...(groups.get(r) ?? []), a]);
  }
  return [...groups.values()].map((g) => g.sort(stemOrder)).sort((a, b) => stemOrder(a[0], b[0]));
}

/**
 * Parts of a training track: `length` samples cut into n = ⌊length / segment⌋ equal parts (each at
 * least `segment` long), or one part when it is shorter or `segment` is 0. Open-Unmix's track-folder
 * datasets draw one excerpt per folder and epoch, so parts of ~30 s make an epoch scale with the
 * hours of audio instead of the number of songs (a 4-min song weighs eight 30-s songs).
 */
export function segments(length: number, segment: number): { start: number; length: number }[] {
  const n = segment > 0 ? Math.max(1, Math.floor(length / segment)) : 1;
  const cuts = Array.from({ length: n + 1 }, (_, k) => Math.round((k * length) / n));
  return cuts.slice(0, n).map((start, k) => ({ start, length: cuts[k + 1] - start }));
}

/** Settings of one `scripts/train.py` process. */
export interface TrainSettings {
  readonly seqDur: number;
  readonly batchSize: number;
  readonly hiddenSize: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly epochs: number;
  readonly patience: number;
  readonly lrDecayPatience: number;
  readonly lrDecayGamma: number;
  readonly nbWorkers: number;
  readonly seed: number;
}

/** Open-Unmix's MUSDB18 epoch: 86 training tracks × 64 excerpts (`--samples-per-track`). */
export const UMX_MUSDB_EPOCH = 86 * 64;

/**
 * The hidden size for the whole export (the networks of one Stemdeck model must share it), from the
 * hours of training audio: Open-Unmix's 512 from 3 h up (MUSDB18's train subset has ~6 h), 256 from
 * half an hour, else 128 (Stemdeck's small models, trained on minutes). A rule of thumb, not a
 * measurement; `--hidden-size` overrides it.
 */
export function defaultHiddenSize(trainSeconds: number): number {
  if (trainSeconds >= 3 * 3600) return 512;
  if (trainSeconds >= 1800) return 256;
  return 128;
}

/**
 * One target's trainer settings from its training folders' durations (seconds). Open-Unmix's
 * defaults (lr 1e-3, weight decay 1e-5, batch 16, 6-s excerpts, LR × 0.3 after 80 epochs without a
 * better validation loss, stop after 140, at most 1000 epochs), with two changes for track folders:
 * - an epoch here is one excerpt per folder, not 64 per track, so the epoch counts are scaled by
 *   UMX_MUSDB_EPOCH / folders, at most ×10 (validation runs every epoch);
 * - the excerpt is shortened when more than a tenth of the folders are not longer than 6 s (the
 *   trainer leaves out folders shorter than `--seq-dur`).
 */
export function trainSettings(folderSeconds: readonly number[], hiddenSize: number): TrainSettings {
  const sorted = [...folderSeconds].sort((a, b) => a - b);
  const p10 = sorted.length > 0 ? sorted[Math.floor(sorted.length / 10)] : 6;
  const seqDur = p10 > 6 ? 6 : Math.max(0.1, Math.floor((p10 - 0.05) * 10) / 10);
  const scale = Math.min(10, Math.max(1, UMX_MUSDB_EPOCH / Math.max(1, folderSeconds.length)));
  return {
    seqDur,
    batchSize: 16,
    hiddenSize,
    lr: 0.001,
    weightDecay: 0.00001,
    epochs: Math.round(1000 * scale),
    patience: Math.round(140 * scale),
    lrDecayPatience: Math.round(80 * scale),
    lrDecayGamma: 0.3,
    nbWorkers: 4,
    seed: 42,
  };
}
