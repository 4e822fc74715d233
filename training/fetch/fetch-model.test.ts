import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MusdbStem } from '../../src/core/stems';
import { importUmxPth } from '../export/pth';
import { readWeightsFile } from '../export/weights-file';
import { DownloadError } from './download';
import { fetchModel, LicenceNotAccepted } from './fetch-model';
import { MODEL_SOURCES, type ModelSource } from './sources';
import { type Handler, serveFile, sha256, startServer, type TestServer } from './test-server';

const fixtures = join(import.meta.dirname, '../export/__fixtures__');
// Three distinct tiny files of one architecture (hidden 4, maxBin 6, 2 bidirectional layers);
// `bass` is the legacy (pre-zip) torch.save format, as the real UMX-HQ files are.
const FIXTURE_OF: Record<MusdbStem, string> = {
  vocals: 'tiny-vocals.pth',
  drums: 'tiny-drums.pth',
  bass: 'tiny-legacy.pth',
  other: 'tiny-vocals.pth',
};

let bytes: Record<MusdbStem, Uint8Array>;
let dir: string;
let server: TestServer | undefined;

beforeAll(async () => {
  const entries = await Promise.all(
    Object.entries(FIXTURE_OF).map(async ([t, f]) => [t, new Uint8Array(await readFile(join(fixtures, f)))]),
  );
  bytes = Object.fromEntries(entries);
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stemdeck-fetch-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** The tiny fixtures published torch.hub-style under `<target>-<sha256[:8]>.pth`, and a table for them. */
async function publishTiny(
  handlerFor: (target: MusdbStem, data: Uint8Array) => Handler = (_t, data) => serveFile(data),
): Promise<Record<string, ModelSource>> {
  const names = Object.fromEntries(
    Object.entries(bytes).map(([t, data]) => [t, `${t}-${sha256(data).slice(0, 8)}.pth`]),
  ) as Record<MusdbStem, string>;
  server = await startServer(
    Object.fromEntries(
      Object.entries(bytes).map(([t, data]) => [
        `/${names[t as MusdbStem]}`,
        handlerFor(t as MusdbStem, data),
      ]),
    ),
  );
  const url = server.url;
  const target = (t: MusdbStem) => ({ url: `${url}${names[t]}`, sha256Prefix: sha256(bytes[t]).slice(0, 8) });
  return {
    tiny: {
      ...MODEL_SOURCES.umxhq,
      name: 'tiny',
      hiddenSize: 4,
      maxBin: 6,
      targets: {
        vocals: target('vocals'),
        drums: target('drums'),
        bass: target('bass'),
        other: target('other'),
      },
    },
  };
}

const fast = { retryDelayMs: 0, timeoutMs: 5000 };

describe('fetchModel', () => {
  it('downloads the four files, verifies them and writes the .umxw', async () => {
    const sources = await publishTiny();
    const result = await fetchModel('tiny', { sources, dir, download: fast });
    expect(result.out).toBe(join(dir, 'tiny.umxw'));
    expect(result.files.map((f) => [f.target, f.outcome])).toEqual([
      ['vocals', 'downloaded'],
      ['drums', 'downloaded'],
      ['bass', 'downloaded'],
      ['other', 'downloaded'],
    ]);
    expect(server!.requests).toHaveLength(4);
    for (const f of result.files) expect(readFileSync(f.path)).toEqual(Buffer.from(bytes[f.target]));
    expect(readdirSync(dir).filter((n) => n.includes('.partial') || n.includes('.tmp-'))).toEqual([]);

    const written = await readWeightsFile(result.out);
    expect(written.config).toMatchObject({ targets: ['vocals', 'drums', 'bass', 'other'], hiddenSize: 4 });
    const want = await importUmxPth(
      result.files.map((f) => join(fixtures, FIXTURE_OF[f.target])),
      result.files.map((f) => f.target),
    );
    for (const t of ['vocals', 'drums', 'bass', 'other'] as const) {
      expect(Object.keys(written.targets[t]!).length).toBeGreaterThan(10);
      for (const [key, values] of Object.entries(want.weights.targets[t]!)) {
        expect([...written.targets[t]![key]], `${t} ${key}`).toEqual([...values]);
      }
    }
  });

  it('does not download again what is already there with the right hash', async () => {
    const sources = await publishTiny();
    await fetchModel('tiny', { sources, dir, download: fast });
    rmSync(join(dir, 'tiny.umxw'));
    const seen: string[] = [];
    const result = await fetchModel('tiny', {
      sources,
      dir,
      download: fast,
      onFile: (target, _path, outcome) => seen.push(`${target} ${outcome}`),
    });
    expect(server!.requests).toHaveLength(4); // all from the first run
    expect(seen).toEqual(['vocals present', 'drums present', 'bass present', 'other present']);
    expect(statSync(result.out).size).toBeGreaterThan(0);
  });

  it('resumes a file whose connection was cut, within the same run', async () => {
    const sources = await publishTiny((target, data) => {
      const whole = serveFile(data);
      return (req, res, nth) => {
        if (target === 'drums' && nth === 0) {
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length });
          res.write(data.subarray(0, 4096), () => res.socket?.destroy());
        } else whole(req, res, nth);
      };
    });
    const result = await fetchModel('tiny', { sources, dir, download: fast });
    expect(server!.requests.filter((r) => r.path.startsWith('/drums-')).map((r) => r.range)).toEqual([
      undefined,
      'bytes=4096-',
    ]);
    expect(readFileSync(result.files[1].path)).toEqual(Buffer.from(bytes.drums));
  });

  it('tells the user what to do when a file cannot be had, and writes no .umxw', async () => {
    const sources = await publishTiny((target, data) =>
      target === 'bass' ? (_req, res) => res.writeHead(404).end() : serveFile(data),
    );
    const err = await fetchModel('tiny', { sources, dir, download: fast }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    const message = (err as Error).message;
    expect(message).toMatch(/bass-[0-9a-f]{8}\.pth: HTTP 404 Not Found; /);
    expect(message).toContain(`by hand into ${dir}/`);
    expect(message).toContain('npm run import-umx');
    expect(message).not.toContain('\n');
    expect(existsSync(join(dir, 'tiny.umxw'))).toBe(false);
  });

  it('refuses the published UMX-HQ names when the bytes are not the published ones', async () => {
    // The official table, pointed at a mirror that serves the tiny fixtures under the official names.
    const umxhq = MODEL_SOURCES.umxhq.targets;
    server = await startServer(
      Object.fromEntries(
        (['vocals', 'drums', 'bass', 'other'] as const).map((t) => [
          `/${umxhq[t].url.split('/').pop()}`,
          serveFile(bytes[t]),
        ]),
      ),
    );
    const err = await fetchModel('umxhq', { dir, baseUrl: server.url, download: fast }).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).kind).toBe('hash');
    expect((err as Error).message).toContain(
      `vocals-b62c91ce.pth: wrong SHA-256: expected ${umxhq.vocals.sha256Prefix}, got ${sha256(bytes.vocals)}`,
    );
    expect(server.requests.map((r) => r.path)).toEqual(['/vocals-b62c91ce.pth']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses files that are not the model the table names', async () => {
    const sources = await publishTiny();
    const wrong = { tiny: { ...sources.tiny, hiddenSize: 512, maxBin: 1487 } };
    await expect(fetchModel('tiny', { sources: wrong, dir, download: fast })).rejects.toThrow(
      /hidden size 4, maxBin 6; tiny has hidden size 512, maxBin 1487: not the published tiny weights/,
    );
    expect(existsSync(join(dir, 'tiny.umxw'))).toBe(false);
  });

  it('refuses UMX-L before any request unless its licence is accepted by name', async () => {
    server = await startServer({});
    const options = { dir, baseUrl: server.url, download: fast };
    const refused = await fetchModel('umxl', options).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LicenceNotAccepted);
    expect((refused as Error).message).toContain('licensed CC-BY-NC-SA-4.0');
    expect((refused as Error).message).toContain('--accept-licence CC-BY-NC-SA-4.0');
    await expect(fetchModel('umxl', { ...options, acceptLicence: 'MIT' })).rejects.toThrow(
      LicenceNotAccepted,
    );
    expect(server.requests).toHaveLength(0);
    expect(readdirSync(dir)).toEqual([]);

    // Accepted, it goes to the network (here: a mirror without the files).
    await expect(fetchModel('umxl', { ...options, acceptLicence: 'CC-BY-NC-SA-4.0' })).rejects.toThrow(
      /vocals-bccbd9aa\.pth: HTTP 404/,
    );
    expect(server.requests.map((r) => r.path)).toEqual(['/vocals-bccbd9aa.pth']);
  });

  it('names the known models for an unknown one', async () => {
    await expect(fetchModel('umxxl', { dir })).rejects.toThrow('unknown model "umxxl" (known: umxhq, umxl)');
  });
});

describe('npm run fetch-model', () => {
  it('exits non-zero for umxl without --accept-licence, printing the licence and fetching nothing', async () => {
    server = await startServer({});
    const repoRoot = resolve(import.meta.dirname, '../..');
    const run = promisify(execFile);
    const res = await run(
      resolve(repoRoot, 'node_modules/.bin/tsx'),
      [resolve(repoRoot, 'training/cli/fetch-model.ts'), 'umxl', '--dir', dir, '--base-url', server.url],
      { cwd: repoRoot, timeout: 60_000 },
    ).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(res.code).toBe(2);
    expect(res.stdout).toContain('licence: CC-BY-NC-SA-4.0: Creative Commons BY-NC-SA 4.0: non-commercial');
    expect(res.stderr.trim()).toMatch(/^fetch-model: umxl: .*--accept-licence CC-BY-NC-SA-4.0$/);
    expect(server.requests).toHaveLength(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});
