/** Audio conventions shared by every part of Stemdeck. */

/** Everything inside Stemdeck runs at this rate; inputs are resampled on decode. */
export const SAMPLE_RATE = 44_100;
/** Stereo everywhere; mono inputs are duplicated on decode. */
export const CHANNELS = 2;

/** Planar multichannel audio: one Float32Array per channel, all the same length. */
export interface AudioBuffer32 {
  readonly sampleRate: number;
  readonly channels: Float32Array[];
}

export function audioLength(audio: AudioBuffer32): number {
  return audio.channels[0]?.length ?? 0;
}

export function durationSeconds(audio: AudioBuffer32): number {
  return audioLength(audio) / audio.sampleRate;
}
