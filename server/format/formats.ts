/**
 * Serialising an aggregate for delivery: JSON (FlowKit's `{query_id,
 * query_result}`), CSV, Arrow IPC and Parquet. One function per format, all
 * over the same rows and columns, so the CLI and the service agree byte for byte.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import type { Row } from '../privacy/redact.js';
import { drain, drainSliced, jsonArrayChunks, ROWS_PER_CHECK, Slicer, type Sliced } from '../util/slices.js';

// parquetjs-lite is CommonJS and ships no types.
const require = createRequire(import.meta.url);

import type { Format } from './names.js';

export { FORMATS, type Format } from './names.js';

export interface Deliverable {
  query_id: string;
  columns: string[];
  rows: Row[];
}

export function toJson(r: Deliverable): string {
  return JSON.stringify({ query_id: r.query_id, query_result: r.rows });
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(r: Deliverable): string {
  return Buffer.concat(drain(csvChunks(r))).toString('utf8');
}

/** CSV as UTF-8 chunks of ROWS_PER_CHECK lines (the header line first). */
function* csvChunks(r: Deliverable): Sliced<Buffer[]> {
  const parts = [Buffer.from(r.columns.map(csvField).join(',') + '\n')];
  for (let i = 0; i < r.rows.length; i += ROWS_PER_CHECK) {
    let text = '';
    for (const row of r.rows.slice(i, i + ROWS_PER_CHECK)) text += r.columns.map((c) => csvField(row[c] ?? null)).join(',') + '\n';
    parts.push(Buffer.from(text));
    yield;
  }
  return parts;
}

/** Numbers stay numbers (float64), everything else is a string column. */
function* columnsOf(r: Deliverable): Sliced<Record<string, (string | null)[] | Float64Array>> {
  const out: Record<string, (string | null)[] | Float64Array> = {};
  for (const c of r.columns) {
    const numeric = r.rows.length > 0 && r.rows.every((row) => typeof row[c] === 'number');
    yield;
    if (numeric) {
      const col = new Float64Array(r.rows.length);
      for (let i = 0; i < r.rows.length; i++) {
        col[i] = r.rows[i]![c] as number;
        if (i % (8 * ROWS_PER_CHECK) === 0) yield;
      }
      out[c] = col;
    } else {
      const col = new Array<string | null>(r.rows.length);
      for (let i = 0; i < r.rows.length; i++) {
        const v = r.rows[i]![c];
        col[i] = v == null ? null : String(v);
        if (i % (8 * ROWS_PER_CHECK) === 0) yield;
      }
      out[c] = col;
    }
  }
  return out;
}

export function toArrow(r: Deliverable): Uint8Array {
  return arrowOf(drain(columnsOf(r)));
}

function arrowOf(cols: Record<string, (string | null)[] | Float64Array>): Uint8Array {
  const table = tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]);
  return tableToIPC(table, 'file');
}

export async function toParquet(r: Deliverable, slicer?: Slicer): Promise<Buffer> {
  // parquetjs-lite writes to a path; a private temp file keeps the API in memory.
  const parquet = require('parquetjs-lite') as {
    ParquetSchema: new (s: object) => unknown;
    ParquetWriter: { openFile(schema: unknown, file: string): Promise<{ appendRow(row: object): Promise<void>; close(): Promise<void> }> };
  };
  const cols = slicer ? await drainSliced(columnsOf(r), slicer) : drain(columnsOf(r));
  const schema = new parquet.ParquetSchema(
    Object.fromEntries(r.columns.map((c) => [c, { type: cols[c] instanceof Float64Array ? 'DOUBLE' : 'UTF8', optional: true }])),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-parquet-'));
  const file = path.join(dir, 'result.parquet');
  try {
    const writer = await parquet.ParquetWriter.openFile(schema, file);
    for (const row of r.rows) {
      const clean: Record<string, string | number> = {};
      for (const c of r.columns) if (row[c] !== null && row[c] !== undefined) clean[c] = cols[c] instanceof Float64Array ? (row[c] as number) : String(row[c]);
      await writer.appendRow(clean);
      await slicer?.tick();
    }
    await writer.close();
    return fs.readFileSync(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function serialise(r: Deliverable, format: Format): Promise<Uint8Array | string> {
  switch (format) {
    case 'json':
      return toJson(r);
    case 'csv':
      return toCsv(r);
    case 'arrow':
      return toArrow(r);
    case 'parquet':
      return toParquet(r);
  }
}

/**
 * As serialise, for the service: the work is cut into slices that return to the event
 * loop every few ms (util/slices.ts), so a million-row download never stalls the other
 * requests; the bytes are those serialise gives. Arrow's final encoding (tableToIPC, over
 * columns already built) is one step.
 */
export async function serialiseSliced(r: Deliverable, format: Format): Promise<Buffer> {
  const slicer = new Slicer();
  switch (format) {
    case 'json': {
      const rows = await drainSliced(jsonArrayChunks(r.rows), slicer);
      return Buffer.concat([Buffer.from(`{"query_id":${JSON.stringify(r.query_id)},"query_result":`), ...rows, Buffer.from('}')]);
    }
    case 'csv':
      return Buffer.concat(await drainSliced(csvChunks(r), slicer));
    case 'arrow': {
      const cols = await drainSliced(columnsOf(r), slicer);
      await slicer.tick();
      const bytes = arrowOf(cols);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    case 'parquet':
      return toParquet(r, slicer);
  }
}
