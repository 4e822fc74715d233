/**
 * Common Encryption (CENC, `cenc` scheme: AES-128-CTR, whole samples) of a clear fragmented MP4
 * audio stream, for the e2e suite's DRM-protected feed. Debian's ffmpeg (5.1) writes the sample
 * encryption boxes only into its first fragment, which Chrome refuses ("Sample encryption info is not
 * available"), and no packager (shaka, Bento4, GPAC) is packaged here; the box surgery for one
 * audio track is short, so it is done here: the sample entry becomes `enca` with a `sinf` (original
 * format, scheme, `tenc` with the key id), and each `traf` gets `senc` (an 8-byte IV per sample),
 * `saiz` and `saio`, the `trun` data offset moved by what was added, the samples in `mdat` encrypted
 * in place. Test support only (Node).
 */
import { createCipheriv } from 'node:crypto';

interface Box {
  readonly type: string;
  readonly start: number;
  readonly size: number;
}

function boxes(buf: Buffer, from: number, to: number): Box[] {
  const out: Box[] = [];
  for (let at = from; at + 8 <= to; ) {
    const size = buf.readUInt32BE(at);
    if (size < 8 || at + size > to) throw new Error(`cenc: a bad box at ${at}`);
    out.push({ type: buf.toString('latin1', at + 4, at + 8), start: at, size });
    at += size;
  }
  return out;
}

function child(buf: Buffer, parent: Box, type: string, headerSize = 8): Box {
  const b = boxes(buf, parent.start + headerSize, parent.start + parent.size).find((x) => x.type === type);
  if (!b) throw new Error(`cenc: no ${type} in ${parent.type}`);
  return b;
}

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};
const box = (type: string, ...body: Buffer[]) => {
  const payload = Buffer.concat(body);
  return Buffer.concat([u32(8 + payload.length), Buffer.from(type, 'latin1'), payload]);
};
const fullBox = (type: string, ...body: Buffer[]) => box(type, u32(0), ...body);

/** Adds `delta` to the 32-bit size of each box starting at `starts`. */
function grow(buf: Buffer, starts: readonly number[], delta: number): void {
  for (const s of starts) buf.writeUInt32BE(buf.readUInt32BE(s) + delta, s);
}

/** The init segment with its `mp4a` sample entry made `enca`, protected by `kid`. */
export function encryptInit(init: Buffer, kid: Buffer): Buffer {
  const top = boxes(init, 0, init.length);
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) throw new Error('cenc: no moov');
  const trak = child(init, moov, 'trak');
  const mdia = child(init, trak, 'mdia');
  const minf = child(init, mdia, 'minf');
  const stbl = child(init, minf, 'stbl');
  const stsd = child(init, stbl, 'stsd');
  // stsd: a full box with an entry count before its entries; an AudioSampleEntry has 28 bytes of
  // fields before its child boxes.
  const mp4a = child(init, stsd, 'mp4a', 16);
  const tenc = fullBox('tenc', Buffer.from([0, 0, 1, 8]), kid);
  const sinf = box(
    'sinf',
    box('frma', Buffer.from('mp4a', 'latin1')),
    fullBox('schm', Buffer.from('cenc', 'latin1'), u32(0x10000)),
    box('schi', tenc),
  );
  const end = mp4a.start + mp4a.size;
  const out = Buffer.concat([init.subarray(0, end), sinf, init.subarray(end)]);
  grow(
    out,
    [moov, trak, mdia, minf, stbl, stsd, mp4a].map((b) => b.start),
    sinf.length,
  );
  out.write('enca', mp4a.start + 4, 'latin1');
  return out;
}

/** A media segment (moof + mdat, other boxes kept) with its samples encrypted; `seq` makes the IVs unique. */
export function encryptSegment(segment: Buffer, key: Buffer, seq: number): Buffer {
  const top = boxes(segment, 0, segment.length);
  const moofIndex = top.findIndex((b) => b.type === 'moof');
  const moof = top[moofIndex];
  const mdat = top.slice(moofIndex).find((b) => b.type === 'mdat');
  if (!moof || !mdat) throw new Error('cenc: a segment without moof and mdat');
  const traf = child(segment, moof, 'traf');
  const tfhd = child(segment, traf, 'tfhd');
  const trun = child(segment, traf, 'trun');
  const tfFlags = segment.readUInt32BE(tfhd.start + 8) & 0xffffff;
  let p = tfhd.start + 16; // after version/flags and track_ID
  if (tfFlags & 0x01) throw new Error('cenc: a tfhd base_data_offset (not written by ffmpeg)');
  if (tfFlags & 0x02) p += 4;
  if (tfFlags & 0x08) p += 4;
  const defaultSize = tfFlags & 0x10 ? segment.readUInt32BE(p) : 0;
  const trFlags = segment.readUInt32BE(trun.start + 8) & 0xffffff;
  const count = segment.readUInt32BE(trun.start + 12);
  let q = trun.start + 16;
  if (!(trFlags & 0x01)) throw new Error('cenc: a trun without a data offset');
  const dataOffsetAt = q;
  const dataOffset = segment.readInt32BE(q);
  q += 4;
  if (trFlags & 0x04) q += 4;
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    if (trFlags & 0x100) q += 4;
    sizes.push(trFlags & 0x200 ? segment.readUInt32BE(q) : defaultSize);
    if (trFlags & 0x200) q += 4;
    if (trFlags & 0x400) q += 4;
    if (trFlags & 0x800) q += 4;
  }
  // Encrypt each sample in place (a copy of the segment), with its own 8-byte IV.
  const out = Buffer.from(segment);
  const ivs: Buffer[] = [];
  let at = moof.start + dataOffset;
  for (let i = 0; i < count; i++) {
    const iv = Buffer.alloc(8);
    iv.writeUInt32BE(seq, 0);
    iv.writeUInt32BE(i, 4);
    ivs.push(iv);
    const cipher = createCipheriv('aes-128-ctr', key, Buffer.concat([iv, Buffer.alloc(8)]));
    const clear = segment.subarray(at, at + sizes[i]);
    cipher.update(clear).copy(out, at);
    at += sizes[i];
  }
  if (at > mdat.start + mdat.size) throw new Error('cenc: samples run past the mdat');
  // senc, saiz, saio at the end of the traf; saio points at the first IV, from the moof's start.
  const senc = fullBox('senc', u32(count), ...ivs);
  const saiz = fullBox('saiz', Buffer.from([8]), u32(count));
  const trafEnd = traf.start + traf.size;
  const added = senc.length + saiz.length + 20; // saio: 8 + 4 + 4 + 4
  const firstIv = trafEnd + 16 - moof.start;
  const saio = fullBox('saio', u32(1), u32(firstIv));
  const result = Buffer.concat([out.subarray(0, trafEnd), senc, saiz, saio, out.subarray(trafEnd)]);
  grow(result, [moof.start, traf.start], added);
  result.writeInt32BE(dataOffset + added, dataOffsetAt);
  return result;
}
