/**
 * CSV ingest from bytes, on the main thread and cut across worker threads,
 * against the string path that typed files take (the same rows written as an
 * Arrow file of strings): the same store bytes, and between the two CSV paths
 * the same report, line for line. The files are hostile on purpose: odd
 * spellings, quotes, CRLF, blank lines, bad rows, non-ASCII and long ids, and
 * (in one of them) quoted line breaks that range boundaries fall into.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { ingest } from '../../server/ingest/ingest.js';
import { csvBatches } from '../../server/ingest/readers/csv.js';
import { COLUMNS } from '../../server/store/layout.js';
import { Store } from '../../server/store/reader.js';
import { rng } from '../util/rng.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-csv-parallel-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const keyFile = path.join(root, 'key');
fs.writeFileSync(keyFile, 'ab'.repeat(32));

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function hostileCsv(seed: number, rows: number, quotedBreaks: boolean): string {
  const r = rng(seed);
  const ids = Array.from({ length: 300 }, (_, i) =>
    pick(r, [`2250${7000000 + i}`, `0${i}`, `${i}`, `9${'1'.repeat(14)}${i}`, ` 2250${7000000 + i} `, `sub-${i}`, `"q""${i}"`, `é${i}`]),
  );
  const times = ['2016-01-01 08:00:00', '2016-01-02T23:59:59Z', '2016-01-03T01:00:00+01:00', ' 2016-01-04 12:00 ', '2016-01-05', 'yesterday', '', '2016-02-30 00:00:00', '"2016-01-06 10:00:00"', '1970-01-01T00:00:00+05:00'];
  const types = ['calls', 'sms', 'mds', 'topups', 'CALLS', ' Sms ', 'voice', 'data', 'recharge', 'fax', '', 'constructor', '"calls"'];
  const outs = ['true', 'false', '1', '0', 't', 'F', 'TRUE', 'T', 'maybe', '', ' true '];
  const durations = ['60', '', '0', '12.6', '1e3', '-1', 'long', ' 7 ', '4294967295', '999999999', '0x10'];
  const amounts = ['', '5.5', '10', '-0', '1e3', 'NaN', 'abc', '0.125', '123456789012345678', '.5', '5.'];
  const cells = ['C1', 'C2', ' C3', '', 'C"4', '"C,5"', 'ü6', 'C1'];
  const lines = ['\uFEFFmsisdn,datetime,cell_id,event_type,outgoing,duration,msisdn_counterpart,recharge_amount'];
  for (let i = 0; i < rows; i++) {
    const roll = r();
    if (roll < 0.02) lines.push('');
    else if (roll < 0.04) lines.push('only,three,fields');
    else if (quotedBreaks && roll < 0.07) lines.push(`${pick(r, ids)},2016-01-01 09:00:00,"C\n7",calls,true,5,,`);
    else {
      lines.push([pick(r, ids), pick(r, times), pick(r, cells), pick(r, types), pick(r, outs), pick(r, durations), r() < 0.5 ? pick(r, ids) : '', pick(r, amounts)].join(','));
    }
  }
  return lines.map((l) => l + (r() < 0.2 ? '\r\n' : '\n')).join('');
}

function writeDataset(dir: string, name: string, body: string | Uint8Array): void {
  fs.mkdirSync(path.join(dir, 'events'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dataset.json'), JSON.stringify({ timezone: 'Europe/Paris' }));
  fs.writeFileSync(path.join(dir, 'cells.csv'), 'cell_id,lon,lat\nC1,0.1,0.1\nC2,0.2,0.2\n');
  fs.writeFileSync(path.join(dir, 'events', name), body);
}

function storeBytes(store: string): Record<string, string> {
  const s = Store.open(store);
  const out: Record<string, string> = { subscribers: s.subscriberHashes().toString('hex'), cells: JSON.stringify(s.dims().cells.ids) };
  for (const date of s.days()) {
    const { rows, types, unlocated, columns } = s.day(date);
    out[`${date}/entry`] = JSON.stringify({ rows, types, unlocated, columns });
    for (const c of COLUMNS) out[`${date}/${c.name}`] = Buffer.from(s.readColumn(date, c.name, { verify: true }).buffer).toString('hex');
  }
  return out;
}

/** The same rows as an Arrow file of strings: ingest then takes the typed-file path (normalise.ts). */
async function asArrow(csvFile: string, out: string): Promise<void> {
  const reader = csvBatches(csvFile);
  let columns: string[][] | null = null;
  for await (const b of reader) {
    columns ??= b.header.map(() => []);
    b.columns.forEach((c, i) => columns![i]!.push(...c));
  }
  const cols = Object.fromEntries(reader.header!.map((h, i) => [h, columns![i]!]));
  fs.writeFileSync(out, tableToIPC(tableFromArrays(cols as never), 'file'));
}

async function run(dataset: string, name: string, csv: { threads: number; chunkBytes?: number }) {
  const store = path.join(root, `store-${name}`);
  const summary = await ingest({ dataset, store, keyFile, csv });
  const report = summary.report ? fs.readFileSync(summary.report, 'utf8') : '';
  return { summary, report, bytes: storeBytes(store) };
}

describe('CSV ingest from bytes, sequential and parallel', () => {
  for (const quotedBreaks of [false, true]) {
    it(`gives the string path's store, and the same store and report on 1 or 2 threads${quotedBreaks ? ', with quoted line breaks across range boundaries' : ''}`, async () => {
      const text = hostileCsv(quotedBreaks ? 2 : 1, 3000, quotedBreaks);
      const dataset = path.join(root, `ds-${quotedBreaks}`);
      writeDataset(dataset, 'events.csv', text);
      const main = await run(dataset, `main-${quotedBreaks}`, { threads: 0 });
      expect(main.summary.kept).toBeGreaterThan(300);
      expect(main.summary.rejected).toBeGreaterThan(300);
      const events = (dir: string, name = 'events.csv') => path.join(dir, 'events', name);
      const expectedReport = main.report.replaceAll(events(dataset), 'F');
      // Cut into ranges of 300 or 4096 bytes across two workers; or whole (one worker parses the stream).
      for (const chunkBytes of [300, 4096, undefined]) {
        const parallel = await run(dataset, `parallel-${quotedBreaks}-${chunkBytes}`, { threads: 2, chunkBytes });
        expect(parallel.bytes).toEqual(main.bytes);
        expect(parallel.report.replaceAll(events(dataset), 'F')).toEqual(expectedReport);
        expect(parallel.summary.kept).toBe(main.summary.kept);
      }
      // Gzipped: gunzipped on the main thread, parsed as a stream on a worker.
      const gzSet = path.join(root, `ds-gz-${quotedBreaks}`);
      writeDataset(gzSet, 'events.csv.gz', zlib.gzipSync(text));
      const gz = await run(gzSet, `gz-${quotedBreaks}`, { threads: 2 });
      expect(gz.bytes).toEqual(main.bytes);
      expect(gz.report.replaceAll(events(gzSet, 'events.csv.gz'), 'F')).toEqual(expectedReport);
      const arrowSet = path.join(root, `ds-arrow-${quotedBreaks}`);
      writeDataset(arrowSet, 'events.arrow', new Uint8Array());
      await asArrow(path.join(dataset, 'events', 'events.csv'), path.join(arrowSet, 'events', 'events.arrow'));
      const typed = await run(arrowSet, `arrow-${quotedBreaks}`, { threads: 0 });
      expect(typed.bytes).toEqual(main.bytes);
      expect(typed.summary.rejected + main.report.split('\n').filter((l) => l.includes(',row,')).length).toBe(main.summary.rejected);
    }, 60_000);
  }

  it('names the same file and line for an unterminated quote on 1 or 2 threads, and leaves no store behind', async () => {
    const text = hostileCsv(3, 2000, false) + '2250700001,2016-01-01 08:00:00,"C1,calls,true,1,,\n' + '2250700002,2016-01-01 08:00:00,C1,calls,true,1,,\n'.repeat(50);
    const dataset = path.join(root, 'ds-unterminated');
    writeDataset(dataset, 'events.csv', text);
    const messages: string[] = [];
    for (const csv of [{ threads: 0 }, { threads: 2, chunkBytes: 700 }, { threads: 2 }]) {
      const store = path.join(root, `store-unterminated-${csv.threads}`);
      const error = await ingest({ dataset, store, keyFile, csv }).then(() => null, (e: Error) => e);
      expect(error?.message).toMatch(/closing quote/);
      messages.push(error!.message);
      expect(fs.existsSync(path.join(store, 'store.json'))).toBe(false);
    }
    expect(messages[1]).toBe(messages[0]);
    expect(messages[2]).toBe(messages[0]);
    const line = text.slice(0, text.indexOf('"C1,calls')).split('\n').length;
    expect(messages[0]).toContain(`:${line}`);
  });

  it('cuts a gzipped stream into pieces for both workers while it has no quote, then streams the rest on one: the same store and report', async () => {
    const quoted = hostileCsv(4, 1500, false);
    const unquoted = hostileCsv(5, 3000, false).replaceAll('"', '');
    const text = unquoted + quoted.slice(quoted.indexOf('\n') + 1); // the quoted rows, without their header, after 3000 unquoted ones
    const plain = path.join(root, 'ds-pieces');
    writeDataset(plain, 'events.csv', text);
    const main = await run(plain, 'pieces-main', { threads: 0 });
    expect(main.summary.rejected).toBeGreaterThan(100);
    const gzSet = path.join(root, 'ds-pieces-gz');
    writeDataset(gzSet, 'events.csv.gz', zlib.gzipSync(text));
    for (const chunkBytes of [4096, 65536]) {
      const gz = await run(gzSet, `pieces-gz-${chunkBytes}`, { threads: 2, chunkBytes });
      expect(gz.bytes).toEqual(main.bytes);
      expect(gz.report.replaceAll(path.join(gzSet, 'events', 'events.csv.gz'), 'F')).toEqual(main.report.replaceAll(path.join(plain, 'events', 'events.csv'), 'F'));
    }
  });

  it('keeps 5000 distinct cells and thousands of distinct bad event types apart (the field memos grow), as the string path does', async () => {
    const rows = ['msisdn,datetime,cell_id,event_type,outgoing'];
    for (let i = 0; i < 12_000; i++) rows.push(`${2250700000 + (i % 997)},2016-01-0${1 + (i % 3)} 10:00:00,c${(i * 7) % 5000},${i % 4 ? ['calls', 'sms', 'mds'][i % 3] : `x${i}`},${i % 2 ? 'true' : 'false'}`);
    const text = rows.join('\n') + '\n';
    const dataset = path.join(root, 'ds-memo');
    writeDataset(dataset, 'events.csv', text);
    const main = await run(dataset, 'memo-main', { threads: 0 });
    expect(main.summary.rejected).toBe(3000);
    const arrowSet = path.join(root, 'ds-memo-arrow');
    writeDataset(arrowSet, 'events.arrow', new Uint8Array());
    await asArrow(path.join(dataset, 'events', 'events.csv'), path.join(arrowSet, 'events', 'events.arrow'));
    const typed = await run(arrowSet, 'memo-arrow', { threads: 0 });
    expect(typed.bytes).toEqual(main.bytes);
    expect(JSON.parse(main.bytes.cells!).length).toBeGreaterThan(3000); // cells of good rows only: more than the memo first holds
  });
});
