/**
 * `fetchModel`: a published Open-Unmix model's four .pth files, downloaded and verified into a cache
 * folder, then imported into one Stemdeck weights file (.umxw) and, on request (`onnx`), exported as
 * the model file the extension ships: by default the hierarchical 6-stem model whose top level is the
 * published four networks (their "other" as the group guitar+piano+other) and whose guitar, piano
 * and other networks, splitting that group, are Stemdeck's own — as in the shipped 6-stem model.
 */
import { join, resolve } from 'node:path';
import type { UmxConfig, UmxWeights } from '../../src/core/model';
import { ensembleConfig } from '../../src/core/onnx-model';
import { SHIPPED_MODEL_PATH } from '../../src/core/shipped-model';
import {
  type MusdbStem,
  type NetworkName,
  outputStems,
  STEM_NAMES,
  type StemName,
} from '../../src/core/stems';
import { exportUmxEnsembleOnnx, exportUmxOnnx, type OnnxExportOptions } from '../export/onnx';
import { importUmxPth } from '../export/pth';
import { writeWeightsFile } from '../export/weights-file';
import { writeFileAtomic } from '../node/atomic';
import { pickTargets, readPart } from '../train/merge';
import { DownloadError, type DownloadOptions, type DownloadOutcome, downloadVerified } from './download';
import { MODEL_SOURCES, type ModelSource, publishedFileName, rebase } from './sources';

/** Relative to the working directory, which `npm run` sets to the repository root. */
export const DEFAULT_WEIGHTS_ROOT = '.cache/stemdeck/weights';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** The group the published "other" network becomes in the 6-stem model, and its member stems. */
export const GROUP: NetworkName = 'guitar+piano+other';
export const GROUP_MEMBERS: readonly StemName[] = ['guitar', 'piano', 'other'];

/**
 * The networks that split the group by default: the shipped 6-stem model's guitar, piano and other
 * (a networks-file argument as merge.ts takes it; the member that has all three).
 */
export const DEFAULT_MEMBER_NETWORKS = `${resolve(REPO_ROOT, SHIPPED_MODEL_PATH)}:${GROUP_MEMBERS.join(',')}`;

/** How the model files are stored: int8 matrices, float16 for the rest — as the shipped ones. */
export const MODEL_STORAGE: OnnxExportOptions = { float16: true, int8: true };

/** The .onnx `npm run fetch-model` writes by default, relative to the repository root. */
export function defaultOnnxPath(model: string, stems: 4 | 6): string {
  return join('models', stems === 6 ? `${model}-6stem.onnx` : `${model}.onnx`);
}

export interface OnnxBuildOptions {
  /**
   * 6: the hierarchical 6-stem model (the published networks on top, `memberNetworks` splitting
   * their "other"); 4: the published four networks alone (no guitar or piano sliders).
   */
  readonly stems: 4 | 6;
  /** The .onnx to write. */
  readonly out: string;
  /**
   * The guitar, piano and other networks that split the group, as a networks-file argument
   * (`FILE.umxw` or `FILE.onnx[#k]`, with `:guitar,piano,other` picks). Default DEFAULT_MEMBER_NETWORKS.
   */
  readonly memberNetworks?: string;
}

/** A model file built from the fetched weights. */
export interface BuiltModel {
  readonly path: string;
  /** Its size in bytes. */
  readonly size: number;
  /** The model as readers see it (`stemdeck.config`): every network's name, groups included. */
  readonly config: UmxConfig;
  /** What the extension shows: one slider per stem. */
  readonly stems: readonly StemName[];
  /** Each network set's config: the published top level, then the member networks (6 stems). */
  readonly members: readonly UmxConfig[];
  /** Where the member networks came from (6 stems). */
  readonly memberNetworks?: string;
}

export interface FetchModelOptions {
  /** Folder for the .pth files. Default `.cache/stemdeck/weights/<model>`. */
  readonly dir?: string;
  /** The .umxw to write. Default `<dir>/<model>.umxw`. */
  readonly out?: string;
  /** The licence id the user accepted (`--accept-licence`), for licences that need it. */
  readonly acceptLicence?: string;
  /** Fetch the published file names from this folder URL instead (a mirror). */
  readonly baseUrl?: string;
  /** The model table; tests point it at a local server. Default MODEL_SOURCES. */
  readonly sources?: Readonly<Record<string, ModelSource>>;
  readonly download?: Omit<DownloadOptions, 'onProgress'>;
  readonly onProgress?: (file: string, received: number, total: number | undefined) => void;
  /** After each file: downloaded, or already there with the right hash. */
  readonly onFile?: (target: MusdbStem, path: string, outcome: DownloadOutcome) => void;
  /** Also export the model file the extension ships (`npm run fetch-model` always does). */
  readonly onnx?: OnnxBuildOptions;
}

export interface FetchModelResult {
  readonly source: ModelSource;
  readonly dir: string;
  readonly out: string;
  readonly files: readonly { target: MusdbStem; path: string; outcome: DownloadOutcome }[];
  readonly config: UmxConfig;
  /** The model file, when `onnx` asked for one. */
  readonly onnx?: BuiltModel;
}

export class LicenceNotAccepted extends Error {
  override name = 'LicenceNotAccepted';
}

export function modelSource(name: string, sources = MODEL_SOURCES): ModelSource {
  const source = Object.hasOwn(sources, name) ? sources[name] : undefined;
  if (!source) throw new Error(`unknown model "${name}" (known: ${Object.keys(sources).join(', ')})`);
  return source;
}

/** Throws unless the licence needs no acceptance or `accepted` names it. */
export function checkLicence(source: ModelSource, accepted: string | undefined): void {
  const { licence } = source;
  if (!licence.mustAccept || accepted?.trim().toLowerCase() === licence.id.toLowerCase()) return;
  const given = accepted === undefined ? '' : ` (--accept-licence ${accepted} does not name it)`;
  throw new LicenceNotAccepted(
    `${source.name}: the weights are licensed ${licence.id} (${licence.summary}; ${licence.url})${given}; ` +
      `to download them anyway, pass --accept-licence ${licence.id}`,
  );
}

export async function fetchModel(name: string, options: FetchModelOptions = {}): Promise<FetchModelResult> {
  const source = modelSource(name, options.sources);
  checkLicence(source, options.acceptLicence);
  const dir = options.dir ?? join(DEFAULT_WEIGHTS_ROOT, source.name);
  const out = options.out ?? join(dir, `${source.name}.umxw`);
  // The member networks first: a missing or unfit file is reported before a long download.
  const split = options.onnx?.stems === 6 ? await readMemberNetworks(options.onnx.memberNetworks) : undefined;
  const targets = STEM_NAMES.filter((t): t is MusdbStem => Object.hasOwn(source.targets, t));
  const files: { target: MusdbStem; path: string; outcome: DownloadOutcome }[] = [];
  for (const target of targets) {
    const published = source.targets[target];
    const file = options.baseUrl ? rebase(published, options.baseUrl) : published;
    const fileName = publishedFileName(published.url);
    const path = join(dir, fileName);
    let outcome: DownloadOutcome;
    try {
      outcome = await downloadVerified(file.url, path, file.sha256Prefix, {
        ...options.download,
        onProgress: (received, total) => options.onProgress?.(fileName, received, total),
      });
    } catch (err) {
      if (err instanceof DownloadError) throw new DownloadError(err.kind, err.url, withAdvice(err, dir));
      throw err;
    }
    files.push({ target, path, outcome });
    options.onFile?.(target, path, outcome);
  }

  const { weights } = await importUmxPth(
    files.map((f) => f.path),
    files.map((f) => f.target),
    { sampleRate: source.sampleRate },
  );
  const c = weights.config;
  if (c.hiddenSize !== source.hiddenSize || c.maxBin !== source.maxBin) {
    throw new Error(
      `${dir}: the files hold hidden size ${c.hiddenSize}, maxBin ${c.maxBin}; ${source.name} has ` +
        `hidden size ${source.hiddenSize}, maxBin ${source.maxBin}: not the published ${source.name} weights`,
    );
  }
  await writeWeightsFile(out, weights);
  const onnx = options.onnx ? await buildModelFile(weights, options.onnx, source, split) : undefined;
  return { source, dir, out, files, config: c, ...(onnx ? { onnx } : {}) };
}

/**
 * The networks that split the group: `arg` (a networks-file argument) must give exactly guitar,
 * piano and other.
 */
export async function readMemberNetworks(arg = DEFAULT_MEMBER_NETWORKS): Promise<UmxWeights> {
  let w: UmxWeights;
  try {
    w = await readPart(arg);
  } catch (err) {
    throw new Error(
      `the guitar/piano/other networks (${arg}): ${err instanceof Error ? err.message : String(err)}; ` +
        'name others with --members FILE.onnx|FILE.umxw[:guitar,piano,other], or build the 4-stem model with --stems 4',
    );
  }
  const t = w.config.targets;
  if (t.length !== GROUP_MEMBERS.length || !GROUP_MEMBERS.every((m) => t.includes(m))) {
    throw new Error(
      `the networks splitting ${GROUP} must be ${GROUP_MEMBERS.join(', ')}; ${arg} gives ${t.join(', ')}`,
    );
  }
  return w;
}

/**
 * The hierarchical 6-stem model's members: the published vocals, drums and bass, and their "other"
 * as the group guitar+piano+other (the top level the Wiener step sees), then `split`'s guitar, piano
 * and other, which share the group's result among themselves (src/core/separator.ts). The top level
 * is the published model bit for bit; the members may be of any size.
 */
export function hierarchicalMembers(published: UmxWeights, split: UmxWeights): UmxWeights[] {
  const top = pickTargets(published, ['vocals', 'drums', 'bass', `other=${GROUP}`], 'the published weights');
  return [top, split];
}

/** Exports the fetched weights as `options` asks and writes the file (atomically). */
export async function buildModelFile(
  weights: UmxWeights,
  options: OnnxBuildOptions,
  source: Pick<ModelSource, 'title'>,
  split?: UmxWeights,
): Promise<BuiltModel> {
  let bytes: Uint8Array;
  let members: UmxConfig[];
  if (options.stems === 6) {
    const memberNetworks = options.memberNetworks ?? DEFAULT_MEMBER_NETWORKS;
    const parts = hierarchicalMembers(weights, split ?? (await readMemberNetworks(memberNetworks)));
    members = parts.map((m) => m.config);
    try {
      bytes = exportUmxEnsembleOnnx(parts, {
        ...MODEL_STORAGE,
        docString: `${source.title}, its "other" as ${GROUP}, split by Stemdeck's ${GROUP_MEMBERS.join(', ')} networks (Stemdeck export)`,
      });
    } catch (err) {
      throw new Error(
        `cannot join the published networks and ${memberNetworks}: ${err instanceof Error ? err.message : String(err)}; ` +
          'name other guitar/piano/other networks with --members, or build the 4-stem model with --stems 4',
      );
    }
  } else {
    members = [weights.config];
    bytes = exportUmxOnnx(weights, { ...MODEL_STORAGE, docString: `${source.title} (Stemdeck export)` });
  }
  await writeFileAtomic(options.out, bytes);
  const config = members.length > 1 ? ensembleConfig(members) : members[0];
  return {
    path: options.out,
    size: bytes.length,
    config,
    stems: outputStems(config.targets),
    members,
    ...(options.stems === 6 ? { memberNetworks: options.memberNetworks ?? DEFAULT_MEMBER_NETWORKS } : {}),
  };
}

/** The error plus what the user can do about it, still on one line. */
function withAdvice(err: DownloadError, dir: string): string {
  const byHand =
    `download ${err.url} by hand into ${dir}/ (or copy it from ~/.cache/torch/hub/checkpoints/) and run again, ` +
    'or convert .pth files you already have with npm run import-umx';
  switch (err.kind) {
    case 'truncated':
      return `${err.message}; run again to resume the download, or ${byHand}`;
    case 'hash':
      return `${err.message}; the download was discarded: run again, or ${byHand}`;
    case 'network':
    case 'timeout':
      return `${err.message}; offline or behind a proxy? ${byHand}`;
    case 'http':
    case 'html':
      return `${err.message}; behind a proxy or login page? ${byHand}`;
  }
}
