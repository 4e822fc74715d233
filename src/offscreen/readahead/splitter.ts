/**
 * Splits a SourceBuffer's byte stream into the init and media segments the page appended.
 *
 * A player appends an MSE byte stream in pieces of any size (a segment may arrive in several
 * appends, or several segments in one), so the demuxer cannot be handed appends as they come: this
 * reassembles them along the container's own top-level structure, as the browser's stream parser
 * does (https://www.w3.org/TR/mse-byte-stream-format-isobmff/, …-webm/):
 *  - fragmented MP4: init = `ftyp` … `moov`; media = `moof` + `mdat` (`styp`, `sidx`, `emsg`, … skipped);
 *  - WebM: init = EBML header + Segment header + the elements up to `Tracks`; media = one `Cluster`.
 * Written here rather than taken from a library because it is this thin framing layer only (the
 * demuxing of a complete segment is mediabunny's, demux.ts); no library offers it for partial appends.
 *
 * After a `gap()` (appends the tap could not keep) it resynchronises on the next segment start.
 */

export type ContainerFormat = 'mp4' | 'webm';

export type StreamSegment =
  | { readonly kind: 'init'; readonly bytes: Uint8Array }
  | { readonly kind: 'media'; readonly bytes: Uint8Array };

/** The container a SourceBuffer MIME type names, or null when neither (e.g. `audio/mpeg`). */
export function containerOf(mime: string): ContainerFormat | null {
  const base = mime.split(';')[0].trim().toLowerCase();
  if (base === 'audio/mp4' || base === 'video/mp4') return 'mp4';
  if (base === 'audio/webm' || base === 'video/webm') return 'webm';
  return null;
}

/** A malformed or unsupported byte stream (the caller falls back to capture for this buffer). */
export class StreamFormatError extends Error {}

/**
 * Does this init segment describe encrypted media (CENC / WebM encryption)? Then its samples are
 * ciphertext outside the page's media pipeline, and the read-ahead must not try to decode them.
 * MP4: a protected sample entry (`enca`, `encv`) or its `sinf` box. WebM: a ContentEncodings
 * element (0x6D80) holding ContentEncryption (0x5035).
 */
export function isEncrypted(format: ContainerFormat, init: Uint8Array): boolean {
  const find = (bytes: readonly number[], from = 0): number => {
    outer: for (let i = from; i + bytes.length <= init.length; i++) {
      for (let j = 0; j < bytes.length; j++) if (init[i + j] !== bytes[j]) continue outer;
      return i;
    }
    return -1;
  };
  const fourcc = (s: string) => [...s].map((c) => c.charCodeAt(0));
  if (format === 'mp4') return ['enca', 'encv', 'sinf'].some((t) => find(fourcc(t)) >= 0);
  const encodings = find([0x6d, 0x80]);
  return encodings >= 0 && find([0x50, 0x35], encodings) >= 0;
}

const MAX_ELEMENT = 64 * 1024 * 1024; // larger than any audio segment; beyond it the stream is corrupt

const EBML_HEADER = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const CLUSTER = 0x1f43b675;
const TRACKS = 0x1654ae6b;
/** Top-level elements that belong to the init segment when they come before the first Cluster. */
const WEBM_INIT_CHILDREN = new Set([
  0x1549a966 /* Info */,
  0x114d9b74 /* SeekHead */,
  0xec /* Void */,
  TRACKS,
]);
const UNKNOWN_SIZE_SEGMENT = Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An EBML variable-length integer at `p`: its length in bytes and value (`marker` keeps the length bit, as IDs do). */
function vint(
  b: Uint8Array,
  p: number,
  end: number,
  marker: boolean,
): { len: number; value: number; unknown: boolean } | null {
  if (p >= end) return null;
  const first = b[p];
  if (first === 0) throw new StreamFormatError('invalid EBML number');
  let len = 1;
  while (!(first & (0x80 >> (len - 1)))) len++;
  if (p + len > end) return null;
  let value = marker ? first : first & (0xff >> len);
  let allOnes = value === 0xff >> len;
  for (let i = 1; i < len; i++) {
    value = value * 256 + b[p + i];
    if (b[p + i] !== 0xff) allOnes = false;
  }
  return { len, value, unknown: !marker && allOnes };
}

export class ByteStreamSplitter {
  private buf = new Uint8Array(0);
  /** Init segment parts collected so far (null: not inside an init segment). */
  private init: Uint8Array[] | null = null;
  /** MP4: the `moof` waiting for its `mdat`. */
  private moof: Uint8Array | null = null;
  private resync = false;

  constructor(readonly format: ContainerFormat) {}

  /** Bytes appended by the page, in order; returns the segments they complete. */
  push(bytes: Uint8Array): StreamSegment[] {
    const next = new Uint8Array(this.buf.length + bytes.length);
    next.set(this.buf);
    next.set(bytes, this.buf.length);
    this.buf = next;
    const out: StreamSegment[] = [];
    const used = this.format === 'mp4' ? this.mp4(out) : this.webm(out);
    this.buf = this.buf.slice(used);
    return out;
  }

  /** Bytes between the last push and the next went missing: drop the partial segment, find the next one. */
  gap(): void {
    this.reset();
    this.resync = true;
  }

  /** `SourceBuffer.abort()`: the parser forgets a partial segment; the next append starts a new one. */
  reset(): void {
    this.buf = new Uint8Array(0);
    this.init = null;
    this.moof = null;
  }

  /** Bytes held for a segment not yet complete. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  private mp4(out: StreamSegment[]): number {
    const b = this.buf;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let p = 0;
    const type = (at: number) => String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    if (this.resync) {
      while (p + 8 <= b.length && !(['moof', 'ftyp'].includes(type(p)) && view.getUint32(p) >= 8)) p++;
      if (p + 8 > b.length) return Math.max(0, b.length - 7);
      this.resync = false;
    }
    while (p + 8 <= b.length) {
      let size = view.getUint32(p);
      let header = 8;
      if (size === 1) {
        if (p + 16 > b.length) break;
        size = Number(view.getBigUint64(p + 8));
        header = 16;
      }
      if (size === 0) throw new StreamFormatError('an MP4 box that runs to the end of the stream');
      if (size < header || size > MAX_ELEMENT) throw new StreamFormatError(`an MP4 box of ${size} bytes`);
      if (p + size > b.length) break;
      const box = b.subarray(p, p + size);
      switch (type(p)) {
        case 'ftyp':
          this.init = [box.slice()];
          break;
        case 'moov':
          out.push({ kind: 'init', bytes: concat([...(this.init ?? []), box]) });
          this.init = null;
          break;
        case 'moof':
          this.moof = box.slice();
          break;
        case 'mdat':
          if (this.moof) out.push({ kind: 'media', bytes: concat([this.moof, box]) });
          this.moof = null;
          break;
        default:
          if (this.init) this.init.push(box.slice()); // e.g. `free` between ftyp and moov
      }
      p += size;
    }
    return p;
  }

  private webm(out: StreamSegment[]): number {
    const b = this.buf;
    let p = 0;
    if (this.resync) {
      const isStart = (at: number) => {
        const id = (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
        return id >>> 0 === CLUSTER || id >>> 0 === EBML_HEADER;
      };
      while (p + 4 <= b.length && !isStart(p)) p++;
      if (p + 4 > b.length) return Math.max(0, b.length - 3);
      this.resync = false;
    }
    while (p < b.length) {
      const id = vint(b, p, b.length, true);
      if (!id) break;
      const size = vint(b, p + id.len, b.length, false);
      if (!size) break;
      const header = id.len + size.len;
      if (id.value === SEGMENT) {
        // Enter the Segment (its children follow at this level); the init says "unknown size" so
        // that clusters appended after it read as its children whatever size the file declared.
        this.init = [...(this.init ?? []), b.slice(p, p + id.len), UNKNOWN_SIZE_SEGMENT];
        p += header;
        continue;
      }
      if (size.unknown) throw new StreamFormatError('a WebM element of unknown size (live WebM)');
      if (size.value > MAX_ELEMENT) throw new StreamFormatError(`a WebM element of ${size.value} bytes`);
      const end = p + header + size.value;
      if (end > b.length) break;
      const element = b.subarray(p, end);
      if (id.value === EBML_HEADER) {
        this.init = [element.slice()];
      } else if (id.value === CLUSTER) {
        out.push({ kind: 'media', bytes: element.slice() });
      } else if (this.init && WEBM_INIT_CHILDREN.has(id.value)) {
        this.init.push(element.slice());
        if (id.value === TRACKS) {
          out.push({ kind: 'init', bytes: concat(this.init) });
          this.init = null;
        }
      } // Cues, Tags, Chapters, … carry no audio
      p = end;
    }
    return p;
  }
}
