/**
 * The published Open-Unmix weights `npm run fetch-model` knows: where each target's .pth lives, the
 * SHA-256 it must have, the licence, and the architecture the files must describe.
 *
 * URLs and file names are open-unmix-pytorch's (`openunmix/__init__.py`, `umxhq_spec` / `umxl_spec`,
 * release 1.3.0, which moved them from zenodo.org/api/files/<bucket>/ to zenodo.org/records/<id>/files/).
 * The file names follow torch.hub's convention `<name>-<first hex digits of the sha256>.pth`.
 */
import type { MusdbStem } from '../../src/core/stems';

export interface PublishedFile {
  readonly url: string;
  /**
   * Leading hex digits of the file's SHA-256 (at least 8, as torch.hub's check_hash takes them from
   * the file name), or the whole digest where it is known.
   */
  readonly sha256Prefix: string;
}

export interface WeightsLicence {
  /** SPDX identifier; also what `--accept-licence` must repeat when `mustAccept`. */
  readonly id: string;
  readonly url: string;
  /** One line for the terminal. */
  readonly summary: string;
  /** Restrictive licences are downloaded only once the user names them. */
  readonly mustAccept: boolean;
}

export interface ModelSource {
  readonly name: string;
  readonly title: string;
  /** Where the files are published (shown to the user; the files' own URLs are in `targets`). */
  readonly record: string;
  readonly licence: WeightsLicence;
  /** What the files must decode to: a mix-up of models is caught before a .umxw is written. */
  readonly hiddenSize: number;
  readonly maxBin: number;
  readonly sampleRate: number;
  readonly targets: Readonly<Record<MusdbStem, PublishedFile>>;
}

/** bandwidth_to_max_bin(44100, 4096, 16000): both published 4-target models cut the input at 16 kHz. */
const MAX_BIN_16KHZ = 1487;

export const MODEL_SOURCES: Readonly<Record<string, ModelSource>> = {
  umxhq: {
    name: 'umxhq',
    title: 'Open-Unmix UMX-HQ (trained on MUSDB18-HQ)',
    record: 'https://zenodo.org/records/3370489',
    licence: {
      id: 'MIT',
      url: 'https://opensource.org/licenses/MIT',
      summary: 'MIT licence (the Zenodo record’s licence for these weights)',
      mustAccept: false,
    },
    hiddenSize: 512,
    maxBin: MAX_BIN_16KHZ,
    sampleRate: 44100,
    // Whole digests: the same values are published by two unrelated projects that fetched the files
    // (each starting with the file name's prefix); a prefix alone would pass torch.hub's check too.
    targets: {
      vocals: {
        url: 'https://zenodo.org/records/3370489/files/vocals-b62c91ce.pth',
        sha256Prefix: 'b62c91cedbc7a066f1778ead5b5cecb377aa3a46a31af1cce7c5c8769339d083',
      },
      drums: {
        url: 'https://zenodo.org/records/3370489/files/drums-9619578f.pth',
        sha256Prefix: '9619578f885c54737cb0234f9f9a4a679ee4f31438fd77fd1dbe02bb16c2da0a',
      },
      bass: {
        url: 'https://zenodo.org/records/3370489/files/bass-8d85a5bd.pth',
        sha256Prefix: '8d85a5bd3f996a8867fca0e8442e077e5a3f5ec747a6112742452a8f347b39c8',
      },
      other: {
        url: 'https://zenodo.org/records/3370489/files/other-b52fbbf7.pth',
        sha256Prefix: 'b52fbbf76479e752bd72e02304c602ac7802aa5bfbfb9cd12054b2695d5093ab',
      },
    },
  },
  umxl: {
    name: 'umxl',
    title: 'Open-Unmix UMX-L (trained on ~400 h of private multitracks)',
    record: 'https://zenodo.org/records/5069601',
    licence: {
      id: 'CC-BY-NC-SA-4.0',
      url: 'https://creativecommons.org/licenses/by-nc-sa/4.0/',
      summary:
        'Creative Commons BY-NC-SA 4.0: non-commercial use only, credit the authors, share derivatives (a model built from them included) under the same licence',
      mustAccept: true,
    },
    hiddenSize: 1024,
    maxBin: MAX_BIN_16KHZ,
    sampleRate: 44100,
    // Only the file names' prefixes: no published whole digest was found for these files.
    targets: {
      vocals: {
        url: 'https://zenodo.org/records/5069601/files/vocals-bccbd9aa.pth',
        sha256Prefix: 'bccbd9aa',
      },
      drums: { url: 'https://zenodo.org/records/5069601/files/drums-69e0ebd4.pth', sha256Prefix: '69e0ebd4' },
      bass: { url: 'https://zenodo.org/records/5069601/files/bass-2ca1ce51.pth', sha256Prefix: '2ca1ce51' },
      other: { url: 'https://zenodo.org/records/5069601/files/other-c8c5b3e6.pth', sha256Prefix: 'c8c5b3e6' },
    },
  },
};

/** The last path segment of `url`: the name the file is saved under. */
export function publishedFileName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  // The name becomes a path in the cache folder: nothing that could climb out of it.
  if (!name || name === '.' || name === '..' || /[/\\]/.test(name)) {
    throw new Error(`${url}: no file name in the URL`);
  }
  return name;
}

/** torch.hub's HASH_REGEX (`-([a-f0-9]*)\.`): the digest prefix a published file name carries, if any. */
export function hashPrefixInName(fileName: string): string | null {
  return /-([a-f0-9]*)\./.exec(fileName)?.[1] || null;
}

/** `file` served from `baseUrl` (a mirror, or a test's server) instead of its published location. */
export function rebase(file: PublishedFile, baseUrl: string): PublishedFile {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return { ...file, url: new URL(encodeURIComponent(publishedFileName(file.url)), base).href };
}
