// Per-subscriber locations: where each subscriber was, by the spec's methods
// (last, most-common, visited-most-days, unique locations).
//
// Every kernel here scans one (day, partition) range of rows, which the host
// has sorted by time with ingest-order ties, so a scan in row order is
// chronological with the spec's tie rule. An event qualifies when its type is in
// `typeMask` (bit per type code), tStart <= t < tEnd, and its local hour is in
// `hourMask` (bit h = hour h). A qualifying event is located through the day's
// table `loc` (i32 per cell key: location >= 0, or drop code -2 unknown / no valid
// version, -3 outside every region); a cell >= nCells (0xFFFFFFFF included) is
// drop code -1. Dropped qualifying events are counted in drops[-code] (u32[4] at
// `dropPtr`); a malformed code (< -3) is counted in drops[0], which the host
// checks, so that a bad table can never make a kernel write outside the counters.

import { SECONDS_PER_DAY, STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK, TYPE_MASK } from './shared/constants';
import {
  S_DAYS, S_EVENTS, S_LAST_DAY, S_LAST_SEQ, S_LOC, S_SUB,
  isEmpty, tableInsertAt, tableKey, tableLimit, tableProbe, tableSetConsumed, tableSetUsed, tableSlot,
  tableUsed, tableValid,
} from './hash';

const DAY: u32 = SECONDS_PER_DAY;
const HOUR: u32 = 3600;

/** Whether an event passes the type, time-window and hour filters. */
@inline
export function qualifies(t: u32, kind: u32, typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32): bool {
  // Bitwise, not short-circuit: the filters' outcomes are data-dependent, and
  // one combined test mispredicts less than four.
  const hour = (t % DAY) / HOUR;
  const inWindow = <u32>(t >= tStart) & <u32>(t < tEnd);
  return (inWindow & (typeMask >> (kind & TYPE_MASK)) & (hourMask >> hour) & 1) != 0;
}

/** The location of a cell on the table's day, or -1 after counting the drop. */
@inline
export function locateCell(cell: u32, locPtr: usize, nCells: u32, dropPtr: usize): i32 {
  let code: u32 = 1; // no cell
  if (cell < nCells) {
    const l = load<i32>(locPtr + (<usize>cell << 2));
    if (l >= 0) return l;
    code = <u32>-l;
    if (code > 3) code = 0;
  }
  const counter = dropPtr + (<usize>code << 2);
  store<u32>(counter, load<u32>(counter) + 1);
  return -1;
}

/** outLoc[sub] (i32 per local sub, < nSubs) = location of the sub's latest located qualifying event of these n rows, if any. Status. */
export function lastLocation(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, outLoc: usize, dropPtr: usize,
): i32 {
  for (let i: u32 = 0; i < n; i++) {
    const at = <usize>i << 2;
    if (!qualifies(load<u32>(tPtr + at), load<u8>(kindPtr + i), typeMask, tStart, tEnd, hourMask)) continue;
    const l = locateCell(load<u32>(cellPtr + at), locPtr, nCells, dropPtr);
    if (l < 0) continue;
    const sub = load<u32>(subPtr + at);
    if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
    // Rows are chronological, so the last write wins the spec's tie rule.
    store<i32>(outLoc + (<usize>sub << 2), l);
  }
  return STATUS_OK;
}

// Sequence numbers only need to order a subscriber's events, and a subscriber's
// rows all live in one partition, so seqBase counts that partition's rows so far.
// seqBase is an f64 because i64 would cross into JavaScript as a BigInt.
/** Adds the rows' located qualifying events to the table per (sub < nSubs, loc): events, distinct days, latest = seqBase + row (integer in [0, 2^53), above every earlier call's). Status; CAPACITY: rows [0, tableConsumed) are in. */
export function countLocations(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, seqBase: f64, table: usize, capacity: u32, dropPtr: usize,
): i32 {
  if (!tableValid(table, capacity)) return STATUS_BAD_ARGUMENT;
  const mask = capacity - 1;
  const limit = tableLimit(capacity);
  const seq0 = <u64>seqBase;
  let used = tableUsed(table);
  let status = STATUS_OK;
  let i: u32 = 0;
  for (; i < n; i++) {
    const at = <usize>i << 2;
    const t = load<u32>(tPtr + at);
    if (!qualifies(t, load<u8>(kindPtr + i), typeMask, tStart, tEnd, hourMask)) continue;
    const l = locateCell(load<u32>(cellPtr + at), locPtr, nCells, dropPtr);
    if (l < 0) continue;
    const sub = load<u32>(subPtr + at);
    if (sub >= nSubs) { status = STATUS_BAD_ARGUMENT; break; }
    const key = tableKey(sub, l);
    const slot = tableProbe(table, mask, key);
    if (isEmpty(slot)) {
      // Stop before this row, not inside it, so the host can resume here.
      if (used >= limit) { status = STATUS_CAPACITY; break; }
      tableInsertAt(slot, key);
      used++;
    }
    store<u32>(slot + S_EVENTS, load<u32>(slot + S_EVENTS) + 1);
    // Calls come in date order, so a day differing from the last one seen is new.
    const day = t / DAY;
    if (load<u32>(slot + S_LAST_DAY) != day) {
      store<u32>(slot + S_LAST_DAY, day);
      store<u32>(slot + S_DAYS, load<u32>(slot + S_DAYS) + 1);
    }
    store<u64>(slot + S_LAST_SEQ, seq0 + <u64>i);
  }
  tableSetUsed(table, used);
  tableSetConsumed(table, i);
  return status;
}

/**
 * Writes into outLoc (i32 per local sub, host-initialised to -1) the best location
 * of each subscriber in the table. byDays: (days, events, latest), else (events, latest).
 * While scanning, outLoc holds the index of the best slot so far; a second pass
 * replaces it with that slot's location. Latest sequence numbers are distinct, so
 * the choice never depends on slot order.
 */
@inline
function pickBest(table: usize, capacity: u32, nSubs: u32, outLoc: usize, byDays: bool): i32 {
  if (!tableValid(table, capacity)) return STATUS_BAD_ARGUMENT;
  for (let i: u32 = 0; i < capacity; i++) {
    const slot = tableSlot(table, i);
    if (isEmpty(slot)) continue;
    const sub = load<u32>(slot + S_SUB);
    if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
    const out = outLoc + (<usize>sub << 2);
    const current = load<i32>(out);
    if (current >= <i32>capacity) return STATUS_BAD_ARGUMENT; // outLoc was not -1-initialised
    if (current < 0 || beats(slot, tableSlot(table, <u32>current), byDays)) store<i32>(out, <i32>i);
  }
  for (let s: u32 = 0; s < nSubs; s++) {
    const out = outLoc + (<usize>s << 2);
    const best = load<i32>(out);
    if (best >= 0) store<i32>(out, load<i32>(tableSlot(table, <u32>best) + S_LOC));
  }
  return STATUS_OK;
}

@inline
function beats(a: usize, b: usize, byDays: bool): bool {
  if (byDays) {
    const da = load<u32>(a + S_DAYS);
    const db = load<u32>(b + S_DAYS);
    if (da != db) return da > db;
  }
  const ea = load<u32>(a + S_EVENTS);
  const eb = load<u32>(b + S_EVENTS);
  if (ea != eb) return ea > eb;
  return load<u64>(a + S_LAST_SEQ) > load<u64>(b + S_LAST_SEQ);
}

/** outLoc[sub] (i32 per local sub < nSubs, host-initialised to -1) = location with most events, tie -> latest event. Status. */
export function pickMostCommon(table: usize, capacity: u32, nSubs: u32, outLoc: usize): i32 {
  return pickBest(table, capacity, nSubs, outLoc, false);
}

/** outLoc[sub] (i32 per local sub < nSubs, host-initialised to -1) = location on most distinct days, tie -> most events -> latest event. Status. */
export function pickMostDays(table: usize, capacity: u32, nSubs: u32, outLoc: usize): i32 {
  return pickBest(table, capacity, nSubs, outLoc, true);
}

/** Writes the table's (sub, loc) pairs, in slot order, to outSub (u32) and outLoc (i32), each tableUsed long; returns the count, or -1 if the table is invalid. */
export function tableKeys(table: usize, capacity: u32, outSub: usize, outLoc: usize): i32 {
  if (!tableValid(table, capacity)) return -1;
  let k: usize = 0;
  for (let i: u32 = 0; i < capacity; i++) {
    const slot = tableSlot(table, i);
    if (isEmpty(slot)) continue;
    store<u32>(outSub + (k << 2), load<u32>(slot + S_SUB));
    store<i32>(outLoc + (k << 2), load<i32>(slot + S_LOC));
    k++;
  }
  return <i32>k;
}
