// Meaningful locations (FlowKit's CallDays and EventScore, per subscriber and
// position): one pass over a window's located qualifying events accumulating, per
// (partition-local subscriber, lon-lat location), the events, the distinct days
// with an event (call days), and the sums of the events' hour-of-day and
// day-of-week scores. The host then clusters each subscriber's positions
// (Hartigan leader clustering) from the entries this table dumps.
//
// The score table is table.ts's table with 48-byte slots:
//   +0  u32 sub (0xFFFFFFFF = empty)   +4  i32 loc        ((sub, loc) is the u64 key)
//   +8  u32 events                     +12 u32 days
//   +16 u32 lastDay (0xFFFFFFFF none)  +20 reserved
//   +24 f64 sum of hour scores         +32 f64 sum of day-of-week scores
//   +40 reserved
// A call that would pass the load cap stops with STATUS_CAPACITY after
// recording the rows it consumed; the host rehashes into a table twice the
// size and resumes there, so no row counts twice.
//
// Rows must come day by day in increasing day order (the host scans the window's
// days ascending), so "a new day for this key" is lastDay != day.

import { SECONDS_PER_DAY, STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK } from './shared/constants';
import { BAD_SUB, eventLoc, eventSub, locatedEvent, nextRun, runEnd, runStart } from './scan';
import { EMPTY, clearTable, consumedOf, finishTable, keyOf, loadLimit, probe, rehashTable, slotOf, tableBytesOf, usedOf, validTable } from './table';

const SLOT_BYTES: usize = 48;
const MAX_CAPACITY: u32 = 1 << 26;

const M_SUB: usize = 0;
const M_LOC: usize = 4;
const M_EVENTS: usize = 8;
const M_DAYS: usize = 12;
const M_LAST_DAY: usize = 16;
const M_SUM_HOUR: usize = 24;
const M_SUM_DOW: usize = 32;

/** Bytes of a table of `capacity` slots. */
export function meaningfulTableBytes(capacity: u32): usize {
  return tableBytesOf(capacity, SLOT_BYTES);
}

/** Empties a table; capacity a power of two in [8, 2^26]. Status. */
export function meaningfulTableClear(table: usize, capacity: u32): i32 {
  return clearTable(table, capacity, SLOT_BYTES, MAX_CAPACITY);
}

export function meaningfulTableUsed(table: usize): u32 {
  return usedOf(table);
}

export function meaningfulTableConsumed(table: usize): u32 {
  return consumedOf(table);
}

/** Copies every entry of src into dst (cleared here). Status: CAPACITY if dst cannot hold them. */
export function meaningfulTableRehash(src: usize, srcCapacity: u32, dst: usize, dstCapacity: u32): i32 {
  return rehashTable(src, srcCapacity, dst, dstCapacity, SLOT_BYTES, MAX_CAPACITY);
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
      const key = keyOf(eventSub(e), <u32>eventLoc(e));
      const s = probe(table, mask, key, SLOT_BYTES, 0);
      if (load<u64>(s) != key) {
        // Row i is not counted (a located row counts no drop): the host resumes at it.
        if (used >= limit) { status = STATUS_CAPACITY; break; }
        store<u64>(s, key);
        store<u32>(s + M_EVENTS, 0);
        store<u32>(s + M_DAYS, 0);
        store<u32>(s + M_LAST_DAY, EMPTY);
        store<f64>(s + M_SUM_HOUR, 0);
        store<f64>(s + M_SUM_DOW, 0);
        used++;
      }
      const t = load<u32>(tPtr + (<usize>i << 2));
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
    if (status != STATUS_OK) break;
    run = nextRun(tPtr, end, n, tStart, tEnd, hourMask);
  }
  finishTable(table, used, 0, status == STATUS_OK ? n : i);
  return status;
}

/**
 * Writes every entry in slot order: sub (u32), loc (i32), events and days (u32),
 * hour and day-of-week score sums (f64). Returns the count, or -1 for a bad table.
 */
export function meaningfulEntries(
  table: usize, capacity: u32, outSub: usize, outLoc: usize, outEvents: usize, outDays: usize, outSumHour: usize, outSumDow: usize,
): i32 {
  if (!validTable(table, capacity)) return -1;
  let k: u32 = 0;
  for (let i: u32 = 0; i < capacity; i++) {
    const s = slotOf(table, i, SLOT_BYTES);
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
