/**
 * A full disk during ingest: the ingest stops with DISK_FULL naming the file it
 * was writing, and the store is the previous version, every column verifying,
 * with nothing of the failed ingest left behind; once there is room the next
 * ingest succeeds. Runs on a real tiny tmpfs through the command line when
 * this process may mount one, and always with ENOSPC injected at the store's
 * write calls (storeFs), at a column write and at the manifest.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runIngest } from '../../server/cli/ingest.js';
import { StoreError } from '../../server/errors.js';
import { ingest } from '../../server/ingest/ingest.js';
import { storeFs } from '../../server/store/fsutil.js';
import { COLUMNS, MANIFEST_FILE } from '../../server/store/layout.js';
import { Store } from '../../server/store/reader.js';
import { enospc, mountTinyDisk } from './tmpfs.js';

const KEY = 'ab'.repeat(32);
let root: string;
let small: string;
let large: string;
let later: string;

/** A dataset of `rows` calls over `days` days from 2016-01-`firstDay`, two cells. */
function dataset(name: string, rows: number, days: number, firstDay = 1): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'events'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'cells.csv'), 'cell_id,lon,lat\nA,0.5,0.5\nB,1.5,0.5\n');
  const lines = ['msisdn,datetime,cell_id,event_type,outgoing'];
  for (let i = 0; i < rows; i++) {
    const day = String(firstDay + (i % days)).padStart(2, '0');
    lines.push(`2250${(i * 7919) % 3000},2016-01-${day} ${String(i % 24).padStart(2, '0')}:00:00,${i % 2 ? 'A' : 'B'},calls,true`);
  }
  fs.writeFileSync(path.join(dir, 'events', 'events.csv'), lines.join('\n') + '\n');
  return dir;
}

/** What a reader sees: version, days with rows, and every column checked against its checksum. */
function snapshot(store: string): { version: number; days: Record<string, number> } {
  const s = Store.open(store);
  const days: Record<string, number> = {};
  for (const date of s.days()) {
    for (const c of COLUMNS) expect(s.readColumn(date, c.name, { verify: true }).length).toBe(s.day(date).rows);
    days[date] = s.day(date).rows;
  }
  return { version: s.version, days };
}

/** Nothing of a failed ingest stays: no staging, no temporary manifest. */
function leftovers(store: string): string[] {
  return fs.readdirSync(store).filter((f) => f.startsWith('.staging') || f.includes('.tmp-'));
}

beforeAll(() => {
  process.env.OPALITE_PSEUDONYM_KEY = KEY;
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-fulldisk-'));
  small = dataset('small', 3_000, 2);
  large = dataset('large', 150_000, 5);
  later = dataset('later', 3_000, 1, 9);
});
afterAll(() => {
  delete process.env.OPALITE_PSEUDONYM_KEY;
  fs.rmSync(root, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

describe('a full disk during ingest (injected ENOSPC)', () => {
  it('stops at a column write with DISK_FULL naming the file, and leaves the previous version', async () => {
    const store = path.join(root, 'store-columns');
    await ingest({ dataset: small, store });
    const before = snapshot(store);
    let writes = 0;
    const real = storeFs.writeSync;
    // The disk fills after a few chunks: mid-way through the large ingest's column files.
    vi.spyOn(storeFs, 'writeSync').mockImplementation((fd, data, offset) => {
      if (++writes > 20) throw enospc();
      return real(fd, data, offset);
    });
    const failed = await ingest({ dataset: large, store }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(StoreError);
    expect((failed as StoreError).code).toBe('DISK_FULL');
    expect((failed as StoreError).message).toMatch(/no space left on the device writing \S+\.staging\S+\/2016-01-0\d\/\w+\.\w+; the ingest stopped and the store is unchanged/);
    expect(snapshot(store)).toEqual(before);
    expect(leftovers(store)).toEqual([]);

    vi.restoreAllMocks();
    await ingest({ dataset: later, store });
    const after = snapshot(store);
    expect(after.version).toBe(before.version + 1);
    expect(after.days).toEqual({ ...before.days, '2016-01-09': 3_000 });
  }, 60_000);

  it('stops at the manifest, after the new days were moved in, and still leaves the previous version', async () => {
    const store = path.join(root, 'store-manifest');
    await ingest({ dataset: small, store });
    const before = snapshot(store);
    const manifestFds = new Set<number>();
    const realOpen = storeFs.openSync;
    const realWrite = storeFs.writeSync;
    vi.spyOn(storeFs, 'openSync').mockImplementation((file, flags) => {
      const fd = realOpen(file, flags);
      if (path.basename(String(file)).startsWith(`${MANIFEST_FILE}.tmp-`)) manifestFds.add(fd);
      return fd;
    });
    vi.spyOn(storeFs, 'writeSync').mockImplementation((fd, data, offset) => {
      if (manifestFds.has(fd)) throw enospc();
      return realWrite(fd, data, offset);
    });
    // Through the command line's entry: a full disk anywhere in the ingest is said as such.
    const failed = await runIngest(later, store).then(
      () => null,
      (e: unknown) => e,
    );
    expect(manifestFds.size).toBe(1);
    expect((failed as StoreError).code).toBe('DISK_FULL');
    expect((failed as StoreError).message).toContain(`${store}: no space left on the device writing ${path.join(store, MANIFEST_FILE)}.tmp-`);
    expect(snapshot(store)).toEqual(before);
    expect(leftovers(store)).toEqual([]);

    vi.restoreAllMocks();
    await ingest({ dataset: later, store });
    expect(snapshot(store).days).toEqual({ ...before.days, '2016-01-09': 3_000 });
  }, 60_000);
});

describe('a full disk names the file it was writing (issue #14)', () => {
  /** ENOSPC at every write to a file whose path matches `which`. */
  function fullAt(which: RegExp): void {
    const fds = new Set<number>();
    const realOpen = storeFs.openSync;
    const realWrite = storeFs.writeSync;
    vi.spyOn(storeFs, 'openSync').mockImplementation((file, flags) => {
      const fd = realOpen(file, flags);
      if (which.test(String(file))) fds.add(fd);
      return fd;
    });
    vi.spyOn(storeFs, 'writeSync').mockImplementation((fd, data, offset) => {
      if (fds.has(fd)) throw enospc();
      return realWrite(fd, data, offset);
    });
  }

  for (const [what, which] of [
    ['the cell table', /dims\/cells\.json$/],
    ['the subscriber dictionary', /dims\/subscribers\.bin$/],
    ['the bad-row report', /reports\/\.pending-[^/]*\.csv$/],
  ] as const) {
    it(`while writing ${what}`, async () => {
      const store = path.join(root, `store-names-${what.replace(/ /g, '-')}`);
      await ingest({ dataset: small, store });
      const before = snapshot(store);
      // A delivery with one bad row, so that a report is written.
      const bad = path.join(root, `bad-row-${what.replace(/ /g, '-')}`);
      fs.cpSync(later, bad, { recursive: true });
      fs.appendFileSync(path.join(bad, 'events', 'events.csv'), '2250999,not a time,A,calls,true\n');
      fullAt(which);
      const failed = await runIngest(bad, store).then(
        () => null,
        (e: unknown) => e,
      );
      expect((failed as StoreError).code).toBe('DISK_FULL');
      expect((failed as StoreError).message).toMatch(new RegExp(`no space left on the device writing ${store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\S*${which.source.replace(/\$$/, '')}; the ingest stopped`));
      vi.restoreAllMocks();
      expect(snapshot(store)).toEqual(before);
      expect(leftovers(store)).toEqual([]);
    }, 60_000);
  }
});

const disk = mountTinyDisk(2 << 20);
afterAll(() => disk?.unmount());

describe.skipIf(!disk)('a full disk during ingest (a real 2 MiB tmpfs, through the command line)', () => {
  const cli = path.resolve('dist/server/cli/main.js');
  const opalite = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, OPALITE_PSEUDONYM_KEY: KEY }, timeout: 60_000 });

  it('reports it in one line and leaves the previous version', () => {
    expect(fs.existsSync(cli), 'run npm run build first').toBe(true);
    const store = path.join(disk!.dir, 'store');
    expect(opalite('ingest', small, '--store', store).status).toBe(0);
    const before = snapshot(store);
    // About 2.5 MB of columns for 150,000 rows: more than the disk has.
    const out = opalite('ingest', large, '--store', store);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(new RegExp(`^opalite: StoreError DISK_FULL: .*no space left on the device writing ${disk!.dir}/\\S+; the ingest stopped and the store is unchanged`));
    expect(out.stderr).not.toMatch(/\n\s+at /); // a message, not a stack
    expect(snapshot(store)).toEqual(before);
    expect(leftovers(store)).toEqual([]);
    // The failed ingest gave its space back: a small one fits.
    expect(opalite('ingest', later, '--store', store).status).toBe(0);
    expect(snapshot(store).days).toEqual({ ...before.days, '2016-01-09': 3_000 });
  }, 120_000);
});
