/**
 * The store read, not loaded (issue #16): a query reads only its window's days and
 * the columns its kernels use, on first use; the buffer pool keeps days resident
 * within a byte budget, evicting the least recently used days no running query
 * reads. Answers after eviction and re-reading are the answers of the store loaded
 * whole, every main kind, in process and through the pool, one query at a time
 * and many at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mainKinds } from '../../bench/kinds.js';
import { Engine, stepDays } from '../../server/engine/engine.js';
import { SpecError } from '../../server/errors.js';
import { SECONDS_PER_DAY } from '../../kernels/shared/constants.js';
import { buildFixture, FIRST_DAY } from './fixtures.js';

const date = (d: number) => new Date((FIRST_DAY + d) * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
const up = (b: number) => Math.max(16, Math.ceil(b / 16) * 16);
/** Heap bytes of a day's core columns: sub, t, cell at 4 bytes an event, kind at 1, each block rounded to 16. */
const coreBytes = (rows: number) => 3 * up(4 * rows) + up(rows);

/** Every main kind over a window of days (bench/kinds.ts), plus the kinds that read optional columns. */
function kinds(days: string[]): [string, object][] {
  const window = { start_date: days[0], end_date: days.at(-1) };
  return [
    ...mainKinds(days, 'admin1'),
    ['joined topup_amount avg', {
      query_kind: 'joined_spatial_aggregate',
      locations: { query_kind: 'daily_location', date: days[0], method: 'last', aggregation_unit: 'admin1' },
      metric: { query_kind: 'topup_amount', ...window, statistic: 'avg' },
      method: 'avg',
    }],
    ['joined subscriber_degree avg (peer column)', {
      query_kind: 'joined_spatial_aggregate',
      locations: { query_kind: 'daily_location', date: days.at(-1), method: 'last', aggregation_unit: 'admin1' },
      metric: { query_kind: 'subscriber_degree', ...window, direction: 'both' },
      method: 'avg',
    }],
  ];
}

let dir: string;
let rows: number[];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-pool-'));
  buildFixture(dir, { subs: 600, days: 6, seed: 41 }); // 7 stored days: the last hour reaches past midnight
  const probe = Engine.open(dir, { threads: 0 });
  rows = probe.store.days().map((d) => probe.store.day(d).rows);
  void probe.close();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a query reads only what it needs', () => {
  it('opens without reading a day; a daily query reads its day core columns, once', async () => {
    const engine = Engine.open(dir, { threads: 0 });
    try {
      expect(engine.poolStats().bytesRead).toBe(0);
      const spec = { query_kind: 'spatial_aggregate', locations: { query_kind: 'daily_location', date: date(2), method: 'last', aggregation_unit: 'admin1' } };
      await engine.run(spec);
      // sub, t, cell and kind of day 2: 13 bytes an event on disk.
      expect(engine.poolStats()).toMatchObject({ bytesRead: 13 * rows[2]!, days: 1, misses: 1, hits: 0, residentBytes: coreBytes(rows[2]!) });
      // Another kind over the same day reads nothing more.
      await engine.run({ ...spec, locations: { ...spec.locations, method: 'most-common' } });
      expect(engine.poolStats()).toMatchObject({ bytesRead: 13 * rows[2]!, hits: 1 });
      // flows between days 0 and 4 read those two days only.
      await engine.run({
        query_kind: 'flows',
        from_location: { query_kind: 'daily_location', date: date(0), method: 'last', aggregation_unit: 'admin1' },
        to_location: { query_kind: 'daily_location', date: date(4), method: 'last', aggregation_unit: 'admin1' },
      });
      expect(engine.poolStats().bytesRead).toBe(13 * (rows[2]! + rows[0]! + rows[4]!));
    } finally {
      await engine.close();
    }
  });

  it('optional columns are read for the window days of the metric that uses them', async () => {
    const engine = Engine.open(dir, { threads: 0 });
    try {
      await engine.run({
        query_kind: 'joined_spatial_aggregate',
        locations: { query_kind: 'daily_location', date: date(1), method: 'last', aggregation_unit: 'admin1' },
        metric: { query_kind: 'topup_amount', start_date: date(1), end_date: date(3), statistic: 'avg' },
        method: 'avg',
      });
      // Days 1 and 2 (end_date is exclusive): core columns (13 bytes an event) and recharge (8).
      expect(engine.poolStats().bytesRead).toBe((13 + 8) * (rows[1]! + rows[2]!));
      expect(engine.poolStats().residentBytes).toBe(coreBytes(rows[1]!) + coreBytes(rows[2]!) + up(8 * rows[1]!) + up(8 * rows[2]!));
    } finally {
      await engine.close();
    }
  });

  it('stepDays finds every window of a step tree', () => {
    const f = (days: number[]) => ({ typeMask: 3, tStart: 0, tEnd: 1, hourMask: 0xffffff, days });
    const step = {
      op: 'both',
      a: { op: 'count-by-location', input: { op: 'modal', inputs: [{ op: 'last', unit: 'u', filter: f([5]) }, { op: 'last', unit: 'u', filter: f([3]) }] }, nLocs: 1 },
      b: { op: 'metric-by-location', locations: { op: 'sample', input: { op: 'most-common', unit: 'u', filter: f([9, 3]) }, rule: { keys: [1, 2, 3] } }, metric: { op: 'displacement', filter: f([1]), statistic: 'avg', reference: { op: 'last', unit: 'u', filter: f([7]) } } },
    };
    expect(stepDays(step as never)).toEqual([1, 3, 5, 7, 9]);
  });
});

describe('the buffer pool', () => {
  let whole: Engine;
  let days: string[];
  /** Windows of 3 days (the kinds' end dates are exclusive: most read 2 of them), visited out of order. */
  const windows = () => [days.slice(0, 3), days.slice(4, 7), days.slice(2, 5), days.slice(1, 4), days.slice(3, 6)];
  /** The most the pooled engines may hold: the largest 3-day window's core and optional columns, and a little. */
  let budget: number;

  beforeAll(async () => {
    whole = Engine.open(dir, { threads: 0, residentBytes: Infinity, cacheEntries: 0 });
    await whole.loaded.loadAll();
    days = whole.store.days();
    let largest = 0;
    for (let d = 0; d + 3 <= days.length; d++) {
      let need = 0;
      for (let i = d; i < d + 3; i++) need += coreBytes(rows[i]!) + up(4 * rows[i]!) + up(8 * rows[i]!);
      largest = Math.max(largest, need);
    }
    budget = largest + 64;
  });

  afterAll(async () => {
    await whole.close();
  });

  it('the whole store, loaded, holds every day', () => {
    expect(days.length).toBe(rows.length);
    expect(whole.poolStats()).toMatchObject({ days: days.length, bytesRead: 13 * rows.reduce((a, b) => a + b, 0), residentBytes: rows.reduce((n, r) => n + coreBytes(r), 0) });
  });

  for (const threads of [0, 2]) {
    it(`with a budget of one window (${threads ? 'pool' : 'in process'}), every main kind gives the whole store's rows; resident bytes stay within it`, async () => {
      const engine = Engine.open(dir, { threads, residentBytes: budget, cacheEntries: 0 });
      try {
        let checked = 0;
        for (const w of windows()) {
          for (const [name, spec] of kinds(w)) {
            const [got, want] = await Promise.all([engine.run(spec), whole.run(spec)]);
            expect(got.rows, `${name} over ${w[0]}..${w.at(-1)}`).toEqual(want.rows);
            expect(got.withheld).toBe(want.withheld);
            expect(got.dropped).toEqual(want.dropped);
            checked += got.rows.length;
            expect(engine.poolStats().residentBytes).toBeLessThanOrEqual(budget);
          }
        }
        expect(checked).toBeGreaterThan(100);
        const stats = engine.poolStats();
        // Five windows of 3 days over 7, in a budget of about 3: days were evicted and read again.
        expect(stats.evictions).toBeGreaterThan(0);
        expect(stats.misses).toBeGreaterThan(days.length);
        expect(stats.bytesRead).toBeGreaterThan(13 * rows.reduce((a, b) => a + b, 0));
        expect(stats.peakBytes).toBeLessThanOrEqual(budget);
      } finally {
        await engine.close();
      }
    });
  }

  it('queries at once over different windows wait for each other\'s days, not past the budget, with the same answers', async () => {
    const engine = Engine.open(dir, { threads: 2, residentBytes: budget, cacheEntries: 0 });
    try {
      const all = windows().flatMap((w) => kinds(w).map(([name, spec]) => [`${name} over ${w[0]}`, spec] as const));
      const got = await Promise.all(all.map(([, spec]) => engine.run(spec)));
      for (const [i, [name, spec]] of all.entries()) expect(got[i]!.rows, name).toEqual((await whole.run(spec)).rows);
      expect(engine.poolStats().peakBytes).toBeLessThanOrEqual(budget);
      expect(engine.poolStats().evictions).toBeGreaterThan(0);
    } finally {
      await engine.close();
    }
  });

  it('in a steady state, evicted space is reused: the shared memory stops growing', async () => {
    const engine = Engine.open(dir, { threads: 0, residentBytes: budget, cacheEntries: 0 });
    try {
      const cycle = async () => {
        for (const w of windows()) for (const [, spec] of kinds(w)) await engine.run(spec);
      };
      await cycle();
      const after1 = engine.loaded.heap.memory.buffer.byteLength;
      const evictions1 = engine.poolStats().evictions;
      await cycle();
      await cycle();
      expect(engine.poolStats().evictions).toBeGreaterThan(evictions1);
      expect(engine.loaded.heap.memory.buffer.byteLength).toBe(after1);
    } finally {
      await engine.close();
    }
  });

  it('refuses a query whose window alone passes the budget, naming it, before reading anything', async () => {
    const engine = Engine.open(dir, { threads: 0, residentBytes: budget });
    try {
      // Six days (end_date is exclusive) of core columns: more than the budget of three days' core and optional ones.
      const need = rows.slice(0, 6).reduce((n, r) => n + coreBytes(r), 0);
      expect(need).toBeGreaterThan(budget);
      const spec = { query_kind: 'unique_subscriber_counts', start_date: days[0], end_date: days[6], aggregation_unit: 'admin1' };
      const err = await engine.run(spec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpecError);
      expect((err as SpecError).code).toBe('OVER_BUDGET');
      expect((err as Error).message).toContain(`resident budget of ${(budget / 2 ** 20).toFixed(1)} MiB`);
      expect((err as Error).message).toContain(`found 6 day(s) ${days[0]}..${days[5]} needing ${(need / 2 ** 20).toFixed(1)} MiB`);
      expect(engine.poolStats().bytesRead).toBe(0);
    } finally {
      await engine.close();
    }
  });
});
