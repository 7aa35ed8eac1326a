/**
 * One engine of the side-by-side bench in a process of its own (forked by bench/duckdb.ts),
 * so that its peak RSS and CPU time are its own: Opalite, DuckDB on file order, DuckDB on
 * Opalite's order, or Polars. It loads when told, then runs kinds one at a time on request
 * and answers with the wall time, the process's CPU time (every thread: Opalite's pool,
 * DuckDB's and Polars' threads) and, when asked, the rows.
 *
 * Also the one-off export: the store's columns to the Parquet files both peers load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Engine } from '../server/engine/engine.js';
import { Store } from '../server/store/reader.js';
import { mainKinds } from './kinds.js';
import { dayNum, type EngineName, fill, PEER_KINDS, type PeerConfig, UNIT, type Params } from './peer-kinds.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** bench/duckdb/, from bench/ (tests) or dist/bench/ (the built bench). */
const SQL_DIR = path.join(path.basename(path.dirname(HERE)) === 'dist' ? path.resolve(HERE, '..', '..') : path.resolve(HERE, '..'), 'bench', 'duckdb');

export type { EngineName, PeerConfig } from './peer-kinds.js';

export type Request = { op: 'load' } | { op: 'run'; kind: string; rows: boolean } | { op: 'stats' } | { op: 'exit' };
export type Reply =
  | { op: 'loaded'; ms: number; cpuMs: number; detail: string }
  | { op: 'ran'; ms: number; cpuMs: number; rows?: unknown[] }
  | { op: 'stats'; vmHWM: number; vmRSS: number; loadavg: number[] }
  | { op: 'error'; message: string };

/** Peak and current resident memory of this process, in bytes (Linux /proc). */
export function memory(): { vmHWM: number; vmRSS: number } {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { vmHWM: kb('VmHWM'), vmRSS: kb('VmRSS') };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Runner {
  load(): Promise<string>;
  run(kind: string): Promise<unknown[]>;
}

function opalite(cfg: PeerConfig): Runner {
  let engine: Engine;
  const specs = new Map<string, object>();
  return {
    async load() {
      // cacheEntries 0: no result cache, so every timed run computes.
      engine = Engine.open(cfg.store, { threads: cfg.threads, cacheEntries: 0, residentBytes: Infinity });
      // Every day read up front, as the resident service holds them (Engine.open reads none; a cold CLI only its own: bench/cold.ts).
      await engine.loaded.loadAll();
      for (const [name, spec] of mainKinds(engine.store.days(), UNIT)) specs.set(name, spec);
      return `Engine.open and every day read (loadAll), ${cfg.threads} worker threads`;
    },
    async run(kind) {
      const r = await engine.run(specs.get(kind)!);
      return r.rows;
    },
  };
}

/** A DuckDB statement list split at its semicolons (the files hold no semicolon in a string). */
const statements = (sql: string) => sql.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter((s) => s.replace(/--.*$/gm, '').trim());

export function sqlFile(name: string): string {
  return fs.readFileSync(path.join(SQL_DIR, `${name}.sql`), 'utf8');
}

export const SORTED = 'ORDER BY t // 86400, sub, t';

async function duckConnect(cfg: PeerConfig, file = ':memory:'): Promise<DuckDBConnection> {
  const db = await DuckDBInstance.create(file);
  const con = await db.connect();
  await con.run(`SET threads = ${cfg.threads}`);
  await con.run(`SET memory_limit = '${cfg.duckdbMemory}'`);
  return con;
}

export async function duckLoad(con: DuckDBConnection, cfg: Pick<PeerConfig, 'peers' | 'params'>, sorted: boolean): Promise<void> {
  const values = { ...cfg.params, events: path.join(cfg.peers, 'events.parquet'), cell_region: path.join(cfg.peers, 'cell_region.parquet'), order_by: sorted ? SORTED : '' };
  for (const s of statements(fill(sqlFile('load'), values, 'bench/duckdb/load.sql'))) await con.run(s);
}

const num = (v: unknown) => (typeof v === 'bigint' ? Number(v) : Number(v));

function duckdb(cfg: PeerConfig, sorted: boolean): Runner {
  let con: DuckDBConnection;
  const queries = new Map(PEER_KINDS.map((k) => [k.name, fill(sqlFile(k.file), cfg.params, `bench/duckdb/${k.file}.sql`)]));
  return {
    async load() {
      con = await duckConnect(cfg);
      await duckLoad(con, cfg, sorted);
      const v = (await con.runAndReadAll('SELECT version()')).getRows()[0]![0];
      return `DuckDB ${v}, threads ${cfg.threads}, memory_limit ${cfg.duckdbMemory}, ${sorted ? SORTED : 'file order'}`;
    },
    async run(kind) {
      const rows = (await con.runAndReadAll(queries.get(kind)!)).getRows();
      return rows.map((r) => r.map(num));
    },
  };
}

/** Writes events.parquet and cell_region.parquet from the store's columns (once per size). */
export async function exportParquet(cfg: Pick<PeerConfig, 'store' | 'peers' | 'params'>): Promise<string> {
  const pl = (await import('nodejs-polars')).default;
  const store = Store.open(cfg.store);
  const days = store.days();
  const n = days.reduce((s, d) => s + store.day(d).rows, 0);
  const rn = new Int32Array(n);
  const sub = new Int32Array(n);
  const t = new Int32Array(n);
  const cell = new Int32Array(n);
  const kind = new Uint8Array(n);
  let at = 0;
  for (const d of days) {
    const s = store.readColumn(d, 'sub') as Uint32Array;
    sub.set(s, at);
    t.set(store.readColumn(d, 't') as Uint32Array, at);
    cell.set(store.readColumn(d, 'cell') as Uint32Array, at);
    kind.set(store.readColumn(d, 'kind') as Uint8Array, at);
    at += s.length;
  }
  for (let i = 0; i < n; i++) rn[i] = i;
  const events = pl.DataFrame({ rn: pl.Series('rn', rn), sub: pl.Series('sub', sub), t: pl.Series('t', t), cell: pl.Series('cell', cell), kind: pl.Series('kind', kind) });
  fs.mkdirSync(cfg.peers, { recursive: true });
  events.writeParquet(path.join(cfg.peers, 'events.parquet'));

  const { cells, regions } = store.dims();
  const level = regions.find((l) => l.unit === UNIT)!;
  const unitRegion = cells.regions[UNIT]!;
  const dc: number[] = [];
  const region: number[] = [];
  const lon: number[] = [];
  const lat: number[] = [];
  for (const d of days) {
    const dn = dayNum(d);
    const ver = cells.versionsOn(dn);
    for (let c = 0; c < ver.length; c++) {
      const v = ver[c]!;
      if (v < 0) continue;
      dc.push(dn * cfg.params.cells + c);
      region.push(unitRegion[v]!);
      lon.push(cells.versions[v]!.lon);
      lat.push(cells.versions[v]!.lat);
    }
  }
  const cr = pl.DataFrame({
    dc: pl.Series('dc', Int32Array.from(dc)),
    region: pl.Series('region', Int32Array.from(region)),
    lon: pl.Series('lon', Float64Array.from(lon)),
    lat: pl.Series('lat', Float64Array.from(lat)),
  });
  cr.writeParquet(path.join(cfg.peers, 'cell_region.parquet'));
  fs.writeFileSync(path.join(cfg.peers, 'pcods.json'), JSON.stringify(level.regions.map((r) => r.pcod)));
  store.release();
  return `${n} events, ${dc.length} cell-days`;
}

/** The cold-CLI comparison's DuckDB database file: the sorted layout, persisted once. */
async function persist(cfg: PeerConfig): Promise<string> {
  const file = path.join(cfg.peers, 'events.duckdb');
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.wal`, { force: true });
  const con = await duckConnect(cfg, file);
  await duckLoad(con, cfg, true);
  await con.run('CHECKPOINT');
  con.closeSync();
  return file;
}

async function main() {
  const cfg = JSON.parse(process.argv[2]!) as PeerConfig;
  let runner: Runner;
  switch (cfg.engine) {
    case 'opalite': runner = opalite(cfg); break;
    case 'duckdb-file': runner = duckdb(cfg, false); break;
    case 'duckdb-sorted': runner = duckdb(cfg, true); break;
    case 'polars': runner = (await import('./polars.js')).polarsRunner(cfg); break;
    case 'export': runner = { load: () => exportParquet(cfg), run: async () => [] }; break;
    case 'duckdb-persist': runner = { load: () => persist(cfg), run: async () => [] }; break;
  }
  const send = (r: Reply) => process.send!(r);
  // The bench's parent gone (finished or crashed): nothing will ask again.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: Request) => {
    void (async () => {
      try {
        if (m.op === 'load') {
          const c0 = cpuMs();
          const t0 = performance.now();
          const detail = await runner.load();
          send({ op: 'loaded', ms: performance.now() - t0, cpuMs: cpuMs() - c0, detail });
        } else if (m.op === 'run') {
          const c0 = cpuMs();
          const t0 = performance.now();
          const rows = await runner.run(m.kind);
          const ms = performance.now() - t0;
          send({ op: 'ran', ms, cpuMs: cpuMs() - c0, rows: m.rows ? rows : undefined });
        } else if (m.op === 'stats') {
          send({ op: 'stats', ...memory(), loadavg: (await import('node:os')).loadavg() });
        } else {
          process.exit(0);
        }
      } catch (e) {
        send({ op: 'error', message: (e as Error).stack ?? String(e) });
      }
    })();
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
