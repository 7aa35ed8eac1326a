/**
 * Test harness for the kernels: seeded synthetic datasets full of ties, and the
 * host steps the engine will take (load a day into partitions, run a kernel per
 * (day, partition) range in date order), so the tests can compare kernel output,
 * translated back to global subscribers, with the reference.
 */
import { NULL_U32, SECONDS_PER_DAY, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';
import { KernelError } from '../../server/errors.js';
import { Heap, type Ptr } from '../../server/wasm/memory.js';
import type { Locator, RefDrops, RefEvent, RefFilter } from '../reference/events.js';
import { ALL_HOURS, DROP_BYTES, type EventColumns, type KernelFilter, type Kernels, type LocTable, hourMaskOf, typeMaskOf } from '../../server/engine/wasm.js';
import { rng } from '../util/rng.js';

export { rng };

export const FIRST_DAY = 16801; // 2016-01-01
/** Local seconds of the first day's midnight. */
export const DAY0 = FIRST_DAY * SECONDS_PER_DAY;
export const ALL_TYPES = [TYPE_CALLS, TYPE_SMS, TYPE_MDS, TYPE_TOPUPS];

/** The whole of an nDays dataset with the given types and, optionally, hours. */
export function window(nDays: number, types: number[], hours?: { start: number; end: number }): RefFilter {
  return { types, start: DAY0, end: DAY0 + nDays * SECONDS_PER_DAY, hours };
}

/** The code of the KernelError `fn` throws (failing the test for any other error), or undefined. */
export function kernelErrorCode(fn: () => void): string | undefined {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    return e.code;
  }
  return undefined;
}

export interface Dataset {
  nSubs: number;
  nCells: number;
  nLocs: number;
  /** Days since 1970, ascending. */
  days: number[];
  /** Per day, rows in ingest order (sub is the global index). */
  rows: RefEvent[][];
  /** Per day, cell -> location or drop code (-2, -3). */
  locTables: Int32Array[];
}

export interface DatasetOptions {
  nSubs?: number;
  nCells?: number;
  nLocs?: number;
  nDays?: number;
  rowsPerDay?: number;
}

/**
 * Few subscribers, cells and locations, and times drawn from few seconds, so
 * that same-second events, equal counts and equal day counts are common.
 */
export function makeDataset(seed: number, opts: DatasetOptions = {}): Dataset {
  const { nSubs = 40, nCells = 30, nLocs = 6, nDays = 3, rowsPerDay = 1500 } = opts;
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const days: number[] = [];
  const rows: RefEvent[][] = [];
  const locTables: Int32Array[] = [];
  for (let d = 0; d < nDays; d++) {
    const day = FIRST_DAY + d;
    days.push(day);
    const table = new Int32Array(nCells);
    for (let c = 0; c < nCells; c++) {
      const u = r();
      table[c] = u < 0.08 ? -2 : u < 0.16 ? -3 : int(nLocs);
    }
    locTables.push(table);
    const dayRows: RefEvent[] = [];
    for (let i = 0; i < rowsPerDay; i++) {
      const u = r();
      const cell = u < 0.04 ? NULL_U32 : u < 0.06 ? nCells + int(5) : int(nCells);
      const second = int(48) * 1800 + (r() < 0.5 ? 0 : int(3));
      dayRows.push({ sub: int(nSubs), t: day * SECONDS_PER_DAY + second, cell, kind: int(4) | (int(3) << 2) });
    }
    rows.push(dayRows);
  }
  return { nSubs, nCells, nLocs, days, rows, locTables };
}

/** The reference's view of the dataset's cell tables; keys the table does not cover are "no cell". */
export function locatorOf(ds: Dataset): Locator {
  return (cell, day) => {
    const table = ds.locTables[ds.days.indexOf(day)];
    return cell < table.length ? table[cell] : -1;
  };
}

export function allEvents(ds: Dataset): RefEvent[] {
  return ds.rows.flat();
}

/** Subscribers spread over partitions by a fixed scramble, local indices in global order. */
export interface Partitioning {
  nParts: number;
  partOf: Uint8Array;
  localOf: Uint32Array;
  /** Per partition, local index -> global index. */
  globalOf: number[][];
}

export function partitioning(nSubs: number, nParts: number): Partitioning {
  const partOf = new Uint8Array(nSubs);
  const localOf = new Uint32Array(nSubs);
  const globalOf: number[][] = Array.from({ length: nParts }, () => []);
  for (let g = 0; g < nSubs; g++) {
    const p = Math.imul(g + 1, 0x9e3779b1) >>> 0;
    partOf[g] = p % nParts;
    localOf[g] = globalOf[partOf[g]].length;
    globalOf[partOf[g]].push(g);
  }
  return { nParts, partOf, localOf, globalOf };
}

/** A day loaded into the heap: partition-sorted columns with local subscriber indices. */
export interface LoadedDay {
  day: number;
  n: number;
  perm: Uint32Array;
  offsets: Uint32Array;
  sub: Ptr;
  t: Ptr;
  cell: Ptr;
  kind: Ptr;
  loc: LocTable;
}

/** What the engine's loader will do: raw columns in, partitionDay, then gather each column. */
export function loadDay(k: Kernels, heap: Heap, parts: Partitioning, day: number, rows: readonly RefEvent[], locTable: Int32Array): LoadedDay {
  const n = rows.length;
  const raw = {
    sub: heap.put(Uint32Array.from(rows, (e) => e.sub)),
    t: heap.put(Uint32Array.from(rows, (e) => e.t)),
    cell: heap.put(Uint32Array.from(rows, (e) => e.cell)),
    kind: heap.put(Uint8Array.from(rows, (e) => e.kind)),
  };
  const partOf = heap.put(parts.partOf);
  const localOf = heap.put(parts.localOf);
  const hist = heap.alloc(k.partitionHistogramBytes(parts.nParts, n));
  const perm = heap.alloc(4 * n);
  const offsets = heap.alloc(4 * (parts.nParts + 1));
  k.partitionDay({ n, sub: raw.sub, t: raw.t }, day * SECONDS_PER_DAY, { partOf, nSubs: parts.partOf.length, nParts: parts.nParts }, hist, perm, offsets);
  const out = { sub: heap.alloc(4 * n), t: heap.alloc(4 * n), cell: heap.alloc(4 * n), kind: heap.alloc(n) };
  k.localise(raw.sub, perm, localOf, out.sub, n);
  k.gather32(raw.t, perm, out.t, n);
  k.gather32(raw.cell, perm, out.cell, n);
  k.gather8(raw.kind, perm, out.kind, n);
  const loaded: LoadedDay = {
    day,
    n,
    perm: heap.u32(perm, n).slice(),
    offsets: heap.u32(offsets, parts.nParts + 1).slice(),
    ...out,
    loc: { loc: heap.put(locTable), nCells: locTable.length },
  };
  for (const ptr of [raw.sub, raw.t, raw.cell, raw.kind, partOf, localOf, hist, perm, offsets]) heap.release(ptr);
  return loaded;
}

/** The rows of partition p of a loaded day. */
export function range(d: LoadedDay, p: number): EventColumns {
  const start = d.offsets[p];
  return { n: d.offsets[p + 1] - start, sub: d.sub + 4 * start, t: d.t + 4 * start, cell: d.cell + 4 * start, kind: d.kind + start };
}

export function kernelFilter(f: RefFilter): KernelFilter {
  return {
    typeMask: typeMaskOf(f.types),
    tStart: f.start,
    tEnd: f.end,
    hourMask: f.hours ? hourMaskOf(f.hours.start, f.hours.end) : ALL_HOURS,
  };
}

export function dirMaskOf(f: RefFilter): number {
  return f.directions ? f.directions.reduce((m, d) => m | (1 << d), 0) : 0xf;
}

export function newDrops(heap: Heap): Ptr {
  const ptr = heap.alloc(DROP_BYTES);
  heap.fill(ptr, DROP_BYTES);
  return ptr;
}

export function readDrops(heap: Heap, ptr: Ptr): RefDrops {
  const d = heap.u32(ptr, 4);
  return { noCell: d[1], unknown: d[2], outside: d[3] };
}

/** A per-partition location vector (i32 per local sub, -1 = none), filled with -1. */
export function newLocVec(heap: Heap, n: number): Ptr {
  const ptr = heap.alloc(4 * Math.max(n, 1));
  heap.fill(ptr, 4 * Math.max(n, 1), 0xff);
  return ptr;
}

/** Per-partition location vectors -> one global map of located subscribers. */
export function toGlobal(heap: Heap, parts: Partitioning, vecs: Ptr[]): Map<number, number> {
  const out = new Map<number, number>();
  parts.globalOf.forEach((globals, p) => {
    const v = heap.i32(vecs[p], globals.length);
    globals.forEach((g, local) => {
      if (v[local] >= 0) out.set(g, v[local]);
    });
  });
  return out;
}

/** A Map with sorted keys, for readable equality failures. */
export function sorted<K extends number | string, V>(m: ReadonlyMap<K, V>): [K, V][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function newHeap(): Heap {
  // 1 GiB is ample for tests and keeps the shared memory's address reservation small.
  return new Heap({ maximumPages: 16384 });
}
