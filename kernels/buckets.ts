// Counts per location and time bucket: events and distinct subscribers
// (location_event_counts and its redaction rule: a location's series is kept
// only if every bucket has more than k distinct subscribers), and distinct
// cells per location and period (total_network_objects).
//
// Rows, filters and location tables are those of locate.ts: one (day, partition)
// range per call, time-sorted, days in date order, so within one partition the
// bucket of successive located events never decreases. Both distinct counts rest
// on that.
//
// Distinct subscribers use a key set whose entries expire with their bucket.
// A key is (a, b) = (sub, bucket * nLocs + loc), and the set keeps a `floor`:
// entries with b < floor belong to finished buckets and count as empty slots.
// Moving to a later bucket raises the floor to bucket * nLocs, which empties the
// set in O(1), so the set only ever holds one bucket's (sub, loc) pairs, however
// many days and buckets the query spans, and needs no clearing between days. A
// bucket spanning two day calls (a base not at midnight) is still exact, since
// the set persists across calls. Subscriber partitions are disjoint, so the
// per-partition counts sum.
//
// Distinct cells are not partition-disjoint (every partition sees the same
// cells), so counts cannot be summed. Instead each partition marks a bitset
// over (slot, cell) for one day, partitions' bitsets are ORed (orBits), and
// countCellsByPeriod counts the merged bits into (period, location) once, with
// the day's location table: a cell counts once per (period, loc, cell), so a
// cell whose version moves to another location within a period (month, year)
// counts at each location it had on days it carried located events. The same
// expiring key set, with keys (cell, period * nLocs + loc), removes duplicates
// across the days of one period. Per-second periods (86400 slots a day) are
// marked in chunks: the host restricts the window and slotBase to the chunk.
//
// The key set is table.ts's table with 8-byte slots holding only the key
// (a | b << 32; a = 0xFFFFFFFF marks an empty slot), and its floor.

import { DIR_SHIFT, STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK } from './shared/constants';
import { BAD_SUB, eventLoc, eventSub, locateCell, locatedEvent, nextRun, runEnd, runStart, typeKept } from './scan';
import { clearTable, consumedOf, finishTable, floorOf, keyOf, loadLimit, probe, rehashTable, slotOf, tableBytesOf, usedOf, validTable } from './table';

const SLOT_BYTES: usize = 8;
const MAX_CAPACITY: u32 = 1 << 28;

/** Largest a * b that a key's b or a bit index may reach: both are u32. */
const U32_RANGE: u64 = 0x100000000;

/** Bytes a key set of `capacity` slots occupies: 32 + 8 * capacity. */
export function keySetBytes(capacity: u32): usize {
  return tableBytesOf(capacity, SLOT_BYTES);
}

/** Empties the set at `set` (floor 0); capacity: slots, a power of two in [8, 2^28]. Status. */
export function keySetClear(set: usize, capacity: u32): i32 {
  return clearTable(set, capacity, SLOT_BYTES, MAX_CAPACITY);
}

/** Live entries of the set, [0, capacity). */
export function keySetUsed(set: usize): u32 {
  return usedOf(set);
}

/** Rows (countEventsAndSubscribersByBucket, countConsecutivePairs) or bit index (countCellsByPeriod) the last call consumed. */
export function keySetConsumed(set: usize): u32 {
  return consumedOf(set);
}

/** Copies the live entries of `src` into `dst` (cleared here, same floor); capacities in slots. Status: CAPACITY if dst cannot hold them. */
export function keySetRehash(src: usize, srcCapacity: u32, dst: usize, dstCapacity: u32): i32 {
  return rehashTable(src, srcCapacity, dst, dstCapacity, SLOT_BYTES, MAX_CAPACITY);
}

@inline
export function keySetValid(set: usize, capacity: u32): bool {
  return validTable(set, capacity);
}

@inline
export function keySetLimit(capacity: u32): u32 {
  return loadLimit(capacity);
}

@inline
export function keySlot(set: usize, index: u32): usize {
  return slotOf(set, index, SLOT_BYTES);
}

/** The slot holding live `key`, or the empty or expired slot where it belongs (the load cap keeps one free). */
@inline
export function keyProbe(set: usize, mask: u32, key: u64, floor: u32): usize {
  return probe(set, mask, key, SLOT_BYTES, floor);
}

@inline
export function keySetFloor(set: usize): u32 {
  return floorOf(set);
}

@inline
export function keySetFinish(set: usize, used: u32, floor: u32, consumed: u32): void {
  finishTable(set, used, floor, consumed);
}

// [tStart, tEnd) must lie within the buckets: checked once, so no row can fall outside.
/**
 * outEvents[loc * nBuckets + bucket] += located qualifying events with a dirMask direction, and
 * outSubs[same] += distinct subscribers among them (both u32[nLocs * nBuckets], nLocs * nBuckets <= 2^32);
 * bucket = (t - bucketBase) / bucketSeconds, seconds > 0; sub < nSubs. The set, one per partition,
 * must see that partition's ranges in date order. Status; CAPACITY: rows [0, keySetConsumed) are in.
 */
export function countEventsAndSubscribersByBucket(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32, dirMask: u32,
  bucketSeconds: u32, bucketBase: u32, nBuckets: u32, nLocs: u32, nSubs: u32,
  set: usize, capacity: u32, outEvents: usize, outSubs: usize, dropPtr: usize,
): i32 {
  if (bucketSeconds == 0 || !keySetValid(set, capacity)) return STATUS_BAD_ARGUMENT;
  if (<u64>nBuckets * <u64>nLocs > U32_RANGE) return STATUS_BAD_ARGUMENT;
  const bucketEnd = <u64>bucketBase + <u64>nBuckets * <u64>bucketSeconds;
  if (tStart < tEnd && (tStart < bucketBase || <u64>tEnd > bucketEnd)) return STATUS_BAD_ARGUMENT;
  const mask = capacity - 1;
  const limit = keySetLimit(capacity);
  let used = keySetUsed(set);
  let floor = keySetFloor(set);
  let status = STATUS_OK;
  let i: u32 = 0;
  let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask);
  while (runStart(run) < n) {
    const end = runEnd(run);
    for (i = runStart(run); i < end; i++) {
      if (((dirMask >> ((<u32>load<u8>(kindPtr + i) >> DIR_SHIFT) & 3)) & 1) == 0) continue;
      const e = locatedEvent(i, subPtr, cellPtr, kindPtr, typeMask, locPtr, nCells, nSubs, dropPtr);
      if (e >= BAD_SUB) {
        if (e == BAD_SUB) { status = STATUS_BAD_ARGUMENT; break; }
        continue;
      }
      const l = <u32>eventLoc(e);
      if (l >= nLocs) { status = STATUS_BAD_ARGUMENT; break; }
      const bucket = (load<u32>(tPtr + (<usize>i << 2)) - bucketBase) / bucketSeconds;
      const first = bucket * nLocs; // bucket's smallest b
      if (first != floor) {
        // A later bucket expires every entry; an earlier one means out-of-order calls.
        if (first < floor) { status = STATUS_BAD_ARGUMENT; break; }
        floor = first;
        used = 0;
      }
      const key = keyOf(eventSub(e), first + l);
      const slot = keyProbe(set, mask, key, floor);
      const out = (<usize>l * <usize>nBuckets + <usize>bucket) << 2;
      if (load<u64>(slot) != key) {
        if (used >= limit) { status = STATUS_CAPACITY; break; }
        store<u64>(slot, key);
        used++;
        store<u32>(outSubs + out, load<u32>(outSubs + out) + 1);
      }
      store<u32>(outEvents + out, load<u32>(outEvents + out) + 1);
    }
    if (status != STATUS_OK) break;
    run = nextRun(tPtr, end, n, tStart, tEnd, hourMask);
  }
  keySetFinish(set, used, floor, status == STATUS_OK ? n : i);
  return status;
}

/** Bytes of a (slot, cell) bitset: nSlots * nCells bits rounded up to 16 bytes; 0 if it would not fit in 2^32 bits. */
export function cellBitsBytes(nSlots: u32, nCells: u32): usize {
  const bits = <u64>nSlots * <u64>nCells;
  if (bits > U32_RANGE - 128) return 0;
  return <usize>(((bits + 127) >> 7) << 4);
}

// [tStart, tEnd) must lie within the slots. Host-zeroed bits; one bitset per
// concurrently running instance (the bit sets are read-modify-write).
/** Sets bit slot * nCells + cell of `bits` (cellBitsBytes(nSlots, nCells)) for every located qualifying event; slot = (t - slotBase) / slotSeconds < nSlots. Status. */
export function markCellsByPeriod(
  n: u32, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  slotSeconds: u32, slotBase: u32, nSlots: u32, bits: usize, dropPtr: usize,
): i32 {
  if (slotSeconds == 0 || cellBitsBytes(nSlots, nCells) == 0) return STATUS_BAD_ARGUMENT;
  const slotEnd = <u64>slotBase + <u64>nSlots * <u64>slotSeconds;
  if (tStart < tEnd && (tStart < slotBase || <u64>tEnd > slotEnd)) return STATUS_BAD_ARGUMENT;
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      if (!typeKept(<u32>load<u8>(kindPtr + i), typeMask)) continue;
      const at = <usize>i << 2;
      const cell = load<u32>(cellPtr + at);
      if (locateCell(cell, locPtr, nCells, dropPtr) < 0) continue;
      const bit = ((load<u32>(tPtr + at) - slotBase) / slotSeconds) * nCells + cell;
      const byte = bits + <usize>(bit >> 3);
      store<u8>(byte, load<u8>(byte) | (<u8>1 << <u8>(bit & 7)));
    }
  }
  return STATUS_OK;
}

/** dst |= src over `bytes` bytes, a multiple of 16 (merges partitions' cell bitsets). Status. */
export function orBits(dst: usize, src: usize, bytes: usize): i32 {
  if ((bytes & 15) != 0) return STATUS_BAD_ARGUMENT;
  for (let at: usize = 0; at < bytes; at += 16) {
    v128.store(dst + at, v128.or(v128.load(dst + at), v128.load(src + at)));
  }
  return STATUS_OK;
}

/**
 * For each set bit slot * nCells + cell of a day's merged bitset, from bit `from` on: counts the
 * cell once per (period, loc) in outCounts[loc * nPeriods + period] (u32, nLocs * nPeriods <= 2^32),
 * loc = the day's location of the cell (locPtr, as for markCellsByPeriod, < nLocs), period =
 * period0 + slot < nPeriods. Days of one period must come in date order through one set.
 * Status; CAPACITY: bits below keySetConsumed are counted.
 */
export function countCellsByPeriod(
  bits: usize, nSlots: u32, nCells: u32, locPtr: usize, nLocs: u32,
  period0: u32, nPeriods: u32, from: u32,
  set: usize, capacity: u32, outCounts: usize,
): i32 {
  const bytes = cellBitsBytes(nSlots, nCells);
  if (bytes == 0 || !keySetValid(set, capacity)) return STATUS_BAD_ARGUMENT;
  if (<u64>nPeriods * <u64>nLocs > U32_RANGE) return STATUS_BAD_ARGUMENT;
  const total = nSlots * nCells;
  const mask = capacity - 1;
  const limit = keySetLimit(capacity);
  let used = keySetUsed(set);
  let floor = keySetFloor(set);
  let status = STATUS_OK;
  let at = from;
  const words = <u32>(bytes >> 3);
  for (let w = from >> 6; w < words && status == STATUS_OK; w++) {
    let word = load<u64>(bits + (<usize>w << 3));
    if (w == from >> 6) word &= ~<u64>0 << <u64>(from & 63);
    while (word != 0) {
      const bit = (w << 6) + <u32>ctz(word);
      if (bit >= total) break; // padding: never set by markCellsByPeriod
      at = bit;
      const slot = bit / nCells;
      const cell = bit - slot * nCells;
      const l = load<i32>(locPtr + (<usize>cell << 2));
      const period = period0 + slot;
      if (l < 0 || <u32>l >= nLocs || period >= nPeriods || period < period0) { status = STATUS_BAD_ARGUMENT; break; }
      const first = period * nLocs;
      if (first != floor) {
        if (first < floor) { status = STATUS_BAD_ARGUMENT; break; }
        floor = first;
        used = 0;
      }
      const key = keyOf(cell, first + <u32>l);
      const entry = keyProbe(set, mask, key, floor);
      if (load<u64>(entry) != key) {
        if (used >= limit) { status = STATUS_CAPACITY; break; }
        store<u64>(entry, key);
        used++;
        const out = outCounts + ((<usize>l * <usize>nPeriods + <usize>period) << 2);
        store<u32>(out, load<u32>(out) + 1);
      }
      word &= word - 1;
    }
  }
  keySetFinish(set, used, floor, status == STATUS_OK ? total : at);
  return status;
}
