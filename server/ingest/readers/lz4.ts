/**
 * LZ4 decompression, for Arrow IPC files whose buffers are compressed with
 * LZ4_FRAME (pyarrow's write_feather() and pandas' to_feather() do this by
 * default, and apache-arrow for JS ships no codec). ZSTD (the other IPC codec)
 * is registered from node:zlib where this Node has it (>= 22.15).
 *
 * see: https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md
 * see: https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md
 */
import * as zlib from 'node:zlib';
import { compressionRegistry, CompressionType } from 'apache-arrow';

const FRAME_MAGIC = 0x184d2204;
/** Skippable frames carry user data, magic 0x184D2A50 .. 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

function fail(why: string): never {
  throw new Error(`lz4: ${why}`);
}

/** A byte sink that grows by doubling; matches may copy from anywhere already written. */
class Output {
  bytes: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.bytes = new Uint8Array(Math.max(64, capacity));
  }
  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

/** Decodes one LZ4 block, src[start, end), appending to `out`. */
function decodeBlock(src: Uint8Array, start: number, end: number, out: Output): void {
  let i = start;
  while (i < end) {
    const token = src[i++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (i >= end) fail('truncated literal length');
        b = src[i++]!;
        literals += b;
      } while (b === 255);
    }
    if (i + literals > end) fail('literals run past the block');
    out.reserve(literals);
    out.bytes.set(src.subarray(i, i + literals), out.length);
    out.length += literals;
    i += literals;
    if (i >= end) break; // the last sequence has literals only
    if (i + 2 > end) fail('truncated match offset');
    const offset = src[i]! | (src[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > out.length) fail(`match offset ${offset} outside the ${out.length} bytes decoded`);
    let match = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (i >= end) fail('truncated match length');
        b = src[i++]!;
        match += b;
      } while (b === 255);
    }
    out.reserve(match);
    const bytes = out.bytes;
    let from = out.length - offset;
    let to = out.length;
    if (offset >= match) {
      bytes.copyWithin(to, from, from + match);
    } else {
      // Overlapping copy repeats the last `offset` bytes: byte by byte, by definition.
      for (const stop = to + match; to < stop; ) bytes[to++] = bytes[from++]!;
    }
    out.length += match;
  }
}

/** Decompresses one raw LZ4 block (the body of an LZ4 frame's block). */
export function lz4BlockDecode(src: Uint8Array, sizeHint = src.length * 4): Uint8Array {
  const out = new Output(sizeHint);
  decodeBlock(src, 0, src.length, out);
  return out.bytes.subarray(0, out.length);
}

const view = (src: Uint8Array) => new DataView(src.buffer, src.byteOffset, src.byteLength);

/** Decompresses one or more concatenated LZ4 frames. Checksums are skipped, not verified. */
export function lz4FrameDecode(src: Uint8Array): Uint8Array {
  const dv = view(src);
  const out = new Output(src.length * 4);
  let i = 0;
  while (i < src.length) {
    if (i + 4 > src.length) fail('truncated frame header');
    const magic = dv.getUint32(i, true);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (i + 8 > src.length) fail('truncated skippable frame');
      i += 8 + dv.getUint32(i + 4, true);
      continue;
    }
    if (magic !== FRAME_MAGIC) fail(`expected frame magic 0x184d2204, found 0x${magic.toString(16)}`);
    if (i + 7 > src.length) fail('truncated frame header');
    const flg = src[i + 4]!;
    if (flg >>> 6 !== 1) fail(`unsupported frame version ${flg >>> 6}`);
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    if (flg & 0x01) fail('frames with a dictionary id are not supported');
    i += 6; // magic, FLG, BD
    if (contentSize) {
      if (i + 8 > src.length) fail('truncated content size');
      out.reserve(Number(dv.getBigUint64(i, true)));
      i += 8;
    }
    i += 1; // header checksum
    for (;;) {
      if (i + 4 > src.length) fail('truncated block size');
      const word = dv.getUint32(i, true);
      i += 4;
      if (word === 0) break; // end mark
      const size = word & 0x7fffffff;
      if (i + size > src.length) fail(`block of ${size} bytes runs past the end of the data`);
      if (word & 0x80000000) {
        out.reserve(size);
        out.bytes.set(src.subarray(i, i + size), out.length);
        out.length += size;
      } else {
        decodeBlock(src, i, i + size, out);
      }
      i += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) i += 4;
  }
  return out.bytes.subarray(0, out.length);
}

let registered = false;

/** Registers the IPC decompressors this process can offer with apache-arrow, once. */
export function registerArrowCodecs(): void {
  if (registered) return;
  registered = true;
  if (!compressionRegistry.get(CompressionType.LZ4_FRAME)) {
    compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: lz4FrameDecode });
  }
  // zstdDecompressSync exists from Node 22.15 / 23.8; @types/node 20 does not know it.
  const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Uint8Array) => Buffer }).zstdDecompressSync;
  if (zstd && !compressionRegistry.get(CompressionType.ZSTD)) {
    compressionRegistry.set(CompressionType.ZSTD, { decode: (b) => new Uint8Array(zstd(b)) });
  }
}
