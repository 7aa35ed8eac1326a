/**
 * Subscriber partitioning: the loader's partitionDay at the largest partition
 * count, the engine's choice of a count from the store size, and results that
 * do not depend on the count (1, a few, the default, 256 with most partitions
 * empty), in process and through the pool. Progressive estimates stay few when
 * the partitions are many.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mainKinds } from '../../bench/kinds.js';
import { batchesOf, Engine, EVENTS_PER_PARTITION, MAX_PARTIALS, partialDue, partitionsFor } from '../../server/engine/engine.js';
import type { Heap } from '../../server/wasm/memory.js';
import type { Row } from '../../server/privacy/redact.js';
import { type RefEvent, refPartition } from '../reference/events.js';
import { instantiate, type Kernels } from '../../server/engine/wasm.js';
import { rng } from '../util/rng.js';
import { buildFixture, FIRST_DAY } from './fixtures.js';
import { loadDay, newHeap, partitioning } from './harness.js';

const DAY_START = FIRST_DAY * 86400;

describe('partitionDay', () => {
  let heap: Heap;
  let k: Kernels;
  beforeAll(() => {
    heap = newHeap();
    k = instantiate(heap.memory);
  });

  it.each([1, 16, 255, 256])('orders rows by (partition, t, row) with %i partitions, times shuffled and tied', (nParts) => {
    const random = rng(nParts);
    const nSubs = 3000;
    // Few distinct seconds (ties within a partition) at both ends of the day, rows in no time order.
    const rows: RefEvent[] = Array.from({ length: 20_000 }, () => ({
      sub: Math.floor(random() * nSubs),
      t: DAY_START + (random() < 0.5 ? Math.floor(random() * 40) : 86_399 - Math.floor(random() * 40)),
      cell: Math.floor(random() * 50),
      kind: 1,
    }));
    const parts = partitioning(nSubs, nParts);
    const loaded = loadDay(k, heap, parts, FIRST_DAY, rows, new Int32Array(50));
    const ref = refPartition(rows, (sub) => parts.partOf[sub]!, nParts);
    expect([...loaded.offsets]).toEqual(ref.offsets);
    expect([...loaded.perm]).toEqual(ref.perm);
  });
});

describe('the partition count', () => {
  it('aims at EVENTS_PER_PARTITION, between 16 and 256', () => {
    expect(partitionsFor(0)).toBe(16);
    expect(partitionsFor(1_000_000)).toBe(16);
    expect(partitionsFor(20_000_000)).toBe(Math.ceil(20_000_000 / EVENTS_PER_PARTITION));
    expect(partitionsFor(100_000_000)).toBe(250);
    expect(partitionsFor(1e12)).toBe(256);
  });

  it('reports the first partition, then at most one estimate per 1/16 of the partitions', () => {
    for (const P of [2, 5, 16, 17, 100, 256]) {
      const due = Array.from({ length: P - 1 }, (_, i) => i + 1).filter((done) => partialDue(done, P));
      expect(due[0]).toBe(1);
      expect(due.length).toBe(Math.min(P - 1, MAX_PARTIALS));
      // Evenly spread: no two reports closer than P / 16 partitions apart, after the first.
      for (let i = 2; i < due.length; i++) expect(due[i]! - due[i - 1]!).toBeGreaterThanOrEqual(Math.floor(P / MAX_PARTIALS));
    }
  });
});

const roundValue = (row: Row): Row => (typeof row.value === 'number' ? { ...row, value: Number(row.value.toPrecision(12)) } : row);

describe('batches of partitions', () => {
  it.each([[1, 2], [16, 2], [51, 2], [254, 2], [256, 4], [7, 0]])('%i partitions, %i threads: each once, in order, one at first, at most P / 8 threads', (P, threads) => {
    const batches = batchesOf(P, threads);
    expect(batches.flat()).toEqual([...Array(P).keys()]);
    expect(batches[0]).toEqual([0]);
    if (P > 1) expect(batches[1]).toEqual([1]);
    const t = Math.max(1, threads);
    const cap = Math.max(1, Math.floor(P / (8 * t)));
    for (const b of batches) expect(b.length).toBeLessThanOrEqual(cap);
    // Few round trips for big stores: at most the partitions / cap plus the ramps up and down
    // (down: about 2t batches of each size from cap to 1, so 2t (ln cap + 2)).
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(P / cap) + 2 * Math.log2(cap) + 2 + 2 * t * (Math.log(cap) + 2));
  });

  it.each([[51, 2], [254, 2], [256, 4]])('%i partitions, %i threads: batches shrink toward the end, the last ones single', (P, threads) => {
    const batches = batchesOf(P, threads);
    // A batch holds at most the partitions left before it over the batches in flight (2 per thread), so the
    // threads finish within about one partition of each other (before: up to a whole batch of P / 16).
    let left = P;
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(Math.max(1, Math.floor(left / (2 * threads))));
      left -= b.length;
    }
    expect(batches.slice(-2 * threads).map((b) => b.length)).toEqual(Array(2 * threads).fill(1));
  });

  it('a batch that crosses 1/16 of the partitions reports once', () => {
    expect(partialDue(15, 256, 1)).toBe(false);
    expect(partialDue(17, 256, 15)).toBe(true);
    expect(partialDue(40, 256, 17)).toBe(true);
    expect(partialDue(1, 256, 0)).toBe(true);
  });
});

describe('results do not depend on the partition count', () => {
  let dir: string;
  let days: string[];
  const engines: [string, Engine][] = [];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-partitioning-'));
    buildFixture(dir, { subs: 2500, days: 4, seed: 23 });
    for (const [name, opts] of [
      ['1 partition', { partitions: 1, threads: 0 }],
      ['7 partitions', { partitions: 7, threads: 0 }],
      ['the default', { threads: 0 }],
      ['256 partitions, pool', { partitions: 256, threads: 2, cacheEntries: 0 }],
    ] as const) {
      engines.push([name, Engine.open(dir, opts)]);
    }
    days = engines[0]![1].store.days();
  });

  afterAll(async () => {
    for (const [, e] of engines) await e.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the default store is small: 16 partitions', () => {
    expect(engines[2]![1].loaded.nParts).toBe(16);
  });

  const kinds = () => [
    ...mainKinds(days, 'admin1'),
    ['flows over two stored days', {
      query_kind: 'flows',
      from_location: { query_kind: 'daily_location', date: days[0], method: 'last', aggregation_unit: 'admin1' },
      to_location: { query_kind: 'daily_location', date: days[2], method: 'most-common', aggregation_unit: 'admin1' },
    }],
    ['consecutive trips at cells (sparse)', { query_kind: 'consecutive_trips_od_matrix', start_date: days[0], end_date: days.at(-1), aggregation_unit: 'cell' }],
  ] as [string, object][];

  it('every main kind gives the same rows, withheld and dropped counts', async () => {
    const list = kinds();
    expect(list.length).toBeGreaterThan(8);
    let published = 0;
    for (const [name, spec] of list) {
      const [first, ...rest] = await Promise.all(engines.map(([, e]) => e.run(spec)));
      expect(first!.rows.length + first!.withheld, name).toBeGreaterThan(0);
      published += first!.rows.length;
      for (const r of rest) {
        // Counts are equal; a float statistic sums subscribers in another order: equal to 12 digits.
        expect(r.rows.map(roundValue), name).toEqual(first!.rows.map(roundValue));
        expect([r.withheld, r.dropped], name).toEqual([first!.withheld, first!.dropped]);
      }
    }
    expect(published).toBeGreaterThan(500);
  });

  it('a float statistic is the same in every run, whatever order the pool finishes partitions in', async () => {
    const engine = engines[3]![1];
    const spec = kinds().find(([name]) => name.includes('radius_of_gyration'))![1];
    const runs: unknown[] = [];
    for (let i = 0; i < 4; i++) runs.push((await engine.run(spec)).rows);
    for (const r of runs) expect(r).toEqual(runs[0]);
  });

  it('256 partitions: at most 16 estimates, the first after one partition', async () => {
    const engine = engines[3]![1];
    const fractions: number[] = [];
    // Cells are not redacted, so each estimate has rows from the first partition on (a redacted kind's estimate over
    // ~10 subscribers withholds every row, and waits for more partitions: test/privacy/progressive.test.ts).
    await engine.run({ query_kind: 'total_network_objects', start_date: days[0], end_date: days[1], aggregation_unit: 'admin1', total_by: 'hour' }, {
      onPartial: (p) => fractions.push(p.fraction),
    });
    expect(fractions.length).toBe(MAX_PARTIALS);
    // One partition's share (some of 256 may be empty), then growing.
    expect(fractions[0]).toBeLessThanOrEqual(Math.max(...engine.loaded.partSizes) / engine.loaded.nSubs);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]!);
    expect(fractions.at(-1)).toBeLessThan(1);
  });
});
