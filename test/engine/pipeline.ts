/**
 * The kernels driven the way the engine will drive them, over a whole dataset:
 * every day loaded into partitions, each kernel run per (day, partition) range
 * in date order, results translated back to global subscribers. Tests compare
 * what these return with test/reference/events.ts.
 */
import { SECONDS_PER_DAY } from '../../kernels/shared/constants.js';
import type { Heap, Ptr } from '../../server/wasm/memory.js';
import type { RefDrops, RefFilter } from '../reference/events.js';
import { type Kernels, LocationTable } from '../../server/engine/wasm.js';
import {
  type Dataset, type LoadedDay, type Partitioning, dirMaskOf, kernelFilter, loadDay, newDrops, newLocVec, partitioning, range,
  readDrops, toGlobal,
} from './harness.js';

export type TableMethod = 'most-common' | 'most-days';

export interface Located {
  /** Per partition, i32 per local subscriber (-1 = none). */
  vecs: Ptr[];
  locations: Map<number, number>;
  drops: RefDrops;
}

export class Pipeline {
  readonly parts: Partitioning;
  readonly loaded: LoadedDay[];

  constructor(readonly k: Kernels, readonly heap: Heap, readonly ds: Dataset, nParts: number) {
    this.parts = partitioning(ds.nSubs, nParts);
    this.loaded = ds.days.map((day, i) => loadDay(k, heap, this.parts, day, ds.rows[i], ds.locTables[i]));
  }

  private nLocal(p: number): number {
    return this.parts.globalOf[p].length;
  }

  /** daily_location last over every loaded day the filter's window touches. */
  last(f: RefFilter, k: Kernels = this.k): Located {
    const drops = newDrops(this.heap);
    const vecs = this.parts.globalOf.map((_, p) => {
      const vec = newLocVec(this.heap, this.nLocal(p));
      for (const d of this.loaded) k.lastLocation(range(d, p), d.loc, kernelFilter(f), this.nLocal(p), vec, drops);
      return vec;
    });
    return this.located(vecs, drops);
  }

  /** Fills one LocationTable per partition over all days; the caller picks and releases. */
  tables(f: RefFilter, initialCapacity: number, k: Kernels = this.k): { tables: LocationTable[]; drops: Ptr } {
    const drops = newDrops(this.heap);
    const tables = this.parts.globalOf.map((_, p) => {
      const table = new LocationTable(k, this.heap, initialCapacity);
      let seqBase = 0;
      for (const d of this.loaded) {
        const ev = range(d, p);
        table.count(ev, d.loc, kernelFilter(f), this.nLocal(p), seqBase, drops);
        seqBase += ev.n;
      }
      return table;
    });
    return { tables, drops };
  }

  /** most_frequent_location or visited_most_days over every loaded day. */
  pick(f: RefFilter, method: TableMethod, initialCapacity = 1024, k: Kernels = this.k): Located & { capacities: number[] } {
    const { tables, drops } = this.tables(f, initialCapacity, k);
    const vecs = tables.map((table, p) => {
      const vec = newLocVec(this.heap, this.nLocal(p));
      if (method === 'most-common') table.pickMostCommon(this.nLocal(p), vec);
      else table.pickMostDays(this.nLocal(p), vec);
      return vec;
    });
    const capacities = tables.map((t) => t.capacity);
    tables.forEach((t) => t.release());
    return { ...this.located(vecs, drops), capacities };
  }

  /** unique_locations: global (sub, loc) pairs, sorted. */
  unique(f: RefFilter, initialCapacity = 1024): { pairs: [number, number][]; drops: RefDrops } {
    const { tables, drops } = this.tables(f, initialCapacity);
    const pairs: [number, number][] = [];
    tables.forEach((table, p) => {
      const subs = this.heap.alloc(4 * Math.max(table.size, 1));
      const locs = this.heap.alloc(4 * Math.max(table.size, 1));
      const count = table.keys(subs, locs);
      const s = this.heap.u32(subs, count);
      const l = this.heap.i32(locs, count);
      for (let i = 0; i < count; i++) pairs.push([this.parts.globalOf[p][s[i]], l[i]]);
      [subs, locs].forEach((ptr) => this.heap.release(ptr));
      table.release();
    });
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    return { pairs, drops: readDrops(this.heap, drops) };
  }

  /** spatial_aggregate of per-partition vectors: location -> subscribers (non-zero only). */
  spatial(loc: Located): Map<number, number> {
    const out = this.heap.alloc(4 * this.ds.nLocs);
    this.heap.fill(out, 4 * this.ds.nLocs);
    loc.vecs.forEach((vec, p) => this.k.countByLocation(vec, this.nLocal(p), this.ds.nLocs, out));
    const counts = new Map<number, number>();
    this.heap.u32(out, this.ds.nLocs).forEach((c, l) => c && counts.set(l, c));
    this.heap.release(out);
    return counts;
  }

  /** flows: `${from},${to}` -> subscribers (non-zero only). */
  flows(from: Located, to: Located): Map<string, number> {
    const nLocs = this.ds.nLocs;
    const out = this.heap.alloc(4 * nLocs * nLocs);
    this.heap.fill(out, 4 * nLocs * nLocs);
    from.vecs.forEach((vec, p) => this.k.countPairs(vec, to.vecs[p], this.nLocal(p), nLocs, nLocs, out));
    const counts = new Map<string, number>();
    this.heap.u32(out, nLocs * nLocs).forEach((c, i) => c && counts.set(`${Math.floor(i / nLocs)},${i % nLocs}`, c));
    this.heap.release(out);
    return counts;
  }

  /** location_event_counts: `${loc},${bucket}` -> events (non-zero only), buckets from the first day. */
  eventCounts(f: RefFilter, bucketSeconds: number): { counts: Map<string, number>; drops: RefDrops } {
    const nLocs = this.ds.nLocs;
    const base = this.ds.days[0] * SECONDS_PER_DAY;
    const nBuckets = Math.ceil((this.ds.days.length * SECONDS_PER_DAY) / bucketSeconds);
    const out = this.heap.alloc(4 * nLocs * nBuckets);
    this.heap.fill(out, 4 * nLocs * nBuckets);
    const drops = newDrops(this.heap);
    for (const d of this.loaded) {
      for (let p = 0; p < this.parts.nParts; p++) {
        this.k.countEventsByBucket(range(d, p), d.loc, kernelFilter(f), dirMaskOf(f), { seconds: bucketSeconds, base, count: nBuckets }, nLocs, out, drops);
      }
    }
    const counts = new Map<string, number>();
    this.heap.u32(out, nLocs * nBuckets).forEach((c, i) => c && counts.set(`${Math.floor(i / nBuckets)},${i % nBuckets}`, c));
    this.heap.release(out);
    return { counts, drops: readDrops(this.heap, drops) };
  }

  private located(vecs: Ptr[], drops: Ptr): Located {
    return { vecs, locations: toGlobal(this.heap, this.parts, vecs), drops: readDrops(this.heap, drops) };
  }
}
