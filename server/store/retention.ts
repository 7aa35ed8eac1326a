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

/**
 * The first day to keep so that `keepDays` days remain, counted back from the
 * newest plausible stored day: the newest not after tomorrow (`today`, UTC by
 * default, plus a day of slack). A day dated in the future is an outlier (a
 * broken clock, 2099): counting from it would delete the real data.
 */
export function retentionHorizon(store: string, keepDays: number, today = todayUtc()): string | null {
  const days = storedDays(readManifest(store));
  if (days.length === 0) return null;
  const plausible = days.filter((d) => d <= dayAfter(today));
  const last = Date.parse(`${plausible.at(-1) ?? today}T00:00:00Z`);
  return new Date(last - (keepDays - 1) * 86_400_000).toISOString().slice(0, 10);
}

/** Stored days after tomorrow: not counted from by retention, named to the operator. */
export function futureDays(store: string, today = todayUtc()): string[] {
  return storedDays(readManifest(store)).filter((d) => d > dayAfter(today));
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

function dayAfter(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
