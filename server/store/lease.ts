/**
 * Reader leases: a reader of a store version keeps that version's folders
 * from the writer's garbage collection until it is done (issue #14: a query
 * running while an ingest committed failed with a false STORE_CORRUPT,
 * because the writer removed the previous version's day folders at once).
 *
 * A lease is a file `.readers/PID-vVERSION.json` naming the folders the
 * version uses; one per process and version, counted in-process. The writer
 * (removeOrphans) keeps every folder a lease of a live process names, and
 * removes the leases of dead processes (a reader killed with -9). A process
 * removes its own leases when it exits.
 *
 * Ordering: a reader writes its lease, then reads the manifest again; if the
 * version is still the one it leased, any writer that could remove those
 * folders writes its manifest after that read, and so lists the leases after
 * the lease was written. If the version moved on, the reader leases the new one.
 */
import fs from 'node:fs';
import { alive } from './lock.js';
import path from 'node:path';
import type { Manifest } from './manifest.js';

const READERS = '.readers';

interface LeaseFile {
  pid: number;
  version: number;
  /** Folders relative to the store: days/DATE.gN and dims/gN. */
  dirs: string[];
}

export function leaseDir(store: string): string {
  return path.join(store, READERS);
}

/** Folders a manifest uses, relative to the store. */
export function manifestDirs(manifest: Manifest): string[] {
  const dirs = Object.values(manifest.days).map((d) => d.dir);
  if (manifest.dims) dirs.push(path.join('dims', manifest.dims));
  return dirs;
}

/** Leases this process holds: file -> readers of it. */
const held = new Map<string, number>();
let exitHook = false;

/** Takes (or shares) this process's lease on `manifest`'s version; returns its release, which is idempotent. */
export function acquireLease(store: string, manifest: Manifest): () => void {
  const file = path.join(leaseDir(store), `${process.pid}-v${manifest.version}.json`);
  const n = held.get(file) ?? 0;
  if (n === 0) {
    const body: LeaseFile = { pid: process.pid, version: manifest.version, dirs: manifestDirs(manifest) };
    fs.mkdirSync(leaseDir(store), { recursive: true });
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(body));
    fs.renameSync(tmp, file); // the writer never reads half a lease
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const f of held.keys()) fs.rmSync(f, { force: true });
      });
    }
  }
  held.set(file, n + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = held.get(file)! - 1;
    if (left > 0) {
      held.set(file, left);
      return;
    }
    held.delete(file);
    fs.rmSync(file, { force: true });
  };
}

/**
 * The folders (relative to the store) that live readers hold; removes the
 * leases of dead processes. Called by the writer, under the store's lock.
 */
export function leasedDirs(store: string): Set<string> {
  const out = new Set<string>();
  const dir = leaseDir(store);
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    if (!name.endsWith('.json')) {
      // A lease's temporary: its reader renames it within microseconds, or died writing it.
      const pid = Number(name.split('-')[0]);
      if (!alive(pid)) fs.rmSync(file, { force: true });
      continue;
    }
    let lease: LeaseFile;
    try {
      lease = JSON.parse(fs.readFileSync(file, 'utf8')) as LeaseFile;
    } catch {
      continue; // unreadable: keep nothing for it, leave it for its owner
    }
    if (!Number.isInteger(lease.pid) || !alive(lease.pid)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    for (const d of lease.dirs ?? []) out.add(path.normalize(d));
  }
  return out;
}
