import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DownloadError, downloadVerified } from './download';
import { cutAfter, type Handler, serveFile, sha256, startServer, type TestServer } from './test-server';

const FIXTURE = join(import.meta.dirname, '../export/__fixtures__/tiny-vocals.pth');

let bytes: Uint8Array;
let digest: string;
let dir: string;
let server: TestServer | undefined;

beforeAll(async () => {
  bytes = new Uint8Array(await readFile(FIXTURE));
  digest = sha256(bytes);
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stemdeck-download-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Serves `handler` at /vocals-<prefix>.pth and returns that URL and the local destination. */
async function serve(handler: Handler): Promise<{ url: string; dest: string }> {
  const name = `vocals-${digest.slice(0, 8)}.pth`;
  server = await startServer({ [`/${name}`]: handler });
  return { url: `${server.url}${name}`, dest: join(dir, name) };
}

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DownloadError);
  return err as DownloadError;
}

const fast = { retryDelayMs: 0, timeoutMs: 5000 };

describe('downloadVerified', () => {
  it('downloads, checks the hash and leaves only the verified file', async () => {
    const { url, dest } = await serve(serveFile(bytes));
    const progress: number[] = [];
    const outcome = await downloadVerified(url, dest, digest.slice(0, 8), {
      ...fast,
      onProgress: (received, total) => {
        expect(total).toBe(bytes.length);
        progress.push(received);
      },
    });
    expect(outcome).toBe('downloaded');
    expect(readFileSync(dest)).toEqual(Buffer.from(bytes));
    expect(existsSync(`${dest}.partial`)).toBe(false);
    expect(progress.at(-1)).toBe(bytes.length);
    expect(server!.requests).toEqual([{ path: `/${dest.split('/').pop()}`, range: undefined }]);
  });

  it('does not request a file that is already there with the right hash', async () => {
    const { url, dest } = await serve(serveFile(bytes));
    writeFileSync(dest, bytes);
    expect(await downloadVerified(url, dest, digest, fast)).toBe('present');
    expect(server!.requests).toHaveLength(0);
  });

  it('resumes with a Range request after the connection is cut mid-body', async () => {
    const cut = 5000;
    const first = cutAfter(bytes, cut);
    const rest = serveFile(bytes);
    const { url, dest } = await serve((req, res, nth) => (nth === 0 ? first : rest)(req, res, nth));
    expect(await downloadVerified(url, dest, digest.slice(0, 8), fast)).toBe('downloaded');
    expect(server!.requests.map((r) => r.range)).toEqual([undefined, `bytes=${cut}-`]);
    expect(readFileSync(dest)).toEqual(Buffer.from(bytes));
    expect(existsSync(`${dest}.partial`)).toBe(false);
  });

  it('continues a .partial left by an earlier run', async () => {
    const { url, dest } = await serve(serveFile(bytes));
    writeFileSync(`${dest}.partial`, bytes.subarray(0, 1234));
    await downloadVerified(url, dest, digest.slice(0, 8), fast);
    expect(server!.requests.map((r) => r.range)).toEqual(['bytes=1234-']);
    expect(readFileSync(dest)).toEqual(Buffer.from(bytes));
  });

  it('starts over when the server ignores the Range and sends the whole file (200)', async () => {
    const { url, dest } = await serve(serveFile(bytes, { honourRange: false }));
    // Not a prefix of the file: appending the 200 body to it would fail the hash.
    writeFileSync(`${dest}.partial`, new Uint8Array(777).fill(7));
    await downloadVerified(url, dest, digest.slice(0, 8), fast);
    expect(server!.requests.map((r) => r.range)).toEqual(['bytes=777-']);
    expect(readFileSync(dest)).toEqual(Buffer.from(bytes));
  });

  it('starts over when the .partial is longer than the file (416)', async () => {
    const { url, dest } = await serve(serveFile(bytes));
    writeFileSync(`${dest}.partial`, new Uint8Array(bytes.length + 10));
    await downloadVerified(url, dest, digest.slice(0, 8), fast);
    expect(server!.requests.map((r) => r.range)).toEqual([`bytes=${bytes.length + 10}-`, undefined]);
    expect(readFileSync(dest)).toEqual(Buffer.from(bytes));
  });

  it('refuses a wrong hash by name, discards the download and keeps the previous file', async () => {
    const { url, dest } = await serve(serveFile(bytes));
    writeFileSync(dest, 'previous file');
    const err = await failure(downloadVerified(url, dest, 'deadbeef', fast));
    expect(err.kind).toBe('hash');
    expect(err.message).toContain(`wrong SHA-256: expected deadbeef…, got ${digest}`);
    expect(err.message).toContain(dest.split('/').pop());
    expect(readFileSync(dest, 'utf8')).toBe('previous file');
    expect(existsSync(`${dest}.partial`)).toBe(false);
  });

  it('refuses a body cut short every time, after its retries, keeping the .partial to resume', async () => {
    const { url, dest } = await serve(cutAfter(bytes, 3000));
    const err = await failure(downloadVerified(url, dest, digest.slice(0, 8), { ...fast, retries: 2 }));
    expect(err.kind).toBe('truncated');
    expect(err.message).toMatch(new RegExp(`connection closed after 3000 of ${bytes.length} bytes`));
    expect(server!.requests).toHaveLength(3);
    expect(existsSync(dest)).toBe(false);
    expect(readFileSync(`${dest}.partial`)).toEqual(Buffer.from(bytes.subarray(0, 3000)));
  });

  it('refuses an HTML page (by Content-Type) without touching an earlier .partial', async () => {
    const page: Handler = (_req, res) =>
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<html>Sign in</html>');
    const { url, dest } = await serve(page);
    writeFileSync(`${dest}.partial`, bytes.subarray(0, 100));
    const err = await failure(downloadVerified(url, dest, digest.slice(0, 8), fast));
    expect(err.kind).toBe('html');
    expect(err.message).toContain('got an HTML page, not a .pth');
    expect(readFileSync(`${dest}.partial`)).toEqual(Buffer.from(bytes.subarray(0, 100)));
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses an HTML body served as a binary file, writing nothing', async () => {
    const page: Handler = (_req, res) =>
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end('\n<!DOCTYPE html><p>Error</p>');
    const { url, dest } = await serve(page);
    const err = await failure(downloadVerified(url, dest, digest.slice(0, 8), fast));
    expect(err.message).toContain('got an HTML page, not a .pth');
    expect(existsSync(`${dest}.partial`)).toBe(false);
    expect(existsSync(dest)).toBe(false);
  });

  it('gives up on a server that never answers, after the timeout', async () => {
    const { url, dest } = await serve(() => undefined);
    const started = performance.now();
    const err = await failure(downloadVerified(url, dest, digest.slice(0, 8), { ...fast, timeoutMs: 200 }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toBe(`${url}: no answer in 0.2 s`);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(existsSync(dest)).toBe(false);
  });

  it('gives up on a body that stalls, keeping what came for a resume', async () => {
    const stall: Handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
      res.write(bytes.subarray(0, 2000));
    };
    const { url, dest } = await serve(stall);
    const err = await failure(downloadVerified(url, dest, digest.slice(0, 8), { ...fast, timeoutMs: 300 }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toContain(`no data for 0.3 s after 2000 of ${bytes.length} bytes`);
    expect(readFileSync(`${dest}.partial`)).toHaveLength(2000);
  });

  it('names the status of an HTTP error', async () => {
    const { dest } = await serve(serveFile(bytes));
    const url = `${server!.url}missing.pth`;
    const err = await failure(downloadVerified(url, dest, digest.slice(0, 8), fast));
    expect(err.kind).toBe('http');
    expect(err.message).toBe(`${url}: HTTP 404 Not Found`);
    expect(existsSync(`${dest}.partial`)).toBe(false);
  });

  it('names the URL when nothing listens there', async () => {
    const { url, dest } = await serve(serveFile(bytes));
    await server!.close();
    server = undefined;
    const err = await failure(downloadVerified(url, dest, digest.slice(0, 8), fast));
    expect(err.kind).toBe('network');
    expect(err.message).toBe(`cannot reach ${url} (ECONNREFUSED)`);
  });

  it('rejects an expected digest that is too short to mean anything', async () => {
    const { url, dest } = await serve(serveFile(bytes));
    await expect(downloadVerified(url, dest, digest.slice(0, 4), fast)).rejects.toThrow(/not 8 to 64 hex/);
    expect(server!.requests).toHaveLength(0);
  });
});
