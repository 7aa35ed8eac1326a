/**
 * Fixes to parquetjs-lite 0.8.7 (unmaintained since 2020), applied once to its
 * decoder modules before the first read. Each repairs a bug that made it throw
 * on, or silently misread, files written by pyarrow, pandas, DuckDB or Spark.
 * They only change what its decoders return for inputs they got wrong or
 * rejected; writing is untouched. Per-file problems (the format-version check,
 * its broken timestamp conversions) are worked around in parquet.ts instead.
 *
 * 1. RLE/bit-packed hybrid runs: a repeated run with a bit width > 8 summed its
 *    bytes instead of shifting them (`value << 8` without assignment), so any
 *    dictionary with more than 256 entries decoded wrong ids for runs of
 *    repeated values - silently. Booleans RLE-encoded in DATA_PAGE_V2 came out
 *    all false (no bit width was passed) - silently.
 * 2. RLE_DICTIONARY, the name Parquet 2.x gives PLAIN_DICTIONARY's data pages,
 *    was rejected ("invalid encoding"); it is the same encoding.
 * 3. INT96 timestamps (Spark, Impala) dropped the Julian day and kept only the
 *    nanoseconds of the day. They now decode as bigint nanoseconds since 1970.
 * 4. Codecs: BROTLI via node:zlib, LZ4_RAW with our decoder, ZSTD via
 *    node:zlib where this Node has it (>= 22.15).
 */
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { lz4BlockDecode } from './lz4.js';

const require = createRequire(import.meta.url);

interface Cursor {
  buffer: Buffer;
  offset: number;
}
type DecodeValues = (type: string, cursor: Cursor, count: number, opts: { bitWidth?: number; disableEnvelope?: boolean }) => unknown[];
interface Codec {
  decodeValues: DecodeValues;
}

/** Codec names by Parquet's CompressionCodec number. */
export const CODEC_NAMES = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'LZO', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW'] as const;

/** Codecs this process can decompress, filled by applyParquetFixes(). */
export const SUPPORTED_CODECS = new Set<string>(['UNCOMPRESSED', 'SNAPPY', 'GZIP']);

let applied = false;

export function applyParquetFixes(): void {
  if (applied) return;
  applied = true;
  const codecs = require('parquetjs-lite/lib/codec') as Record<string, Codec>;
  const rle = require('parquetjs-lite/lib/codec/rle.js') as Codec;
  const plain = require('parquetjs-lite/lib/codec/plain.js') as Codec;
  const compression = require('parquetjs-lite/lib/compression.js') as {
    PARQUET_COMPRESSION_METHODS: Record<string, { deflate: (b: Buffer) => Buffer; inflate: (b: Buffer) => Buffer }>;
  };
  const thrift = require('parquetjs-lite/gen-nodejs/parquet_types.js') as { CompressionCodec: Record<string, number> };

  rle.decodeValues = decodeRleHybrid; // plain_dictionary calls rle.decodeValues through the module object
  codecs.RLE_DICTIONARY = codecs.PLAIN_DICTIONARY!;

  const plainDecode = plain.decodeValues;
  plain.decodeValues = (type, cursor, count, opts) =>
    type === 'INT96' ? decodeInt96(cursor, count) : plainDecode(type, cursor, count, opts);

  const methods = compression.PARQUET_COMPRESSION_METHODS;
  const unsupported = (name: string) => () => {
    throw new Error(`writing ${name} is not supported`);
  };
  methods.BROTLI = { deflate: unsupported('BROTLI'), inflate: (b) => zlib.brotliDecompressSync(b) };
  thrift.CompressionCodec.LZ4_RAW = 7; // missing from its generated enum: chunks failed with "Invalid ENUM value"
  methods.LZ4_RAW = { deflate: unsupported('LZ4_RAW'), inflate: (b) => Buffer.from(lz4BlockDecode(b)) };
  SUPPORTED_CODECS.add('BROTLI').add('LZ4_RAW');
  const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync;
  if (zstd) {
    methods.ZSTD = { deflate: unsupported('ZSTD'), inflate: (b) => zstd(b) };
    SUPPORTED_CODECS.add('ZSTD');
  }
}

/**
 * The RLE / bit-packed hybrid decoder, correct for any bit width <= 32.
 * Same contract as parquetjs-lite's: a 4-byte length prefix unless
 * `disableEnvelope`; `count` values; booleans (RLE-encoded values, bit width 1) as booleans.
 * see: https://parquet.apache.org/docs/file-format/data-pages/encodings/#run-length-encoding--bit-packing-hybrid-rle--3
 */
export const decodeRleHybrid: DecodeValues = (type, cursor, count, opts) => {
  // Levels and dictionary ids come with a bit width; RLE-encoded boolean values do not.
  const boolean = type === 'BOOLEAN' && opts.bitWidth === undefined;
  const bitWidth = boolean ? 1 : opts.bitWidth;
  if (bitWidth === undefined) throw new Error('RLE decoding needs a bit width');
  const buf = cursor.buffer;
  if (!opts.disableEnvelope) cursor.offset += 4;
  let p = cursor.offset;
  const values = new Array<number | boolean>(count);
  const byteWidth = (bitWidth + 7) >>> 3;
  const scale = 2 ** bitWidth;
  let n = 0;
  while (n < count) {
    // ULEB128 run header
    let header = 0;
    let shift = 0;
    let b: number;
    do {
      if (p >= buf.length) throw new Error('RLE data ends inside a run header');
      b = buf[p++]!;
      header += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    if (header % 2 === 1) {
      // bit-packed: (header >> 1) groups of 8 values, least significant bit first
      const total = Math.floor(header / 2) * 8;
      const bytes = (total * bitWidth) / 8;
      if (p + bytes > buf.length) throw new Error('RLE bit-packed run runs past the page');
      let acc = 0;
      let accBits = 0;
      let q = p;
      for (let i = 0; i < total; i++) {
        while (accBits < bitWidth) {
          acc += buf[q++]! * 2 ** accBits;
          accBits += 8;
        }
        const v = acc % scale;
        acc = (acc - v) / scale;
        accBits -= bitWidth;
        if (n < count) values[n++] = boolean ? v === 1 : v;
      }
      p += bytes;
    } else {
      const run = Math.floor(header / 2);
      if (p + byteWidth > buf.length) throw new Error('RLE repeated run runs past the page');
      let v = 0;
      for (let i = 0; i < byteWidth; i++) v += buf[p + i]! * 2 ** (8 * i); // little-endian
      p += byteWidth;
      const stop = Math.min(count, n + run);
      const value = boolean ? v === 1 : v;
      while (n < stop) values[n++] = value;
    }
  }
  cursor.offset = p;
  return values;
};

const JULIAN_DAY_OF_EPOCH = 2440588n;
const NANOS_PER_DAY = 86_400_000_000_000n;

/** INT96 = 8 bytes nanoseconds of the day, then 4 bytes Julian day, little-endian. */
function decodeInt96(cursor: Cursor, count: number): bigint[] {
  const buf = cursor.buffer;
  const values = new Array<bigint>(count);
  for (let i = 0; i < count; i++) {
    const nanos = buf.readBigUInt64LE(cursor.offset);
    const day = BigInt(buf.readUInt32LE(cursor.offset + 8));
    values[i] = (day - JULIAN_DAY_OF_EPOCH) * NANOS_PER_DAY + nanos;
    cursor.offset += 12;
  }
  return values;
}
