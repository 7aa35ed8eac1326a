/**
 * The kernels against the reference implementations: seeded random datasets full
 * of ties, hand-computed cases, hour masks, drop counters, errors, the capacity
 * retry path, and several instances (and threads) on one shared memory.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { NULL_U32, SECONDS_PER_DAY, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';
import type { Heap } from '../../server/wasm/memory.js';
import {
  type RefEvent, type RefFilter, refFlows, refLastLocation, refLocationEventCounts, refMostCommon, refPartition, refSpatialAggregate,
  refUniqueLocations, refVisitedMostDays,
} from '../reference/events.js';
import { ALL_HOURS, type Kernels, LocationTable, hourMaskOf, instantiate } from '../../server/engine/wasm.js';
import { kernelPath, loadKernelModule } from '../../server/wasm/module.js';
import {
  type Dataset, FIRST_DAY, allEvents, kernelFilter, loadDay, locatorOf, makeDataset, newDrops, newHeap, newLocVec, partitioning, range,
  readDrops, sorted, ALL_TYPES, DAY0, kernelErrorCode, window
} from './harness.js';
import { Pipeline } from './pipeline.js';


/** A spread of filters: the spec's default types, wrap-around hours, partial windows, an empty hour range. */
function filters(nDays: number): [string, RefFilter][] {
  return [
    ['default types, whole window', window(nDays, [TYPE_CALLS, TYPE_SMS])],
    ['all types, hours 22-4 (wrap)', window(nDays, ALL_TYPES, { start: 22, end: 4 })],
    ['calls, hours 9-17, window from 06:00 on day 0 to 12:00 on the last day', {
      types: [TYPE_CALLS], start: DAY0 + 6 * 3600, end: DAY0 + (nDays - 1) * SECONDS_PER_DAY + 12 * 3600, hours: { start: 9, end: 17 },
    }],
    ['mds and topups, hours 0-24', window(nDays, [TYPE_MDS, TYPE_TOPUPS], { start: 0, end: 24 })],
    ['all types, hours 23-1 (wrap, two hours)', window(nDays, ALL_TYPES, { start: 23, end: 1 })],
    ['hours 5-5 (empty)', window(nDays, ALL_TYPES, { start: 5, end: 5 })],
  ];
}

let heap: Heap;
let k: Kernels;

beforeAll(() => {
  heap = newHeap();
  k = instantiate(heap.memory);
});

describe('kernel module', () => {
  it('imports only env.memory and carries no data segments, so instances can share one memory', () => {
    const module = loadKernelModule();
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    const sections = sectionIds(fs.readFileSync(kernelPath()));
    expect(sections).not.toContain(11); // data
    expect(sections).not.toContain(6); // globals: mutable state would be per instance, but there should be none
    expect(sections).not.toContain(8); // start function
  });
});

describe('hourMaskOf', () => {
  it('keeps [s, e) when s <= e and wraps past midnight when s > e', () => {
    const hours = (mask: number) => [...Array(24).keys()].filter((h) => (mask >>> h) & 1);
    expect(hours(hourMaskOf(9, 17))).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    expect(hours(hourMaskOf(22, 4))).toEqual([0, 1, 2, 3, 22, 23]);
    expect(hours(hourMaskOf(20, 24))).toEqual([20, 21, 22, 23]);
    expect(hourMaskOf(0, 24)).toBe(ALL_HOURS);
    expect(hourMaskOf(5, 5)).toBe(0);
    expect(hours(hourMaskOf(24, 0))).toEqual([]);
    expect(() => hourMaskOf(3, 25)).toThrow(RangeError);
  });
});

describe.each([
  { seed: 1, nParts: 1 },
  { seed: 2, nParts: 3 },
  { seed: 3, nParts: 7 },
])('random dataset (seed $seed, $nParts partitions)', ({ seed, nParts }) => {
  let ds: Dataset;
  let events: RefEvent[];
  let pipe: Pipeline;

  beforeAll(() => {
    ds = makeDataset(seed);
    events = allEvents(ds);
    pipe = new Pipeline(k, heap, ds, nParts);
  });

  it('partitionDay orders rows by (partition, t, row) like the reference sort, and the gathers follow', () => {
    ds.days.forEach((day, i) => {
      const rows = ds.rows[i];
      const loaded = pipe.loaded[i];
      const ref = refPartition(rows, (sub) => pipe.parts.partOf[sub], nParts);
      expect([...loaded.perm]).toEqual(ref.perm);
      expect([...loaded.offsets]).toEqual(ref.offsets);
      const sub = heap.u32(loaded.sub, rows.length);
      const t = heap.u32(loaded.t, rows.length);
      const cell = heap.u32(loaded.cell, rows.length);
      const kind = heap.u8(loaded.kind, rows.length);
      ref.perm.forEach((row, j) => {
        expect(sub[j]).toBe(pipe.parts.localOf[rows[row].sub]);
        expect([t[j], cell[j], kind[j]]).toEqual([rows[row].t, rows[row].cell, rows[row].kind]);
      });
      expect(day).toBe(FIRST_DAY + i);
    });
  });

  describe.each(filters(3))('%s', (_, f) => {
    it('lastLocation = reference last, drops included', () => {
      const ref = refLastLocation(events, f, locatorOf(ds));
      const got = pipe.last(f);
      expect(sorted(got.locations)).toEqual(sorted(ref.locations));
      expect(got.drops).toEqual(ref.drops);
    });

    it('countLocations + pickMostCommon = reference most-common', () => {
      const ref = refMostCommon(events, f, locatorOf(ds));
      const got = pipe.pick(f, 'most-common');
      expect(sorted(got.locations)).toEqual(sorted(ref.locations));
      expect(got.drops).toEqual(ref.drops);
    });

    it('countLocations + pickMostDays = reference visited_most_days', () => {
      const ref = refVisitedMostDays(events, f, locatorOf(ds));
      const got = pipe.pick(f, 'most-days');
      expect(sorted(got.locations)).toEqual(sorted(ref.locations));
      expect(got.drops).toEqual(ref.drops);
    });

    it('tableKeys = reference unique_locations', () => {
      const ref = refUniqueLocations(events, f, locatorOf(ds));
      const got = pipe.unique(f);
      expect(got.pairs).toEqual(ref.pairs);
      expect(got.drops).toEqual(ref.drops);
    });

    it.each([
      ['day', 86400],
      ['hour', 3600],
      ['minute', 60],
    ])('countEventsByBucket per %s = reference location_event_counts, all directions and out only', (_, seconds) => {
      const base = DAY0;
      for (const directions of [undefined, [1], [0, 2]]) {
        const fd = { ...f, directions };
        const ref = refLocationEventCounts(events, fd, locatorOf(ds), seconds, base);
        const got = pipe.eventCounts(fd, seconds);
        expect(sorted(got.counts)).toEqual(sorted(ref.counts));
        expect(got.drops).toEqual(ref.drops);
      }
    });
  });

  it('countByLocation = reference spatial_aggregate of daily locations', () => {
    for (const [, f] of filters(3)) {
      const last = pipe.last(f);
      expect(sorted(pipe.spatial(last))).toEqual(sorted(refSpatialAggregate(refLastLocation(events, f, locatorOf(ds)).locations)));
    }
  });

  it('countPairs = reference flows (inner join, stayers included)', () => {
    const day0: RefFilter = { types: [TYPE_CALLS, TYPE_SMS], start: DAY0, end: DAY0 + SECONDS_PER_DAY };
    const later: RefFilter = { types: ALL_TYPES, start: DAY0 + SECONDS_PER_DAY, end: DAY0 + 3 * SECONDS_PER_DAY, hours: { start: 20, end: 8 } };
    const ref = refFlows(refLastLocation(events, day0, locatorOf(ds)).locations, refMostCommon(events, later, locatorOf(ds)).locations);
    const got = pipe.flows(pipe.last(day0), pipe.pick(later, 'most-common'));
    expect(sorted(got)).toEqual(sorted(ref));
    expect([...ref.keys()].some((key) => key.split(',')[0] === key.split(',')[1])).toBe(true); // stayers occur
  });

  it('a table grown from 8 slots gives the same answers as one that never grows (capacity retry path)', () => {
    const f = window(3, ALL_TYPES);
    for (const method of ['most-common', 'most-days'] as const) {
      const small = pipe.pick(f, method, 8);
      const large = pipe.pick(f, method, 1 << 14);
      expect(Math.max(...small.capacities)).toBeGreaterThan(8);
      expect(large.capacities.every((c) => c === 1 << 14)).toBe(true);
      expect(sorted(small.locations)).toEqual(sorted(large.locations));
      expect(small.drops).toEqual(large.drops);
    }
    expect(pipe.unique(f, 8)).toEqual(pipe.unique(f, 1 << 14));
  });
});

/** A one-partition dataset from explicit events; cell c is location c on every day, cells >= 10 are unknown (-2). */
function tiny(events: RefEvent[]): Dataset {
  const days = [...new Set(events.map((e) => Math.floor(e.t / SECONDS_PER_DAY)))].sort((a, b) => a - b);
  const table = Int32Array.from({ length: 12 }, (_, c) => (c < 10 ? c : -2));
  return {
    nSubs: 1 + Math.max(...events.map((e) => e.sub)),
    nCells: 12,
    nLocs: 10,
    days,
    rows: days.map((d) => events.filter((e) => Math.floor(e.t / SECONDS_PER_DAY) === d)),
    locTables: days.map(() => table),
  };
}

const call = (sub: number, day: number, second: number, cell: number): RefEvent => ({ sub, t: (FIRST_DAY + day) * SECONDS_PER_DAY + second, cell, kind: TYPE_CALLS });

describe('hand-computed cases', () => {
  const f = window(3, [TYPE_CALLS, TYPE_SMS]);

  it('most-common: 2 events at 3 and 2 at 5, the latest at 5 -> 5; the latest at 3 -> 3', () => {
    const a = new Pipeline(k, heap, tiny([call(0, 0, 100, 3), call(0, 0, 200, 5), call(0, 0, 300, 3), call(0, 0, 400, 5)]), 1);
    expect(sorted(a.pick(f, 'most-common').locations)).toEqual([[0, 5]]);
    const b = new Pipeline(k, heap, tiny([call(0, 0, 100, 5), call(0, 0, 200, 3), call(0, 0, 300, 5), call(0, 0, 400, 3)]), 1);
    expect(sorted(b.pick(f, 'most-common').locations)).toEqual([[0, 3]]);
  });

  it('same second: the event later in ingest order is the latest, even when ingested before an earlier second', () => {
    // Ingest order: t=500 at 4, t=400 at 7, t=500 at 2. Latest = the second t=500 row (at 2).
    const p = new Pipeline(k, heap, tiny([call(0, 0, 500, 4), call(0, 0, 400, 7), call(0, 0, 500, 2)]), 1);
    expect(sorted(p.last(f).locations)).toEqual([[0, 2]]);
    // One event each: the tie goes to the latest, again the later-ingested t=500 row.
    expect(sorted(p.pick(f, 'most-common').locations)).toEqual([[0, 2]]);
  });

  it('visited_most_days prefers 2 days with 2 events over 1 day with 3; most-common the reverse', () => {
    const p = new Pipeline(k, heap, tiny([
      call(0, 0, 10, 1), call(0, 0, 20, 1), call(0, 0, 30, 1), call(0, 0, 40, 2), call(0, 1, 10, 2),
    ]), 1);
    expect(sorted(p.pick(f, 'most-days').locations)).toEqual([[0, 2]]);
    expect(sorted(p.pick(f, 'most-common').locations)).toEqual([[0, 1]]);
  });

  it('visited_most_days: equal days and events -> the location whose latest event is latest', () => {
    const p = new Pipeline(k, heap, tiny([call(0, 0, 10, 6), call(0, 0, 20, 8), call(0, 1, 30, 8), call(0, 1, 40, 6)]), 1);
    expect(sorted(p.pick(f, 'most-days').locations)).toEqual([[0, 6]]);
  });

  it('last over days: a later day overrides; a day with only dropped events does not', () => {
    const p = new Pipeline(k, heap, tiny([call(0, 0, 10, 1), call(0, 1, 10, 3), call(0, 2, 10, 11), call(0, 2, 20, NULL_U32)]), 1);
    const got = p.last(f);
    expect(sorted(got.locations)).toEqual([[0, 3]]);
    expect(got.drops).toEqual({ noCell: 1, unknown: 1, outside: 0 });
  });

  it('hours 22-4 keep 23:30 and 03:59:59 and drop 04:00 and 21:59:59', () => {
    const h = (hh: number, mm: number, ss: number) => hh * 3600 + mm * 60 + ss;
    const p = new Pipeline(k, heap, tiny([
      call(0, 0, h(23, 30, 0), 1), call(1, 0, h(3, 59, 59), 2), call(2, 0, h(4, 0, 0), 3), call(3, 0, h(21, 59, 59), 4),
    ]), 1);
    expect(sorted(p.last(window(1, ALL_TYPES, { start: 22, end: 4 })).locations)).toEqual([[0, 1], [1, 2]]);
  });

  it('drop counters: no cell, cell beyond the table, unknown, outside; filtered-out events are not counted', () => {
    const ds = tiny([call(0, 0, 10, NULL_U32), call(0, 0, 20, 40), call(0, 0, 30, 10), call(0, 0, 40, 11), call(0, 0, 50, 9)]);
    ds.locTables = [Int32Array.from({ length: 12 }, (_, c) => (c === 11 ? -3 : c === 10 ? -2 : c))];
    ds.rows[0].push({ sub: 0, t: DAY0 + 60, cell: NULL_U32, kind: TYPE_MDS }); // not a call or sms: filtered, not dropped
    const p = new Pipeline(k, heap, ds, 1);
    const oneDay = window(1, [TYPE_CALLS, TYPE_SMS]); // the event buckets cover just the dataset's one day
    const expected = { noCell: 2, unknown: 1, outside: 1 };
    expect(p.last(oneDay).drops).toEqual(expected);
    expect(p.pick(oneDay, 'most-common').drops).toEqual(expected);
    expect(p.eventCounts(oneDay, 3600).drops).toEqual(expected);
    expect(sorted(p.eventCounts(oneDay, 3600).counts)).toEqual([['9,0', 1]]);
  });
});

describe('errors become KernelErrors in the binding', () => {

  it('partitionDay rejects a row outside its day', () => {
    const ds = tiny([call(0, 0, 10, 1)]);
    const parts = partitioning(1, 1);
    expect(kernelErrorCode(() => loadDay(k, heap, parts, FIRST_DAY + 1, ds.rows[0], ds.locTables[0]))).toBe('BAD_ARGUMENT');
  });

  it('a malformed location code in the cell table', () => {
    const ds = tiny([call(0, 0, 10, 1)]);
    ds.locTables[0][1] = -7;
    const p = new Pipeline(k, heap, ds, 1);
    expect(kernelErrorCode(() => p.last(window(1, ALL_TYPES)))).toBe('BAD_ARGUMENT');
  });

  it('a location beyond nLocs, a bad capacity, a window beyond u32', () => {
    const vec = heap.put(Int32Array.of(0, 4, -1));
    const out = heap.alloc(16);
    expect(kernelErrorCode(() => k.countByLocation(vec, 3, 4, out))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => k.countPairs(vec, vec, 3, 5, 4, out))).toBe('BAD_ARGUMENT');
    const table = heap.alloc(k.tableBytes(16));
    expect(kernelErrorCode(() => k.tableClear(table, 12))).toBe('BAD_ARGUMENT');
    const ds = tiny([call(0, 0, 10, 1)]);
    const p = new Pipeline(k, heap, ds, 1);
    const d = p.loaded[0];
    expect(kernelErrorCode(() => k.lastLocation(range(d, 0), d.loc, { ...kernelFilter(window(1, ALL_TYPES)), tEnd: 2 ** 32 }, 1, vec, newDrops(heap)))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => k.lastLocation(range(d, 0), d.loc, kernelFilter(window(1, ALL_TYPES)), 0, vec, newDrops(heap)))).toBe('BAD_ARGUMENT');
  });
});

describe('capacity', () => {
  it('countLocations stops before the first row that would pass 3/4 load and resumes there without double counting', () => {
    // 40 subscribers with one location each: an 8-slot table holds 6 keys.
    const events = Array.from({ length: 40 }, (_, s) => call(s, 0, 100 + s, s % 10));
    const p = new Pipeline(k, heap, tiny(events), 1);
    const d = p.loaded[0];
    const table = heap.alloc(k.tableBytes(8));
    k.tableClear(table, 8);
    const drops = newDrops(heap);
    const f = kernelFilter(window(1, ALL_TYPES));
    const consumed = k.countLocations(range(d, 0), d.loc, f, 40, 0, table, 8, drops);
    expect(consumed).toBe(6);
    expect(k.tableUsed(table)).toBe(6);
    // The same, through the self-growing table, gives every subscriber.
    const grown = new LocationTable(k, heap, 8);
    grown.count(range(d, 0), d.loc, f, 40, 0, drops);
    expect(grown.size).toBe(40);
    expect(grown.capacity).toBe(64);
    const vec = newLocVec(heap, 40);
    grown.pickMostCommon(40, vec);
    expect([...heap.i32(vec, 40)]).toEqual(events.map((e) => e.cell));
  });
});

describe('several instances on one shared memory', () => {
  it('two instances on the same thread give identical results over the same loaded columns', () => {
    const ds = makeDataset(11);
    const k2 = instantiate(heap.memory);
    const p = new Pipeline(k, heap, ds, 3);
    for (const [, f] of filters(3)) {
      expect(sorted(p.last(f, k2).locations)).toEqual(sorted(p.last(f, k).locations));
      expect(sorted(p.pick(f, 'most-common', 16, k2).locations)).toEqual(sorted(p.pick(f, 'most-common', 16, k).locations));
    }
  });

  it('an instance in a worker thread reads the columns this thread loaded and writes results this thread reads', async () => {
    const ds = makeDataset(12);
    const p = new Pipeline(k, heap, ds, 2);
    const f = window(3, ALL_TYPES, { start: 22, end: 4 });
    const expected = p.last(f).locations;
    // The worker runs the raw exports over partition 0's ranges into its own vector.
    const nLocal = p.parts.globalOf[0].length;
    const vec = newLocVec(heap, nLocal);
    const drops = newDrops(heap);
    const kf = kernelFilter(f);
    const calls = p.loaded.map((d) => {
      const ev = range(d, 0);
      return [ev.n, ev.sub, ev.t, ev.cell, ev.kind, d.loc.loc, d.loc.nCells, kf.typeMask, kf.tStart, kf.tEnd, kf.hourMask, nLocal, vec, drops];
    });
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { module, memory, calls } = workerData;
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      parentPort.postMessage(calls.map((args) => instance.exports.lastLocation(...args)));
    `;
    const statuses = await new Promise<number[]>((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { module: loadKernelModule(), memory: heap.memory, calls } });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(statuses.every((s) => s === 0)).toBe(true);
    const got = heap.i32(vec, nLocal);
    p.parts.globalOf[0].forEach((g, local) => expect(got[local]).toBe(expected.get(g) ?? -1));
    expect(readDrops(heap, drops).noCell).toBeGreaterThan(0);
  });
});

/** Section ids of a wasm binary, in order. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8; // magic and version
  while (at < bytes.length) {
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    ids.push(id);
    at += size;
  }
  return ids;
}
