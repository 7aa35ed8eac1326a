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

// lastLocation takes a run's rows in blocks of 32 and tests a block's types and
// subscribers with SIMD: a swizzle of the kinds gives the block's kept rows as 32
// bits, and a max over its subscribers shows whether any is >= nSubs. A row of a
// block whose subscribers are all in bounds then costs its cell, location,
// subscriber and store, plus one bit test unless the whole block is kept: no
// per-row shift, subscriber bound or address increments (callgrind, every type
// kept: 26.1 -> 12.5 instructions a row; calls and mds only: 22.0 -> 8.9). A
// block with a subscriber out of bounds, and each run's last rows, take the
// row-at-a-time loop (lastRows), which stops at the first kept located one.

/** Rows lastLocation tests at once: two v128 of kinds. */
const BLOCK: u32 = 32;

/** outLoc[sub] (i32 per local sub, < nSubs) = location of the sub's latest located qualifying event of these n rows, if any. Status. */
export function lastLocation(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, outLoc: usize, dropPtr: usize,
): i32 {
  const keep = keptKinds(typeMask, 0b111);
  const keptLanes = keptKindLanes(keep);
  const subLimit = i32x4.splat(nSubs);
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    const start = runStart(run);
    const end = runEnd(run);
    let kind = kindPtr + <usize>start;
    let sub = subPtr + (<usize>start << 2);
    let cell = cellPtr + (<usize>start << 2);
    const blocksEnd = kind + <usize>((end - start) & ~(BLOCK - 1));
    for (; kind < blocksEnd; kind += BLOCK, sub += BLOCK << 2, cell += BLOCK << 2) {
      if (!subsBelow(sub, subLimit)) {
        if (!lastRows(kind, kind + BLOCK, sub, cell, keep, locPtr, nCells, nSubs, outLoc, dropPtr)) return STATUS_BAD_ARGUMENT;
        continue;
      }
      const kept = keptRows(kind, keptLanes) | (keptRows(kind + 16, keptLanes) << 16);
      if (kept == 0xffffffff) lastBlockAll(sub, cell, locPtr, nCells, outLoc, dropPtr);
      else lastBlock(kept, sub, cell, locPtr, nCells, outLoc, dropPtr);
    }
    if (!lastRows(kind, kindPtr + <usize>end, sub, cell, keep, locPtr, nCells, nSubs, outLoc, dropPtr)) return STATUS_BAD_ARGUMENT;
  }
  return STATUS_OK;
}

/** Byte k = 0xff when bit k of keep is set (k < 16), else 0: the swizzle table of kept kinds. */
@inline
function keptKindLanes(keep: u32): v128 {
  let lo: u64 = 0;
  let hi: u64 = 0;
  for (let k: u32 = 0; k < 8; k++) {
    lo |= <u64>(0xff & -((keep >> k) & 1)) << (k << 3);
    hi |= <u64>(0xff & -((keep >> (k + 8)) & 1)) << (k << 3);
  }
  return i64x2.replace_lane(i64x2.splat(lo), 1, hi);
}

/** Bit j set when row j of the 16 kinds at `kind` is kept: its (kind & 31), as a shift by kind uses, indexes keptLanes (>= 16: 0). */
@inline
function keptRows(kind: usize, keptLanes: v128): u32 {
  return <u32>i8x16.bitmask(i8x16.swizzle(keptLanes, v128.and(v128.load(kind), i8x16.splat(31))));
}

/** Whether the block's 32 subscribers at `sub` are all below subLimit's lanes (nSubs). */
@inline
function subsBelow(sub: usize, subLimit: v128): bool {
  const m = i32x4.max_u(
    i32x4.max_u(i32x4.max_u(v128.load(sub), v128.load(sub, 16)), i32x4.max_u(v128.load(sub, 32), v128.load(sub, 48))),
    i32x4.max_u(i32x4.max_u(v128.load(sub, 64), v128.load(sub, 80)), i32x4.max_u(v128.load(sub, 96), v128.load(sub, 112))),
  );
  return !v128.any_true(i32x4.ge_u(m, subLimit));
}

// Two copies of the block's rows, not one with a flag: binaryen folds a flag's
// two inlined copies back into one that tests it at run time.

/** The block's 32 rows, each if its bit in kept is set. */
@inline
function lastBlock(kept: u32, sub: usize, cell: usize, locPtr: usize, nCells: u32, outLoc: usize, dropPtr: usize): void {
  lastRows4(kept, 0, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRows4(kept, 4, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRows4(kept, 8, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRows4(kept, 12, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRows4(kept, 16, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRows4(kept, 20, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRows4(kept, 24, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRows4(kept, 28, sub, cell, locPtr, nCells, outLoc, dropPtr);
}

/** The block's 32 rows, all kept. */
@inline
function lastBlockAll(sub: usize, cell: usize, locPtr: usize, nCells: u32, outLoc: usize, dropPtr: usize): void {
  lastRowsAll4(0, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRowsAll4(4, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRowsAll4(8, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRowsAll4(12, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRowsAll4(16, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRowsAll4(20, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRowsAll4(24, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRowsAll4(28, sub, cell, locPtr, nCells, outLoc, dropPtr);
}

/** Rows j .. j + 3 (j constant), each if its bit in kept is set. */
@inline
function lastRows4(kept: u32, j: usize, sub: usize, cell: usize, locPtr: usize, nCells: u32, outLoc: usize, dropPtr: usize): void {
  if ((kept & (1 << <u32>j)) != 0) lastRow(j, sub, cell, locPtr, nCells, outLoc, dropPtr);
  if ((kept & (2 << <u32>j)) != 0) lastRow(j + 1, sub, cell, locPtr, nCells, outLoc, dropPtr);
  if ((kept & (4 << <u32>j)) != 0) lastRow(j + 2, sub, cell, locPtr, nCells, outLoc, dropPtr);
  if ((kept & (8 << <u32>j)) != 0) lastRow(j + 3, sub, cell, locPtr, nCells, outLoc, dropPtr);
}

/** Rows j .. j + 3 (j constant), all kept. */
@inline
function lastRowsAll4(j: usize, sub: usize, cell: usize, locPtr: usize, nCells: u32, outLoc: usize, dropPtr: usize): void {
  lastRow(j, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRow(j + 1, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRow(j + 2, sub, cell, locPtr, nCells, outLoc, dropPtr);
  lastRow(j + 3, sub, cell, locPtr, nCells, outLoc, dropPtr);
}

/** Row j (constant) of a block, kept, whose subscribers are all < nSubs: located, or counted as a drop. */
@inline
function lastRow(j: usize, sub: usize, cell: usize, locPtr: usize, nCells: u32, outLoc: usize, dropPtr: usize): void {
  const c = load<u32>(cell + (j << 2));
  const l = c < nCells ? load<i32>(locPtr + (<usize>c << 2)) : -1;
  // Rows are chronological, so the last write wins the spec's tie rule.
  if (l >= 0) store<i32>(outLoc + (<usize>load<u32>(sub + (j << 2)) << 2), l);
  else countDrop(l, dropPtr);
}

/** lastLocation's rows [kind, kindEnd) one at a time, sub and cell at the same row; false at the first kept located row whose sub is >= nSubs. */
@inline
function lastRows(
  kind: usize, kindEnd: usize, sub: usize, cell: usize, keep: u32,
  locPtr: usize, nCells: u32, nSubs: u32, outLoc: usize, dropPtr: usize,
): bool {
  for (; kind < kindEnd; kind++, sub += 4, cell += 4) {
    const c = load<u32>(cell);
    const kept = (keep >> <u32>load<u8>(kind)) & 1;
    const l = c < nCells ? load<i32>(locPtr + (<usize>c << 2)) : -1;
    if (kept == 0) continue;
    if (l < 0) {
      countDrop(l, dropPtr);
      continue;
    }
    const s = load<u32>(sub);
    if (s >= nSubs) return false;
    store<i32>(outLoc + (<usize>s << 2), l);
  }
  return true;
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

/** Writes each (sub, loc) pair's located qualifying events (u32), in the slot order tableKeys uses; returns the count, or -1 if the table is invalid. */
export function tableEvents(table: usize, capacity: u32, outEvents: usize): i32 {
  if (!validTable(table, capacity)) return -1;
  let k: usize = 0;
  for (let i: u32 = 0; i < capacity; i++) {
    const slot = tableSlot(table, i);
    if (isEmpty(slot)) continue;
    store<u32>(outEvents + (k << 2), load<u32>(slot + S_EVENTS));
    k++;
  }
  return <i32>k;
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
