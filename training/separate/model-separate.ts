/**
 * Separates one audio file with a trained model, streaming: decode a block, separate whole segments as
 * they fill (ChunkedSeparator), append the finished samples to one WAV writer per stem. Memory is
 * bounded by the segment length, not the file length.
 */
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_RATE } from '../../src/core/audio';
import {
  ChunkedSeparator,
  type ChunkingOptions,
  DEFAULT_CHUNKING,
  type MagnitudeModel,
  type SeparationOptions,
} from '../../src/core/separator';
import { outputStems } from '../../src/core/stems';
import { probeAudio } from '../node/audio-io';
import { createWavWriter, decodeAudioBlocks, type WavWriter } from '../node/audio-stream';

export interface ModelSeparateOptions extends SeparationOptions {
  /** Stems to write (default: all the model has, plus `residual` when asked for). */
  stems?: readonly string[];
  chunking?: ChunkingOptions;
}

/** Writes `<outDir>/<stem>.wav` for each stem; returns their paths. Reports progress in seconds. */
export async function separateFileWithModel(
  input: string,
  model: MagnitudeModel,
  outDir: string,
  options: ModelSeparateOptions,
  onProgress: (doneSeconds: number, totalSeconds: number) => void = () => {},
): Promise<string[]> {
  const probe = await probeAudio(input);
  const total = probe.duration ?? 0;
  const all = [...outputStems(model.targets), ...(options.residual ? ['residual'] : [])];
  const wanted = options.stems ?? all;
  const missing = wanted.filter((s) => !all.includes(s));
  if (missing.length > 0)
    throw new Error(`${input}: the model has no ${missing.join(', ')} stem (has ${all.join(', ')})`);
  const separator = new ChunkedSeparator(model, 2, options, options.chunking ?? DEFAULT_CHUNKING);
  const writers = new Map<string, WavWriter>();
  for (const stem of wanted) writers.set(stem, await createWavWriter(join(outDir, `${stem}.wav`)));
  const emit = async (out: Record<string, Float32Array[]> | null) => {
    if (!out) return;
    for (const [stem, writer] of writers) await writer.write(out[stem]);
    onProgress(separator.outputLength / SAMPLE_RATE, total);
  };
  try {
    for await (const block of decodeAudioBlocks(input)) await emit(await separator.push(block));
    await emit(await separator.flush());
    for (const writer of writers.values()) await writer.close();
  } catch (err) {
    await Promise.all([...writers.values()].map((w) => w.abort()));
    // The folder the writers made, if nothing else is in it (rmdir refuses a non-empty one).
    await rmdir(outDir).catch(() => undefined);
    throw err;
  }
  return wanted.map((s) => join(outDir, `${s}.wav`));
}
