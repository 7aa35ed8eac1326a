/**
 * What a new store version changed, and a watch that says when there is one.
 * The service's live follower (service/live.ts) takes each new version up and
 * re-sends the live subscriptions whose window a changed day lies in.
 */
import fs from 'node:fs';
import { paths } from './layout.js';
import type { Manifest } from './manifest.js';

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

export interface ManifestWatch {
  close(): void;
}

/**
 * Calls `onChange` whenever the store's manifest is replaced (an ingest or a
 * prune committed a version). fs.watchFile polls, every `intervalMs`, so it
 * survives the atomic rename that replaces the file.
 */
export function watchManifest(store: string, onChange: () => void, intervalMs = 1000): ManifestWatch {
  const file = paths.manifest(store);
  const listener = () => onChange();
  fs.watchFile(file, { interval: intervalMs }, listener);
  return { close: () => fs.unwatchFile(file, listener) };
}
