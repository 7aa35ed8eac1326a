/**
 * Issue #14: a reader in the middle of a version while an ingest commits the
 * next one. The writer used to remove the replaced folders at once, and the
 * reader's next column read failed with a false STORE_CORRUPT. A reader's
 * lease keeps them until it is released, or until its process is gone.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../../server/ingest/ingest.js';
import { leaseDir } from '../../server/store/lease.js';
import { readManifest } from '../../server/store/manifest.js';
import { Store } from '../../server/store/reader.js';

let root: string;
let keyFile: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-lease-'));
  keyFile = path.join(root, 'key');
  fs.writeFileSync(keyFile, 'cd'.repeat(32));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** Two days of calls, `n` a day, with durations (an optional column, read lazily by the engine). */
function dataset(name: string, n: number): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'events'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'cells.csv'), 'cell_id,lon,lat\nA,0.5,0.5\n');
  const rows = ['msisdn,datetime,cell_id,event_type,outgoing,duration'];
  for (let i = 0; i < 2 * n; i++) rows.push(`2250${i % 50},2016-01-0${1 + (i % 2)} 10:00:00,A,calls,true,${i}`);
  fs.writeFileSync(path.join(dir, 'events', 'e.csv'), rows.join('\n') + '\n');
  return dir;
}

const dayFolders = (store: string) => fs.readdirSync(path.join(store, 'days')).sort();

describe('a reader while an ingest commits', () => {
  it('finishes its version: the replaced folders stay until it releases them', async () => {
    const store = path.join(root, 'store');
    await ingest({ dataset: dataset('v1', 10), store, keyFile });
    const reader = Store.open(store);
    expect(Array.from(reader.readColumn('2016-01-01', 'duration', { verify: true }))).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);

    // Mid-read, a delivery replaces both days (and the dimension tables).
    await ingest({ dataset: dataset('v2', 3), store, keyFile });
    expect(readManifest(store).version).toBe(2);
    expect(dayFolders(store)).toEqual(['2016-01-01.g1', '2016-01-01.g2', '2016-01-02.g1', '2016-01-02.g2']);
    // The rest of version 1 still reads, checksums and all.
    expect(Array.from(reader.readColumn('2016-01-02', 'duration', { verify: true }))).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(reader.dims().cells.size).toBe(1);
    expect(Store.open(store, { lease: false }).day('2016-01-02').rows).toBe(3);

    // Released: the next writer removes them.
    reader.release();
    reader.release(); // idempotent
    await ingest({ dataset: dataset('v3', 2), store, keyFile });
    expect(dayFolders(store)).toEqual(['2016-01-01.g3', '2016-01-02.g3']);
    expect(fs.readdirSync(path.join(store, 'dims'))).toEqual(['g3']);
    expect(fs.readdirSync(leaseDir(store))).toEqual([]);
  });

  it('two readers of one version in a process share a lease; the folders go when both are done', async () => {
    const store = path.join(root, 'store');
    await ingest({ dataset: dataset('v1', 4), store, keyFile });
    const a = Store.open(store);
    const b = Store.open(store);
    expect(fs.readdirSync(leaseDir(store))).toEqual([`${process.pid}-v1.json`]);
    a.release();
    await ingest({ dataset: dataset('v2', 3), store, keyFile });
    expect(Array.from(b.readColumn('2016-01-01', 'duration', { verify: true }))).toEqual([0, 2, 4, 6]);
    b.release();
    await ingest({ dataset: dataset('v3', 3), store, keyFile });
    expect(dayFolders(store)).toEqual(['2016-01-01.g3', '2016-01-02.g3']);
  });

  it('the lease of a reader killed mid-read is reclaimed by the next writer', async () => {
    const store = path.join(root, 'store');
    await ingest({ dataset: dataset('v1', 4), store, keyFile });
    // A reader in another process leases version 1 and dies without releasing it (exit hooks do not run on SIGKILL).
    const child = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `
        import { Store } from ${JSON.stringify(path.resolve('dist/server/store/reader.js'))};
        Store.open(${JSON.stringify(store)});
        process.kill(process.pid, 'SIGKILL');`],
      { encoding: 'utf8' },
    );
    expect(child.signal).toBe('SIGKILL');
    expect(fs.readdirSync(leaseDir(store))).toEqual([`${child.pid}-v1.json`]);
    await ingest({ dataset: dataset('v2', 3), store, keyFile });
    expect(dayFolders(store)).toEqual(['2016-01-01.g2', '2016-01-02.g2']);
    expect(fs.readdirSync(leaseDir(store))).toEqual([]);
  });
});
