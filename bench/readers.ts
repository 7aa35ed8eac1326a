/**
 * Reader throughput: the same ~1M events (~80 bytes a CSV row) as CSV, CSV.gz,
 * Parquet (parquetjs-lite, snappy) and Arrow IPC (file and stream), read
 * through the ingest readers by a consumer that only counts rows: every
 * reader materialises all values of a batch, so nothing is left lazy.
 *
 *   npm run build:ts && node dist/bench/readers.js [rows=1000000] [repeats=3]
 *
 * Files are generated once into os.tmpdir()/opalite-bench-readers-<rows>/ and
 * reused. Reports the best of `repeats` runs: rows/s and file MB/s (compressed
 * bytes for .gz and Parquet), plus CPU seconds (the box may be shared).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Bool, Float64, Int32, Table, TimestampMillisecond, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { csvBatches } from '../server/ingest/readers/csv.js';
import { openEventSource } from '../server/ingest/readers/events.js';

const require = createRequire(import.meta.url);

const ROWS = Number(process.argv[2] ?? 1_000_000);
const REPEATS = Number(process.argv[3] ?? 3);
const DIR = path.join(os.tmpdir(), `opalite-bench-readers-${ROWS}`);
const TYPES = ['calls', 'calls', 'calls', 'sms', 'sms', 'mds', 'topups'];

interface Events {
  msisdn: string[];
  datetime: number[];
  cell: string[];
  type: string[];
  outgoing: (boolean | null)[];
  duration: (number | null)[];
  counterpart: (string | null)[];
  amount: (number | null)[];
}

/** Deterministic synthetic events: 200k subscribers, 5k cells, one month. */
function generate(rows: number): Events {
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const subs = Array.from({ length: 200_000 }, () => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0') + Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0'));
  const e: Events = { msisdn: [], datetime: [], cell: [], type: [], outgoing: [], duration: [], counterpart: [], amount: [] };
  const t0 = Date.UTC(2016, 0, 1);
  for (let i = 0; i < rows; i++) {
    const type = TYPES[Math.floor(rand() * TYPES.length)]!;
    const talk = type === 'calls' || type === 'sms';
    e.msisdn.push(subs[Math.floor(rand() * subs.length)]!);
    e.datetime.push(t0 + Math.floor((i / rows) * 31 * 86400) * 1000);
    e.cell.push(`C${Math.floor(rand() * 5000)}`);
    e.type.push(type);
    e.outgoing.push(talk ? rand() < 0.5 : null);
    e.duration.push(type === 'calls' || type === 'mds' ? Math.floor(rand() * 900) : null);
    e.counterpart.push(talk ? subs[Math.floor(rand() * subs.length)]! : null);
    e.amount.push(type === 'topups' ? Math.round(rand() * 10000) / 100 : null);
  }
  return e;
}

const time = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

function writeCsv(e: Events, file: string): void {
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, 'msisdn,datetime,cell_id,event_type,outgoing,duration,msisdn_counterpart,recharge_amount\n');
  let chunk = '';
  for (let i = 0; i < e.msisdn.length; i++) {
    chunk += `${e.msisdn[i]},${time(e.datetime[i]!)},${e.cell[i]},${e.type[i]},${e.outgoing[i] ?? ''},${e.duration[i] ?? ''},${e.counterpart[i] ?? ''},${e.amount[i] ?? ''}\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk);
      chunk = '';
    }
  }
  fs.writeSync(fd, chunk);
  fs.closeSync(fd);
}

async function writeParquet(e: Events, file: string): Promise<void> {
  const parquet = require('parquetjs-lite');
  const c = { compression: 'SNAPPY' };
  const o = { compression: 'SNAPPY', optional: true };
  const schema = new parquet.ParquetSchema({
    msisdn: { type: 'UTF8', ...c },
    datetime: { type: 'TIMESTAMP_MILLIS', ...c },
    cell_id: { type: 'UTF8', ...c },
    event_type: { type: 'UTF8', ...c },
    outgoing: { type: 'BOOLEAN', ...o },
    duration: { type: 'INT32', ...o },
    msisdn_counterpart: { type: 'UTF8', ...o },
    recharge_amount: { type: 'DOUBLE', ...o },
  });
  const w = await parquet.ParquetWriter.openFile(schema, file, { rowGroupSize: 64 * 1024 });
  for (let i = 0; i < e.msisdn.length; i++) {
    const row: Record<string, unknown> = { msisdn: e.msisdn[i], datetime: new Date(e.datetime[i]!), cell_id: e.cell[i], event_type: e.type[i] };
    if (e.outgoing[i] !== null) row.outgoing = e.outgoing[i];
    if (e.duration[i] !== null) row.duration = e.duration[i];
    if (e.counterpart[i] !== null) row.msisdn_counterpart = e.counterpart[i];
    if (e.amount[i] !== null) row.recharge_amount = e.amount[i];
    await w.appendRow(row);
  }
  await w.close();
}

function arrowTable(e: Events, from: number, to: number): Table {
  return new Table({
    msisdn: vectorFromArray(e.msisdn.slice(from, to), new Utf8()),
    datetime: vectorFromArray(e.datetime.slice(from, to).map((ms) => new Date(ms)), new TimestampMillisecond()),
    cell_id: vectorFromArray(e.cell.slice(from, to), new Utf8()),
    event_type: vectorFromArray(e.type.slice(from, to), new Utf8()),
    outgoing: vectorFromArray(e.outgoing.slice(from, to), new Bool()),
    duration: vectorFromArray(e.duration.slice(from, to), new Int32()),
    msisdn_counterpart: vectorFromArray(e.counterpart.slice(from, to), new Utf8()),
    recharge_amount: vectorFromArray(e.amount.slice(from, to), new Float64()),
  });
}

/** Arrow written as record batches of 64k rows, as writers usually do. */
function writeArrow(e: Events, file: string, format: 'file' | 'stream'): void {
  const pieces: Table[] = [];
  for (let i = 0; i < e.msisdn.length; i += 65536) pieces.push(arrowTable(e, i, Math.min(e.msisdn.length, i + 65536)));
  const table = pieces.reduce((a, b) => a.concat(b));
  fs.writeFileSync(file, tableToIPC(table, format));
}

async function prepare(): Promise<Record<string, string>> {
  fs.mkdirSync(DIR, { recursive: true });
  const files = {
    csv: path.join(DIR, 'events.csv'),
    'csv.gz': path.join(DIR, 'events.csv.gz'),
    parquet: path.join(DIR, 'events.parquet'),
    'arrow (file)': path.join(DIR, 'events.arrow'),
    'arrow (stream)': path.join(DIR, 'events.arrows'),
  };
  if (Object.values(files).every((f) => fs.existsSync(f))) return files;
  console.log(`generating ${ROWS} rows in ${DIR} ...`);
  const e = generate(ROWS);
  writeCsv(e, files.csv);
  fs.writeFileSync(files['csv.gz'], zlib.gzipSync(fs.readFileSync(files.csv), { level: 6 }));
  writeArrow(e, files['arrow (file)'], 'file');
  writeArrow(e, files['arrow (stream)'], 'stream');
  await writeParquet(e, files.parquet);
  return files;
}

async function measure(label: string, file: string, run: () => Promise<number>): Promise<void> {
  const size = fs.statSync(file).size;
  let best = Infinity;
  let cpu = 0;
  let rows = 0;
  for (let r = 0; r < REPEATS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    rows = await run();
    const s = (performance.now() - t0) / 1000;
    if (s < best) {
      best = s;
      const c = process.cpuUsage(c0);
      cpu = (c.user + c.system) / 1e6;
    }
  }
  const mb = size / 1e6;
  console.log(
    `${label.padEnd(28)} ${(rows / best / 1e6).toFixed(2).padStart(6)} M rows/s ${(mb / best).toFixed(0).padStart(5)} MB/s ` +
      `${best.toFixed(2).padStart(6)} s (cpu ${cpu.toFixed(2)} s)  ${mb.toFixed(1)} MB, ${(size / rows).toFixed(1)} B/row`,
  );
}

async function main(): Promise<void> {
  const files = await prepare();
  console.log(`node ${process.version}, ${ROWS} rows, best of ${REPEATS}`);
  await measure('csvBatches (csv)', files.csv!, async () => {
    let rows = 0;
    for await (const b of csvBatches(files.csv!)) rows += b.length;
    return rows;
  });
  for (const [label, file] of Object.entries(files)) {
    await measure(`openEventSource (${label})`, file, async () => {
      let rows = 0;
      for await (const b of openEventSource(file)) rows += b.length;
      return rows;
    });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
