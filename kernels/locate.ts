// Per-subscriber locations: where each subscriber was, by the spec's methods
// (last, most-common, visited-most-days, unique locations).
//
// Every kernel here scans one (day, partition) range of rows, which the host
// has sorted by time with ingest-order ties, so a scan in row order is
// chronological with the spec's tie rule. Filters, runs and locating: scan.ts.

import { SECONDS_PER_DAY, STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK } from './shared/constants';
import { S_DAYS, S_EVENTS, S_LAST_DAY, S_LAST_SEQ, S_LOC, S_SUB, SLOT_BYTES, isEmpty, tableInsertAt, tableKey, tableSlot } from './hash';
import { BAD_SUB, countDrop, eventLoc, eventSub, keptKinds, locatedEvent, nextRun, runEnd, runStart } from './scan';
import { finishTable, floorOf, loadLimit, probe, usedOf, validTable } from './table';

const DAY: u32 = SECONDS_PER_DAY;

/** outLoc[sub] (i32 per local sub, < nSubs) = location of the sub's latest located qualifying event of these n rows, if any. Status. */
export function lastLocation(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, outLoc: usize, dropPtr: usize,
): i32 {
  const keep = keptKinds(typeMask, 0b111);
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    const start = runStart(run);
    const kindEnd = kindPtr + <usize>runEnd(run);
    let sub = subPtr + (<usize>start << 2);
    let cell = cellPtr + (<usize>start << 2);
    for (let kind = kindPtr + <usize>start; kind < kindEnd; kind++, sub += 4, cell += 4) {
      const c = load<u32>(cell);
      const kept = (keep >> <u32>load<u8>(kind)) & 1;
      const l = c < nCells ? load<i32>(locPtr + (<usize>c << 2)) : -1;
      if (kept == 0) continue;
      if (l < 0) {
        countDrop(l, dropPtr);
        continue;
      }
      const s = load<u32>(sub);
      if (s >= nSubs) return STATUS_BAD_ARGUMENT;
      // Rows are chronological, so the last write wins the spec's tie rule.
      store<i32>(outLoc + (<usize>s << 2), l);
    }
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
  if (!validTable(table, capacity)) return STATUS_BAD_ARGUMENT;
  const mask = capacity - 1;
  const limit = loadLimit(capacity);
  const seq0 = <u64>seqBase;
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
      const key = tableKey(eventSub(e), eventLoc(e));
      const slot = probe(table, mask, key, SLOT_BYTES, 0);
      if (isEmpty(slot)) {
        // Stop before this row, not inside it, so the host can resume here.
        if (used >= limit) { status = STATUS_CAPACITY; break; }
        tableInsertAt(slot, key);
        used++;
      }
      store<u32>(slot + S_EVENTS, load<u32>(slot + S_EVENTS) + 1);
      // Calls come in date order, so a day differing from the last one seen is new.
      const day = load<u32>(tPtr + (<usize>i << 2)) / DAY;
      if (load<u32>(slot + S_LAST_DAY) != day) {
        store<u32>(slot + S_LAST_DAY, day);
        store<u32>(slot + S_DAYS, load<u32>(slot + S_DAYS) + 1);
      }
      store<u64>(slot + S_LAST_SEQ, seq0 + <u64>i);
    }
    if (status != STATUS_OK) break;
    run = nextRun(tPtr, end, n, tStart, tEnd, hourMask);
  }
  finishTable(table, used, floorOf(table), status == STATUS_OK ? n : i);
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
  if (!validTable(table, capacity)) return STATUS_BAD_ARGUMENT;
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
  if (!validTable(table, capacity)) return -1;
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
