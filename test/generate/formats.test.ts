import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, COLUMNS, generateTmp, readDatasetEvents, readEventsCsv } from './helpers.js';

interface ParquetReaderLike {
  getCursor(): { next(): Promise<Record<string, unknown> | null> };
  getRowCount(): number | { toNumber(): number };
  close(): Promise<void>;
}
const require = createRequire(import.meta.url);
const parquet = require('parquetjs-lite') as { ParquetReader: { openFile(file: string): Promise<ParquetReaderLike> } };

afterAll(cleanup);

const OPTIONS = { subscribers: 400, days: 3, seed: 21 };
/** A row as text, absent values as '', whatever the format. */
type Row = string[];
let csvRows: Row[] = [];

const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

beforeAll(async () => {
  const { dir } = await generateTmp({ ...OPTIONS, format: 'csv' });
  csvRows = readDatasetEvents(dir).map((e) => COLUMNS.map((c) => e[c]));
});

describe('generate: every format writes the same rows', () => {
  it('csv.gz', async () => {
    const { dir } = await generateTmp({ ...OPTIONS, format: 'csv.gz' });
    const rows = readEventsCsv(path.join(dir, 'events', 'events.csv.gz')).map((e) => COLUMNS.map((c) => e[c]));
    expect(rows).toEqual(csvRows);
  });

  it('parquet (read back with parquetjs-lite)', async () => {
    const { dir } = await generateTmp({ ...OPTIONS, format: 'parquet' });
    const reader = await parquet.ParquetReader.openFile(path.join(dir, 'events', 'events.parquet'));
    const cursor = reader.getCursor();
    const rows: Row[] = [];
    for (let r = await cursor.next(); r; r = await cursor.next()) rows.push(COLUMNS.map((c) => text(r![c])));
    await reader.close();
    expect(rows.length).toBe(csvRows.length);
    expect(rows).toEqual(csvRows);
  });

  it('arrow (IPC file, read back with apache-arrow), with typed columns', async () => {
    const { dir } = await generateTmp({ ...OPTIONS, format: 'arrow' });
    const bytes = fs.readFileSync(path.join(dir, 'events', 'events.arrow'));
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('ARROW1');
    const table = tableFromIPC(bytes);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'msisdn:Utf8',
      'datetime:Utf8',
      'cell_id:Utf8',
      'event_type:Utf8',
      'outgoing:Bool',
      'duration:Int32',
      'msisdn_counterpart:Utf8',
      'recharge_amount:Float64',
    ]);
    const columns = COLUMNS.map((c) => table.getChild(c)!.toArray() as unknown[]);
    const rows: Row[] = [];
    for (let i = 0; i < table.numRows; i++) rows.push(columns.map((col) => text(col[i])));
    // toArray() of a nullable Int32/Float64 column yields 0 for nulls: read those through get().
    for (const [k, c] of COLUMNS.entries()) {
      if (c !== 'duration' && c !== 'recharge_amount') continue;
      const v = table.getChild(c)!;
      for (let i = 0; i < table.numRows; i++) rows[i]![k] = text(v.get(i));
    }
    expect(rows).toEqual(csvRows);
  });

  it('splits events over several files, contiguous in time, same rows in all', async () => {
    const { dir, summary } = await generateTmp({ ...OPTIONS, format: 'csv', files: 3 });
    expect(summary.files).toEqual(['events-000.csv', 'events-001.csv', 'events-002.csv'].map((f) => path.join('events', f)));
    const parts = summary.files.map((f) => readEventsCsv(path.join(dir, f)));
    for (const p of parts) expect(p.length).toBeGreaterThan(csvRows.length / 6);
    expect(parts.flat().map((e) => COLUMNS.map((c) => e[c]))).toEqual(csvRows);
  });

  it('replaces the event files of an earlier run in the same folder', async () => {
    const { dir } = await generateTmp({ ...OPTIONS, format: 'csv', files: 3 });
    fs.writeFileSync(path.join(dir, 'events', 'notes.txt'), 'kept');
    const { generate } = await import('../../server/generate/index.js');
    await generate({ ...OPTIONS, out: dir, format: 'parquet' });
    expect(fs.readdirSync(path.join(dir, 'events')).sort()).toEqual(['events.parquet', 'notes.txt']);
  });
});
