/**
 * Chunked (streamed, cross-faded) separation must score like whole-track separation: within 0.1 dB of
 * SDR per target on MUSDB18-7 test tracks, with the shipped model. Skips without the model or the data.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../../src/core/audio';
import { evaluateTrack } from '../../src/core/bsseval/museval';
import { ChunkedSeparator, separateSignal } from '../../src/core/separator';
import { trackMedians } from '../eval/report';
import { listMusdbTracks, loadTrack } from '../eval/tracks';
import { DEFAULT_MODEL_PATH } from './defaults';
import { loadOnnxModel } from './onnx-model';

const repoRoot = resolve(import.meta.dirname, '../..');
const modelPath = resolve(repoRoot, DEFAULT_MODEL_PATH);
const musdb = resolve(repoRoot, '../shared/data/musdb18-7');
const ready = existsSync(modelPath) && existsSync(musdb);
if (!ready) console.warn(`skipping chunked-vs-whole: needs ${modelPath} and ${musdb}`);

describe.skipIf(!ready)('chunked separation with the shipped model', () => {
  it('scores within 0.1 dB SDR of whole-track separation on MUSDB18-7 test tracks', async () => {
    const model = await loadOnnxModel(modelPath);
    const tracks = (await listMusdbTracks(musdb, 'test')).slice(0, 3);
    for (const source of tracks) {
      const track = await loadTrack(source);
      const references = Object.fromEntries(model.targets.map((t) => [t, track.stems[t].channels]));
      const options = { wienerIterations: 1, exactSum: true };
      const whole = await separateSignal(model, track.mixture.channels, options);
      // 2-s segments with 0.5-s overlaps: four borders inside a 7-s track.
      const chunker = new ChunkedSeparator(model, 2, options, {
        segment: 2 * SAMPLE_RATE,
        overlap: SAMPLE_RATE / 2,
      });
      const parts = [await chunker.push(track.mixture.channels), await chunker.flush()].filter(
        (p) => p !== null,
      );
      const chunked = Object.fromEntries(
        model.targets.map((t) => [
          t,
          [0, 1].map((c) => {
            const out = new Float32Array(track.mixture.channels[0].length);
            let o = 0;
            for (const p of parts) {
              out.set(p[t][c], o);
              o += p[t][c].length;
            }
            return out;
          }),
        ]),
      );
      const a = trackMedians(evaluateTrack(source.name, references, whole, SAMPLE_RATE));
      const b = trackMedians(evaluateTrack(source.name, references, chunked, SAMPLE_RATE));
      for (const t of model.targets) {
        expect(
          Math.abs(a[t].SDR - b[t].SDR),
          `${source.name} ${t}: whole ${a[t].SDR}, chunked ${b[t].SDR}`,
        ).toBeLessThan(0.1);
      }
    }
  });
});
