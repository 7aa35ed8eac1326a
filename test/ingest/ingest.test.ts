import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIR_IN, DIR_OUT, NULL_U32, TYPE_CALLS, TYPE_SMS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';
import { ingest } from '../../server/ingest/ingest.js';
import { pseudonym } from '../../server/ingest/pseudonymise.js';
import { COLUMNS } from '../../server/store/layout.js';
import { readManifest } from '../../server/store/manifest.js';
import { Store } from '../../server/store/reader.js';

const require = createRequire(import.meta.url);
const KEY_HEX = 'ab'.repeat(32);
const KEY = Buffer.from(KEY_HEX, 'hex');

let root: string;
let keyFile: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-ingest-'));
  keyFile = path.join(root, 'key');
  fs.writeFileSync(keyFile, KEY_HEX);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const square = (x: number, y: number, hole = false) => {
  const outer = [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]];
  const inner = [[x + 0.4, y + 0.4], [x + 0.6, y + 0.4], [x + 0.6, y + 0.6], [x + 0.4, y + 0.6], [x + 0.4, y + 0.4]];
  return hole ? [outer, inner] : [outer];
};

const HEADER = ['MSISDN', 'datetime', 'location_id', 'event_type', 'outgoing', 'duration', 'msisdn_counterpart', 'recharge_amount'];
/** Good rows only; each is one event. */
const GOOD: (string | null)[][] = [
  ['22500000001', '2016-01-01 08:00:00', 'A', 'calls', 'true', '60', '22500000002', null],
  ['22500000002', '2016-01-01 08:00:00', 'B', 'calls', 'false', '60', '22500000001', null],
  ['22500000001', '2016-01-01T23:59:59Z', 'A', 'sms', '1', null, '22500000003', null],
  ['22500000003', '2016-01-02 00:00:00', 'LAKE', 'sms', '0', null, null, null],
  ['22500000002', '2016-01-02 10:30:00', null, 'topups', null, null, null, '5.5'],
  ['22500000001', '2016-01-03 12:00:00', 'MOVED', 'mds', null, '300', null, null],
  ['22500000004', '2016-01-03 13:00:00', 'NOWHERE', 'calls', 'true', '10', null, null],
];

function writeDataset(dir: string, events: { name: string; write: (file: string) => void | Promise<void> }) {
  fs.mkdirSync(path.join(dir, 'regions'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'events'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dataset.json'), JSON.stringify({ name: 'tiny', timezone: 'UTC' }));
  fs.writeFileSync(
    path.join(dir, 'cells.csv'),
    ['cell_id,site_id,lon,lat,valid_from,valid_to', 'A,S1,0.2,0.2,,', 'B,S2,1.5,0.5,,', 'LAKE,S3,0.5,0.5,,',
      'MOVED,S4,0.1,0.1,,2016-01-02', 'MOVED,S4,1.9,0.9,2016-01-03,', 'NOWHERE,S5,9,9,,', 'BAD,S6,abc,1,,'].join('\n') + '\n',
  );
  const feature = (pcod: string, name: string, coords: number[][][]) => ({
    type: 'Feature',
    properties: { ADM1_PCODE: pcod, ADM1_EN: name, population: 1000 },
    geometry: { type: 'Polygon', coordinates: coords },
  });
  fs.writeFileSync(
    path.join(dir, 'regions', 'admin1.geojson'),
    JSON.stringify({ type: 'FeatureCollection', features: [feature('XX01', 'West', square(0, 0, true)), feature('XX02', 'East', square(1, 0))] }),
  );
  return events.write(path.join(dir, 'events', events.name));
}

const csvText = (rows: (string | null)[][]) => [HEADER, ...rows].map((r) => r.map((v) => v ?? '').join(',')).join('\n') + '\n';

const FORMATS: { name: string; write: (file: string) => void | Promise<void> }[] = [
  { name: 'events.csv', write: (f) => fs.writeFileSync(f, csvText(GOOD)) },
  { name: 'events.csv.gz', write: (f) => fs.writeFileSync(f, zlib.gzipSync(csvText(GOOD))) },
  {
    name: 'events.arrow',
    write: (f) => {
      const cols = Object.fromEntries(HEADER.map((h, i) => [h, GOOD.map((r) => r[i] ?? null)]));
      fs.writeFileSync(f, tableToIPC(tableFromArrays(cols as never), 'file'));
    },
  },
  {
    name: 'events.parquet',
    write: async (f) => {
      const parquet = require('parquetjs-lite');
      const schema = new parquet.ParquetSchema(Object.fromEntries(HEADER.map((h) => [h, { type: 'UTF8', optional: true }])));
      const writer = await parquet.ParquetWriter.openFile(schema, f);
      for (const r of GOOD) await writer.appendRow(Object.fromEntries(HEADER.flatMap((h, i) => (r[i] === null ? [] : [[h, r[i]]]))));
      await writer.close();
    },
  },
];

function storeBytes(store: string): Record<string, string> {
  const s = Store.open(store);
  const out: Record<string, string> = {};
  for (const date of s.days()) {
    for (const c of COLUMNS) out[`${date}/${c.name}`] = Buffer.from(s.readColumn(date, c.name, { verify: true }).buffer).toString('hex');
  }
  return out;
}

describe('ingest', () => {
  it('gives the same store from CSV, gzipped CSV, Arrow and Parquet', async () => {
    const stores: Record<string, string>[] = [];
    for (const format of FORMATS) {
      const dir = path.join(root, format.name);
      await writeDataset(dir, format);
      const summary = await ingest({ dataset: dir, store: path.join(root, `store-${format.name}`), keyFile });
      expect(summary.kept, format.name).toBe(GOOD.length);
      expect(summary.rejected, format.name).toBe(0);
      stores.push(storeBytes(path.join(root, `store-${format.name}`)));
    }
    for (const s of stores.slice(1)) expect(s).toEqual(stores[0]);
  });

  it('stores typed, pseudonymised rows by local day, and locates cells by version and polygon', async () => {
    const dir = path.join(root, 'ds');
    await writeDataset(dir, FORMATS[0]!);
    const storeDir = path.join(root, 'store');
    const summary = await ingest({ dataset: dir, store: storeDir, keyFile });
    expect(summary.days).toEqual(['2016-01-01', '2016-01-02', '2016-01-03']);
    const store = Store.open(storeDir);
    const day1 = '2016-01-01';
    expect(Array.from(store.readColumn(day1, 'sub'))).toEqual([0, 1, 0]);
    expect(Array.from(store.readColumn(day1, 'peer'))).toEqual([1, 0, 2]);
    expect(Array.from(store.readColumn(day1, 'kind'))).toEqual([TYPE_CALLS | (DIR_OUT << 2), TYPE_CALLS | (DIR_IN << 2), TYPE_SMS | (DIR_OUT << 2)]);
    expect(Array.from(store.readColumn(day1, 't'))).toEqual([Date.UTC(2016, 0, 1, 8) / 1000, Date.UTC(2016, 0, 1, 8) / 1000, Date.UTC(2016, 0, 1, 23, 59, 59) / 1000]);
    expect(Array.from(store.readColumn(day1, 'duration'))).toEqual([60, 60, NULL_U32]);
    expect(Array.from(store.readColumn('2016-01-02', 'recharge'))).toEqual([NaN, 5.5]);
    expect(Array.from(store.readColumn('2016-01-02', 'cell'))[1]).toBe(NULL_U32);
    // The dictionary holds HMAC-SHA-256 pseudonyms under the key, in first-seen order.
    const hashes = store.subscriberHashes();
    expect(hashes.subarray(0, 32).equals(pseudonym(KEY, '22500000001'))).toBe(true);
    expect(hashes.subarray(32, 64).equals(pseudonym(KEY, '22500000002'))).toBe(true);
    // Regions: A in West, B in East, LAKE in the hole (no region), MOVED West then East, NOWHERE outside.
    const { cells } = store.dims();
    const region = (id: string, day: string) => {
      const v = cells.versionsOn(Date.parse(day) / 86400_000)[cells.keyOf(id)!]!;
      return v < 0 ? 'no version' : cells.regions.admin1![v];
    };
    expect(region('A', '2016-01-01')).toBe(0);
    expect(region('B', '2016-01-01')).toBe(1);
    expect(region('LAKE', '2016-01-01')).toBe(-1);
    expect(region('MOVED', '2016-01-02')).toBe(0);
    expect(region('MOVED', '2016-01-03')).toBe(1);
    expect(region('NOWHERE', '2016-01-03')).toBe(-1);
    expect(cells.keyOf('BAD')).toBeUndefined();
  });

  it('never writes a raw MSISDN into the store', async () => {
    const dir = path.join(root, 'ds');
    await writeDataset(dir, FORMATS[0]!);
    const storeDir = path.join(root, 'store');
    await ingest({ dataset: dir, store: storeDir, keyFile });
    const files = fs.readdirSync(storeDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(10);
    for (const e of files) {
      const bytes = fs.readFileSync(path.join(e.parentPath, e.name));
      for (const id of ['22500000001', '22500000002', '22500000003', '22500000004']) {
        expect(bytes.includes(Buffer.from(id)), `${e.name} holds ${id}`).toBe(false);
        expect(bytes.includes(Buffer.from(id, 'utf16le'))).toBe(false);
      }
    }
  });

  it('reports bad rows with file, line, field and reason, and keeps the good rows of the file', async () => {
    const dir = path.join(root, 'ds');
    const bad = [
      ...GOOD.slice(0, 2),
      ['', '2016-01-01 09:00:00', 'A', 'calls', 'true', '1', null, null],
      ['22500000009', 'yesterday', 'A', 'calls', 'true', '1', null, null],
      ['22500000009', '2016-01-01 09:00:00', 'A', 'fax', 'true', '1', null, null],
      ['22500000009', '2016-01-01 09:00:00', 'A', 'calls', 'true', 'long', null, null],
      ['22500000009', '2016-01-01 09:00:00', 'A', 'calls', 'maybe', '1', null, null],
      ['22500000009', '2016-01-01 09:00:00', 'A', 'topups', null, null, null, null],
      ...GOOD.slice(2),
      // Regression (event types looked up in an object literal): names of Object.prototype are not event types.
      ['22500000009', '2016-01-01 09:00:00', 'A', 'constructor', 'true', '1', null, null],
      ['22500000009', '2016-01-01 09:00:00', 'A', '__proto__', 'true', '1', null, null],
    ];
    await writeDataset(dir, { name: 'events.csv', write: (f) => fs.writeFileSync(f, csvText(bad) + 'only,three,fields\n') });
    const storeDir = path.join(root, 'store');
    const summary = await ingest({ dataset: dir, store: storeDir, keyFile });
    expect(summary.kept).toBe(GOOD.length);
    expect(summary.rejected).toBe(9);
    const report = fs.readFileSync(summary.report!, 'utf8').trim().split('\n');
    const file = path.join(dir, 'events', 'events.csv');
    expect(report.slice(1)).toEqual([
      `${path.join(dir, 'cells.csv')},8,lon,"expected a longitude in [-180, 180]"`,
      `${file},4,msisdn,missing`,
      `${file},5,datetime,expected an ISO 8601 time like 2016-01-01 08:15:02`,
      `${file},6,event_type,"expected calls, sms, mds or topups"`,
      `${file},7,duration,expected a non-negative number of seconds`,
      `${file},8,outgoing,"expected true, false, 1 or 0"`,
      `${file},9,recharge_amount,missing (required for topups)`,
      `${file},15,event_type,"expected calls, sms, mds or topups"`,
      `${file},16,event_type,"expected calls, sms, mds or topups"`,
      `${file},17,row,"expected 8 fields, found 3"`,
    ]);
    // The bad cells.csv row is reported too, with its line.
    const cellsReport = summary.files.find((f) => f.file.endsWith('cells.csv'))!;
    expect(cellsReport.rejected).toBe(1);
    // A rejected row adds no subscriber: 22500000009 never had a good row.
    expect(readManifest(storeDir).subscribers).toBe(4);
  });

  it('leaves the store untouched when cells.csv is missing, a file is unreadable, or the ingest is interrupted', async () => {
    const dir = path.join(root, 'ds');
    await writeDataset(dir, FORMATS[0]!);
    const storeDir = path.join(root, 'store');
    await ingest({ dataset: dir, store: storeDir, keyFile });
    const before = storeBytes(storeDir);
    const manifest = readManifest(storeDir);

    fs.writeFileSync(path.join(dir, 'events', 'more.csv'), csvText([['22500000001', '2016-01-05 08:00:00', 'A', 'calls', 'true', '1', null, null]]));
    const abort = new AbortController();
    abort.abort();
    await expect(ingest({ dataset: dir, store: storeDir, keyFile, signal: abort.signal })).rejects.toThrow(/interrupted/);
    fs.writeFileSync(path.join(dir, 'events', 'zzz.parquet'), 'not a parquet file at all');
    await expect(ingest({ dataset: dir, store: storeDir, keyFile })).rejects.toThrow(/zzz\.parquet/);
    fs.rmSync(path.join(dir, 'cells.csv'));
    await expect(ingest({ dataset: dir, store: storeDir, keyFile })).rejects.toThrow(/cells\.csv/);

    expect(readManifest(storeDir)).toEqual(manifest);
    expect(storeBytes(storeDir)).toEqual(before);
    // (.readers: the leases of this process's readers, store/lease.ts)
    expect(fs.readdirSync(storeDir).filter((f) => f !== '.readers').sort()).toEqual(['days', 'dims', 'reports', 'store.json']);
  });

  it('appends new days, replaces a re-ingested day, and refuses another key', async () => {
    const dir = path.join(root, 'ds');
    await writeDataset(dir, FORMATS[0]!);
    const storeDir = path.join(root, 'store');
    await ingest({ dataset: dir, store: storeDir, keyFile });
    fs.rmSync(path.join(dir, 'events', 'events.csv'));
    fs.writeFileSync(
      path.join(dir, 'events', 'day.csv'),
      csvText([
        ['22500000007', '2016-01-03 08:00:00', 'B', 'calls', 'true', '1', null, null],
        ['22500000001', '2016-01-04 08:00:00', 'A', 'calls', 'true', '1', null, null],
      ]),
    );
    const summary = await ingest({ dataset: dir, store: storeDir, keyFile });
    expect(summary.version).toBe(2);
    const store = Store.open(storeDir);
    expect(store.days()).toEqual(['2016-01-01', '2016-01-02', '2016-01-03', '2016-01-04']);
    expect(Array.from(store.readColumn('2016-01-03', 'sub'))).toEqual([4]);
    expect(Array.from(store.readColumn('2016-01-04', 'sub'))).toEqual([0]);
    expect(store.day('2016-01-01').rows).toBe(3);

    const other = path.join(root, 'other-key');
    fs.writeFileSync(other, 'cd'.repeat(32));
    await expect(ingest({ dataset: dir, store: storeDir, keyFile: other })).rejects.toThrow(/another key/);
  });
});
