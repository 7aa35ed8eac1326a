/**
 * Kernel benchmarks: each kernel family through its typed wrapper against the
 * plain-TS reference of its semantics (test/reference/*.ts), as one
 * benchmark.js Suite per family. Prints a table and writes bench/KERNELS.md
 * with the machine's description.
 *
 *   npm run build && node dist/bench/kernels.js [--rows N] [--filter NAME]
 *
 * The WASM case runs on the whole synthetic dataset (bench/data.ts), on this
 * thread, driven per (partition, day) range as the engine's partition tasks
 * drive it. The reference builds JS objects, so it runs on a subsample (the
 * first subscribers and their whole histories, about --ref-rows rows): both
 * rates are per unit (per event, unless the family says otherwise), and the
 * ratio compares those. Before timing a family, its WASM output on the
 * subsample is checked against the reference's (counts exactly, floats to 1e-9
 * relative); a family that disagrees is not timed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { Command } from 'commander';
import { SECONDS_PER_DAY, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../kernels/shared/constants.js';
import { Heap, type Ptr } from '../server/wasm/memory.js';
import * as mk from '../server/engine/metric-kernels.js';
import * as od from '../server/engine/od-kernels.js';
import {
  refEventCount, refHistogram, refJoinedAggregate, refNocturnalEvents, refParetoInteractions, refRadiusOfGyration, refSubscriberDegree,
  refTopupAmount, refTotalActivePeriods,
} from '../test/reference/metrics.js';
import {
  refActiveAtReferenceCounts, refCellsByPeriod, refConsecutiveTripsOD, refEventsAndSubscribersByBucket, refTripsOD, refUnmovingAtReferenceCounts,
  refUnmovingCounts,
} from '../test/reference/od.js';
import {
  type RefDrops, type RefFilter, refFlows, refLastLocation, refLocationEventCounts, refModalLocation, refMostCommon, refPartition, refSpatialAggregate,
  refVisitedMostDays,
} from '../test/reference/events.js';
import { ALL_HOURS, DROP_BYTES, type KernelFilter, type Kernels, LocationTable, instantiate, typeMaskOf } from '../server/engine/wasm.js';
import { loadKernelModule } from '../server/wasm/module.js';
import { FIRST_DAY, HeapSet, subsample, synthesise } from './data.js';
import { sectionsAfter } from './sections.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const o = new Command('kernels')
  .description('benchmark.js suites: each kernel family (WASM) against its plain-TS reference')
  .option('--rows <n>', 'events in the synthetic dataset', (v) => Number(v), 2_000_000)
  .option('--days <n>', 'days', (v) => Number(v), 7)
  .option('--subscribers <n>', 'subscribers (default: rows / 10)', (v) => Number(v))
  .option('--cells <n>', 'cells', (v) => Number(v), 5000)
  .option('--locations <n>', 'locations (regions of the unit)', (v) => Number(v), 200)
  .option('--parts <n>', 'subscriber partitions, as the engine (1..256)', (v) => Number(v), 16)
  .option('--ref-rows <n>', 'about how many events the reference runs on', (v) => Number(v), 200_000)
  .option('--seed <s>', 'dataset seed', 'opalite-kernels')
  .option('--filter <name>', 'only families whose name contains this (case-insensitive)')
  .option('--max-time <s>', "benchmark.js maxTime per case, seconds", (v) => Number(v), 1)
  .option('--min-samples <n>', 'benchmark.js minSamples per case', (v) => Number(v), 5)
  .option('--wasm <file>', 'the kernel module to measure (default: the built one); KERNELS.md is left as it was')
  .parse(process.argv)
  .opts<{
    rows: number; days: number; subscribers?: number; cells: number; locations: number; parts: number; refRows: number; seed: string;
    filter?: string; maxTime: number; minSamples: number; wasm?: string;
  }>();

const nSubs = o.subscribers ?? Math.max(100, Math.round(o.rows / 10));
const DAY0 = FIRST_DAY * SECONDS_PER_DAY;
const HOUR = 3600;
const ALL_TYPES = [TYPE_CALLS, TYPE_SMS, TYPE_MDS, TYPE_TOPUPS];
/** Every event of the window: all types, all hours, both directions. */
const RF: RefFilter = { types: ALL_TYPES, start: DAY0, end: DAY0 + o.days * SECONDS_PER_DAY };
const KF: KernelFilter = { typeMask: typeMaskOf(RF.types), tStart: RF.start, tEnd: RF.end, hourMask: ALL_HOURS };
const RF_TOPUPS: RefFilter = { ...RF, types: [TYPE_TOPUPS] };
const KF_TOPUPS: KernelFilter = { ...KF, typeMask: typeMaskOf(RF_TOPUPS.types) };
const DIRS = 0xf;
const HOURS = o.days * 24;
const NIGHT = { start: 20, end: 4 };
const BINS = 20;

// ---------------------------------------------------------------------------
// Cases and results

/** What a case produced, in a form both sides share: maps keyed by global subscriber, location or `${a},${b}`, or arrays. */
type Comparable = Record<string, ReadonlyMap<number | string, number> | ArrayLike<number>>;

interface Case {
  /** One timed run over the whole set. */
  run(): void;
  /** The last run's output (runs once if it never ran). */
  read(): Comparable;
  release(): void;
}

interface Family {
  name: string;
  /** What both rates count. */
  unit: string;
  /** Compare values to 1e-9 relative rather than exactly. */
  float?: boolean;
  /** What one run does, for KERNELS.md. */
  what: string;
  /** Units one run processes over a set. */
  units(set: HeapSet): number;
  wasm(set: HeapSet): Case;
  ref(set: HeapSet): Case;
}

/** Scratch in the heap for one case, all released together. */
class Scope {
  private readonly ptrs: Ptr[] = [];
  constructor(readonly heap: Heap) {}
  alloc(bytes: number): Ptr {
    const ptr = this.heap.alloc(Math.max(bytes, 16));
    this.ptrs.push(ptr);
    return ptr;
  }
  release(): void {
    for (const ptr of this.ptrs.splice(0).reverse()) this.heap.release(ptr);
  }
}

/** A reference case: `compute` is timed; `shape` turns its last output into a Comparable. */
function refCase<T>(compute: () => T, shape: (t: T) => Comparable): Case {
  let last: T | undefined;
  return {
    run: () => void (last = compute()),
    read: () => shape(last === undefined ? (last = compute()) : last),
    release: () => undefined,
  };
}

/** A WASM case over scratch `s`; `read` shapes what the last run left in the heap. */
function wasmCase(s: Scope, run: () => void, read: () => Comparable): Case {
  let ran = false;
  return {
    run: () => {
      run();
      ran = true;
    },
    read: () => {
      if (!ran) run();
      ran = true;
      return read();
    },
    release: () => s.release(),
  };
}

const perPart = <T>(set: HeapSet, fn: (p: number, n: number) => T): T[] => Array.from({ length: set.nParts }, (_, p) => fn(p, set.nLocal(p)));

/** Location vectors (i32 per local sub, -1 none) -> global sub -> location. */
function locMap(set: HeapSet, vecs: Ptr[]): Map<number, number> {
  const out = new Map<number, number>();
  set.parts.globalOf.forEach((globals, p) => {
    const v = set.heap.i32(vecs[p]!, globals.length);
    globals.forEach((g, local) => v[local]! >= 0 && out.set(g, v[local]!));
  });
  return out;
}

/** Metric vectors (f64 per local sub, NaN none) -> global sub -> value. */
function valueMap(set: HeapSet, vecs: Ptr[]): Map<number, number> {
  const out = new Map<number, number>();
  set.parts.globalOf.forEach((globals, p) => {
    const v = set.heap.f64(vecs[p]!, globals.length);
    globals.forEach((g, local) => Number.isNaN(v[local]!) || out.set(g, v[local]!));
  });
  return out;
}

/** Non-zero entries of a u32 vector. */
function countMap(heap: Heap, ptr: Ptr, n: number): Map<number, number> {
  const out = new Map<number, number>();
  heap.u32(ptr, n).forEach((c, i) => c && out.set(i, c));
  return out;
}

/** Non-zero cells of a u32 matrix as `${row},${column}`. */
function matrixMap(heap: Heap, ptr: Ptr, rows: number, columns: number): Map<string, number> {
  const out = new Map<string, number>();
  heap.u32(ptr, rows * columns).forEach((c, i) => c && out.set(`${Math.floor(i / columns)},${i % columns}`, c));
  return out;
}

/** Non-NaN entries of an f64 vector. */
function f64Map(heap: Heap, ptr: Ptr, n: number): Map<number, number> {
  const out = new Map<number, number>();
  heap.f64(ptr, n).forEach((v, i) => Number.isNaN(v) || out.set(i, v));
  return out;
}

function kernelDrops(heap: Heap, ptr: Ptr): Map<string, number> {
  const d = heap.u32(ptr, 4);
  return new Map([['noCell', d[1]!], ['unknown', d[2]!], ['outside', d[3]!]]);
}

function refDrops(d: RefDrops): Map<string, number> {
  return new Map([['noCell', d.noCell], ['unknown', d.unknown], ['outside', d.outside]]);
}

/** The engine's starting table size (engine/run/run.ts initialCapacity): tables double from there. */
function initialCapacity(n: number): number {
  let cap = 1024;
  while (cap < n * 2 && cap < 1 << 24) cap *= 2;
  return cap;
}

/** The first difference between two results, or null when they agree. */
function compare(got: Comparable, want: Comparable, float: boolean): string | null {
  const same = (x: number, y: number) =>
    x === y || (Number.isNaN(x) && Number.isNaN(y)) || (float && Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y)));
  for (const key of new Set([...Object.keys(got), ...Object.keys(want)])) {
    const g = got[key];
    const w = want[key];
    if (g === undefined || w === undefined) return `${key}: present on one side only`;
    if (g instanceof Map && w instanceof Map) {
      const keys = new Set([...g.keys(), ...w.keys()]);
      const bad: string[] = [];
      for (const k of keys) {
        const x = g.get(k);
        const y = w.get(k);
        if (x === undefined || y === undefined || !same(x, y)) bad.push(`[${k}] WASM ${x ?? 'absent'}, reference ${y ?? 'absent'}`);
      }
      if (bad.length) return `${key}: ${bad.length} of ${keys.size} entries differ, e.g. ${bad.slice(0, 3).join('; ')}`;
    } else if (!(g instanceof Map) && !(w instanceof Map)) {
      const a = g as ArrayLike<number>;
      const b = w as ArrayLike<number>;
      if (a.length !== b.length) return `${key}: WASM has ${a.length} values, reference ${b.length}`;
      for (let i = 0; i < a.length; i++) {
        if (!same(a[i]!, b[i]!)) return `${key}: first difference at ${i}, WASM ${a[i]}, reference ${b[i]}`;
      }
    } else return `${key}: a map on one side, an array on the other`;
  }
  return null;
}

// ---------------------------------------------------------------------------
// WASM steps shared by several families, kept per set for its lifetime

const kept = new WeakMap<HeapSet, Map<string, unknown>>();
function keep<T>(set: HeapSet, key: string, build: () => T): T {
  let m = kept.get(set);
  if (!m) kept.set(set, (m = new Map()));
  if (!m.has(key)) m.set(key, build());
  return m.get(key) as T;
}

/** lastLocation per (partition, day) of `days` into -1-filled vectors. */
function lastCase(set: HeapSet, f: KernelFilter = KF, days = set.days): Case & { vecs: Ptr[] } {
  const { k, heap } = set;
  const s = new Scope(heap);
  const vecs = perPart(set, (_, n) => s.alloc(4 * n));
  const drops = s.alloc(DROP_BYTES);
  const c = wasmCase(
    s,
    () => {
      heap.fill(drops, DROP_BYTES);
      perPart(set, (p, n) => {
        heap.fill(vecs[p]!, 4 * n, 0xff);
        for (const d of days) k.lastLocation(set.range(d, p), d.loc, f, n, vecs[p]!, drops);
      });
    },
    () => ({ locations: locMap(set, vecs), drops: kernelDrops(heap, drops) }),
  );
  return { ...c, vecs };
}

/** A LocationTable per partition over every day, then pickMostCommon or pickMostDays. */
function pickCase(set: HeapSet, method: 'most-common' | 'most-days'): Case & { vecs: Ptr[] } {
  const { k, heap } = set;
  const s = new Scope(heap);
  const vecs = perPart(set, (_, n) => s.alloc(4 * n));
  const drops = s.alloc(DROP_BYTES);
  const c = wasmCase(
    s,
    () => {
      heap.fill(drops, DROP_BYTES);
      perPart(set, (p, n) => {
        const table = new LocationTable(k, heap, initialCapacity(n));
        let seq = 0;
        for (const d of set.days) {
          const ev = set.range(d, p);
          table.count(ev, d.loc, KF, n, seq, drops);
          seq += ev.n;
        }
        heap.fill(vecs[p]!, 4 * n, 0xff);
        if (method === 'most-common') table.pickMostCommon(n, vecs[p]!);
        else table.pickMostDays(n, vecs[p]!);
        table.release();
      });
    },
    () => ({ locations: locMap(set, vecs), drops: kernelDrops(heap, drops) }),
  );
  return { ...c, vecs };
}

/** Each day's last locations (that day's window only): vectors [day][partition]. */
function dailyLast(set: HeapSet): Ptr[][] {
  return keep(set, 'daily-last', () =>
    set.days.map((d) => {
      const start = d.day * SECONDS_PER_DAY;
      const c = lastCase(set, { ...KF, tStart: start, tEnd: start + SECONDS_PER_DAY }, [d]);
      c.run();
      return c.vecs;
    }),
  );
}
const dailyLastMaps = (set: HeapSet) => keep(set, 'daily-last-maps', () => dailyLast(set).map((vecs) => locMap(set, vecs)));

function mostCommon(set: HeapSet): Ptr[] {
  return keep(set, 'most-common', () => {
    const c = pickCase(set, 'most-common');
    c.run();
    return c.vecs;
  });
}
const mostCommonMap = (set: HeapSet) => keep(set, 'most-common-map', () => locMap(set, mostCommon(set)));

/** A per-subscriber f64 metric: state zeroed and out NaN-filled per partition, then `fill`. */
function metricCase(
  set: HeapSet, stateBytes: (n: number) => number, fill: (p: number, n: number, state: Ptr, out: Ptr, drops: Ptr) => void,
): Case & { vecs: Ptr[] } {
  const { heap } = set;
  const s = new Scope(heap);
  const vecs = perPart(set, (_, n) => s.alloc(8 * n));
  const states = perPart(set, (_, n) => s.alloc(stateBytes(n)));
  const drops = s.alloc(DROP_BYTES);
  const c = wasmCase(
    s,
    () => {
      heap.fill(drops, DROP_BYTES);
      perPart(set, (p, n) => {
        heap.fill(states[p]!, stateBytes(n));
        heap.f64(vecs[p]!, n).fill(NaN);
        fill(p, n, states[p]!, vecs[p]!, drops);
      });
    },
    () => ({ values: valueMap(set, vecs), drops: kernelDrops(heap, drops) }),
  );
  return { ...c, vecs };
}

function gyrationCase(set: HeapSet): Case & { vecs: Ptr[] } {
  const k = set.k;
  return metricCase(set, (n) => mk.gyrationBytes(k, n), (p, n, state, out, drops) => {
    for (const d of set.days) mk.gyrationSums(k, set.range(d, p), d.coords, KF, n, state, drops);
    mk.gyrationCentroids(k, state, n);
    for (const d of set.days) mk.gyrationSpread(k, set.range(d, p), d.coords, KF, n, state);
    mk.finishGyration(k, state, n, out);
  });
}

function gyration(set: HeapSet): Ptr[] {
  return keep(set, 'gyration', () => {
    const c = gyrationCase(set);
    c.run();
    return c.vecs;
  });
}
const gyrationMap = (set: HeapSet) => keep(set, 'gyration-map', () => valueMap(set, gyration(set)));

/** Each partition's distinct (sub, loc) keys over every day (LocationTable.keys), as the unique-set steps read them. */
function uniqueKeys(set: HeapSet): od.LocationKeys[] {
  return keep(set, 'unique-keys', () => {
    const drops = set.heap.alloc(DROP_BYTES);
    set.heap.fill(drops, DROP_BYTES);
    const keys = perPart(set, (p, n) => {
      const table = new LocationTable(set.k, set.heap, initialCapacity(n));
      let seq = 0;
      for (const d of set.days) {
        const ev = set.range(d, p);
        table.count(ev, d.loc, KF, n, seq, drops);
        seq += ev.n;
      }
      const sub = set.heap.alloc(4 * Math.max(table.size, 1));
      const loc = set.heap.alloc(4 * Math.max(table.size, 1));
      const count = table.keys(sub, loc);
      table.release();
      return { sub, loc, count };
    });
    set.heap.release(drops);
    return keys;
  });
}
function uniquePairs(set: HeapSet): [number, number][] {
  return keep(set, 'unique-pairs', () =>
    uniqueKeys(set).flatMap((keys, p) => {
      const sub = set.heap.u32(keys.sub, keys.count);
      const loc = set.heap.i32(keys.loc, keys.count);
      const globals = set.parts.globalOf[p]!;
      return Array.from({ length: keys.count }, (_, i): [number, number] => [globals[sub[i]!]!, loc[i]!]);
    }),
  );
}

/** All partitions' vectors concatenated into one array in the heap (as the engine merges partition outputs). */
function concatenated(set: HeapSet, vecs: Ptr[], bytesPer: number): Ptr {
  const ptr = set.heap.alloc(Math.max(bytesPer * set.nSubs, 16));
  let at = 0;
  perPart(set, (p, n) => {
    set.heap.u8(ptr + at, bytesPer * n).set(set.heap.u8(vecs[p]!, bytesPer * n));
    at += bytesPer * n;
  });
  return ptr;
}


function append(to: number[], from: ArrayLike<number>): void {
  for (let i = 0; i < from.length; i++) to.push(from[i]!);
}

const events = (set: HeapSet) => keep(set, 'ref-events', () => set.refEvents());
const rows = (set: HeapSet) => set.rows;

// ---------------------------------------------------------------------------
// Families

const FAMILIES: Family[] = [
  {
    name: 'load: partitionDay + gathers',
    unit: 'event',
    what: "per day: partitionDay of the raw sub and t columns, then localise (sub) and the gathers of t, cell (32-bit) and kind (8-bit), as loader.ts's loadDay; reference: refPartition, then the same columns gathered in JS",
    units: rows,
    wasm(set) {
      const { k, heap } = set;
      const s = new Scope(heap);
      const max = Math.max(...set.days.map((d) => d.n), 1);
      const hist = s.alloc(k.partitionHistogramBytes(set.nParts, max));
      const perm = s.alloc(4 * max);
      const offsets = s.alloc(4 * (set.nParts + 1));
      const out = { sub: s.alloc(4 * max), t: s.alloc(4 * max), cell: s.alloc(4 * max), kind: s.alloc(max) };
      const day = (i: number) => {
        const d = set.days[i]!;
        k.partitionDay({ n: d.n, sub: d.raw.sub, t: d.raw.t }, d.day * SECONDS_PER_DAY, { partOf: set.partOfPtr, nSubs: set.nSubs, nParts: set.nParts }, hist, perm, offsets);
        k.localise(d.raw.sub, perm, set.localOfPtr, out.sub, d.n);
        k.gather32(d.raw.t, perm, out.t, d.n);
        k.gather32(d.raw.cell, perm, out.cell, d.n);
        k.gather8(d.raw.kind, perm, out.kind, d.n);
      };
      return {
        run: () => set.days.forEach((_, i) => day(i)),
        read: () => {
          const got = { perm: [] as number[], offsets: [] as number[], sub: [] as number[], t: [] as number[], cell: [] as number[], kind: [] as number[] };
          set.days.forEach((d, i) => {
            day(i);
            append(got.perm, heap.u32(perm, d.n));
            append(got.offsets, heap.u32(offsets, set.nParts + 1));
            append(got.sub, heap.u32(out.sub, d.n));
            append(got.t, heap.u32(out.t, d.n));
            append(got.cell, heap.u32(out.cell, d.n));
            append(got.kind, heap.u8(out.kind, d.n));
          });
          return got;
        },
        release: () => s.release(),
      };
    },
    ref(set) {
      const { partOf, localOf, nParts } = set.parts;
      const byDay = keep(set, 'ref-events-by-day', () => set.refEventsByDay());
      return refCase(
        () =>
          byDay.map((rows) => {
            const { perm, offsets } = refPartition(rows, (s) => partOf[s]!, nParts);
            const sub = new Uint32Array(rows.length);
            const t = new Uint32Array(rows.length);
            const cell = new Uint32Array(rows.length);
            const kind = new Uint8Array(rows.length);
            perm.forEach((row, i) => {
              const e = rows[row]!;
              sub[i] = localOf[e.sub]!;
              t[i] = e.t;
              cell[i] = e.cell;
              kind[i] = e.kind;
            });
            return { perm, offsets, sub, t, cell, kind };
          }),
        (days) => ({
          perm: days.reduce((a, d) => (append(a, d.perm), a), [] as number[]),
          offsets: days.reduce((a, d) => (append(a, d.offsets), a), [] as number[]),
          sub: days.reduce((a, d) => (append(a, d.sub), a), [] as number[]),
          t: days.reduce((a, d) => (append(a, d.t), a), [] as number[]),
          cell: days.reduce((a, d) => (append(a, d.cell), a), [] as number[]),
          kind: days.reduce((a, d) => (append(a, d.kind), a), [] as number[]),
        }),
      );
    },
  },
  {
    name: 'lastLocation',
    unit: 'event',
    what: 'daily_location last over the whole window: lastLocation per (partition, day); reference: refLastLocation',
    units: rows,
    wasm: (set) => lastCase(set),
    ref: (set) => refCase(() => refLastLocation(events(set), RF, set.locator()), (r) => ({ locations: r.locations, drops: refDrops(r.drops) })),
  },
  {
    name: 'countLocations + pickMostCommon',
    unit: 'event',
    what: 'most_frequent_location: a LocationTable per partition (engine start size, doubling) over every day, then pickMostCommon; reference: refMostCommon',
    units: rows,
    wasm: (set) => pickCase(set, 'most-common'),
    ref: (set) => refCase(() => refMostCommon(events(set), RF, set.locator()), (r) => ({ locations: r.locations, drops: refDrops(r.drops) })),
  },
  {
    name: 'countLocations + pickMostDays',
    unit: 'event',
    what: 'visited_most_days: as most_frequent_location, picking with pickMostDays; reference: refVisitedMostDays',
    units: rows,
    wasm: (set) => pickCase(set, 'most-days'),
    ref: (set) => refCase(() => refVisitedMostDays(events(set), RF, set.locator()), (r) => ({ locations: r.locations, drops: refDrops(r.drops) })),
  },
  {
    name: 'modalLocation',
    unit: 'subscriber-day',
    what: "modal_location over each day's last locations (prepared, untimed): modalLocation per partition over the daily vectors; reference: test/reference/events.ts's refModalLocation over the daily maps",
    units: (set) => set.nSubs * set.days.length,
    wasm(set) {
      const { k, heap } = set;
      const daily = dailyLast(set);
      const s = new Scope(heap);
      const nIn = daily.length;
      const inputs = perPart(set, (p) => {
        const ptr = s.alloc(4 * nIn);
        heap.u32(ptr, nIn).set(daily.map((vecs) => vecs[p]!));
        return ptr;
      });
      const scratch = s.alloc(8 * nIn);
      const vecs = perPart(set, (_, n) => s.alloc(4 * n));
      return wasmCase(
        s,
        () => perPart(set, (p, n) => k.modalLocation(inputs[p]!, nIn, n, scratch, vecs[p]!)),
        () => ({ locations: locMap(set, vecs) }),
      );
    },
    ref(set) {
      const daily = dailyLastMaps(set);
      return refCase(() => refModalLocation(daily), (locations) => ({ locations }));
    },
  },
  {
    name: 'countByLocation',
    unit: 'subscriber',
    what: 'spatial_aggregate of the most-frequent locations (prepared): countByLocation per partition; reference: refSpatialAggregate',
    units: (set) => set.nSubs,
    wasm(set) {
      const { k, heap } = set;
      const vecs = mostCommon(set);
      const s = new Scope(heap);
      const out = s.alloc(4 * set.nLocs);
      return wasmCase(
        s,
        () => {
          heap.fill(out, 4 * set.nLocs);
          perPart(set, (p, n) => k.countByLocation(vecs[p]!, n, set.nLocs, out));
        },
        () => ({ counts: countMap(heap, out, set.nLocs) }),
      );
    },
    ref(set) {
      const locations = mostCommonMap(set);
      return refCase(() => refSpatialAggregate(locations), (counts) => ({ counts }));
    },
  },
  {
    name: 'countPairs',
    unit: 'subscriber',
    what: 'flows from the first to the last day\'s last locations (prepared): countPairs per partition into a locations x locations matrix; reference: refFlows',
    units: (set) => set.nSubs,
    wasm(set) {
      const { k, heap } = set;
      const daily = dailyLast(set);
      const from = daily[0]!;
      const to = daily[daily.length - 1]!;
      const s = new Scope(heap);
      const cells = set.nLocs * set.nLocs;
      const out = s.alloc(4 * cells);
      return wasmCase(
        s,
        () => {
          heap.fill(out, 4 * cells);
          perPart(set, (p, n) => k.countPairs(from[p]!, to[p]!, n, set.nLocs, set.nLocs, out));
        },
        () => ({ counts: matrixMap(heap, out, set.nLocs, set.nLocs) }),
      );
    },
    ref(set) {
      const daily = dailyLastMaps(set);
      return refCase(() => refFlows(daily[0]!, daily[daily.length - 1]!), (counts) => ({ counts }));
    },
  },
  {
    name: 'countEventsByBucket',
    unit: 'event',
    what: 'location_event_counts per hour: countEventsByBucket per (partition, day) into a locations x hours matrix; reference: refLocationEventCounts',
    units: rows,
    wasm(set) {
      const { k, heap } = set;
      const s = new Scope(heap);
      const buckets = { seconds: HOUR, base: DAY0, count: HOURS };
      const out = s.alloc(4 * set.nLocs * HOURS);
      const drops = s.alloc(DROP_BYTES);
      return wasmCase(
        s,
        () => {
          heap.fill(out, 4 * set.nLocs * HOURS);
          heap.fill(drops, DROP_BYTES);
          perPart(set, (p) => {
            for (const d of set.days) k.countEventsByBucket(set.range(d, p), d.loc, KF, DIRS, buckets, set.nLocs, out, drops);
          });
        },
        () => ({ counts: matrixMap(heap, out, set.nLocs, HOURS), drops: kernelDrops(heap, drops) }),
      );
    },
    ref: (set) =>
      refCase(() => refLocationEventCounts(events(set), RF, set.locator(), HOUR, DAY0), (r) => ({ counts: r.counts, drops: refDrops(r.drops) })),
  },
  {
    name: 'countEventsAndSubscribersByBucket',
    unit: 'event',
    what: 'location_event_counts per hour with distinct subscribers: a KeySet per partition over every day; reference: refEventsAndSubscribersByBucket',
    units: rows,
    wasm(set) {
      const { k, heap } = set;
      const s = new Scope(heap);
      const buckets = { seconds: HOUR, base: DAY0, count: HOURS };
      const outEvents = s.alloc(4 * set.nLocs * HOURS);
      const outSubs = s.alloc(4 * set.nLocs * HOURS);
      const drops = s.alloc(DROP_BYTES);
      return wasmCase(
        s,
        () => {
          heap.fill(outEvents, 4 * set.nLocs * HOURS);
          heap.fill(outSubs, 4 * set.nLocs * HOURS);
          heap.fill(drops, DROP_BYTES);
          perPart(set, (p, n) => {
            const keys = new od.KeySet(k, heap, initialCapacity(n));
            for (const d of set.days) keys.eventsAndSubscribers(set.range(d, p), d.loc, KF, DIRS, buckets, set.nLocs, n, outEvents, outSubs, drops);
            keys.release();
          });
        },
        () => ({
          events: matrixMap(heap, outEvents, set.nLocs, HOURS),
          subscribers: matrixMap(heap, outSubs, set.nLocs, HOURS),
          drops: kernelDrops(heap, drops),
        }),
      );
    },
    ref: (set) =>
      refCase(
        () => refEventsAndSubscribersByBucket(events(set), RF, set.locator(), HOUR, DAY0),
        (r) => ({ events: r.events, subscribers: r.subscribers, drops: refDrops(r.drops) }),
      ),
  },
  {
    name: 'countVisits + countTrips',
    unit: 'event',
    what: 'trips_od_matrix: a VisitTable per partition over every day, then countTrips; reference: refTripsOD',
    units: rows,
    wasm(set) {
      const { k, heap } = set;
      const s = new Scope(heap);
      const out = s.alloc(4 * set.nLocs * set.nLocs);
      const drops = s.alloc(DROP_BYTES);
      return wasmCase(
        s,
        () => {
          heap.fill(out, 4 * set.nLocs * set.nLocs);
          heap.fill(drops, DROP_BYTES);
          perPart(set, (p, n) => {
            const visits = new od.VisitTable(k, heap, initialCapacity(n));
            for (const d of set.days) visits.count(set.range(d, p), d.loc, KF, n, drops);
            visits.trips(n, set.nLocs, out);
            visits.release();
          });
        },
        () => ({ counts: matrixMap(heap, out, set.nLocs, set.nLocs), drops: kernelDrops(heap, drops) }),
      );
    },
    ref: (set) => refCase(() => refTripsOD(events(set), RF, set.locator()), (r) => ({ counts: r.counts, drops: refDrops(r.drops) })),
  },
  {
    name: 'consecutive pairs + trips',
    unit: 'event',
    what: 'consecutive_trips_od_matrix: countConsecutivePairs into a KeySet per partition (prevLoc across days), then countConsecutiveTrips; reference: refConsecutiveTripsOD',
    units: rows,
    wasm(set) {
      const { k, heap } = set;
      const s = new Scope(heap);
      const out = s.alloc(4 * set.nLocs * set.nLocs);
      const drops = s.alloc(DROP_BYTES);
      const prev = perPart(set, (_, n) => s.alloc(4 * n));
      return wasmCase(
        s,
        () => {
          heap.fill(out, 4 * set.nLocs * set.nLocs);
          heap.fill(drops, DROP_BYTES);
          perPart(set, (p, n) => {
            heap.fill(prev[p]!, 4 * n, 0xff);
            const keys = new od.KeySet(k, heap, initialCapacity(n));
            for (const d of set.days) keys.consecutivePairs(set.range(d, p), d.loc, KF, n, set.nLocs, prev[p]!, drops);
            keys.consecutiveTrips(set.nLocs, out);
            keys.release();
          });
        },
        () => ({ counts: matrixMap(heap, out, set.nLocs, set.nLocs), drops: kernelDrops(heap, drops) }),
      );
    },
    ref: (set) => refCase(() => refConsecutiveTripsOD(events(set), RF, set.locator()), (r) => ({ counts: r.counts, drops: refDrops(r.drops) })),
  },
  {
    name: 'unmoving + reference counts',
    unit: '(sub, loc) key',
    what: "unmovingCounts, unmovingAtReferenceCounts and activeAtReferenceCounts per partition over its unique (sub, loc) keys and the last day's last locations (both prepared); reference: the three ref*Counts over the same pairs",
    units: (set) => uniqueKeys(set).reduce((n, keys) => n + keys.count, 0),
    wasm(set) {
      const { k, heap } = set;
      const keys = uniqueKeys(set);
      const daily = dailyLast(set);
      const refVecs = daily[daily.length - 1]!;
      const s = new Scope(heap);
      const scratch = s.alloc(4 * Math.max(...set.parts.globalOf.map((g) => g.length), 1));
      const outs = [0, 1, 2].map(() => s.alloc(4 * set.nLocs));
      return wasmCase(
        s,
        () => {
          for (const out of outs) heap.fill(out, 4 * set.nLocs);
          perPart(set, (p, n) => {
            od.unmovingCounts(k, keys[p]!, n, set.nLocs, scratch, outs[0]!);
            od.unmovingAtReferenceCounts(k, keys[p]!, refVecs[p]!, n, set.nLocs, scratch, outs[1]!);
            od.activeAtReferenceCounts(k, keys[p]!, refVecs[p]!, n, set.nLocs, scratch, outs[2]!);
          });
        },
        () => ({
          unmoving: countMap(heap, outs[0]!, set.nLocs),
          unmovingAtReference: countMap(heap, outs[1]!, set.nLocs),
          activeAtReference: countMap(heap, outs[2]!, set.nLocs),
        }),
      );
    },
    ref(set) {
      const pairs = uniquePairs(set);
      const daily = dailyLastMaps(set);
      const reference = daily[daily.length - 1]!;
      return refCase(
        () => ({
          unmoving: refUnmovingCounts(pairs),
          unmovingAtReference: refUnmovingAtReferenceCounts(pairs, reference),
          activeAtReference: refActiveAtReferenceCounts(pairs, reference),
        }),
        (r) => r,
      );
    },
  },
  {
    name: 'markCellsByPeriod + countCellsByPeriod',
    unit: 'event',
    what: "total_network_objects per hour: per day, markCellsByPeriod per partition into its bitset, orBits into the day's, countCellsByPeriod through one KeySet; reference: refCellsByPeriod",
    units: rows,
    wasm(set) {
      const { k, heap } = set;
      const s = new Scope(heap);
      const bytes = od.cellBitsBytes(k, 24, set.ds.nCells);
      const bits = s.alloc(bytes);
      const merged = s.alloc(bytes);
      const out = s.alloc(4 * set.nLocs * HOURS);
      const drops = s.alloc(DROP_BYTES);
      return wasmCase(
        s,
        () => {
          heap.fill(out, 4 * set.nLocs * HOURS);
          heap.fill(drops, DROP_BYTES);
          const keys = new od.KeySet(k, heap, 1024);
          set.days.forEach((d, i) => {
            const start = d.day * SECONDS_PER_DAY;
            const day = { ...KF, tStart: Math.max(KF.tStart, start), tEnd: Math.min(KF.tEnd, start + SECONDS_PER_DAY) };
            const slots = { seconds: HOUR, base: start, count: 24 };
            heap.fill(merged, bytes);
            perPart(set, (p) => {
              heap.fill(bits, bytes);
              od.markCellsByPeriod(k, set.range(d, p), d.loc, day, slots, bits, drops);
              od.orBits(k, merged, bits, bytes);
            });
            keys.cells(merged, 24, d.loc, set.nLocs, { first: 24 * i, count: HOURS }, out);
          });
          keys.release();
        },
        () => ({ counts: matrixMap(heap, out, set.nLocs, HOURS), drops: kernelDrops(heap, drops) }),
      );
    },
    ref: (set) =>
      refCase(
        () => refCellsByPeriod(events(set), RF, set.locator(), (t) => Math.floor((t - DAY0) / HOUR)),
        (r) => ({ counts: r.counts, drops: refDrops(r.drops) }),
      ),
  },
  {
    name: 'radius of gyration',
    unit: 'event',
    float: true,
    what: 'gyrationSums over every day, gyrationCentroids, gyrationSpread over every day, finishGyration, per partition; reference: refRadiusOfGyration',
    units: rows,
    wasm: (set) => gyrationCase(set),
    ref: (set) => refCase(() => refRadiusOfGyration(events(set), RF, set.coordLocator()), (r) => ({ values: r.values, drops: refDrops(r.drops) })),
  },
  {
    name: 'event count',
    unit: 'event',
    what: 'countEvents per (partition, day), finishEventCount; reference: refEventCount',
    units: rows,
    wasm: (set) =>
      metricCase(set, (n) => mk.eventCountBytes(set.k, n), (p, n, state, out) => {
        for (const d of set.days) mk.countEvents(set.k, set.range(d, p), KF, DIRS, n, state);
        mk.finishEventCount(set.k, state, n, out);
      }),
    ref: (set) => refCase(() => refEventCount(events(set), RF), (values) => ({ values, drops: refDrops({ noCell: 0, unknown: 0, outside: 0 }) })),
  },
  {
    name: 'nocturnal events',
    unit: 'event',
    float: true,
    what: `countNocturnal (night ${NIGHT.start}-${NIGHT.end}) per (partition, day), finishNocturnal; reference: refNocturnalEvents`,
    units: rows,
    wasm(set) {
      const nightMask = mk.nightMaskOf(NIGHT.start, NIGHT.end);
      return metricCase(set, (n) => mk.nocturnalBytes(set.k, n), (p, n, state, out) => {
        for (const d of set.days) mk.countNocturnal(set.k, set.range(d, p), KF, DIRS, nightMask, n, state);
        mk.finishNocturnal(set.k, state, n, out);
      });
    },
    ref: (set) => refCase(() => refNocturnalEvents(events(set), RF, NIGHT), (values) => ({ values, drops: refDrops({ noCell: 0, unknown: 0, outside: 0 }) })),
  },
  {
    name: 'total active periods',
    unit: 'event',
    what: 'countActivePeriods (hourly periods over the window) per (partition, day), finishActivePeriods; reference: refTotalActivePeriods',
    units: rows,
    wasm: (set) =>
      metricCase(set, (n) => mk.activePeriodsBytes(set.k, n), (p, n, state, out) => {
        for (const d of set.days) mk.countActivePeriods(set.k, set.range(d, p), KF, HOUR, n, state);
        mk.finishActivePeriods(set.k, state, n, out);
      }),
    ref: (set) =>
      refCase(() => refTotalActivePeriods(events(set), RF, DAY0, HOUR, HOURS), (values) => ({ values, drops: refDrops({ noCell: 0, unknown: 0, outside: 0 }) })),
  },
  {
    name: 'subscriber degree (ContactTable)',
    unit: 'event',
    what: 'a ContactTable per partition (self excluded) over every day, then degree; reference: refSubscriberDegree',
    units: rows,
    wasm: (set) =>
      metricCase(set, () => 0, (p, n, _state, out) => {
        const contacts = new mk.ContactTable(set.k, set.heap, initialCapacity(n));
        for (const d of set.days) contacts.count(set.peerRange(d, p), KF, DIRS, true, set.globalOfPtr[p]!, n);
        contacts.degree(n, out);
        contacts.release();
      }),
    ref: (set) => refCase(() => refSubscriberDegree(events(set), RF), (values) => ({ values, drops: refDrops({ noCell: 0, unknown: 0, outside: 0 }) })),
  },
  {
    name: 'pareto interactions (ContactTable)',
    unit: 'event',
    float: true,
    what: 'a ContactTable per partition (self kept) over every day, then pareto(0.8); reference: refParetoInteractions',
    units: rows,
    wasm: (set) =>
      metricCase(set, () => 0, (p, n, _state, out) => {
        const contacts = new mk.ContactTable(set.k, set.heap, initialCapacity(n));
        for (const d of set.days) contacts.count(set.peerRange(d, p), KF, DIRS, false, set.globalOfPtr[p]!, n);
        contacts.pareto(n, 0.8, out);
        contacts.release();
      }),
    ref: (set) =>
      refCase(() => refParetoInteractions(events(set), RF, 0.8), (values) => ({ values, drops: refDrops({ noCell: 0, unknown: 0, outside: 0 }) })),
  },
  {
    name: 'topup values + groupStatistic avg',
    unit: 'event',
    float: true,
    what: "topup_amount avg: topupValues per (partition, day) into the partition's pairs, then groupStatistic avg by subscriber; reference: refTopupAmount",
    units: rows,
    wasm(set) {
      const k = set.k;
      const s = new Scope(set.heap);
      const pairs = perPart(set, (p) => ({ group: s.alloc(4 * set.partRows(p)), value: s.alloc(8 * set.partRows(p)) }));
      const c = metricCase(set, () => 0, (p, n, _state, out) => {
        const { group, value } = pairs[p]!;
        let m = 0;
        for (const d of set.days) m += mk.topupValues(k, set.rechargeRange(d, p), KF_TOPUPS, n, { sub: group + 4 * m, value: value + 8 * m });
        mk.groupStatistic(k, set.heap, { n: m, group, value }, n, 'avg', out);
      });
      return { ...c, release: () => (c.release(), s.release()) };
    },
    ref: (set) =>
      refCase(() => refTopupAmount(events(set), RF_TOPUPS, 'avg'), (values) => ({ values, drops: refDrops({ noCell: 0, unknown: 0, outside: 0 }) })),
  },
  ...(['avg', 'median'] as const).map(
    (statistic): Family => ({
      name: `groupStatistic ${statistic}`,
      unit: 'subscriber',
      float: true,
      what: `joined_spatial_aggregate ${statistic}: radius of gyration by most-frequent location (both prepared, partitions concatenated), one groupStatistic; reference: refJoinedAggregate`,
      units: (set) => set.nSubs,
      wasm(set) {
        const s = new Scope(set.heap);
        const group = concatenated(set, mostCommon(set), 4);
        const value = concatenated(set, gyration(set), 8);
        const out = s.alloc(8 * set.nLocs);
        return wasmCase(
          s,
          () => {
            set.heap.f64(out, set.nLocs).fill(NaN);
            mk.groupStatistic(set.k, set.heap, { n: set.nSubs, group, value }, set.nLocs, statistic, out);
          },
          () => ({ values: f64Map(set.heap, out, set.nLocs) }),
        );
      },
      ref(set) {
        const locations = mostCommonMap(set);
        const metric = gyrationMap(set);
        return refCase(() => refJoinedAggregate(locations, metric, statistic), (values) => ({ values }));
      },
    }),
  ),
  {
    name: 'histogram',
    unit: 'subscriber',
    what: `histogram_aggregate of radius of gyration (prepared, partitions concatenated) over ${BINS} equal bins up to its maximum; reference: refHistogram`,
    units: (set) => set.nSubs,
    wasm(set) {
      const s = new Scope(set.heap);
      const values = concatenated(set, gyration(set), 8);
      const edges = s.alloc(8 * (BINS + 1));
      set.heap.f64(edges, BINS + 1).set(histogramEdges(set));
      const out = s.alloc(4 * BINS);
      return wasmCase(
        s,
        () => {
          set.heap.fill(out, 4 * BINS);
          mk.histogram(set.k, set.nSubs, values, edges, BINS, out);
        },
        () => ({ counts: set.heap.u32(out, BINS).slice() }),
      );
    },
    ref(set) {
      const metric = gyrationMap(set);
      const edges = histogramEdges(set);
      return refCase(() => refHistogram(metric.values(), edges), (counts) => ({ counts }));
    },
  },
];

/** BINS equal bins from 0 to the set's largest radius of gyration. */
function histogramEdges(set: HeapSet): number[] {
  let max = 0;
  for (const v of gyrationMap(set).values()) max = Math.max(max, v);
  const top = max > 0 ? max : 1;
  return Array.from({ length: BINS + 1 }, (_, i) => (i === BINS ? top : (top * i) / BINS));
}

// ---------------------------------------------------------------------------
// Run

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(1);
}

const selected = FAMILIES.filter((f) => !o.filter || f.name.toLowerCase().includes(o.filter.toLowerCase()));
if (selected.length === 0) {
  console.error(`--filter ${o.filter}: expected part of a family name, found none of: ${FAMILIES.map((f) => f.name).join(', ')}`);
  process.exit(2);
}

const started = performance.now();
const heap = new Heap({ initialPages: 1024 });
const k: Kernels = instantiate(heap.memory, o.wasm ? loadKernelModule(o.wasm) : undefined);
const ds = synthesise({ rows: o.rows, days: o.days, subscribers: nSubs, cells: o.cells, locations: o.locations, seed: o.seed });
const full = new HeapSet(k, heap, ds, o.parts);
const sample = o.refRows >= o.rows ? full : new HeapSet(k, heap, subsample(ds, Math.max(1, Math.round((nSubs * o.refRows) / o.rows))), o.parts);
console.error(
  `dataset: ${fmtInt(full.rows)} events, ${o.days} days, ${fmtInt(nSubs)} subscribers, ${fmtInt(o.cells)} cells, ${o.locations} locations, ` +
    `${o.parts} partitions; reference subsample: ${fmtInt(sample.rows)} events of the first ${fmtInt(sample.nSubs)} subscribers ` +
    `(built in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
);

const benchOptions: Benchmark.Options = { minSamples: o.minSamples, maxTime: o.maxTime, initCount: 1 };
type Row = { family: Family; wasm?: Benchmark; ref?: Benchmark; wasmUnits: number; refUnits: number; failure?: string };
const results: Row[] = [];

for (const family of selected) {
  const t0 = performance.now();
  const row: Row = { family, wasmUnits: family.units(full), refUnits: family.units(sample) };
  results.push(row);
  try {
    // The check, on the subsample: both sides over the same events.
    const wasmSample = family.wasm(sample);
    const refSample = family.ref(sample);
    const mismatch = compare(wasmSample.read(), refSample.read(), family.float ?? false);
    wasmSample.release();
    if (mismatch) {
      row.failure = `WASM and reference disagree on the subsample: ${mismatch}`;
      console.error(`${family.name}: ${row.failure}; family aborted, not timed`);
      continue;
    }
    const wasm = family.wasm(full);
    const suite = new Benchmark.Suite(family.name)
      .add('wasm', () => wasm.run(), benchOptions)
      .add('reference', () => refSample.run(), benchOptions);
    suite.run({ async: false });
    wasm.release();
    const cases = suite as unknown as ArrayLike<Benchmark>;
    row.wasm = cases[0];
    row.ref = cases[1];
    for (const b of [row.wasm, row.ref]) if (b.error) throw b.error;
  } catch (err) {
    row.failure = `failed: ${(err as Error).message}`;
    console.error(`${family.name}: ${row.failure}`);
    continue;
  }
  const w = row.wasm.hz * row.wasmUnits;
  const r = row.ref.hz * row.refUnits;
  console.error(
    `${family.name}: WASM ${fmtRate(w)} ${family.unit}/s ±${row.wasm.stats.rme.toFixed(1)}% (${row.wasm.stats.sample.length} samples), ` +
      `reference ${fmtRate(r)} ±${row.ref.stats.rme.toFixed(1)}% (${row.ref.stats.sample.length}), ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

const head = ['family', 'unit', 'WASM /s', 'reference /s', 'WASM / reference', 'WASM ±', 'reference ±'];
const body = results.map(({ family, wasm, ref, wasmUnits, refUnits, failure }) => {
  if (!wasm || !ref) return [family.name, family.unit, '-', '-', '-', '-', failure ?? '-'];
  const w = wasm.hz * wasmUnits;
  const r = ref.hz * refUnits;
  return [family.name, family.unit, fmtRate(w), fmtRate(r), `${(w / r).toFixed(1)}x`, `${wasm.stats.rme.toFixed(1)}%`, `${ref.stats.rme.toFixed(1)}%`];
});
const table = [head, head.map(() => '---'), ...body].map((r) => `| ${r.join(' | ')} |`).join('\n');
const cpus = os.cpus();
const load = os.loadavg().map((l) => l.toFixed(2)).join(' / ');
const machine =
  `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores (${os.availableParallelism()} available), ` +
  `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}, load average ${load} (1 / 5 / 15 min, at the end)`;
const seconds = (performance.now() - started) / 1000;
const failures = results.filter((r) => r.failure);
const text = `# Kernel benchmarks

\`npm run build && node dist/bench/kernels.js --rows ${o.rows}\` (bench/kernels.ts); ${seconds.toFixed(0)} s.

Dataset (bench/data.ts, seed \`${o.seed}\`): ${fmtInt(full.rows)} events over ${o.days} days, ${fmtInt(nSubs)} subscribers, ${fmtInt(o.cells)} cells,
${o.locations} locations, loaded into one shared memory in ${o.parts} subscriber partitions by the kernels, as loader.ts does.
Filter: every event type, the whole window, all hours, both directions (top-ups only for topup values).

- **WASM**: the kernels through their typed wrappers (wasm.ts, metric-kernels.ts, od-kernels.ts) on the whole dataset, one
  instance on the main thread, driven per (partition, day) range as the engine's partition tasks drive them.
- **Reference**: the plain-TS reference (test/reference/*.ts) on a subsample, because it builds JS objects: the
  first ${fmtInt(sample.nSubs)} subscribers and their whole histories, ${fmtInt(sample.rows)} events. Both rates are per unit
  (the \`unit\` column), so the ratio compares per-unit throughput of two different sizes; the reference's Maps and Sets
  grow with the data, so at the full size its rate would likely be lower and the ratio higher.
- Inputs marked *prepared* are computed once, untimed, by the kernels (and shared by both sides).
- Before timing, each family's WASM output on the subsample was checked against the reference's: counts and drop counters
  exactly, floats to 1e-9 relative.
- benchmark.js: minSamples ${o.minSamples}, maxTime ${o.maxTime} s, initCount 1; ± is its relative margin of error (95%).

Machine: ${machine}.

Figures are one run on a possibly shared machine: read the ratios within the run, not absolute rates across runs.

${table}
${failures.length ? `\nNot timed: ${failures.map((f) => `${f.family.name} (${f.failure})`).join('; ')}.\n` : ''}
## What one run does

${results.map(({ family }) => `- **${family.name}**: ${family.what}.`).join('\n')}
`;
console.log(`\n${table}\n\nMachine: ${machine}.`);
if (o.filter || o.wasm) console.error('--filter or --wasm given: bench/KERNELS.md left as it was (it holds full runs of the built module only)');
else {
  const file = path.join(ROOT, 'bench', 'KERNELS.md');
  // The sections after "What one run does" (hand-written notes, bench/parallel.ts's section) stay as they were.
  fs.writeFileSync(file, text + sectionsAfter(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '', '## What one run does'));
  console.error(`wrote bench/KERNELS.md (${seconds.toFixed(0)} s in all)`);
}
if (failures.length) process.exitCode = 1;

