/**
 * Retention: drop the days older than a horizon, as one atomic commit (the
 * manifest stops naming them, then their folders are removed), so a store kept
 * for months holds only what the operator's policy allows.
 */
import { lockStore } from './lock.js';
import { removeOrphans } from './commit.js';
import { type Manifest, readManifest, storedDays, writeManifest } from './manifest.js';

/** Removes every day before `keepFrom` (YYYY-MM-DD); returns the days removed and the new version. */
export function pruneBefore(store: string, keepFrom: string): { removed: string[]; version: number } {
  const release = lockStore(store);
  try {
    const base = readManifest(store);
    const removed = storedDays(base).filter((d) => d < keepFrom);
    if (removed.length === 0) return { removed, version: base.version };
    const days = Object.fromEntries(Object.entries(base.days).filter(([d]) => d >= keepFrom));
    const next: Manifest = { ...base, version: base.version + 1, updated: new Date().toISOString(), days };
    writeManifest(store, next);
    removeOrphans(store, next);
    return { removed, version: next.version };
  } finally {
    release();
  }
}

/** The first day to keep so that the newest `keepDays` days of the store remain. */
export function retentionHorizon(store: string, keepDays: number): string | null {
  const days = storedDays(readManifest(store));
  if (days.length === 0) return null;
  const last = Date.parse(`${days.at(-1)}T00:00:00Z`);
  return new Date(last - (keepDays - 1) * 86_400_000).toISOString().slice(0, 10);
}
