// Loading a day: group a day's rows (in ingest order) by subscriber partition and
// sort each partition by time, stably, so that every later scan of a
// (day, partition) range is chronological with ingest-order ties (the spec's tie
// rule for `last`). One counting sort over key = partition * 86400 + second of
// day does both at once in three linear passes; the host then moves each column
// through the permutation with the gather kernels.

import { SECONDS_PER_DAY, STATUS_BAD_ARGUMENT, STATUS_OK } from './shared/constants';

const MAX_PARTS: u32 = 256; // partOf is a u8
const DAY: u32 = SECONDS_PER_DAY;

/** Bytes of scratch partitionDay needs for nParts partitions: 4 * (nParts * 86400 + 1). */
export function partitionHistogramBytes(nParts: u32): usize {
  return (<usize>nParts * <usize>DAY + 1) << 2;
}

@inline
function rowKey(i: u32, subPtr: usize, tPtr: usize, dayStart: u32, partOfPtr: usize): u32 {
  const at = <usize>i << 2;
  const part = <u32>load<u8>(partOfPtr + <usize>load<u32>(subPtr + at));
  return part * DAY + (load<u32>(tPtr + at) - dayStart);
}

/** perm (u32[n]) = rows by (partOf[sub] < nParts in 1..256, t in [dayStart, dayStart + 86400), row); offsets (u32[nParts + 1]) = partition starts, then n; sub < nSubs (global); hist: partitionHistogramBytes(nParts) scratch. Status. */
export function partitionDay(
  n: u32, subPtr: usize, tPtr: usize, dayStart: u32,
  partOfPtr: usize, nSubs: u32, nParts: u32,
  histPtr: usize, permPtr: usize, offsetsPtr: usize,
): i32 {
  if (nParts == 0 || nParts > MAX_PARTS) return STATUS_BAD_ARGUMENT;
  const nKeys = nParts * DAY;
  memory.fill(histPtr, 0, partitionHistogramBytes(nParts));

  // Pass 1: validate and count; hist[key + 1] counts key, so the prefix sum
  // below leaves hist[key] = first position of key.
  for (let i: u32 = 0; i < n; i++) {
    const at = <usize>i << 2;
    const sub = load<u32>(subPtr + at);
    if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
    if (<u32>load<u8>(partOfPtr + sub) >= nParts) return STATUS_BAD_ARGUMENT;
    if (load<u32>(tPtr + at) - dayStart >= DAY) return STATUS_BAD_ARGUMENT;
    const slot = histPtr + ((<usize>rowKey(i, subPtr, tPtr, dayStart, partOfPtr) + 1) << 2);
    store<u32>(slot, load<u32>(slot) + 1);
  }

  // Pass 2: prefix sum; each partition starts where its second 0 starts.
  let sum: u32 = 0;
  for (let k: u32 = 0; k <= nKeys; k++) {
    const slot = histPtr + (<usize>k << 2);
    sum += load<u32>(slot);
    store<u32>(slot, sum);
  }
  for (let p: u32 = 0; p < nParts; p++) {
    store<u32>(offsetsPtr + (<usize>p << 2), load<u32>(histPtr + (<usize>(p * DAY) << 2)));
  }
  store<u32>(offsetsPtr + (<usize>nParts << 2), n);

  // Pass 3: scatter in row order, which is what makes the sort stable.
  for (let i: u32 = 0; i < n; i++) {
    const slot = histPtr + (<usize>rowKey(i, subPtr, tPtr, dayStart, partOfPtr) << 2);
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
