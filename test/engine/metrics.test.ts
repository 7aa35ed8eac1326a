/**
 * The metric kernels (kernels/metrics.ts) and group statistics (kernels/stats.ts)
 * against the reference (test/reference/metrics.ts): seeded random
 * datasets full of ties, self-calls, missing counterparts, amounts and
 * coordinates, driven as the engine will drive them (every day loaded into
 * partitions, each kernel per (day, partition) range in date order); then
 * hand-computed cases, edge cases and errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DIR_IN, DIR_OUT, NULL_U32, SECONDS_PER_DAY, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';
import type { Heap, Ptr } from '../../server/wasm/memory.js';
import * as mk from '../../server/engine/metric-kernels.js';
import {
  type CoordLocator, EARTH_RADIUS_KM, type RefMetricEvent, STATISTICS, type Statistic, exactCeilTimes, haversineKm, refDisplacement,
  refEventCount, refHistogram, refJoinedAggregate, refNocturnalEvents, refParetoInteractions, refRadiusOfGyration, refStatistic,
  refSubscriberDegree, refTopupAmount, refTotalActivePeriods, refUniqueLocationCounts,
} from '../reference/metrics.js';
import { type RefDrops, type RefFilter, refLastLocation } from '../reference/events.js';
import { type EventColumns, type Kernels, LocationTable, instantiate } from '../../server/engine/wasm.js';
import {
  type Dataset, type DatasetOptions, FIRST_DAY, type LoadedDay, type Partitioning, dirMaskOf, kernelFilter, loadDay, locatorOf, makeDataset,
  newDrops, newHeap, newLocVec, partitioning, range, readDrops, rng, sorted, ALL_TYPES, DAY0, kernelErrorCode
} from './harness.js';

const DEFAULT_TYPES = [TYPE_CALLS, TYPE_SMS];
const HOUR = 3600;

let heap: Heap;
let k: Kernels;

beforeAll(() => {
  heap = newHeap();
  k = instantiate(heap.memory);
});

// ---------------------------------------------------------------------------
// Data

interface MetricDataset extends Dataset {
  rows: RefMetricEvent[][];
  /** Per day, cell -> degrees (NaN: no valid version that day). */
  lon: Float64Array[];
  lat: Float64Array[];
}

const AMOUNTS = [1, 2, 5, 5, 10, 20];

/**
 * makeDataset's rows with counterparts (a tenth missing, a tenth self, the rest
 * skewed towards a few subscribers), recharge amounts (mostly on top-ups, from a
 * few round values so modes tie) and cell coordinates (few distinct points, so
 * distances repeat; missing where the cell is unknown and at random; some cells
 * move from day to day).
 */
function makeMetricDataset(seed: number, opts: DatasetOptions = {}): MetricDataset {
  const base = makeDataset(seed, opts);
  const r = rng(seed + 7919);
  const int = (n: number) => Math.floor(r() * n);
  const points = Array.from({ length: 8 }, () => ({ lon: 29 + 2 * r(), lat: -2.5 + 1.5 * r() }));
  const home = Array.from({ length: base.nCells }, () => points[int(points.length)]);
  const lon: Float64Array[] = [];
  const lat: Float64Array[] = [];
  base.locTables.forEach((table) => {
    const lo = new Float64Array(base.nCells);
    const la = new Float64Array(base.nCells);
    for (let c = 0; c < base.nCells; c++) {
      const u = r();
      const p = table[c] === -2 || u < 0.05 ? { lon: NaN, lat: NaN } : u < 0.15 ? { lon: 28 + 4 * r(), lat: -4 + 3 * r() } : home[c];
      lo[c] = p.lon;
      la[c] = p.lat;
    }
    lon.push(lo);
    lat.push(la);
  });
  const rows = base.rows.map((day) =>
    day.map((e): RefMetricEvent => {
      const u = r();
      const peer = u < 0.1 ? NULL_U32 : u < 0.2 ? e.sub : Math.floor(r() ** 2 * (base.nSubs + 10));
      const v = r();
      const recharge = (e.kind & 3) === TYPE_TOPUPS
        ? v < 0.05 ? NaN : v < 0.85 ? AMOUNTS[int(AMOUNTS.length)] : Math.round(r() * 5000) / 100
        : v < 0.05 ? 3 : NaN; // amounts on other types must be filtered out by type
      return { ...e, peer, recharge };
    }),
  );
  return { ...base, rows, lon, lat };
}

function coordsOf(ds: MetricDataset): CoordLocator {
  return (cell, day) => {
    const i = ds.days.indexOf(day);
    if (cell >= ds.nCells) return -1;
    const lon = ds.lon[i][cell];
    const lat = ds.lat[i][cell];
    return Number.isNaN(lon) || Number.isNaN(lat) ? -2 : { lon, lat };
  };
}

// ---------------------------------------------------------------------------
// The engine's steps

interface MetricDay extends LoadedDay {
  peer: Ptr;
  recharge: Ptr;
  coords: mk.CoordTable;
}

type Columns = EventColumns & { peer: Ptr; recharge: Ptr };

class MetricPipeline {
  readonly parts: Partitioning;
  readonly days: MetricDay[];
  /** Per partition, u32 global index per local subscriber. */
  readonly globalOf: Ptr[];

  constructor(readonly ds: MetricDataset, nParts: number) {
    this.parts = partitioning(ds.nSubs, nParts);
    this.days = ds.days.map((day, i) => {
      const rows = ds.rows[i];
      const n = rows.length;
      const d = loadDay(k, heap, this.parts, day, rows, ds.locTables[i]);
      const perm = heap.put(d.perm.length ? d.perm : new Uint32Array(1));
      const rawPeer = heap.put(Uint32Array.from(rows, (e) => e.peer ?? NULL_U32));
      const rawRecharge = heap.put(Float64Array.from(rows, (e) => e.recharge ?? NaN));
      const peer = heap.alloc(4 * n);
      const recharge = heap.alloc(8 * n);
      k.gather32(rawPeer, perm, peer, n);
      k.gather64(rawRecharge, perm, recharge, n);
      [perm, rawPeer, rawRecharge].forEach((p) => heap.release(p));
      return { ...d, peer, recharge, coords: { lon: heap.put(ds.lon[i]), lat: heap.put(ds.lat[i]), nCells: ds.nCells } };
    });
    this.globalOf = this.parts.globalOf.map((g) => heap.put(Uint32Array.from(g.length ? g : [0])));
  }

  nLocal(p: number): number {
    return this.parts.globalOf[p].length;
  }

  columns(d: MetricDay, p: number): Columns {
    const ev = range(d, p);
    const start = d.offsets[p];
    return { ...ev, peer: d.peer + 4 * start, recharge: d.recharge + 8 * start };
  }

  /** Zero-filled scratch. */
  zeros(bytes: number): Ptr {
    const ptr = heap.alloc(Math.max(bytes, 1));
    heap.fill(ptr, Math.max(bytes, 1));
    return ptr;
  }

  /** An f64 vector per local subscriber, all NaN. */
  nans(n: number): Ptr {
    const ptr = heap.alloc(8 * Math.max(n, 1));
    heap.f64(ptr, Math.max(n, 1)).fill(NaN);
    return ptr;
  }

  /** Runs `fill` per partition into a NaN vector; returns the vectors and the global map of non-NaN values. */
  perPartition(fill: (p: number, nLocal: number, out: Ptr) => void): { vecs: Ptr[]; values: Map<number, number> } {
    const vecs = this.parts.globalOf.map((_, p) => {
      const out = this.nans(this.nLocal(p));
      fill(p, this.nLocal(p), out);
      return out;
    });
    return { vecs, values: this.toGlobal(vecs) };
  }

  toGlobal(vecs: Ptr[]): Map<number, number> {
    const values = new Map<number, number>();
    this.parts.globalOf.forEach((globals, p) => {
      const v = heap.f64(vecs[p], globals.length);
      globals.forEach((g, local) => {
        if (!Number.isNaN(v[local])) values.set(g, v[local]);
      });
    });
    return values;
  }

  eventCount(f: RefFilter): Map<number, number> {
    return this.perPartition((p, n, out) => {
      const state = this.zeros(mk.eventCountBytes(k, n));
      for (const d of this.days) mk.countEvents(k, range(d, p), kernelFilter(f), dirMaskOf(f), n, state);
      mk.finishEventCount(k, state, n, out);
    }).values;
  }

  nocturnal(f: RefFilter, night: { start: number; end: number }): Map<number, number> {
    const nightMask = mk.nightMaskOf(night.start, night.end);
    return this.perPartition((p, n, out) => {
      const state = this.zeros(mk.nocturnalBytes(k, n));
      for (const d of this.days) mk.countNocturnal(k, range(d, p), kernelFilter(f), dirMaskOf(f), nightMask, n, state);
      mk.finishNocturnal(k, state, n, out);
    }).values;
  }

  activePeriods(f: RefFilter, start: number, seconds: number, total: number): Map<number, number> {
    const kf = { ...kernelFilter(f), tStart: start, tEnd: start + total * seconds };
    return this.perPartition((p, n, out) => {
      const state = this.zeros(mk.activePeriodsBytes(k, n));
      for (const d of this.days) mk.countActivePeriods(k, range(d, p), kf, seconds, n, state);
      mk.finishActivePeriods(k, state, n, out);
    }).values;
  }

  gyration(f: RefFilter): { values: Map<number, number>; drops: RefDrops } {
    const drops = newDrops(heap);
    const kf = kernelFilter(f);
    const { values } = this.perPartition((p, n, out) => {
      const state = this.zeros(mk.gyrationBytes(k, n));
      for (const d of this.days) mk.gyrationSums(k, range(d, p), d.coords, kf, n, state, drops);
      mk.gyrationCentroids(k, state, n);
      for (const d of this.days) mk.gyrationSpread(k, range(d, p), d.coords, kf, n, state);
      mk.finishGyration(k, state, n, out);
    });
    return { values, drops: readDrops(heap, drops) };
  }

  uniqueLocations(f: RefFilter): { values: Map<number, number>; drops: RefDrops } {
    const drops = newDrops(heap);
    const { values } = this.perPartition((p, n, out) => {
      const table = new LocationTable(k, heap, 16);
      let seq = 0;
      for (const d of this.days) {
        const ev = range(d, p);
        table.count(ev, d.loc, kernelFilter(f), n, seq, drops);
        seq += ev.n;
      }
      const subs = heap.alloc(4 * Math.max(table.size, 1));
      const locs = heap.alloc(4 * Math.max(table.size, 1));
      const count = table.keys(subs, locs);
      mk.countPerSub(k, count, subs, n, out);
      table.release();
    });
    return { values, drops: readDrops(heap, drops) };
  }

  contacts(f: RefFilter, excludeSelf: boolean, finish: (table: mk.ContactTable, n: number, out: Ptr) => void, initialCapacity = 1024): Map<number, number> {
    return this.perPartition((p, n, out) => {
      const table = new mk.ContactTable(k, heap, initialCapacity);
      for (const d of this.days) table.count(this.columns(d, p), kernelFilter(f), dirMaskOf(f), excludeSelf, this.globalOf[p], n);
      finish(table, n, out);
      table.release();
    }).values;
  }

  degree(f: RefFilter, initialCapacity?: number): Map<number, number> {
    return this.contacts(f, true, (table, n, out) => table.degree(n, out), initialCapacity);
  }

  pareto(f: RefFilter, proportion: number, initialCapacity?: number): Map<number, number> {
    return this.contacts(f, false, (table, n, out) => table.pareto(n, proportion, out), initialCapacity);
  }

  /** Per-event values of one partition over every day, as pairs (group = local sub). */
  values(p: number, emit: (d: MetricDay, at: { sub: Ptr; value: Ptr }) => number): mk.Pairs {
    const total = this.days.reduce((sum, d) => sum + range(d, p).n, 0);
    const group = heap.alloc(4 * Math.max(total, 1));
    const value = heap.alloc(8 * Math.max(total, 1));
    let n = 0;
    for (const d of this.days) n += emit(d, { sub: group + 4 * n, value: value + 8 * n });
    return { n, group, value };
  }

  topup(f: RefFilter, statistic: Statistic): Map<number, number> {
    return this.perPartition((p, n, out) => {
      const pairs = this.values(p, (d, at) => mk.topupValues(k, this.columns(d, p), kernelFilter(f), n, at));
      mk.groupStatistic(k, heap, pairs, n, statistic, out);
    }).values;
  }

  displacement(f: RefFilter, reference: ReadonlyMap<number, { lon: number; lat: number }>, statistic: Statistic): { values: Map<number, number>; drops: RefDrops } {
    const drops = newDrops(heap);
    const { values } = this.perPartition((p, n, out) => {
      const globals = this.parts.globalOf[p];
      const ref = {
        lon: heap.put(Float64Array.from(globals.length ? globals : [0], (g) => reference.get(g)?.lon ?? NaN)),
        lat: heap.put(Float64Array.from(globals.length ? globals : [0], (g) => reference.get(g)?.lat ?? NaN)),
      };
      const pairs = this.values(p, (d, at) => mk.displacementValues(k, range(d, p), d.coords, kernelFilter(f), ref, n, at, drops));
      mk.groupStatistic(k, heap, pairs, n, statistic, out);
    });
    return { values, drops: readDrops(heap, drops) };
  }

  /** daily_location last per partition (i32 vectors) and as a global map. */
  lastLocations(f: RefFilter): { vecs: Ptr[]; locations: Map<number, number> } {
    const drops = newDrops(heap);
    const vecs = this.parts.globalOf.map((_, p) => {
      const vec = newLocVec(heap, this.nLocal(p));
      for (const d of this.days) k.lastLocation(range(d, p), d.loc, kernelFilter(f), this.nLocal(p), vec, drops);
      return vec;
    });
    const locations = new Map<number, number>();
    this.parts.globalOf.forEach((globals, p) => {
      const v = heap.i32(vecs[p], globals.length);
      globals.forEach((g, local) => v[local] >= 0 && locations.set(g, v[local]));
    });
    return { vecs, locations };
  }
}

// ---------------------------------------------------------------------------
// Comparison

/** Same subscribers; values equal to 1e-9 relative. NaN entries (nulls) are left out on both sides. */
function expectClose(got: ReadonlyMap<number, number>, want: ReadonlyMap<number, number>, rel = 1e-9): void {
  const present = (m: ReadonlyMap<number, number>) => [...m].filter(([, v]) => !Number.isNaN(v)).sort((a, b) => a[0] - b[0]);
  const g = present(got);
  const w = present(want);
  expect(g.map(([key]) => key)).toEqual(w.map(([key]) => key));
  g.forEach(([key, x], i) => {
    const y = w[i][1];
    if (x !== y && !(Math.abs(x - y) <= rel * Math.max(Math.abs(x), Math.abs(y)))) {
      expect.fail(`key ${key}: kernel ${x}, reference ${y} (relative difference ${Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y))})`);
    }
  });
}

function window(nDays: number, types: number[], extra: Partial<RefFilter> = {}): RefFilter {
  return { types, start: DAY0, end: DAY0 + nDays * SECONDS_PER_DAY, ...extra };
}

/** A spread of filters: default types, wrap-around hours, a partial window, directions, an empty hour range. */
function filters(nDays: number): [string, RefFilter][] {
  return [
    ['default types, whole window', window(nDays, DEFAULT_TYPES)],
    ['all types, hours 22-4 (wrap)', window(nDays, ALL_TYPES, { hours: { start: 22, end: 4 } })],
    ['calls, hours 9-17, 06:00 day 0 to 12:00 last day', {
      types: [TYPE_CALLS], start: DAY0 + 6 * HOUR, end: DAY0 + (nDays - 1) * SECONDS_PER_DAY + 12 * HOUR, hours: { start: 9, end: 17 },
    }],
    ['all types, out only', window(nDays, ALL_TYPES, { directions: [DIR_OUT] })],
    ['default types, in only', window(nDays, DEFAULT_TYPES, { directions: [DIR_IN] })],
    ['hours 5-5 (empty)', window(nDays, ALL_TYPES, { hours: { start: 5, end: 5 } })],
  ];
}

// ---------------------------------------------------------------------------
// Random datasets against the reference

describe.each([
  { seed: 21, nParts: 1 },
  { seed: 22, nParts: 3 },
  { seed: 23, nParts: 7 },
])('random dataset (seed $seed, $nParts partitions)', ({ seed, nParts }) => {
  let ds: MetricDataset;
  let events: RefMetricEvent[];
  let pipe: MetricPipeline;

  beforeAll(() => {
    ds = makeMetricDataset(seed);
    events = ds.rows.flat();
    pipe = new MetricPipeline(ds, nParts);
  });

  describe.each(filters(3))('%s', (_, f) => {
    it('event_count', () => {
      expectClose(pipe.eventCount(f), refEventCount(events, f));
    });

    it.each([
      [20, 4],
      [22, 2],
      [0, 6],
      [4, 20], // not a wrap: hour >= 4 or hour < 20 is every hour
    ])('nocturnal_events, night %i-%i', (start, end) => {
      expectClose(pipe.nocturnal(f, { start, end }), refNocturnalEvents(events, f, { start, end }));
    });

    // Metrics of where events happen take no direction (FlowKit's neither).
    const g = { ...f, directions: undefined };

    it('radius_of_gyration, drops included', () => {
      const ref = refRadiusOfGyration(events, g, coordsOf(ds));
      const got = pipe.gyration(g);
      expectClose(got.values, ref.values);
      expect(got.drops).toEqual(ref.drops);
    });

    it('unique_location_counts, drops included', () => {
      const ref = refUniqueLocationCounts(events, g, locatorOf(ds));
      const got = pipe.uniqueLocations(g);
      expectClose(got.values, ref.values);
      expect(got.drops).toEqual(ref.drops);
    });

    it('subscriber_degree (self excluded)', () => {
      expectClose(pipe.degree(f), refSubscriberDegree(events, f));
    });

    it.each([0.8, 0.7, 0.5, 0.33, 1, 0])('pareto_interactions, proportion %s', (proportion) => {
      expectClose(pipe.pareto(f, proportion), refParetoInteractions(events, f, proportion));
    });

    it.each(STATISTICS)('displacement, %s', (statistic) => {
      const r = rng(seed + 31);
      const reference = new Map<number, { lon: number; lat: number }>();
      for (let s = 0; s < ds.nSubs; s++) if (r() < 0.8) reference.set(s, { lon: 29 + 2 * r(), lat: -2.5 + 1.5 * r() });
      const ref = refDisplacement(events, g, coordsOf(ds), reference, statistic);
      const got = pipe.displacement(g, reference, statistic);
      expectClose(got.values, ref.values);
      expect(got.drops).toEqual(ref.drops);
    });
  });

  it.each(STATISTICS)('topup_amount, %s (top-ups only, all hours and 22-4)', (statistic) => {
    for (const f of [window(3, [TYPE_TOPUPS]), window(3, [TYPE_TOPUPS], { hours: { start: 22, end: 4 } }), window(3, ALL_TYPES)]) {
      expectClose(pipe.topup(f, statistic), refTopupAmount(events, f, statistic));
    }
  });

  it.each([
    ['days', SECONDS_PER_DAY, 3],
    ['hours', HOUR, 80],
    ['7 minutes', 7 * 60, 500],
    ['2 days from 03:00', 2 * SECONDS_PER_DAY, 2],
  ])('total_active_periods in %s', (name, seconds, total) => {
    const start = name.includes('03:00') ? DAY0 + 3 * HOUR : DAY0;
    for (const f of [window(3, DEFAULT_TYPES), window(3, ALL_TYPES, { hours: { start: 20, end: 6 } })]) {
      expectClose(pipe.activePeriods(f, start, seconds, total), refTotalActivePeriods(events, f, start, seconds, total));
    }
  });

  it.each(STATISTICS)('joined_spatial_aggregate of radius_of_gyration and event_count by last location, %s', (statistic) => {
    const f = window(3, ALL_TYPES);
    const loc = pipe.lastLocations(f);
    expect(sorted(loc.locations)).toEqual(sorted(refLastLocation(events, f, locatorOf(ds)).locations));
    for (const metric of [pipe.gyration(f).values, pipe.eventCount(window(3, DEFAULT_TYPES, { hours: { start: 8, end: 20 } }))]) {
      const vecs = pipe.parts.globalOf.map((globals) => heap.put(Float64Array.from(globals.length ? globals : [0], (g) => metric.get(g) ?? NaN)));
      // Concatenate every partition's (location, metric) pairs, then one call per statistic.
      const nAll = ds.nSubs;
      const all = { group: heap.alloc(4 * nAll), value: heap.alloc(8 * nAll) };
      let n = 0;
      vecs.forEach((vec, p) => {
        n += mk.groupPairs(k, { n: pipe.nLocal(p), group: loc.vecs[p], value: vec }, { group: all.group + 4 * n, value: all.value + 8 * n });
      });
      const out = pipe.nans(ds.nLocs);
      mk.groupStatistic(k, heap, { n, ...all }, ds.nLocs, statistic, out);
      const got = new Map([...heap.f64(out, ds.nLocs)].map((v, l) => [l, v] as [number, number]).filter(([, v]) => !Number.isNaN(v)));
      expectClose(got, refJoinedAggregate(loc.locations, metric, statistic));
      // The moments also accumulate partition by partition, without concatenating.
      if (!mk.isOrdered(statistic)) {
        const state = pipe.zeros(mk.groupStatsBytes(k, ds.nLocs));
        vecs.forEach((vec, p) => mk.groupSums(k, { n: pipe.nLocal(p), group: loc.vecs[p], value: vec }, ds.nLocs, state));
        vecs.forEach((vec, p) => mk.groupSpread(k, { n: pipe.nLocal(p), group: loc.vecs[p], value: vec }, ds.nLocs, state));
        const out2 = pipe.nans(ds.nLocs);
        mk.groupFinish(k, state, ds.nLocs, statistic, out2);
        expect([...heap.f64(out2, ds.nLocs)]).toEqual([...heap.f64(out, ds.nLocs)]);
      }
    }
  });

  it('histogram_aggregate of radius_of_gyration: even bins, uneven edges, and a range leaving values out', () => {
    const f = window(3, ALL_TYPES);
    const { vecs, values } = pipe.perPartition((p, n, out) => {
      const drops = newDrops(heap);
      const state = pipe.zeros(mk.gyrationBytes(k, n));
      for (const d of pipe.days) mk.gyrationSums(k, range(d, p), d.coords, kernelFilter(f), n, state, drops);
      mk.gyrationCentroids(k, state, n);
      for (const d of pipe.days) mk.gyrationSpread(k, range(d, p), d.coords, kernelFilter(f), n, state);
      mk.finishGyration(k, state, n, out);
    });
    const max = Math.max(...values.values());
    const distinct = [...new Set(values.values())].sort((a, b) => a - b);
    expect(distinct.length).toBeGreaterThan(20);
    for (const edges of [
      Array.from({ length: 11 }, (_, i) => (i * max) / 10), // the maximum sits on the closed last edge
      [-1, distinct[3], distinct[10], distinct[10] + 25, distinct[10] + 200], // values on inner edges go up
      [distinct[5], distinct[20]], // one bin; values outside are not counted
    ]) {
      const nBins = edges.length - 1;
      const edgePtr = heap.put(Float64Array.from(edges));
      const out = pipe.zeros(4 * nBins);
      vecs.forEach((vec, p) => mk.histogram(k, pipe.nLocal(p), vec, edgePtr, nBins, out));
      expect([...heap.u32(out, nBins)]).toEqual(refHistogram(values.values(), edges));
    }
  });

  it('a contact table grown from 8 slots gives the same degrees and Pareto fractions', () => {
    const f = window(3, ALL_TYPES);
    expect(sorted(pipe.degree(f, 8))).toEqual(sorted(pipe.degree(f, 1 << 14)));
    expect(sorted(pipe.pareto(f, 0.8, 8))).toEqual(sorted(pipe.pareto(f, 0.8, 1 << 14)));
  });
});

// ---------------------------------------------------------------------------
// Hand-computed cases

/** A one-partition dataset from explicit events; cell c is location c and sits at `at[c]` on every day. */
function tiny(events: RefMetricEvent[], at: [number, number][] = []): MetricDataset {
  const days = [...new Set(events.map((e) => Math.floor(e.t / SECONDS_PER_DAY)))].sort((a, b) => a - b);
  const nCells = 12;
  const table = Int32Array.from({ length: nCells }, (_, c) => (c < 10 ? c : -2));
  const lon = Float64Array.from({ length: nCells }, (_, c) => at[c]?.[0] ?? NaN);
  const lat = Float64Array.from({ length: nCells }, (_, c) => at[c]?.[1] ?? NaN);
  return {
    nSubs: 1 + Math.max(...events.map((e) => e.sub)),
    nCells,
    nLocs: 10,
    days,
    rows: days.map((d) => events.filter((e) => Math.floor(e.t / SECONDS_PER_DAY) === d)),
    locTables: days.map(() => table),
    lon: days.map(() => lon),
    lat: days.map(() => lat),
  };
}

const OUT = DIR_OUT << 2;
const IN = DIR_IN << 2;

function ev(sub: number, day: number, second: number, more: Partial<RefMetricEvent> = {}): RefMetricEvent {
  return { sub, t: DAY0 + day * SECONDS_PER_DAY + second, cell: 0, kind: TYPE_CALLS | OUT, ...more };
}

const h = (hh: number, mm = 0) => hh * HOUR + mm * 60;

describe('hand-computed cases', () => {
  const f = window(3, DEFAULT_TYPES);

  it('radius_of_gyration: events at (0, 0) and (0, 1) -> half the distance between them, about 55.6 km', () => {
    const p = new MetricPipeline(tiny([ev(0, 0, 10, { cell: 0 }), ev(0, 0, 20, { cell: 1 })], [[0, 0], [0, 1]]), 1);
    const rog = p.gyration(f).values.get(0)!;
    expect(rog).toBeCloseTo(haversineKm(0, 0, 0, 1) / 2, 9);
    expect(rog).toBeCloseTo((EARTH_RADIUS_KM * Math.PI) / 360, 9);
    expect(rog).toBeCloseTo(55.5975, 4);
  });

  it('radius_of_gyration: one event -> 0; the same cell every time -> 0 up to rounding; a sub with only dropped events is absent', () => {
    const p = new MetricPipeline(tiny([
      ev(0, 0, 10, { cell: 2 }),
      ev(1, 0, 10, { cell: 3 }), ev(1, 1, 10, { cell: 3 }), ev(1, 2, 10, { cell: 3 }),
      ev(2, 0, 10, { cell: 11 }), ev(2, 0, 20, { cell: NULL_U32 }), ev(2, 0, 30, { cell: 5 }), // 5 has no coordinates
    ], [[0, 0], [0, 1], [12.3, 45.6], [0.1, 0.1], [0, 0]]), 1);
    const got = p.gyration(f);
    expect([...got.values.keys()].sort()).toEqual([0, 1]);
    expect(got.values.get(0)).toBe(0);
    // (0.1 + 0.1 + 0.1) / 3 is not 0.1 in doubles: picometres from the centroid.
    expect(got.values.get(1)).toBeLessThan(1e-9);
    expect(got.drops).toEqual({ noCell: 1, unknown: 2, outside: 0 }); // cells 11 and 5 have no coordinates
  });

  it('event_count by direction; a subscriber with no qualifying event stays NaN in the vector', () => {
    const p = new MetricPipeline(tiny([
      ev(0, 0, 10), ev(0, 0, 20, { kind: TYPE_SMS | IN }), ev(0, 1, 30, { kind: TYPE_CALLS | IN }), ev(0, 1, 40, { kind: TYPE_CALLS }),
      ev(1, 0, 10, { kind: TYPE_MDS | OUT }),
    ]), 1);
    expect(sorted(p.eventCount(f))).toEqual([[0, 4]]);
    expect(sorted(p.eventCount({ ...f, directions: [DIR_OUT] }))).toEqual([[0, 1]]);
    expect(sorted(p.eventCount({ ...f, directions: [DIR_IN] }))).toEqual([[0, 2]]);
    const { vecs } = p.perPartition((_, n, out) => {
      const state = p.zeros(mk.eventCountBytes(k, n));
      for (const d of p.days) mk.countEvents(k, range(d, 0), kernelFilter(f), 0xf, n, state);
      mk.finishEventCount(k, state, n, out);
    });
    expect(Number.isNaN(heap.f64(vecs[0], 2)[1])).toBe(true);
  });

  it('nocturnal_events: 21:00, 03:59 and 04:00, 12:00 with night 20-4 -> 50; night 4-20 taken literally -> 100', () => {
    const p = new MetricPipeline(tiny([ev(0, 0, h(21)), ev(0, 0, h(3, 59)), ev(0, 1, h(4)), ev(0, 1, h(12))]), 1);
    expect(sorted(p.nocturnal(f, { start: 20, end: 4 }))).toEqual([[0, 50]]);
    expect(sorted(p.nocturnal(f, { start: 4, end: 20 }))).toEqual([[0, 100]]);
    expect(sorted(p.nocturnal(f, { start: 22, end: 0 }))).toEqual([[0, 0]]);
    const third = new MetricPipeline(tiny([ev(0, 0, h(23)), ev(0, 0, h(10)), ev(0, 0, h(11))]), 1);
    expect(third.nocturnal(f, { start: 20, end: 4 }).get(0)).toBeCloseTo(100 / 3, 12);
  });

  it('unique_location_counts: locations 1, 2, 1 and a dropped event -> 2', () => {
    const p = new MetricPipeline(tiny([ev(0, 0, 10, { cell: 1 }), ev(0, 0, 20, { cell: 2 }), ev(0, 1, 10, { cell: 1 }), ev(0, 1, 20, { cell: 10 })]), 1);
    const got = p.uniqueLocations(f);
    expect(sorted(got.values)).toEqual([[0, 2]]);
    expect(got.drops).toEqual({ noCell: 0, unknown: 1, outside: 0 });
  });

  it('subscriber_degree: counterparts 5, 6, 5, self, none -> 2; in only -> 1', () => {
    const p = new MetricPipeline(tiny([
      ev(0, 0, 10, { peer: 5 }), ev(0, 0, 20, { peer: 6, kind: TYPE_SMS | IN }), ev(0, 0, 30, { peer: 5 }),
      ev(0, 0, 40, { peer: 0 }), ev(0, 0, 50, { peer: NULL_U32 }),
      ev(1, 0, 10, { peer: 1 }), // only a self-call: absent
    ]), 1);
    expect(sorted(p.degree(f))).toEqual([[0, 2]]);
    expect(sorted(p.degree({ ...f, directions: [DIR_IN] }))).toEqual([[0, 1]]);
  });

  it('pareto_interactions: events 5, 3, 1, 1 -> 2 of 4 contacts reach 8 = ceil(0.8 x 10)', () => {
    const peers = [1, 1, 1, 1, 1, 2, 2, 2, 3, 4];
    const p = new MetricPipeline(tiny(peers.map((peer, i) => ev(0, 0, 10 * i, { peer }))), 1);
    expect(sorted(p.pareto(f, 0.8))).toEqual([[0, 0.5]]);
    expect(sorted(p.pareto(f, 0.81))).toEqual([[0, 0.75]]); // ceil(8.1) = 9
    expect(sorted(p.pareto(f, 1))).toEqual([[0, 1]]);
    expect(sorted(p.pareto(f, 0))).toEqual([[0, 0.25]]); // at least one contact
  });

  it('pareto_interactions: ceil(0.28 x 25) is 7, not 8 as 0.28 * 25 = 7.000000000000001 would give', () => {
    expect(0.28 * 25).toBeGreaterThan(7);
    expect(exactCeilTimes(0.28, 25)).toBe(7);
    expect(mk.proportionFraction(0.28)).toEqual({ numerator: 28, denominator: 100 });
    // 7 events with one contact, then 18 contacts with one event each: 7 events take 1 contact of 19.
    const peers = [...Array<number>(7).fill(1), ...Array.from({ length: 18 }, (_, i) => 2 + i)];
    const p = new MetricPipeline(tiny(peers.map((peer, i) => ev(0, 0, 10 * i, { peer }))), 1);
    expect(sorted(p.pareto(f, 0.28))).toEqual([[0, 1 / 19]]);
  });

  it('pareto_interactions counts self-calls as a contact (FlowKit keeps them); degree does not', () => {
    const p = new MetricPipeline(tiny([ev(0, 0, 10, { peer: 0 }), ev(0, 0, 20, { peer: 0 }), ev(0, 0, 30, { peer: 3 })]), 1);
    expect(sorted(p.pareto(f, 0.5))).toEqual([[0, 0.5]]);
    expect(sorted(p.degree(f))).toEqual([[0, 1]]);
  });

  it('total_active_periods: hours 00:10, 00:50, 02:00 and 05:30 in 4 one-hour periods -> 2', () => {
    const p = new MetricPipeline(tiny([ev(0, 0, h(0, 10)), ev(0, 0, h(0, 50)), ev(0, 0, h(2)), ev(0, 0, h(5, 30)), ev(1, 0, h(7))]), 1);
    expect(sorted(p.activePeriods(f, DAY0, HOUR, 4))).toEqual([[0, 2]]);
    expect(sorted(p.activePeriods(f, DAY0, HOUR, 8))).toEqual([[0, 3], [1, 1]]);
  });

  it('topup_amount: 5, 5, 10, 20 (and a top-up without an amount)', () => {
    const topup = (second: number, recharge: number) => ev(0, 0, second, { kind: TYPE_TOPUPS, recharge });
    const p = new MetricPipeline(tiny([topup(10, 5), topup(20, 20), topup(30, NaN), topup(40, 5), topup(50, 10)]), 1);
    const expected: Record<Statistic, number> = {
      count: 4, sum: 40, avg: 10, max: 20, min: 5, median: 7.5, mode: 5, variance: 50, stddev: Math.sqrt(50),
    };
    for (const statistic of STATISTICS) {
      expect(p.topup(window(1, [TYPE_TOPUPS]), statistic).get(0)).toBeCloseTo(expected[statistic], 12);
    }
  });

  it('displacement from (0, 0): events at (0, 1), (0, 0), (1, 0) -> max one degree of arc, min 0', () => {
    const p = new MetricPipeline(tiny([ev(0, 0, 10, { cell: 1 }), ev(0, 0, 20, { cell: 0 }), ev(0, 0, 30, { cell: 2 }), ev(1, 0, 10, { cell: 1 })], [[0, 0], [0, 1], [1, 0]]), 1);
    const home = new Map([[0, { lon: 0, lat: 0 }]]); // subscriber 1 has no reference location: absent
    const degree = (EARTH_RADIUS_KM * Math.PI) / 180;
    expect(p.displacement(f, home, 'max').values.get(0)).toBeCloseTo(degree, 9);
    expect(p.displacement(f, home, 'min').values.get(0)).toBe(0);
    expect(p.displacement(f, home, 'avg').values.get(0)).toBeCloseTo((2 * degree) / 3, 9);
    expect(p.displacement(f, home, 'mode').values.get(0)).toBeCloseTo(degree, 9); // two equal distances
    expect([...p.displacement(f, home, 'count').values]).toEqual([[0, 3]]);
  });
});

describe('group statistics', () => {
  /** Runs every statistic over explicit pairs, one group per location. */
  function stats(groups: number[], values: number[], nGroups: number): Record<Statistic, number[]> {
    const pairs = { n: groups.length, group: heap.put(Int32Array.from(groups)), value: heap.put(Float64Array.from(values)) };
    const out = {} as Record<Statistic, number[]>;
    for (const statistic of STATISTICS) {
      const vec = heap.alloc(8 * nGroups);
      heap.f64(vec, nGroups).fill(NaN);
      mk.groupStatistic(k, heap, pairs, nGroups, statistic, vec);
      out[statistic] = [...heap.f64(vec, nGroups)];
    }
    return out;
  }

  it('every statistic code names the statistic it computes: 1, 2, 6, 10, 10, 13', () => {
    const got = stats([0, 0, 0, 0, 0, 0], [10, 1, 13, 6, 2, 10], 1);
    const want: Record<Statistic, number> = {
      count: 6, sum: 42, avg: 7, max: 13, min: 1, median: 8, mode: 10, variance: 23.2, stddev: Math.sqrt(23.2),
    };
    for (const statistic of STATISTICS) {
      expect(got[statistic][0]).toBeCloseTo(want[statistic], 12);
      expect(got[statistic][0]).toBeCloseTo(refStatistic([10, 1, 13, 6, 2, 10], statistic), 12);
    }
  });

  it('one value: variance and stddev NaN, the rest defined; equal values: variance exactly 0; empty group untouched; no group or NaN skipped', () => {
    const got = stats([0, 1, 1, 1, -1, 2, 0], [4.5, 0.1, 0.1, 0.1, 99, NaN, NaN], 3);
    expect(got.variance[0]).toBeNaN();
    expect(got.stddev[0]).toBeNaN();
    expect([got.count[0], got.median[0], got.mode[0], got.avg[0]]).toEqual([1, 4.5, 4.5, 4.5]);
    expect(got.variance[1]).toBe(0);
    expect(got.mode[1]).toBe(0.1);
    for (const statistic of STATISTICS) expect(got[statistic][2]).toBeNaN();
  });

  it('mode ties go to the smallest value; median of an even count is the mean of the middle two', () => {
    const got = stats([0, 0, 0, 0, 1, 1, 1, 1], [3, 1, 3, 1, 8, 2, 4, 100], 2);
    expect(got.mode).toEqual([1, 2]);
    expect(got.median).toEqual([2, 6]);
  });

  it('sorting: long runs of ties, descending, already sorted and random groups agree with a plain sort', () => {
    const r = rng(5);
    const n = 20000;
    for (const make of [(i: number) => i % 3, (i: number) => n - i, (i: number) => i, () => Math.floor(r() * 1e6) / 7]) {
      const values = Array.from({ length: n }, (_, i) => make(i));
      const groups = values.map((_, i) => i % 4);
      const pairs = { n, group: heap.put(Int32Array.from(groups)), value: heap.put(Float64Array.from(values)) };
      const offsets = heap.alloc(mk.groupOffsetsBytes(k, 4));
      const sortedPtr = heap.alloc(8 * n);
      mk.groupOrder(k, pairs, 4, offsets, sortedPtr);
      const off = [...heap.u32(offsets, 5)];
      const all = [...heap.f64(sortedPtr, n)];
      for (let g = 0; g < 4; g++) {
        expect(all.slice(off[g], off[g + 1])).toEqual(values.filter((_, i) => groups[i] === g).sort((a, b) => a - b));
      }
    }
  });

  it('histogram: [) bins, the last closed, outside and NaN not counted', () => {
    const values = heap.put(Float64Array.of(0, 0.5, 1, 1.5, 2, 2, -0.1, 2.1, NaN));
    const edges = heap.put(Float64Array.of(0, 1, 2));
    const out = heap.alloc(8);
    heap.fill(out, 8);
    mk.histogram(k, 9, values, edges, 2, out);
    expect([...heap.u32(out, 2)]).toEqual([2, 4]);
    expect(refHistogram([0, 0.5, 1, 1.5, 2, 2, -0.1, 2.1, NaN], [0, 1, 2])).toEqual([2, 4]);
  });
});

describe('errors become KernelErrors', () => {

  it('a subscriber beyond nSubs, in every per-row kernel', () => {
    const p = new MetricPipeline(tiny([ev(0, 0, 10, { peer: 2, kind: TYPE_TOPUPS, recharge: 5 }), ev(1, 0, 20)], [[0, 0]]), 1);
    const d = p.days[0];
    const cols = p.columns(d, 0);
    const kf = kernelFilter(window(1, ALL_TYPES));
    const state = p.zeros(64);
    const out = { sub: heap.alloc(16), value: heap.alloc(16) };
    const ref = { lon: heap.put(Float64Array.of(0)), lat: heap.put(Float64Array.of(0)) };
    expect(kernelErrorCode(() => mk.countEvents(k, cols, kf, 0xf, 1, state))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.countNocturnal(k, cols, kf, 0xf, 0, 1, state))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.countActivePeriods(k, cols, kf, 60, 1, state))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.gyrationSums(k, cols, d.coords, kf, 1, p.zeros(80), newDrops(heap)))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.displacementValues(k, cols, d.coords, kf, ref, 1, out, newDrops(heap)))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.topupValues(k, cols, kf, 0, out))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.countPerSub(k, 2, cols.sub, 1, p.nans(1)))).toBe('BAD_ARGUMENT');
    const table = new mk.ContactTable(k, heap, 8);
    expect(kernelErrorCode(() => table.count({ ...cols, n: 1 }, kf, 0xf, true, p.globalOf[0], 0))).toBe('BAD_ARGUMENT');
  });

  it('rows out of time order for total_active_periods; gyration passes out of order; a bad statistic; bad histogram edges', () => {
    const p = new MetricPipeline(tiny([ev(0, 0, 10), ev(0, 1, 10)], [[0, 0]]), 1);
    const kf = kernelFilter(window(2, ALL_TYPES));
    const state = p.zeros(mk.activePeriodsBytes(k, 1));
    mk.countActivePeriods(k, range(p.days[1], 0), kf, 60, 1, state);
    expect(kernelErrorCode(() => mk.countActivePeriods(k, range(p.days[0], 0), kf, 60, 1, state))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.countActivePeriods(k, range(p.days[0], 0), kf, 0, 1, p.zeros(8)))).toBe('BAD_ARGUMENT');

    const gy = p.zeros(mk.gyrationBytes(k, 1));
    mk.gyrationSums(k, range(p.days[0], 0), p.days[0].coords, kf, 1, gy, newDrops(heap));
    expect(kernelErrorCode(() => mk.gyrationSpread(k, range(p.days[0], 0), p.days[0].coords, kf, 1, gy))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.finishGyration(k, gy, 1, p.nans(1)))).toBe('BAD_ARGUMENT');
    mk.gyrationCentroids(k, gy, 1);
    expect(kernelErrorCode(() => mk.gyrationCentroids(k, gy, 1))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.gyrationSums(k, range(p.days[0], 0), p.days[0].coords, kf, 1, gy, newDrops(heap)))).toBe('BAD_ARGUMENT');

    const g = p.zeros(mk.groupStatsBytes(k, 1));
    expect(kernelErrorCode(() => mk.groupFinish(k, g, 1, 'median', p.nans(1)))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.groupFinishOrdered(k, p.zeros(8), p.zeros(8), 1, 'avg', p.nans(1)))).toBe('BAD_ARGUMENT');
    const pairs = { n: 1, group: heap.put(Int32Array.of(3)), value: heap.put(Float64Array.of(1)) };
    expect(kernelErrorCode(() => mk.groupSums(k, pairs, 3, g))).toBe('BAD_ARGUMENT');
    expect(kernelErrorCode(() => mk.groupSpread(k, { ...pairs, group: heap.put(Int32Array.of(0)) }, 1, p.zeros(40)))).toBe('BAD_ARGUMENT'); // pass 2 before pass 1

    const values = heap.put(Float64Array.of(1));
    for (const edges of [[0, 1, 1], [1, 0], [0, Infinity], [0, NaN]]) {
      expect(kernelErrorCode(() => mk.histogram(k, 1, values, heap.put(Float64Array.from(edges)), edges.length - 1, p.zeros(16)))).toBe('BAD_ARGUMENT');
    }
    expect(kernelErrorCode(() => mk.histogram(k, 1, values, heap.put(Float64Array.of(0)), 0, p.zeros(16)))).toBe('BAD_ARGUMENT');
    expect(() => mk.proportionFraction(1.5)).toThrow(RangeError);
    expect(() => mk.nightMaskOf(20, 25)).toThrow(RangeError);
  });
});
