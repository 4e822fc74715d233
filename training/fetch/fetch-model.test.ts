import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type UmxConfig, type UmxWeights, umxConfig } from '../../src/core/model';
import { createOnnxModel, readModelConfig, readModelMembers } from '../../src/core/onnx-model';
import { mulberry32 } from '../../src/core/random';
import { type MagnitudeModel, separateSignal } from '../../src/core/separator';
import { SHIPPED_MODEL_PATH } from '../../src/core/shipped-model';
import type { MusdbStem } from '../../src/core/stems';
import { maxAbsDiff } from '../../src/core/test-compare';
import { createWebGpuEnsemble } from '../../src/core/webgpu';
import { umxMembersFromOnnx } from '../../src/core/webgpu/onnx-weights';
import { exportUmxOnnx } from '../export/onnx';
import { importUmxPth } from '../export/pth';
import { runOrt } from '../export/test-ort';
import { randomUmxWeights } from '../export/test-weights';
import { readWeightsFile, writeWeightsFile } from '../export/weights-file';
import { nodeGpuDevice } from '../node/webgpu';
import { DownloadError } from './download';
import {
  buildModelFile,
  DEFAULT_MEMBER_NETWORKS,
  fetchModel,
  LicenceNotAccepted,
  MODEL_STORAGE,
  readMemberNetworks,
} from './fetch-model';
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

const gpu = await nodeGpuDevice();
const gpuDevice = 'device' in gpu ? gpu.device : null;
if (!gpuDevice)
  console.warn(`fetch-model test: WebGPU checks SKIPPED (${'unavailable' in gpu ? gpu.unavailable : ''})`);

const SIX = ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other'];
/** The 6-stem model's networks, as readers see them: the top level, then the group's members. */
const NETWORKS = ['vocals', 'drums', 'bass', 'guitar+piano+other', 'guitar', 'piano', 'other'];

const peak = (a: ArrayLike<number>) => maxAbsDiff(a, new Float32Array(a.length));

/** Guitar, piano and other networks of `config`'s STFT, of their own size (not the top level's). */
function memberNetworks(config: UmxConfig, seed: number, size: Partial<UmxConfig>): UmxWeights {
  return randomUmxWeights(
    umxConfig({
      nFft: config.nFft,
      sampleRate: config.sampleRate,
      nbChannels: config.nbChannels,
      ...size,
      targets: ['guitar', 'piano', 'other'],
    }),
    seed,
  );
}

describe('the hierarchical 6-stem model (published networks on top, Stemdeck’s splitting “other”)', () => {
  it('fetchModel builds it: the top level is the published model bit for bit, the members their own networks', async () => {
    const sources = await publishTiny();
    // Member networks of another size than the fixtures' (hidden 4, 2 layers): hidden 6, 1 layer, maxBin 9.
    const fixtureConfig = (await importUmxPth([join(fixtures, 'tiny-vocals.pth')], ['vocals'])).weights
      .config;
    const split = memberNetworks(fixtureConfig, 31, { hiddenSize: 6, nbLayers: 1, maxBin: 9 });
    const splitFile = join(dir, 'members.umxw');
    await writeWeightsFile(splitFile, split);
    const out6 = join(dir, 'tiny-6stem.onnx');
    const result = await fetchModel('tiny', {
      sources,
      dir,
      download: fast,
      onnx: { stems: 6, out: out6, memberNetworks: `${splitFile}:guitar,piano,other` },
    });
    expect(result.onnx?.path).toBe(out6);
    expect(result.onnx?.stems).toEqual(SIX);
    expect(result.onnx?.config.targets).toEqual(NETWORKS);
    const bytes = new Uint8Array(readFileSync(out6));
    expect(result.onnx?.size).toBe(bytes.length);
    const c = readModelConfig(bytes);
    expect(c.targets).toEqual(NETWORKS);
    expect(readModelMembers(bytes).map((m) => [m.config.hiddenSize, m.config.targets])).toEqual([
      [4, ['vocals', 'drums', 'bass', 'guitar+piano+other']],
      [6, ['guitar', 'piano', 'other']],
    ]);

    // The 4-stem model of the same weights, and the member networks alone, as the 6-stem file stores them.
    const published = await readWeightsFile(result.out);
    const four = await buildModelFile(published, { stems: 4, out: join(dir, 'tiny.onnx') }, sources.tiny);
    expect(four.stems).toEqual(['vocals', 'drums', 'bass', 'other']);
    const frames = 13;
    const random = mulberry32(41);
    const input = Float32Array.from({ length: c.nbChannels * c.nbBins * frames }, () => 3 * random());
    const size = c.nbChannels * c.nbBins * frames;
    const part = (a: Float32Array, j: number) => a.subarray(j * size, (j + 1) * size);
    const est6 = await runOrt(bytes, input, c, frames);
    const est4 = await runOrt(new Uint8Array(readFileSync(four.path)), input, c, frames);
    const alone = await runOrt(exportUmxOnnx(split, MODEL_STORAGE), input, split.config, frames);
    expect(est6).toHaveLength(7 * size);
    for (let j = 0; j < 4; j++) {
      // vocals, drums, bass, and the group = the published "other": exactly the 4-stem model's.
      expect(maxAbsDiff(part(est6, j), part(est4, j)), NETWORKS[j]).toBe(0);
      expect(peak(part(est6, j))).toBeGreaterThan(0.01);
    }
    for (let j = 0; j < 3; j++) {
      expect(maxAbsDiff(part(est6, 4 + j), part(alone, j)), NETWORKS[4 + j]).toBeLessThan(1e-6);
      expect(peak(part(est6, 4 + j))).toBeGreaterThan(0.01);
    }
    expect(maxAbsDiff(part(est6, 4), part(est6, 3))).toBeGreaterThan(0.01); // not the group's own

    if (gpuDevice) {
      // The extension's WebGPU engine reads the file's members and gives onnxruntime's estimates.
      const model = await createWebGpuEnsemble(gpuDevice, umxMembersFromOnnx(bytes));
      try {
        expect(model.targets).toEqual(NETWORKS);
        const est = await model.estimate(input.slice(), c.nbChannels, c.nbBins, frames);
        expect(maxAbsDiff(Float32Array.from(est.flatMap((e) => [...e])), est6)).toBeLessThan(
          1e-4 * peak(est6),
        );
      } finally {
        model.release();
      }
    }
  });

  it('reads the member networks before downloading anything, and refuses ones that are not guitar, piano and other', async () => {
    const sources = await publishTiny();
    const onnx = (memberNetworks: string) => ({
      stems: 6 as const,
      out: join(dir, 'x.onnx'),
      memberNetworks,
    });
    const missing = join(dir, 'nope.onnx');
    await expect(fetchModel('tiny', { sources, dir, download: fast, onnx: onnx(missing) })).rejects.toThrow(
      /the guitar\/piano\/other networks \(.*nope\.onnx\): cannot read .*file not found; .*--stems 4/,
    );
    const wrong = join(dir, 'wrong.umxw');
    const c = umxConfig({ nFft: 16, maxBin: 6, hiddenSize: 4, nbLayers: 1, targets: ['guitar', 'piano'] });
    await writeWeightsFile(wrong, randomUmxWeights(c, 3));
    await expect(fetchModel('tiny', { sources, dir, download: fast, onnx: onnx(wrong) })).rejects.toThrow(
      /splitting guitar\+piano\+other must be guitar, piano, other; .*wrong\.umxw gives guitar, piano$/,
    );
    expect(server!.requests).toHaveLength(0);
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
  });

  it('separates into six stems whose guitar + piano + other is the top level’s “other”, in onnxruntime and on WebGPU', async () => {
    // A top level of the STFT the separator uses (4096-point, 2049 bins), hidden 8; members hidden 12,
    // 2 layers, another input cut — as the published hidden-512 networks beside the shipped hidden-128 ones.
    const published = randomUmxWeights(
      umxConfig({ hiddenSize: 8, nbLayers: 1, maxBin: 300, targets: ['vocals', 'drums', 'bass', 'other'] }),
      51,
    );
    const split = memberNetworks(published.config, 52, { hiddenSize: 12, nbLayers: 2, maxBin: 500 });
    const splitFile = join(dir, 'members.umxw');
    await writeWeightsFile(splitFile, split);
    const source = { title: 'test' };
    const six = await buildModelFile(
      published,
      { stems: 6, out: join(dir, 'six.onnx'), memberNetworks: splitFile },
      source,
    );
    const four = await buildModelFile(published, { stems: 4, out: join(dir, 'four.onnx') }, source);
    const bytes6 = new Uint8Array(readFileSync(six.path));
    const model6 = await createOnnxModel<ort.InferenceSession.SessionOptions>(ort, bytes6, {
      intraOpNumThreads: 1,
    });
    const model4 = await createOnnxModel<ort.InferenceSession.SessionOptions>(
      ort,
      new Uint8Array(readFileSync(four.path)),
      { intraOpNumThreads: 1 },
    );
    // 0.6 s of a stereo chord with noise.
    const n = 26_460;
    const random = mulberry32(53);
    const audio = [0, 1].map((ch) =>
      Float32Array.from(
        { length: n },
        (_, i) => 0.3 * Math.sin((2 * Math.PI * (220 + 110 * ch) * i) / 44100) + 0.1 * (random() - 0.5),
      ),
    );
    try {
      const stems6 = await separateSignal(model6, audio);
      const stems4 = await separateSignal(model4, audio);
      expect(Object.keys(stems6)).toEqual(SIX);
      expect(Object.keys(stems4)).toEqual(['vocals', 'drums', 'bass', 'other']);
      for (const stem of ['vocals', 'drums', 'bass'] as const) {
        // The Wiener step saw the same top level: the same stems, sample for sample.
        for (const ch of [0, 1]) expect(maxAbsDiff(stems6[stem][ch], stems4[stem][ch]), stem).toBe(0);
      }
      for (const ch of [0, 1]) {
        const group = stems4.other[ch];
        const [g, p, o] = [stems6.guitar[ch], stems6.piano[ch], stems6.other[ch]];
        const sum = group.map((_, i) => g[i] + p[i] + o[i]);
        expect(peak(group)).toBeGreaterThan(0.01);
        // Split exactly: the members sum to the group's estimate (to float rounding of the ISTFTs).
        expect(maxAbsDiff(sum, group)).toBeLessThan(1e-5 * peak(group));
        // …and really split it: each member gets a share, and they are not one another.
        for (const m of [g, p, o]) expect(peak(m)).toBeGreaterThan(0.05 * peak(group));
        expect(maxAbsDiff(g, p)).toBeGreaterThan(0.01 * peak(group));
        expect(maxAbsDiff(sum, o)).toBeGreaterThan(0.05 * peak(group));
      }

      if (gpuDevice) {
        // The extension's other engine on the same file: the same six stems.
        const gpuModel = await createWebGpuEnsemble(gpuDevice, umxMembersFromOnnx(bytes6));
        try {
          const stemsGpu = await separateSignal(gpuModel as MagnitudeModel, audio);
          expect(Object.keys(stemsGpu)).toEqual(SIX);
          for (const stem of SIX) {
            for (const ch of [0, 1]) {
              expect(maxAbsDiff(stemsGpu[stem][ch], stems6[stem][ch]), stem).toBeLessThan(
                1e-3 * peak(stems6[stem][ch]),
              );
            }
          }
        } finally {
          gpuModel.release();
        }
      }
    } finally {
      await model6.release();
      await model4.release();
    }
  });

  it.skipIf(!existsSync(resolve(import.meta.dirname, '../..', SHIPPED_MODEL_PATH)))(
    'by default the group is split by the shipped model’s own guitar, piano and other networks',
    async () => {
      const split = await readMemberNetworks();
      expect(DEFAULT_MEMBER_NETWORKS).toMatch(/models\/stemdeck-umx6\.onnx:guitar,piano,other$/);
      expect(split.config.targets).toEqual(['guitar', 'piano', 'other']);
      expect(split.config.hiddenSize).toBe(128);
      const published = randomUmxWeights(
        umxConfig({ hiddenSize: 8, nbLayers: 1, targets: ['vocals', 'drums', 'bass', 'other'] }),
        61,
      );
      const built = await buildModelFile(
        published,
        { stems: 6, out: join(dir, 'd.onnx') },
        { title: 'test' },
        split,
      );
      const bytes = new Uint8Array(readFileSync(built.path));
      expect(readModelConfig(bytes).targets).toEqual(NETWORKS);
      expect(readModelMembers(bytes).map((m) => m.config.hiddenSize)).toEqual([8, 128]);
      const back = umxMembersFromOnnx(bytes)[1];
      // Stored as the shipped file stores them (int8 matrices): read back, the same networks.
      expect(back.targets.guitar?.['fc1.weight']).toEqual(split.targets.guitar?.['fc1.weight']);
    },
  );
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
