/**
 * How Opalite's engine grows with the data (issue #4): for each size, in a
 * fresh child process so that peak memory is that size's alone, it opens the
 * store (the same ds-/store- folders bench/run.ts and bench/duckdb.ts use,
 * ingested when missing), and runs every main kind cold, once, no result
 * cache: load time, resident bytes per event, time to the first progressive
 * estimate and to the final result per kind, and the peak RSS. Writes
 * bench/SCALE.md.
 *
 *   npm run build && node dist/bench/scale.js --sizes 1000000,20000000,100000000 [--threads 2]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Engine } from '../server/engine/engine.js';
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
  .option('--child <events>', 'internal: measure one size and print JSON', (v) => Number(v))
  .parse(process.argv)
  .opts<{ sizes: string; threads: number; dir: string; out: string; partitions?: number; repeat: number; only?: string; child?: number }>();

interface KindFigures {
  name: string;
  /** The first (cold) run's time to the final result. */
  ms: number;
  /** The best run's. */
  bestMs: number;
  /** The slowest run's time to the first progressive estimate. */
  firstPartialMs: number;
  rows: number;
}

interface SizeFigures {
  events: number;
  subscribers: number;
  days: number;
  partitions: number;
  loadMs: number;
  residentBytesPerEvent: number;
  diskBytesPerEvent: number;
  rssAfterLoadGiB: number;
  peakRssGiB: number;
  kinds: KindFigures[];
}

const GiB = 2 ** 30;

async function measure(events: number): Promise<SizeFigures> {
  const storeDir = await ensureStore(events, o.dir);
  const summary = summarise(Store.open(storeDir));
  let t0 = performance.now();
  const engine = Engine.open(storeDir, { threads: o.threads, cacheEntries: 0, partitions: o.partitions });
  const loadMs = performance.now() - t0;
  const rssAfterLoad = process.memoryUsage().rss;
  const kinds: KindFigures[] = [];
  for (const [name, spec] of mainKinds(engine.store.days(), 'admin3').filter(([name]) => !o.only || o.only.split(',').some((part) => name.includes(part)))) {
    let cold = NaN;
    let best = Infinity;
    let worstFirst = NaN;
    let rows = 0;
    for (let run = 0; run < o.repeat; run++) {
      let first = NaN;
      t0 = performance.now();
      const result = await engine.run(spec, { onPartial: () => (first = Number.isNaN(first) ? performance.now() - t0 : first) });
      const ms = performance.now() - t0;
      if (run === 0) cold = ms;
      best = Math.min(best, ms);
      if (!(first <= worstFirst)) worstFirst = first;
      rows = result.rows.length;
    }
    kinds.push({ name, ms: cold, bestMs: best, firstPartialMs: worstFirst, rows });
  }
  const residentBytesPerEvent = engine.loaded.residentBytes() / summary.rows;
  await engine.close();
  return {
    events: summary.rows,
    subscribers: summary.subscribers,
    days: summary.days.length,
    partitions: engine.loaded.nParts,
    loadMs,
    residentBytesPerEvent,
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
  const sizes = o.sizes.split(',').map(Number);
  const figures: SizeFigures[] = [];
  for (const size of sizes) {
    console.error(`measuring ${size.toLocaleString('en-US')} events...`);
    const args = ['--child', String(size), '--threads', String(o.threads), '--dir', o.dir, '--repeat', String(o.repeat), ...(o.partitions ? ['--partitions', String(o.partitions)] : []), ...(o.only ? ['--only', o.only] : [])];
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
    ['events', 'subscribers', 'partitions', 'load ms', 'resident B/event', 'disk B/event', 'RSS after load GiB', 'peak RSS GiB'],
    figures.map((f) => [fmt(f.events), fmt(f.subscribers), String(f.partitions), fmt(f.loadMs), f.residentBytesPerEvent.toFixed(1), f.diskBytesPerEvent.toFixed(1), f.rssAfterLoadGiB.toFixed(2), f.peakRssGiB.toFixed(2)]),
  );
  const names = figures[0]?.kinds.map((k) => k.name) ?? [];
  const perKind = (pick: (k: KindFigures) => string) =>
    table(['kind', ...figures.map((f) => `${fmt(f.events)} events`)], names.map((name, i) => [name, ...figures.map((f) => pick(f.kinds[i]!))]));
  return `# Opalite at growing sizes

Written by bench/scale.ts (\`npm run build && node dist/bench/scale.js --sizes ...\`). Each size runs in its own process: the store is opened
(Engine.open, ${o.threads} worker thread(s), ${o.partitions ? `${o.partitions} partitions` : 'partitions chosen by the engine from the store size'}), then every main kind runs
${o.repeat} time(s) in a row with no result cache, the first cold. The generated displacement scenario, 7 days, unit admin3. Peak RSS
is the child process's maximum resident set, engine and pool included.

Machine: ${machine}. One run on a shared machine; read the growth within the run.

${sizes}

Time to the final result, ms, first (cold) run:

${perKind((k) => fmt(k.ms))}
${o.repeat > 1 ? `\nTime to the final result, ms, best of ${o.repeat} runs:\n\n${perKind((k) => fmt(k.bestMs))}\n` : ''}
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
