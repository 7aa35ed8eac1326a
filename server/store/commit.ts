/**
 * Publishing staged work into the store. New folders are renamed in first; the
 * manifest rename is the single moment the store changes; folders the new
 * manifest no longer names are removed last. A crash at any point leaves either
 * the old manifest (and some orphans, removed by `removeOrphans`) or the new one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from './fsutil.js';
import { dayDirName, dimsDirName, MANIFEST_FILE, paths, PENDING_REPORT } from './layout.js';
import { leasedDirs, manifestDirs } from './lease.js';
import { type DayEntry, type Manifest, writeManifest } from './manifest.js';

export interface StagedCommit {
  /** date -> staged day folder and its entry. */
  days: Map<string, { staged: string; entry: Omit<DayEntry, 'dir'> }>;
  /** Staged dims folder (cells.json, regions.json, subscribers.bin), or null to keep the current one. */
  dims: string | null;
  /** Manifest fields to change besides days and dims. */
  meta: Partial<Pick<Manifest, 'name' | 'country' | 'timezone' | 'subscribers' | 'cells' | 'keyFingerprint' | 'dimsHash'>>;
}

/** Applies a staged commit over `base`; returns the new manifest. */
export function commit(store: string, base: Manifest, staged: StagedCommit): Manifest {
  const version = base.version + 1;
  fs.mkdirSync(paths.days(store), { recursive: true });
  fs.mkdirSync(paths.dims(store), { recursive: true });

  const days = { ...base.days };
  for (const [date, { staged: from, entry }] of staged.days) {
    const dir = path.join('days', dayDirName(date, version));
    fs.renameSync(from, path.join(store, dir));
    days[date] = { ...entry, dir };
  }
  fsyncDir(paths.days(store));

  let dims = base.dims;
  if (staged.dims !== null) {
    dims = dimsDirName(version);
    fs.renameSync(staged.dims, path.join(paths.dims(store), dims));
    fsyncDir(paths.dims(store));
  }

  const next: Manifest = {
    ...base,
    ...staged.meta,
    version,
    updated: new Date().toISOString(),
    dims,
    days: Object.fromEntries(Object.entries(days).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  writeManifest(store, next);
  removeOrphans(store, next, true);
  return next;
}

/**
 * Removes day and dims folders the manifest does not name, and what a dead
 * writer left: staging, manifest temporaries (store.json.tmp-PID), pending
 * reports. Only a writer calls it, under the store's lock, so none of these
 * can belong to another live writer; the committing writer keeps its own
 * pending report (`keepReports`), renamed once the version is known.
 */
export function removeOrphans(store: string, manifest: Manifest, keepReports = false): void {
  // Read after the manifest was written: a reader that leased an older version before then is seen here (lease.ts).
  const keep = leasedDirs(store);
  for (const d of manifestDirs(manifest)) keep.add(path.normalize(d));
  for (const [dir, sub] of [
    [paths.days(store), 'days'],
    [paths.dims(store), 'dims'],
  ] as const) {
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) {
      if (!keep.has(path.join(sub, name))) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }
  fs.rmSync(paths.staging(store), { recursive: true, force: true });
  for (const name of fs.readdirSync(store)) {
    if (name.startsWith(`${MANIFEST_FILE}.tmp-`)) fs.rmSync(path.join(store, name), { force: true });
  }
  const reports = paths.reports(store);
  if (!keepReports && fs.existsSync(reports)) {
    for (const name of fs.readdirSync(reports)) if (name.startsWith(PENDING_REPORT)) fs.rmSync(path.join(reports, name), { force: true });
  }
}
