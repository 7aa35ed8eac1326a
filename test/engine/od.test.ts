/**
 * The od and buckets kernel families against test/reference/od.ts:
 * seeded random datasets full of ties (same second, same location) over several
 * days and partitions, hand-computed cases, the capacity retry paths, and the
 * errors. Partition outputs are merged the way the engine will merge them:
 * counts summed, cell bitsets ORed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { NULL_U32, SECONDS_PER_DAY, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';
import type { Heap, Ptr } from '../../server/wasm/memory.js';
import {
  KeySet, VisitTable, activeAtReferenceCounts, cellBitsBytes, countCellsByPeriod, countConsecutivePairs, countEventsAndSubscribersByBucket,
  keySetBytes, keySetClear, markCellsByPeriod, orBits, unmovingAtReferenceCounts, unmovingCounts,
} from '../../server/engine/od-kernels.js';
import { type RefDrops, type RefEvent, type RefFilter, refLastLocation, refLocationEventCounts, refUniqueLocations } from '../reference/events.js';
import {
  refActiveAtReferenceCounts, refCellsByPeriod, refConsecutiveTripsOD, refEventsAndSubscribersByBucket, refTripsOD, refUnmovingAtReferenceCounts,
  refUnmovingCounts,
} from '../reference/od.js';
import { type Kernels, LocationTable, instantiate } from '../../server/engine/wasm.js';
import {
  type Dataset, type DatasetOptions, FIRST_DAY, type LoadedDay, type Partitioning, allEvents, dirMaskOf, kernelFilter, loadDay, locatorOf,
  makeDataset, newDrops, newHeap, newLocVec, partitioning, range, readDrops, sorted, ALL_TYPES, DAY0, kernelErrorCode, window
} from './harness.js';


/** The spec's default types, wrap-around hours, a partial window, other types, an empty hour range. */
function filters(nDays: number): [string, RefFilter][] {
  return [
    ['default types, whole window', window(nDays, [TYPE_CALLS, TYPE_SMS])],
    ['all types, hours 22-4 (wrap)', window(nDays, ALL_TYPES, { start: 22, end: 4 })],
    ['calls, hours 9-17, window from 06:00 on day 0 to 12:00 on the last day', {
      types: [TYPE_CALLS], start: DAY0 + 6 * 3600, end: DAY0 + (nDays - 1) * SECONDS_PER_DAY + 12 * 3600, hours: { start: 9, end: 17 },
    }],
    ['mds and topups, hours 0-24', window(nDays, [TYPE_MDS, TYPE_TOPUPS], { start: 0, end: 24 })],
    ['hours 5-5 (empty)', window(nDays, ALL_TYPES, { start: 5, end: 5 })],
  ];
}

let heap: Heap;
let k: Kernels;

beforeAll(() => {
  heap = newHeap();
  k = instantiate(heap.memory);
});

/** Non-zero cells of a dense u32 matrix as `${row},${column}` -> count. */
function matrix(ptr: Ptr, rows: number, columns: number): Map<string, number> {
  const out = new Map<string, number>();
  heap.u32(ptr, rows * columns).forEach((c, i) => c && out.set(`${Math.floor(i / columns)},${i % columns}`, c));
  return out;
}

/** Non-zero entries of a u32 vector as index -> count. */
function vector(ptr: Ptr, n: number): Map<number, number> {
  const out = new Map<number, number>();
  heap.u32(ptr, n).forEach((c, i) => c && out.set(i, c));
  return out;
}

function zeroed(bytes: number): Ptr {
  const ptr = heap.alloc(Math.max(bytes, 16));
  heap.fill(ptr, Math.max(bytes, 16));
  return ptr;
}

/** A dataset loaded into partitions, and each kernel driven over it the way the engine will. */
class OdPipeline {
  readonly parts: Partitioning;
  readonly loaded: LoadedDay[];

  constructor(readonly ds: Dataset, nParts: number) {
    this.parts = partitioning(ds.nSubs, nParts);
    this.loaded = ds.days.map((day, i) => loadDay(k, heap, this.parts, day, ds.rows[i], ds.locTables[i]));
  }

  private nLocal(p: number): number {
    return this.parts.globalOf[p].length;
  }

  get nLocs(): number {
    return this.ds.nLocs;
  }

  /** trips_od_matrix: one visit table per partition, trips summed into one matrix. */
  trips(f: RefFilter, initialCapacity = 1024): { counts: Map<string, number>; drops: RefDrops; capacities: number[] } {
    const drops = newDrops(heap);
    const out = zeroed(4 * this.nLocs * this.nLocs);
    const capacities = this.parts.globalOf.map((_, p) => {
      const table = new VisitTable(k, heap, initialCapacity);
      for (const d of this.loaded) table.count(range(d, p), d.loc, kernelFilter(f), this.nLocal(p), drops);
      table.trips(this.nLocal(p), this.nLocs, out);
      table.release();
      return table.capacity;
    });
    const counts = matrix(out, this.nLocs, this.nLocs);
    heap.release(out);
    return { counts, drops: readDrops(heap, drops), capacities };
  }

  /** consecutive_trips_od_matrix: prevLoc and a key set per partition, finished into one matrix. */
  consecutive(f: RefFilter, initialCapacity = 1024): { counts: Map<string, number>; drops: RefDrops; capacities: number[] } {
    const drops = newDrops(heap);
    const out = zeroed(4 * this.nLocs * this.nLocs);
    const capacities = this.parts.globalOf.map((_, p) => {
      const set = new KeySet(k, heap, initialCapacity);
      const prev = newLocVec(heap, this.nLocal(p));
      for (const d of this.loaded) set.consecutivePairs(range(d, p), d.loc, kernelFilter(f), this.nLocal(p), this.nLocs, prev, drops);
      set.consecutiveTrips(this.nLocs, out);
      set.release();
      heap.release(prev);
      return set.capacity;
    });
    const counts = matrix(out, this.nLocs, this.nLocs);
    heap.release(out);
    return { counts, drops: readDrops(heap, drops), capacities };
  }

  /** unmoving / unmoving-at-reference / active-at-reference from unique locations (f) and last locations (refFilter). */
  reference(f: RefFilter, refFilter: RefFilter): { unmoving: Map<number, number>; unmovingAtRef: Map<number, number>; activeAtRef: Map<number, number> } {
    const drops = newDrops(heap);
    const outs = [0, 1, 2].map(() => zeroed(4 * this.nLocs));
    this.parts.globalOf.forEach((_, p) => {
      const nSubs = this.nLocal(p);
      const table = new LocationTable(k, heap, 16);
      let seqBase = 0;
      for (const d of this.loaded) {
        table.count(range(d, p), d.loc, kernelFilter(f), nSubs, seqBase, drops);
        seqBase += range(d, p).n;
      }
      const sub = heap.alloc(4 * Math.max(table.size, 1));
      const loc = heap.alloc(4 * Math.max(table.size, 1));
      const keys = { sub, loc, count: table.keys(sub, loc) };
      const ref = newLocVec(heap, nSubs);
      for (const d of this.loaded) k.lastLocation(range(d, p), d.loc, kernelFilter(refFilter), nSubs, ref, drops);
      const scratch = heap.alloc(4 * Math.max(nSubs, 1));
      unmovingCounts(k, keys, nSubs, this.nLocs, scratch, outs[0]);
      unmovingAtReferenceCounts(k, keys, ref, nSubs, this.nLocs, scratch, outs[1]);
      activeAtReferenceCounts(k, keys, ref, nSubs, this.nLocs, scratch, outs[2]);
      [sub, loc, ref, scratch].forEach((ptr) => heap.release(ptr));
      table.release();
    });
    const [unmoving, unmovingAtRef, activeAtRef] = outs.map((out) => vector(out, this.nLocs));
    outs.forEach((out) => heap.release(out));
    return { unmoving, unmovingAtRef, activeAtRef };
  }

  /** location_event_counts with distinct subscribers: buckets from `base`, one key set per partition over all days. */
  eventsAndSubscribers(
    f: RefFilter, seconds: number, base = DAY0, initialCapacity = 1024,
  ): { events: Map<string, number>; subscribers: Map<string, number>; drops: RefDrops; capacities: number[] } {
    const nBuckets = Math.ceil((this.ds.days.length * SECONDS_PER_DAY + (DAY0 - base)) / seconds);
    const buckets = { seconds, base, count: nBuckets };
    const outEvents = zeroed(4 * this.nLocs * nBuckets);
    const outSubs = zeroed(4 * this.nLocs * nBuckets);
    const drops = newDrops(heap);
    const capacities = this.parts.globalOf.map((_, p) => {
      const set = new KeySet(k, heap, initialCapacity);
      for (const d of this.loaded) {
        set.eventsAndSubscribers(range(d, p), d.loc, kernelFilter(f), dirMaskOf(f), buckets, this.nLocs, this.nLocal(p), outEvents, outSubs, drops);
      }
      set.release();
      return set.capacity;
    });
    const result = {
      events: matrix(outEvents, this.nLocs, nBuckets),
      subscribers: matrix(outSubs, this.nLocs, nBuckets),
      drops: readDrops(heap, drops),
      capacities,
    };
    [outEvents, outSubs].forEach((ptr) => heap.release(ptr));
    return result;
  }

  /**
   * total_network_objects. Intra-day periods: `seconds` per slot, periods counted from DAY0.
   * Multi-day periods: periodOfDay maps a day index to its period, one slot per day.
   * Each partition marks its own bitset; the bitsets are ORed, then counted once per day.
   */
  cells(
    f: RefFilter, by: { seconds: number } | { periodOfDay: (d: number) => number; periods: number }, initialCapacity = 1024,
  ): { counts: Map<string, number>; drops: RefDrops; capacity: number } {
    const perDay = 'seconds' in by ? SECONDS_PER_DAY / by.seconds : 1;
    const nPeriods = 'seconds' in by ? this.ds.days.length * perDay : by.periods;
    const out = zeroed(4 * this.nLocs * nPeriods);
    const drops = newDrops(heap);
    const set = new KeySet(k, heap, initialCapacity);
    this.loaded.forEach((d, i) => {
      const dayStart = d.day * SECONDS_PER_DAY;
      const slots = { seconds: SECONDS_PER_DAY / perDay, base: dayStart, count: perDay };
      const bytes = cellBitsBytes(k, perDay, d.loc.nCells);
      // The day's share of the window: the mark kernel needs it within the day's slots.
      const day = { ...kernelFilter(f) };
      day.tStart = Math.min(Math.max(day.tStart, dayStart), dayStart + SECONDS_PER_DAY);
      day.tEnd = Math.max(Math.min(day.tEnd, dayStart + SECONDS_PER_DAY), day.tStart);
      const merged = zeroed(bytes);
      for (let p = 0; p < this.parts.nParts; p++) {
        const bits = zeroed(bytes);
        markCellsByPeriod(k, range(d, p), d.loc, day, slots, bits, drops);
        orBits(k, merged, bits, bytes);
        heap.release(bits);
      }
      const first = 'seconds' in by ? i * perDay : by.periodOfDay(i);
      set.cells(merged, perDay, d.loc, this.nLocs, { first, count: nPeriods }, out);
      heap.release(merged);
    });
    const counts = matrix(out, this.nLocs, nPeriods);
    const capacity = set.capacity;
    set.release();
    heap.release(out);
    return { counts, drops: readDrops(heap, drops), capacity };
  }
}

describe.each([
  { seed: 1, nParts: 1, opts: {} },
  { seed: 2, nParts: 3, opts: {} },
  { seed: 3, nParts: 7, opts: {} },
  { seed: 4, nParts: 4, opts: { nSubs: 300, nCells: 80, nLocs: 17, nDays: 4, rowsPerDay: 4000 } },
] as { seed: number; nParts: number; opts: DatasetOptions }[])('random dataset (seed $seed, $nParts partitions)', ({ seed, nParts, opts }) => {
  let ds: Dataset;
  let events: RefEvent[];
  let pipe: OdPipeline;

  beforeAll(() => {
    ds = makeDataset(seed, opts);
    events = allEvents(ds);
    pipe = new OdPipeline(ds, nParts);
  });

  describe.each(filters(opts.nDays ?? 3))('%s', (_, f) => {
    it('countVisits + countTrips = reference trips_od_matrix, drops included', () => {
      const ref = refTripsOD(events, f, locatorOf(ds));
      const got = pipe.trips(f);
      expect(sorted(got.counts)).toEqual(sorted(ref.counts));
      expect(got.drops).toEqual(ref.drops);
    });

    it('countConsecutivePairs + countConsecutiveTrips = reference consecutive_trips_od_matrix, drops included', () => {
      const ref = refConsecutiveTripsOD(events, f, locatorOf(ds));
      const got = pipe.consecutive(f);
      expect(sorted(got.counts)).toEqual(sorted(ref.counts));
      expect(got.drops).toEqual(ref.drops);
    });

    it('unmoving, unmoving-at-reference and active-at-reference counts = reference', () => {
      // Reference locations: the last location on the final day, all types.
      const lastDay = (opts.nDays ?? 3) - 1;
      const refFilter: RefFilter = { types: ALL_TYPES, start: DAY0 + lastDay * SECONDS_PER_DAY, end: DAY0 + (lastDay + 1) * SECONDS_PER_DAY };
      const pairs = refUniqueLocations(events, f, locatorOf(ds)).pairs;
      const reference = refLastLocation(events, refFilter, locatorOf(ds)).locations;
      const got = pipe.reference(f, refFilter);
      expect(sorted(got.unmoving)).toEqual(sorted(refUnmovingCounts(pairs)));
      expect(sorted(got.unmovingAtRef)).toEqual(sorted(refUnmovingAtReferenceCounts(pairs, reference)));
      expect(sorted(got.activeAtRef)).toEqual(sorted(refActiveAtReferenceCounts(pairs, reference)));
    });

    it.each([
      ['day', 86400],
      ['hour', 3600],
      ['minute', 60],
    ])('countEventsAndSubscribersByBucket per %s = reference events and distinct subscribers, for three direction sets', (_, seconds) => {
      for (const directions of [undefined, [1], [0, 2]]) {
        const fd = { ...f, directions };
        const ref = refEventsAndSubscribersByBucket(events, fd, locatorOf(ds), seconds, DAY0);
        const got = pipe.eventsAndSubscribers(fd, seconds);
        expect(sorted(got.events)).toEqual(sorted(ref.events));
        expect(sorted(got.subscribers)).toEqual(sorted(ref.subscribers));
        expect(got.drops).toEqual(ref.drops);
        // The events agree with location_event_counts' existing reference too.
        expect(sorted(got.events)).toEqual(sorted(refLocationEventCounts(events, fd, locatorOf(ds), seconds, DAY0).counts));
      }
    });

    it('buckets of a day starting at noon span two day calls, and stay exact', () => {
      const base = DAY0 - 12 * 3600;
      const ref = refEventsAndSubscribersByBucket(events, f, locatorOf(ds), SECONDS_PER_DAY, base);
      const got = pipe.eventsAndSubscribers(f, SECONDS_PER_DAY, base);
      expect(sorted(got.subscribers)).toEqual(sorted(ref.subscribers));
      expect(sorted(got.events)).toEqual(sorted(ref.events));
    });

    it.each([
      ['minute', 60],
      ['hour', 3600],
      ['day', 86400],
    ])('markCellsByPeriod + orBits + countCellsByPeriod per %s = reference total_network_objects', (_, seconds) => {
      const ref = refCellsByPeriod(events, f, locatorOf(ds), (t) => Math.floor((t - DAY0) / seconds));
      const got = pipe.cells(f, { seconds });
      expect(sorted(got.counts)).toEqual(sorted(ref.counts));
      expect(got.drops).toEqual(ref.drops);
    });

    it('countCellsByPeriod over multi-day periods (month-like: days 0-1, then the rest) counts (period, loc, cell) once', () => {
      const periodOfDay = (d: number) => (d < 2 ? 0 : 1);
      const ref = refCellsByPeriod(events, f, locatorOf(ds), (t) => periodOfDay(Math.floor(t / SECONDS_PER_DAY) - FIRST_DAY));
      const got = pipe.cells(f, { periodOfDay, periods: 2 });
      expect(sorted(got.counts)).toEqual(sorted(ref.counts));
      expect(got.drops).toEqual(ref.drops);
    });
  });

  it('tables and sets grown from 8 slots give the same answers as ones that never grow (capacity retry paths)', () => {
    const f = window(opts.nDays ?? 3, ALL_TYPES);
    const big = 1 << 16;
    const trips = [pipe.trips(f, 8), pipe.trips(f, big)];
    expect(Math.max(...trips[0].capacities)).toBeGreaterThan(8);
    expect(trips[1].capacities.every((c) => c === big)).toBe(true);
    expect(sorted(trips[0].counts)).toEqual(sorted(trips[1].counts));
    const consecutive = [pipe.consecutive(f, 8), pipe.consecutive(f, big)];
    expect(Math.max(...consecutive[0].capacities)).toBeGreaterThan(8);
    expect(sorted(consecutive[0].counts)).toEqual(sorted(consecutive[1].counts));
    const buckets = [pipe.eventsAndSubscribers(f, SECONDS_PER_DAY, DAY0, 8), pipe.eventsAndSubscribers(f, SECONDS_PER_DAY, DAY0, big)];
    expect(Math.max(...buckets[0].capacities)).toBeGreaterThan(8);
    expect(sorted(buckets[0].subscribers)).toEqual(sorted(buckets[1].subscribers));
    expect(sorted(buckets[0].events)).toEqual(sorted(buckets[1].events));
    const cells = [pipe.cells(f, { seconds: SECONDS_PER_DAY }, 8), pipe.cells(f, { seconds: SECONDS_PER_DAY }, big)];
    expect(cells[0].capacity).toBeGreaterThan(8);
    expect(sorted(cells[0].counts)).toEqual(sorted(cells[1].counts));
  });
});

/** A one-partition dataset from explicit events; cell c is location c on every day, cells >= 10 are unknown (-2). */
function tiny(events: RefEvent[], nParts = 1): OdPipeline {
  const days = [...new Set(events.map((e) => Math.floor(e.t / SECONDS_PER_DAY)))].sort((a, b) => a - b);
  const table = Int32Array.from({ length: 12 }, (_, c) => (c < 10 ? c : -2));
  return new OdPipeline({
    nSubs: 1 + Math.max(...events.map((e) => e.sub)),
    nCells: 12,
    nLocs: 10,
    days,
    rows: days.map((d) => events.filter((e) => Math.floor(e.t / SECONDS_PER_DAY) === d)),
    locTables: days.map(() => table),
  }, nParts);
}

const call = (sub: number, day: number, second: number, cell: number): RefEvent => ({ sub, t: (FIRST_DAY + day) * SECONDS_PER_DAY + second, cell, kind: TYPE_CALLS });
const A = 1;
const B = 2;
const C = 3;

describe('hand-computed cases', () => {
  const f = window(3, [TYPE_CALLS, TYPE_SMS]);

  it('A(t1) B(t2) A(t3): trips A->B and B->A; consecutive A->B and B->A', () => {
    const p = tiny([call(0, 0, 100, A), call(0, 0, 200, B), call(0, 0, 300, A)]);
    expect(sorted(p.trips(f).counts)).toEqual([['1,2', 1], ['2,1', 1]]);
    expect(sorted(p.consecutive(f).counts)).toEqual([['1,2', 1], ['2,1', 1]]);
  });

  it('A A A B: consecutive A->A counts the subscriber once, A->B once; trips only A->B', () => {
    const p = tiny([call(0, 0, 100, A), call(0, 0, 200, A), call(0, 0, 300, A), call(0, 0, 400, B)]);
    expect(sorted(p.consecutive(f).counts)).toEqual([['1,1', 1], ['1,2', 1]]);
    expect(sorted(p.trips(f).counts)).toEqual([['1,2', 1]]);
  });

  it('two subscribers with the same pairs count 2; a dropped event between two located ones does not break the pair', () => {
    const p = tiny([
      call(0, 0, 100, A), call(0, 0, 150, 11), call(0, 0, 200, B),
      call(1, 0, 100, A), call(1, 0, 200, NULL_U32), call(1, 0, 300, B),
    ]);
    expect(sorted(p.consecutive(f).counts)).toEqual([['1,2', 2]]);
    expect(p.consecutive(f).drops).toEqual({ noCell: 1, unknown: 1, outside: 0 });
    expect(sorted(p.trips(f).counts)).toEqual([['1,2', 2]]);
  });

  it('same second: no trip either way (times compare strictly); consecutive follows ingest order', () => {
    const p = tiny([call(0, 0, 100, B), call(0, 0, 100, A)]);
    expect(sorted(p.trips(f).counts)).toEqual([]);
    expect(sorted(p.consecutive(f).counts)).toEqual([['2,1', 1]]);
  });

  it('ingest order breaks same-second ties even when ingested around an earlier second', () => {
    // Ingest order: t=500 at A, t=400 at C, t=500 at B -> chronological C, A, B.
    const p = tiny([call(0, 0, 500, A), call(0, 0, 400, C), call(0, 0, 500, B)]);
    expect(sorted(p.consecutive(f).counts)).toEqual([['1,2', 1], ['3,1', 1]]);
    // first C (400) < last A (500), first C < last B (500); A and B only at 500.
    expect(sorted(p.trips(f).counts)).toEqual([['3,1', 1], ['3,2', 1]]);
  });

  it('pairs and trips cross days: the previous location persists between day calls', () => {
    const p = tiny([call(0, 0, 80000, A), call(0, 1, 10, B), call(0, 2, 10, B)]);
    expect(sorted(p.consecutive(f).counts)).toEqual([['1,2', 1], ['2,2', 1]]);
    expect(sorted(p.trips(f).counts)).toEqual([['1,2', 1]]);
  });

  it('unmoving: one location -> counted there; at reference only if it is the reference; active if the reference is among them', () => {
    // sub 0: only A, reference A. sub 1: only B, reference A. sub 2: A and C, reference C. sub 3: no reference.
    const p = tiny([
      call(0, 0, 10, A), call(0, 0, 20, A),
      call(1, 0, 10, B),
      call(2, 0, 10, A), call(2, 0, 20, C),
      call(3, 0, 10, C),
      // Day 1 gives the reference locations (the last location on day 1).
      call(0, 1, 10, A), call(1, 1, 10, A), call(2, 1, 10, C),
    ]);
    const day0 = window(1, ALL_TYPES);
    const day1: RefFilter = { types: ALL_TYPES, start: DAY0 + SECONDS_PER_DAY, end: DAY0 + 2 * SECONDS_PER_DAY };
    const got = p.reference(day0, day1);
    expect(sorted(got.unmoving)).toEqual([[A, 1], [B, 1], [C, 1]]);
    expect(sorted(got.unmovingAtRef)).toEqual([[A, 1]]);
    expect(sorted(got.activeAtRef)).toEqual([[A, 1], [C, 1]]);
  });

  it('distinct subscribers per bucket: repeated events count once; direction filters apply to both counts', () => {
    const out = (sub: number, second: number, cell: number): RefEvent => ({ ...call(sub, 0, second, cell), kind: TYPE_CALLS | (1 << 2) });
    const inc = (sub: number, second: number, cell: number): RefEvent => ({ ...call(sub, 0, second, cell), kind: TYPE_CALLS | (2 << 2) });
    const p = tiny([out(0, 10, A), out(0, 20, A), inc(0, 30, A), inc(1, 40, A), out(1, 3700, A), out(2, 3800, B)]);
    const both = p.eventsAndSubscribers(window(1, ALL_TYPES), 3600);
    expect(sorted(both.events)).toEqual([['1,0', 4], ['1,1', 1], ['2,1', 1]]);
    expect(sorted(both.subscribers)).toEqual([['1,0', 2], ['1,1', 1], ['2,1', 1]]);
    const outgoing = p.eventsAndSubscribers({ ...window(1, ALL_TYPES), directions: [1] }, 3600);
    expect(sorted(outgoing.events)).toEqual([['1,0', 2], ['1,1', 1], ['2,1', 1]]);
    expect(sorted(outgoing.subscribers)).toEqual([['1,0', 1], ['1,1', 1], ['2,1', 1]]);
  });

  it('cells per period: a cell counts once per period however many partitions and days see it; a moved cell counts at both locations', () => {
    const events = [call(0, 0, 10, 4), call(1, 0, 20, 4), call(2, 1, 30, 4), call(3, 1, 40, 5), call(4, 2, 50, 4)];
    const p = tiny(events, 3);
    // Cell 4 is at location 7 on day 1 only; cell 5 at 5 throughout.
    p.loaded[1].loc = { loc: heap.put(Int32Array.from({ length: 12 }, (_, c) => (c === 4 ? 7 : c < 10 ? c : -2))), nCells: 12 };
    const whole = window(3, ALL_TYPES);
    // One period for days 0-1, another for day 2.
    const got = p.cells(whole, { periodOfDay: (d) => (d < 2 ? 0 : 1), periods: 2 });
    expect(sorted(got.counts)).toEqual([['4,0', 1], ['4,1', 1], ['5,0', 1], ['7,0', 1]]);
    // Per day: cell 4 on days 0 and 2 at 4, on day 1 at 7.
    expect(sorted(p.cells(whole, { seconds: SECONDS_PER_DAY }).counts)).toEqual([['4,0', 1], ['4,2', 1], ['5,1', 1], ['7,1', 1]]);
  });
});

describe('errors become KernelErrors', () => {

  it('a bucket earlier than one the set has moved past (ranges out of time order)', () => {
    const p = tiny([call(0, 0, 10, A), call(0, 1, 10, A)]);
    const set = heap.alloc(keySetBytes(k, 16));
    keySetClear(k, set, 16);
    const outs = [zeroed(4 * 10 * 2), zeroed(4 * 10 * 2)];
    const f = kernelFilter(window(2, ALL_TYPES));
    const buckets = { seconds: SECONDS_PER_DAY, base: DAY0, count: 2 };
    const run = (d: LoadedDay) => countEventsAndSubscribersByBucket(k, range(d, 0), d.loc, f, 0xf, buckets, 10, 1, set, 16, outs[0], outs[1], newDrops(heap));
    expect(run(p.loaded[1])).toBe(1);
    expect(kernelErrorCode(() => run(p.loaded[0]))).toBe('BAD_ARGUMENT');
  });

  it('consecutive pairs on a set whose floor has moved, more than 65535 locations, a reference location beyond nLocs, a bad bitset size', () => {
    const p = tiny([call(0, 0, 10, A), call(0, 1, 10, A)]);
    const d = p.loaded[1];
    const f = kernelFilter(window(2, ALL_TYPES));
    const set = heap.alloc(keySetBytes(k, 16));
    keySetClear(k, set, 16);
    const outs = [zeroed(4 * 10 * 2), zeroed(4 * 10 * 2)];
    countEventsAndSubscribersByBucket(k, range(d, 0), d.loc, f, 0xf, { seconds: SECONDS_PER_DAY, base: DAY0, count: 2 }, 10, 1, set, 16, outs[0], outs[1], newDrops(heap));
    const prev = newLocVec(heap, 1);
    expect(kernelErrorCode(() => countConsecutivePairs(k, range(d, 0), d.loc, f, 1, 10, prev, set, 16, newDrops(heap)))).toBe('BAD_ARGUMENT');
    keySetClear(k, set, 16);
    expect(kernelErrorCode(() => countConsecutivePairs(k, range(d, 0), d.loc, f, 1, 70000, prev, set, 16, newDrops(heap)))).toBe('BAD_ARGUMENT');
    const keys = { sub: heap.put(Uint32Array.of(0)), loc: heap.put(Int32Array.of(1)), count: 1 };
    const ref = heap.put(Int32Array.of(12));
    expect(kernelErrorCode(() => activeAtReferenceCounts(k, keys, ref, 1, 10, zeroed(16), zeroed(40)))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => unmovingCounts(k, { ...keys, loc: heap.put(Int32Array.of(10)) }, 1, 10, zeroed(16), zeroed(40)))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => orBits(k, zeroed(16), zeroed(16), 12))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => cellBitsBytes(k, 86400, 100000))).toBe('BAD_ARGUMENT');
  });

  it('a bitset counted with a table in which a marked cell has no location', () => {
    const p = tiny([call(0, 0, 10, A)]);
    const d = p.loaded[0];
    const bytes = cellBitsBytes(k, 1, 12);
    const bits = zeroed(bytes);
    markCellsByPeriod(k, range(d, 0), d.loc, kernelFilter(window(1, ALL_TYPES)), { seconds: SECONDS_PER_DAY, base: DAY0, count: 1 }, bits, newDrops(heap));
    const set = heap.alloc(keySetBytes(k, 16));
    keySetClear(k, set, 16);
    const unknown = { loc: heap.put(new Int32Array(12).fill(-2)), nCells: 12 };
    expect(kernelErrorCode(() => countCellsByPeriod(k, bits, 1, unknown, 10, { first: 0, count: 1 }, 0, set, 16, zeroed(40)))).toBe('BAD_ARGUMENT');
  });
});
