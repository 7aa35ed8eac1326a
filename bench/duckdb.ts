/**
 * Opalite against its peers on the same data and machine (issues #4, #17): DuckDB with
 * tuned SQL (bench/duckdb/*.sql) on two layouts, file order and Opalite's order (day,
 * subscriber, t; the sort counted in its load), and Polars (bench/polars.ts).
 *
 * Each engine runs in a process of its own (bench/peer.ts), so its peak RSS and CPU time
 * are its own. Per kind: every engine's rows are checked equal to Opalite's (published
 * rows, threshold redaction, k = 15) before anything is timed; then the engines run in
 * turn, the order rotating each round, so that contention on a shared machine falls on
 * all of them alike. Reported: median and range of wall time, median CPU time (all the
 * process's threads), load averages, each engine's RSS after load and peak.
 *
 * Then two small sections: CSV ingest (Opalite's ingest() against DuckDB's read_csv with
 * the schema stated, bench/duckdb/ingest.sql), and a cold command line (`opalite query`
 * in a fresh process on its store against a fresh DuckDB process on its database file).
 *
 *   npm run build && npm run bench -- [--events N] [--repeats 5] [--threads 2]
 *       [--engines opalite,duckdb-file,duckdb-sorted,polars] [--kinds a,b] [--no-ingest] [--no-cold]
 *
 * Writes (replaces) its size's section of bench/DUCKDB.md unless --kinds narrows the run.
 */
import { fork, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { DuckDBInstance } from '@duckdb/node-api';
import { ingest } from '../server/ingest/ingest.js';
import type { Row } from '../server/privacy/redact.js';
import { Store } from '../server/store/reader.js';
import { benchData, ensureStore } from './datasets.js';
import { mainKinds } from './kinds.js';
import { compareRows, fill, K, params, PEER_KINDS, toRow, UNIT, type Params } from './peer-kinds.js';
import type { EngineName, PeerConfig, Reply, Request } from './peer.js';
import { sqlFile } from './peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = path.dirname(fileURLToPath(import.meta.url));

const o = new Command('bench-peers')
  .option('--events <n>', 'approximate number of events', (v) => Number(v), 2_000_000)
  .option('--threads <n>', 'threads of every engine (Opalite workers, DuckDB threads, POLARS_MAX_THREADS)', (v) => Number(v), 2)
  .option('--repeats <n>', 'timed rounds per kind after the checked run', (v) => Number(v), 5)
  .option('--engines <list>', 'engines, in their first round\'s order', 'opalite,duckdb-file,duckdb-sorted,polars')
  .option('--kinds <list>', 'only kinds whose name contains one of these (does not write the results file)')
  .option('--no-ingest', 'skip the CSV ingest comparison')
  .option('--ingest-repeats <n>', 'alternating runs of each ingest', (v) => Number(v), 2)
  .option('--no-cold', 'skip the cold command-line comparison')
  .option('--duckdb-memory <size>', "DuckDB's memory_limit (the machine is shared: past it a query fails instead of swapping others out)", '12GB')
  .option('--dir <dir>', 'where datasets and stores are kept', path.join(ROOT, 'bench', 'data'))
  .option('--out <file>', 'results file', path.join(ROOT, 'bench', 'DUCKDB.md'))
  .parse(process.argv)
  .opts<{
    events: number; threads: number; repeats: number; engines: string; kinds?: string; ingest: boolean; ingestRepeats: number;
    cold: boolean; duckdbMemory: string; dir: string; out: string;
  }>();

process.env.OPALITE_PSEUDONYM_KEY ??= 'be'.repeat(32);
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

// ---------------------------------------------------------------- the data
const storeDir = await ensureStore(o.events, o.dir);
const { subscribers, dataset } = benchData(o.events, o.dir);
const store = Store.open(storeDir);
const days = store.days();
const totalRows = days.reduce((n, d) => n + store.day(d).rows, 0);
const dims = store.dims();
const pcods = dims.regions.find((l) => l.unit === UNIT)!.regions.map((r) => r.pcod);
const p: Params = params(days, dims.cells.ids.length, totalRows);
const specs = new Map(mainKinds(days, UNIT));
store.release();
const peersDir = path.join(o.dir, `peers-${subscribers}`);

// ---------------------------------------------------------------- engine processes
class Peer {
  private child;
  private waiting: ((r: Reply) => void) | null = null;
  constructor(readonly name: EngineName) {
    const cfg: PeerConfig = { engine: name, store: storeDir, peers: peersDir, params: p, threads: o.threads, duckdbMemory: o.duckdbMemory };
    this.child = fork(path.join(HERE, 'peer.js'), [JSON.stringify(cfg)], {
      env: { ...process.env, POLARS_MAX_THREADS: String(o.threads) },
      serialization: 'advanced',
    });
    this.child.on('message', (r: Reply) => this.waiting?.(r));
    this.child.on('exit', (code) => {
      if (code) this.waiting?.({ op: 'error', message: `${name} exited with code ${code}` });
    });
  }
  ask<T extends Reply['op']>(req: Request): Promise<Extract<Reply, { op: T }>> {
    return new Promise((resolve, reject) => {
      this.waiting = (r) => {
        this.waiting = null;
        if (r.op === 'error') reject(new Error(`${this.name}: ${r.message}`));
        else resolve(r as Extract<Reply, { op: T }>);
      };
      this.child.send(req);
    });
  }
  stop() {
    this.child.send({ op: 'exit' } satisfies Request);
  }
}

const LABEL: Record<string, string> = {
  opalite: 'Opalite',
  'duckdb-file': 'DuckDB, file order',
  'duckdb-sorted': 'DuckDB, Opalite\'s order',
  polars: 'Polars',
};

if (!fs.existsSync(path.join(peersDir, 'cell_region.parquet'))) {
  const ex = new Peer('export');
  const r = await ex.ask<'loaded'>({ op: 'load' });
  ex.stop();
  log(`exported the store's columns to Parquet in ${(r.ms / 1000).toFixed(1)} s (${r.detail}) -> ${peersDir}`);
}

const engines = o.engines.split(',') as EngineName[];
if (engines[0] !== 'opalite') throw new Error(`--engines: expected opalite first (the rows every peer is checked against), found ${engines[0]}`);
const peers = engines.map((e) => new Peer(e));
interface LoadStat { ms: number; cpuMs: number; detail: string; rssLoaded: number; loadavg: string }
const loads = new Map<EngineName, LoadStat>();
for (const peer of peers) {
  const r = await peer.ask<'loaded'>({ op: 'load' });
  const s = await peer.ask<'stats'>({ op: 'stats' });
  loads.set(peer.name, { ms: r.ms, cpuMs: r.cpuMs, detail: r.detail, rssLoaded: s.vmRSS, loadavg: loadavg() });
  log(`${peer.name}: loaded in ${(r.ms / 1000).toFixed(2)} s (CPU ${(r.cpuMs / 1000).toFixed(2)} s), RSS ${gib(s.vmRSS)}; ${r.detail}`);
}

// ---------------------------------------------------------------- check, then time, interleaved
interface Timing { ms: number[]; cpu: number[] }
interface KindResult { name: string; rows: number; events: number; status: Map<EngineName, string>; times: Map<EngineName, Timing>; load: string }
const only = o.kinds?.split(',');
const results: KindResult[] = [];
for (const kind of PEER_KINDS) {
  if (only && !only.some((s) => kind.name.includes(s))) continue;
  if (!specs.has(kind.name)) throw new Error(`bench/kinds.ts has no kind named ${kind.name}`);
  const res: KindResult = { name: kind.name, rows: 0, events: 0, status: new Map(), times: new Map(), load: loadavg() };
  const timed: Peer[] = [];
  let mine: Row[] = [];
  for (const peer of peers) {
    let r;
    try {
      r = await peer.ask<'ran'>({ op: 'run', kind: kind.name, rows: true });
    } catch (e) {
      const msg = (e as Error).message.split('\n').slice(0, 2).join(' ');
      log(`${kind.name}: ${msg}`);
      res.status.set(peer.name, `error: ${msg.slice(0, 200)}`);
      continue;
    }
    if (peer.name === 'opalite') {
      mine = r.rows as Row[];
      res.rows = mine.length;
      timed.push(peer);
      continue;
    }
    const theirs = (r.rows as number[][]).map((row) => toRow(kind.shape, pcods, row));
    const diff = compareRows(mine, theirs, LABEL[peer.name]!);
    if (diff) {
      log(`${kind.name}: ${peer.name} NOT EQUAL: ${diff}`);
      res.status.set(peer.name, `not equal: ${diff}`);
    } else {
      timed.push(peer);
    }
  }
  for (const peer of timed) res.times.set(peer.name, { ms: [], cpu: [] });
  for (let round = 0; round < o.repeats; round++) {
    for (let i = 0; i < timed.length; i++) {
      const peer = timed[(i + round) % timed.length]!;
      const r = await peer.ask<'ran'>({ op: 'run', kind: kind.name, rows: false });
      res.times.get(peer.name)!.ms.push(r.ms);
      res.times.get(peer.name)!.cpu.push(r.cpuMs);
    }
  }
  res.load += ` -> ${loadavg()}`;
  log(`${kind.name}: ${res.rows} rows; ${[...res.times].map(([e, t]) => `${e} ${median(t.ms).toFixed(1)} ms`).join(', ')}; load ${res.load}`);
  results.push(res);
}
const peaks = new Map<EngineName, number>();
for (const peer of peers) {
  peaks.set(peer.name, (await peer.ask<'stats'>({ op: 'stats' })).vmHWM);
  peer.stop();
}

// ---------------------------------------------------------------- CSV ingest, alternating
const ingestRows: string[][] = [];
if (o.ingest && !only) {
  const dir = path.join(dataset, 'events');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.csv')).map((f) => path.join(dir, f)).sort();
  const columns = "{'msisdn': 'VARCHAR', 'datetime': 'TIMESTAMP', 'cell_id': 'VARCHAR', 'event_type': 'VARCHAR', 'outgoing': 'BOOLEAN', " +
    "'duration': 'DOUBLE', 'msisdn_counterpart': 'VARCHAR', 'recharge_amount': 'DOUBLE'}";
  const sql = fill(sqlFile('ingest'), { files: `[${files.map((f) => `'${f}'`).join(', ')}]`, columns }, 'bench/duckdb/ingest.sql');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  await con.run(`SET threads = ${o.threads}`);
  const tmpStore = path.join(o.dir, `.peers-ingest-${subscribers}`);
  const op: number[] = [];
  const dk: number[] = [];
  let rows = 0;
  for (let r = 0; r < o.ingestRepeats; r++) {
    fs.rmSync(tmpStore, { recursive: true, force: true });
    let t0 = performance.now();
    rows = (await ingest({ dataset, store: tmpStore, csv: { threads: o.threads } })).rows;
    op.push(performance.now() - t0);
    fs.rmSync(tmpStore, { recursive: true, force: true });
    t0 = performance.now();
    await con.run(sql);
    dk.push(performance.now() - t0);
    const n = Number((await con.runAndReadAll('SELECT count(*) FROM raw_events')).getRows()[0]![0]);
    if (n !== rows) throw new Error(`ingest: DuckDB read ${n} rows, Opalite ${rows}`);
    await con.run('DROP TABLE raw_events');
  }
  con.closeSync();
  const range = (xs: number[]) => `${fmt(median(xs))} (${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))})`;
  ingestRows.push([`CSV, ${fmt(rows)} rows`, range(op), range(dk), (median(dk) / median(op)).toFixed(2), loadavg()]);
  log(`ingest: Opalite ${op.map((x) => x.toFixed(0)).join(', ')} ms; DuckDB read_csv ${dk.map((x) => x.toFixed(0)).join(', ')} ms`);
}

// ---------------------------------------------------------------- cold command line
const coldRows: string[][] = [];
const COLD = ['spatial_aggregate daily last', 'spatial_aggregate modal 7 days'];
if (o.cold && !only) {
  const dbFile = path.join(peersDir, 'events.duckdb');
  if (!fs.existsSync(dbFile)) {
    const pe = new Peer('duckdb-persist');
    const r = await pe.ask<'loaded'>({ op: 'load' });
    pe.stop();
    log(`DuckDB database file written in ${(r.ms / 1000).toFixed(1)} s -> ${dbFile}`);
  }
  const cli = path.join(ROOT, 'dist', 'server', 'cli', 'main.js');
  const cold = path.join(HERE, 'duckdb-cold.js');
  const wall = (args: string[]) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, POLARS_MAX_THREADS: String(o.threads) } });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return { ms: performance.now() - t0, out: r.stdout };
  };
  for (const name of COLD) {
    const kind = PEER_KINDS.find((k) => k.name === name)!;
    const spec = JSON.stringify(specs.get(name));
    const op: number[] = [];
    const dk: number[] = [];
    let lines = [0, 0];
    for (let r = 0; r < 3; r++) {
      const a = wall([cli, 'query', '--store', storeDir, '--spec', spec, '--threads', String(o.threads)]);
      const b = wall([cold, dbFile, kind.file, JSON.stringify(p), String(o.threads)]);
      op.push(a.ms);
      dk.push(b.ms);
      lines = [a.out.trim().split('\n').length - 1, b.out.trim().split('\n').length];
    }
    if (lines[0] !== lines[1]) throw new Error(`cold ${name}: opalite query printed ${lines[0]} rows, DuckDB ${lines[1]}`);
    coldRows.push([name, `${fmt(median(op))} (${fmt(Math.min(...op))}-${fmt(Math.max(...op))})`, `${fmt(median(dk))} (${fmt(Math.min(...dk))}-${fmt(Math.max(...dk))})`, (median(dk) / median(op)).toFixed(2), String(lines[0])]);
    log(`cold ${name}: opalite query ${op.map((x) => x.toFixed(0)).join(', ')} ms; DuckDB ${dk.map((x) => x.toFixed(0)).join(', ')} ms`);
  }
}

// ---------------------------------------------------------------- report
const md = (rows: string[][]) => rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
const cell = (t: Timing | undefined, status: string | undefined) =>
  t ? `${median(t.ms).toFixed(1)} (${Math.min(...t.ms).toFixed(0)}-${Math.max(...t.ms).toFixed(0)}) / ${median(t.cpu).toFixed(0)}` : status?.startsWith('not equal') ? 'not equal' : status ? 'error' : '-';
const ratio = (a: Timing | undefined, b: Timing | undefined) =>
  a && b ? `${(median(a.ms) / median(b.ms)).toFixed(1)} (CPU ${(median(a.cpu) / median(b.cpu)).toFixed(1)})` : '-';
const ducks = engines.filter((e) => e.startsWith('duckdb'));
const head = ['kind', 'rows', ...engines.map((e) => `${LABEL[e]} ms (range) / CPU ms`), ...(ducks.length ? ['best DuckDB / Opalite, wall (CPU)'] : []), ...(engines.includes('polars') ? ['Polars / Opalite, wall (CPU)'] : []), 'load average (start -> end)'];
const kindRows = results.map((r) => {
  const op = r.times.get('opalite');
  const best = ducks.map((e) => r.times.get(e)).filter((t): t is Timing => !!t).sort((a, b) => median(a.ms) - median(b.ms))[0];
  return [r.name, String(r.rows), ...engines.map((e) => cell(r.times.get(e), r.status.get(e))), ...(ducks.length ? [ratio(best, op)] : []), ...(engines.includes('polars') ? [ratio(r.times.get('polars'), op)] : []), r.load];
});
const loadRows = engines.map((e) => {
  const l = loads.get(e)!;
  return [LABEL[e]!, l.detail, fmt(l.ms), fmt(l.cpuMs), gib(l.rssLoaded), gib(peaks.get(e)!), l.loadavg];
});
const notes = results.flatMap((r) => [...r.status].map(([e, s]) => `- ${r.name}, ${LABEL[e]}: ${s}`));
const cpu = os.cpus();
const machine = `${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
const title = `## ${fmt(totalRows)} events`;
const text = `${title}

${fmt(totalRows)} events (${subscribers.toLocaleString('en-US')} subscribers, ${days.length} days, ${days[0]} to ${days.at(-1)}), unit ${UNIT}, k = ${K};
${o.threads} threads for every engine. Machine: ${machine}; load average at the end ${loadavg()}. Written ${new Date().toISOString().slice(0, 16)} UTC.

Each engine in its own process. Rows checked equal to Opalite's (published rows, threshold redaction, k = ${K}; floats to 1e-9
relative) first, in a run that also warms each engine; then ${o.repeats} rounds, the engines in turn, the order rotating each round.
Cells: median wall ms (min-max) / median CPU ms of the engine's process (all its threads). Ratios: median against median.

| engine | load | load ms | load CPU ms | RSS after load | peak RSS | load average |
| --- | --- | --- | --- | --- | --- | --- |
${md(loadRows)}

${md([head, head.map(() => '---'), ...kindRows])}
${notes.length ? `\nNot timed:\n${notes.join('\n')}\n` : ''}${ingestRows.length ? `
CSV ingest, alternating, ${o.ingestRepeats} runs each (Opalite: \`ingest()\`: parse, validate, pseudonymise, write and fsync the store,
${o.threads} parse workers; DuckDB: bench/duckdb/ingest.sql, \`read_csv\` with the columns stated and \`auto_detect = false\`, into an
in-memory table, threads = ${o.threads}):

| files | Opalite ms, median (range) | DuckDB ms, median (range) | ratio DuckDB/Opalite | load average |
| --- | --- | --- | --- | --- |
${md(ingestRows)}
` : ''}${coldRows.length ? `
Cold command line, alternating, 3 runs each: \`opalite query --store ... --threads ${o.threads}\` in a fresh process (it reads the
days its window needs, then runs) against a fresh Node process that opens DuckDB's database file (Opalite's order, written once) read-only and
runs the same kind's SQL (bench/duckdb-cold.ts). Both print the rows as CSV. The page cache is warm for both (not dropped: the
machine is shared).

| kind | opalite query ms | DuckDB on its file ms | ratio DuckDB/Opalite | rows |
| --- | --- | --- | --- | --- |
${md(coldRows)}
` : ''}`;
console.log(text);
if (!only) {
  const HEAD = '# Opalite against DuckDB and Polars\n\nWritten by bench/duckdb.ts, one section per size; see the summary below for how to read them.\n';
  const old = fs.existsSync(o.out) ? fs.readFileSync(o.out, 'utf8') : HEAD;
  const parts = old.split(/^(?=## )/m);
  const at = parts.findIndex((s) => s.startsWith(title + '\n'));
  if (at >= 0) parts[at] = text.trimEnd() + '\n';
  else parts.push(text.trimEnd() + '\n');
  fs.writeFileSync(o.out, parts.map((s) => s.trimEnd() + '\n').join('\n'));
}
