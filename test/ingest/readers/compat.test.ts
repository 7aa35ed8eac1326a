/**
 * Files from real writers (pyarrow) that parquetjs-lite's page decoder misread
 * (pages are now decoded by parquet-wasm; parquetjs-lite reads only the footer),
 * and the codec gap of apache-arrow that lz4.ts fills.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { openEventSource } from '../../../server/ingest/readers/events.js';
import { lz4BlockDecode, lz4FrameDecode } from '../../../server/ingest/readers/lz4.js';
import type { RawBatch } from '../../../server/ingest/source.js';
import { tempDir } from './helpers.js';
import { DICT_RUNS_PAGE_V2, FEATHER_LZ4, INT96_BROTLI, LZ4_RAW_UTC_DECIMAL } from './pyarrow-fixtures.js';

const dir = tempDir();

function fixture(name: string, base64: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.from(base64, 'base64'));
  return file;
}

/** All batches of a file concatenated into one column-major RawBatch. */
async function readAll(file: string, batchRows?: number): Promise<Required<Pick<RawBatch, 'columns'>> & { lines: number[] }> {
  const columns: RawBatch['columns'] = {};
  const lines: number[] = [];
  for await (const b of openEventSource(file, { batchRows })) {
    for (const [k, v] of Object.entries(b.columns) as [keyof RawBatch['columns'], unknown[]][]) {
      (columns[k] ??= []).push(...(v as never[]));
    }
    lines.push(...b.lines);
  }
  return { columns, lines };
}

describe('pyarrow-written files', () => {
  it('regression: dictionaries over 256 entries with repeated runs decode the right values (RLE bit width > 8)', async () => {
    const { columns, lines } = await readAll(fixture('dict.parquet', DICT_RUNS_PAGE_V2), 1000);
    const n = 2400;
    expect(columns.msisdn).toEqual(Array.from({ length: n }, (_, i) => `s${String(Math.floor(i / 8)).padStart(3, '0')}`));
    expect(lines).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it('regression: RLE-encoded booleans in DATA_PAGE_V2 are not all false', async () => {
    const { columns } = await readAll(fixture('dict.parquet', DICT_RUNS_PAGE_V2));
    expect(columns.outgoing).toEqual(Array.from({ length: 2400 }, (_, i) => (i % 7 === 0 ? null : i % 3 === 0)));
  });

  it('reads format 2.6 files with naive nanosecond timestamps as wall-clock Dates', async () => {
    const { columns } = await readAll(fixture('dict.parquet', DICT_RUNS_PAGE_V2));
    const times = columns.datetime as Date[];
    expect(times[0]).toBeInstanceOf(Date);
    expect(times.slice(0, 11).map((d) => d.toISOString())).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0].map((s) => `2016-01-01T08:00:0${s}.000Z`),
    );
  });

  it('regression: INT96 timestamps keep their day (Spark), and Brotli pages decompress', async () => {
    const { columns } = await readAll(fixture('int96.parquet', INT96_BROTLI));
    expect(columns.msisdn).toEqual(['x', 'y', 'z']);
    expect(columns.datetime).toEqual(['2016-01-01T08:00:00.000Z', '2016-01-01T09:00:00.000Z', null]);
  });

  it('reads LZ4_RAW pages, UTC timestamps as ISO instants, and INT32 decimals', async () => {
    const { columns } = await readAll(fixture('lz4.parquet', LZ4_RAW_UTC_DECIMAL));
    expect(columns.msisdn).toEqual(['x', 'y']);
    expect(columns.datetime).toEqual(['2016-01-01T08:00:00.000Z', '2016-01-01T08:01:00.000Z']);
    expect(columns.recharge_amount).toEqual([1.25, 3.5]);
  });

  it('reads a default (LZ4-compressed) feather file with a dictionary column and a zoned timestamp', async () => {
    const { columns } = await readAll(fixture('d.feather', FEATHER_LZ4));
    expect(columns.msisdn).toEqual(['x', 'y', 'x']);
    expect(columns.datetime).toEqual(['2016-01-01T08:00:00.000Z', '2016-01-01T08:00:00.000Z', null]);
  });
});

describe('Parquet codecs and encodings', () => {
  it('reads ZSTD, SNAPPY, GZIP and uncompressed pages, dictionary-encoded or plain, in several row groups', async () => {
    const pw = createRequire(import.meta.url)('parquet-wasm/node');
    const n = 5000;
    const msisdn = Array.from({ length: n }, (_, i) => `2250${i % 97}`);
    const ipc = tableToIPC(tableFromArrays({ msisdn, duration: Int32Array.from({ length: n }, (_, i) => i) }), 'stream');
    for (const [name, codec] of [['ZSTD', pw.Compression.ZSTD], ['SNAPPY', pw.Compression.SNAPPY], ['GZIP', pw.Compression.GZIP], ['UNCOMPRESSED', pw.Compression.UNCOMPRESSED]]) {
      for (const dictionary of [true, false]) {
        const props = new pw.WriterPropertiesBuilder().setCompression(codec).setDictionaryEnabled(dictionary).setMaxRowGroupSize(1500).build();
        const file = path.join(dir, `codec-${name}-${dictionary}.parquet`);
        fs.writeFileSync(file, pw.writeParquet(pw.Table.fromIPCStream(ipc), props));
        const { columns, lines } = await readAll(file, 1000);
        expect(columns.msisdn, `${name}, dictionary ${dictionary}`).toEqual(msisdn);
        expect(columns.duration).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(lines).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      }
    }
  });
});

describe('parquetjs-lite 0.8.7 on its own', () => {
  it("cannot read back the TIMESTAMP_MILLIS it writes (why parquet.ts decodes values itself)", async () => {
    const parquet = createRequire(import.meta.url)('parquetjs-lite');
    const file = path.join(dir, 'own.parquet');
    const w = await parquet.ParquetWriter.openFile(new parquet.ParquetSchema({ datetime: { type: 'TIMESTAMP_MILLIS' } }), file);
    await w.appendRow({ datetime: new Date(1451636102000) });
    await w.close();
    // its decoders return bigint for INT64; fromPrimitive_TIMESTAMP_MILLIS does `new Date(+value)`
    const reader = await parquet.ParquetReader.openFile(file).catch((e: unknown) => e);
    expect(String(reader)).toMatch(/Cannot convert a BigInt value to a number/);
    // ... and ours reads it (legacy TIMESTAMP_MILLIS is a UTC instant)
    const { columns } = await readAll(file);
    expect(columns).toEqual({ datetime: ['2016-01-01T08:15:02.000Z'] });
  });
});

describe('LZ4 decoders', () => {
  // literals "abcd", then a match of 8 at offset 4 -> "abcdabcdabcd", then a last literal "!"
  const block = [0x44, 0x61, 0x62, 0x63, 0x64, 0x04, 0x00, 0x10, 0x21];

  it('decodes a block with an overlapping match', () => {
    expect(Buffer.from(lz4BlockDecode(Uint8Array.from(block))).toString()).toBe('abcdabcdabcd!');
  });

  it('decodes frames with compressed and stored blocks, concatenated', () => {
    const frame = (blocks: number[][]) => [
      0x04, 0x22, 0x4d, 0x18, // magic
      0x60, 0x40, 0x00, // FLG (version 1, independent blocks), BD, header checksum
      ...blocks.flat(),
      0, 0, 0, 0, // end mark
    ];
    const stored = Buffer.from('xyz');
    const bytes = [
      ...frame([[block.length, 0, 0, 0, ...block]]),
      ...frame([[stored.length, 0, 0, 0x80, ...stored]]),
    ];
    expect(Buffer.from(lz4FrameDecode(Uint8Array.from(bytes))).toString()).toBe('abcdabcdabcd!xyz');
  });

  it('rejects a match before the start of the output', () => {
    expect(() => lz4BlockDecode(Uint8Array.from([0x10, 0x61, 0x05, 0x00]))).toThrow(/lz4: match offset 5/);
  });
});
