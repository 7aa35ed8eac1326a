/**
 * Live data: watch the served store's manifest, and when an ingest commits a
 * new version, open an engine on it and swap it into the running server, which
 * re-runs the live subscriptions whose window reaches the new days. The old
 * engine keeps serving queries already running on it and is closed after a
 * grace period. A store that cannot be opened is logged and the old version
 * stays in service.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { paths } from '../store/layout.js';
import { type Manifest, readManifest } from '../store/manifest.js';
import type { RunningServer } from './server.js';

/**
 * What a new store version changed: the days added, replaced (a re-ingest
 * writes a new day folder) or removed (retention), or everything when the cell
 * or region tables changed. Live subscriptions are re-sent only when a changed
 * day lies inside what they read.
 */
export interface StoreChange {
  all: boolean;
  /** YYYY-MM-DD, sorted. */
  days: string[];
}

export function storeChange(before: Manifest, after: Manifest): StoreChange {
  // dimsHash covers the cell and region tables only: new subscribers alone do not change it.
  const dims = (m: Manifest) => m.dimsHash ?? m.dims;
  const all = dims(before) !== dims(after);
  const dates = new Set([...Object.keys(before.days), ...Object.keys(after.days)]);
  const days = [...dates].filter((d) => before.days[d]?.dir !== after.days[d]?.dir).sort();
  return { all, days };
}

const DAY_MS = 86_400_000;

/** Whether the change touches a window [start, end) in ms since the epoch (UTC days, as specWindow gives them). */
export function changeTouches(change: StoreChange, [start, end]: readonly [number, number]): boolean {
  if (change.all) return true;
  return change.days.some((d) => {
    const t = Date.parse(`${d}T00:00:00Z`);
    return t < end && t + DAY_MS > start;
  });
}

export interface LiveOptions {
  store: string;
  engine: EngineOptions;
  server: RunningServer;
  log: Pick<Logger, 'info' | 'error'>;
  /** How often the manifest is checked (fs.watchFile polls: it survives the atomic rename). */
  intervalMs?: number;
  /** How long a replaced engine lives on for the queries still running on it. */
  graceMs?: number;
}

export interface LiveStore {
  /** Resolves once a swap in progress is done (tests). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export function followStore(opts: LiveOptions): LiveStore {
  const file = paths.manifest(opts.store);
  let current = opts.server.context.engine;
  let pending: Promise<void> = Promise.resolve();
  const retired = new Set<{ engine: Engine; timer: NodeJS.Timeout }>();

  const check = () => {
    pending = pending.then(async () => {
      let version: number;
      try {
        version = readManifest(opts.store).version;
      } catch (e) {
        opts.log.error({ err: e }, 'store manifest unreadable; still serving the previous version');
        return;
      }
      if (version <= current.version) return;
      let next: Engine;
      try {
        next = Engine.open(opts.store, opts.engine);
      } catch (e) {
        opts.log.error({ err: e, version }, 'new store version cannot be opened; still serving the previous version');
        return;
      }
      const old = current;
      current = next;
      opts.server.onStoreVersion(next);
      opts.log.info({ from: old.version, to: next.version, days: next.store.days().length }, 'serving a new store version');
      const entry = { engine: old, timer: setTimeout(() => void retire(entry), opts.graceMs ?? 60_000) };
      retired.add(entry);
    });
  };
  const retire = async (entry: { engine: Engine; timer: NodeJS.Timeout }) => {
    clearTimeout(entry.timer);
    retired.delete(entry);
    await entry.engine.close();
  };

  fs.watchFile(file, { interval: opts.intervalMs ?? 1000 }, check);
  return {
    settled: () => pending,
    async close() {
      fs.unwatchFile(file, check);
      await pending;
      for (const entry of [...retired]) await retire(entry);
    },
  };
}
