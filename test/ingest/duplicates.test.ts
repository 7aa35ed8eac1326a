/**
 * Issue #14: fully duplicated event rows (equal in every stored column to an
 * earlier row of the delivery) were accepted without a word. Planted here in
 * one file and across files of every reader (CSV on one thread and cut across
 * two, Arrow, Parquet), each counted by hand: counted per file with the line
 * each repeats, kept by default as FlowKit keeps them, dropped on request with
 * every count of the store agreeing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { describe, expect, it, vi } from 'vitest';
import { printIngestSummary } from '../../server/cli/ingest.js';
import { ingest, type IngestOptions } from '../../server/ingest/ingest.js';
import { readManifest } from '../../server/store/manifest.js';
import { Store } from '../../server/store/reader.js';
import { findDuplicates } from '../../server/store/duplicates.js';
import { folderPerTest, REGIONS } from './two-regions.js';

const require = createRequire(import.meta.url);
const KEY_HEX = 'cd'.repeat(32);
const tmp = folderPerTest('opalite-duplicates-', KEY_HEX);
const HEADER = ['msisdn', 'datetime', 'cell_id', 'event_type', 'outgoing', 'duration'];
type Row = [string, string, string, string, string, string];

/**
 * a.csv, line by line (the header is line 1):
 *  2  X: 2250001 08:00 A calls out 60
 *  3  Y: 2250002 09:00 B calls out 30
 *  4  X again                                  duplicate of a.csv line 2
 *  5  X but incoming                           not a duplicate (direction)
 *  6  X but cell B                             not a duplicate (cell)
 *  7  X but 61 s                               not a duplicate (duration)
 *  8  a row without an event type              rejected, not a duplicate
 *  9  X again                                  duplicate of a.csv line 2
 * 10  Z: 2250003 2 January 10:00 A sms out     (another day)
 * 11  X, one second later                      not a duplicate (time)
 */
const A: Row[] = [
  ['2250001', '2016-01-01 08:00:00', 'A', 'calls', 'true', '60'],
  ['2250002', '2016-01-01 09:00:00', 'B', 'calls', 'true', '30'],
  ['2250001', '2016-01-01 08:00:00', 'A', 'calls', 'true', '60'],
  ['2250001', '2016-01-01 08:00:00', 'A', 'calls', 'false', '60'],
  ['2250001', '2016-01-01 08:00:00', 'B', 'calls', 'true', '60'],
  ['2250001', '2016-01-01 08:00:00', 'A', 'calls', 'true', '61'],
  ['2250001', '2016-01-01 08:00:00', 'A', '', 'true', '60'],
  ['2250001', '2016-01-01 08:00:00', 'A', 'calls', 'true', '60'],
  ['2250003', '2016-01-02 10:00:00', 'A', 'sms', 'true', ''],
  ['2250001', '2016-01-01 08:00:01', 'A', 'calls', 'true', '60'],
];
/**
 * b.arrow, row by row:
 *  1  Z                                         duplicate of a.csv line 10
 *  2  Y                                         duplicate of a.csv line 3
 *  3  W: 2250004 11:00 B mds (no direction)
 */
const B: Row[] = [
  ['2250003', '2016-01-02 10:00:00', 'A', 'sms', 'true', ''],
  ['2250002', '2016-01-01 09:00:00', 'B', 'calls', 'true', '30'],
  ['2250004', '2016-01-01 11:00:00', 'B', 'mds', '', ''],
];
/**
 * c.parquet, row by row:
 *  1  W                                         duplicate of b.arrow row 3
 *  2  2250005 12:00 A sms in
 *  3  Y                                         duplicate of a.csv line 3 (its third copy)
 *  4  2250005 12:00 A sms in                    duplicate of c.parquet row 2
 */
const C: Row[] = [
  ['2250004', '2016-01-01 11:00:00', 'B', 'mds', '', ''],
  ['2250005', '2016-01-01 12:00:00', 'A', 'sms', 'false', ''],
  ['2250002', '2016-01-01 09:00:00', 'B', 'calls', 'true', '30'],
  ['2250005', '2016-01-01 12:00:00', 'A', 'sms', 'false', ''],
];

async function plant(): Promise<{ dir: string; a: string; b: string; c: string }> {
  const dir = path.join(tmp.root(), 'ds');
  fs.mkdirSync(path.join(dir, 'events'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'regions'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'regions', 'admin1.geojson'), JSON.stringify(REGIONS));
  fs.writeFileSync(path.join(dir, 'cells.csv'), 'cell_id,lon,lat\nA,0.5,0.5\nB,1.5,0.5\n');
  const a = path.join(dir, 'events', 'a.csv');
  fs.writeFileSync(a, [HEADER, ...A].map((r) => r.join(',')).join('\n') + '\n');
  const b = path.join(dir, 'events', 'b.arrow');
  const cols = Object.fromEntries(HEADER.map((h, i) => [h, B.map((r) => (r[i] === '' ? null : r[i]))]));
  fs.writeFileSync(b, tableToIPC(tableFromArrays(cols as never), 'file'));
  const c = path.join(dir, 'events', 'c.parquet');
  const parquet = require('parquetjs-lite');
  const schema = new parquet.ParquetSchema(Object.fromEntries(HEADER.map((h) => [h, { type: 'UTF8', optional: true }])));
  const writer = await parquet.ParquetWriter.openFile(schema, c);
  for (const r of C) await writer.appendRow(Object.fromEntries(HEADER.flatMap((h, i) => (r[i] === '' ? [] : [[h, r[i]]]))));
  await writer.close();
  return { dir, a, b, c };
}

const run = (dataset: string, store: string, more: Partial<IngestOptions> = {}) => ingest({ dataset, store, keyFile: tmp.keyFile(), ...more });

function printed(summary: Parameters<typeof printIngestSummary>[0]): string {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    printIngestSummary(summary);
  } finally {
    vi.restoreAllMocks();
  }
  return out;
}

/** The store's rows of `date` as text, one per row in stored order. */
function storedRows(store: string, date: string): string[] {
  const s = Store.open(store);
  const cols = ['sub', 't', 'cell', 'kind', 'duration'] as const;
  const data = cols.map((c) => s.readColumn(date, c, { verify: true }));
  return Array.from({ length: data[0]!.length }, (_, i) => data.map((d) => d[i]).join(' '));
}

describe('fully duplicated rows (issue #14)', () => {
  for (const threads of [0, 2]) {
    it(`are counted per file with the line each repeats, and kept by default (CSV threads ${threads}, Arrow, Parquet)`, async () => {
      const { dir, a, b, c } = await plant();
      const store = path.join(tmp.root(), 'store');
      const summary = await run(dir, store, { csv: { threads, chunkBytes: 64 } });
      // Read 10 + 3 + 4 = 17, one rejected (a.csv line 8): 16 kept, duplicates among them too.
      expect(summary.rows).toBe(17);
      expect(summary.rejected).toBe(1);
      expect(summary.kept).toBe(16);
      // a.csv: lines 4 and 9 repeat line 2; b.arrow: rows 1 and 2; c.parquet: rows 1, 3, 4.
      expect(summary.duplicates).toEqual({
        count: 7,
        dropped: false,
        files: [
          { file: a, count: 2, examples: [{ line: 4, of: { file: a, line: 2 } }, { line: 9, of: { file: a, line: 2 } }] },
          { file: b, count: 2, examples: [{ line: 1, of: { file: a, line: 10 } }, { line: 2, of: { file: a, line: 3 } }] },
          {
            file: c,
            count: 3,
            examples: [{ line: 1, of: { file: b, line: 3 } }, { line: 3, of: { file: a, line: 3 } }, { line: 4, of: { file: c, line: 2 } }],
          },
        ],
      });
      // Kept: the store holds every kept row. 1 January: 16 kept - 2 on 2 January.
      const m = readManifest(store);
      expect(m.days['2016-01-01']!.rows).toBe(14);
      expect(m.days['2016-01-02']!.rows).toBe(2);
      const report = fs.readFileSync(summary.report!, 'utf8').trim().split('\n');
      expect(report).toEqual([
        'file,line,field,reason',
        `${a},8,event_type,missing`,
        `${a},4,duplicate,repeats line 2 in every column (kept)`,
        `${a},9,duplicate,repeats line 2 in every column (kept)`,
        `${b},1,duplicate,repeats line 10 of ${a} in every column (kept)`,
        `${b},2,duplicate,repeats line 3 of ${a} in every column (kept)`,
        `${c},1,duplicate,repeats line 3 of ${b} in every column (kept)`,
        `${c},3,duplicate,repeats line 3 of ${a} in every column (kept)`,
        `${c},4,duplicate,repeats line 2 in every column (kept)`,
      ]);
      const text = printed(summary);
      expect(text).toContain(`accepted, but check:\n           7  fully duplicated event rows, each equal in every column to an earlier row, kept (--drop-duplicates drops them; report: ${summary.report}):\n`);
      // Each file under the count, indented past the count's column (2 + 10 + 2).
      const pad = (n: number) => `${' '.repeat(14)}${String(n).padStart(10)}`;
      expect(text).toContain(`${pad(2)} in ${a} (lines 4, 9)\n${pad(2)} in ${b} (lines 1, 2)\n${pad(3)} in ${c} (lines 1, 3, 4)\n`);
    });
  }

  it('are dropped on request (the later copy), and the store, the day counts and the summary agree', async () => {
    const { dir, a, b, c } = await plant();
    const kept = path.join(tmp.root(), 'kept');
    const dropped = path.join(tmp.root(), 'dropped');
    await run(dir, kept);
    const summary = await run(dir, dropped, { dropDuplicates: true });
    expect(summary.kept).toBe(16 - 7);
    expect(summary.files.filter((f) => f.file !== path.join(dir, 'cells.csv')).map((f) => [f.file, f.kept])).toEqual([[a, 9 - 2], [b, 3 - 2], [c, 4 - 3]]);
    expect(summary.duplicates.dropped).toBe(true);
    const m = readManifest(dropped);
    expect(m.days['2016-01-01']!.rows).toBe(14 - 6);
    expect(m.days['2016-01-02']!.rows).toBe(1);
    // Event types on 1 January (calls, sms, mds, topups): kept a.csv 8 calls; b.arrow 1 call, 1 mds; c.parquet 1 call, 2 sms, 1 mds.
    // Dropped: a.csv lines 4, 9 (calls), b.arrow row 2 (call), c.parquet rows 1 (mds), 3 (call), 4 (sms).
    expect(readManifest(kept).days['2016-01-01']!.types).toEqual([10, 2, 2, 0]);
    expect(m.days['2016-01-01']!.types).toEqual([10 - 4, 2 - 1, 2 - 1, 0]);
    // The kept store's 1 January in ingest order: a.csv lines 2, 3, 4, 5, 6, 7, 9, 11; b.arrow rows 2, 3; c.parquet rows 1-4.
    // The dropped store is it without the later copies (positions 2, 6, 8, 10, 12, 13), order kept; the reads verify checksums.
    const all = storedRows(kept, '2016-01-01');
    expect(all).toHaveLength(14);
    expect(storedRows(dropped, '2016-01-01')).toEqual(all.filter((_, i) => ![2, 6, 8, 10, 12, 13].includes(i)));
    expect(new Set(storedRows(dropped, '2016-01-01')).size).toBe(8);
    expect(storedRows(dropped, '2016-01-02')).toEqual(storedRows(kept, '2016-01-02').slice(0, 1));
    expect(fs.readFileSync(summary.report!, 'utf8')).toContain(`${c},4,duplicate,repeats line 2 in every column (dropped)\n`);
    expect(printed(summary)).toContain(`dropped 7 fully duplicated event row(s), each equal in every column to an earlier row (report: ${summary.report}):\n`);
  });

  it('names the right lines when rows are not one line each (a blank line, a quoted line break): the file is read again', async () => {
    const { dir } = await plant();
    for (const f of ['b.arrow', 'c.parquet']) fs.rmSync(path.join(dir, 'events', f));
    const a = path.join(dir, 'events', 'a.csv');
    // Line 1 header; 2 X; 3 blank; 4-5 Y with a quoted line break in an ignored column; 6 a bad row; 7 X again; 8 Y again.
    const header = [...HEADER, 'note'].join(',');
    const x = [...A[0]!, 'n'].join(',');
    const y = [...A[1]!, '"two\nlines"'].join(',');
    const yAgain = [...A[1]!, 'other note'].join(',');
    fs.writeFileSync(a, [header, x, '', y, '2250009,not a time,A,calls,true,1,n', x, yAgain].join('\n') + '\n');
    for (const threads of [0, 2]) {
      const summary = await run(dir, path.join(tmp.root(), `store-${threads}`), { csv: { threads, chunkBytes: 64 } });
      expect(summary.kept).toBe(4);
      expect(summary.duplicates.files).toEqual([
        { file: a, count: 2, examples: [{ line: 7, of: { file: a, line: 2 } }, { line: 8, of: { file: a, line: 4 } }] },
      ]);
    }
  });

  it('a kept row is found past the rejected lines (lineOfKept)', async () => {
    const { lineOfKept } = await import('../../server/ingest/duplicate-lines.js');
    // Rows on lines 2..10, lines 3, 4 and 7 rejected: the kept rows are lines 2, 5, 6, 8, 9, 10.
    const rejected = Uint32Array.from([3, 4, 7]);
    expect([0, 1, 2, 3, 4, 5].map((k) => lineOfKept(k, 2, rejected))).toEqual([2, 5, 6, 8, 9, 10]);
    expect(lineOfKept(0, 1, new Uint32Array(0))).toBe(1);
  });

  it('a delivery without duplicates says nothing of them', async () => {
    const { dir } = await plant();
    for (const f of ['b.arrow', 'c.parquet']) fs.rmSync(path.join(dir, 'events', f));
    fs.writeFileSync(path.join(dir, 'events', 'a.csv'), [HEADER, ...A.slice(0, 2)].map((r) => r.join(',')).join('\n') + '\n');
    const summary = await run(dir, path.join(tmp.root(), 'store'));
    expect(summary.duplicates).toEqual({ count: 0, dropped: false, files: [] });
    expect(summary.report).toBeNull();
    expect(printed(summary)).not.toContain('duplicated');
  });
});

describe('findDuplicates', () => {
  it('compares every column, NaN equal to NaN and +0 unequal to -0 as stored bytes', () => {
    const n = 6;
    const sub = Uint32Array.from([1, 1, 1, 1, 2, 1]);
    const t = Uint32Array.from([5, 5, 5, 5, 5, 5]);
    const rest = {
      cell: Uint32Array.from([7, 7, 7, 7, 7, 7]),
      kind: Uint8Array.from([0, 0, 0, 0, 0, 0]),
      duration: Uint32Array.from([1, 1, 1, 1, 1, 1]),
      peer: Uint32Array.from([9, 9, 9, 9, 9, 9]),
      recharge: Float64Array.from([NaN, NaN, 0, -0, NaN, 0]),
    };
    expect(rest.cell.length).toBe(n);
    const d = findDuplicates(sub, t, () => rest);
    // Row 1 repeats row 0 (NaN, NaN); row 3 (-0) is not row 2 (+0); row 4 has another subscriber; row 5 repeats row 2.
    expect([...d.rows]).toEqual([1, 5]);
    expect([...d.of]).toEqual([0, 2]);
  });
});
