/**
 * The side-by-side bench's peers give Opalite's rows: every query in bench/duckdb/ (on both
 * layouts) and every Polars query in bench/polars.ts, on a small generated store, equal to
 * the engine's published rows. The bench checks this again at every size before it times
 * anything; this keeps a change to the SQL, the Polars code or the engine from slipping
 * through unnoticed between bench runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pl from 'nodejs-polars';
import { Engine } from '../../server/engine/engine.js';
import { generate } from '../../server/generate/index.js';
import { ingest } from '../../server/ingest/ingest.js';
import type { Row } from '../../server/privacy/redact.js';
import { Store } from '../../server/store/reader.js';
import { mainKinds } from '../../bench/kinds.js';
import { compareRows, fill, params, PEER_KINDS, toRow, UNIT, type Params } from '../../bench/peer-kinds.js';
import { duckLoad, exportParquet, sqlFile } from '../../bench/peer.js';
import { polarsQueries } from '../../bench/polars.js';

let root: string;
let engine: Engine;
let p: Params;
let pcods: string[];
let specs: Map<string, object>;
const duck: Record<'file' | 'sorted', DuckDBConnection> = {} as never;
let polars: ReturnType<typeof polarsQueries>;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-peers-'));
  const dataset = path.join(root, 'ds');
  const storeDir = path.join(root, 'store');
  // Enough subscribers that most regions publish at k = 15, small enough for a second's work.
  await generate({ out: dataset, subscribers: 3000, days: 7, seed: 42, format: 'csv', scenario: 'displacement' });
  const saved = process.env.OPALITE_PSEUDONYM_KEY;
  process.env.OPALITE_PSEUDONYM_KEY = '5a'.repeat(32);
  await ingest({ dataset, store: storeDir });
  if (saved === undefined) delete process.env.OPALITE_PSEUDONYM_KEY;
  else process.env.OPALITE_PSEUDONYM_KEY = saved;

  const store = Store.open(storeDir);
  const days = store.days();
  const dims = store.dims();
  pcods = dims.regions.find((l) => l.unit === UNIT)!.regions.map((r) => r.pcod);
  p = params(days, dims.cells.ids.length, days.reduce((n, d) => n + store.day(d).rows, 0));
  specs = new Map(mainKinds(days, UNIT));
  store.release();

  const peers = path.join(root, 'peers');
  await exportParquet({ store: storeDir, peers, params: p });
  for (const layout of ['file', 'sorted'] as const) {
    const con = await (await DuckDBInstance.create(':memory:')).connect();
    await con.run('SET threads = 2');
    await duckLoad(con, { peers, params: p }, layout === 'sorted');
    duck[layout] = con;
  }
  polars = polarsQueries(pl.readParquet(path.join(peers, 'events.parquet')), pl.readParquet(path.join(peers, 'cell_region.parquet')), p);
  engine = Engine.open(storeDir, { threads: 0, cacheEntries: 0 });
});

afterAll(async () => {
  await engine?.close();
  for (const con of Object.values(duck)) con.closeSync();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('the bench peers give Opalite\'s published rows', () => {
  for (const kind of PEER_KINDS) {
    it(kind.name, async () => {
      const mine = (await engine.run(specs.get(kind.name)!)).rows as Row[];
      // A check that compares nothing proves little: the small store publishes rows for every kind
      // but one. An hourly series needs more than k subscribers in each of its 144 hours, which no
      // region of 3,000 subscribers has (the bench checks that kind's 144+ rows from 2 M events up).
      if (kind.name === 'location_event_counts hourly') expect(mine).toEqual([]);
      else expect(mine.length).toBeGreaterThan(0);
      const sql = fill(sqlFile(kind.file), p, kind.file);
      for (const layout of ['file', 'sorted'] as const) {
        const rows = (await duck[layout].runAndReadAll(sql)).getRows().map((r) => toRow(kind.shape, pcods, r.map(Number)));
        expect(compareRows(mine, rows, `DuckDB (${layout})`)).toBeNull();
      }
      const rows = (await polars[kind.file]!().collect()).rows().map((r) => toRow(kind.shape, pcods, r as number[]));
      expect(compareRows(mine, rows, 'Polars')).toBeNull();
    });
  }
});

describe('the check itself', () => {
  it('reports a changed value, a missing row and an extra one', () => {
    const a: Row[] = [{ pcod: 'XX01', value: 20 }, { pcod: 'XX02', value: 30 }];
    expect(compareRows(a, [{ pcod: 'XX01', value: 20 }, { pcod: 'XX02', value: 30 }], 'peer')).toBeNull();
    expect(compareRows(a, [{ pcod: 'XX01', value: 21 }, { pcod: 'XX02', value: 30 }], 'peer')).toMatch(/XX01: Opalite 20, peer 21/);
    expect(compareRows(a, [{ pcod: 'XX01', value: 20 }], 'peer')).toMatch(/XX02: Opalite 30, peer none/);
    expect(compareRows(a, [...a, { pcod: 'XX03', value: 16 }], 'peer')).toMatch(/XX03: Opalite none, peer 16/);
  });

  it('compares total_network_objects\' datetime with a peer\'s hour number', () => {
    // Hour 403,225 since 1970 is 2016-01-01 01:00 (16,801 days x 24 + 1).
    expect(toRow('region-hour', ['XX01'], [0, 403_225, 7])).toEqual({ pcod: 'XX01', date: '2016-01-01', hour: 1, value: 7 });
    expect(compareRows([{ pcod: 'XX01', datetime: '2016-01-01 01:00:00', value: 7 }], [toRow('region-hour', ['XX01'], [0, 403_225, 7])], 'peer')).toBeNull();
  });

  it('refuses a query file with a placeholder it has no value for', () => {
    expect(() => fill('-- {{ignored}} in a comment\nSELECT {{k}} + {{nope}}', { k: 15 }, 'x.sql')).toThrow('x.sql: expected a value for {{nope}}, found none');
    expect(fill('-- {{ignored}}\nSELECT {{k}}', { k: 15 }, 'x.sql')).toBe('SELECT 15');
  });
});
