/**
 * Typed wrappers of the od and buckets kernel families (kernels/od.ts,
 * kernels/buckets.ts): trips and consecutive-trips OD matrices, unmoving and
 * reference-location counts, events and distinct subscribers per location and
 * time bucket, distinct cells per location and period. Each wrapper calls the
 * raw export and turns its status into a KernelError through wasm.ts's checks.
 *
 * Mergeability of the outputs: every u32 count accumulates, and is per
 * subscriber partition; partitions are disjoint, so the host sums them. Cells
 * are the exception: partitions mark bitsets that the host ORs (orBits) before
 * one countCellsByPeriod per day. Instances running at the same time need their
 * own outputs, tables, sets, bitsets and drop counters.
 */
import { STATUS_CAPACITY } from '../../kernels/shared/constants.js';
import { KernelError } from '../errors.js';
import type { Allocator } from '../wasm/arena.js';
import { GrowingTable } from '../wasm/growing.js';
import type { Ptr } from '../wasm/memory.js';
import { type EventColumns, type KernelFilter, type Kernels, type LocTable, check, checkDrops, checkFilter } from './wasm.js';

/** Distinct (sub, loc) keys, as tableKeys writes them: u32 and i32 arrays of `count`. */
export interface LocationKeys {
  sub: Ptr;
  loc: Ptr;
  count: number;
}

/** Time buckets: bucket = floor((t - base) / seconds), `count` of them. */
export interface Buckets {
  seconds: number;
  base: number;
  count: number;
}

const badArgument = (kernel: string, expected: string) =>
  new KernelError('BAD_ARGUMENT', `${kernel}: expected ${expected}; the kernel rejected its arguments`);

/** The rows of `ev` from row `done` on. */
function rest(ev: EventColumns, done: number): EventColumns {
  return { n: ev.n - done, sub: ev.sub + 4 * done, t: ev.t + 4 * done, cell: ev.cell + 4 * done, kind: ev.kind + done };
}

// ---- visit table (trips_od_matrix) ----

export function visitTableBytes(k: Kernels, capacity: number): number {
  return k.raw.visitTableBytes(capacity) >>> 0;
}
export function visitTableClear(k: Kernels, table: Ptr, capacity: number): void {
  check('visitTableClear', k.raw.visitTableClear(table, capacity), `a capacity that is a power of two in [8, 2^27], found ${capacity}`);
}
export function visitTableUsed(k: Kernels, table: Ptr): number {
  return k.raw.visitTableUsed(table) >>> 0;
}
export function visitTableRehash(k: Kernels, src: Ptr, srcCapacity: number, dst: Ptr, dstCapacity: number): void {
  check('visitTableRehash', k.raw.visitTableRehash(src, srcCapacity, dst, dstCapacity), `room in ${dstCapacity} slots for the ${visitTableUsed(k, src)} entries of a table of ${srcCapacity}`);
}

/** Adds first and last seconds per (sub, loc); returns the rows consumed: ev.n, or fewer when the table is full. */
export function countVisits(k: Kernels, ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, table: Ptr, capacity: number, drops: Ptr): number {
  checkFilter('countVisits', f);
  const status = k.raw.countVisits(ev.n, ev.sub, ev.t, ev.cell, ev.kind, loc.loc, loc.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, table, capacity, drops);
  checkDrops('countVisits', k.memory, drops);
  if (status === STATUS_CAPACITY) return k.raw.visitTableConsumed(table) >>> 0;
  check('countVisits', status, `a visit table cleared for ${capacity} slots and every sub < ${nSubs}`);
  return ev.n;
}

/** Scratch bytes countTrips needs for nSubs subscribers and `entries` table entries. */
export function tripsScratchBytes(k: Kernels, nSubs: number, entries: number): number {
  const bytes = k.raw.tripsScratchBytes(nSubs, entries) >>> 0;
  if (bytes === 0) throw badArgument('tripsScratchBytes', `scratch below 4 GiB for ${nSubs} subscribers and ${entries} entries`);
  return bytes;
}

/** out[a * nLocs + b] += subscribers with first second at a < last second at b, a != b. */
export function countTrips(k: Kernels, table: Ptr, capacity: number, nSubs: number, nLocs: number, scratch: Ptr, out: Ptr): void {
  check('countTrips', k.raw.countTrips(table, capacity, nSubs, nLocs, scratch, out), `a visit table of ${capacity} slots with subs < ${nSubs} and locations < ${nLocs} <= 65535`);
}

// ---- key set (consecutive pairs, bucket subscribers, period cells) ----

export function keySetBytes(k: Kernels, capacity: number): number {
  return k.raw.keySetBytes(capacity) >>> 0;
}
export function keySetClear(k: Kernels, set: Ptr, capacity: number): void {
  check('keySetClear', k.raw.keySetClear(set, capacity), `a capacity that is a power of two in [8, 2^28], found ${capacity}`);
}
export function keySetUsed(k: Kernels, set: Ptr): number {
  return k.raw.keySetUsed(set) >>> 0;
}
export function keySetRehash(k: Kernels, src: Ptr, srcCapacity: number, dst: Ptr, dstCapacity: number): void {
  check('keySetRehash', k.raw.keySetRehash(src, srcCapacity, dst, dstCapacity), `room in ${dstCapacity} slots for the ${keySetUsed(k, src)} entries of a set of ${srcCapacity}`);
}

/** Adds consecutive (prevLoc, loc) pairs per subscriber to the set; returns the rows consumed (fewer than ev.n when the set is full). */
export function countConsecutivePairs(
  k: Kernels, ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, nLocs: number, prevLoc: Ptr, set: Ptr, capacity: number, drops: Ptr,
): number {
  checkFilter('countConsecutivePairs', f);
  const status = k.raw.countConsecutivePairs(ev.n, ev.sub, ev.t, ev.cell, ev.kind, loc.loc, loc.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, nLocs, prevLoc, set, capacity, drops);
  checkDrops('countConsecutivePairs', k.memory, drops);
  if (status === STATUS_CAPACITY) return k.raw.keySetConsumed(set) >>> 0;
  check('countConsecutivePairs', status, `a key set cleared for ${capacity} slots and used only for pairs, every sub < ${nSubs}, and locations (prevLoc included) < ${nLocs} <= 65535`);
  return ev.n;
}

/** out[a * nLocs + b] += subscribers with a consecutive pair (a, b). */
export function countConsecutiveTrips(k: Kernels, set: Ptr, capacity: number, nLocs: number, out: Ptr): void {
  check('countConsecutiveTrips', k.raw.countConsecutiveTrips(set, capacity, nLocs, out), `a pairs key set of ${capacity} slots with pairs < ${nLocs}^2, nLocs <= 65535`);
}

/**
 * outEvents / outSubs[loc * buckets.count + bucket] += events / distinct subscribers; returns the
 * rows consumed (fewer than ev.n when the set is full). One set per partition, days in date order.
 */
export function countEventsAndSubscribersByBucket(
  k: Kernels, ev: EventColumns, loc: LocTable, f: KernelFilter, dirMask: number, buckets: Buckets, nLocs: number, nSubs: number,
  set: Ptr, capacity: number, outEvents: Ptr, outSubs: Ptr, drops: Ptr,
): number {
  checkFilter('countEventsAndSubscribersByBucket', f);
  const status = k.raw.countEventsAndSubscribersByBucket(
    ev.n, ev.sub, ev.t, ev.cell, ev.kind, loc.loc, loc.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, dirMask,
    buckets.seconds, buckets.base, buckets.count, nLocs, nSubs, set, capacity, outEvents, outSubs, drops,
  );
  checkDrops('countEventsAndSubscribersByBucket', k.memory, drops);
  if (status === STATUS_CAPACITY) return k.raw.keySetConsumed(set) >>> 0;
  check(
    'countEventsAndSubscribersByBucket', status,
    `bucket seconds > 0, [tStart, tEnd) within the ${buckets.count} buckets from ${buckets.base}, ${buckets.count} * ${nLocs} <= 2^32, ` +
      `every sub < ${nSubs} and location < ${nLocs}, a set cleared for ${capacity} slots, and ranges in time order through one set`,
  );
  return ev.n;
}

// ---- cells per period (total_network_objects) ----

/** Bytes of a (slot, cell) bitset; throws if nSlots * nCells bits pass 2^32. */
export function cellBitsBytes(k: Kernels, nSlots: number, nCells: number): number {
  const bytes = k.raw.cellBitsBytes(nSlots, nCells) >>> 0;
  if (bytes === 0) throw badArgument('cellBitsBytes', `1 <= ${nSlots} slots * ${nCells} cells < 2^32`);
  return bytes;
}

/** Marks (slot, cell) for each located qualifying event into a zeroed bitset of cellBitsBytes(slots.count, loc.nCells). */
export function markCellsByPeriod(k: Kernels, ev: Omit<EventColumns, 'sub'>, loc: LocTable, f: KernelFilter, slots: Buckets, bits: Ptr, drops: Ptr): void {
  checkFilter('markCellsByPeriod', f);
  const status = k.raw.markCellsByPeriod(ev.n, ev.t, ev.cell, ev.kind, loc.loc, loc.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, slots.seconds, slots.base, slots.count, bits, drops);
  check('markCellsByPeriod', status, `slot seconds > 0, [tStart, tEnd) within the ${slots.count} slots from ${slots.base}, and ${slots.count} * ${loc.nCells} bits < 2^32`);
  checkDrops('markCellsByPeriod', k.memory, drops);
}

/** dst |= src over `bytes` (a multiple of 16; cellBitsBytes gives one). */
export function orBits(k: Kernels, dst: Ptr, src: Ptr, bytes: number): void {
  check('orBits', k.raw.orBits(dst, src, bytes), `a byte count that is a multiple of 16, found ${bytes}`);
}

/**
 * Counts a day's merged bitset into out[loc * periods.count + period], period = periods.first + slot;
 * from: first bit. Returns the bit to resume at when the set is full, or -1 when done.
 */
export function countCellsByPeriod(
  k: Kernels, bits: Ptr, nSlots: number, loc: LocTable, nLocs: number, periods: { first: number; count: number }, from: number,
  set: Ptr, capacity: number, out: Ptr,
): number {
  const status = k.raw.countCellsByPeriod(bits, nSlots, loc.nCells, loc.loc, nLocs, periods.first, periods.count, from, set, capacity, out);
  if (status === STATUS_CAPACITY) return k.raw.keySetConsumed(set) >>> 0;
  check(
    'countCellsByPeriod', status,
    `a bitset marked with this day's table (every marked cell located < ${nLocs}), periods ${periods.first} + slot < ${periods.count}, ` +
      `a set cleared for ${capacity} slots, and days in date order through one set`,
  );
  return -1;
}

// ---- unmoving and reference-location counts ----

/** out[loc] += subscribers whose only location is loc; scratch: 4 * nSubs bytes. */
export function unmovingCounts(k: Kernels, keys: LocationKeys, nSubs: number, nLocs: number, scratch: Ptr, out: Ptr): void {
  check('unmovingCounts', k.raw.unmovingCounts(keys.sub, keys.loc, keys.count, nSubs, nLocs, scratch, out), `keys with subs < ${nSubs} and locations in [0, ${nLocs})`);
}

/** out[ref] += subscribers all of whose locations are their reference location; scratch: 4 * nSubs bytes. */
export function unmovingAtReferenceCounts(k: Kernels, keys: LocationKeys, refVec: Ptr, nSubs: number, nLocs: number, scratch: Ptr, out: Ptr): void {
  const status = k.raw.unmovingAtReferenceCounts(keys.sub, keys.loc, keys.count, refVec, nSubs, nLocs, scratch, out);
  check('unmovingAtReferenceCounts', status, `keys with subs < ${nSubs} and locations in [0, ${nLocs}), reference locations < ${nLocs}`);
}

/** out[ref] += subscribers seen at their reference location; scratch: 4 * nSubs bytes. */
export function activeAtReferenceCounts(k: Kernels, keys: LocationKeys, refVec: Ptr, nSubs: number, nLocs: number, scratch: Ptr, out: Ptr): void {
  const status = k.raw.activeAtReferenceCounts(keys.sub, keys.loc, keys.count, refVec, nSubs, nLocs, scratch, out);
  check('activeAtReferenceCounts', status, `keys with subs < ${nSubs} and locations in [0, ${nLocs}), reference locations < ${nLocs}`);
}

// ---- self-growing tables (wasm/growing.ts) ----

/** trips_od_matrix for one partition: add every (day, partition) range, then trips(). */
export class VisitTable extends GrowingTable {
  constructor(private readonly k: Kernels, heap: Allocator, initialCapacity = 1024) {
    super(heap, { bytes: (c) => visitTableBytes(k, c), clear: (p, c) => visitTableClear(k, p, c), rehash: (s, sc, d, dc) => visitTableRehash(k, s, sc, d, dc) }, initialCapacity);
  }

  get size(): number {
    return visitTableUsed(this.k, this.ptr);
  }

  count(ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, drops: Ptr): void {
    this.rows(ev.n, (done) => countVisits(this.k, rest(ev, done), loc, f, nSubs, this.ptr, this.cap, drops));
  }

  /** out[a * nLocs + b] += this partition's trips (u32[nLocs * nLocs]). */
  trips(nSubs: number, nLocs: number, out: Ptr): void {
    const scratch = this.heap.alloc(tripsScratchBytes(this.k, nSubs, this.size));
    try {
      countTrips(this.k, this.ptr, this.cap, nSubs, nLocs, scratch, out);
    } finally {
      this.heap.release(scratch);
    }
  }
}

/** A key set for one partition (or, for cells, for the merged bitsets), used by one kind of count only. */
export class KeySet extends GrowingTable {
  constructor(private readonly k: Kernels, heap: Allocator, initialCapacity = 1024) {
    super(heap, { bytes: (c) => keySetBytes(k, c), clear: (p, c) => keySetClear(k, p, c), rehash: (s, sc, d, dc) => keySetRehash(k, s, sc, d, dc) }, initialCapacity);
  }

  get size(): number {
    return keySetUsed(this.k, this.ptr);
  }

  /** consecutive_trips_od_matrix: adds a range's pairs; prevLoc (i32 per local sub, -1-initialised) persists across ranges. */
  consecutivePairs(ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, nLocs: number, prevLoc: Ptr, drops: Ptr): void {
    this.rows(ev.n, (done) => countConsecutivePairs(this.k, rest(ev, done), loc, f, nSubs, nLocs, prevLoc, this.ptr, this.cap, drops));
  }

  /** out[a * nLocs + b] += this partition's consecutive trips (u32[nLocs * nLocs]). */
  consecutiveTrips(nLocs: number, out: Ptr): void {
    countConsecutiveTrips(this.k, this.ptr, this.cap, nLocs, out);
  }

  /** location_event_counts: adds a range's events and distinct subscribers per (loc, bucket). */
  eventsAndSubscribers(
    ev: EventColumns, loc: LocTable, f: KernelFilter, dirMask: number, buckets: Buckets, nLocs: number, nSubs: number,
    outEvents: Ptr, outSubs: Ptr, drops: Ptr,
  ): void {
    this.rows(ev.n, (done) =>
      countEventsAndSubscribersByBucket(this.k, rest(ev, done), loc, f, dirMask, buckets, nLocs, nSubs, this.ptr, this.cap, outEvents, outSubs, drops),
    );
  }

  /** total_network_objects: counts one day's merged bitset (marked with `loc`, that day's table). */
  cells(bits: Ptr, nSlots: number, loc: LocTable, nLocs: number, periods: { first: number; count: number }, out: Ptr): void {
    let from = 0;
    while ((from = countCellsByPeriod(this.k, bits, nSlots, loc, nLocs, periods, from, this.ptr, this.cap, out)) >= 0) this.grow();
  }
}
