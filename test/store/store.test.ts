import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIR_OUT, NULL_U32, TYPE_CALLS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';
import { commit, removeOrphans } from '../../server/store/commit.js';
import { DayStaging } from '../../server/store/day-writer.js';
import { paths } from '../../server/store/layout.js';
import { emptyManifest, readManifest } from '../../server/store/manifest.js';
import { Store } from '../../server/store/reader.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-store-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const DAY = 86400;
const d0 = 16801; // 2016-01-01

function stage(rows: [number, number, number, number, number, number, number][]) {
  const staging = new DayStaging(path.join(paths.staging(dir), 'x', 'days'));
  for (const r of rows) staging.append(...r);
  return staging.finish();
}

describe('day partitions', () => {
  it('round-trips rows, keeps ingest order, routes rows to their local day and omits all-null columns', () => {
    const calls = TYPE_CALLS | (DIR_OUT << 2);
    const days = stage([
      [0, d0 * DAY + 50, 7, calls, 30, NULL_U32, NaN],
      [1, (d0 + 1) * DAY + 5, NULL_U32, TYPE_TOPUPS, NULL_U32, NULL_U32, 2.5],
      [2, d0 * DAY + 10, 3, calls, NULL_U32, NULL_U32, NaN],
    ]);
    expect([...days.keys()]).toEqual(['2016-01-01', '2016-01-02']);
    const m = commit(dir, emptyManifest('UTC', 'k'), { days, dims: null, meta: {} });
    expect(m.version).toBe(1);
    const store = Store.open(dir);
    expect(Array.from(store.readColumn('2016-01-01', 'sub', { verify: true }))).toEqual([0, 2]);
    expect(Array.from(store.readColumn('2016-01-01', 't'))).toEqual([d0 * DAY + 50, d0 * DAY + 10]);
    expect(Array.from(store.readColumn('2016-01-01', 'duration'))).toEqual([30, NULL_U32]);
    // No row of day 1 has a recharge, so the column is absent and reads as NaN.
    expect(store.day('2016-01-01').columns.recharge).toBeUndefined();
    expect(Array.from(store.readColumn('2016-01-01', 'recharge'))).toEqual([NaN, NaN]);
    expect(Array.from(store.readColumn('2016-01-02', 'recharge'))).toEqual([2.5]);
    expect(store.day('2016-01-02')).toMatchObject({ rows: 1, unlocated: 1, types: [0, 0, 0, 1] });
  });

  it('replaces a re-ingested day and keeps the others', () => {
    const first = stage([
      [0, d0 * DAY, 1, 0, NULL_U32, NULL_U32, NaN],
      [0, (d0 + 1) * DAY, 1, 0, NULL_U32, NULL_U32, NaN],
    ]);
    const m1 = commit(dir, emptyManifest('UTC', 'k'), { days: first, dims: null, meta: {} });
    const second = stage([[5, (d0 + 1) * DAY + 1, 2, 0, NULL_U32, NULL_U32, NaN]]);
    commit(dir, m1, { days: second, dims: null, meta: {} });
    const store = Store.open(dir);
    expect(store.days()).toEqual(['2016-01-01', '2016-01-02']);
    expect(Array.from(store.readColumn('2016-01-02', 'sub'))).toEqual([5]);
    expect(Array.from(store.readColumn('2016-01-01', 'sub'))).toEqual([0]);
    // The replaced folder is gone; only referenced folders remain.
    expect(fs.readdirSync(paths.days(dir)).sort()).toEqual(['2016-01-01.g1', '2016-01-02.g2']);
  });

  it('detects a corrupted column by checksum', () => {
    const days = stage([[0, d0 * DAY, 1, 0, NULL_U32, NULL_U32, NaN]]);
    const m = commit(dir, emptyManifest('UTC', 'k'), { days, dims: null, meta: {} });
    const file = path.join(dir, m.days['2016-01-01']!.dir, 'sub.u32');
    fs.writeFileSync(file, Buffer.from([9, 0, 0, 0]));
    expect(() => Store.open(dir).readColumn('2016-01-01', 'sub', { verify: true })).toThrow(/checksum mismatch/);
  });

  it('leaves the previous store intact when a writer dies before the manifest rename', () => {
    const days = stage([[0, d0 * DAY, 1, 0, NULL_U32, NULL_U32, NaN]]);
    const m1 = commit(dir, emptyManifest('UTC', 'k'), { days, dims: null, meta: {} });
    // A second writer stages and renames its day folder into place, then dies.
    const again = stage([[9, d0 * DAY, 1, 0, NULL_U32, NULL_U32, NaN]]);
    fs.renameSync(again.get('2016-01-01')!.staged, path.join(paths.days(dir), '2016-01-01.g2'));
    expect(readManifest(dir)).toEqual(m1);
    expect(Array.from(Store.open(dir).readColumn('2016-01-01', 'sub'))).toEqual([0]);
    removeOrphans(dir, readManifest(dir));
    expect(fs.readdirSync(paths.days(dir))).toEqual(['2016-01-01.g1']);
    expect(fs.existsSync(paths.staging(dir))).toBe(false);
  });
});

describe('retention', () => {
  it('drops the days before the horizon in one commit and removes their folders', async () => {
    const { pruneBefore, retentionHorizon } = await import('../../server/store/retention.js');
    const days = stage([0, 1, 2, 3].map((d) => [d, (d0 + d) * DAY, 1, 0, NULL_U32, NULL_U32, NaN] as [number, number, number, number, number, number, number]));
    commit(dir, emptyManifest('UTC', 'k'), { days, dims: null, meta: {} });
    expect(retentionHorizon(dir, 2)).toBe('2016-01-03');
    const r = pruneBefore(dir, '2016-01-03');
    expect(r).toEqual({ removed: ['2016-01-01', '2016-01-02'], version: 2 });
    expect(Store.open(dir).days()).toEqual(['2016-01-03', '2016-01-04']);
    expect(fs.readdirSync(paths.days(dir)).sort()).toEqual(['2016-01-03.g1', '2016-01-04.g1']);
    expect(Array.from(Store.open(dir).readColumn('2016-01-04', 'sub', { verify: true }))).toEqual([3]);
    expect(pruneBefore(dir, '2016-01-03')).toEqual({ removed: [], version: 2 });
  });
});
