// Counting kernels behind the aggregates: subscribers per location
// (spatial_aggregate), subscribers per (from, to) pair (flows) and events per
// location and time bucket (location_event_counts). Outputs accumulate, so the
// host can sum partitions and days into one buffer.

import { DIR_SHIFT, STATUS_BAD_ARGUMENT, STATUS_OK } from './shared/constants';
import { BAD_SUB, eventLoc, eventSub, locateCell, locatedEvent, nextRun, runEnd, runStart, typeKept } from './scan';

/** outCounts[loc] += subscribers located at loc (u32[nLocs]); locVec: i32 per sub, -1 = unlocated, else < nLocs. Status. */
export function countByLocation(locVec: usize, nSubs: u32, nLocs: u32, outCounts: usize): i32 {
  for (let s: u32 = 0; s < nSubs; s++) {
    const l = load<i32>(locVec + (<usize>s << 2));
    if (l < 0) continue;
    if (<u32>l >= nLocs) return STATUS_BAD_ARGUMENT;
    const out = outCounts + (<usize>l << 2);
    store<u32>(out, load<u32>(out) + 1);
  }
  return STATUS_OK;
}

/** outCounts[from * nTo + to] += subscribers located in both vectors (u32[nFrom * nTo], stayers included); vectors: i32 per sub, -1 = unlocated. Status. */
export function countPairs(fromVec: usize, toVec: usize, nSubs: u32, nFrom: u32, nTo: u32, outCounts: usize): i32 {
  for (let s: u32 = 0; s < nSubs; s++) {
    const at = <usize>s << 2;
    const f = load<i32>(fromVec + at);
    const t = load<i32>(toVec + at);
    if (f < 0 || t < 0) continue;
    if (<u32>f >= nFrom || <u32>t >= nTo) return STATUS_BAD_ARGUMENT;
    const out = outCounts + ((<usize>f * <usize>nTo + <usize>t) << 2);
    store<u32>(out, load<u32>(out) + 1);
  }
  return STATUS_OK;
}

// [tStart, tEnd) must lie within the buckets: checked once, so no row can fall outside.
/** outCounts[loc * nBuckets + bucket] += located qualifying events with a dirMask direction (u32[nLocs * nBuckets]); bucket = (t - bucketBase) / bucketSeconds, seconds > 0. Status. */
export function countEventsByBucket(
  n: u32, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32, dirMask: u32,
  bucketSeconds: u32, bucketBase: u32, nBuckets: u32, nLocs: u32,
  outCounts: usize, dropPtr: usize,
): i32 {
  if (bucketSeconds == 0) return STATUS_BAD_ARGUMENT;
  const bucketEnd = <u64>bucketBase + <u64>nBuckets * <u64>bucketSeconds;
  if (tStart < tEnd && (tStart < bucketBase || <u64>tEnd > bucketEnd)) return STATUS_BAD_ARGUMENT;
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      const kind = <u32>load<u8>(kindPtr + i);
      if (!typeKept(kind, typeMask) || ((dirMask >> ((kind >> DIR_SHIFT) & 3)) & 1) == 0) continue;
      const at = <usize>i << 2;
      const l = locateCell(load<u32>(cellPtr + at), locPtr, nCells, dropPtr);
      if (l < 0) continue;
      if (<u32>l >= nLocs) return STATUS_BAD_ARGUMENT;
      const bucket = (load<u32>(tPtr + at) - bucketBase) / bucketSeconds;
      const out = outCounts + ((<usize>l * <usize>nBuckets + <usize>bucket) << 2);
      store<u32>(out, load<u32>(out) + 1);
    }
  }
  return STATUS_OK;
}

// Distinct (subscriber, location) pairs as a bitmap, for unique_subscriber_counts
// at units with few locations: one bit per pair, sub-major, so a partition of
// 55k subscribers at 900 regions is 6 MB and each event is one bit set, where a
// hash table of pairs misses the cache on every probe.

/** bits (nSubs * nLocs bits, zeroed by the host) |= bit sub * nLocs + loc for each located qualifying event. Status. */
export function markSubLocations(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, nLocs: u32, bits: usize, dropPtr: usize,
): i32 {
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      const e = locatedEvent(i, subPtr, cellPtr, kindPtr, typeMask, locPtr, nCells, nSubs, dropPtr);
      if (e >= BAD_SUB) {
        if (e == BAD_SUB) return STATUS_BAD_ARGUMENT;
        continue;
      }
      const l = <u32>eventLoc(e);
      if (l >= nLocs) return STATUS_BAD_ARGUMENT;
      const bit = <u64>eventSub(e) * <u64>nLocs + <u64>l;
      const byte = bits + <usize>(bit >> 3);
      store<u8>(byte, load<u8>(byte) | (<u8>1 << <u8>(bit & 7)));
    }
  }
  return STATUS_OK;
}

/** outCounts[loc] += subscribers whose bit (sub, loc) is set in bits (nSubs * nLocs bits). Status. */
export function countSubLocations(bits: usize, nSubs: u32, nLocs: u32, outCounts: usize): i32 {
  const total = <u64>nSubs * <u64>nLocs;
  const words = <usize>((total + 63) >> 6);
  for (let w: usize = 0; w < words; w++) {
    let word = load<u64>(bits + (w << 3));
    while (word != 0) {
      const bit = (<u64>w << 6) + ctz<u64>(word);
      word &= word - 1;
      const l = <usize>(bit % <u64>nLocs);
      const out = outCounts + (l << 2);
      store<u32>(out, load<u32>(out) + 1);
    }
  }
  return STATUS_OK;
}
