/**
 * Opalite against DuckDB on the same data, the same machine, in one run (issue #4).
 *
 * Loads the store the bench/run.ts dataset produced (generating and ingesting it
 * when missing) into Opalite's engine and, column for column, into DuckDB tables:
 *
 *   events(rn, sub, t, cell, kind)              the store's raw day columns; rn = global row
 *                                                number in store order (days ascending, ingest
 *                                                order within a day), so (t, rn) is the spec's
 *                                                tie order
 *   cell_region(day, cell, region, lon, lat)    the cell version valid that day (versionsOn) and its
 *                                                admin3 region index (-1 outside every region)
 *
 * then, per kind, runs Opalite's spec and a DuckDB SQL query written to docs/QUERIES.md's
 * semantics, checks the published (redacted, k = 15) rows are equal, and only then
 * times both (best of 3 after a warm-up). Writes bench/DUCKDB.md.
 *
 *   npm run build && npm run bench -- [--events N] [--threads 2] [--no-ingest] [--prejoin]
 *
 * --prejoin gives DuckDB the admin3 region of every event materialised at load
 * (table located_admin3), so its queries skip the (day, cell) join: DuckDB's best
 * case, at the price of a load per unit. Results go to a separate section.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { DuckDBInstance, DuckDBDataChunk, UINTEGER, UTINYINT, type DuckDBConnection } from '@duckdb/node-api';
import { Engine } from '../server/engine/engine.js';
import { ingest } from '../server/ingest/ingest.js';
import type { Row } from '../server/privacy/redact.js';
import { Store } from '../server/store/reader.js';
import { benchData, ensureStore } from './datasets.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const K = 15;
const UNIT = 'admin3';

const o = new Command('bench-duckdb')
  .option('--events <n>', 'approximate number of events', (v) => Number(v), 2_000_000)
  .option('--threads <n>', 'Opalite worker threads and DuckDB threads', (v) => Number(v), 2)
  .option('--no-ingest', 'skip the CSV ingest comparison')
  .option('--prejoin', 'DuckDB reads a table with each event\'s admin3 region materialised at load')
  .option('--duckdb-memory <size>', "DuckDB's memory_limit (the machine is shared: a query past it fails instead of swapping others out)", '12GB')
  .option('--dir <dir>', 'where datasets and stores are kept', path.join(ROOT, 'bench', 'data'))
  .option('--out <file>', 'results file', path.join(ROOT, 'bench', 'DUCKDB.md'))
  .parse(process.argv)
  .opts<{ events: number; threads: number; ingest: boolean; prejoin?: boolean; duckdbMemory: string; dir: string; out: string }>();

process.env.OPALITE_PSEUDONYM_KEY ??= 'be'.repeat(32);
const { subscribers, dataset, store: storeDir } = benchData(o.events, o.dir);
const now = () => performance.now();
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

await ensureStore(o.events, o.dir);

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`SET threads = ${o.threads}`);
await con.run(`SET memory_limit = '${o.duckdbMemory}'`);
const duckThreads = Number((await con.runAndReadAll(`SELECT current_setting('threads')`)).getRows()[0]![0]);
const q = async (sql: string) => (await con.runAndReadAll(sql)).getRows();

// ---------------------------------------------------------------- ingest: CSV -> Opalite store vs CSV -> DuckDB table
const ingestRows: string[][] = [];
if (o.ingest) {
  const csv = path.join(dataset, 'events');
  const files = fs.readdirSync(csv).filter((f) => f.endsWith('.csv')).map((f) => path.join(csv, f));
  const tmpStore = path.join(o.dir, `.duckdb-ingest-${subscribers}`);
  fs.rmSync(tmpStore, { recursive: true, force: true });
  let t0 = now();
  const ing = await ingest({ dataset, store: tmpStore });
  const opaliteS = (now() - t0) / 1000;
  fs.rmSync(tmpStore, { recursive: true, force: true });
  t0 = now();
  await con.run(`CREATE TABLE raw_events AS SELECT * FROM read_csv([${files.map((f) => `'${f}'`).join(', ')}], header = true)`);
  const duckS = (now() - t0) / 1000;
  const n = Number((await q('SELECT count(*) FROM raw_events'))[0]![0]);
  await con.run('DROP TABLE raw_events');
  ingestRows.push(['CSV ingest (Opalite: parse, validate, pseudonymise, store; DuckDB: read_csv into a table)', (opaliteS * 1000).toFixed(0), (duckS * 1000).toFixed(0), (duckS / opaliteS).toFixed(2), `${fmt(ing.rows / opaliteS)} / ${fmt(n / duckS)}`]);
  log(`ingest: Opalite ${opaliteS.toFixed(2)} s (${fmt(ing.rows)} rows), DuckDB read_csv ${duckS.toFixed(2)} s (${fmt(n)} rows)`);
}

// ---------------------------------------------------------------- Opalite: load the store
let t0 = now();
// cacheEntries 0: no result cache, so every timed run computes.
const engine = Engine.open(storeDir, { threads: o.threads, cacheEntries: 0 });
const opaliteLoadS = (now() - t0) / 1000;
const store = engine.store;
const days = store.days();
const dayNum = (d: string) => Date.UTC(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10)) / 86_400_000;
const dayIso = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10);
const rowsOf = new Map(days.map((d) => [d, store.day(d).rows]));
const totalRows = days.reduce((n, d) => n + rowsOf.get(d)!, 0);
log(`Opalite loaded ${fmt(totalRows)} events in ${opaliteLoadS.toFixed(2)} s`);

// ---------------------------------------------------------------- DuckDB: the same columns
await con.run('CREATE TABLE events (rn UINTEGER, sub UINTEGER, t UINTEGER, cell UINTEGER, kind UTINYINT)');
await con.run('CREATE TABLE cell_region (day INTEGER, cell UINTEGER, region INTEGER, lon DOUBLE, lat DOUBLE)');
const { cells, regions } = store.dims();
const level = regions.find((l) => l.unit === UNIT);
if (!level) throw new Error(`no ${UNIT} in the store`);
const pcods = level.regions.map((r) => r.pcod);
const unitRegion = cells.regions[UNIT]!;
t0 = now();
{
  const app = await con.createAppender('events');
  const CH = 2048;
  const chunk = DuckDBDataChunk.create([UINTEGER, UINTEGER, UINTEGER, UINTEGER, UTINYINT], CH);
  let rn = 0;
  for (const d of days) {
    const sub = store.readColumn(d, 'sub') as Uint32Array;
    const t = store.readColumn(d, 't') as Uint32Array;
    const cell = store.readColumn(d, 'cell') as Uint32Array;
    const kind = store.readColumn(d, 'kind') as Uint8Array;
    const n = sub.length;
    const rns = new Array<number>(CH);
    for (let i = 0; i < n; i += CH) {
      const m = Math.min(CH, n - i);
      if (m !== CH) chunk.reset();
      chunk.rowCount = m;
      for (let j = 0; j < m; j++) rns[j] = rn + i + j;
      chunk.setColumns([
        m === CH ? rns : rns.slice(0, m),
        Array.from(sub.subarray(i, i + m)),
        Array.from(t.subarray(i, i + m)),
        Array.from(cell.subarray(i, i + m)),
        Array.from(kind.subarray(i, i + m)),
      ]);
      app.appendDataChunk(chunk);
    }
    rn += n;
  }
  app.flushSync();
  app.closeSync();
  const ca = await con.createAppender('cell_region');
  for (const d of days) {
    const dn = dayNum(d);
    const ver = cells.versionsOn(dn);
    for (let c = 0; c < ver.length; c++) {
      const v = ver[c]!;
      if (v < 0) continue;
      const cv = cells.versions[v]!;
      ca.appendInteger(dn);
      ca.appendUInteger(c);
      ca.appendInteger(unitRegion[v]!);
      ca.appendDouble(cv.lon);
      ca.appendDouble(cv.lat);
      ca.endRow();
    }
  }
  ca.flushSync();
  ca.closeSync();
}
if (o.prejoin) {
  await con.run(`CREATE TABLE located_admin3 AS
    SELECT e.rn, e.sub, e.t, e.kind, c.region FROM events e JOIN cell_region c ON c.day = e.t // 86400 AND c.cell = e.cell
    WHERE c.region >= 0 ORDER BY e.rn`);
}
const duckLoadS = (now() - t0) / 1000;
const duckCount = Number((await q('SELECT count(*) FROM events'))[0]![0]);
if (duckCount !== totalRows) throw new Error(`DuckDB holds ${duckCount} events, the store ${totalRows}`);
log(`DuckDB loaded ${fmt(duckCount)} events from the store's columns in ${duckLoadS.toFixed(2)} s`);

// ---------------------------------------------------------------- the kinds
const D = days.map(dayNum);
const d0 = D[0]!;
const d1 = D[1]!;
const dLast = D.at(-1)!;
const sec = (d: number) => d * 86400;
/** Order key of an event: (t, rn) packed into one UBIGINT (t < 2^32, rn < 2^32). */
const KEY = '((e.t::UBIGINT << 32) | e.rn)';
/** Located calls and sms (the default event_types) in [from, to) days, admin3. */
const located = (from: number, to: number) => o.prejoin
  ? `
  SELECT e.rn, e.sub, e.t, e.region, ${KEY} AS k FROM located_admin3 e
  WHERE e.t >= ${sec(from)} AND e.t < ${sec(to)} AND (e.kind & 3) < 2`
  : `
  SELECT e.rn, e.sub, e.t, c.region, ${KEY} AS k
  FROM events e JOIN cell_region c ON c.day = e.t // 86400 AND c.cell = e.cell
  WHERE e.t >= ${sec(from)} AND e.t < ${sec(to)} AND (e.kind & 3) < 2 AND c.region >= 0`;
const dailyLast = (d: number) => `SELECT sub, arg_max(region, k) AS region FROM (${located(d, d + 1)}) GROUP BY sub`;
const dailyMostCommon = (d: number) => `
  SELECT sub, arg_max(region, {'n': n, 'k': mk}) AS region FROM (
    SELECT sub, region, count(*) AS n, max(k) AS mk FROM (${located(d, d + 1)}) GROUP BY sub, region
  ) GROUP BY sub`;
/**
 * modal_location of daily last over consecutive days: each day's last location in one
 * scan (grouped by sub and day), then most days, ties to the location seen on the latest day.
 */
const modal = (ds: number[]) => {
  if (ds.some((d, i) => d !== ds[0]! + i)) throw new Error('modal: consecutive days expected');
  return `
  SELECT sub, arg_max(region, {'n': n, 'd': md}) AS region FROM (
    SELECT sub, region, count(*) AS n, max(day) AS md FROM (
      SELECT sub, t // 86400 AS day, arg_max(region, k) AS region FROM (${located(ds[0]!, ds.at(-1)! + 1)}) GROUP BY sub, day
    ) GROUP BY sub, region
  ) GROUP BY sub`;
};
const spatial = (locs: string) => `SELECT region, count(*) AS value FROM (${locs}) GROUP BY region HAVING count(*) > ${K}`;

interface Kind {
  name: string;
  spec: object;
  sql: string;
  /** DuckDB row -> the engine's row. */
  row: (r: readonly unknown[]) => Row;
  events: number;
}
const rowsIn = (from: number, to: number) => days.filter((d) => dayNum(d) >= from && dayNum(d) < to).reduce((n, d) => n + rowsOf.get(d)!, 0);
const daily = (date: number, method: string) => ({ query_kind: 'daily_location', date: dayIso(date), method, aggregation_unit: UNIT });
const byRegion = (r: readonly unknown[]): Row => ({ pcod: pcods[Number(r[0])]!, value: Number(r[1]) });
const od = (r: readonly unknown[]): Row => ({ pcod_from: pcods[Number(r[0])]!, pcod_to: pcods[Number(r[1])]!, value: Number(r[2]) });
const window = { start_date: dayIso(d0), end_date: dayIso(dLast), aggregation_unit: UNIT };

const kinds: Kind[] = [
  {
    name: 'spatial_aggregate daily last',
    spec: { query_kind: 'spatial_aggregate', locations: daily(d1, 'last') },
    sql: spatial(dailyLast(d1)),
    row: byRegion,
    events: rowsIn(d1, d1 + 1),
  },
  {
    name: 'spatial_aggregate daily most-common',
    spec: { query_kind: 'spatial_aggregate', locations: daily(d1, 'most-common') },
    sql: spatial(dailyMostCommon(d1)),
    row: byRegion,
    events: rowsIn(d1, d1 + 1),
  },
  {
    name: 'spatial_aggregate modal 7 days',
    spec: { query_kind: 'spatial_aggregate', locations: { query_kind: 'modal_location', locations: D.slice(0, 7).map((d) => daily(d, 'last')) } },
    sql: spatial(modal(D.slice(0, 7))),
    row: byRegion,
    events: rowsIn(d0, D.slice(0, 7).at(-1)! + 1),
  },
  {
    name: 'flows daily last',
    spec: { query_kind: 'flows', from_location: daily(d0, 'last'), to_location: daily(dLast, 'last') },
    sql: `SELECT a.region, b.region, count(*) FROM (${dailyLast(d0)}) a JOIN (${dailyLast(dLast)}) b USING (sub)
          GROUP BY a.region, b.region HAVING count(*) > ${K}`,
    row: od,
    events: rowsIn(d0, d0 + 1) + rowsIn(dLast, dLast + 1),
  },
  {
    name: 'unique_subscriber_counts 6 days',
    spec: { query_kind: 'unique_subscriber_counts', ...window },
    sql: `SELECT region, count(DISTINCT sub) FROM (${located(d0, dLast)}) GROUP BY region HAVING count(DISTINCT sub) > ${K}`,
    row: byRegion,
    events: rowsIn(d0, dLast),
  },
  {
    name: 'location_event_counts hourly 6 days',
    spec: { query_kind: 'location_event_counts', ...window, interval: 'hour', direction: 'both' },
    // A location's series is published only if every bucket has more than k distinct subscribers.
    sql: `WITH b AS (SELECT region, t // 3600 AS h, count(*) AS n, count(DISTINCT sub) AS s FROM (${located(d0, dLast)}) GROUP BY region, h)
          SELECT region, h, n FROM b WHERE region IN (SELECT region FROM b GROUP BY region HAVING min(s) > ${K})`,
    row: (r) => {
      const h = Number(r[1]);
      return { pcod: pcods[Number(r[0])]!, date: dayIso(Math.floor(h / 24)), hour: h % 24, value: Number(r[2]) };
    },
    events: rowsIn(d0, dLast),
  },
  {
    name: 'consecutive_trips_od_matrix 6 days',
    spec: { query_kind: 'consecutive_trips_od_matrix', ...window },
    sql: `SELECT a, b, count(DISTINCT sub) FROM (
            SELECT sub, region AS a, lead(region) OVER (PARTITION BY sub ORDER BY k) AS b FROM (${located(d0, dLast)})
          ) WHERE b IS NOT NULL GROUP BY a, b HAVING count(DISTINCT sub) > ${K}`,
    row: od,
    events: rowsIn(d0, dLast),
  },
  {
    name: 'joined_spatial_aggregate rog avg (modal 7 days)',
    spec: {
      query_kind: 'joined_spatial_aggregate',
      locations: { query_kind: 'modal_location', locations: D.slice(0, 7).map((d) => daily(d, 'last')) },
      metric: { query_kind: 'radius_of_gyration', start_date: dayIso(d0), end_date: dayIso(dLast) },
      method: 'avg',
    },
    // radius_of_gyration: events with a valid cell version (any region), centroid = mean lon/lat.
    sql: `WITH ev AS (
            SELECT e.sub, c.lon, c.lat FROM events e JOIN cell_region c ON c.day = e.t // 86400 AND c.cell = e.cell
            WHERE e.t >= ${sec(d0)} AND e.t < ${sec(dLast)} AND (e.kind & 3) < 2),
          cen AS (SELECT sub, avg(lon) AS clon, avg(lat) AS clat FROM ev GROUP BY sub),
          rog AS (
            SELECT ev.sub, sqrt(avg(pow(2 * 6371.0088 * asin(least(1, sqrt(
              pow(sin(radians(ev.lat - cen.clat) / 2), 2) + cos(radians(cen.clat)) * cos(radians(ev.lat)) * pow(sin(radians(ev.lon - cen.clon) / 2), 2)
            ))), 2))) AS v
            FROM ev JOIN cen USING (sub) GROUP BY ev.sub),
          loc AS (${modal(D.slice(0, 7))})
          SELECT loc.region, avg(rog.v) FROM loc JOIN rog USING (sub) GROUP BY loc.region HAVING count(*) > ${K}`,
    row: byRegion,
    events: totalRows,
  },
];

// ---------------------------------------------------------------- check, then time
const keyOf = (r: Row) => Object.entries(r).filter(([c]) => c !== 'value').map(([c, v]) => `${c}=${v}`).join(',');
function compare(a: Row[], b: Row[]): string | null {
  const ma = new Map(a.map((r) => [keyOf(r), r.value as number]));
  const mb = new Map(b.map((r) => [keyOf(r), r.value as number]));
  const diffs: string[] = [];
  for (const [k, v] of ma) {
    const w = mb.get(k);
    if (w === undefined) diffs.push(`${k}: Opalite ${v}, DuckDB none`);
    else if (!(v === w || Math.abs(v - w) <= 1e-9 * Math.max(Math.abs(v), Math.abs(w)))) diffs.push(`${k}: Opalite ${v}, DuckDB ${w}`);
  }
  for (const [k, w] of mb) if (!ma.has(k)) diffs.push(`${k}: Opalite none, DuckDB ${w}`);
  if (ma.size !== a.length || mb.size !== b.length) diffs.push(`duplicate keys (Opalite ${a.length} rows/${ma.size} keys, DuckDB ${b.length}/${mb.size})`);
  return diffs.length ? `${diffs.length} differences (Opalite ${a.length} rows, DuckDB ${b.length}): ${diffs.slice(0, 5).join('; ')}` : null;
}
async function best(f: () => Promise<unknown>): Promise<number> {
  await f(); // warm-up
  let b = Infinity;
  for (let i = 0; i < 3; i++) {
    const s = now();
    await f();
    b = Math.min(b, now() - s);
  }
  return b;
}

const only = process.env.OPALITE_DUCKDB_KINDS?.split(',');
const table: string[][] = [];
const notes: string[] = [];
for (const kind of kinds) {
  if (only && !only.some((s) => kind.name.includes(s))) continue;
  const mine = await engine.run(kind.spec);
  let theirs: Row[];
  try {
    theirs = (await q(kind.sql)).map((r) => kind.row(r));
  } catch (e) {
    const msg = `${kind.name}: DuckDB failed: ${(e as Error).message.split('\n')[0]}`;
    log(msg);
    notes.push(msg);
    table.push([kind.name, '-', '-', '-', '-', '-', `not timed: DuckDB error`]);
    continue;
  }
  const diff = compare(mine.rows, theirs);
  if (diff) {
    log(`${kind.name}: NOT EQUAL: ${diff}`);
    notes.push(`${kind.name}: not equal, not timed. ${diff}`);
    table.push([kind.name, '-', '-', '-', '-', '-', `not equal (${mine.rows.length} vs ${theirs.length} rows)`]);
    continue;
  }
  const opMs = await best(() => engine.run(kind.spec));
  const duckMs = await best(() => q(kind.sql));
  log(`${kind.name}: equal (${mine.rows.length} rows); Opalite ${opMs.toFixed(1)} ms, DuckDB ${duckMs.toFixed(1)} ms`);
  table.push([kind.name, opMs.toFixed(1), duckMs.toFixed(1), (duckMs / opMs).toFixed(2), fmt(kind.events / (opMs / 1000)), fmt(kind.events / (duckMs / 1000)), `equal, ${mine.rows.length} rows`]);
}
await engine.close();

// ---------------------------------------------------------------- report
const rss = process.resourceUsage().maxRSS * 1024;
const cpu = os.cpus();
const machine = `${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores (availableParallelism ${os.availableParallelism()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;
const md = (rows: string[][]) => rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
const head = ['kind', 'Opalite ms', 'DuckDB ms', 'ratio DuckDB/Opalite', 'Opalite events/s', 'DuckDB events/s', 'check'];
const title = `## ${fmt(totalRows)} events${o.prejoin ? ', DuckDB with admin3 materialised per event (--prejoin)' : ''}`;
const text = `${title}

${fmt(totalRows)} events (${subscribers.toLocaleString('en-US')} subscribers, ${days.length} days, ${days[0]} to ${days.at(-1)}), unit ${UNIT}, k = ${K}.
Opalite: ${o.threads} worker thread(s), no result cache (cacheEntries 0). DuckDB ${(await q('SELECT version()'))[0]![0]}: threads = ${duckThreads}, memory_limit = ${o.duckdbMemory}, in-memory${o.prejoin ? '; its location queries read located_admin3 (region per event joined once at load, included in its load time), the radius of gyration still joins cell_region' : ''}.

Machine: ${machine}. One run; read ratios within the run.

Rows were checked equal (published rows, k = ${K}; floats to 1e-9 relative) before timing. Times: best of 3 after a warm-up;
DuckDB's include reading the result rows back into JS. events/s = events of the days a kind scans / time.

| load | Opalite ms | DuckDB ms | ratio DuckDB/Opalite | events/s (Opalite / DuckDB) |
| --- | --- | --- | --- | --- |
${md([
  ['store columns into memory (Opalite: Engine.open; DuckDB: readColumn + appender into events, cell_region built from versionsOn)', (opaliteLoadS * 1000).toFixed(0), (duckLoadS * 1000).toFixed(0), (duckLoadS / opaliteLoadS).toFixed(2), `${fmt(totalRows / opaliteLoadS)} / ${fmt(totalRows / duckLoadS)}`],
  ...ingestRows,
])}

${md([head, head.map(() => '---'), ...table])}

Peak RSS of the process (both engines, one process): ${(rss / 2 ** 30).toFixed(2)} GiB.
${notes.length ? `\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
console.log(text);
// One section per dataset size; a rerun replaces its own section and keeps the others.
if (!process.env.OPALITE_DUCKDB_KINDS) {
  const HEAD = '# Opalite vs DuckDB\n\nWritten by bench/duckdb.ts (`npm run build && npm run bench -- --events N`), one section per size.\n' +
    'Each section is one run of both engines in one process on the same machine. The load average is printed: above the core count, ' +
    'other processes shared the machine during the run, so read ratios within a section, not absolute times across sections.\n';
  const old = fs.existsSync(o.out) ? fs.readFileSync(o.out, 'utf8') : '';
  const sections = old.split(/^(?=## )/m).filter((s) => s.startsWith('## ') && !s.startsWith(title + '\n'));
  sections.push(text);
  const size = (s: string) => Number(s.slice(3).split(' ')[0]!.replace(/,/g, ''));
  sections.sort((a, b) => size(a) - size(b) || a.length - b.length);
  fs.writeFileSync(o.out, [HEAD, ...sections.map((s) => s.trimEnd() + '\n')].join('\n'));
}
