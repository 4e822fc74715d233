import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { umxParameters } from '../../src/core/model';
import { importUmxPth, importUmxStateDicts, readPth } from './pth';

const fixtures = join(import.meta.dirname, '__fixtures__');
const fixture = (name: string) => join(fixtures, name);

async function expected(name: string): Promise<Record<string, { shape: number[]; data: number[] }>> {
  return JSON.parse(await readFile(fixture(`${name}.json`), 'utf8'));
}

describe('readPth', () => {
  for (const name of ['tiny-vocals', 'tiny-uni', 'tiny-legacy']) {
    it(`${name}: every float tensor equals what make_tiny_pth.py wrote (strided and offset views included)`, async () => {
      const tensors = readPth(new Uint8Array(await readFile(fixture(`${name}.pth`))), name);
      const want = await expected(name);
      expect(Object.keys(want).length).toBeGreaterThan(10);
      for (const [key, { shape, data }] of Object.entries(want)) {
        const t = tensors.get(key);
        expect(t, key).toBeDefined();
        expect(t!.shape, key).toEqual(shape);
        expect([...t!.values()], key).toEqual(data.map(Math.fround));
      }
      // The int64 counter is read too (and skipped later by the importer).
      expect([...tensors.get('bn1.num_batches_tracked')!.values()]).toEqual([1234]);
    });
  }

  it('rejects files that are not torch.save output, naming the file', async () => {
    expect(() => readPth(new TextEncoder().encode('hello'), 'x.pth')).toThrow(
      /x\.pth: neither a zip nor a pickle/,
    );
    const json = new Uint8Array(await readFile(fixture('tiny-uni.json')));
    expect(() => readPth(json, 'y.pth')).toThrow(/y\.pth/);
  });
});

describe('importUmxPth', () => {
  it('infers the config from the shapes and maps every parameter by name', async () => {
    const { weights, ignored } = await importUmxPth(
      [fixture('tiny-vocals.pth'), fixture('tiny-drums.pth')],
      ['vocals', 'drums'],
    );
    const c = weights.config;
    expect(c).toMatchObject({
      targets: ['vocals', 'drums'],
      hiddenSize: 4,
      maxBin: 6,
      nbBins: 9,
      nFft: 16,
      nbLayers: 2,
      bidirectional: true,
      nbChannels: 2,
    });
    const want = await expected('tiny-drums');
    for (const spec of umxParameters(c)) {
      expect([...weights.targets.drums![spec.name]], spec.name).toEqual(
        want[spec.name].data.map(Math.fround),
      );
    }
    expect(ignored.get(fixture('tiny-vocals.pth'))).toEqual(['bn1.num_batches_tracked', 'stft.window']);
  });

  it('unidirectional and legacy-format files', async () => {
    const uni = await importUmxPth([fixture('tiny-uni.pth')], ['bass']);
    expect(uni.weights.config).toMatchObject({ bidirectional: false, nbLayers: 1, hiddenSize: 4 });
    const legacy = await importUmxPth([fixture('tiny-legacy.pth')], ['other']);
    expect([...legacy.weights.targets.other!['lstm.weight_hh_l1_reverse']]).toEqual(
      (await expected('tiny-legacy'))['lstm.weight_hh_l1_reverse'].data.map(Math.fround),
    );
  });

  it('names the file and key when a later file does not match the first', async () => {
    await expect(
      importUmxPth([fixture('tiny-vocals.pth'), fixture('tiny-uni.pth')], ['vocals', 'bass']),
    ).rejects.toThrow(
      /tiny-uni\.pth: "lstm\.weight_ih_l0" has shape \[16,4\], expected \[8,4\] \(config inferred from/,
    );
    await expect(
      importUmxPth([fixture('tiny-uni.pth'), fixture('tiny-vocals.pth')], ['bass', 'vocals']),
    ).rejects.toThrow(/tiny-vocals\.pth: "lstm\.weight_ih_l0" has shape \[8,4\], expected \[16,4\]/);
    const tensors = readPth(new Uint8Array(await readFile(fixture('tiny-uni.pth'))), 'u.pth');
    tensors.delete('bn2.running_var');
    expect(() => importUmxStateDicts([{ source: 'u.pth', target: 'bass', tensors }])).toThrow(
      /u\.pth: missing "bn2\.running_var"/,
    );
    const renamed = readPth(new Uint8Array(await readFile(fixture('tiny-uni.pth'))), 'u.pth');
    renamed.set('fc4.weight', renamed.get('fc3.weight')!);
    expect(() => importUmxStateDicts([{ source: 'u.pth', target: 'bass', tensors: renamed }])).toThrow(
      /u\.pth: unexpected key "fc4\.weight"/,
    );
    await expect(importUmxPth([fixture('tiny-uni.pth')], ['bass', 'vocals'])).rejects.toThrow(/1 \.pth file/);
  });
});
