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
// Linear probing stays correct with expiring entries: during one bucket slots
// only go from expired-or-empty to live, so a live key always sits before the
// first non-live slot of its probe run, where a lookup stops.
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
// Key set layout at `set` (16-byte aligned, keySetBytes(capacity) bytes):
//   header, 32 bytes:
//     +0  u32 used       live entries (b >= floor)
//     +4  u32 capacity   slots, a power of two (written by keySetClear, checked by every kernel)
//     +8  u32 consumed   rows (or bits) the last call consumed, when it stopped at the load limit
//     +12 u32 floor      entries with b < floor have expired
//     +16 .. +31         reserved
//   slot i at set + 32 + 8 * i: u64 key = a | b << 32; a = 0xFFFFFFFF marks an empty slot.
// Load is capped at 3/4 of the capacity; a call that would exceed it stops
// before the row with STATUS_CAPACITY, so the host can grow the set with
// keySetRehash and resume at keySetConsumed.

import { DIR_SHIFT, STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK } from './shared/constants';
import { locateCell, qualifies } from './locate';

const HEADER_BYTES: usize = 32;
const SLOT_SHIFT: usize = 3; // 8-byte slots
const EMPTY: u32 = 0xffffffff;

const H_USED: usize = 0;
const H_CAPACITY: usize = 4;
const H_CONSUMED: usize = 8;
const H_FLOOR: usize = 12;

/** Largest a * b that a key's b or a bit index may reach: both are u32. */
const U32_RANGE: u64 = 0x100000000;

/** Bytes a key set of `capacity` slots occupies: 32 + 8 * capacity. */
export function keySetBytes(capacity: u32): usize {
  return HEADER_BYTES + (<usize>capacity << SLOT_SHIFT);
}

/** Empties the set at `set` (floor 0); capacity: slots, a power of two in [8, 2^28]. Status. */
export function keySetClear(set: usize, capacity: u32): i32 {
  if (capacity < 8 || capacity > (1 << 28) || (capacity & (capacity - 1)) != 0) return STATUS_BAD_ARGUMENT;
  memory.fill(set, 0, HEADER_BYTES);
  store<u32>(set + H_CAPACITY, capacity);
  memory.fill(set + HEADER_BYTES, 0xff, <usize>capacity << SLOT_SHIFT);
  return STATUS_OK;
}

/** Live entries of the set, [0, capacity). */
export function keySetUsed(set: usize): u32 {
  return load<u32>(set + H_USED);
}

/** Rows (countEventsAndSubscribersByBucket, countConsecutivePairs) or bit index (countCellsByPeriod) the last call consumed. */
export function keySetConsumed(set: usize): u32 {
  return load<u32>(set + H_CONSUMED);
}

/** Copies the live entries of `src` into `dst` (cleared here, same floor); capacities in slots. Status: CAPACITY if dst cannot hold them. */
export function keySetRehash(src: usize, srcCapacity: u32, dst: usize, dstCapacity: u32): i32 {
  if (!keySetValid(src, srcCapacity)) return STATUS_BAD_ARGUMENT;
  const status = keySetClear(dst, dstCapacity);
  if (status != STATUS_OK) return status;
  const floor = load<u32>(src + H_FLOOR);
  let used: u32 = 0;
  const limit = keySetLimit(dstCapacity);
  const mask = dstCapacity - 1;
  for (let i: u32 = 0; i < srcCapacity; i++) {
    const key = load<u64>(keySlot(src, i));
    if (!isLive(key, floor)) continue;
    if (used >= limit) return STATUS_CAPACITY;
    store<u64>(keyProbe(dst, mask, key, floor), key);
    used++;
  }
  store<u32>(dst + H_USED, used);
  store<u32>(dst + H_FLOOR, floor);
  return STATUS_OK;
}

@inline
export function keySetValid(set: usize, capacity: u32): bool {
  return capacity >= 8 && (capacity & (capacity - 1)) == 0 && load<u32>(set + H_CAPACITY) == capacity;
}

@inline
export function keySetLimit(capacity: u32): u32 {
  return capacity - (capacity >> 2);
}

@inline
export function keySlot(set: usize, index: u32): usize {
  return set + HEADER_BYTES + (<usize>index << SLOT_SHIFT);
}

@inline
export function keyOf(a: u32, b: u32): u64 {
  return (<u64>b << 32) | <u64>a;
}

/** Whether a stored key is an entry of the current floor (not empty, not expired). */
@inline
export function isLive(key: u64, floor: u32): bool {
  return <u32>key != EMPTY && <u32>(key >> 32) >= floor;
}

/** The slot holding live `key`, or the empty or expired slot where it belongs (the load cap keeps one free). */
@inline
export function keyProbe(set: usize, mask: u32, key: u64, floor: u32): usize {
  // see: https://github.com/aappleby/smhasher/blob/master/src/MurmurHash3.cpp (fmix64, first half)
  let h = key ^ (key >> 33);
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  let index = <u32>h & mask;
  while (true) {
    const slot = keySlot(set, index);
    const found = load<u64>(slot);
    if (found == key || !isLive(found, floor)) return slot;
    index = (index + 1) & mask;
  }
  return 0; // unreachable: the loop only exits by returning
}

@inline
export function keySetFloor(set: usize): u32 {
  return load<u32>(set + H_FLOOR);
}

@inline
export function keySetFinish(set: usize, used: u32, floor: u32, consumed: u32): void {
  store<u32>(set + H_USED, used);
  store<u32>(set + H_FLOOR, floor);
  store<u32>(set + H_CONSUMED, consumed);
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
  for (; i < n; i++) {
    const at = <usize>i << 2;
    const t = load<u32>(tPtr + at);
    const kind = <u32>load<u8>(kindPtr + i);
    if (!qualifies(t, kind, typeMask, tStart, tEnd, hourMask)) continue;
    if (((dirMask >> ((kind >> DIR_SHIFT) & 3)) & 1) == 0) continue;
    const l = locateCell(load<u32>(cellPtr + at), locPtr, nCells, dropPtr);
    if (l < 0) continue;
    const sub = load<u32>(subPtr + at);
    if (<u32>l >= nLocs || sub >= nSubs) { status = STATUS_BAD_ARGUMENT; break; }
    const bucket = (t - bucketBase) / bucketSeconds;
    const first = bucket * nLocs; // bucket's smallest b
    if (first != floor) {
      // A later bucket expires every entry; an earlier one means out-of-order calls.
      if (first < floor) { status = STATUS_BAD_ARGUMENT; break; }
      floor = first;
      used = 0;
    }
    const key = keyOf(sub, first + <u32>l);
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
  keySetFinish(set, used, floor, i);
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
  for (let i: u32 = 0; i < n; i++) {
    const at = <usize>i << 2;
    const t = load<u32>(tPtr + at);
    if (!qualifies(t, load<u8>(kindPtr + i), typeMask, tStart, tEnd, hourMask)) continue;
    const cell = load<u32>(cellPtr + at);
    if (locateCell(cell, locPtr, nCells, dropPtr) < 0) continue;
    const bit = ((t - slotBase) / slotSeconds) * nCells + cell;
    const byte = bits + <usize>(bit >> 3);
    store<u8>(byte, load<u8>(byte) | (<u8>1 << <u8>(bit & 7)));
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
