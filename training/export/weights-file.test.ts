import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { umxConfig } from '../../src/core/model';
import { randomUmxWeights } from './test-weights';
import {
  decodeWeights,
  encodeWeights,
  mergeWeights,
  readWeightsFile,
  writeWeightsFile,
} from './weights-file';

const config = umxConfig({ nFft: 16, maxBin: 6, hiddenSize: 4, nbLayers: 2, targets: ['vocals', 'bass'] });
const dir = await mkdtemp(join(tmpdir(), 'stemdeck-weights-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('weights file', () => {
  it('round-trips config and every tensor bit-exactly, atomically written', async () => {
    const w = randomUmxWeights(config, 7);
    const path = join(dir, 'model.umxw');
    await writeWeightsFile(path, w);
    expect(await readdir(dir)).toEqual(['model.umxw']); // no temp file left behind
    const back = await readWeightsFile(path);
    expect(back.config).toEqual(config);
    for (const t of config.targets) {
      for (const [name, arr] of Object.entries(w.targets[t]!))
        expect(back.targets[t]![name], name).toEqual(arr);
    }
    // Header layout: magic, little-endian length, JSON; body 8-aligned.
    const bytes = new Uint8Array(await readFile(path));
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('UMXW');
    const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n)));
    expect(header.tensors[0]).toEqual({ name: 'fc1.weight', target: 'vocals', shape: [4, 12], offset: 0 });
  });

  it('names the file and the offending tensor on bad input', () => {
    const good = encodeWeights(randomUmxWeights(config, 8));
    expect(() => decodeWeights(good.subarray(0, 40), 'x.umxw')).toThrow(
      /x\.umxw: .*truncated|x\.umxw: header/,
    );
    const bad = good.slice();
    bad[0] = 0;
    expect(() => decodeWeights(bad, 'x.umxw')).toThrow(/x\.umxw: not a Stemdeck weights file/);
    expect(() => decodeWeights(good.subarray(0, good.length - 4), 'x.umxw')).toThrow(/outside the body/);
    // Rewrite the header with a wrong shape for one tensor.
    const n = new DataView(good.buffer).getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(good.subarray(12, 12 + n)));
    header.tensors[1].shape = [3];
    const json = new TextEncoder().encode(JSON.stringify(header).padEnd(n, ' '));
    const reshaped = good.slice();
    reshaped.set(json.subarray(0, n), 12);
    expect(() => decodeWeights(reshaped, 'x.umxw')).toThrow(
      /"bn1\.weight" \(target vocals\) has shape \[3\]/,
    );
  });

  it('refuses weights that do not match their config', () => {
    const w = randomUmxWeights(config, 9);
    delete w.targets.bass!['fc2.weight'];
    expect(() => encodeWeights(w)).toThrow(/fc2\.weight/);
  });

  it('merges per-target models into one and refuses overlaps or differing configs', () => {
    const a = randomUmxWeights(
      umxConfig({ nFft: 16, maxBin: 6, hiddenSize: 4, nbLayers: 2, targets: ['vocals', 'drums'] }),
      1,
    );
    const b = randomUmxWeights(
      umxConfig({ nFft: 16, maxBin: 6, hiddenSize: 4, nbLayers: 2, targets: ['bass'] }),
      2,
    );
    const merged = mergeWeights([a, b]);
    expect(merged.config.targets).toEqual(['vocals', 'drums', 'bass']);
    expect(merged.targets.bass?.['fc1.weight']).toBe(b.targets.bass?.['fc1.weight']);
    expect(() => mergeWeights([a, a])).toThrow(/"vocals" appears twice/);
    const c = randomUmxWeights(
      umxConfig({ nFft: 16, maxBin: 6, hiddenSize: 8, nbLayers: 2, targets: ['other'] }),
      3,
    );
    expect(() => mergeWeights([a, c])).toThrow(/another architecture/);
    const joint = randomUmxWeights(
      umxConfig({ nFft: 16, maxBin: 6, hiddenSize: 4, nbLayers: 2, targets: ['bass'], joint: true }),
      4,
    );
    expect(() => mergeWeights([a, joint])).toThrow(/joint model is one network/);
  });

  it('a joint model: the trunk stored once, shared again on reading; a differing trunk refused', () => {
    const c = umxConfig({
      nFft: 16,
      maxBin: 6,
      hiddenSize: 4,
      nbLayers: 2,
      targets: ['vocals', 'drums', 'bass'],
    });
    const joint = randomUmxWeights({ ...c, joint: true }, 5);
    const bytes = encodeWeights(joint);
    expect(bytes.length).toBeLessThan(encodeWeights(randomUmxWeights(c, 5)).length);
    const back = decodeWeights(bytes);
    expect(back.config.joint).toBe(true);
    expect(back.targets.bass!['lstm.weight_hh_l1']).toBe(back.targets.vocals!['lstm.weight_hh_l1']);
    for (const t of c.targets)
      for (const [name, v] of Object.entries(joint.targets[t]!)) expect(back.targets[t]![name]).toEqual(v);
    const bad = randomUmxWeights({ ...c, joint: true }, 6);
    bad.targets.drums = {
      ...bad.targets.drums!,
      'fc1.weight': bad.targets.drums!['fc1.weight'].map((v) => -v),
    };
    expect(() => encodeWeights(bad)).toThrow(/"drums" has another "fc1.weight"/);
  });
});
