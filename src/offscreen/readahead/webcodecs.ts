/**
 * The browser's decoder for the feed: WebCodecs `AudioDecoder` (Opus and AAC in Chrome), output
 * copied to planar float32 and placed on the timeline by an `OutputPlacer`.
 *
 * Two facts measured in Chromium shape it:
 *  - At the start of a stream (and again after every flush) Chrome's decoders drop frames
 *    themselves: the Opus pre-skip when the OpusHead is the description (a 960-frame packet comes
 *    out as 648), the first 1024-frame AAC frame (one output fewer). How many is not specified, so a
 *    probe decoder measures it per config (`probeDrop`) and the placer accounts for it.
 *  - A flush ends the codec's stream (the state resets, the frames above are dropped again), so the
 *    decoder is flushed only where the stream really restarts (a jump, a new config); `idle()`
 *    waits for outputs instead.
 */
import type { DemuxedPacket, TrackInfo } from './demux';
import { type ChunkInfo, OutputPlacer, type StreamDecoder } from './feed';

const IDLE_TIMEOUT_MS = 500;
const PROBE_PACKETS = 4;

export type PcmSink = (time: number, rate: number, channels: Float32Array[]) => void;

function configKey(track: TrackInfo): string {
  const c = track.config;
  const d = c.description;
  const bytes = d
    ? ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d)
    : [];
  return `${c.codec}|${c.sampleRate}|${c.numberOfChannels}|${Array.from(bytes).join(',')}`;
}

const chunkOf = (p: DemuxedPacket, timestamp: number) =>
  new EncodedAudioChunk({ type: 'key', timestamp, duration: Math.round(p.duration * 1e6), data: p.data });

/**
 * Decodes the first packets of a stream with a fresh decoder: how many frames and whole outputs
 * the browser drops at a stream start, against the steady packet size.
 */
export async function probeDrop(
  config: AudioDecoderConfig,
  packets: readonly DemuxedPacket[],
): Promise<{ frames: number; outputs: number }> {
  const sizes: number[] = [];
  let failure: unknown = null;
  const decoder = new AudioDecoder({
    output: (d) => {
      sizes.push(d.numberOfFrames);
      d.close();
    },
    error: (e) => {
      failure = e;
    },
  });
  try {
    decoder.configure(config);
    const probe = packets.slice(0, PROBE_PACKETS);
    for (const [i, p] of probe.entries()) decoder.decode(chunkOf(p, i * 1000));
    await decoder.flush();
    if (failure) throw failure;
    const steady = Math.max(0, ...sizes);
    return {
      frames: Math.max(0, probe.length * steady - sizes.reduce((a, b) => a + b, 0)),
      outputs: Math.max(0, probe.length - sizes.length),
    };
  } finally {
    if (decoder.state !== 'closed') decoder.close();
  }
}

export class WebCodecsDecoder implements StreamDecoder {
  private decoder: AudioDecoder | null = null;
  /** Packets given since the last flush. */
  private dirty = false;
  /** Chunks given and outputs received (`idle`); a run start loses `lostOutputs` outputs. */
  private submitted = 0;
  private outputs = 0;
  private lostOutputs = 0;
  private key = '';
  /** Placement of each chunk by its timestamp (µs): a run's first output carries its chunk's timestamp. */
  private chunks = new Map<number, ChunkInfo>();
  private readonly placer: OutputPlacer;
  private last: ChunkInfo | null = null;

  constructor(
    sink: PcmSink,
    private readonly onError: (e: Error) => void,
  ) {
    this.placer = new OutputPlacer(sink);
  }

  async configure(track: TrackInfo, packets: readonly DemuxedPacket[]): Promise<void> {
    const key = configKey(track);
    if (key === this.key && this.decoder?.state === 'configured') return;
    await this.drain();
    const support = await AudioDecoder.isConfigSupported(track.config);
    if (!support.supported) throw new Error(`this browser cannot decode ${track.config.codec}`);
    const drop = await probeDrop(track.config, packets);
    this.placer.decoderDropFrames = drop.frames;
    this.lostOutputs = drop.outputs;
    this.decoder = new AudioDecoder({
      output: (data) => this.output(data),
      error: (e) => this.onError(e instanceof Error ? e : new Error(String(e))),
    });
    this.decoder.configure(track.config);
    this.key = key;
    this.submitted = this.lostOutputs; // this stream's start loses as many outputs as the probe's
    this.outputs = 0;
  }

  decode(packet: DemuxedPacket, info: ChunkInfo): void {
    if (!this.decoder) throw new Error('decode before configure');
    const timestamp = Math.round(info.time * 1e6);
    this.chunks.set(timestamp, info);
    this.dirty = true;
    this.submitted++;
    this.decoder.decode(chunkOf(packet, timestamp));
  }

  async idle(): Promise<void> {
    const deadline = performance.now() + IDLE_TIMEOUT_MS;
    while (this.decoder?.state === 'configured' && this.outputs + this.lostOutputs < this.submitted) {
      // A decoder that holds packets back never catches up: end its stream after all.
      if (performance.now() > deadline) return this.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async reset(): Promise<void> {
    await this.flush();
  }

  close(): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.decoder = null;
    this.key = '';
    this.chunks.clear();
  }

  /** Ends the codec's stream: everything given comes out, and the next packet starts a new run. */
  private async flush(): Promise<void> {
    if (this.decoder?.state === 'configured' && this.dirty) {
      this.dirty = false;
      await this.decoder.flush();
    }
    this.outputs = 0;
    this.submitted = this.lostOutputs;
    this.chunks.clear();
  }

  private async drain(): Promise<void> {
    await this.flush();
    this.close();
  }

  private output(data: AudioData): void {
    this.outputs++;
    try {
      // Chrome stamps outputs after a run's first from its own frame count, so later chunks may not
      // be found by timestamp: they continue the run with the window last in force.
      const info = this.chunks.get(data.timestamp) ?? (this.last ? { ...this.last, newRun: false } : null);
      for (const [ts] of this.chunks) {
        if (ts > data.timestamp) break;
        this.chunks.delete(ts);
      }
      if (info) this.last = info;
      const rate = data.sampleRate;
      const n = data.numberOfFrames;
      const channels = Array.from({ length: data.numberOfChannels }, (_, c) => {
        const out = new Float32Array(n);
        data.copyTo(out, { planeIndex: c, format: 'f32-planar' });
        return out;
      });
      const time = data.timestamp / 1e6;
      this.placer.place(
        info ?? { time, window: [0, Number.POSITIVE_INFINITY], newRun: true, codecDelayFrames: 0 },
        rate,
        channels,
      );
    } finally {
      data.close();
    }
  }
}
