/**
 * End-to-end benchmark: generate (or reuse) a dataset of about N events,
 * ingest it, load it into the engine and time the main query kinds. Prints a
 * table and writes bench/RESULTS.md with the machine's description. Figures are
 * one run on a shared machine: compare ratios within a run, not across runs.
 *
 *   npm run build && npm run bench:opalite -- --events 10000000 [--threads 2] [--format csv|parquet]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Engine } from '../server/engine/engine.js';
import { ingest } from '../server/ingest/ingest.js';
import { Store } from '../server/store/reader.js';
import { summarise } from '../server/store/summary.js';
import { ensureDataset, type EventFormat } from './datasets.js';
import { mainKinds } from './kinds.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const o = new Command('bench')
  .option('--events <n>', 'approximate number of events', (v) => Number(v), 2_000_000)
  .option('--threads <n>', 'engine worker threads (0 = main thread)', (v) => Number(v), os.availableParallelism())
  .option('--format <f>', 'event file format to ingest', 'csv')
  .option('--dir <dir>', 'where datasets and stores are kept', path.join(ROOT, 'bench', 'data'))
  .parse(process.argv)
  .opts<{ events: number; threads: number; format: string; dir: string }>();

process.env.OPALITE_PSEUDONYM_KEY ??= 'be'.repeat(32);
const { dataset, store } = await ensureDataset(o.events, o.dir, o.format as EventFormat);
const rows: string[][] = [];
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

fs.rmSync(store, { recursive: true, force: true });
let t0 = performance.now();
const ing = await ingest({ dataset, store });
const ingestSeconds = seconds(t0);
const summary = summarise(Store.open(store));
rows.push(['ingest ' + o.format, ingestSeconds.toFixed(2), fmt(ing.rows / ingestSeconds), `${summary.bytesPerEvent.toFixed(1)} B/event on disk`]);

t0 = performance.now();
const engine = Engine.open(store, { threads: o.threads, residentBytes: Infinity });
// Every day read up front, as the resident service holds them (a cold CLI reads only its days: bench/cold.ts).
await engine.loaded.loadAll();
const loadSeconds = seconds(t0);
const resident = engine.loaded.residentBytes();
rows.push(['load into memory', loadSeconds.toFixed(2), fmt(summary.rows / loadSeconds), `${(resident / summary.rows).toFixed(1)} B/event resident`]);

const days = engine.store.days();
const unit = 'admin3';
const specs = mainKinds(days, unit);
for (const [name, spec] of specs) {
  const parsed = engine.parse(spec);
  // Events the query scans: the days its spec names, or every day of a window between two of them.
  const named = summary.days.map((d) => d.date).filter((date) => JSON.stringify(spec).includes(date)).sort();
  const windowed = 'start_date' in spec || JSON.stringify(spec).includes('start_date');
  const scanned = windowed && named.length > 1 ? summary.days.filter((d) => d.date >= named[0]! && d.date < named.at(-1)!) : summary.days.filter((d) => named.includes(d.date));
  const events = scanned.reduce((n, d) => n + d.rows, 0) || summary.rows;
  t0 = performance.now();
  let first = NaN;
  await engine.run(spec, { onPartial: () => (first = Number.isNaN(first) ? seconds(t0) : first) });
  const s = seconds(t0);
  rows.push([name, s.toFixed(3), fmt(events / s), `first partial ${(first * 1000).toFixed(0)} ms, id ${engine.queryId(parsed).slice(0, 8)}`]);
}
await engine.close();

const head = ['step', 'seconds', 'events/s', 'notes'];
const table = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const machine = `${os.cpus()[0]?.model ?? 'cpu'} x ${os.availableParallelism()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}`;
const text = `# Benchmark results\n\n${fmt(summary.rows)} events, ${fmt(summary.subscribers)} subscribers, ${summary.days.length} days, unit ${unit}, ${o.threads} worker thread(s).\n\nMachine: ${machine}. One run; the machine may be shared, so read ratios within the run.\n\n${table}\n`;
console.log(text);
fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS.md'), text);
