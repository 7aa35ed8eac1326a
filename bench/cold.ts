/**
 * Cold `opalite query` processes (issue #16): for each main kind over a store of
 * many days, a fresh process per run, the wall time, the bytes the process read
 * through read(2) (/proc/self/io rchar: page-cache hits included, so this is what
 * the query asked of the store, not what the disk served) and its peak RSS.
 * Given more than one CLI build (--cli a.js,b.js), each is measured in turn on
 * the same store: the before and after of a change.
 *
 *   npm run build && node dist/bench/cold.js --store DIR [--cli dist/server/cli/main.js,OTHER/main.js] [--repeat 3]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Store } from '../server/store/reader.js';
import { mainKinds } from './kinds.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const o = new Command('bench-cold')
  .requiredOption('--store <dir>', 'store folder')
  .option('--cli <list>', 'comma-separated CLI entry points to compare', path.join(ROOT, 'dist', 'server', 'cli', 'main.js'))
  .option('--repeat <n>', 'runs per kind and CLI (the median is reported)', (v) => Number(v), 3)
  .option('--unit <unit>', 'aggregation unit', 'admin3')
  .option('--only <text>', 'run only the kinds whose name contains one of these comma-separated texts')
  .parse(process.argv)
  .opts<{ store: string; cli: string; repeat: number; unit: string; only?: string }>();

/** Preloaded into each child: prints its read(2) bytes and peak RSS as it exits. */
const HOOK = `import fs from 'node:fs';
process.on('exit', () => {
  const io = fs.readFileSync('/proc/self/io', 'utf8');
  const rchar = Number(/^rchar: (\\d+)$/m.exec(io)?.[1]);
  fs.writeSync(2, '\\nCOLD ' + JSON.stringify({ rchar, maxRssKiB: process.resourceUsage().maxRSS }) + '\\n');
});
`;

interface Run {
  ms: number;
  rchar: number;
  maxRssKiB: number;
}

const store = Store.open(o.store, { lease: false });
const days = store.days();
const events = days.reduce((n, d) => n + store.day(d).rows, 0);
const hook = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-cold-')), 'hook.mjs');
fs.writeFileSync(hook, HOOK);
const clis = o.cli.split(',');
const kinds = mainKinds(days, o.unit).filter(([name]) => !o.only || o.only.split(',').some((part) => name.includes(part)));

function runCold(cli: string, spec: object): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', hook, cli, 'query', '--store', o.store, '--spec', JSON.stringify(spec), '--format', 'csv', '--out', '/dev/null'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 24,
  });
  const ms = performance.now() - t0;
  const err = r.stderr.toString();
  if (r.status !== 0) throw new Error(`${cli} query failed (${r.status}): ${err.slice(0, 400)}`);
  const line = /^COLD (.*)$/m.exec(err)?.[1];
  if (!line) throw new Error(`${cli}: no COLD line in its stderr: ${err.slice(0, 400)}`);
  const io = JSON.parse(line) as { rchar: number; maxRssKiB: number };
  return { ms, ...io };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (n: number) => (n / 2 ** 20).toFixed(1);

const lines: string[] = [];
lines.push(`Store: ${fmt(events)} events over ${days.length} days (${days[0]} .. ${days.at(-1)}), ${o.unit}; ${o.repeat} cold process(es) per cell, median.`);
lines.push(`Machine: ${os.cpus()[0]?.model ?? 'cpu'} x ${os.availableParallelism()}, Node ${process.version}, load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.`);
lines.push('');
lines.push(`| kind | ${clis.map((c, i) => `#${i + 1} ms | #${i + 1} MiB read | #${i + 1} peak RSS MiB`).join(' | ')} |`);
lines.push(`| --- | ${clis.map(() => '--- | --- | ---').join(' | ')} |`);
for (const [name, spec] of kinds) {
  const cells: string[] = [];
  for (const cli of clis) {
    const runs: Run[] = [];
    // Interleaving would be fairer on a shared machine; runs of one CLI back to back keep its page cache warm alike.
    for (let i = 0; i < o.repeat; i++) runs.push(runCold(cli, spec));
    cells.push(fmt(median(runs.map((r) => r.ms))), mb(median(runs.map((r) => r.rchar))), mb(median(runs.map((r) => r.maxRssKiB * 1024))));
  }
  lines.push(`| ${name} | ${cells.join(' | ')} |`);
  console.error(lines.at(-1));
}
lines.push('');
lines.push(clis.map((c, i) => `#${i + 1}: ${path.relative(process.cwd(), c) || c}`).join('; '));
console.log(lines.join('\n'));
