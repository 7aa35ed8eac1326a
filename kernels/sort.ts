// Loading a day: group a day's rows (in ingest order) by subscriber partition and
// sort each partition by time, stably, so that every later scan of a
// (day, partition) range is chronological with ingest-order ties (the spec's tie
// rule for `last`). Two stable counting sorts, least significant key first (an
// LSD radix sort): rows by second of day into scratch, then that order by
// partition into perm. Each pass's histogram is small (86,401 and nParts + 1
// counters, 346 KB and at most 1 KB) so it stays in cache; one sort on the
// combined key partition * 86400 + second needed nParts * 346 KB of counters
// (88 MB at 256 partitions), and loading got twice as slow from 16 to 256
// partitions on cache misses alone. The host then moves each column through the
// permutation with the gather kernels.

import { SECONDS_PER_DAY, STATUS_BAD_ARGUMENT, STATUS_OK } from './shared/constants';

const MAX_PARTS: u32 = 256; // partOf is a u8
const DAY: u32 = SECONDS_PER_DAY;

/** Bytes of scratch partitionDay needs for nParts partitions and days of up to maxRows rows: 4 * (86401 + nParts + 1 + maxRows). */
export function partitionHistogramBytes(nParts: u32, maxRows: u32): usize {
  return (<usize>DAY + 1 + <usize>nParts + 1 + <usize>maxRows) << 2;
}

@inline
function partOfRow(i: u32, subPtr: usize, partOfPtr: usize): u32 {
  return <u32>load<u8>(partOfPtr + <usize>load<u32>(subPtr + (<usize>i << 2)));
}

/** Turns counts at [1, k] into first positions at [0, k): hist[key] = rows with a smaller key. */
@inline
function prefixSum(histPtr: usize, keys: u32): void {
  let sum: u32 = 0;
  for (let k: u32 = 0; k <= keys; k++) {
    const slot = histPtr + (<usize>k << 2);
    sum += load<u32>(slot);
    store<u32>(slot, sum);
  }
}

/** perm (u32[n]) = rows by (partOf[sub] < nParts in 1..256, t in [dayStart, dayStart + 86400), row); offsets (u32[nParts + 1]) = partition starts, then n; sub < nSubs (global); hist: partitionHistogramBytes(nParts, >= n) scratch. Status. */
export function partitionDay(
  n: u32, subPtr: usize, tPtr: usize, dayStart: u32,
  partOfPtr: usize, nSubs: u32, nParts: u32,
  histPtr: usize, permPtr: usize, offsetsPtr: usize,
): i32 {
  if (nParts == 0 || nParts > MAX_PARTS) return STATUS_BAD_ARGUMENT;
  const byTime = histPtr;
  const byPart = byTime + ((<usize>DAY + 1) << 2);
  const timeOrder = byPart + ((<usize>nParts + 1) << 2);
  memory.fill(histPtr, 0, (<usize>DAY + 1 + <usize>nParts + 1) << 2);

  // Pass 1: validate and count both keys; hist[key + 1] counts key, so the
  // prefix sums leave hist[key] = first position of key.
  for (let i: u32 = 0; i < n; i++) {
    const at = <usize>i << 2;
    const sub = load<u32>(subPtr + at);
    if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
    const part = <u32>load<u8>(partOfPtr + sub);
    if (part >= nParts) return STATUS_BAD_ARGUMENT;
    const second = load<u32>(tPtr + at) - dayStart;
    if (second >= DAY) return STATUS_BAD_ARGUMENT;
    const timeSlot = byTime + ((<usize>second + 1) << 2);
    store<u32>(timeSlot, load<u32>(timeSlot) + 1);
    const partSlot = byPart + ((<usize>part + 1) << 2);
    store<u32>(partSlot, load<u32>(partSlot) + 1);
  }
  prefixSum(byTime, DAY);
  prefixSum(byPart, nParts);
  memory.copy(offsetsPtr, byPart, <usize>nParts << 2);
  store<u32>(offsetsPtr + (<usize>nParts << 2), n);

  // Pass 2: rows by second, in row order (stable).
  for (let i: u32 = 0; i < n; i++) {
    const slot = byTime + (<usize>(load<u32>(tPtr + (<usize>i << 2)) - dayStart) << 2);
    const position = load<u32>(slot);
    store<u32>(slot, position + 1);
    store<u32>(timeOrder + (<usize>position << 2), i);
  }

  // Pass 3: that order by partition (stable), so each partition stays by (second, row).
  for (let j: u32 = 0; j < n; j++) {
    const i = load<u32>(timeOrder + (<usize>j << 2));
    const slot = byPart + (<usize>partOfRow(i, subPtr, partOfPtr) << 2);
    const position = load<u32>(slot);
    store<u32>(slot, position + 1);
    store<u32>(permPtr + (<usize>position << 2), i);
  }
  return STATUS_OK;
}

/** dst[i] = src[perm[i]] for i < n, 4-byte elements (perm from partitionDay, every value < len(src)). */
export function gather32(src: usize, perm: usize, dst: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const from = <usize>load<u32>(perm + (<usize>i << 2));
    store<u32>(dst + (<usize>i << 2), load<u32>(src + (from << 2)));
  }
}

/** dst[i] = src[perm[i]] for i < n, 1-byte elements. */
export function gather8(src: usize, perm: usize, dst: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const from = <usize>load<u32>(perm + (<usize>i << 2));
    store<u8>(dst + <usize>i, load<u8>(src + from));
  }
}

/** dst[i] = src[perm[i]] for i < n, 8-byte elements (f64 columns, moved as bits). */
export function gather64(src: usize, perm: usize, dst: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const from = <usize>load<u32>(perm + (<usize>i << 2));
    store<u64>(dst + (<usize>i << 3), load<u64>(src + (from << 3)));
  }
}

/** dst[i] = localOf[subSrc[perm[i]]] for i < n: global subscriber index -> partition-local index (u32). */
export function localise(subSrc: usize, perm: usize, localOf: usize, dst: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const from = <usize>load<u32>(perm + (<usize>i << 2));
    const sub = <usize>load<u32>(subSrc + (from << 2));
    store<u32>(dst + (<usize>i << 2), load<u32>(localOf + (sub << 2)));
  }
}
