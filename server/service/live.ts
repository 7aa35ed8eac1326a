/**
 * Live data: watch the served store's manifest, and when an ingest commits a
 * new version, open an engine on it and swap it into the running server, which
 * re-runs the live subscriptions whose window reaches the new days. The old
 * engine keeps serving queries already running on it and is closed after a
 * grace period. A store that cannot be opened is logged and the old version
 * stays in service.
 */
import type { Logger } from 'pino';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { watchManifest } from '../store/change.js';
import { readManifest } from '../store/manifest.js';

/** Who serves the engine the follower replaces: the running server (server.ts) is one, injected by the caller. */
export interface EngineHolder {
  readonly context: { readonly engine: Engine };
  /** Takes `engine` into service; the follower closes the old one after its grace period. */
  onStoreVersion(engine: Engine): void;
}

export interface LiveOptions {
  store: string;
  engine: EngineOptions;
  server: EngineHolder;
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
      // The old version's engine serves only the queries already running on it: the days they do not read go now.
      old.evictUnpinned();
      const entry = { engine: old, timer: setTimeout(() => void retire(entry), opts.graceMs ?? 60_000) };
      retired.add(entry);
    });
  };
  const retire = async (entry: { engine: Engine; timer: NodeJS.Timeout }) => {
    clearTimeout(entry.timer);
    retired.delete(entry);
    await entry.engine.close();
  };

  const watch = watchManifest(opts.store, check, opts.intervalMs);
  return {
    settled: () => pending,
    async close() {
      watch.close();
      await pending;
      for (const entry of [...retired]) await retire(entry);
    },
  };
}
