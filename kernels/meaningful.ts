// Meaningful locations (FlowKit's CallDays and EventScore, per subscriber and
// position): one pass over a window's located qualifying events accumulating, per
// (partition-local subscriber, lon-lat location), the events, the distinct days
// with an event (call days), and the sums of the events' hour-of-day and
// day-of-week scores. The host then clusters each subscriber's positions
// (Hartigan leader clustering) from the entries this table dumps.
//
// The table is this file's own (its slots are larger than hash.ts's):
//   header, 32 bytes: +0 u32 used, +4 u32 capacity, +8 u32 consumed
//   slot i at table + 32 + 48 * i:
//     +0  u32 sub (0xFFFFFFFF = empty)   +4  i32 loc
//     +8  u32 events                     +12 u32 days
//     +16 u32 lastDay (0xFFFFFFFF none)  +20 reserved
//     +24 f64 sum of hour scores         +32 f64 sum of day-of-week scores
//     +40 reserved
// Linear probing, load capped at 3/4: a call that would exceed it stops with
// STATUS_CAPACITY after recording the rows it consumed; the host rehashes into a
// table twice the size and resumes there, so no row counts twice.
//
// Rows must come day by day in increasing day order (the host scans the window's
// days ascending), so "a new day for this key" is lastDay != day.

import { SECONDS_PER_DAY, STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK } from './shared/constants';
import { locateCell, qualifies } from './locate';

const HEADER: usize = 32;
const SLOT: usize = 48;
const EMPTY: u32 = 0xffffffff;

const M_SUB: usize = 0;
const M_LOC: usize = 4;
const M_EVENTS: usize = 8;
const M_DAYS: usize = 12;
const M_LAST_DAY: usize = 16;
const M_SUM_HOUR: usize = 24;
const M_SUM_DOW: usize = 32;

@inline
function slotAt(table: usize, i: u32): usize {
  return table + HEADER + <usize>i * SLOT;
}

@inline
function limitOf(capacity: u32): u32 {
  return capacity - (capacity >> 2);
}

@inline
function hashOf(sub: u32, loc: i32): u32 {
  const key = (<u64>(<u32>loc) << 32) | <u64>sub;
  return <u32>((key * 0x9e3779b97f4a7c15) >> 32);
}

function valid(table: usize, capacity: u32): bool {
  return capacity >= 8 && (capacity & (capacity - 1)) == 0 && load<u32>(table + 4) == capacity;
}

/** Bytes of a table of `capacity` slots. */
export function meaningfulTableBytes(capacity: u32): usize {
  return HEADER + <usize>capacity * SLOT;
}

/** Empties a table; capacity a power of two in [8, 2^26]. Status. */
export function meaningfulTableClear(table: usize, capacity: u32): i32 {
  if (capacity < 8 || capacity > (1 << 26) || (capacity & (capacity - 1)) != 0) return STATUS_BAD_ARGUMENT;
  memory.fill(table, 0, HEADER);
  store<u32>(table + 4, capacity);
  for (let i: u32 = 0; i < capacity; i++) store<u32>(slotAt(table, i) + M_SUB, EMPTY);
  return STATUS_OK;
}

export function meaningfulTableUsed(table: usize): u32 {
  return load<u32>(table);
}

export function meaningfulTableConsumed(table: usize): u32 {
  return load<u32>(table + 8);
}

/** The slot of (sub, loc), claimed if new; -1 when a new key would pass the load limit. */
@inline
function findOrClaim(table: usize, capacity: u32, sub: u32, loc: i32): i64 {
  const mask = capacity - 1;
  let i = hashOf(sub, loc) & mask;
  for (;;) {
    const s = slotAt(table, i);
    const sSub = load<u32>(s + M_SUB);
    if (sSub == EMPTY) {
      const used = load<u32>(table);
      if (used + 1 > limitOf(capacity)) return -1;
      store<u32>(table, used + 1);
      store<u32>(s + M_SUB, sub);
      store<i32>(s + M_LOC, loc);
      store<u32>(s + M_EVENTS, 0);
      store<u32>(s + M_DAYS, 0);
      store<u32>(s + M_LAST_DAY, EMPTY);
      store<f64>(s + M_SUM_HOUR, 0);
      store<f64>(s + M_SUM_DOW, 0);
      return <i64>s;
    }
    if (sSub == sub && load<i32>(s + M_LOC) == loc) return <i64>s;
    i = (i + 1) & mask;
  }
  return -1; // unreachable: the load limit keeps an empty slot
}

/** Copies every entry of src into dst (cleared here). Status: CAPACITY if dst cannot hold them. */
export function meaningfulTableRehash(src: usize, srcCapacity: u32, dst: usize, dstCapacity: u32): i32 {
  if (!valid(src, srcCapacity)) return STATUS_BAD_ARGUMENT;
  const status = meaningfulTableClear(dst, dstCapacity);
  if (status != STATUS_OK) return status;
  if (load<u32>(src) > limitOf(dstCapacity)) return STATUS_CAPACITY;
  for (let i: u32 = 0; i < srcCapacity; i++) {
    const from = slotAt(src, i);
    const sub = load<u32>(from + M_SUB);
    if (sub == EMPTY) continue;
    const to = <usize>findOrClaim(dst, dstCapacity, sub, load<i32>(from + M_LOC));
    memory.copy(to, from, SLOT);
  }
  return STATUS_OK;
}

/**
 * Adds n rows (one day's range of a partition, time-sorted) to the table. An event
 * qualifies by type, window and hour; it is located through the lon-lat table `loc`
 * (drops counted as the location kernels do). hourScores: f64[24] (hour 0 first);
 * dowScores: f64[7] (Monday first). Status; CAPACITY after recording the rows consumed.
 */
export function meaningfulAccumulate(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, hourScores: usize, dowScores: usize, table: usize, capacity: u32, dropPtr: usize,
): i32 {
  if (!valid(table, capacity)) return STATUS_BAD_ARGUMENT;
  for (let i: u32 = 0; i < n; i++) {
    const at = <usize>i << 2;
    const t = load<u32>(tPtr + at);
    if (!qualifies(t, load<u8>(kindPtr + i), typeMask, tStart, tEnd, hourMask)) continue;
    const sub = load<u32>(subPtr + at);
    if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
    const l = locateCell(load<u32>(cellPtr + at), locPtr, nCells, dropPtr);
    if (l < 0) continue;
    const found = findOrClaim(table, capacity, sub, l);
    if (found < 0) {
      // Row i is not counted (a located row counts no drop): the host resumes at it.
      store<u32>(table + 8, i);
      return STATUS_CAPACITY;
    }
    const s = <usize>found;
    const day = t / SECONDS_PER_DAY;
    const hour = (t % SECONDS_PER_DAY) / 3600;
    // 1970-01-01 was a Thursday: Monday-first index (day + 3) % 7.
    const dow = (day + 3) % 7;
    store<u32>(s + M_EVENTS, load<u32>(s + M_EVENTS) + 1);
    if (load<u32>(s + M_LAST_DAY) != day) {
      store<u32>(s + M_LAST_DAY, day);
      store<u32>(s + M_DAYS, load<u32>(s + M_DAYS) + 1);
    }
    store<f64>(s + M_SUM_HOUR, load<f64>(s + M_SUM_HOUR) + load<f64>(hourScores + (<usize>hour << 3)));
    store<f64>(s + M_SUM_DOW, load<f64>(s + M_SUM_DOW) + load<f64>(dowScores + (<usize>dow << 3)));
  }
  store<u32>(table + 8, n);
  return STATUS_OK;
}

/**
 * Writes every entry in slot order: sub (u32), loc (i32), events and days (u32),
 * hour and day-of-week score sums (f64). Returns the count, or -1 for a bad table.
 */
export function meaningfulEntries(
  table: usize, capacity: u32, outSub: usize, outLoc: usize, outEvents: usize, outDays: usize, outSumHour: usize, outSumDow: usize,
): i32 {
  if (!valid(table, capacity)) return -1;
  let k: u32 = 0;
  for (let i: u32 = 0; i < capacity; i++) {
    const s = slotAt(table, i);
    const sub = load<u32>(s + M_SUB);
    if (sub == EMPTY) continue;
    const a = <usize>k << 2;
    const b = <usize>k << 3;
    store<u32>(outSub + a, sub);
    store<i32>(outLoc + a, load<i32>(s + M_LOC));
    store<u32>(outEvents + a, load<u32>(s + M_EVENTS));
    store<u32>(outDays + a, load<u32>(s + M_DAYS));
    store<f64>(outSumHour + b, load<f64>(s + M_SUM_HOUR));
    store<f64>(outSumDow + b, load<f64>(s + M_SUM_DOW));
    k++;
  }
  return <i32>k;
}
