// The one open-addressing hash table every kernel family builds on: the
// location table (hash.ts), the visit table (od.ts), the expiring key set
// (buckets.ts), the contact table (metrics.ts) and the meaningful-locations
// score table (meaningful.ts). Each family chooses its slot size and what its
// slots carry after the key; this file owns the header, hashing, probing, the
// load cap and growing, so the families differ only in what they count.
//
// Layout at `table` (16-byte aligned, tableBytesOf(capacity, slotBytes) bytes):
//   header, 32 bytes:
//     +0  u32 used       live slots
//     +4  u32 capacity   slots, a power of two (written by clearTable, checked by every kernel)
//     +8  u32 consumed   rows (or bits) the last counting call consumed (< n when it stopped at the load limit)
//     +12 u32 floor      keys whose high word is below it have expired (key sets only; 0 elsewhere)
//     +16 .. +31         reserved
//   slot i at table + 32 + slotBytes * i, starting with the u64 key; a key whose
//   low word is 0xFFFFFFFF marks an empty slot (families put a partition-local
//   subscriber there, which is never 0xFFFFFFFF).
// Linear probing; the load is capped at 3/4 so probe runs stay short, and a
// counting kernel that would pass it stops with STATUS_CAPACITY after recording
// how many rows it consumed, so the host can grow the table (rehashTable into
// one twice the size) and resume at that row without counting any row twice.
//
// Probing stays correct with expiring keys: while the floor holds, slots only
// go from expired-or-empty to live, so a live key always sits before the first
// non-live slot of its probe run, where a lookup stops.

import { STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK } from './shared/constants';

export const TABLE_HEADER: usize = 32;
/** Low word of an empty slot's key. */
export const EMPTY: u32 = 0xffffffff;

const H_USED: usize = 0;
const H_CAPACITY: usize = 4;
const H_CONSUMED: usize = 8;
const H_FLOOR: usize = 12;

/** Bytes of a table of `capacity` slots of `slotBytes` each. */
@inline
export function tableBytesOf(capacity: u32, slotBytes: usize): usize {
  return TABLE_HEADER + <usize>capacity * slotBytes;
}

/** Empties the table (floor 0); capacity: a power of two in [8, maxCapacity]. Status. */
@inline
export function clearTable(table: usize, capacity: u32, slotBytes: usize, maxCapacity: u32): i32 {
  if (capacity < 8 || capacity > maxCapacity || (capacity & (capacity - 1)) != 0) return STATUS_BAD_ARGUMENT;
  memory.fill(table, 0, TABLE_HEADER);
  store<u32>(table + H_CAPACITY, capacity);
  // All-ones bytes mark every slot empty.
  memory.fill(table + TABLE_HEADER, 0xff, <usize>capacity * slotBytes);
  return STATUS_OK;
}

/** Whether `table` carries a header written by clearTable for this capacity. */
@inline
export function validTable(table: usize, capacity: u32): bool {
  return capacity >= 8 && (capacity & (capacity - 1)) == 0 && load<u32>(table + H_CAPACITY) == capacity;
}

/** Largest number of live slots allowed: 3/4 of the capacity. */
@inline
export function loadLimit(capacity: u32): u32 {
  return capacity - (capacity >> 2);
}

@inline
export function slotOf(table: usize, index: u32, slotBytes: usize): usize {
  return table + TABLE_HEADER + <usize>index * slotBytes;
}

/** The u64 key of two u32 halves: `low` is the subscriber (never 0xFFFFFFFF in a live key). */
@inline
export function keyOf(low: u32, high: u32): u64 {
  return (<u64>high << 32) | <u64>low;
}

/** Whether a stored key is live: not empty, not expired under `floor` (0: nothing expires). */
@inline
export function isLive(key: u64, floor: u32): bool {
  return <u32>key != EMPTY && <u32>(key >> 32) >= floor;
}

/**
 * The slot holding live `key`, or the empty or expired slot where it belongs.
 * The load cap guarantees a free slot, so the probe terminates.
 */
@inline
export function probe(table: usize, mask: u32, key: u64, slotBytes: usize, floor: u32): usize {
  // The first half of murmur3's 64-bit finaliser: enough to spread dense indices.
  // see: https://github.com/aappleby/smhasher/blob/master/src/MurmurHash3.cpp (fmix64)
  let h = key ^ (key >> 33);
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  let index = <u32>h & mask;
  while (true) {
    const slot = slotOf(table, index, slotBytes);
    const found = load<u64>(slot);
    if (found == key || !isLive(found, floor)) return slot;
    index = (index + 1) & mask;
  }
  return 0; // unreachable: the loop only exits by returning
}

/** Copies every live slot of `src` into `dst` (cleared here, same floor). Status: CAPACITY if dst cannot hold them. */
@inline
export function rehashTable(src: usize, srcCapacity: u32, dst: usize, dstCapacity: u32, slotBytes: usize, maxCapacity: u32): i32 {
  if (!validTable(src, srcCapacity)) return STATUS_BAD_ARGUMENT;
  const status = clearTable(dst, dstCapacity, slotBytes, maxCapacity);
  if (status != STATUS_OK) return status;
  const floor = floorOf(src);
  const limit = loadLimit(dstCapacity);
  const mask = dstCapacity - 1;
  let used: u32 = 0;
  for (let i: u32 = 0; i < srcCapacity; i++) {
    const from = slotOf(src, i, slotBytes);
    const key = load<u64>(from);
    if (!isLive(key, floor)) continue;
    if (used >= limit) return STATUS_CAPACITY;
    memory.copy(probe(dst, mask, key, slotBytes, floor), from, slotBytes);
    used++;
  }
  finishTable(dst, used, floor, 0);
  return STATUS_OK;
}

@inline
export function usedOf(table: usize): u32 {
  return load<u32>(table + H_USED);
}

@inline
export function consumedOf(table: usize): u32 {
  return load<u32>(table + H_CONSUMED);
}

@inline
export function floorOf(table: usize): u32 {
  return load<u32>(table + H_FLOOR);
}

/** Records a counting call's end state: live slots, floor, and rows consumed. */
@inline
export function finishTable(table: usize, used: u32, floor: u32, consumed: u32): void {
  store<u32>(table + H_USED, used);
  store<u32>(table + H_FLOOR, floor);
  store<u32>(table + H_CONSUMED, consumed);
}
