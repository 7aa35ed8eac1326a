/**
 * How Opalite's engine grows with the data (issues #4 and #16): for each size, in a
 * fresh child process so that peak memory is that size's alone, it opens the
 * store (the same ds-/store- folders bench/run.ts and bench/duckdb.ts use,
 * ingested when missing, or one store given with --store), and runs every
 * main kind, no result cache, the first run cold: each query reads its days on
 * first use into the buffer pool (within --resident-bytes), later runs find
 * them resident. Reports open time, bytes read, the pool's peak resident bytes
 * against the budget, time to the first progressive estimate and to the final
 * result per kind, and the peak RSS. With --windows, the kinds are windows of
 * growing length over the store's days instead. Writes bench/SCALE.md (or --out).
 *
 *   npm run build && node dist/bench/scale.js --sizes 1000000,20000000,100000000 [--threads 2]
 *   node dist/bench/scale.js --store DIR --windows 1,7,14,28 --resident-bytes 1073741824 --out FILE
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Engine } from '../server/engine/engine.js';
import { SpecError } from '../server/errors.js';
import { Store } from '../server/store/reader.js';
import { summarise } from '../server/store/summary.js';
import { BENCH_DIR, ensureStore } from './datasets.js';
import { mainKinds } from './kinds.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const o = new Command('bench-scale')
  .option('--sizes <list>', 'approximate event counts, comma-separated', '1000000,20000000,100000000')
  .option('--threads <n>', 'engine worker threads', (v) => Number(v), 2)
  .option('--dir <dir>', 'where datasets and stores are kept', BENCH_DIR)
  .option('--out <file>', 'results file', path.join(ROOT, 'bench', 'SCALE.md'))
  .option('--partitions <n>', 'subscriber partitions (default: the engine chooses from the store size)', (v) => Number(v))
  .option('--repeat <n>', 'runs per kind: the first is cold; the table also gives the best', (v) => Number(v), 1)
  .option('--only <text>', 'run only the kinds whose name contains one of these comma-separated texts')
  .option('--store <dir>', 'measure this store (one size) instead of generated ones')
  .option('--resident-bytes <n>', 'the engine\'s resident budget (default: the engine\'s)', (v) => Number(v))
  .option('--windows <list>', 'instead of the main kinds: kinds over windows of these many days, comma-separated')
  .option('--child <events>', 'internal: measure one size and print JSON', (v) => Number(v))
  .parse(process.argv)
  .opts<{
    sizes: string;
    threads: number;
    dir: string;
    out: string;
    partitions?: number;
    repeat: number;
    only?: string;
    child?: number;
    store?: string;
    residentBytes?: number;
    windows?: string;
  }>();

interface KindFigures {
  name: string;
  /** The first (cold) run's time to the final result. */
  ms: number;
  /** The best run's. */
  bestMs: number;
  /** The slowest run's time to the first progressive estimate. */
  firstPartialMs: number;
  rows: number;
  /** Bytes the first run read from the store (its days not yet resident). */
  readBytes: number;
  /** Refused: the window alone needs more than the resident budget. */
  refused?: boolean;
}

interface SizeFigures {
  events: number;
  subscribers: number;
  days: number;
  partitions: number;
  /** Engine.open: dimensions and subscriber partitions, no day. */
  openMs: number;
  /** Bytes the queries read from the store's columns. */
  readBytes: number;
  /** The most day-column bytes resident at once, and the budget. */
  peakResidentBytes: number;
  budgetBytes: number;
  evictions: number;
  diskBytesPerEvent: number;
  rssAfterLoadGiB: number;
  peakRssGiB: number;
  kinds: KindFigures[];
}

const GiB = 2 ** 30;

/** Kinds over windows of growing length, from the store's first day: the per-day reductions OPAL's indicators start from. */
function windowKinds(days: readonly string[], lengths: number[], unit: string): [string, object][] {
  const out: [string, object][] = [];
  const after = (date: string) => new Date(Date.parse(date) + 86_400_000).toISOString().slice(0, 10);
  for (const w of lengths.filter((w) => w <= days.length)) {
    const window = { start_date: days[0], end_date: w < days.length ? days[w] : after(days.at(-1)!), aggregation_unit: unit };
    const daily = days.slice(0, w).map((date) => ({ query_kind: 'daily_location', date, method: 'last', aggregation_unit: unit }));
    out.push([`unique_subscriber_counts ${w} d`, { query_kind: 'unique_subscriber_counts', ...window }]);
    out.push([`spatial_aggregate modal of ${w} daily last`, { query_kind: 'spatial_aggregate', locations: { query_kind: 'modal_location', locations: daily } }]);
    out.push([`location_event_counts daily ${w} d`, { query_kind: 'location_event_counts', ...window, interval: 'day', direction: 'both' }]);
  }
  return out;
}

async function measure(events: number): Promise<SizeFigures> {
  const storeDir = o.store ?? (await ensureStore(events, o.dir));
  const summary = summarise(Store.open(storeDir));
  let t0 = performance.now();
  const engine = Engine.open(storeDir, { threads: o.threads, cacheEntries: 0, partitions: o.partitions, residentBytes: o.residentBytes });
  const openMs = performance.now() - t0;
  const rssAfterLoad = process.memoryUsage().rss;
  const kinds: KindFigures[] = [];
  const days = engine.store.days();
  const list = o.windows ? windowKinds(days, o.windows.split(',').map(Number), 'admin3') : mainKinds(days, 'admin3');
  for (const [name, spec] of list.filter(([name]) => !o.only || o.only.split(',').some((part) => name.includes(part)))) {
    let cold = NaN;
    let best = Infinity;
    let worstFirst = NaN;
    let rows = 0;
    let refused = false;
    const read0 = engine.poolStats().bytesRead;
    let readBytes = 0;
    for (let run = 0; run < o.repeat && !refused; run++) {
      let first = NaN;
      t0 = performance.now();
      const result = await engine.run(spec, { onPartial: () => (first = Number.isNaN(first) ? performance.now() - t0 : first) }).catch((e: unknown) => {
        // A window past the budget is refused before anything is read: the row says so.
        if (e instanceof SpecError && e.code === 'OVER_BUDGET') return null;
        throw e;
      });
      if (!result) {
        refused = true;
        break;
      }
      const ms = performance.now() - t0;
      if (run === 0) cold = ms;
      if (run === 0) readBytes = engine.poolStats().bytesRead - read0;
      best = Math.min(best, ms);
      if (!(first <= worstFirst)) worstFirst = first;
      rows = result.rows.length;
    }
    kinds.push({ name, ms: cold, bestMs: best, firstPartialMs: worstFirst, rows, refused, readBytes });
  }
  const pool = engine.poolStats();
  await engine.close();
  return {
    events: summary.rows,
    subscribers: summary.subscribers,
    days: summary.days.length,
    partitions: engine.loaded.nParts,
    openMs,
    readBytes: pool.bytesRead,
    peakResidentBytes: pool.peakBytes,
    budgetBytes: pool.budgetBytes,
    evictions: pool.evictions,
    diskBytesPerEvent: summary.bytesPerEvent,
    rssAfterLoadGiB: rssAfterLoad / GiB,
    // maxRSS is in KiB on Linux.
    peakRssGiB: (process.resourceUsage().maxRSS * 1024) / GiB,
    kinds,
  };
}

if (o.child !== undefined) {
  process.stdout.write(JSON.stringify(await measure(o.child)) + '\n');
} else {
  const sizes = o.store ? [0] : o.sizes.split(',').map(Number);
  const figures: SizeFigures[] = [];
  for (const size of sizes) {
    console.error(`measuring ${o.store ?? `${size.toLocaleString('en-US')} events`}...`);
    const args = [
      '--child', String(size), '--threads', String(o.threads), '--dir', o.dir, '--repeat', String(o.repeat),
      ...(o.partitions ? ['--partitions', String(o.partitions)] : []),
      ...(o.only ? ['--only', o.only] : []),
      ...(o.store ? ['--store', o.store] : []),
      ...(o.residentBytes ? ['--resident-bytes', String(o.residentBytes)] : []),
      ...(o.windows ? ['--windows', o.windows] : []),
    ];
    const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    figures.push(JSON.parse(out.toString().trim().split('\n').at(-1)!) as SizeFigures);
  }
  const text = render(figures);
  console.log(text);
  fs.writeFileSync(o.out, text);
}

function render(figures: SizeFigures[]): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const table = (head: string[], rows: string[][]) => [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} x ${os.availableParallelism()}, ${(os.totalmem() / GiB).toFixed(0)} GiB, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  const sizes = table(
    ['events', 'days', 'subscribers', 'partitions', 'open ms', 'read GiB', 'peak resident GiB', 'budget GiB', 'evictions', 'disk B/event', 'RSS after open GiB', 'peak RSS GiB'],
    figures.map((f) => [
      fmt(f.events), String(f.days), fmt(f.subscribers), String(f.partitions), fmt(f.openMs), (f.readBytes / GiB).toFixed(2), (f.peakResidentBytes / GiB).toFixed(2),
      (f.budgetBytes / GiB).toFixed(2), fmt(f.evictions), f.diskBytesPerEvent.toFixed(1), f.rssAfterLoadGiB.toFixed(2), f.peakRssGiB.toFixed(2),
    ]),
  );
  const names = figures[0]?.kinds.map((k) => k.name) ?? [];
  const perKind = (pick: (k: KindFigures) => string) =>
    table(['kind', ...figures.map((f) => `${fmt(f.events)} events`)], names.map((name, i) => [name, ...figures.map((f) => pick(f.kinds[i]!))]));
  return `# Opalite at growing sizes

Written by bench/scale.ts (\`npm run build && node dist/bench/scale.js ${o.store ? '--store ...' : '--sizes ...'}\`). Each size runs in its own process: the store is opened
(Engine.open, ${o.threads} worker thread(s), ${o.partitions ? `${o.partitions} partitions` : 'partitions chosen by the engine from the store size'}; no day is read), then ${o.windows ? `kinds over windows of ${o.windows} days` : 'every main kind'} run
${o.repeat} time(s) in a row with no result cache, the first cold: it reads the days it needs into the buffer pool, within the budget.
${o.store ? 'The store given.' : 'The generated displacement scenario, 7 days.'} Unit admin3. Peak RSS is the child process's maximum resident set, engine and pool included.

Machine: ${machine}. One run on a shared machine; read the growth within the run.

${sizes}

Time to the final result, ms, first (cold) run:

${perKind((k) => (k.refused ? 'refused (budget)' : fmt(k.ms)))}
${o.repeat > 1 ? `\nTime to the final result, ms, best of ${o.repeat} runs:\n\n${perKind((k) => (k.refused ? 'refused (budget)' : fmt(k.bestMs)))}\n` : ''}
MiB the first run read from the store (days not yet resident: the pool keeps days that earlier kinds read):

${perKind((k) => (k.refused ? '-' : (k.readBytes / 2 ** 20).toFixed(1)))}

Time to the first progressive estimate, ms${o.repeat > 1 ? `, the slowest of ${o.repeat} runs` : ''} (the service streams this as the first partial frame):

${perKind((k) => (Number.isNaN(k.firstPartialMs) ? '-' : fmt(k.firstPartialMs)))}
${keptNotes()}`;
}

/** The out file's hand-written "## Notes" section and everything after it, kept across runs. */
function keptNotes(): string {
  const old = fs.existsSync(o.out) ? fs.readFileSync(o.out, 'utf8') : '';
  const at = old.search(/^## Notes/m);
  return at < 0 ? '' : '\n' + old.slice(at);
}
