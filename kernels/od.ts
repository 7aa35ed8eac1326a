// Origin-destination matrices and the unmoving / reference-location counts.
//
// trips_od_matrix: a subscriber counts once for (A, B), A != B, when their
// first located event at A is at an earlier second than their last one at B.
// Times are compared strictly, as FlowKit does (earliest_visit < latest_visit),
// so two events in the same second never make a trip. countVisits keeps the
// first and last second per (sub, loc) in a visit table over the whole window;
// countTrips then groups the table by subscriber and checks every ordered pair.
//
// consecutive_trips_od_matrix: a subscriber counts once for (A, B), A = B
// included, when one of their located qualifying events at A is directly
// followed by one at B. Rows come in the spec's chronological order (time, then
// ingest order, days in date order), so the previous location per subscriber
// (prevLoc, i32 per local sub, -1 = none, host-owned and kept across the day
// calls) gives the pairs; a key set of (sub, A * nLocs + B) (buckets.ts, floor 0)
// keeps each subscriber's pairs once, and countConsecutiveTrips turns it into
// the matrix.
//
// Unmoving and reference-location counts work on unique_locations' distinct
// (sub, loc) keys (tableKeys) and a reference location vector (i32 per sub).
//
// Every output here accumulates (out += ...) per location or per (from, to) in
// a dense u32 matrix out[from * nLocs + to]. Subscriber partitions are
// disjoint, so the host sums partitions' outputs; instances running at the same
// time need their own outputs.
//
// The visit table is table.ts's table with 16-byte slots:
//   +0  u32 sub     partition-local subscriber; 0xFFFFFFFF = empty slot
//   +4  i32 loc     location, >= 0                 ((sub, loc) is the u64 key)
//   +8  u32 first   earliest second of a located qualifying event there
//   +12 u32 last    latest such second

import { STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK } from './shared/constants';
import { keyProbe, keySetFinish, keySetFloor, keySetLimit, keySetUsed, keySetValid, keySlot } from './buckets';
import { BAD_SUB, eventLoc, eventSub, locatedEvent, nextRun, runEnd, runStart } from './scan';
import { EMPTY, clearTable, consumedOf, finishTable, isLive, keyOf, loadLimit, probe, rehashTable, slotOf, tableBytesOf, usedOf, validTable } from './table';

const SLOT_BYTES: usize = 16;
const MAX_CAPACITY: u32 = 1 << 27;

const V_FIRST: usize = 8;
const V_LAST: usize = 12;

/** Largest nLocs of a dense OD matrix: from * nLocs + to must stay below 2^32. */
const MAX_OD_LOCS: u32 = 0xffff;

/** Bytes a visit table of `capacity` slots occupies: 32 + 16 * capacity. */
export function visitTableBytes(capacity: u32): usize {
  return tableBytesOf(capacity, SLOT_BYTES);
}

/** Empties the visit table at `table`; capacity: slots, a power of two in [8, 2^27]. Status. */
export function visitTableClear(table: usize, capacity: u32): i32 {
  return clearTable(table, capacity, SLOT_BYTES, MAX_CAPACITY);
}

/** Occupied slots of the visit table, [0, capacity). */
export function visitTableUsed(table: usize): u32 {
  return usedOf(table);
}

/** Rows the last countVisits call on this table consumed, [0, n]. */
export function visitTableConsumed(table: usize): u32 {
  return consumedOf(table);
}

/** Copies every entry of `src` into `dst` (cleared here); capacities in slots. Status: CAPACITY if dst cannot hold them. */
export function visitTableRehash(src: usize, srcCapacity: u32, dst: usize, dstCapacity: u32): i32 {
  return rehashTable(src, srcCapacity, dst, dstCapacity, SLOT_BYTES, MAX_CAPACITY);
}

@inline
function visitSlot(table: usize, index: u32): usize {
  return slotOf(table, index, SLOT_BYTES);
}

/** Adds the rows' located qualifying events to the visit table per (sub < nSubs, loc): first and last second. Status; CAPACITY: rows [0, visitTableConsumed) are in. */
export function countVisits(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, table: usize, capacity: u32, dropPtr: usize,
): i32 {
  if (!validTable(table, capacity)) return STATUS_BAD_ARGUMENT;
  const mask = capacity - 1;
  const limit = loadLimit(capacity);
  let used = usedOf(table);
  let status = STATUS_OK;
  let i: u32 = 0;
  let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask);
  while (runStart(run) < n) {
    const end = runEnd(run);
    for (i = runStart(run); i < end; i++) {
      const e = locatedEvent(i, subPtr, cellPtr, kindPtr, typeMask, locPtr, nCells, nSubs, dropPtr);
      if (e >= BAD_SUB) {
        if (e == BAD_SUB) { status = STATUS_BAD_ARGUMENT; break; }
        continue;
      }
      const t = load<u32>(tPtr + (<usize>i << 2));
      const key = keyOf(eventSub(e), <u32>eventLoc(e));
      const slot = probe(table, mask, key, SLOT_BYTES, 0);
      if (load<u64>(slot) != key) {
        if (used >= limit) { status = STATUS_CAPACITY; break; }
        store<u64>(slot, key);
        store<u32>(slot + V_FIRST, t);
        store<u32>(slot + V_LAST, t);
        used++;
      } else {
        // Rows are chronological, but min / max make the result independent of order.
        store<u32>(slot + V_FIRST, min(load<u32>(slot + V_FIRST), t));
        store<u32>(slot + V_LAST, max(load<u32>(slot + V_LAST), t));
      }
    }
    if (status != STATUS_OK) break;
    run = nextRun(tPtr, end, n, tStart, tEnd, hourMask);
  }
  finishTable(table, used, 0, status == STATUS_OK ? n : i);
  return status;
}

/** Scratch bytes countTrips needs: 4 * (nSubs + 1) + 12 * entries (visitTableUsed); 0 if that passes 2^32. */
export function tripsScratchBytes(nSubs: u32, entries: u32): usize {
  const bytes = ((<u64>nSubs + 1) << 2) + <u64>entries * 12;
  return bytes >= 0x100000000 ? 0 : <usize>bytes;
}

/**
 * out[a * nLocs + b] += subscribers of the visit table with first[a] < last[b], a != b
 * (u32[nLocs * nLocs], nLocs <= 65535); subs < nSubs, locations < nLocs.
 * scratch: tripsScratchBytes(nSubs, visitTableUsed). Status.
 */
export function countTrips(table: usize, capacity: u32, nSubs: u32, nLocs: u32, scratch: usize, out: usize): i32 {
  if (!validTable(table, capacity) || nLocs > MAX_OD_LOCS) return STATUS_BAD_ARGUMENT;
  // Group the entries by subscriber with one counting sort: offsets (u32[nSubs + 1]),
  // then per entry (loc, first, last) at `entries`.
  const offsets = scratch;
  const entries = scratch + ((<usize>nSubs + 1) << 2);
  memory.fill(offsets, 0, (<usize>nSubs + 1) << 2);
  for (let i: u32 = 0; i < capacity; i++) {
    const slot = visitSlot(table, i);
    const sub = load<u32>(slot);
    if (sub == EMPTY) continue;
    if (sub >= nSubs || <u32>load<i32>(slot + 4) >= nLocs) return STATUS_BAD_ARGUMENT;
    const count = offsets + ((<usize>sub + 1) << 2);
    store<u32>(count, load<u32>(count) + 1);
  }
  for (let s: u32 = 0; s < nSubs; s++) {
    const next = offsets + ((<usize>s + 1) << 2);
    store<u32>(next, load<u32>(next) + load<u32>(next - 4));
  }
  // offsets[s] is s's start; after the scatter it is s's end, so s spans [offsets[s - 1], offsets[s]).
  for (let i: u32 = 0; i < capacity; i++) {
    const slot = visitSlot(table, i);
    const sub = load<u32>(slot);
    if (sub == EMPTY) continue;
    const cursor = offsets + (<usize>sub << 2);
    const position = load<u32>(cursor);
    store<u32>(cursor, position + 1);
    const entry = entries + <usize>position * 12;
    store<u32>(entry, load<u32>(slot + 4));
    store<u32>(entry + 4, load<u32>(slot + V_FIRST));
    store<u32>(entry + 8, load<u32>(slot + V_LAST));
  }
  let start: u32 = 0;
  for (let s: u32 = 0; s < nSubs; s++) {
    const end = load<u32>(offsets + (<usize>s << 2));
    for (let i = start; i < end; i++) {
      const a = entries + <usize>i * 12;
      const from = <usize>load<u32>(a) * <usize>nLocs;
      const firstA = load<u32>(a + 4);
      for (let j = start; j < end; j++) {
        const b = entries + <usize>j * 12;
        if (i == j || firstA >= load<u32>(b + 8)) continue;
        const cell = out + ((from + <usize>load<u32>(b)) << 2);
        store<u32>(cell, load<u32>(cell) + 1);
      }
    }
    start = end;
  }
  return STATUS_OK;
}

/**
 * Adds the rows' consecutive located qualifying event pairs (prevLoc[sub], loc), per subscriber
 * once, to the key set (floor 0: cleared for this use only); prevLoc: i32 per local sub < nSubs,
 * -1 before a sub's first event, updated here; locations < nLocs <= 65535. Status; CAPACITY:
 * rows [0, keySetConsumed) are in.
 */
export function countConsecutivePairs(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, nLocs: u32, prevLoc: usize, set: usize, capacity: u32, dropPtr: usize,
): i32 {
  if (!keySetValid(set, capacity) || keySetFloor(set) != 0 || nLocs > MAX_OD_LOCS) return STATUS_BAD_ARGUMENT;
  const mask = capacity - 1;
  const limit = keySetLimit(capacity);
  let used = keySetUsed(set);
  let status = STATUS_OK;
  let i: u32 = 0;
  let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask);
  while (runStart(run) < n) {
    const end = runEnd(run);
    for (i = runStart(run); i < end; i++) {
      const e = locatedEvent(i, subPtr, cellPtr, kindPtr, typeMask, locPtr, nCells, nSubs, dropPtr);
      if (e >= BAD_SUB) {
        if (e == BAD_SUB) { status = STATUS_BAD_ARGUMENT; break; }
        continue;
      }
      const sub = eventSub(e);
      const l = eventLoc(e);
      if (<u32>l >= nLocs) { status = STATUS_BAD_ARGUMENT; break; }
      const prev = prevLoc + (<usize>sub << 2);
      const p = load<i32>(prev);
      if (p >= 0) {
        if (<u32>p >= nLocs) { status = STATUS_BAD_ARGUMENT; break; }
        const key = keyOf(sub, <u32>p * nLocs + <u32>l);
        const slot = keyProbe(set, mask, key, 0);
        if (load<u64>(slot) != key) {
          // Stop before the row, prevLoc untouched, so the host can resume here.
          if (used >= limit) { status = STATUS_CAPACITY; break; }
          store<u64>(slot, key);
          used++;
        }
      }
      store<i32>(prev, l);
    }
    if (status != STATUS_OK) break;
    run = nextRun(tPtr, end, n, tStart, tEnd, hourMask);
  }
  keySetFinish(set, used, 0, status == STATUS_OK ? n : i);
  return status;
}

/** out[a * nLocs + b] += subscribers with a consecutive pair (a, b) in the key set (u32[nLocs * nLocs], nLocs <= 65535). Status. */
export function countConsecutiveTrips(set: usize, capacity: u32, nLocs: u32, out: usize): i32 {
  if (!keySetValid(set, capacity) || keySetFloor(set) != 0 || nLocs > MAX_OD_LOCS) return STATUS_BAD_ARGUMENT;
  const cells = nLocs * nLocs;
  for (let i: u32 = 0; i < capacity; i++) {
    const key = load<u64>(keySlot(set, i));
    if (!isLive(key, 0)) continue;
    const pair = <u32>(key >> 32);
    if (pair >= cells) return STATUS_BAD_ARGUMENT;
    const cell = out + (<usize>pair << 2);
    store<u32>(cell, load<u32>(cell) + 1);
  }
  return STATUS_OK;
}

/**
 * scratch[sub] (i32 per sub < nSubs) = the sub's only location among the m keys, -1 if none,
 * -2 if several; keys (sub u32, loc i32, locations < nLocs) may repeat. Status.
 */
@inline
function onlyLocations(keySub: usize, keyLoc: usize, m: u32, nSubs: u32, nLocs: u32, scratch: usize): i32 {
  memory.fill(scratch, 0xff, <usize>nSubs << 2);
  for (let i: u32 = 0; i < m; i++) {
    const sub = load<u32>(keySub + (<usize>i << 2));
    const l = load<i32>(keyLoc + (<usize>i << 2));
    if (sub >= nSubs || l < 0 || <u32>l >= nLocs) return STATUS_BAD_ARGUMENT;
    const at = scratch + (<usize>sub << 2);
    const seen = load<i32>(at);
    if (seen == -1) store<i32>(at, l);
    else if (seen != l) store<i32>(at, -2);
  }
  return STATUS_OK;
}

/** out[loc] += subscribers whose only location among the m (sub, loc) keys is loc (u32[nLocs]); scratch: 4 * nSubs bytes. Status. */
export function unmovingCounts(keySub: usize, keyLoc: usize, m: u32, nSubs: u32, nLocs: u32, scratch: usize, out: usize): i32 {
  const status = onlyLocations(keySub, keyLoc, m, nSubs, nLocs, scratch);
  if (status != STATUS_OK) return status;
  for (let s: u32 = 0; s < nSubs; s++) {
    const l = load<i32>(scratch + (<usize>s << 2));
    if (l < 0) continue;
    const cell = out + (<usize>l << 2);
    store<u32>(cell, load<u32>(cell) + 1);
  }
  return STATUS_OK;
}

/**
 * out[ref] += subscribers with at least one key, every one at their reference location refVec[sub]
 * (i32 per sub, -1 = none, else < nLocs); u32[nLocs]; scratch: 4 * nSubs bytes. Status.
 */
export function unmovingAtReferenceCounts(
  keySub: usize, keyLoc: usize, m: u32, refVec: usize, nSubs: u32, nLocs: u32, scratch: usize, out: usize,
): i32 {
  const status = onlyLocations(keySub, keyLoc, m, nSubs, nLocs, scratch);
  if (status != STATUS_OK) return status;
  for (let s: u32 = 0; s < nSubs; s++) {
    const ref = load<i32>(refVec + (<usize>s << 2));
    if (ref >= <i32>nLocs) return STATUS_BAD_ARGUMENT;
    if (ref < 0 || load<i32>(scratch + (<usize>s << 2)) != ref) continue;
    const cell = out + (<usize>ref << 2);
    store<u32>(cell, load<u32>(cell) + 1);
  }
  return STATUS_OK;
}

/**
 * out[ref] += subscribers whose reference location refVec[sub] (i32 per sub, -1 = none, else
 * < nLocs) is among their keys (u32[nLocs]); scratch: 4 * nSubs bytes. Status.
 */
export function activeAtReferenceCounts(
  keySub: usize, keyLoc: usize, m: u32, refVec: usize, nSubs: u32, nLocs: u32, scratch: usize, out: usize,
): i32 {
  memory.fill(scratch, 0, <usize>nSubs << 2);
  for (let i: u32 = 0; i < m; i++) {
    const sub = load<u32>(keySub + (<usize>i << 2));
    const l = load<i32>(keyLoc + (<usize>i << 2));
    if (sub >= nSubs || l < 0 || <u32>l >= nLocs) return STATUS_BAD_ARGUMENT;
    if (load<i32>(refVec + (<usize>sub << 2)) == l) store<u32>(scratch + (<usize>sub << 2), 1);
  }
  for (let s: u32 = 0; s < nSubs; s++) {
    const ref = load<i32>(refVec + (<usize>s << 2));
    if (ref >= <i32>nLocs) return STATUS_BAD_ARGUMENT;
    if (load<u32>(scratch + (<usize>s << 2)) == 0) continue;
    const cell = out + (<usize>ref << 2);
    store<u32>(cell, load<u32>(cell) + 1);
  }
  return STATUS_OK;
}
