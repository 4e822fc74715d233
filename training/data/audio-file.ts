/**
 * Decodes one audio file of a dataset to 44.1 kHz stereo planar float32, remembering its own sample
 * rate (tracks whose files disagree are rejected in `assembleTrack`). WAVs at 44.1 kHz with one or
 * two channels are read directly (no ffmpeg process: MedleyDB and MUSDB18-HQ are such WAVs);
 * everything else goes through ffmpeg (`decodeAudio`), which resamples and downmixes.
 */
import { extname } from 'node:path';
import { SAMPLE_RATE } from '../../src/core/audio';
import { AudioInputError, decodeAudio, probeAudio, readWav } from '../node/audio-io';
import type { DecodedPart } from './track';

/** File extensions the stem-folder and GTZAN loaders pick up. */
export const AUDIO_EXTENSIONS = ['.wav', '.flac', '.mp3', '.ogg', '.m4a', '.aif', '.aiff'] as const;

export function isAudioFile(name: string): boolean {
  return (AUDIO_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

export async function loadAudioFile(file: string, target: string): Promise<DecodedPart> {
  if (extname(file).toLowerCase() === '.wav') {
    let wav: Awaited<ReturnType<typeof readWav>> | undefined;
    try {
      wav = await readWav(file);
    } catch (err) {
      // Encodings readWav does not know (A-law, 12-bit, …) may still be fine for ffmpeg.
      if (!(err instanceof AudioInputError && /unsupported WAV encoding/.test(err.reason))) throw err;
    }
    if (wav && wav.sampleRate === SAMPLE_RATE && wav.channels.length <= 2) {
      const channels = wav.channels.length === 1 ? [wav.channels[0], wav.channels[0].slice()] : wav.channels;
      return { target, file, channels, sourceRate: wav.sampleRate };
    }
    if (wav) {
      const audio = await decodeAudio(file);
      return { target, file, channels: audio.channels, sourceRate: wav.sampleRate };
    }
  }
  const probe = await probeAudio(file);
  const audio = await decodeAudio(file);
  return { target, file, channels: audio.channels, sourceRate: probe.audioStreams[0]?.sampleRate ?? 0 };
}
