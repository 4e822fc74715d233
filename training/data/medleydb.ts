/**
 * MedleyDB: `<root>/<track>/<track>_METADATA.yaml` and `<root>/<track>/<track>_STEMS/*.wav`. Each
 * stem's instrument label (MedleyDB taxonomy v1) maps to one Stemdeck target; stems of the same
 * target are summed. The table and its decisions are documented in training/README.md.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { StemName } from '../../src/core/stems';
import { loadAudioFile } from './audio-file';
import { assembleTrack, BadDataError, type DecodedPart, type Track, type TrackRef } from './track';

/** Every label that does not map to `other`; everything else (and any unknown label) is `other`. */
const MEDLEYDB_TARGETS: Readonly<Record<Exclude<StemName, 'other'>, readonly string[]>> = {
  // All human voice, as MUSDB18's "vocals"; beatboxing too (it is a voice, and a vocals remover
  // that left it in would surprise). A crowd is ambience: other.
  vocals: [
    'male singer',
    'female singer',
    'male speaker',
    'female speaker',
    'male rapper',
    'female rapper',
    'vocalists',
    'choir',
    'beatboxing',
  ],
  // The kit, drum machines and unpitched percussion (MUSDB18's drums include percussion); timpani
  // are drums here. Pitched mallets (xylophone, vibraphone, marimba, glockenspiel) and chimes play
  // melodies: other.
  drums: [
    'drum set',
    'drum machine',
    'kick drum',
    'snare drum',
    'bass drum',
    'toms',
    'high hat',
    'cymbal',
    'auxiliary percussion',
    'tambourine',
    'bongo',
    'conga',
    'darbuka',
    'doumbek',
    'tabla',
    'timpani',
    'gu',
    'shaker',
    'maracas',
    'cabasa',
    'cowbell',
    'claps',
    'castanet',
    'guiro',
    'rattle',
    'sleigh bells',
    'triangle',
    'gong',
  ],
  // Tuba, bassoon, bass clarinet play bass lines at times but are winds: other.
  bass: ['electric bass', 'double bass'],
  // Guitars only: banjo, mandolin, ukulele, oud, sitar are other.
  guitar: [
    'acoustic guitar',
    'clean electric guitar',
    'distorted electric guitar',
    'lap steel guitar',
    'slide guitar',
  ],
  // Pianos only: harpsichord, organs and synthesizers are other.
  piano: ['piano', 'electric piano', 'tack piano'],
};

/** Labels of the MedleyDB taxonomy (v1) that map to `other` on purpose; anything else unknown is reported. */
const MEDLEYDB_OTHER_LABELS: readonly string[] = [
  ...['erhu', 'violin', 'viola', 'cello', 'violin section', 'viola section', 'cello section'],
  ...['string section', 'banjo', 'guzheng', 'harp', 'harpsichord', 'liuqin', 'mandolin', 'oud'],
  ...['ukulele', 'zhongruan', 'sitar', 'dulcimer', 'yangqin', 'dizi', 'flute', 'flute section'],
  ...['piccolo', 'bamboo flute', 'panpipes', 'recorder', 'alto saxophone', 'baritone saxophone'],
  ...['bass clarinet', 'clarinet', 'clarinet section', 'tenor saxophone', 'soprano saxophone'],
  ...['oboe', 'english horn', 'bassoon', 'bagpipe', 'trumpet', 'cornet', 'trombone', 'french horn'],
  ...['euphonium', 'tuba', 'brass section', 'french horn section', 'trombone section'],
  ...['horn section', 'trumpet section', 'harmonica', 'concertina', 'accordion', 'bandoneon'],
  ...['harmonium', 'pipe organ', 'melodica', 'crowd', 'chimes', 'xylophone', 'vibraphone'],
  ...['marimba', 'glockenspiel', 'whistle', 'electronic organ', 'synthesizer', 'theremin'],
  ...['fx/processed sound', 'scratches', 'sampler', 'main system', 'unlabeled'],
];

const LABEL_TO_TARGET = new Map<string, StemName>([
  ...Object.entries(MEDLEYDB_TARGETS).flatMap(([target, labels]) =>
    labels.map((l) => [l, target as StemName] as const),
  ),
  ...MEDLEYDB_OTHER_LABELS.map((l) => [l, 'other'] as const),
]);

/** The mapping as a table (label → target), for the README and tests. */
export function medleydbMapping(): ReadonlyMap<string, StemName> {
  return LABEL_TO_TARGET;
}

export interface MappedLabel {
  readonly target: StemName;
  /** False when the label is not in the table (it still maps to `other`, and is reported). */
  readonly known: boolean;
}

/**
 * Target of a stem's instrument label (case and surrounding spaces ignored). A stem labelled with
 * several instruments goes to their common target, or to `other` when they disagree.
 */
export function mapMedleydbLabel(label: string | readonly string[]): MappedLabel {
  const labels = (typeof label === 'string' ? [label] : label).map((l) => l.trim().toLowerCase());
  const mapped = labels.map((l) => LABEL_TO_TARGET.get(l));
  const known = mapped.every((t) => t !== undefined);
  const targets = new Set(mapped.map((t) => t ?? 'other'));
  return { target: targets.size === 1 ? [...targets][0] : 'other', known };
}

export interface MedleydbStem {
  readonly id: string;
  readonly file: string;
  readonly label: string | string[];
  readonly target: StemName;
  readonly knownLabel: boolean;
}

export interface MedleydbMetadata {
  readonly yamlFile: string;
  readonly hasBleed: boolean;
  readonly stems: MedleydbStem[];
}

function metadataPath(ref: TrackRef): string {
  return join(ref.path, `${ref.name}_METADATA.yaml`);
}

/** Lists track folders: those with `<name>_METADATA.yaml` or `<name>_STEMS/`. Sorted by name. */
export async function listMedleydb(root: string): Promise<TrackRef[]> {
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`MedleyDB folder not found: ${root}`);
  const refs: TrackRef[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const path = join(root, e.name);
    if (existsSync(join(path, `${e.name}_METADATA.yaml`)) || existsSync(join(path, `${e.name}_STEMS`))) {
      refs.push({ dataset: 'medleydb', name: e.name, path });
    }
  }
  if (refs.length === 0) throw new Error(`no MedleyDB tracks (<track>/<track>_METADATA.yaml) in ${root}`);
  return refs.sort((a, b) => a.name.localeCompare(b.name));
}

/** Reads and checks a track's METADATA file; every problem is a BadDataError naming the YAML. */
export async function readMedleydbMetadata(ref: TrackRef): Promise<MedleydbMetadata> {
  const yamlFile = metadataPath(ref);
  const text = await readFile(yamlFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new BadDataError(yamlFile, err.code === 'ENOENT' ? 'METADATA file not found' : err.message);
  });
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new BadDataError(yamlFile, `invalid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (typeof doc !== 'object' || doc === null) throw new BadDataError(yamlFile, 'not a YAML mapping');
  const meta = doc as Record<string, unknown>;
  const stemDir = typeof meta['stem_dir'] === 'string' ? meta['stem_dir'] : `${ref.name}_STEMS`;
  const stemsNode = meta['stems'];
  if (typeof stemsNode !== 'object' || stemsNode === null || Object.keys(stemsNode).length === 0) {
    throw new BadDataError(yamlFile, 'no "stems" entries');
  }
  const stems: MedleydbStem[] = [];
  for (const [id, node] of Object.entries(stemsNode as Record<string, unknown>)) {
    const entry = (node ?? {}) as Record<string, unknown>;
    const filename = entry['filename'];
    const label = entry['instrument'];
    const labelOk =
      typeof label === 'string' || (Array.isArray(label) && label.every((l) => typeof l === 'string'));
    if (typeof filename !== 'string' || !labelOk) {
      throw new BadDataError(yamlFile, `stem ${id} lacks a filename or an instrument label`);
    }
    const { target, known } = mapMedleydbLabel(label as string | string[]);
    stems.push({ id, file: join(ref.path, stemDir, filename), label, target, knownLabel: known });
  }
  // MedleyDB writes yes/no, which YAML 1.2 (the `yaml` default) keeps as strings.
  const bleed = meta['has_bleed'];
  const hasBleed = bleed === true || (typeof bleed === 'string' && /^(yes|true)$/i.test(bleed));
  return { yamlFile, hasBleed, stems };
}

export async function medleydbSourceFiles(ref: TrackRef): Promise<string[]> {
  const meta = await readMedleydbMetadata(ref);
  return [meta.yamlFile, ...meta.stems.map((s) => s.file)];
}

/** Decodes every stem listed in the METADATA and sums them per target. */
export async function loadMedleydbTrack(ref: TrackRef): Promise<Track> {
  const meta = await readMedleydbMetadata(ref);
  const parts: DecodedPart[] = [];
  for (const s of meta.stems) {
    if (!existsSync(s.file)) {
      throw new BadDataError(
        s.file,
        `stem ${s.id} (${String(s.label)}) is listed in the METADATA but missing`,
      );
    }
    parts.push(await loadAudioFile(s.file, s.target));
  }
  const labels: Record<string, string[]> = {};
  for (const s of meta.stems) (labels[s.target] ??= []).push(String(s.label));
  const unknownLabels = [...new Set(meta.stems.filter((s) => !s.knownLabel).map((s) => String(s.label)))];
  return assembleTrack(
    ref,
    parts,
    [meta.yamlFile, ...meta.stems.map((s) => s.file)],
    { trackFile: ref.path },
    { labels, hasBleed: meta.hasBleed, unknownLabels },
  );
}
