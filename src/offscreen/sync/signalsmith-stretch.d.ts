/**
 * Types for the parts of signalsmith-stretch (MIT; its package ships none) that the in-sync remix
 * uses: the node the main thread creates once the sync worklet has registered its processor.
 */
declare module 'signalsmith-stretch' {
  export interface StretchChange {
    /** Context time the change applies at (default: now). */
    outputTime?: number;
    active?: boolean;
    /** Pitch shift, semitones. */
    semitones?: number;
  }

  export interface StretchNode extends AudioWorkletNode {
    schedule(change: StretchChange): Promise<unknown>;
    /** Seconds by which the node's output follows its input. */
    latency(): Promise<number>;
  }

  export default function SignalsmithStretch(
    context: BaseAudioContext,
    options?: AudioWorkletNodeOptions,
  ): Promise<StretchNode>;
}
