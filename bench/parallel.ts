/**
 * Both cores (issue #17): every main kind on one store, with 1 and with 2 pool
 * workers, runs interleaved (1, 2, then 2, 1, ...), no result cache. Each worker
 * count is one child process holding its engine open, so the runs alternate
 * within the same minutes and share the machine's load alike. Per run:
 *
 * - wall time to the final result;
 * - CPU time per thread, from /proc/self/task/<tid>/schedstat (nanoseconds the
 *   thread ran): the main thread, each worker (the busiest non-main threads),
 *   and the rest (V8's and libuv's helpers). CPU time does not count the time a
 *   thread waits for a core, so it moves far less with the machine's load;
 * - the serial part: the main thread's CPU time outside the partition
 *   tasks (before the first is dispatched: parse, plan; after the last is
 *   merged: shaping, redaction);
 * - the CPU-bound speed-up: serial + worker CPU / workers (+ one partition's
 *   CPU for the tail) at 1 worker over the same at 2, what a quiet 2-core
 *   machine would give if the main thread's work during the tasks (dispatch,
 *   merge: a few percent) cost nothing;
 * - the first progressive frame (2 workers): its time, fraction, rows and
 *   withheld rows, and its error against the final on the rows both publish;
 * - resident memory: RSS and the WebAssembly memory after load and after each
 *   kind, next to the bytes the loaded columns hold.
 *
 * Writes its section of bench/KERNELS.md (bench/kernels.ts keeps it).
 *
 *   npm run build && node dist/bench/parallel.js --events 20000000 [--repeat 5] [--threads 1,2]
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Engine, type QueryResult } from '../server/engine/engine.js';
import type { Row } from '../server/privacy/redact.js';
import { Store } from '../server/store/reader.js';
import { BENCH_DIR, ensureStore } from './datasets.js';
import { mainKinds } from './kinds.js';
import { replaceSection } from './sections.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECTION = '## Both cores, first frames and resident memory';

const o = new Command('bench-parallel')
  .option('--events <n>', 'approximate events of the store (bench/datasets.ts)', (v) => Number(v), 20_000_000)
  .option('--threads <list>', 'worker counts to compare, comma-separated (the first is the baseline)', '1,2')
  .option('--repeat <n>', 'runs per kind and worker count (interleaved); medians are reported', (v) => Number(v), 5)
  .option('--only <text>', 'only kinds whose name contains one of these comma-separated texts')
  .option('--dir <dir>', 'where datasets and stores are kept', BENCH_DIR)
  .option('--out <file>', 'the file whose section is rewritten', path.join(ROOT, 'bench', 'KERNELS.md'))
  .option('--child <threads>', 'internal: hold an engine with this many workers and run kinds asked on stdin', (v) => Number(v))
  .parse(process.argv)
  .opts<{ events: number; threads: string; repeat: number; only?: string; dir: string; out: string; child?: number }>();

const MiB = 2 ** 20;

interface Run {
  ms: number;
  mainCpu: number;
  /** CPU ms of each worker, busiest first. */
  workers: number[];
  otherCpu: number;
  /** CPU ms and wall ms before the first task is dispatched and after the last is merged (the main thread's alone). */
  serialCpu: number;
  serialMs: number;
  first: FirstFrame | null;
  /** SHA-256 of the final rows: every run of a kind, whatever its worker count, must give the same. */
  rows: string;
  rss: number;
  memory: { live: number; free: number; memory: number };
}

interface FirstFrame {
  ms: number;
  fraction: number;
  rows: number;
  withheld: number;
  finalRows: number;
  /** Rows of the final the first frame publishes too. */
  matched: number;
  /** Median of |first / final - 1| over the matched rows with a number on both sides. */
  medianError: number;
  /** Sum over the matched rows of first / sum of final - 1. */
  sumError: number;
}

interface Loaded {
  events: number;
  subscribers: number;
  partitions: number;
  loadMs: number;
  rssBefore: number;
  rssAfterLoad: number;
  columns: number;
  memoryAfterLoad: { live: number; free: number; memory: number };
}

// ---------------------------------------------------------------------------
// Child: one engine, kinds run on request

/** CPU ms per thread id of this process. */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      out.set(tid, Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

/**
 * A moment on the main thread: wall ms and the process's CPU ms so far. A thread's own schedstat lags by up to a
 * scheduler tick while it runs, too coarse for the serial steps; the process's CPU time (getrusage) is exact, and
 * outside the partition tasks the workers have nothing to run, so there it is the main thread's.
 */
interface Mark {
  wall: number;
  cpu: number;
}
const mark = (): Mark => {
  const u = process.cpuUsage();
  return { wall: performance.now(), cpu: (u.user + u.system) / 1000 };
};

const placeOf = (r: Row) => JSON.stringify(Object.entries(r).filter(([k]) => k !== 'value'));

function firstFrame(first: { ms: number; p: QueryResult } | null, final: QueryResult): FirstFrame | null {
  if (!first) return null;
  const finalOf = new Map(final.rows.map((r) => [placeOf(r), r.value]));
  const errors: number[] = [];
  let sumFirst = 0;
  let sumFinal = 0;
  let matched = 0;
  for (const r of first.p.rows) {
    const f = finalOf.get(placeOf(r));
    if (f === undefined) continue;
    matched++;
    if (typeof r.value === 'number' && typeof f === 'number' && f !== 0) {
      errors.push(Math.abs(r.value / f - 1));
      sumFirst += r.value;
      sumFinal += f;
    }
  }
  errors.sort((a, b) => a - b);
  return {
    ms: first.ms,
    fraction: first.p.fraction,
    rows: first.p.rows.length,
    withheld: first.p.withheld,
    finalRows: final.rows.length,
    matched,
    medianError: errors.length ? errors[errors.length >> 1]! : NaN,
    sumError: sumFinal ? sumFirst / sumFinal - 1 : NaN,
  };
}

async function child(threads: number): Promise<void> {
  const storeDir = await ensureStore(o.events, o.dir);
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const engine = Engine.open(storeDir, { threads, cacheEntries: 0, residentBytes: Infinity });
  // Every day read up front, as the resident service holds them (Engine.open reads none).
  await engine.loaded.loadAll();
  const loadMs = performance.now() - t0;
  const kinds = mainKinds(engine.store.days(), 'admin3');
  const stats = engine.memoryStats();
  const loaded: Loaded = {
    events: engine.store.days().reduce((n, d) => n + engine.store.day(d).rows, 0),
    subscribers: engine.loaded.nSubs,
    partitions: engine.partitions,
    loadMs,
    rssBefore,
    rssAfterLoad: process.memoryUsage().rss,
    columns: engine.loaded.residentBytes(),
    memoryAfterLoad: stats,
  };
  // The workers compile and instantiate while the store loads; give them time to be ready.
  await new Promise((r) => setTimeout(r, 500));
  const me = String(process.pid);
  const say = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');
  say({ ready: loaded });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const ask = JSON.parse(line) as { kind: number } | 'quit';
    if (ask === 'quit') break;
    const spec = kinds[ask.kind]![1];
    let firstTask: Mark | null = null;
    let lastTask: Mark | null = null;
    let first: { ms: number; p: QueryResult } | null = null;
    const before = threadCpu();
    const start = mark();
    const final = await engine.run(spec, {
      onTasks: (t) => {
        if (!firstTask && t.running > 0) firstTask = mark();
        if (!lastTask && t.done === t.total) lastTask = mark();
      },
      // The first estimate only: shaping the later ones is main-thread work a REST run does not do.
      partialWanted: () => first === null,
      onPartial: (p) => (first ??= { ms: performance.now() - start.wall, p }),
    });
    const end = mark();
    const after = threadCpu();
    const others = [...after].filter(([tid]) => tid !== me).map(([tid, cpu]) => cpu - (before.get(tid) ?? 0)).sort((a, b) => b - a);
    const workers = threads > 0 ? others.slice(0, threads) : [(after.get(me) ?? 0) - (before.get(me) ?? 0)];
    const a = (firstTask as Mark | null) ?? end;
    const b = (lastTask as Mark | null) ?? end;
    const run: Run = {
      ms: end.wall - start.wall,
      mainCpu: (after.get(me) ?? 0) - (before.get(me) ?? 0),
      workers,
      otherCpu: others.slice(threads).reduce((s, x) => s + x, 0),
      // In process (0 workers) the main thread runs the tasks: only its time outside them is serial.
      serialCpu: a.cpu - start.cpu + (end.cpu - b.cpu),
      serialMs: a.wall - start.wall + (end.wall - b.wall),
      first: firstFrame(first, final),
      rows: createHash('sha256').update(JSON.stringify(final.rows)).digest('hex'),
      rss: process.memoryUsage().rss,
      memory: engine.memoryStats(),
    };
    say(run);
  }
  await engine.close();
}

// ---------------------------------------------------------------------------
// Parent: children per worker count, runs interleaved

class Child {
  private readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: AsyncIterator<string>;
  constructor(readonly threads: number) {
    const args = ['--child', String(threads), '--events', String(o.events), '--dir', o.dir];
    this.proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async next<T>(): Promise<T> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`the ${this.threads}-worker child ended early`);
    return JSON.parse(value as string) as T;
  }
  async run(kind: number): Promise<Run> {
    this.proc.stdin.write(JSON.stringify({ kind }) + '\n');
    return this.next<Run>();
  }
  quit(): void {
    this.proc.stdin.write('"quit"\n');
    this.proc.stdin.end();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-');
const loadavg = () => os.loadavg().map((l) => l.toFixed(1)).join(' / ');

async function parent(days: string[]): Promise<void> {
  const counts = o.threads.split(',').map(Number);
  if (counts.length < 2 || counts.some((n) => !(Number.isInteger(n) && n >= 0))) {
    throw new Error(`--threads: expected two or more worker counts like 1,2, found ${o.threads}`);
  }
  const children = counts.map((n) => new Child(n));
  const ready = await Promise.all(children.map((c) => c.next<{ ready: Loaded }>()));
  const loaded = ready.map((r) => r.ready);
  const kinds = mainKinds(days, 'admin3');
  const selected = kinds.map(([name], i) => ({ name, i })).filter(({ name }) => !o.only || o.only.split(',').some((part) => name.includes(part)));
  const runs = new Map<string, Run[][]>(); // kind -> per child -> runs
  const loads: string[] = [];
  const started = performance.now();
  for (const { name, i } of selected) {
    const per: Run[][] = children.map(() => []);
    loads.push(loadavg());
    for (let rep = 0; rep < o.repeat; rep++) {
      // Alternate the order, so neither side always runs first after the other.
      const order = rep % 2 === 0 ? children.map((_, c) => c) : children.map((_, c) => children.length - 1 - c);
      for (const c of order) per[c]!.push(await children[c]!.run(i));
    }
    runs.set(name, per);
    const hashes = new Set(per.flat().map((r) => r.rows));
    if (hashes.size !== 1) throw new Error(`${name}: expected the same rows from every run with ${counts.join(' and ')} workers, found ${hashes.size} different results`);
    const ms = per.map((rs) => fmt(median(rs.map((r) => r.ms))));
    console.error(`${name}: median ms ${counts.map((n, c) => `${n} worker(s) ${ms[c]}`).join(', ')} (load ${loadavg()})`);
  }
  for (const c of children) c.quit();
  const text = render(counts, loaded, selected.map((s) => s.name), runs, loads, (performance.now() - started) / 1000);
  console.log(text);
  const old = fs.existsSync(o.out) ? fs.readFileSync(o.out, 'utf8') : '';
  fs.writeFileSync(o.out, replaceSection(old, SECTION, text));
  console.error(`wrote ${path.relative(ROOT, o.out)} (${SECTION.slice(3)})`);
}

function render(counts: number[], loaded: Loaded[], names: string[], runs: Map<string, Run[][]>, loads: string[], seconds: number): string {
  const table = (head: string[], rows: string[][]) => [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const [base, two] = [0, counts.length - 1];
  const L = loaded[two]!;
  const cpus = os.cpus();
  const machine = `${cpus[0]?.model.trim() ?? 'CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`;
  // Serial part, then the workers' CPU shared evenly (batches go to whichever worker is free), then at most one
  // partition that one worker may still run alone at the end (the last batches are single partitions).
  const critical = (n: number) => (r: Run) => {
    const w = r.workers.reduce((s, x) => s + x, 0);
    return r.serialCpu + w / Math.max(1, n) + (n > 1 ? w / L.partitions : 0);
  };
  const speedRows = names.map((name, k) => {
    const per = runs.get(name)!;
    const m = (c: number, f: (r: Run) => number) => median(per[c]!.map(f));
    const range = (c: number) => `${fmt(Math.min(...per[c]!.map((r) => r.ms)))}-${fmt(Math.max(...per[c]!.map((r) => r.ms)))}`;
        return [
      name,
      `${fmt(m(base, (r) => r.ms))} (${range(base)})`,
      `${fmt(m(two, (r) => r.ms))} (${range(two)})`,
      `${(m(base, (r) => r.ms) / m(two, (r) => r.ms)).toFixed(2)}x`,
      fmt(m(base, (r) => r.workers.reduce((s, x) => s + x, 0))),
      counts[two]! > 0 ? per[two]![0]!.workers.map((_, w) => fmt(m(two, (r) => r.workers[w] ?? 0))).join(' + ') : '-',
      `${fmt(m(base, (r) => r.mainCpu))} / ${fmt(m(two, (r) => r.mainCpu))}`,
      `${fmt(m(base, (r) => r.serialCpu))} / ${fmt(m(two, (r) => r.serialCpu))} (${(100 * m(two, (r) => r.serialCpu / critical(counts[two]!)(r))).toFixed(1)}%)`,
      // Run i of one worker count against run i of the other (minutes apart at most): the load drifts less within a pair.
      `${median(per[base]!.map((r, i) => critical(counts[base]!)(r) / critical(counts[two]!)(per[two]![i]!))).toFixed(2)}x`,
      loads[k]!,
    ];
  });
  const frameRows = names.map((name) => {
    const fs2 = runs.get(name)![two]!.map((r) => r.first).filter((f): f is FirstFrame => f !== null);
    if (fs2.length === 0) return [name, '-', '-', '-', '-', '-', '-'];
    const f = (g: (x: FirstFrame) => number) => median(fs2.map(g));
    const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '-');
    return [
      name,
      fmt(f((x) => x.ms)),
      f((x) => x.fraction).toFixed(3),
      `${fmt(f((x) => x.rows))} of ${fmt(f((x) => x.finalRows))}`,
      `${fmt(f((x) => x.withheld))} (${pct(f((x) => x.withheld / Math.max(1, x.rows + x.withheld)))})`,
      pct(f((x) => x.medianError)),
      pct(f((x) => x.sumError)),
    ];
  });
  const memRows = names.map((name) => {
    const last = runs.get(name)![two]!.at(-1)!;
    return [name, fmt(last.memory.memory / MiB), fmt(last.memory.free / MiB), fmt(last.rss / MiB)];
  });
  return `${SECTION}

\`npm run build && node dist/bench/parallel.js --events ${o.events} --repeat ${o.repeat} --threads ${o.threads}\` (bench/parallel.ts); ${seconds.toFixed(0)} s.

Store: the generated displacement scenario (bench/datasets.ts), ${fmt(L.events)} events, ${fmt(L.subscribers)} subscribers, 7 days,
${L.partitions} partitions, unit admin3. One child process per worker count holds its engine open (result cache off); the
runs of a kind alternate between them (${counts.join(', ')}, then the reverse, ${o.repeat} runs each); every run of a kind gave the
same rows (SHA-256 of the final result). Machine: ${machine};
load average (1 / 5 / 15 min) at each kind's start in the table, ${loadavg()} at the end. The machine is shared: wall times
move with the load, CPU times far less (they do not count time spent waiting for a core).

Speed-up from ${counts[base]} to ${counts[two]} workers (medians; ms):

${table(
  ['kind', `wall, ${counts[base]} worker(s) (range)`, `wall, ${counts[two]} workers (range)`, 'wall speed-up', `worker CPU, ${counts[base]}`, `worker CPU, ${counts[two]} (each)`, `main CPU, ${counts[base]} / ${counts[two]}`, `serial CPU, ${counts[base]} / ${counts[two]} (share)`, 'CPU-bound speed-up', 'load average'],
  speedRows,
)}

- *worker CPU*: CPU time of the pool's threads (the busiest non-main threads of the process); *main CPU*: the main
  thread's (dispatch, merge of partition results, the first estimate, shaping and redaction); *serial CPU*: the main
  thread's CPU before the first partition task is dispatched and after the last one is merged (parse, plan, shape,
  redact), while no worker has anything to do (the process's CPU time then), and its share of the CPU-bound time with
  ${counts[two]} workers.
- *CPU-bound speed-up*: the time the CPU figures allow with ${counts[base]} worker(s) over the same with ${counts[two]}, each being serial CPU +
  worker CPU / workers (batches go to whichever worker is free) + with more than one worker, one partition's share of
  the worker CPU (the last partition, which one worker may still run alone): the speed-up on a quiet machine if the
  main thread's work during the tasks cost the workers nothing. The median over pairs of runs (the i-th of each
  worker count, run one after the other). The per-worker CPU shows how the load split the work
  in this run (a worker that waited for a core took fewer batches).

First progressive frame, ${counts[two]} workers (medians over the runs): when it came, the share of subscribers behind it, its rows
against the final's, the rows it withheld, and its error on the rows both publish (|first / final - 1|, median; and
the sum of those rows in the first frame over their sum in the final, minus 1). A frame is redacted on its own
subscribers and its counts coarsened and scaled (docs/SERVICE.md); an estimate redaction leaves without a row is not
sent, so the first frame of a kind whose every row waits for more subscribers comes later.

${table(['kind', 'first frame ms', 'fraction', 'rows (of the final)', 'withheld (share)', 'median error', 'sum error'], frameRows)}

Resident memory (${counts[two]}-worker process): RSS ${fmt(L.rssBefore / MiB)} MiB before the store is opened, ${fmt(L.rssAfterLoad / MiB)} MiB after
load: **${((L.rssAfterLoad - L.rssBefore) / L.events).toFixed(1)} B/event of RSS growth**, against ${(L.columns / L.events).toFixed(1)} B/event of allocated columns and
tables (LoadedStore.residentBytes) and a WebAssembly memory of ${fmt(L.memoryAfterLoad.memory / MiB)} MiB (${(L.memoryAfterLoad.memory / L.events).toFixed(1)} B/event; ${fmt(L.memoryAfterLoad.free / MiB)} MiB of it
free: the load's scratch, freed, stays resident). After each kind (its last run):

${table(['kind', 'WebAssembly memory MiB', 'of it free MiB', 'RSS MiB'], memRows)}
`;
}

if (o.child !== undefined) {
  await child(o.child);
} else {
  // Generated and ingested once, before the children open it; the parent holds no engine, only the days.
  const store = Store.open(await ensureStore(o.events, o.dir));
  const days = store.days();
  store.release();
  await parent(days);
}
