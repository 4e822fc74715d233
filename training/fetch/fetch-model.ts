/**
 * `fetchModel`: a published Open-Unmix model's four .pth files, downloaded and verified into a cache
 * folder, then imported into one Stemdeck weights file (.umxw).
 */
import { join } from 'node:path';
import type { UmxConfig } from '../../src/core/model';
import { type MusdbStem, STEM_NAMES } from '../../src/core/stems';
import { importUmxPth } from '../export/pth';
import { writeWeightsFile } from '../export/weights-file';
import { DownloadError, type DownloadOptions, type DownloadOutcome, downloadVerified } from './download';
import { MODEL_SOURCES, type ModelSource, publishedFileName, rebase } from './sources';

/** Relative to the working directory, which `npm run` sets to the repository root. */
export const DEFAULT_WEIGHTS_ROOT = '.cache/stemdeck/weights';

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
}

export interface FetchModelResult {
  readonly source: ModelSource;
  readonly dir: string;
  readonly out: string;
  readonly files: readonly { target: MusdbStem; path: string; outcome: DownloadOutcome }[];
  readonly config: UmxConfig;
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
  return { source, dir, out, files, config: c };
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
