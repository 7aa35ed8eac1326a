/**
 * Parquet events writer. parquetjs-lite writes the file envelope (magic,
 * schema, row group metadata, footer), but its row path (appendRow) shreds
 * every row into objects and re-encodes levels quadratically: about 30k rows
 * per second. So this module encodes the data pages itself, straight from the
 * event batch into PLAIN values and RLE/bit-packed definition levels, and
 * hands whole row groups to parquetjs-lite's envelope writer.
 * see: https://parquet.apache.org/docs/file-format/data-pages/encodings/
 */
import { createRequire } from 'node:module';
import { EventBatch, NO_DIRECTION, NONE, OUTGOING } from '../batch.js';
import { MSISDN_LENGTH } from '../msisdn.js';
import { DATETIME_LENGTH, RowText, type ByteTable } from '../text.js';
import { RowGrouper } from './grouping.js';
import { FileOut } from './output.js';
import { EVENT_COLUMNS } from '../../store/schema.js';
import type { EventWriter } from './sink.js';

/** The parts of parquetjs-lite (0.8.x, untyped CommonJS) used here. */
interface ParquetLite {
  ParquetSchema: new (fields: Record<string, object>) => { fieldList: { path: string[] }[] };
  ParquetEnvelopeWriter: new (
    schema: object,
    write: (buf: Buffer) => Promise<void>,
    close: () => Promise<void>,
    offset: number,
    opts: object,
  ) => {
    writeHeader(): Promise<void>;
    writeRowGroup(group: { rowCount: number; pages: Record<string, object[]> }): Promise<void>;
    writeFooter(meta: Record<string, string>): Promise<void>;
  };
}
interface ThriftTypes {
  PageHeader: new (args: object) => object;
  DataPageHeader: new (args: object) => object;
  PageType: Record<string, number>;
  Encoding: Record<string, number>;
}
const require = createRequire(import.meta.url);
const parquet = require('parquetjs-lite') as ParquetLite;
const thrift = require('parquetjs-lite/gen-nodejs/parquet_types') as ThriftTypes;
const { serializeThrift } = require('parquetjs-lite/lib/util') as { serializeThrift(obj: object): Buffer };
const { deflate } = require('parquetjs-lite/lib/compression') as { deflate(method: string, buf: Buffer): Buffer };

const ROWS_PER_GROUP = 1 << 18;
const ROWS_PER_PAGE = 1 << 15;
/** Snappy, the codec every Parquet reader has; pure JS here, but still several times faster than the envelope. */
const COMPRESSION = 'SNAPPY';

type Kind = 'UTF8' | 'BOOLEAN' | 'INT32' | 'DOUBLE';
const KINDS: Record<(typeof EVENT_COLUMNS)[number], [Kind, boolean]> = {
  msisdn: ['UTF8', false],
  datetime: ['UTF8', false],
  cell_id: ['UTF8', true],
  event_type: ['UTF8', false],
  outgoing: ['BOOLEAN', true],
  duration: ['INT32', true],
  msisdn_counterpart: ['UTF8', true],
  recharge_amount: ['DOUBLE', true],
};

export async function openParquet(path: string, text: RowText): Promise<EventWriter> {
  const out = new FileOut(path);
  const schema = new parquet.ParquetSchema(
    Object.fromEntries(
      EVENT_COLUMNS.map((name) => [name, { type: KINDS[name][0], optional: KINDS[name][1], compression: COMPRESSION, statistics: false }]),
    ),
  );
  const envelope = new parquet.ParquetEnvelopeWriter(schema, (buf) => out.write(buf), async () => {}, 0, {
    pageIndex: false,
    useDataPageV2: false,
  });
  await envelope.writeHeader();
  const grouper = new RowGrouper(ROWS_PER_GROUP, async (group) => {
    const pages: Record<string, object[]> = {};
    EVENT_COLUMNS.forEach((name, column) => {
      pages[name] = [];
      for (let from = 0; from < group.length; from += ROWS_PER_PAGE) {
        const to = Math.min(group.length, from + ROWS_PER_PAGE);
        const page = encodePage(column, group, from, to, text);
        pages[name]!.push({ page, first_row_index: from, num_values: to - from, statistics: {}, distinct_values: new Set() });
      }
    });
    await envelope.writeRowGroup({ rowCount: group.length, pages });
  });
  return {
    write: (batch) => grouper.add(batch),
    async close() {
      await grouper.flush();
      await envelope.writeFooter({});
      return out.close();
    },
  };
}

/** One v1 data page of column `column` for rows [from, to): header, then compressed levels and values. */
function encodePage(column: number, b: EventBatch, from: number, to: number, text: RowText): Buffer {
  const n = to - from;
  const present = new Uint8Array(n);
  let values: Buffer;
  switch (EVENT_COLUMNS[column]) {
    case 'msisdn':
      present.fill(1);
      values = fixedStrings(present, MSISDN_LENGTH, (out, at, i) => text.party(out, at, b.party[from + i]!));
      break;
    case 'datetime':
      present.fill(1);
      values = fixedStrings(present, DATETIME_LENGTH, (out, at, i) => text.datetime(out, at, b.day, b.sec[from + i]!));
      break;
    case 'cell_id':
      values = tableStrings(present, text.cells, (i) => b.cell[from + i]!);
      break;
    case 'event_type':
      values = tableStrings(present, text.types, (i) => b.type[from + i]!);
      break;
    case 'outgoing': {
      const bits = Buffer.alloc((n + 7) >> 3);
      let k = 0;
      for (let i = 0; i < n; i++) {
        const dir = b.outgoing[from + i]!;
        if (dir === NO_DIRECTION) continue;
        present[i] = 1;
        if (dir === OUTGOING) bits[k >> 3] |= 1 << (k & 7);
        k++;
      }
      values = bits.subarray(0, (k + 7) >> 3);
      break;
    }
    case 'duration': {
      values = Buffer.alloc(n * 4);
      let k = 0;
      for (let i = 0; i < n; i++) {
        const v = b.duration[from + i]!;
        if (v === NONE) continue;
        present[i] = 1;
        values.writeInt32LE(v, k);
        k += 4;
      }
      values = values.subarray(0, k);
      break;
    }
    case 'msisdn_counterpart':
      for (let i = 0; i < n; i++) present[i] = b.counterpart[from + i] === NONE ? 0 : 1;
      values = fixedStrings(present, MSISDN_LENGTH, (out, at, i) => text.counterpart(out, at, b.counterpart[from + i]!));
      break;
    default: {
      values = Buffer.alloc(n * 8);
      let k = 0;
      for (let i = 0; i < n; i++) {
        const v = b.amount[from + i]!;
        if (v === NONE) continue;
        present[i] = 1;
        values.writeDoubleLE(v, k);
        k += 8;
      }
      values = values.subarray(0, k);
    }
  }
  const optional = KINDS[EVENT_COLUMNS[column]!][1];
  const body = optional ? Buffer.concat([lengthPrefixed(rleBits(present)), values]) : values;
  const compressed = deflate(COMPRESSION, body);
  const header = new thrift.PageHeader({
    type: thrift.PageType['DATA_PAGE'],
    uncompressed_page_size: body.length,
    compressed_page_size: compressed.length,
    data_page_header: new thrift.DataPageHeader({
      num_values: n,
      encoding: thrift.Encoding['PLAIN'],
      definition_level_encoding: thrift.Encoding['RLE'],
      repetition_level_encoding: thrift.Encoding['RLE'],
    }),
  });
  return Buffer.concat([serializeThrift(header), compressed]);
}

/** PLAIN byte arrays (4-byte length, bytes) of the present rows, all `width` bytes long. */
function fixedStrings(present: Uint8Array, width: number, write: (out: Uint8Array, at: number, i: number) => void): Buffer {
  let count = 0;
  for (let i = 0; i < present.length; i++) count += present[i]!;
  const out = Buffer.alloc(count * (4 + width));
  let p = 0;
  for (let i = 0; i < present.length; i++) {
    if (!present[i]) continue;
    out.writeUInt32LE(width, p);
    write(out, p + 4, i);
    p += 4 + width;
  }
  return out;
}

/** PLAIN byte arrays of byte-table entries; code NONE marks the row absent (sets `present`). */
function tableStrings(
  present: Uint8Array,
  table: ByteTable,
  code: (i: number) => number,
): Buffer {
  let size = 0;
  for (let i = 0; i < present.length; i++) {
    const c = code(i);
    if (c === NONE) continue;
    present[i] = 1;
    size += 4 + table.offsets[c + 1]! - table.offsets[c]!;
  }
  const out = Buffer.alloc(size);
  let p = 0;
  for (let i = 0; i < present.length; i++) {
    if (!present[i]) continue;
    const c = code(i);
    out.writeUInt32LE(table.offsets[c + 1]! - table.offsets[c]!, p);
    p += 4 + RowText.entry(table, out, p + 4, c);
  }
  return out;
}

/**
 * Definition levels (0 or 1) in the RLE/bit-packed hybrid with bit width 1:
 * runs of 8 or more equal levels as RLE runs, the rest bit-packed in groups
 * of 8 (only the last group may be padded).
 */
export function rleBits(levels: Uint8Array): Buffer {
  const n = levels.length;
  const out: number[] = [];
  const runAt = (i: number, max: number) => {
    let r = 1;
    while (i + r < n && r < max && levels[i + r] === levels[i]) r++;
    return r;
  };
  let i = 0;
  while (i < n) {
    const r = runAt(i, n);
    if (r >= 8) {
      varint(out, r << 1);
      out.push(levels[i]!);
      i += r;
      continue;
    }
    const start = i;
    let groups = 0;
    do {
      groups++;
      i += 8;
    } while (i < n && runAt(i, 8) < 8);
    varint(out, (groups << 1) | 1);
    for (let g = 0; g < groups; g++) {
      let byte = 0;
      for (let k = 0; k < 8; k++) if (start + g * 8 + k < n && levels[start + g * 8 + k]) byte |= 1 << k;
      out.push(byte);
    }
  }
  return Buffer.from(out);
}

function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function lengthPrefixed(buf: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(buf.length, 0);
  return Buffer.concat([len, buf]);
}
