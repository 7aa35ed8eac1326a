/** Shared helpers for the reader tests: temp dirs and batch flattening. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import type { CsvBatch, BadRow } from '../../../server/ingest/readers/csv.js';

/** A fresh temp dir, removed after the suite that asked for it. */
export function tempDir(prefix = 'opalite-readers-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Yields `bytes` in chunks of `size` bytes, to put chunk boundaries everywhere. */
export async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

export interface Flat {
  header: string[] | null;
  rows: string[][];
  lines: number[];
  badRows: BadRow[];
  batches: number;
}

/** Concatenates CSV batches into rows, to compare results independently of batching. */
export async function flatten(batches: AsyncIterable<CsvBatch>): Promise<Flat> {
  const out: Flat = { header: null, rows: [], lines: [], badRows: [], batches: 0 };
  for await (const b of batches) {
    out.batches++;
    out.header = b.header;
    expect(b.columns.length).toBe(b.header.length);
    for (const c of b.columns) expect(c.length).toBe(b.length);
    expect(b.lines.length).toBe(b.length);
    for (let i = 0; i < b.length; i++) {
      out.rows.push(b.columns.map((c) => c[i]!));
      out.lines.push(b.lines[i]!);
    }
    out.badRows.push(...b.badRows);
  }
  return out;
}
