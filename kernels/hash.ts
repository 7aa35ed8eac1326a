// An open-addressing hash table keyed by (partition-local subscriber, location),
// accumulating what the location kernels need to choose a subscriber's location:
// event count, distinct days and the latest event. The host allocates it in the
// shared memory and passes its byte offset; the layout is known only to this file
// (the host asks `tableBytes`, `tableUsed` and `tableConsumed`), so it can change
// without touching the host.
//
// Layout at `table` (16-byte aligned, tableBytes(capacity) bytes):
//   header, 32 bytes:
//     +0  u32 used       occupied slots
//     +4  u32 capacity   slots, a power of two (written by tableClear, checked by every kernel)
//     +8  u32 consumed   rows the last counting call consumed (< n when it stopped at the load limit)
//     +12 .. +31         reserved
//   slot i at table + 32 + 32 * i:
//     +0  u32 sub        partition-local subscriber; 0xFFFFFFFF = empty slot
//     +4  i32 loc        location index, >= 0
//     +8  u32 events     located qualifying events
//     +12 u32 days       distinct days with such an event
//     +16 u32 lastDay    day (days since 1970) of the latest such event; 0xFFFFFFFF before the first
//     +20 u32            reserved
//     +24 u64 lastSeq    sequence number of the latest such event (larger = later)
// A slot is 32 bytes so that one never straddles a cache line. The (sub, loc)
// pair is read as one u64 key. Linear probing; the load is capped at 3/4 so
// probe runs stay short, and a kernel that would exceed it stops with
// STATUS_CAPACITY after recording how many rows it consumed, so the host can
// rehash into a table twice the size and resume at that row without counting
// any row twice.

import { STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK } from './shared/constants';

const HEADER_BYTES: usize = 32;
const SLOT_SHIFT: usize = 5; // 32-byte slots
const EMPTY_SUB: u32 = 0xffffffff;
const NO_DAY: u32 = 0xffffffff;

const H_USED: usize = 0;
const H_CAPACITY: usize = 4;
const H_CONSUMED: usize = 8;

export const S_SUB: usize = 0;
export const S_LOC: usize = 4;
export const S_EVENTS: usize = 8;
export const S_DAYS: usize = 12;
export const S_LAST_DAY: usize = 16;
export const S_LAST_SEQ: usize = 24;

/** Bytes a table of `capacity` slots occupies: 32 + 32 * capacity. */
export function tableBytes(capacity: u32): usize {
  return HEADER_BYTES + (<usize>capacity << SLOT_SHIFT);
}

/** Empties the table at `table`; capacity: slots, a power of two in [8, 2^26]. Status. */
export function tableClear(table: usize, capacity: u32): i32 {
  if (capacity < 8 || capacity > (1 << 26) || (capacity & (capacity - 1)) != 0) return STATUS_BAD_ARGUMENT;
  memory.fill(table, 0, HEADER_BYTES);
  store<u32>(table + H_CAPACITY, capacity);
  // All-ones bytes mark every slot empty (sub = 0xFFFFFFFF).
  memory.fill(table + HEADER_BYTES, 0xff, <usize>capacity << SLOT_SHIFT);
  return STATUS_OK;
}

/** Occupied slots of the table, [0, capacity). */
export function tableUsed(table: usize): u32 {
  return load<u32>(table + H_USED);
}

/** Rows the last counting call on this table consumed, [0, n]. */
export function tableConsumed(table: usize): u32 {
  return load<u32>(table + H_CONSUMED);
}

/** Copies every entry of `src` into `dst` (cleared here); capacities in slots. Status: CAPACITY if dst cannot hold them. */
export function tableRehash(src: usize, srcCapacity: u32, dst: usize, dstCapacity: u32): i32 {
  if (!tableValid(src, srcCapacity)) return STATUS_BAD_ARGUMENT;
  const status = tableClear(dst, dstCapacity);
  if (status != STATUS_OK) return status;
  if (load<u32>(src + H_USED) > tableLimit(dstCapacity)) return STATUS_CAPACITY;
  const mask = dstCapacity - 1;
  for (let i: u32 = 0; i < srcCapacity; i++) {
    const from = tableSlot(src, i);
    if (load<u32>(from + S_SUB) == EMPTY_SUB) continue;
    const to = tableProbe(dst, mask, load<u64>(from));
    memory.copy(to, from, 1 << SLOT_SHIFT);
  }
  store<u32>(dst + H_USED, load<u32>(src + H_USED));
  return STATUS_OK;
}

/** Whether `table` carries a header written by tableClear for this capacity. */
@inline
export function tableValid(table: usize, capacity: u32): bool {
  return capacity >= 8 && (capacity & (capacity - 1)) == 0 && load<u32>(table + H_CAPACITY) == capacity;
}

/** Largest number of occupied slots allowed: 3/4 of the capacity. */
@inline
export function tableLimit(capacity: u32): u32 {
  return capacity - (capacity >> 2);
}

@inline
export function tableSlot(table: usize, index: u32): usize {
  return table + HEADER_BYTES + (<usize>index << SLOT_SHIFT);
}

@inline
export function tableKey(sub: u32, loc: i32): u64 {
  return (<u64><u32>loc << 32) | <u64>sub;
}

@inline
export function isEmpty(slot: usize): bool {
  return load<u32>(slot + S_SUB) == EMPTY_SUB;
}

/**
 * The slot holding `key`, or the empty slot where it belongs. The load cap
 * guarantees an empty slot exists, so the probe terminates.
 */
@inline
export function tableProbe(table: usize, mask: u32, key: u64): usize {
  // The first half of murmur3's 64-bit finaliser: enough to spread dense indices.
  // see: https://github.com/aappleby/smhasher/blob/master/src/MurmurHash3.cpp (fmix64)
  let h = key ^ (key >> 33);
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  let index = <u32>h & mask;
  while (true) {
    const slot = tableSlot(table, index);
    const found = load<u64>(slot);
    if (found == key || <u32>found == EMPTY_SUB) return slot;
    index = (index + 1) & mask;
  }
  return 0; // unreachable: the loop only exits by returning
}

/** Fills an empty slot with `key` and zero statistics. */
@inline
export function tableInsertAt(slot: usize, key: u64): void {
  store<u64>(slot, key);
  store<u32>(slot + S_EVENTS, 0);
  store<u32>(slot + S_DAYS, 0);
  store<u32>(slot + S_LAST_DAY, NO_DAY);
  store<u32>(slot + 20, 0);
  store<u64>(slot + S_LAST_SEQ, 0);
}

@inline
export function tableSetUsed(table: usize, used: u32): void {
  store<u32>(table + H_USED, used);
}

@inline
export function tableSetConsumed(table: usize, rows: u32): void {
  store<u32>(table + H_CONSUMED, rows);
}
