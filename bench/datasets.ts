/**
 * The benchmarks' generated datasets and stores, one pair per size, kept in
 * bench/data (gitignored) and reused between runs: the same approximate event
 * count always names the same folders, so every bench reads the same data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../server/generate/index.js';
import { ingest } from '../server/ingest/ingest.js';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'data');
/** Events per subscriber per day the generator makes on average (measured on its output). */
export const EVENTS_PER_SUB_DAY = 5.4;
export const DAYS = 7;

export interface BenchData {
  subscribers: number;
  dataset: string;
  store: string;
}

export type EventFormat = 'csv' | 'csv.gz' | 'parquet' | 'arrow';

export function benchData(events: number, dir = BENCH_DIR, format: EventFormat = 'csv'): BenchData {
  const subscribers = Math.max(100, Math.round(events / DAYS / EVENTS_PER_SUB_DAY));
  return { subscribers, dataset: path.join(dir, `ds-${subscribers}-${format}`), store: path.join(dir, `store-${subscribers}-${format}`) };
}

/** The displacement scenario with about `events` events, generated when missing. */
export async function ensureDataset(events: number, dir = BENCH_DIR, format: EventFormat = 'csv'): Promise<BenchData> {
  const data = benchData(events, dir, format);
  if (!fs.existsSync(path.join(data.dataset, 'dataset.json'))) {
    const g = await generate({ out: data.dataset, subscribers: data.subscribers, days: DAYS, seed: 42, format, scenario: 'displacement' });
    console.error(`generated ${g.events.toLocaleString('en-US')} ${format} events in ${g.seconds.toFixed(1)} s -> ${data.dataset}`);
  }
  return data;
}

/** The store of that dataset, ingested when missing; returns its folder. */
export async function ensureStore(events: number, dir = BENCH_DIR): Promise<string> {
  process.env.OPALITE_PSEUDONYM_KEY ??= 'be'.repeat(32);
  const data = await ensureDataset(events, dir);
  if (!fs.existsSync(path.join(data.store, 'store.json'))) {
    const t0 = performance.now();
    const r = await ingest({ dataset: data.dataset, store: data.store });
    console.error(`ingested ${r.rows.toLocaleString('en-US')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${data.store}`);
  }
  return data.store;
}
