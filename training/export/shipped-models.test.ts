/**
 * The two shipped files agree where the model card says they do: the 6-stem model's top level
 * (vocals, drums, bass and the group guitar+piano+other) is the 4-stem model, bit for bit — both are
 * the same ensemble (models/README.md). A re-export of one without the other fails here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readModelConfig } from '../../src/core/onnx-model';
import { mulberry32 } from '../../src/core/random';
import { umxMembersFromOnnx } from '../../src/core/webgpu/onnx-weights';
import { mergeWeights, readPart } from '../train/merge';
import { exportUmxEnsembleOnnx } from './onnx';

const ROOT = resolve(import.meta.dirname, '../..');
const UMX4 = resolve(ROOT, 'models/stemdeck-umx4.onnx');
const UMX6 = resolve(ROOT, 'models/stemdeck-umx6.onnx');
const HAVE = existsSync(UMX4) && existsSync(UMX6);
if (!HAVE)
  console.warn('shipped-models test SKIPPED: models/stemdeck-umx4.onnx or stemdeck-umx6.onnx is missing');

describe.skipIf(!HAVE)('the shipped models', () => {
  it("the 6-stem model's top level is the 4-stem model (other = guitar+piano+other)", async () => {
    const frames = 20;
    const bins = readModelConfig(new Uint8Array(readFileSync(UMX4))).nbBins;
    const random = mulberry32(3);
    const input = Float32Array.from({ length: 2 * bins * frames }, () => 3 * random());
    const run = async (file: string) => {
      const bytes = new Uint8Array(readFileSync(file));
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      try {
        const out = await session.run({
          mix: new ort.Tensor('float32', input.slice(), [1, 2, bins, frames]),
        });
        return {
          targets: readModelConfig(bytes).targets as readonly string[],
          est: out.est.data as Float32Array,
        };
      } finally {
        await session.release();
      }
    };
    const four = await run(UMX4);
    const six = await run(UMX6);
    const size = 2 * bins * frames;
    const as6: Record<string, string> = { other: 'guitar+piano+other' };
    for (const [j, t] of four.targets.entries()) {
      const k = six.targets.indexOf(as6[t] ?? t);
      expect(k, t).toBeGreaterThanOrEqual(0);
      const a = four.est.subarray(j * size, (j + 1) * size);
      const b = six.est.subarray(k * size, (k + 1) * size);
      expect(
        a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0),
        t,
      ).toBe(0);
      expect(a.reduce((m, v) => Math.max(m, v), 0)).toBeGreaterThan(0.01);
    }
  });

  it('the 6-stem file rebuilds byte for byte from its own networks (how a fine-tuned member is swapped in)', async () => {
    const first = mergeWeights([
      await readPart(`${UMX6}:vocals,drums,bass`),
      await readPart(`${UMX6}:guitar`),
      await readPart(`${UMX6}:piano,other,guitar+piano+other`),
    ]);
    const second = umxMembersFromOnnx(new Uint8Array(readFileSync(UMX6)))[1];
    const rebuilt = exportUmxEnsembleOnnx([first, second], { float16: true, int8: true });
    expect(Buffer.compare(Buffer.from(rebuilt), readFileSync(UMX6))).toBe(0);
  });

  it('merge reads a shipped network to fine-tune: the ensemble member that has it', async () => {
    const guitar = await readPart(`${UMX6}:guitar`);
    expect(guitar.config.targets).toEqual(['guitar']);
    const member = umxMembersFromOnnx(new Uint8Array(readFileSync(UMX6))).find((m) => m.targets.guitar);
    expect(guitar.targets.guitar?.['fc1.weight']).toEqual(member?.targets.guitar?.['fc1.weight']);
    // Both members have vocals: without a target only one member may be named.
    await expect(readPart(UMX6)).rejects.toThrow(/2 members; name targets/);
    await expect(readPart(`${UMX6}:kazoo`)).rejects.toThrow(/name targets that one member has/);
  });
});
