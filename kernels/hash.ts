// The location table: per (partition-local subscriber, location), what the
// location kernels need to choose a subscriber's location: event count,
// distinct days and the latest event. Table mechanics (header, probing, load
// cap, growing): table.ts. The host allocates it in the shared memory and
// passes its byte offset; the slot layout is known only to this file and
// locate.ts (the host asks `tableBytes`, `tableUsed` and `tableConsumed`).
//
// Slot i, 32 bytes, so that one never straddles a cache line:
//   +0  u32 sub        partition-local subscriber; 0xFFFFFFFF = empty slot
//   +4  i32 loc        location index, >= 0        ((sub, loc) is the u64 key)
//   +8  u32 events     located qualifying events
//   +12 u32 days       distinct days with such an event
//   +16 u32 lastDay    day (days since 1970) of the latest such event; 0xFFFFFFFF before the first
//   +20 u32            reserved
//   +24 u64 lastSeq    sequence number of the latest such event (larger = later)

import { EMPTY, clearTable, consumedOf, keyOf, rehashTable, slotOf, tableBytesOf, usedOf } from './table';

export const SLOT_BYTES: usize = 32;
export const MAX_CAPACITY: u32 = 1 << 26;
const NO_DAY: u32 = 0xffffffff;

export const S_SUB: usize = 0;
export const S_LOC: usize = 4;
export const S_EVENTS: usize = 8;
export const S_DAYS: usize = 12;
export const S_LAST_DAY: usize = 16;
export const S_LAST_SEQ: usize = 24;

/** Bytes a table of `capacity` slots occupies: 32 + 32 * capacity. */
export function tableBytes(capacity: u32): usize {
  return tableBytesOf(capacity, SLOT_BYTES);
}

/** Empties the table at `table`; capacity: slots, a power of two in [8, 2^26]. Status. */
export function tableClear(table: usize, capacity: u32): i32 {
  return clearTable(table, capacity, SLOT_BYTES, MAX_CAPACITY);
}

/** Occupied slots of the table, [0, capacity). */
export function tableUsed(table: usize): u32 {
  return usedOf(table);
}

/** Rows the last counting call on this table consumed, [0, n]. */
export function tableConsumed(table: usize): u32 {
  return consumedOf(table);
}

/** Copies every entry of `src` into `dst` (cleared here); capacities in slots. Status: CAPACITY if dst cannot hold them. */
export function tableRehash(src: usize, srcCapacity: u32, dst: usize, dstCapacity: u32): i32 {
  return rehashTable(src, srcCapacity, dst, dstCapacity, SLOT_BYTES, MAX_CAPACITY);
}

@inline
export function tableSlot(table: usize, index: u32): usize {
  return slotOf(table, index, SLOT_BYTES);
}

@inline
export function tableKey(sub: u32, loc: i32): u64 {
  return keyOf(sub, <u32>loc);
}

@inline
export function isEmpty(slot: usize): bool {
  return load<u32>(slot + S_SUB) == EMPTY;
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
