/**
 * Issue #14, "data lost or silently wrong": what a bad delivery must not do
 * to a store (an empty cell table, events that all fail), what the operator
 * must be told (every file's rejected rows, messages that say what was found),
 * and what a killed writer must not leave behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Binary, Bool, makeData, makeVector, Table, tableFromArrays, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { printIngestSummary } from '../../server/cli/ingest.js';
import { IngestError } from '../../server/errors.js';
import { ingest, type IngestOptions } from '../../server/ingest/ingest.js';
import { READY_MARKER, watchDropFolder } from '../../server/service/dropfolder.js';
import { readManifest } from '../../server/store/manifest.js';
import { Store } from '../../server/store/reader.js';
import { pruneBefore } from '../../server/store/retention.js';
import { folderPerTest, REGIONS, square } from './two-regions.js';

const KEY_HEX = 'ab'.repeat(32);
const tmp = folderPerTest('opalite-delivery-', KEY_HEX);
const CELLS = 'cell_id,lon,lat,valid_from,valid_to\nA,0.5,0.5,,\nB,1.5,0.5,,\n';
const HEADER = 'msisdn,datetime,cell_id,event_type,outgoing';
const call = (msisdn: string, datetime: string, cell: string) => `${msisdn},${datetime},${cell},calls,true`;

/** What printIngestSummary writes to stdout for a summary. */
function printedSummary(summary: Parameters<typeof printIngestSummary>[0]): string {
  let printed = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed += String(chunk);
    return true;
  });
  try {
    printIngestSummary(summary);
  } finally {
    vi.restoreAllMocks();
  }
  return printed;
}

/** A dataset folder; `events` is file name -> text. */
function delivery(name: string, o: { cells?: string; events: Record<string, string> }): string {
  const dir = path.join(tmp.root(), name);
  fs.mkdirSync(path.join(dir, 'events'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'regions'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'regions', 'admin1.geojson'), JSON.stringify(REGIONS));
  fs.writeFileSync(path.join(dir, 'cells.csv'), o.cells ?? CELLS);
  for (const [file, text] of Object.entries(o.events)) fs.writeFileSync(path.join(dir, 'events', file), text);
  return dir;
}

const day1 = () => delivery('day1', { events: { 'e.csv': [HEADER, call('2250001', '2016-01-01 08:00:00', 'A'), call('2250002', '2016-01-01 09:00:00', 'B')].join('\n') + '\n' } });
const run = (dataset: string, store: string, more: Partial<IngestOptions> = {}) => ingest({ dataset, store, keyFile: tmp.keyFile(), ...more });
const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as IngestError);

/** The region (admin1 index) of cell `id` on `date`, -1 outside every region, null without a valid version. */
function regionOf(store: string, id: string, date: string): number | null {
  const { cells } = Store.open(store).dims();
  const v = cells.versionsOn(Date.parse(`${date}T00:00:00Z`) / 86_400_000)[cells.keyOf(id)!]!;
  return v < 0 ? null : cells.regions.admin1![v]!;
}

/** Every file of the store but the reports, with its bytes. */
function storeFiles(store: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(store, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.parentPath.includes('reports')) continue;
    const file = path.join(e.parentPath, e.name);
    out[path.relative(store, file)] = fs.readFileSync(file).toString('base64');
  }
  return out;
}

describe('a delivery with an empty cell table', () => {
  for (const [what, cells] of [
    ['header only', 'cell_id,lon,lat,valid_from,valid_to\n'],
    ['empty', ''],
    ['no valid row', 'cell_id,lon,lat\nA,abc,0.5\nB,200,0.5\n'],
  ] as const) {
    it(`is refused (${what}) and the store keeps every day's locations`, async () => {
      const store = path.join(tmp.root(), 'store');
      await run(day1(), store);
      const before = storeFiles(store);
      const ds = delivery('day2', { cells, events: { 'e.csv': `${HEADER}\n${call('2250001', '2016-01-02 08:00:00', 'A')}\n` } });
      const e = await failure(run(ds, store));
      expect(e).toBeInstanceOf(IngestError);
      expect(e!.code).toBe('EMPTY_CELLS');
      expect(e!.message).toContain(path.join(ds, 'cells.csv'));
      expect(e!.message).toMatch(what === 'no valid row' ? /found none among 2 \(first: line 2: lon: expected a longitude/ : /expected at least one cell row, found none/);
      expect(storeFiles(store)).toEqual(before);
      expect(regionOf(store, 'A', '2016-01-01')).toBe(0);
    });
  }

  it('a partial table is laid over the stored one: cells it does not name, and days its versions do not cover, keep theirs', async () => {
    const store = path.join(tmp.root(), 'store');
    await run(day1(), store);
    // Only B, moved into West from 2 January, and a new cell C.
    const ds = delivery('day2', {
      cells: 'cell_id,lon,lat,valid_from,valid_to\nB,0.25,0.25,2016-01-02,\nC,1.75,0.75,,\n',
      events: { 'e.csv': `${HEADER}\n${call('2250001', '2016-01-02 08:00:00', 'B')}\n` },
    });
    await run(ds, store);
    expect(regionOf(store, 'A', '2016-01-01')).toBe(0);
    expect(regionOf(store, 'A', '2016-01-02')).toBe(0);
    expect(regionOf(store, 'B', '2016-01-01')).toBe(1); // the stored version, cut to the day before the new one
    expect(regionOf(store, 'B', '2016-01-02')).toBe(0);
    expect(regionOf(store, 'C', '2016-01-01')).toBe(1);
    expect(Store.open(store).dims().cells.versions).toHaveLength(4);

    // The same table again changes nothing in the dimension tables.
    const dimsHash = readManifest(store).dimsHash;
    await run(ds, store);
    expect(readManifest(store).dimsHash).toBe(dimsHash);
  });

  it('replaces the whole table only when the operator says so (replaceCells)', async () => {
    const store = path.join(tmp.root(), 'store');
    await run(day1(), store);
    const ds = delivery('day2', { cells: 'cell_id,lon,lat\nB,0.25,0.25\n', events: { 'e.csv': `${HEADER}\n${call('2250001', '2016-01-02 08:00:00', 'B')}\n` } });
    await run(ds, store, { replaceCells: true });
    expect(regionOf(store, 'A', '2016-01-01')).toBeNull();
    expect(regionOf(store, 'B', '2016-01-01')).toBe(0);
  });
});

describe('a delivery that keeps no event row', () => {
  const allBad = [HEADER, '2250001,,A,calls,true', '2250002,2016-01-02 08:00:00,A,fax,true', ',2016-01-02 08:00:00,A,calls,true'].join('\n') + '\n';

  for (const [what, events] of [
    ['every row rejected', { 'e.csv': allBad }],
    ['header only', { 'e.csv': `${HEADER}\n` }],
  ] as const) {
    it(`leaves the store exactly as it was (${what})`, async () => {
      const store = path.join(tmp.root(), 'store');
      await run(day1(), store);
      const before = storeFiles(store);
      // New cells too: they must not reach the store either.
      const e = await failure(run(delivery('day2', { cells: 'cell_id,lon,lat\nZ,1.5,0.5\n', events }), store));
      expect(e).toBeInstanceOf(IngestError);
      expect(e!.code).toBe('NOTHING_KEPT');
      expect(e!.message).toMatch(what === 'header only' ? /found none of 0; the store is unchanged/ : /found none of 3 \(1 datetime: missing; 1 event_type: .*; 1 msisdn: missing\); the store is unchanged/);
      expect(storeFiles(store)).toEqual(before);
      expect(readManifest(store).version).toBe(1);
    });
  }

  it('is moved to the drop folder\'s .failed with the reason, the store unchanged', async () => {
    const store = path.join(tmp.root(), 'store');
    await run(day1(), store);
    const before = storeFiles(store);
    const drop = path.join(tmp.root(), 'drop');
    fs.mkdirSync(drop);
    const ds = delivery('bad', { events: { 'e.csv': allBad } });
    fs.renameSync(ds, path.join(drop, 'bad'));
    fs.writeFileSync(path.join(drop, 'bad', READY_MARKER), '');
    const folder = watchDropFolder({ dir: drop, store, keyFile: tmp.keyFile(), log: pino({ level: 'silent' }), intervalMs: 60_000 });
    try {
      await folder.scan();
    } finally {
      await folder.close();
    }
    expect(fs.readdirSync(path.join(drop, '.done'))).toEqual([]);
    expect(fs.readdirSync(path.join(drop, '.failed'))).toEqual(['bad']);
    expect(fs.readFileSync(path.join(drop, '.failed', 'bad', 'error.txt'), 'utf8')).toMatch(/expected at least one good event row, found none of 3/);
    expect(storeFiles(store)).toEqual(before);
  });
});

describe('the summary', () => {
  it("names every file's rejected rows, the cell table's too, with the report's path", async () => {
    const store = path.join(tmp.root(), 'store');
    const ds = delivery('ds', {
      cells: 'cell_id,lon,lat\nA,0.5,0.5\nB,1.5,0.5\nC,abc,0.5\nD,0.5,91\n',
      events: { 'e.csv': [HEADER, call('2250001', '2016-01-01 08:00:00', 'A'), call('2250002', '2016-01-01 09:00:00', 'B')].join('\n') + '\n' },
    });
    const summary = await run(ds, store);
    expect(summary.rejected).toBe(0); // event rows
    expect(summary.report).toBe(path.join(store, 'reports', 'ingest-v1.csv'));
    const printed = printedSummary(summary);
    expect(printed).toContain(`ingested 2 of 2 rows from 1 event file(s)`);
    expect(printed).toContain(`rejected rows (report: ${summary.report}):\n`);
    expect(printed).toContain(`         2 of 4 in ${path.join(ds, 'cells.csv')}\n`);
    expect(printed).not.toContain(path.join(ds, 'events', 'e.csv'));
    expect(fs.readFileSync(summary.report!, 'utf8').trim().split('\n')).toHaveLength(3);
  });
});

describe('messages', () => {
  const odd = 'phone,when,tower,kind,recharge_amount\n2250001,2016-01-01 08:00:00,A,calls,\n';
  for (const [format, write] of [
    ['csv (parsed here)', (dir: string) => fs.writeFileSync(path.join(dir, 'e.csv'), odd)],
    ['arrow', (dir: string) => {
      const t = tableFromArrays({ phone: ['2250001'], when: ['2016-01-01 08:00:00'], tower: ['A'], kind: ['calls'], recharge_amount: [''] } as never);
      fs.writeFileSync(path.join(dir, 'e.arrow'), tableToIPC(t, 'file'));
    }],
  ] as const) {
    it(`a missing column lists the columns found, not the ones recognised (${format})`, async () => {
      const ds = delivery('ds', { events: {} });
      write(path.join(ds, 'events'));
      const e = await failure(run(ds, path.join(tmp.root(), 'store'), { csv: { threads: 0 } }));
      expect(e!.code).toBe('MISSING_COLUMN');
      expect(e!.message).toMatch(/expected a column 'msisdn', found columns \[phone, when, tower, kind, recharge_amount\]$/);
    });
  }

  it('a missing column lists the columns found through the parse workers too', async () => {
    const ds = delivery('ds', { events: { 'e.csv': odd } });
    const e = await failure(run(ds, path.join(tmp.root(), 'store'), { csv: { threads: 2 } }));
    expect(e!.message).toMatch(/found columns \[phone, when, tower, kind, recharge_amount\]$/);
  });

  for (const threads of [0, 2]) {
    it(`an empty datetime is "missing", not out of range (threads ${threads})`, async () => {
      const rows = [HEADER, call('2250001', '2016-01-01 08:00:00', 'A'), '2250002,,A,calls,true', '2250003, ,B,calls,true'];
      const summary = await run(delivery('ds', { events: { 'e.csv': rows.join('\n') + '\n' } }), path.join(tmp.root(), 'store'), { csv: { threads } });
      expect(summary.topReasons).toEqual([['datetime: missing', 2]]);
      expect(fs.readFileSync(summary.report!, 'utf8')).toContain(`,3,datetime,missing\n`);
    });
  }
});

describe('what a killed writer left', () => {
  it('stale manifest temporaries and pending reports are removed by the next ingest and by prune', async () => {
    const store = path.join(tmp.root(), 'store');
    await run(day1(), store);
    const stale = [path.join(store, 'store.json.tmp-4242'), path.join(store, 'reports', '.pending-4242-abcd.csv')];
    for (const f of stale) fs.writeFileSync(f, 'half');
    await run(delivery('day2', { events: { 'e.csv': `${HEADER}\n${call('2250001', '2016-01-02 08:00:00', 'A')}\n` } }), store);
    for (const f of stale) expect(fs.existsSync(f), f).toBe(false);

    for (const f of stale) fs.writeFileSync(f, 'half');
    expect(pruneBefore(store, '2016-01-02').removed).toEqual(['2016-01-01']);
    for (const f of stale) expect(fs.existsSync(f), f).toBe(false);
  });
});

describe('implausible dates (issue #14)', () => {
  const TODAY = '2016-01-20';
  const rows = (...dates: string[]) => [HEADER, ...dates.map((d, i) => call(`22500${i}`, `${d} 08:00:00`, 'A'))].join('\n') + '\n';
  /** The report's rows as [line, field, reason]. */
  const reported = (file: string) =>
    fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(1).join(','));

  for (const threads of [0, 2]) {
    it(`rejects rows after tomorrow or before the plausible range, each with its line (threads ${threads})`, async () => {
      const store = path.join(tmp.root(), 'store');
      // An empty store: from twenty years before today (1996-01-20) to tomorrow.
      const first = await run(delivery('d1', { events: { 'e.csv': rows('2016-01-01', '2099-01-01', '1985-06-01', '2016-01-21', '2016-01-22') } }), store, { csv: { threads }, dates: { today: TODAY } });
      expect(first.kept).toBe(2);
      expect(first.days).toEqual(['2016-01-01', '2016-01-21']);
      expect(first.dates).toEqual({ earliest: '1996-01-20', latest: '2016-01-21' });
      const why = '"outside the plausible dates [1996-01-20, 2016-01-21] (--earliest, --latest)"';
      expect(reported(first.report!)).toEqual([`3,datetime,${why}`, `4,datetime,${why}`, `6,datetime,${why}`]);

      // With days stored: from a year before the oldest (2016-01-01 - 366 days).
      const second = await run(delivery('d2', { events: { 'e.csv': rows('1999-12-31', '2016-01-02', '2014-12-31', '2014-12-30') } }), store, { csv: { threads }, dates: { today: TODAY } });
      expect(second.kept).toBe(2);
      expect(second.days).toEqual(['2014-12-31', '2016-01-02']);
      const why2 = '"outside the plausible dates [2014-12-31, 2016-01-21] (--earliest, --latest)"';
      expect(reported(second.report!)).toEqual([`2,datetime,${why2}`, `5,datetime,${why2}`]);
      expect(Store.open(store).days()).toEqual(['2014-12-31', '2016-01-01', '2016-01-02', '2016-01-21']);
    });
  }

  it('the typed-file path applies the same range (arrow)', async () => {
    const ds = delivery('ds', { events: {} });
    const t = tableFromArrays({ msisdn: ['1', '2', '3'], datetime: ['2016-01-01 08:00:00', '2099-01-01 08:00:00', '1999-01-01 00:00:00'], cell_id: ['A', 'A', 'A'], event_type: ['calls', 'calls', 'calls'], outgoing: ['true', 'true', 'true'] } as never);
    fs.writeFileSync(path.join(ds, 'events', 'e.arrow'), tableToIPC(t, 'file'));
    const s = await run(ds, path.join(tmp.root(), 'store'), { dates: { today: TODAY, earliest: '2000-01-01' } });
    expect(s.kept).toBe(1);
    const why = '"outside the plausible dates [2000-01-01, 2016-01-21] (--earliest, --latest)"';
    expect(reported(s.report!)).toEqual([`2,datetime,${why}`, `3,datetime,${why}`]);
  });

  it('the operator widens the range explicitly', async () => {
    const s = await run(delivery('ds', { events: { 'e.csv': rows('1990-05-05', '2016-01-01') } }), path.join(tmp.root(), 'store'), { dates: { today: TODAY, earliest: '1990-01-01' } });
    expect(s.kept).toBe(2);
    await expect(run(delivery('ds2', { events: { 'e.csv': rows('2016-01-01') } }), path.join(tmp.root(), 'store2'), { dates: { earliest: '2016-13-01' } })).rejects.toThrow(
      /--earliest: expected a date YYYY-MM-DD, found "2016-13-01"/,
    );
  });

  it('retention counts from the newest plausible day, never from a day in the future', async () => {
    const store = path.join(tmp.root(), 'store');
    // A store that already holds a day dated 2099 (as before this check existed).
    await run(delivery('ds', { events: { 'e.csv': rows('2016-01-01', '2016-01-02', '2016-01-03', '2016-01-04', '2099-01-01') } }), store, { dates: { latest: '2099-12-31' } });
    const { retentionHorizon, futureDays } = await import('../../server/store/retention.js');
    expect(retentionHorizon(store, 2, '2016-01-10')).toBe('2016-01-03');
    expect(futureDays(store, '2016-01-10')).toEqual(['2099-01-01']);
    pruneBefore(store, retentionHorizon(store, 2, '2016-01-10')!);
    expect(Store.open(store).days()).toEqual(['2016-01-03', '2016-01-04', '2099-01-01']);
    // Nothing plausible stored: counted from today.
    expect(retentionHorizon(store, 30, '2015-06-30')).toBe('2015-06-01');
  });
});

describe('accepted, but likely wrong (issue #14)', () => {
  it('counts cell ids without any cells.csv row and cells outside every region, and prints them', async () => {
    const ds = delivery('ds', {
      cells: 'cell_id,lon,lat\nA,0.5,0.5\nB,1.5,0.5\nN,9,9\n',
      events: { 'e.csv': [HEADER, call('2250001', '2016-01-01 08:00:00', 'A'), call('2250002', '2016-01-01 08:00:00', 'X'), call('2250003', '2016-01-01 08:00:00', 'Y'), call('2250004', '2016-01-01 08:00:00', 'X'), call('2250005', '2016-01-01 08:00:00', 'N')].join('\n') + '\n' },
    });
    const summary = await run(ds, path.join(tmp.root(), 'store'));
    expect(summary.kept).toBe(5);
    expect(summary.warnings).toEqual([
      ['cell ids named by events but in no cells.csv row (their events have no location)', 2],
      ['cell versions outside every admin1 region', 1],
    ]);
    const printed = printedSummary(summary);
    expect(printed).toContain('accepted, but check:\n           2  cell ids named by events but in no cells.csv row (their events have no location)\n           1  cell versions outside every admin1 region\n');
  });
});

describe('ids that are not UTF-8 (issue #14)', () => {
  for (const threads of [0, 2]) {
    it(`are counted once per id and printed (threads ${threads})`, async () => {
      const ds = delivery('ds', { events: {} });
      const bytes = Buffer.concat([
        Buffer.from(`${HEADER}\n`),
        Buffer.from([0xff, 0xfe]), Buffer.from(',2016-01-01 08:00:00,A,calls,true\n'),
        Buffer.from([0xfe, 0xff]), Buffer.from(',2016-01-01 09:00:00,A,calls,true\n'),
        Buffer.from('2250001,2016-01-01 10:00:00,'), Buffer.from([0xe9]), Buffer.from(',calls,true\n'),
        Buffer.from('2250001,2016-01-01 11:00:00,'), Buffer.from([0xe9]), Buffer.from(',calls,true\n'),
      ]);
      fs.writeFileSync(path.join(ds, 'events', 'e.csv'), bytes);
      const store = path.join(tmp.root(), 'store');
      const summary = await run(ds, store, { csv: { threads } });
      expect(summary.kept).toBe(4);
      // Both broken msisdns read as the same text, hence one subscriber: exactly why it is worth a warning.
      expect(readManifest(store).subscribers).toBe(2);
      expect(summary.warnings).toContainEqual(['ids not valid UTF-8 (read with U+FFFD: distinct ids may have become one)', 2]);
    });
  }

  /** Utf8 (or Binary) values from raw bytes, valid UTF-8 or not. */
  const bytesVector = (type: Utf8 | Binary, values: Buffer[]) => {
    const valueOffsets = new Int32Array(values.length + 1);
    values.forEach((v, i) => (valueOffsets[i + 1] = valueOffsets[i]! + v.length));
    return makeVector(makeData({ type, length: values.length, nullCount: 0, valueOffsets, data: Buffer.concat(values) }));
  };
  // The same ids as the CSV above: two broken msisdns that read alike, one broken cell id on two rows.
  const MSISDNS = [Buffer.from([0xff, 0xfe]), Buffer.from([0xfe, 0xff]), Buffer.from('2250001'), Buffer.from('2250001')];
  const CELL_IDS = [Buffer.from('A'), Buffer.from('A'), Buffer.from([0xe9]), Buffer.from([0xe9])];
  const TIMES = ['2016-01-01 08:00:00', '2016-01-01 09:00:00', '2016-01-01 10:00:00', '2016-01-01 11:00:00'];

  for (const type of [new Utf8(), new Binary()]) {
    it(`are counted once per id in an Arrow file too (${type})`, async () => {
      const ds = delivery('ds', { events: {} });
      const table = new Table({
        msisdn: bytesVector(type, MSISDNS),
        datetime: vectorFromArray(TIMES, new Utf8()),
        cell_id: bytesVector(type, CELL_IDS),
        event_type: vectorFromArray(['calls', 'calls', 'calls', 'calls'], new Utf8()),
        outgoing: vectorFromArray([true, true, true, true], new Bool()),
      });
      fs.writeFileSync(path.join(ds, 'events', 'e.arrow'), tableToIPC(table, 'file'));
      const store = path.join(tmp.root(), 'store');
      const summary = await run(ds, store);
      expect(summary.kept).toBe(4);
      expect(readManifest(store).subscribers).toBe(2);
      expect(summary.warnings).toContainEqual(['ids not valid UTF-8 (read with U+FFFD: distinct ids may have become one)', 2]);
    });
  }

  it('are counted once per id in a Parquet binary column; a Parquet UTF8 column with them is refused whole, naming the file', async () => {
    const parquet = createRequire(import.meta.url)('parquetjs-lite');
    const write = async (file: string, idType: string) => {
      const schema = new parquet.ParquetSchema({ msisdn: { type: idType }, datetime: { type: 'UTF8' }, cell_id: { type: idType }, event_type: { type: 'UTF8' }, outgoing: { type: 'UTF8' } });
      const writer = await parquet.ParquetWriter.openFile(schema, file);
      for (let i = 0; i < 4; i++) await writer.appendRow({ msisdn: MSISDNS[i], datetime: TIMES[i], cell_id: CELL_IDS[i], event_type: 'calls', outgoing: 'true' });
      await writer.close();
    };
    const ds = delivery('ds', { events: {} });
    await write(path.join(ds, 'events', 'e.parquet'), 'BYTE_ARRAY');
    const store = path.join(tmp.root(), 'store');
    const summary = await run(ds, store);
    expect(summary.kept).toBe(4);
    expect(readManifest(store).subscribers).toBe(2);
    expect(summary.warnings).toContainEqual(['ids not valid UTF-8 (read with U+FFFD: distinct ids may have become one)', 2]);
    // Parquet's reader checks a UTF8 column's bytes itself: such a file never reaches the store, so nothing is merged unseen.
    const bad = delivery('bad', { events: {} });
    const file = path.join(bad, 'events', 'e.parquet');
    await write(file, 'UTF8');
    const e = await failure(run(bad, path.join(tmp.root(), 'store2')));
    expect(e).toBeInstanceOf(IngestError);
    expect(e!.message).toContain(file);
    expect(e!.message).toContain('non UTF-8');
  });
});

describe('regions whose ring crosses itself (issue #14)', () => {
  it('are counted per level and reported with the file', async () => {
    const { crossesItself } = await import('../../server/ingest/rings.js');
    expect(crossesItself(square(0)[0]!)).toBe(false);
    const bowtie = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]];
    expect(crossesItself(bowtie)).toBe(true);
    const ds = delivery('ds', { events: { 'e.csv': `${HEADER}\n${call('2250001', '2016-01-01 08:00:00', 'A')}\n` } });
    const file = path.join(ds, 'regions', 'admin1.geojson');
    const regions = structuredClone(REGIONS);
    regions.features[1]!.geometry.coordinates = [[[1, 0], [2, 1], [2, 0], [1, 1], [1, 0]]];
    fs.writeFileSync(file, JSON.stringify(regions));
    const summary = await run(ds, path.join(tmp.root(), 'store'));
    expect(summary.warnings).toContainEqual([`admin1 regions with a ring that crosses itself (${file})`, 1]);
    // The well-formed delivery has none.
    const clean = await run(day1(), path.join(tmp.root(), 'store2'));
    expect(clean.warnings).toEqual([]);
  });
});
