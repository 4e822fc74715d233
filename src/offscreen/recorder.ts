/**
 * Test builds: what the audio thread played (output, the original at the same position, where the
 * remix played, and in sync the stems' media positions), for the e2e suite's recording tap.
 *
 * Blocks are kept as the typed arrays they arrive in and turned into number arrays once, when the
 * recording is read (extension messaging serialises to JSON anyway). Pushing every sample into
 * growing number arrays as it came took about a quarter of the offscreen thread and held it for
 * half a second whenever the arrays grew: enough to delay clock samples and skew the very seek and
 * pacing figures the suite measures.
 */

/** Seconds a recording keeps (the e2e scenarios read at most a minute). */
export const TAP_LIMIT_S = 60;

export interface RecordedBlock {
  readonly output: readonly Float32Array[];
  readonly original: readonly Float32Array[];
  readonly remixed: Uint8Array;
  readonly positions?: Float64Array;
}

export interface Recording {
  /** Frame index (capture or context) of the first recorded frame; recorded frames are consecutive. */
  readonly start: number;
  readonly output: number[][];
  readonly original: number[][];
  readonly remixed: number[];
  readonly positions?: number[];
}

export class Recorder {
  private blocks: RecordedBlock[] = [];
  private frames = 0;

  /** Keeps blocks until `limitFrames` frames are recorded (the block that crosses it included). */
  constructor(
    readonly start: number,
    private readonly limitFrames: number,
  ) {}

  add(block: RecordedBlock): void {
    if (this.frames >= this.limitFrames) return;
    this.blocks.push(block);
    this.frames += block.remixed.length;
  }

  get recordedFrames(): number {
    return this.frames;
  }

  /** The recording; without `audio` its start only (the e2e trace needs no samples). */
  take(audio = true): Recording {
    const channels = this.blocks[0]?.output.length ?? 0;
    if (!audio) {
      const none = () => Array.from({ length: channels }, () => []);
      return { start: this.start, output: none(), original: none(), remixed: [] };
    }
    const join = <T extends ArrayLike<number>>(pick: (b: RecordedBlock) => T | undefined): number[] => {
      const out = new Array<number>(this.frames);
      let at = 0;
      for (const b of this.blocks) {
        const a = pick(b);
        if (!a) return [];
        for (let i = 0; i < a.length; i++) out[at++] = a[i];
      }
      return out;
    };
    const positions =
      this.blocks.length > 0 && this.blocks[0].positions ? join((b) => b.positions) : undefined;
    return {
      start: this.start,
      output: Array.from({ length: channels }, (_, c) => join((b) => b.output[c])),
      original: Array.from({ length: channels }, (_, c) => join((b) => b.original[c])),
      remixed: join((b) => b.remixed),
      ...(positions ? { positions } : {}),
    };
  }
}
