/**
 * Ingest against DuckDB's own readers, same files, same machine, one run (issue #4).
 *
 * For each event format the generator writes (csv, csv.gz, parquet, arrow), the same
 * synthetic dataset as bench/run.ts (generated when missing) is ingested by Opalite
 * (parse, validate, pseudonymise, write the store: `ingest()`) and loaded by DuckDB
 * into an in-memory table (`CREATE TABLE AS SELECT * FROM read_csv / read_parquet`).
 * DuckDB has no Arrow IPC reader without its community extension, which this bench
 * does not download; Arrow is timed for Opalite only and the row says so.
 *
 *   npm run build && node dist/bench/ingest.js [--events N] [--formats csv,csv.gz,parquet,arrow] [--threads 2]
 *
 * Writes (replaces) the "Ingest" section for that size in bench/DUCKDB.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { DuckDBInstance } from '@duckdb/node-api';
import { ingest } from '../server/ingest/ingest.js';
import { benchData, ensureDataset } from './datasets.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const o = new Command('bench-ingest')
  .option('--events <n>', 'approximate number of events', (v) => Number(v), 2_000_000)
  .option('--formats <list>', 'event formats to compare', 'csv,csv.gz,parquet,arrow')
  .option('--threads <n>', 'DuckDB threads and Opalite CSV parse workers', (v) => Number(v), 2)
  .option('--repeats <n>', 'runs of each engine per format (best kept; the engines alternate)', (v) => Number(v), 1)
  .option('--dir <dir>', 'where datasets are kept', path.join(ROOT, 'bench', 'data'))
  .option('--out <file>', 'results file', path.join(ROOT, 'bench', 'DUCKDB.md'))
  .parse(process.argv)
  .opts<{ events: number; formats: string; threads: number; repeats: number; dir: string; out: string }>();

process.env.OPALITE_PSEUDONYM_KEY ??= 'be'.repeat(32);
const { subscribers } = benchData(o.events, o.dir);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const formats = o.formats.split(',') as ('csv' | 'csv.gz' | 'parquet' | 'arrow')[];

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`SET threads = ${o.threads}`);
const duckVersion = String((await con.runAndReadAll('SELECT version()')).getRows()[0]![0]);

const rows: string[][] = [];
let events = 0;
for (const format of formats) {
  const { dataset } = await ensureDataset(o.events, o.dir, format);
  const dir = path.join(dataset, 'events');
  const files = fs.readdirSync(dir).map((f) => path.join(dir, f)).sort();
  const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);

  const store = path.join(o.dir, `.bench-ingest-${subscribers}-${format}`);
  let opaliteS = Infinity;
  let duckS = format === 'arrow' ? NaN : Infinity;
  let duckRows = NaN;
  let ingRows = 0;
  for (let r = 0; r < o.repeats; r++) {
    fs.rmSync(store, { recursive: true, force: true });
    let t0 = performance.now();
    const ing = await ingest({ dataset, store, csv: { threads: o.threads } });
    opaliteS = Math.min(opaliteS, (performance.now() - t0) / 1000);
    fs.rmSync(store, { recursive: true, force: true });
    ingRows = ing.rows;
    if (format !== 'arrow') {
      const list = `[${files.map((f) => `'${f}'`).join(', ')}]`;
      const reader = format === 'parquet' ? `read_parquet(${list})` : `read_csv(${list}, header = true)`;
      t0 = performance.now();
      await con.run(`CREATE TABLE raw_events AS SELECT * FROM ${reader}`);
      duckS = Math.min(duckS, (performance.now() - t0) / 1000);
      duckRows = Number((await con.runAndReadAll('SELECT count(*) FROM raw_events')).getRows()[0]![0]);
      await con.run('DROP TABLE raw_events');
    }
  }
  events = ingRows;
  const ing = { rows: ingRows };
  log(`${format}: Opalite ${opaliteS.toFixed(2)} s (${fmt(ing.rows)} rows), DuckDB ${duckS.toFixed(2)} s (${fmt(duckRows)} rows)`);
  rows.push([
    format,
    `${(bytes / 2 ** 20).toFixed(0)} MiB`,
    (opaliteS * 1000).toFixed(0),
    Number.isNaN(duckS) ? 'no reader' : (duckS * 1000).toFixed(0),
    Number.isNaN(duckS) ? '-' : (duckS / opaliteS).toFixed(2),
    `${fmt(ing.rows / opaliteS)} / ${Number.isNaN(duckS) ? '-' : fmt(duckRows / duckS)}`,
  ]);
}

const head = ['format', 'file size', 'Opalite ms', 'DuckDB ms', 'ratio DuckDB/Opalite', 'rows/s (Opalite / DuckDB)'];
const table = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
const machine = `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores (availableParallelism ${os.availableParallelism()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, load average ${load}`;
const title = `## Ingest, ${fmt(events)} events`;
const text = `${title}

Opalite: \`ingest()\` end to end (parse, validate, pseudonymise with HMAC-SHA-256, write and fsync the day partitions), CSV parsed by ${o.threads} worker thread(s).
DuckDB ${duckVersion}: threads = ${o.threads}, \`CREATE TABLE raw_events AS SELECT * FROM read_csv(...)\` / \`read_parquet(...)\`, in-memory. DuckDB reads Arrow IPC only through its community \`arrow\` extension, which is not installed here and not downloaded, so Arrow has no DuckDB time.

Machine: ${machine}. One run; read ratios within the run (each format's two engines run back to back${o.repeats > 1 ? `, best of ${o.repeats} each, alternating` : ''}).

${table}
`;
console.log(text);

const old = fs.existsSync(o.out) ? fs.readFileSync(o.out, 'utf8') : '';
const parts = old.split(/^(?=## )/m);
const kept = parts.filter((s) => !s.startsWith(title + '\n'));
fs.writeFileSync(o.out, [...kept.map((s) => s.trimEnd() + '\n'), text].join('\n'));
