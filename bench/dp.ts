/**
 * The cost of differential privacy against threshold redaction, per main kind:
 * the same spec run with each protection (result cache off, so every run
 * computes), with its progressive frames asked for (under DP each frame adds
 * the tree nodes' noise). Kinds DP does not release (DP_UNSUPPORTED) are
 * listed as refused. One run on a shared machine: read the ratios. Results and
 * what dominates DP's cost: docs/PRIVACY.md, "Cost".
 *
 *   npm run build && node dist/bench/dp.js [--events 2000000] [--threads 2] [--runs 5] [--unit admin3]
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Engine, type RunOptions } from '../server/engine/engine.js';
import { ingest } from '../server/ingest/ingest.js';
import type { Protection } from '../server/privacy/dp/mechanism.js';
import { ensureDataset } from './datasets.js';
import { mainKinds } from './kinds.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const o = new Command('bench-dp')
  .option('--events <n>', 'approximate number of events', (v) => Number(v), 2_000_000)
  .option('--threads <n>', 'engine worker threads (0 = main thread)', (v) => Number(v), Math.max(1, os.availableParallelism()))
  .option('--runs <n>', 'runs per kind and protection (the median is kept)', (v) => Number(v), 5)
  .option('--unit <u>', 'aggregation unit', 'admin3')
  .option('--dir <dir>', 'where datasets and stores are kept', path.join(ROOT, 'bench', 'data'))
  .parse(process.argv)
  .opts<{ events: number; threads: number; runs: number; unit: string; dir: string }>();

process.env.OPALITE_PSEUDONYM_KEY ??= 'be'.repeat(32);
const { dataset, store } = await ensureDataset(o.events, o.dir, 'csv');
await ingest({ dataset, store });
const engine = Engine.open(store, { threads: o.threads, cacheEntries: 0 });
const dp: Protection = { mode: 'dp', secret: randomBytes(32), rho: 0.1, k: 15, delta: 1e-9 };

async function median(json: object, protection: Protection): Promise<{ ms: number; frames: number }> {
  const times: number[] = [];
  let frames = 0;
  for (let i = 0; i < o.runs; i++) {
    frames = 0;
    const opts: RunOptions = { protection, onPartial: () => frames++ };
    const t0 = performance.now();
    await engine.run(json, opts);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, frames };
}

const lines = ['| kind | threshold (ms) | DP (ms) | DP / threshold | frames |', '|---|---|---|---|---|'];
try {
  for (const [name, json] of mainKinds(engine.store.days(), o.unit)) {
    const t = await median(json, { mode: 'threshold' });
    try {
      const d = await median(json, dp);
      lines.push(`| ${name} | ${t.ms.toFixed(1)} | ${d.ms.toFixed(1)} | ${(d.ms / t.ms).toFixed(2)} | ${d.frames} |`);
    } catch (e) {
      if ((e as { code?: string }).code !== 'DP_UNSUPPORTED') throw e;
      lines.push(`| ${name} | ${t.ms.toFixed(1)} | refused (DP_UNSUPPORTED) | - | - |`);
    }
  }
} finally {
  await engine.close();
}
process.stdout.write(`${o.events.toLocaleString('en-US')} events, unit ${o.unit}, ${o.threads} thread(s), median of ${o.runs} runs\n\n${lines.join('\n')}\n`);
