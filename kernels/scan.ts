// How every event kernel walks its rows. Each call scans one (day, partition)
// range of rows that the host sorted by time (ingest-order ties), so the rows
// passing the window [tStart, tEnd) and the hour filter (bit h of hourMask keeps
// local hour h) form a few contiguous runs: one per stretch of kept hours. The
// kernels find each run's ends by binary search on the time column and test
// only the event type per row, instead of a window compare and a division for
// the hour on every row.
//
// The loop every event kernel shares:
//
//   for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n;
//        run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
//     for (let i = runStart(run); i < runEnd(run); i++) { ... row i qualifies by time ... }
//   }
//
// and the located-event preamble (type, then cell to location, then the
// partition-local subscriber and its bound) is locatedEvent. Rows out of time
// order would make runs wrong, never unsafe: every index stays in [0, n) and
// every search moves forward.
//
// Locating: the day's table `loc` holds an i32 per cell key, a location >= 0
// or drop code -2 (unknown cell / no valid version) or -3 (outside every
// region); a cell >= nCells (0xFFFFFFFF included) is drop code -1. Dropped
// qualifying events are counted in drops[-code] (u32[4] at dropPtr); a
// malformed code (< -3) is counted in drops[0], which the host checks, so that
// a bad table can never make a kernel write outside the counters.

import { DIR_SHIFT, SECONDS_PER_DAY, TYPE_MASK } from './shared/constants';

const DAY: u32 = SECONDS_PER_DAY;
const HOUR: u32 = 3600;
const ALL_HOURS: u32 = 0xffffff;
const NONE: u32 = 0xffffffff;

/** Whether an event passes the type, time-window and hour filters (for kernels that test single rows). */
@inline
export function qualifies(t: u32, kind: u32, typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32): bool {
  // Bitwise, not short-circuit: one combined test mispredicts less than four.
  const hour = (t % DAY) / HOUR;
  const inWindow = <u32>(t >= tStart) & <u32>(t < tEnd);
  return (inWindow & (typeMask >> (kind & TYPE_MASK)) & (hourMask >> hour) & 1) != 0;
}

/** Whether the event's type (low bits of kind) has its bit in typeMask. */
@inline
export function typeKept(kind: u32, typeMask: u32): bool {
  return ((typeMask >> (kind & TYPE_MASK)) & 1) != 0;
}

/**
 * Bit k set when a row of kind k (type | direction << 2, k < 16) passes both masks
 * (dirMask 0b111: any direction). A kernel tests a row with one shift, (keep >> kind) & 1,
 * instead of one per mask: x86 shifts by a register only through cl, so each variable
 * shift also costs register moves (countEvents: 26.5 -> 18 instructions a row, callgrind).
 */
@inline
export function keptKinds(typeMask: u32, dirMask: u32): u32 {
  let keep: u32 = 0;
  for (let k: u32 = 0; k < 16; k++) keep |= ((typeMask >> (k & TYPE_MASK)) & (dirMask >> ((k >> DIR_SHIFT) & 3)) & 1) << k;
  return keep;
}

/** hourMask turned so that bit 0 is hour `h` of the day, bit 1 the next hour, and so on. */
@inline
function hoursFrom(hourMask: u32, h: u32): u32 {
  const m = hourMask & ALL_HOURS;
  return ((m >> h) | (m << (24 - h))) & ALL_HOURS;
}

/** The first time >= t in the window and a kept hour, or NONE. */
@inline
function nextKeptTime(t: u32, tStart: u32, tEnd: u32, hourMask: u32): u32 {
  if (t < tStart) t = tStart;
  if (t >= tEnd) return NONE;
  const hour = t / HOUR; // hours since 1970: day boundaries are hour boundaries
  const kept = hoursFrom(hourMask, hour % 24);
  if (kept == 0) return NONE;
  const skip = ctz(kept);
  if (skip == 0) return t;
  const at = <u64>(hour + skip) * HOUR;
  return at >= <u64>tEnd ? NONE : <u32>at;
}

/** The end (exclusive) of the stretch of kept time that kept time t lies in. */
@inline
function keptUntil(t: u32, tEnd: u32, hourMask: u32): u64 {
  const hour = t / HOUR;
  const dropped = ~hoursFrom(hourMask, hour % 24) & ALL_HOURS; // bit 0 clear: t is kept
  if (dropped == 0) return <u64>tEnd;
  const end = <u64>(hour + ctz(dropped)) * HOUR;
  return end < <u64>tEnd ? end : <u64>tEnd;
}

/** The first row in [lo, hi) with t >= time (rows time-sorted), else hi. */
@inline
function firstAtOrAfter(tPtr: usize, lo: u32, hi: u32, time: u64): u32 {
  if (time > <u64>0xffffffff) return hi;
  const target = <u32>time;
  while (lo < hi) {
    const mid = lo + ((hi - lo) >> 1);
    if (load<u32>(tPtr + (<usize>mid << 2)) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The next run of rows from `from` on that pass the window and hour filters: rows [runStart, runEnd); runStart == n when none is left. */
@inline
export function nextRun(tPtr: usize, from: u32, n: u32, tStart: u32, tEnd: u32, hourMask: u32): u64 {
  let i = from;
  while (i < n) {
    const t = load<u32>(tPtr + (<usize>i << 2));
    const kept = nextKeptTime(t, tStart, tEnd, hourMask);
    if (kept == NONE) break;
    if (kept == t) return (<u64>firstAtOrAfter(tPtr, i + 1, n, keptUntil(t, tEnd, hourMask)) << 32) | <u64>i;
    i = firstAtOrAfter(tPtr, i + 1, n, <u64>kept);
  }
  return (<u64>n << 32) | <u64>n;
}

@inline
export function runStart(run: u64): u32 {
  return <u32>run;
}

@inline
export function runEnd(run: u64): u32 {
  return <u32>(run >> 32);
}

/** Counts a drop by its code l < 0 (-1 no cell, -2, -3; a malformed code in drops[0]). */
@inline
export function countDrop(l: i32, dropPtr: usize): void {
  let code = <u32>-l;
  if (code > 3) code = 0;
  const counter = dropPtr + (<usize>code << 2);
  store<u32>(counter, load<u32>(counter) + 1);
}

/** The location of a cell on the table's day, or -1 after counting the drop. */
@inline
export function locateCell(cell: u32, locPtr: usize, nCells: u32, dropPtr: usize): i32 {
  const l = cell < nCells ? load<i32>(locPtr + (<usize>cell << 2)) : -1; // -1: no cell
  if (l >= 0) return l;
  countDrop(l, dropPtr);
  return -1;
}

/** locatedEvent: the row is not a located event of the kept types (a drop, if any, is counted). */
export const SKIPPED: u64 = 0xffffffffffffffff;
/** locatedEvent: the row's subscriber is not below nSubs (the caller reports STATUS_BAD_ARGUMENT). */
export const BAD_SUB: u64 = 0xfffffffffffffffe;

/**
 * Row i (of a run) as a located event: (loc << 32) | sub, sub < nSubs; SKIPPED
 * when its type is not kept or its cell does not locate; BAD_SUB when its
 * subscriber is out of bounds. Both sentinels are >= BAD_SUB; no event is.
 */
@inline
export function locatedEvent(
  i: u32, subPtr: usize, cellPtr: usize, kindPtr: usize, typeMask: u32,
  locPtr: usize, nCells: u32, nSubs: u32, dropPtr: usize,
): u64 {
  if (!typeKept(<u32>load<u8>(kindPtr + i), typeMask)) return SKIPPED;
  const at = <usize>i << 2;
  const l = locateCell(load<u32>(cellPtr + at), locPtr, nCells, dropPtr);
  if (l < 0) return SKIPPED;
  const sub = load<u32>(subPtr + at);
  if (sub >= nSubs) return BAD_SUB;
  return (<u64><u32>l << 32) | <u64>sub;
}

@inline
export function eventSub(event: u64): u32 {
  return <u32>event;
}

@inline
export function eventLoc(event: u64): i32 {
  return <i32>(event >> 32);
}
