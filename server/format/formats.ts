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

// parquetjs-lite is CommonJS and ships no types.
const require = createRequire(import.meta.url);

export const FORMATS = ['json', 'csv', 'arrow', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];

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
  const lines = [r.columns.map(csvField).join(',')];
  for (const row of r.rows) lines.push(r.columns.map((c) => csvField(row[c] ?? null)).join(','));
  return lines.join('\n') + '\n';
}

/** Numbers stay numbers (float64), everything else is a string column. */
function columnsOf(r: Deliverable): Record<string, (string | null)[] | Float64Array> {
  const out: Record<string, (string | null)[] | Float64Array> = {};
  for (const c of r.columns) {
    const numeric = r.rows.length > 0 && r.rows.every((row) => typeof row[c] === 'number');
    out[c] = numeric ? Float64Array.from(r.rows, (row) => row[c] as number) : r.rows.map((row) => (row[c] == null ? null : String(row[c])));
  }
  return out;
}

export function toArrow(r: Deliverable): Uint8Array {
  const cols = columnsOf(r);
  const table = tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]);
  return tableToIPC(table, 'file');
}

export async function toParquet(r: Deliverable): Promise<Buffer> {
  // parquetjs-lite writes to a path; a private temp file keeps the API in memory.
  const parquet = require('parquetjs-lite') as {
    ParquetSchema: new (s: object) => unknown;
    ParquetWriter: { openFile(schema: unknown, file: string): Promise<{ appendRow(row: object): Promise<void>; close(): Promise<void> }> };
  };
  const cols = columnsOf(r);
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
