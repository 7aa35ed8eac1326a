import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../server/errors.js';
import { csvBatches, csvBatchesFromChunks } from '../../../server/ingest/readers/csv.js';
import { chunked, flatten, tempDir, type Flat } from './helpers.js';

const withoutCount = ({ batches: _, ...rest }: Flat) => rest;

/** Parses `text` with every chunk size in `sizes` and checks they all agree; returns the result. */
async function parse(text: string | Buffer, batchRows = 1000, sizes = [1, 2, 3, 5, 7, 64, 1 << 20]): Promise<Flat> {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let first: Flat | null = null;
  for (const size of sizes) {
    const got = await flatten(csvBatchesFromChunks(chunked(bytes, size), 'mem.csv', { batchRows }));
    if (first === null) first = got;
    else expect(withoutCount(got), `chunk size ${size}`).toEqual(withoutCount(first));
  }
  return first!;
}

describe('csv parser', () => {
  it('splits a plain file with LF and a trailing newline', async () => {
    const r = await parse('a,b,c\n1,2,3\n4,5,6\n');
    expect(r.header).toEqual(['a', 'b', 'c']);
    expect(r.rows).toEqual([
      ['1', '2', '3'],
      ['4', '5', '6'],
    ]);
    expect(r.lines).toEqual([2, 3]);
    expect(r.badRows).toEqual([]);
  });

  it('accepts CRLF and a last row without a line end', async () => {
    const r = await parse('a,b\r\n1,2\r\n3,4');
    expect(r.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(r.lines).toEqual([2, 3]);
  });

  it('keeps empty fields, including a trailing one', async () => {
    const r = await parse('a,b,c\n,,\n1,,\r\n,2,\n');
    expect(r.rows).toEqual([
      ['', '', ''],
      ['1', '', ''],
      ['', '2', ''],
    ]);
  });

  it('strips a UTF-8 BOM from the header', async () => {
    const r = await parse('\uFEFFmsisdn,datetime\nx,y\n');
    expect(r.header).toEqual(['msisdn', 'datetime']);
    expect(r.rows).toEqual([['x', 'y']]);
  });

  it('unquotes fields with embedded commas and doubled quotes', async () => {
    const r = await parse('a,b,c\n"x,y","say ""hi""",""\n"",plain,"q"\r\n');
    expect(r.rows).toEqual([
      ['x,y', 'say "hi"', ''],
      ['', 'plain', 'q'],
    ]);
  });

  it('keeps a quote inside an unquoted field as data', async () => {
    const r = await parse('a,b\n5\'3",x\n');
    expect(r.rows).toEqual([['5\'3"', 'x']]);
  });

  it('gives exact physical line numbers with quoted newlines (LF and CRLF)', async () => {
    const text = 'id,note\n1,"two\nlines"\n2,plain\n3,"three\r\nphysical\r\nlines"\r\n4,"a""\n""b"\n5,x';
    const r = await parse(text);
    expect(r.rows).toEqual([
      ['1', 'two\nlines'],
      ['2', 'plain'],
      ['3', 'three\r\nphysical\r\nlines'],
      ['4', 'a"\n"b'],
      ['5', 'x'],
    ]);
    expect(r.lines).toEqual([2, 4, 5, 8, 10]);
  });

  it('skips blank lines but counts them', async () => {
    const r = await parse('a,b\n\n1,2\r\n\r\n\n3,4\n\n');
    expect(r.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(r.lines).toEqual([3, 6]);
  });

  it('decodes UTF-8 fields, including multi-byte characters split across chunks', async () => {
    const r = await parse('name,city\nJosé,"Abidjan, Côte d’Ivoire"\n李,東京\n');
    expect(r.rows).toEqual([
      ['José', 'Abidjan, Côte d’Ivoire'],
      ['李', '東京'],
    ]);
  });

  it('decodes long ASCII fields (beyond the short-slice path)', async () => {
    const long = 'f'.repeat(64);
    const r = await parse(`h,g\n${long},"${long}"\n`);
    expect(r.rows).toEqual([[long, long]]);
  });

  it('reports rows with the wrong number of fields, with their line, and keeps the others', async () => {
    const r = await parse('a,b,c\n1,2,3\n1,2\n"x\ny",2,3,4\n7,8,9\n');
    expect(r.rows).toEqual([
      ['1', '2', '3'],
      ['7', '8', '9'],
    ]);
    expect(r.lines).toEqual([2, 6]);
    expect(r.badRows).toEqual([
      { line: 3, reason: 'expected 3 fields, found 2' },
      { line: 4, reason: 'expected 3 fields, found 4' },
    ]);
  });

  it('reports text after a closing quote instead of guessing', async () => {
    const r = await parse('a,b\n"x"y,1\n2,3\n');
    expect(r.rows).toEqual([['2', '3']]);
    expect(r.badRows).toEqual([{ line: 2, reason: 'field 1: expected a comma or a line end after the closing quote' }]);
  });

  it('throws on an unterminated quote at the end of the file, naming file and line', async () => {
    for (const size of [1, 4, 1 << 20]) {
      const bytes = Buffer.from('a,b\n1,2\n3,"open\nstill open\n');
      const run = flatten(csvBatchesFromChunks(chunked(bytes, size), 'events/x.csv'));
      await expect(run).rejects.toBeInstanceOf(IngestError);
      await expect(flatten(csvBatchesFromChunks(chunked(bytes, size), 'events/x.csv'))).rejects.toThrow(
        /^events\/x\.csv:3: expected a closing quote/,
      );
    }
  });

  it('yields nothing for an empty or header-only file', async () => {
    expect((await parse('')).rows).toEqual([]);
    const h = await parse('a,b\n');
    expect(h.rows).toEqual([]);
    expect(h.batches).toBe(0);
  });

  it('gives the same rows whatever the batch size', async () => {
    const lines = ['a,b,c'];
    let physical = 1;
    for (let i = 0; i < 500; i++) {
      physical++;
      if (i % 37 === 0) lines.push('bad,row');
      else if (i % 11 === 0) {
        lines.push(`${i},"multi\nline ${i}",z`);
        physical++;
      } else lines.push(`${i},${i * 2},"q""${i}"`);
    }
    const text = lines.join('\n');
    const whole = await parse(text, 100000, [1 << 20]);
    for (const batchRows of [1, 2, 7, 64]) {
      const r = await parse(text, batchRows, [13, 1 << 20]);
      expect(r.rows).toEqual(whole.rows);
      expect(r.lines).toEqual(whole.lines);
      expect(r.badRows).toEqual(whole.badRows);
      expect(r.batches).toBe(Math.ceil((whole.rows.length + whole.badRows.length) / batchRows));
    }
    expect(whole.badRows.length).toBe(14);
    expect(whole.lines.at(-1)).toBe(physical);
  });
});

describe('csvBatches on files', () => {
  const dir = tempDir();
  const text = 'MSISDN,datetime,location_id\r\n"a,1",2016-01-01 08:00:00,c1\r\nb,2016-01-01 09:00:00,"c\n2"\r\nshort\r\n';

  it('reads .csv and .csv.gz to the same batches, and counts bytes', async () => {
    const plain = path.join(dir, 'e.csv');
    const gz = path.join(dir, 'e.csv.gz');
    fs.writeFileSync(plain, text);
    fs.writeFileSync(gz, zlib.gzipSync(Buffer.from(text)));
    const reader = csvBatches(plain, { batchRows: 1 });
    const a = await flatten(reader);
    const gzReader = csvBatches(gz, { batchRows: 1 });
    const b = await flatten(gzReader);
    expect(b).toEqual(a);
    expect(a.rows).toEqual([
      ['a,1', '2016-01-01 08:00:00', 'c1'],
      ['b', '2016-01-01 09:00:00', 'c\n2'],
    ]);
    expect(a.lines).toEqual([2, 3]);
    expect(a.badRows).toEqual([{ line: 5, reason: 'expected 3 fields, found 1' }]);
    expect(reader.bytesRead).toBe(fs.statSync(plain).size);
    expect(gzReader.bytesRead).toBe(fs.statSync(gz).size);
    expect(reader.header).toEqual(['MSISDN', 'datetime', 'location_id']);
  });

  it('reads a large file in small chunks with the same result', async () => {
    const file = path.join(dir, 'big.csv');
    const rows: string[] = ['a,b'];
    for (let i = 0; i < 20000; i++) rows.push(i % 1000 === 0 ? `"${i}\n",x` : `${i},y${i}`);
    fs.writeFileSync(file, rows.join('\n'));
    const small = await flatten(csvBatches(file, { batchRows: 999, chunkBytes: 333 }));
    const big = await flatten(csvBatches(file));
    expect(small.rows).toEqual(big.rows);
    expect(small.lines).toEqual(big.lines);
    expect(big.rows.length).toBe(20000);
    expect(big.lines.at(-1)).toBe(20001 + 20);
  });

  it('names the file of a missing or corrupt .gz in an IngestError', async () => {
    await expect(flatten(csvBatches(path.join(dir, 'nope.csv')))).rejects.toThrow(/nope\.csv: expected a data file/);
    const bad = path.join(dir, 'bad.csv.gz');
    fs.writeFileSync(bad, Buffer.from('this is not gzip at all'));
    const err = await flatten(csvBatches(bad)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as IngestError).code).toBe('FILE_UNREADABLE');
    expect((err as Error).message).toMatch(/bad\.csv\.gz: cannot read: gzip: /);
    const truncated = path.join(dir, 'trunc.csv.gz');
    fs.writeFileSync(truncated, zlib.gzipSync(Buffer.from(text.repeat(100))).subarray(0, 40));
    await expect(flatten(csvBatches(truncated))).rejects.toThrow(/trunc\.csv\.gz: cannot read: gzip: /);
  });

  it('stops reading when the consumer stops early', async () => {
    const file = path.join(dir, 'early.csv');
    fs.writeFileSync(file, 'a\n' + '1\n'.repeat(10000));
    let n = 0;
    for await (const b of csvBatches(file, { batchRows: 10 })) {
      n += b.length;
      break;
    }
    expect(n).toBe(10);
  });
});
