/**
 * openEventSource: one small table written as CSV, CSV.gz, Parquet
 * (parquetjs-lite) and Arrow (IPC file and stream, apache-arrow) reads back to
 * the same values, with aliases mapped; broken files give clean IngestErrors.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  Bool,
  Dictionary,
  Float32,
  Float64,
  Int32,
  Int64,
  Table,
  TimestampMillisecond,
  Utf8,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { IngestError } from '../../../server/errors.js';
import { openEventSource } from '../../../server/ingest/readers/events.js';
import type { RawValue } from '../../../server/ingest/source.js';
import type { EventColumn } from '../../../server/store/schema.js';
import { tempDir } from './helpers.js';

const require = createRequire(import.meta.url);
const parquet = require('parquetjs-lite');

const dir = tempDir();

/** The table, by file column name (aliases on purpose), with null for a missing value. */
const T = {
  MSISDN: ['a1', 'b2', 'c,3', 'd"4', 'e5', 'f6', 'g7'],
  Timestamp: [0, 1, 2, 3, 4, 5, 6].map((i) => Date.UTC(2016, 0, 1, 8, 15, i * 7)),
  location_id: ['C1', null, 'C3', 'C1', 'C2', 'C\n9', 'C3'],
  Event_Type: ['calls', 'calls', 'sms', 'mds', 'topups', 'calls', 'sms'],
  outgoing: [true, false, true, null, null, true, false],
  duration: [120, 0, null, 3600, null, 5, null],
  counterpart: ['b2', 'a1', 'x', null, null, 'zz', 'a1'],
  recharge_amount: [null, null, null, null, 12.5, null, null],
  unrelated: ['u', 'u', 'u', 'u', 'u', 'u', 'u'],
};
const N = T.MSISDN.length;
const CANONICAL: Record<keyof typeof T, EventColumn | null> = {
  MSISDN: 'msisdn',
  Timestamp: 'datetime',
  location_id: 'cell_id',
  Event_Type: 'event_type',
  outgoing: 'outgoing',
  duration: 'duration',
  counterpart: 'msisdn_counterpart',
  recharge_amount: 'recharge_amount',
  unrelated: null,
};

const csvTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

function csvField(v: unknown): string {
  if (v === null) return '';
  const s = typeof v === 'number' && v > 1e12 ? csvTime(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvText(eol = '\n'): string {
  const names = Object.keys(T) as (keyof typeof T)[];
  const rows = [names.join(',')];
  for (let i = 0; i < N; i++) rows.push(names.map((n) => csvField(T[n][i])).join(','));
  return rows.join(eol) + eol;
}

async function writeParquet(file: string, compression: string): Promise<void> {
  const opt = { optional: true, compression };
  const schema = new parquet.ParquetSchema({
    MSISDN: { type: 'UTF8', compression },
    Timestamp: { type: 'TIMESTAMP_MILLIS', compression },
    location_id: { type: 'UTF8', ...opt },
    Event_Type: { type: 'UTF8', compression },
    outgoing: { type: 'BOOLEAN', ...opt },
    duration: { type: 'INT64', ...opt },
    counterpart: { type: 'UTF8', ...opt },
    recharge_amount: { type: 'DOUBLE', ...opt },
    unrelated: { type: 'UTF8', compression },
  });
  const w = await parquet.ParquetWriter.openFile(schema, file, { rowGroupSize: 3 });
  for (let i = 0; i < N; i++) {
    const row: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(T)) if (v[i] !== null) row[k] = k === 'Timestamp' ? new Date(v[i] as number) : v[i];
    await w.appendRow(row);
  }
  await w.close();
}

function arrowTable(): Table {
  return new Table({
    MSISDN: vectorFromArray(T.MSISDN, new Utf8()),
    Timestamp: vectorFromArray(T.Timestamp.map((ms) => new Date(ms)), new TimestampMillisecond()),
    location_id: vectorFromArray(T.location_id, new Dictionary(new Utf8(), new Int32())),
    Event_Type: vectorFromArray(T.Event_Type, new Utf8()),
    outgoing: vectorFromArray(T.outgoing, new Bool()),
    duration: vectorFromArray(T.duration.map((v) => (v === null ? null : BigInt(v))), new Int64()),
    counterpart: vectorFromArray(T.counterpart, new Utf8()),
    recharge_amount: vectorFromArray(T.recharge_amount, new Float64()),
    unrelated: vectorFromArray(T.unrelated, new Utf8()),
  });
}

/** The obvious normalisation: everything as the text a CSV would hold. */
function norm(v: RawValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return csvTime(v.getTime());
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(v)) return csvTime(Date.parse(v)); // an instant, in UTC
  return String(v);
}

interface Read {
  columns: Partial<Record<EventColumn, RawValue[]>>;
  lines: number[];
  batches: number;
  badRows: { line: number; reason: string }[];
}

async function read(file: string, batchRows?: number): Promise<Read> {
  const out: Read = { columns: {}, lines: [], batches: 0, badRows: [] };
  const source = openEventSource(file, { batchRows });
  for await (const b of source) {
    out.batches++;
    for (const [k, v] of Object.entries(b.columns) as [EventColumn, RawValue[]][]) {
      expect(v.length).toBe(b.length);
      (out.columns[k] ??= []).push(...v);
    }
    out.lines.push(...b.lines);
    out.badRows.push(...(b.badRows ?? []));
  }
  expect(source.bytesTotal).toBe(fs.statSync(file).size);
  expect(source.bytesRead).toBe(source.bytesTotal);
  return out;
}

const expected: Record<string, string[]> = {};
for (const [name, canonical] of Object.entries(CANONICAL)) {
  if (canonical) expected[canonical] = T[name as keyof typeof T].map((v) => csvField(v).replace(/^"|"$/g, '').replaceAll('""', '"'));
}

function normalised(r: Read): Record<string, string[]> {
  return Object.fromEntries(Object.entries(r.columns).map(([k, v]) => [k, v!.map(norm)]));
}

describe('openEventSource', () => {
  const files: Record<string, string> = {};

  beforeAll(async () => {
    files.csv = path.join(dir, 'events.csv');
    fs.writeFileSync(files.csv, csvText());
    files.crlf = path.join(dir, 'events-crlf.CSV');
    fs.writeFileSync(files.crlf, '\uFEFF' + csvText('\r\n'));
    files.gz = path.join(dir, 'events.csv.gz');
    fs.writeFileSync(files.gz, zlib.gzipSync(csvText()));
    for (const c of ['UNCOMPRESSED', 'SNAPPY', 'GZIP']) {
      files[`parquet-${c}`] = path.join(dir, `events-${c}.parquet`);
      await writeParquet(files[`parquet-${c}`]!, c);
    }
    files.arrow = path.join(dir, 'events.arrow');
    fs.writeFileSync(files.arrow, tableToIPC(arrowTable(), 'file'));
    files.arrows = path.join(dir, 'events.arrows');
    fs.writeFileSync(files.arrows, tableToIPC(arrowTable(), 'stream'));
    files.feather = path.join(dir, 'events.feather');
    fs.writeFileSync(files.feather, tableToIPC(arrowTable(), 'file'));
  });

  it('maps aliases case-insensitively and ignores unknown columns (CSV)', async () => {
    const r = await read(files.csv!);
    expect(Object.keys(r.columns).sort()).toEqual(Object.keys(expected).sort());
    expect(r.columns).toEqual(expected);
    // physical lines: the quoted newline in row 6 shifts row 7
    expect(r.lines).toEqual([2, 3, 4, 5, 6, 7, 9]);
    expect(r.badRows).toEqual([]);
  });

  it('gives the same values for every format, whatever the batch size', async () => {
    for (const [name, file] of Object.entries(files)) {
      for (const batchRows of [undefined, 1, 2, 5]) {
        const r = await read(file, batchRows);
        expect(normalised(r), `${name} batchRows=${batchRows}`).toEqual(expected);
        const textual = name === 'csv' || name === 'crlf' || name === 'gz';
        expect(r.lines, name).toEqual(textual ? [2, 3, 4, 5, 6, 7, 9] : [1, 2, 3, 4, 5, 6, 7]);
        if (batchRows) expect(r.batches, `${name} batchRows=${batchRows}`).toBeGreaterThanOrEqual(Math.ceil(N / batchRows));
      }
    }
  });

  it('gives typed values for typed formats', async () => {
    const arrow = await read(files.arrow!);
    expect(arrow.columns.datetime![0]).toBeInstanceOf(Date); // no zone: wall-clock time
    expect(arrow.columns.duration).toEqual([120, 0, null, 3600, null, 5, null]); // int64 -> number
    expect(arrow.columns.outgoing).toEqual(T.outgoing);
    expect(arrow.columns.cell_id).toEqual(T.location_id); // dictionary -> strings
    const pq = await read(files['parquet-SNAPPY']!);
    // parquetjs-lite writes TIMESTAMP_MILLIS, which Parquet defines as a UTC instant
    expect(pq.columns.datetime![0]).toBe('2016-01-01T08:15:00.000Z');
    expect(pq.columns.duration).toEqual([120, 0, null, 3600, null, 5, null]);
    expect(pq.columns.recharge_amount).toEqual(T.recharge_amount);
  });

  it('reads narrow Arrow ints and floats with nulls, across batch slices', async () => {
    const file = path.join(dir, 'narrow.arrows');
    const duration = [1, null, 3, 4, null, 6, 7, 8, null, 10];
    const amount = [0.5, null, 1.5, null, 2.5, null, 3.5, null, 4.5, null];
    const table = new Table({
      msisdn: vectorFromArray(duration.map((_, i) => `s${i}`), new Utf8()),
      duration: vectorFromArray(duration, new Int32()),
      recharge_amount: vectorFromArray(amount, new Float32()),
    });
    fs.writeFileSync(file, tableToIPC(table, 'stream'));
    for (const batchRows of [undefined, 3]) {
      const r = await read(file, batchRows);
      expect(r.columns.duration).toEqual(duration);
      expect(r.columns.recharge_amount).toEqual(amount);
    }
  });

  it('reports CSV rows with the wrong field count through RawBatch.badRows', async () => {
    const file = path.join(dir, 'bad-rows.csv');
    fs.writeFileSync(file, 'msisdn,datetime,event_type\na,2016-01-01 00:00:00,sms\nb,2016-01-01\nc,2016-01-01 00:00:00,sms\n');
    const r = await read(file, 1);
    expect(r.columns.msisdn).toEqual(['a', 'c']);
    expect(r.lines).toEqual([2, 4]);
    expect(r.badRows).toEqual([{ line: 3, reason: 'expected 3 fields, found 2' }]);
  });

  it('rejects an unsupported extension with Errors.unsupportedFormat', () => {
    expect(() => openEventSource('events/x.json')).toThrow(IngestError);
    expect(() => openEventSource('events/x.json')).toThrow(/x\.json: expected an events file ending in/);
  });

  it('turns a missing file into an IngestError for every format', async () => {
    for (const ext of ['.csv', '.csv.gz', '.parquet', '.arrow']) {
      const err = await read(path.join(dir, `missing${ext}`)).catch((e: unknown) => e);
      expect(err, ext).toBeInstanceOf(IngestError);
      expect((err as IngestError).code).toBe('MISSING_FILE');
    }
  });

  it('turns corrupt Parquet into an IngestError naming the file', async () => {
    const good = fs.readFileSync(files['parquet-SNAPPY']!);
    const cases: Record<string, Buffer> = {
      'empty.parquet': Buffer.alloc(0),
      'garbage.parquet': Buffer.from('PAR1 this is not really parquet PAR1'),
      'truncated.parquet': good.subarray(0, Math.floor(good.length / 2)),
      'no-magic.parquet': Buffer.concat([Buffer.from('XXXX'), good.subarray(4)]),
      'bad-footer.parquet': Buffer.concat([good.subarray(0, good.length - 40), Buffer.alloc(32, 0xff), good.subarray(good.length - 8)]),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      const err = await read(file).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(IngestError);
      expect((err as IngestError).code, name).toBe('FILE_UNREADABLE');
      expect((err as Error).message, name).toContain(`${file}: cannot read: parquet: `);
    }
  });

  it('turns corrupt Arrow (file and stream) into an IngestError naming the file', async () => {
    const fileBytes = fs.readFileSync(files.arrow!);
    const streamBytes = fs.readFileSync(files.arrows!);
    const cases: Record<string, Buffer> = {
      'garbage.arrow': Buffer.from('garbage garbage garbage garbage garbage'),
      'truncated.arrow': fileBytes.subarray(0, Math.floor(fileBytes.length * 0.6)),
      'truncated.arrows': streamBytes.subarray(0, Math.floor(streamBytes.length * 0.6)),
      'bad-body.arrows': Buffer.concat([streamBytes.subarray(0, 200), Buffer.alloc(64, 0xff), streamBytes.subarray(264)]),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      const err = await read(file).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(IngestError);
      expect((err as Error).message, name).toContain(`${file}: cannot read: arrow: `);
    }
  });

  it('names an unsupported Arrow column type instead of passing objects on', async () => {
    const file = path.join(dir, 'nested.arrow');
    const table = new Table({ msisdn: vectorFromArray([[1, 2], [3]]) });
    fs.writeFileSync(file, tableToIPC(table, 'file'));
    await expect(read(file)).rejects.toThrow(/nested\.arrow: column 'msisdn': expected strings, numbers, booleans or timestamps, found Arrow List/);
  });
});
