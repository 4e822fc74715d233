/**
 * `npm run bench:webgpu [-- --json FILE]` — the project's WebGPU engine (src/core/webgpu) against
 * onnxruntime-web's WebGPU EP and its wasm EP, on one WebGPU adapter in Node (Dawn's Node bindings,
 * npm `webgpu`; on a machine without a GPU that is Mesa's lavapipe, see scripts/install-system-deps.sh).
 *
 * Per hidden size: random weights, exported with the project's exporter (one target, weights stored as
 * float16 like the shipped model, computed in float32 by every engine) and the same T-frame input. The
 * three engines run in one child process per size: one warm-up each, then `--runs` rounds of one timed
 * run each, interleaved so that the machine's load (training jobs here) hits all alike; the output's
 * readback to the CPU is included. Reported: the median ms per target, the engine's dispatches per
 * estimate, and its max abs difference from ORT wasm's output (itself within ~1e-6 of the plain-TS
 * reference, training/export/onnx.test.ts).
 *
 *   npm run bench:webgpu -- [--hidden 128,512] [--frames 256] [--runs 7] [--ort-webgpu-runs 5]
 *     [--subgroups auto|on|off] [--json FILE]
 *
 * JSON: {"adapter", "models": [{hidden, frames, engine_ms, ort_webgpu_ms, wasm_ms, engine_dispatches, max_abs_err,
 * engine_subgroups}]}
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { umxConfig } from '../../src/core/model/config';
import { mulberry32 } from '../../src/core/random';
import { createWebGpuEnsemble, umxMembersFromOnnx } from '../../src/core/webgpu';
import { exportUmxOnnx } from '../export/onnx';
import { randomUmxWeights } from '../export/test-weights';
import { nodeGpuDevice } from '../node/webgpu';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
// Overridable for the self-contained bundle that scripts/gpu/bundle.sh carries to a GPU machine.
const ORT_DIST = process.env.STEMDECK_ORT_DIST ?? join(root, 'node_modules/onnxruntime-web/dist');

const opts = new Command('bench:webgpu')
  .option('--hidden <list>', 'hidden sizes', '128,512')
  .option('--frames <n>', 'STFT frames per chunk', '256')
  .option('--runs <n>', 'timed runs of each engine, interleaved', '7')
  .option(
    '--ort-webgpu-runs <n>',
    "timed runs of ORT's WebGPU EP (the first N rounds; slow on a software adapter)",
    '5',
  )
  .option('--wasm-threads <n>', 'ORT wasm threads', '1')
  .option(
    '--subgroups <mode>',
    "the engine's subgroup kernels: auto (where the device has them), on, off",
    'auto',
  )
  .option('--json <file>', 'write the results as JSON')
  // Internal: one measurement in a child process.
  .option('--child <kind>')
  .option('--dir <dir>')
  .parse()
  .opts<{
    hidden: string;
    frames: string;
    runs: string;
    ortWebgpuRuns: string;
    wasmThreads: string;
    subgroups: string;
    json?: string;
    child?: 'all';
    dir?: string;
  }>();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f32 = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

interface ChildResult {
  ms: number;
  timesMs: number[];
  dispatches?: number;
  subgroups?: boolean;
  maxAbsErr?: number;
  adapter?: string;
  error?: string;
}

/** onnxruntime-web under Node (see ../shared/tools/webgpu-node/bench_wgpu.mjs for why each step). */
async function loadOrtWeb(withGpu: boolean) {
  const nav: Record<string, unknown> = { hardwareConcurrency: 2, userAgent: 'node' };
  if (withGpu) {
    const { create, globals } = (await import('webgpu')) as unknown as {
      create(flags: string[]): GPU;
      globals: Record<string, unknown> & { GPUQueue: { prototype: GPUQueue } };
    };
    Object.assign(globalThis, globals);
    // ORT's threaded wasm heap is a SharedArrayBuffer; dawn.node rejects writeBuffer views of one: copy.
    const proto = globals.GPUQueue.prototype;
    const writeBuffer = proto.writeBuffer;
    proto.writeBuffer = function (this: GPUQueue, buffer, offset, data, dataOffset, size) {
      if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
        const bpe = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
        const o = dataOffset ?? 0;
        const n = size ?? data.byteLength / bpe - o;
        const copy = new Uint8Array(data.buffer, data.byteOffset + o * bpe, n * bpe).slice();
        return writeBuffer.call(this, buffer, offset, copy, 0, n * bpe);
      }
      return writeBuffer.call(this, buffer, offset, data, dataOffset, size);
    } as GPUQueue['writeBuffer'];
    nav.gpu = create([]);
  }
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true });
  // ort-web fetches its own glue via fetch + createObjectURL when threaded: map file: URLs back.
  const realFetch = globalThis.fetch;
  const realCreate = URL.createObjectURL;
  const fileOf = new WeakMap<Blob, string>();
  globalThis.fetch = (async (u: string | URL | Request, o?: RequestInit) => {
    const s = String(u instanceof Request ? u.url : u);
    if (!s.startsWith('file:')) return realFetch(u, o);
    const data = readFileSync(new URL(s));
    const blob = new Blob([data]);
    fileOf.set(blob, s);
    const response = new Response(data, { status: 200 });
    // With threads ORT turns the glue it fetched into a blob: URL; hand back the blob we can map.
    Object.defineProperty(response, 'blob', { value: async () => blob });
    return response;
  }) as typeof fetch;
  URL.createObjectURL = (b: Blob) => fileOf.get(b) ?? realCreate(b);
  const ort = await import(pathToFileURL(join(ORT_DIST, 'ort.webgpu.min.mjs')).href);
  ort.env.wasm.wasmPaths = `${pathToFileURL(ORT_DIST).href}/`;
  ort.env.wasm.numThreads = Number(opts.wasmThreads);
  ort.env.logLevel = 'error';
  return ort;
}

type Kind = 'engine' | 'ort-webgpu' | 'wasm';
const KINDS: Kind[] = ['engine', 'ort-webgpu', 'wasm'];

/**
 * All three engines in one process, their timed runs interleaved (engine, ORT WebGPU, wasm, engine, …),
 * so that a change in the machine's load (training jobs here) hits all three alike.
 */
async function child(dir: string): Promise<Record<Kind, ChildResult>> {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { frames: number; bins: number };
  const bytes = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
  const input = f32(join(dir, 'input.f32'));
  const T = meta.frames;
  const ort = await loadOrtWeb(true);
  const gpu = await nodeGpuDevice();
  if (!('device' in gpu)) throw new Error(gpu.unavailable);
  if (!['auto', 'on', 'off'].includes(opts.subgroups)) throw new Error('--subgroups: auto, on or off');
  const model = await createWebGpuEnsemble(gpu.device, umxMembersFromOnnx(bytes), {
    subgroups: opts.subgroups === 'auto' ? undefined : opts.subgroups === 'on',
  });
  const session = (ep: string) =>
    ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: 'all' });
  const sessions = { wasm: await session('wasm'), 'ort-webgpu': await session('webgpu') };
  const runOrt = async (s: typeof sessions.wasm) => {
    const feeds = { mix: new ort.Tensor('float32', input.slice(), [1, 2, meta.bins, T]) };
    return (await s.run(feeds)).est.data as Float32Array;
  };
  const run: Record<Kind, () => Promise<Float32Array>> = {
    engine: async () => (await model.estimate(input, model.config.nbChannels, model.config.nbBins, T))[0],
    'ort-webgpu': () => runOrt(sessions['ort-webgpu']),
    wasm: () => runOrt(sessions.wasm),
  };
  const outs = {} as Record<Kind, Float32Array>;
  for (const k of KINDS) outs[k] = await run[k](); // warm-up: pipeline compilation, allocation
  const times: Record<Kind, number[]> = { engine: [], 'ort-webgpu': [], wasm: [] };
  const runs = Number(opts.runs);
  for (let i = 0; i < runs; i++) {
    for (const k of KINDS) {
      if (k === 'ort-webgpu' && i >= Number(opts.ortWebgpuRuns)) continue;
      const start = performance.now();
      await run[k]();
      times[k].push(performance.now() - start);
    }
  }
  const err = (out: Float32Array) => {
    let e = 0;
    for (let i = 0; i < out.length; i++) e = Math.max(e, Math.abs(out[i] - outs.wasm[i]));
    return e;
  };
  const result = (k: Kind): ChildResult => ({
    ms: median(times[k]),
    timesMs: times[k],
    maxAbsErr: err(outs[k]),
  });
  return {
    engine: {
      ...result('engine'),
      dispatches: model.dispatches(T),
      adapter: gpu.adapter,
      subgroups: model.subgroups,
    },
    'ort-webgpu': result('ort-webgpu'),
    wasm: result('wasm'),
  };
}

if (opts.child) {
  let result: Record<Kind, ChildResult> | { error: string };
  try {
    result = await child(opts.dir!);
  } catch (err) {
    result = { error: String(err instanceof Error ? err.stack : err) };
  }
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  // V8 keeps compiling ORT's 27 MB wasm at exit (~30 s on 2 cores) and dawn.node holds the loop: leave now.
  process.kill(process.pid, 'SIGKILL');
}

const frames = Number(opts.frames);
const models: Record<string, unknown>[] = [];
let adapter = '';
const report: { adapter: string; models: typeof models } = { adapter, models };
for (const hidden of opts.hidden.split(',').map(Number)) {
  const dir = mkdtempSync(join(tmpdir(), `stemdeck-bench-webgpu-${hidden}-`));
  try {
    const config = umxConfig({ hiddenSize: hidden, targets: ['vocals'] });
    // float16-stored weights, like the shipped model (all engines compute in float32).
    writeFileSync(
      join(dir, 'model.onnx'),
      exportUmxOnnx(randomUmxWeights(config, hidden), { float16: true }),
    );
    const random = mulberry32(1);
    const input = Float32Array.from(
      { length: config.nbChannels * config.nbBins * frames },
      () => 2 * random(),
    );
    writeFileSync(join(dir, 'input.f32'), input);
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ frames, bins: config.nbBins }));
    const res = spawnSync(
      process.execPath,
      [
        // ORT's 27 MB wasm straight to optimised code: with V8's baseline tier first, the wasm timings
        // depended on how long the process had run (measured 337 ms, then 37–95 ms, hidden 128).
        '--no-liftoff',
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        ...process.argv.slice(2),
        '--child',
        'all',
        '--dir',
        dir,
      ],
      { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 1_800_000 },
    );
    const line = res.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    const parsed = line
      ? JSON.parse(line.slice(7))
      : { error: `${res.stderr.slice(-2000)} (signal ${res.signal})` };
    if (parsed.error) throw new Error(`hidden ${hidden}: ${parsed.error}`);
    const { engine, wasm } = parsed as Record<Kind, ChildResult>;
    const ortWebgpu = parsed['ort-webgpu'] as ChildResult;
    for (const k of KINDS) console.log(`hidden ${hidden}, ${k}: ${JSON.stringify(parsed[k])}`);
    adapter = engine.adapter ?? adapter;
    const round = (v: number | undefined, d = 1) =>
      v === undefined || Number.isNaN(v) ? null : +v.toFixed(d);
    models.push({
      hidden,
      frames,
      engine_ms: round(engine.ms),
      ort_webgpu_ms: round(ortWebgpu.ms),
      wasm_ms: round(wasm.ms),
      engine_dispatches: engine.dispatches ?? null,
      max_abs_err: engine.maxAbsErr ?? null,
      engine_subgroups: engine.subgroups ?? null,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
report.adapter = adapter;
console.log(
  `\nadapter: ${adapter}\n| hidden | frames | engine ms | ORT WebGPU EP ms | ORT wasm ms | engine speed-up vs ORT WebGPU | dispatches | max abs err |\n|---|---|---|---|---|---|---|---|`,
);
for (const m of models as { [k: string]: number }[]) {
  const ratio = m.ort_webgpu_ms && m.engine_ms ? (m.ort_webgpu_ms / m.engine_ms).toFixed(1) : '-';
  console.log(
    `| ${m.hidden} | ${m.frames} | ${m.engine_ms} | ${m.ort_webgpu_ms} | ${m.wasm_ms} | ${ratio}× | ${m.engine_dispatches} | ${m.max_abs_err?.toExponential(1)} |`,
  );
}
if (opts.json) writeFileSync(opts.json, `${JSON.stringify(report, null, 1)}\n`);
process.exit(0);
