/**
 * The CLIs end to end on a small generated MUSDB18-HQ-style track (no shared data needed): separate
 * writes stems and survives a bad input with a non-zero exit, eval scores folders and whole subsets.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { umxConfig } from '../../src/core/model/config';
import { readModelConfig, readModelMembers } from '../../src/core/onnx-model';
import { mulberry32 } from '../../src/core/random';
import { exportUmxOnnx } from '../export/onnx';
import { randomUmxWeights } from '../export/test-weights';
import { writeWeightsFile } from '../export/weights-file';
import { readWav, writeWav } from '../node/audio-io';

const repoRoot = resolve(import.meta.dirname, '../..');
const tsx = resolve(repoRoot, 'node_modules/.bin/tsx');

function run(script: string, args: string[]) {
  const res = spawnSync(tsx, [resolve(repoRoot, 'training/cli', script), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

describe('separate and eval CLIs', () => {
  let dir: string;
  let track: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stemdeck-cli-'));
    track = join(dir, 'musdb', 'test', 'Tiny Track');
    const rand = mulberry32(1);
    const length = 3 * SAMPLE_RATE;
    const tones = { drums: 0, bass: 55, other: 440, vocals: 880 } as const;
    const mix = [new Float32Array(length), new Float32Array(length)];
    for (const [stem, freq] of Object.entries(tones)) {
      const channels = [0, 1].map((c) =>
        Float32Array.from({ length }, (_, i) =>
          freq === 0
            ? (i % 11025 < 600 ? 0.4 : 0) * (rand() - 0.5) // clicks for "drums"
            : 0.2 * Math.sin((2 * Math.PI * freq * i) / SAMPLE_RATE + c) + 0.01 * (rand() - 0.5),
        ),
      );
      channels.forEach((ch, c) => {
        for (let i = 0; i < length; i++) mix[c][i] += ch[i];
      });
      await writeWav(
        join(track, `${stem}.wav`),
        { sampleRate: SAMPLE_RATE, channels },
        { format: 'float32' },
      );
    }
    await writeWav(
      join(track, 'mixture.wav'),
      { sampleRate: SAMPLE_RATE, channels: mix },
      { format: 'float32' },
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('separate writes <out>/<name>/<stem>.wav, reports a missing input and exits non-zero', () => {
    const out = join(dir, 'sep');
    const res = run('separate.ts', [track, join(dir, 'missing.wav'), '--oracle', 'irm2', '--out', out]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/missing\.wav: no such file/);
    for (const stem of ['drums', 'bass', 'other', 'vocals'])
      expect(existsSync(join(out, 'Tiny Track', `${stem}.wav`))).toBe(true);
    expect(res.out).toMatch(/1\/2 inputs separated/);
  });

  it('separate with a model streams segments and writes stems that sum to the mixture', async () => {
    // Random weights: the point is the pipeline (decode, chunks, model, Wiener, cross-fade, writers).
    const config = umxConfig({ targets: ['vocals', 'drums', 'bass', 'other'], hiddenSize: 16 });
    const modelPath = join(dir, 'random.onnx');
    writeFileSync(modelPath, exportUmxOnnx(randomUmxWeights(config, 3)));
    const out = join(dir, 'model-sep');
    // 1-s segments with 0.25-s overlap: a 3-s input crosses several segment borders.
    const res = run('separate.ts', [
      join(track, 'mixture.wav'),
      '--model',
      modelPath,
      '--out',
      out,
      '--segment',
      '1',
      '--overlap',
      '0.25',
    ]);
    expect(res.err).not.toMatch(/separate:/);
    expect(res.code).toBe(0);
    const mixture = await readWav(join(track, 'mixture.wav'));
    const stems = await Promise.all(
      ['vocals', 'drums', 'bass', 'other'].map((s) => readWav(join(out, 'mixture', `${s}.wav`))),
    );
    let err = 0;
    let ref = 0;
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < mixture.channels[c].length; i++) {
        const sum = stems.reduce((a, st) => a + st.channels[c][i], 0);
        err += (sum - mixture.channels[c][i]) ** 2;
        ref += mixture.channels[c][i] ** 2;
      }
    }
    expect(stems[0].channels[0].length).toBe(mixture.channels[0].length);
    expect(10 * Math.log10(err / ref)).toBeLessThan(-60);
  });

  it('separate without --model and without the default model says where to get one', () => {
    const res = run('separate.ts', [track, '--model', join(dir, 'none.onnx'), '--out', join(dir, 'x')]);
    expect(res.code).not.toBe(0);
    expect(res.err).toMatch(/no model at .*none\.onnx/);
  });

  it('eval scores a folder of estimates and writes museval JSON', () => {
    const est = join(dir, 'est');
    expect(run('separate.ts', [track, '--oracle', 'irm2', '--out', est]).code).toBe(0);
    const json = join(dir, 'track.json');
    const res = run('eval.ts', [
      '--references',
      track,
      '--estimates',
      join(est, 'Tiny Track'),
      '--out',
      json,
    ]);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/vocals\s+SDR \d/);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    const vocals = result.targets.find((t: { name: string }) => t.name === 'vocals');
    expect(vocals.frames).toHaveLength(3);
    // A pure tone far from the others: the IRM2 oracle separates it well.
    expect(vocals.frames[1].metrics.SDR).toBeGreaterThan(15);
  });

  it('eval --musdb with an oracle writes the report (summary, plots, index)', () => {
    const report = join(dir, 'report');
    const res = run('eval.ts', [
      '--musdb',
      join(dir, 'musdb'),
      '--subset',
      'test',
      '--oracle',
      'mix',
      '--report',
      report,
      '--jobs',
      '1',
    ]);
    expect(res.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(report, 'summary.json'), 'utf8'));
    expect(summary.tracks).toBe(1);
    expect(summary.method).toBe('oracle:mix');
    // The mix oracle (mix/4) leaves the other three sources in every estimate: SIR is low.
    expect(summary.targets.vocals.SIR).toBeLessThan(5);
    expect(readFileSync(join(report, 'plots', 'SDR.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(report, 'index.md'), 'utf8')).toContain('Tiny Track');
  });

  it('eval --split CACHE:valid scores only the validation side of a preprocessed split', () => {
    // Two copies of the tiny track, split one and one by `npm run preprocess`.
    const root = join(dir, 'musdb-split');
    for (const name of ['Tiny A', 'Tiny B']) cpSync(track, join(root, 'test', name), { recursive: true });
    const cacheRoot = join(dir, 'cache');
    const pre = run('preprocess.ts', [
      ...['--dataset', 'musdb18', '--root', root, '--subset', 'test', '--cache', cacheRoot],
      ...['--split', 'seeded', '--valid-fraction', '0.5'],
    ]);
    expect(pre.code, pre.err).toBe(0);
    const [cache] = readdirSync(cacheRoot).map((d) => join(cacheRoot, d));
    const { valid } = JSON.parse(readFileSync(join(cache, 'index.json'), 'utf8')).split;
    expect(valid).toHaveLength(1);
    const evalSplit = (split: string, report: string) =>
      run('eval.ts', [
        ...['--musdb', root, '--subset', 'test', '--oracle', 'mix', '--jobs', '1'],
        ...['--split', split, '--report', join(dir, report)],
      ]);
    const res = evalSplit(`${cache}:valid`, 'r-valid');
    expect(res.code, res.err).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, 'r-valid', 'summary.json'), 'utf8'));
    expect(summary.tracks).toBe(1);
    expect(readFileSync(join(dir, 'r-valid', 'index.md'), 'utf8')).toContain(valid[0]);
    const side = evalSplit(`${cache}:test`, 'r-bad');
    expect(side.code).toBe(1);
    expect(side.err).toMatch(/expected CACHE_DIR:train or CACHE_DIR:valid/);
    const notCache = evalSplit(`${root}:valid`, 'r-bad');
    expect(notCache.code).toBe(1);
    expect(notCache.err).toMatch(/--split: .*not a preprocessed dataset/);
  });

  it('eval fails clearly on a missing MUSDB subset', () => {
    const res = run('eval.ts', [
      '--musdb',
      join(dir, 'nowhere'),
      '--oracle',
      'mix',
      '--report',
      join(dir, 'r2'),
    ]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/subset folder not found/);
  });
});

describe('export CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stemdeck-export-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--ensemble takes .umxw and exported .onnx members and writes their mean; bad combinations fail clearly', async () => {
    const tiny = { nFft: 256, maxBin: 64, nbLayers: 1, targets: ['vocals', 'drums'] as const };
    const a = join(dir, 'a.umxw');
    await writeWeightsFile(
      a,
      randomUmxWeights(umxConfig({ ...tiny, hiddenSize: 8, targets: [...tiny.targets] }), 1),
    );
    const b = join(dir, 'b.onnx');
    const mel = umxConfig({
      ...tiny,
      targets: [...tiny.targets],
      hiddenSize: 12,
      joint: true,
      input: { kind: 'bands', scale: 'mel', bands: 16 },
    });
    writeFileSync(b, exportUmxOnnx(randomUmxWeights(mel, 2), { float16: true }));

    const out = join(dir, 'ens.onnx');
    const ok = run('export-onnx.ts', ['--ensemble', a, b, '--out', out, '--fp16']);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(
      /ensemble of 2, targets vocals, drums: hidden 8, .* \| hidden 12, .*16 mel bands, joint/,
    );
    const members = readModelMembers(new Uint8Array(readFileSync(out)));
    expect(members.map((m) => m.config.hiddenSize)).toEqual([8, 12]);

    const subset = run('export-onnx.ts', [
      '--ensemble',
      a,
      b,
      '--targets',
      'drums',
      '--out',
      join(dir, 'd.onnx'),
    ]);
    expect(subset.code).toBe(0);
    expect(
      readModelMembers(new Uint8Array(readFileSync(join(dir, 'd.onnx')))).map((m) => m.config.targets),
    ).toEqual([['drums'], ['drums']]);

    // A member with some of the targets, picked with FILE:target (as merge.ts takes them).
    const picked = run('export-onnx.ts', ['--ensemble', a, `${b}:drums`, '--out', join(dir, 'p.onnx')]);
    expect(picked.code).toBe(0);
    expect(
      readModelMembers(new Uint8Array(readFileSync(join(dir, 'p.onnx')))).map((m) => m.config.targets),
    ).toEqual([['vocals', 'drums'], ['drums']]);
    // One member of an exported ensemble: #k (here the joint mel member of ens.onnx).
    const second = run('export-onnx.ts', ['--ensemble', a, `${out}#1:drums`, '--out', join(dir, 'm.onnx')]);
    expect(second.code).toBe(0);
    expect(
      readModelMembers(new Uint8Array(readFileSync(join(dir, 'm.onnx')))).map((m) => m.config.hiddenSize),
    ).toEqual([8, 12]);
    const none = run('export-onnx.ts', ['--ensemble', a, `${out}#2`, '--out', join(dir, 'x.onnx')]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/ens\.onnx has 2 member\(s\): there is no #2/);
    const both = run('export-onnx.ts', ['--weights', a, '--ensemble', a, b, '--out', join(dir, 'x.onnx')]);
    expect(both.code).toBe(1);
    expect(both.err).toMatch(/one of them/);
    // A later member may bring targets the first lacks: the model has all the members' targets. A
    // hierarchical one: the first member's drums network as the group guitar+piano, the second's
    // networks splitting it.
    const hier = run('export-onnx.ts', [
      '--ensemble',
      `${a}:vocals,drums=guitar+piano`,
      `${b}:vocals=guitar,drums=piano`,
      '--out',
      join(dir, 'h.onnx'),
    ]);
    expect(hier.err).toBe('');
    expect(hier.code).toBe(0);
    expect(hier.out).toMatch(
      /ensemble of 2, targets vocals, guitar\+piano, guitar, piano: hidden 8, .* \| hidden 12/,
    );
    const hierBytes = new Uint8Array(readFileSync(join(dir, 'h.onnx')));
    expect(readModelConfig(hierBytes).targets).toEqual(['vocals', 'guitar+piano', 'guitar', 'piano']);
    expect(readModelMembers(hierBytes).map((m) => m.config.targets)).toEqual([
      ['vocals', 'guitar+piano'],
      ['guitar', 'piano'],
    ]);
    // A group whose members are not all in the model: refused, naming the missing member.
    const half = run('export-onnx.ts', [
      '--ensemble',
      `${a}:vocals,drums=guitar+piano`,
      `${b}:vocals=guitar`,
      '--out',
      join(dir, 'x.onnx'),
    ]);
    expect(half.code).toBe(1);
    expect(half.err).toMatch(/group "guitar\+piano": its member "piano" is not a target of the model/);
    // A new stem in no group is allowed (an ensemble of 6-stem models has them), with a note: beside
    // a 4-stem model's "other" it would be a slip.
    const loose = run('export-onnx.ts', ['--ensemble', a, `${b}:drums=guitar`, '--out', join(dir, 'g.onnx')]);
    expect(loose.code).toBe(0);
    expect(loose.err).toMatch(/note: guitar comes only from later members and is in no group/);
    expect(readModelConfig(new Uint8Array(readFileSync(join(dir, 'g.onnx')))).targets).toEqual([
      'vocals',
      'drums',
      'guitar',
    ]);
    // --targets names any of the members' targets; a member keeping none of them is an error.
    const unknown = run('export-onnx.ts', [
      '--ensemble',
      a,
      b,
      '--targets',
      'bass',
      '--out',
      join(dir, 'x.onnx'),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/--targets: bass not in the members' targets \(vocals, drums\)/);
    const idle = run('export-onnx.ts', [
      '--ensemble',
      a,
      `${b}:drums`,
      '--targets',
      'vocals',
      '--out',
      join(dir, 'x.onnx'),
    ]);
    expect(idle.code).toBe(1);
    expect(idle.err).toMatch(/none of its targets \(drums\) is among the model's \(vocals\)/);
    const lone = run('export-onnx.ts', ['--ensemble', a, '--out', join(dir, 'x.onnx')]);
    expect(lone.code).toBe(1);
    expect(lone.err).toMatch(/at least two models/);
    const missing = run('export-onnx.ts', [
      '--ensemble',
      a,
      join(dir, 'nope.onnx'),
      '--out',
      join(dir, 'x.onnx'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope.onnx: file not found/);
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
  });
});
