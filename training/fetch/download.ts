/**
 * One published file, downloaded so that nothing half-written or unverified ever carries its name:
 * bytes go to `<file>.partial`, which becomes `<file>` only once its SHA-256 matches. A `.partial`
 * left by a cut connection is continued with an HTTP Range request, by this run's retries or the
 * next run. Uses Node's own fetch (undici), so no dependency and no proxy support: the errors say
 * what to do by hand instead.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Why a download failed, so callers can say what to do about it. */
export type DownloadFailure = 'network' | 'timeout' | 'http' | 'html' | 'truncated' | 'hash';

export class DownloadError extends Error {
  constructor(
    readonly kind: DownloadFailure,
    readonly url: string,
    message: string,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface DownloadOptions {
  /** How long the server may stay silent (before the headers, or between body chunks). Default 30 s. */
  readonly timeoutMs?: number;
  /** Further attempts after a cut connection, each resuming the .partial. Default 3. */
  readonly retries?: number;
  /** Wait before retry n is n × this. Default 1 s. */
  readonly retryDelayMs?: number;
  /** Bytes on disk so far and the whole file's size when the server said it. */
  readonly onProgress?: (received: number, total: number | undefined) => void;
}

/** 'present': `dest` already had the right hash, nothing was requested. */
export type DownloadOutcome = 'present' | 'downloaded';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Makes `dest` a verified copy of `url`: its SHA-256 hex digest must start with `sha256Prefix`.
 * A `dest` that already matches is kept without a request; one that does not is replaced only by a
 * download that does.
 */
export async function downloadVerified(
  url: string,
  dest: string,
  sha256Prefix: string,
  options: DownloadOptions = {},
): Promise<DownloadOutcome> {
  const expected = sha256Prefix.toLowerCase();
  if (!/^[0-9a-f]{8,64}$/.test(expected)) {
    throw new Error(`${url}: expected SHA-256 "${sha256Prefix}" is not 8 to 64 hex digits`);
  }
  if ((await sizeOf(dest)) !== undefined && (await sha256File(dest)).startsWith(expected)) return 'present';
  await mkdir(dirname(dest), { recursive: true });
  const partial = `${dest}.partial`;
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      await fetchToPartial(url, partial, options);
      break;
    } catch (err) {
      if (!(err instanceof DownloadError && err.kind === 'truncated' && attempt < retries)) throw err;
      await sleep((attempt + 1) * (options.retryDelayMs ?? 1000));
    }
  }
  const actual = await sha256File(partial);
  if (!actual.startsWith(expected)) {
    // A complete but wrong file cannot be resumed into a right one.
    await rm(partial, { force: true });
    throw new DownloadError(
      'hash',
      url,
      `${basename(dest)}: wrong SHA-256: expected ${expected}${expected.length < 64 ? '…' : ''}, got ${actual} (${url})`,
    );
  }
  await rename(partial, dest);
  return 'downloaded';
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** `start` of `Content-Range: bytes start-end/total` (total may be `*`). */
function parseContentRange(header: string | null): { start: number; total?: number } | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

/** A .pth is a zip (`PK`) or a pickle (0x80); an error page from a proxy or portal starts with `<`. */
function looksLikeHtml(chunk: Uint8Array): boolean {
  let i = chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0; // a UTF-8 byte-order mark
  while (chunk[i] === 0x20 || chunk[i] === 0x09 || chunk[i] === 0x0a || chunk[i] === 0x0d) i++;
  return chunk[i] === 0x3c; // '<'
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

/** One request: appends to `partial` when the server honours the Range, else rewrites it. */
async function fetchToPartial(url: string, partial: string, options: DownloadOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const offset = (await sizeOf(partial)) ?? 0;
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
  };
  const silence = `${(timeoutMs / 1000).toFixed(timeoutMs < 1000 ? 1 : 0)} s`;
  let file: FileHandle | undefined;
  try {
    arm();
    let response: Response;
    try {
      response = await fetch(url, {
        headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
        signal: controller.signal,
      });
    } catch (err) {
      if (timedOut) throw new DownloadError('timeout', url, `${url}: no answer in ${silence}`);
      throw new DownloadError('network', url, `cannot reach ${url} (${networkReason(err)})`);
    }
    if (response.status === 416 && offset > 0) {
      // The .partial is not a prefix of this file (it is as long or longer): start over.
      controller.abort();
      await rm(partial, { force: true });
      return await fetchToPartial(url, partial, options);
    }
    if (!response.ok) {
      throw new DownloadError('http', url, `${url}: HTTP ${response.status} ${response.statusText}`.trim());
    }
    const type = response.headers.get('content-type') ?? '';
    if (/text\/html|application\/xhtml/i.test(type)) {
      throw new DownloadError('html', url, `${url}: got an HTML page, not a .pth (Content-Type ${type})`);
    }
    const range =
      response.status === 206 ? parseContentRange(response.headers.get('content-range')) : undefined;
    if (response.status === 206 && range?.start !== offset) {
      controller.abort();
      await rm(partial, { force: true });
      return await fetchToPartial(url, partial, options);
    }
    // 200 to a Range request: the server sends the whole file, so the .partial is rewritten.
    const append = response.status === 206;
    const start = append ? offset : 0;
    const lengthHeader = response.headers.get('content-length');
    const length = lengthHeader === null ? undefined : Number(lengthHeader);
    const total = range?.total ?? (length === undefined ? undefined : start + length);
    if (!response.body)
      throw new DownloadError('http', url, `${url}: HTTP ${response.status} without a body`);
    const reader = response.body.getReader();
    let received = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        if (!file) {
          // Checked before opening, so an error page never replaces a .partial from an earlier run.
          if (!append && looksLikeHtml(value)) {
            throw new DownloadError('html', url, `${url}: got an HTML page, not a .pth`);
          }
          file = await open(partial, append ? 'a' : 'w');
        }
        await file.write(value);
        received += value.length;
        options.onProgress?.(start + received, total);
      }
    } catch (err) {
      if (err instanceof DownloadError) throw err;
      const of = total === undefined ? '' : ` of ${total}`;
      if (timedOut) {
        throw new DownloadError(
          'timeout',
          url,
          `${url}: no data for ${silence} after ${start + received}${of} bytes`,
        );
      }
      throw new DownloadError(
        'truncated',
        url,
        `${url}: connection closed after ${start + received}${of} bytes (${networkReason(err)})`,
      );
    }
    if (length !== undefined && received !== length) {
      throw new DownloadError(
        'truncated',
        url,
        `${url}: truncated: got ${received} of the ${length} bytes the server announced`,
      );
    }
    if (!file && !append)
      throw new DownloadError('http', url, `${url}: HTTP ${response.status} with an empty body`);
  } finally {
    clearTimeout(timer);
    await file?.close();
    // Frees the socket of a body left unread (an error page, a refused answer); a no-op once read.
    controller.abort();
  }
}
