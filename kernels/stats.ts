// Statistics over groups of values: a per-subscriber metric per location
// (joined_spatial_aggregate), a per-event value per subscriber (displacement,
// topup_amount), and histograms of a metric (histogram_aggregate).
//
// Values come as (group, value) pairs in two parallel arrays: groups i32
// (< 0 = no group, skipped), values f64 (NaN = no value, skipped). A location
// vector and a metric vector, both per local subscriber, are such a pair of
// arrays as they stand.
//
// Moments need two passes over the pairs (groupSums, then groupSpread), so the
// variance is the textbook sum of squared deviations from the mean, without
// the cancellation of a sum of squares. Medians and modes need each group's
// values in order: groupOrder groups them by a counting sort and sorts each
// group, then groupFinishOrdered reads the answer off the sorted runs.
//
// Statistics follow PostgreSQL, whose answers FlowKit returns: stddev and
// variance are the sample ones (n - 1), NaN for fewer than two values; median
// is percentile_cont(0.5) (the mean of the two middle values, as
// lower + (upper - lower) * 0.5); mode is mode(), the most frequent value,
// a tie going to the smallest. Values that are all equal have variance exactly
// 0 (as PostgreSQL gives), not the rounding noise of their mean.

import { STATUS_BAD_ARGUMENT, STATUS_OK } from './shared/constants';

/** Statistic codes; the host mirrors them (server/engine/metric-kernels.ts STATISTIC). */
export const STAT_COUNT: u32 = 0;
export const STAT_SUM: u32 = 1;
export const STAT_AVG: u32 = 2;
export const STAT_MAX: u32 = 3;
export const STAT_MIN: u32 = 4;
export const STAT_MEDIAN: u32 = 5;
export const STAT_MODE: u32 = 6;
export const STAT_STDDEV: u32 = 7;
export const STAT_VARIANCE: u32 = 8;

// Group state, 40 bytes per group, all zero = no values yet:
//   +0  u32 count   values seen
//   +4  u32         reserved
//   +8  f64 sum
//   +16 f64 min     (set by the first value)
//   +24 f64 max
//   +32 f64 m2      sum of squared deviations from sum / count (groupSpread)
const G_BYTES: usize = 40;
const G_COUNT: usize = 0;
const G_SUM: usize = 8;
const G_MIN: usize = 16;
const G_MAX: usize = 24;
const G_M2: usize = 32;

/** Bytes of group state for nGroups groups: 40 * nGroups; the host zero-fills it. */
export function groupStatsBytes(nGroups: u32): usize {
  return <usize>nGroups * G_BYTES;
}

/** Bytes of the offsets groupOrder writes for nGroups groups: 4 * (nGroups + 1). */
export function groupOffsetsBytes(nGroups: u32): usize {
  return (<usize>nGroups + 1) << 2;
}

/** Pass 1: adds each pair (group < nGroups, value) to its group's count, sum, min and max (state: groupStatsBytes). Status. */
export function groupSums(n: u32, groupPtr: usize, valuePtr: usize, nGroups: u32, state: usize): i32 {
  for (let i: u32 = 0; i < n; i++) {
    const g = load<i32>(groupPtr + (<usize>i << 2));
    const v = load<f64>(valuePtr + (<usize>i << 3));
    if (g < 0 || isNaN(v)) continue;
    if (<u32>g >= nGroups) return STATUS_BAD_ARGUMENT;
    groupAdd(state + <usize>g * G_BYTES, v);
  }
  return STATUS_OK;
}

/** Adds one value to a group's count, sum, min and max. */
@inline
function groupAdd(s: usize, v: f64): void {
  const count = load<u32>(s + G_COUNT);
  if (count == 0) {
    store<f64>(s + G_MIN, v);
    store<f64>(s + G_MAX, v);
  } else {
    if (v < load<f64>(s + G_MIN)) store<f64>(s + G_MIN, v);
    if (v > load<f64>(s + G_MAX)) store<f64>(s + G_MAX, v);
  }
  store<u32>(s + G_COUNT, count + 1);
  store<f64>(s + G_SUM, load<f64>(s + G_SUM) + v);
}

/** Pass 2, over the same pairs after every groupSums call: adds (value - mean)^2 to each group's m2. Status. */
export function groupSpread(n: u32, groupPtr: usize, valuePtr: usize, nGroups: u32, state: usize): i32 {
  for (let i: u32 = 0; i < n; i++) {
    const g = load<i32>(groupPtr + (<usize>i << 2));
    const v = load<f64>(valuePtr + (<usize>i << 3));
    if (g < 0 || isNaN(v)) continue;
    if (<u32>g >= nGroups) return STATUS_BAD_ARGUMENT;
    const s = state + <usize>g * G_BYTES;
    const count = load<u32>(s + G_COUNT);
    if (count == 0) return STATUS_BAD_ARGUMENT; // a pair pass 1 never saw
    const d = v - load<f64>(s + G_SUM) / <f64>count;
    store<f64>(s + G_M2, load<f64>(s + G_M2) + d * d);
  }
  return STATUS_OK;
}

/**
 * out[g] (f64 per group, host-initialised to NaN) = the statistic (count, sum, avg,
 * max, min, stddev or variance; stddev and variance need groupSpread) of each group
 * with values; groups without values are left as they are. Status.
 */
export function groupFinish(state: usize, nGroups: u32, statistic: u32, out: usize): i32 {
  // One loop per statistic: the choice is made once, not per group.
  switch (statistic) {
    case STAT_COUNT:
      for (let g: u32 = 0; g < nGroups; g++) {
        const s = state + <usize>g * G_BYTES;
        const count = load<u32>(s + G_COUNT);
        if (count > 0) store<f64>(out + (<usize>g << 3), <f64>count);
      }
      return STATUS_OK;
    case STAT_SUM:
      for (let g: u32 = 0; g < nGroups; g++) {
        const s = state + <usize>g * G_BYTES;
        if (load<u32>(s + G_COUNT) > 0) store<f64>(out + (<usize>g << 3), load<f64>(s + G_SUM));
      }
      return STATUS_OK;
    case STAT_AVG:
      for (let g: u32 = 0; g < nGroups; g++) {
        const s = state + <usize>g * G_BYTES;
        const count = load<u32>(s + G_COUNT);
        if (count > 0) store<f64>(out + (<usize>g << 3), load<f64>(s + G_SUM) / <f64>count);
      }
      return STATUS_OK;
    case STAT_MAX:
      for (let g: u32 = 0; g < nGroups; g++) {
        const s = state + <usize>g * G_BYTES;
        if (load<u32>(s + G_COUNT) > 0) store<f64>(out + (<usize>g << 3), load<f64>(s + G_MAX));
      }
      return STATUS_OK;
    case STAT_MIN:
      for (let g: u32 = 0; g < nGroups; g++) {
        const s = state + <usize>g * G_BYTES;
        if (load<u32>(s + G_COUNT) > 0) store<f64>(out + (<usize>g << 3), load<f64>(s + G_MIN));
      }
      return STATUS_OK;
    case STAT_VARIANCE:
    case STAT_STDDEV: {
      const root = statistic == STAT_STDDEV;
      for (let g: u32 = 0; g < nGroups; g++) {
        const s = state + <usize>g * G_BYTES;
        const count = load<u32>(s + G_COUNT);
        if (count == 0) continue;
        let variance: f64 = NaN;
        if (count > 1) variance = load<f64>(s + G_MIN) == load<f64>(s + G_MAX) ? 0 : load<f64>(s + G_M2) / <f64>(count - 1);
        store<f64>(out + (<usize>g << 3), root ? Math.sqrt(variance) : variance);
      }
      return STATUS_OK;
    }
  }
  return STATUS_BAD_ARGUMENT;
}

/**
 * Groups the pairs (group < nGroups; others and NaN values skipped) by a counting
 * sort and sorts each group's values ascending: group g's values end up in
 * sorted[offsets[g] .. offsets[g + 1]) (offsets: groupOffsetsBytes(nGroups);
 * sorted: f64, room for n). Status.
 */
export function groupOrder(n: u32, groupPtr: usize, valuePtr: usize, nGroups: u32, offsets: usize, sorted: usize): i32 {
  memory.fill(offsets, 0, groupOffsetsBytes(nGroups));
  // Count group g in offsets[g + 1], so the prefix sum leaves offsets[g] = its start.
  for (let i: u32 = 0; i < n; i++) {
    const g = load<i32>(groupPtr + (<usize>i << 2));
    if (g < 0 || isNaN(load<f64>(valuePtr + (<usize>i << 3)))) continue;
    if (<u32>g >= nGroups) return STATUS_BAD_ARGUMENT;
    const slot = offsets + ((<usize>g + 1) << 2);
    store<u32>(slot, load<u32>(slot) + 1);
  }
  let sum: u32 = 0;
  for (let g: u32 = 0; g <= nGroups; g++) {
    const slot = offsets + (<usize>g << 2);
    sum += load<u32>(slot);
    store<u32>(slot, sum);
  }
  // Scatter, advancing offsets[g] to the end of group g (= the start of g + 1)...
  for (let i: u32 = 0; i < n; i++) {
    const g = load<i32>(groupPtr + (<usize>i << 2));
    const v = load<f64>(valuePtr + (<usize>i << 3));
    if (g < 0 || isNaN(v)) continue;
    const slot = offsets + (<usize>g << 2);
    const at = load<u32>(slot);
    store<u32>(slot, at + 1);
    store<f64>(sorted + (<usize>at << 3), v);
  }
  // ...so shifting by one restores the starts.
  for (let g = nGroups; g > 0; g--) store<u32>(offsets + (<usize>g << 2), load<u32>(offsets + (<usize>(g - 1) << 2)));
  store<u32>(offsets, 0);
  for (let g: u32 = 0; g < nGroups; g++) {
    const start = load<u32>(offsets + (<usize>g << 2));
    const end = load<u32>(offsets + ((<usize>g + 1) << 2));
    sortRange<f64>(sorted + (<usize>start << 3), end - start);
  }
  return STATUS_OK;
}

/** out[g] (f64 per group, host-initialised to NaN) = median or mode of group g's sorted run (from groupOrder); empty groups are left as they are. Status. */
export function groupFinishOrdered(offsets: usize, sorted: usize, nGroups: u32, statistic: u32, out: usize): i32 {
  if (statistic != STAT_MEDIAN && statistic != STAT_MODE) return STATUS_BAD_ARGUMENT;
  for (let g: u32 = 0; g < nGroups; g++) {
    const start = load<u32>(offsets + (<usize>g << 2));
    const end = load<u32>(offsets + ((<usize>g + 1) << 2));
    if (end < start) return STATUS_BAD_ARGUMENT;
    if (end == start) continue;
    const run = sorted + (<usize>start << 3);
    const count = end - start;
    store<f64>(out + (<usize>g << 3), statistic == STAT_MEDIAN ? sortedMedian(run, count) : sortedMode(run, count));
  }
  return STATUS_OK;
}

/** percentile_cont(0.5) of count >= 1 ascending values. */
@inline
function sortedMedian(run: usize, count: u32): f64 {
  const mid = count >> 1;
  const upper = load<f64>(run + (<usize>mid << 3));
  if (count & 1) return upper;
  const lower = load<f64>(run + (<usize>(mid - 1) << 3));
  return lower + (upper - lower) * 0.5;
}

/** The most frequent of count >= 1 ascending values; the first (smallest) of equally frequent ones. */
@inline
function sortedMode(run: usize, count: u32): f64 {
  let best = load<f64>(run);
  let bestLength: u32 = 0;
  let i: u32 = 0;
  while (i < count) {
    const v = load<f64>(run + (<usize>i << 3));
    let j = i + 1;
    while (j < count && load<f64>(run + (<usize>j << 3)) == v) j++;
    if (j - i > bestLength) {
      bestLength = j - i;
      best = v;
    }
    i = j;
  }
  return best;
}

/** Writes the pairs with a group >= 0 and a value (not NaN) to outGroup (i32) and outValue (f64), in order; returns their number. For shipping a partition's (location, metric) pairs to where groupOrder runs. */
export function groupPairs(n: u32, groupPtr: usize, valuePtr: usize, outGroup: usize, outValue: usize): i32 {
  let k: usize = 0;
  for (let i: u32 = 0; i < n; i++) {
    const g = load<i32>(groupPtr + (<usize>i << 2));
    const v = load<f64>(valuePtr + (<usize>i << 3));
    if (g < 0 || isNaN(v)) continue;
    store<i32>(outGroup + (k << 2), g);
    store<f64>(outValue + (k << 3), v);
    k++;
  }
  return <i32>k;
}

/**
 * outCounts[b] += values in bin b (u32[nBins]); edges: f64[nBins + 1], finite and
 * strictly increasing; bin b is [edges[b], edges[b + 1]), the last one closed.
 * Values outside [edges[0], edges[nBins]] and NaN are not counted. Status.
 */
export function histogram(n: u32, valuePtr: usize, edges: usize, nBins: u32, outCounts: usize): i32 {
  if (nBins == 0) return STATUS_BAD_ARGUMENT;
  for (let b: u32 = 0; b <= nBins; b++) {
    const e = load<f64>(edges + (<usize>b << 3));
    if (!isFinite(e)) return STATUS_BAD_ARGUMENT;
    if (b > 0 && !(e > load<f64>(edges + (<usize>(b - 1) << 3)))) return STATUS_BAD_ARGUMENT;
  }
  const low = load<f64>(edges);
  const high = load<f64>(edges + (<usize>nBins << 3));
  for (let i: u32 = 0; i < n; i++) {
    const v = load<f64>(valuePtr + (<usize>i << 3));
    if (!(v >= low && v <= high)) continue; // NaN fails both
    // The last edge b with edges[b] <= v, capped at the last bin (v == high).
    let lo: u32 = 0;
    let hi: u32 = nBins;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (load<f64>(edges + (<usize>mid << 3)) <= v) lo = mid;
      else hi = mid;
    }
    const out = outCounts + (<usize>lo << 2);
    store<u32>(out, load<u32>(out) + 1);
  }
  return STATUS_OK;
}

// Sorting in place, for groupOrder and the Pareto kernel: introsort (quicksort
// with a three-way partition, so runs of equal values cost nothing, falling
// back to heapsort when the recursion gets deep; insertion sort for short
// ranges). No allocation; recursion goes into the smaller side only, so the
// stack stays O(log n).
// see: D. R. Musser, Introspective Sorting and Selection Algorithms (1997)

const INSERTION_MAX: usize = 16;

/** Sorts n values of type T (u32 or f64, no NaN) at base ascending, in place. */
export function sortRange<T>(base: usize, n: u32): void {
  if (n < 2) return;
  quickSort<T>(base, 0, <usize>n, 2 * (32 - clz<u32>(n)));
}

@inline
function at<T>(base: usize, i: usize): usize {
  return base + i * sizeof<T>();
}

@inline
function swap<T>(base: usize, i: usize, j: usize): void {
  const a = load<T>(at<T>(base, i));
  store<T>(at<T>(base, i), load<T>(at<T>(base, j)));
  store<T>(at<T>(base, j), a);
}

function quickSort<T>(base: usize, lo: usize, hi: usize, depth: i32): void {
  while (hi - lo > INSERTION_MAX) {
    if (depth == 0) {
      heapSort<T>(at<T>(base, lo), hi - lo);
      return;
    }
    depth--;
    // Median of three as pivot value.
    const a = load<T>(at<T>(base, lo));
    const b = load<T>(at<T>(base, lo + ((hi - lo) >> 1)));
    const c = load<T>(at<T>(base, hi - 1));
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    // Dijkstra's three-way partition: [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot.
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i < gt) {
      const v = load<T>(at<T>(base, i));
      if (v < pivot) {
        swap<T>(base, lt, i);
        lt++;
        i++;
      } else if (v > pivot) {
        gt--;
        swap<T>(base, i, gt);
      } else {
        i++;
      }
    }
    if (lt - lo < hi - gt) {
      quickSort<T>(base, lo, lt, depth);
      lo = gt;
    } else {
      quickSort<T>(base, gt, hi, depth);
      hi = lt;
    }
  }
  for (let i = lo + 1; i < hi; i++) {
    const v = load<T>(at<T>(base, i));
    let j = i;
    while (j > lo && load<T>(at<T>(base, j - 1)) > v) {
      store<T>(at<T>(base, j), load<T>(at<T>(base, j - 1)));
      j--;
    }
    store<T>(at<T>(base, j), v);
  }
}

function heapSort<T>(base: usize, n: usize): void {
  for (let i = n >> 1; i > 0; i--) siftDown<T>(base, i - 1, n);
  for (let end = n - 1; end > 0; end--) {
    swap<T>(base, 0, end);
    siftDown<T>(base, 0, end);
  }
}

@inline
function siftDown<T>(base: usize, root: usize, n: usize): void {
  while (true) {
    let child: usize = (root << 1) + 1;
    if (child >= n) break;
    if (child + 1 < n && load<T>(at<T>(base, child)) < load<T>(at<T>(base, child + 1))) child++;
    if (!(load<T>(at<T>(base, root)) < load<T>(at<T>(base, child)))) break;
    swap<T>(base, root, child);
    root = child;
  }
}
