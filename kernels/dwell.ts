// Locations across days: one location per subscriber from a list of per-day
// location vectors (inputs: u32 pointers at `inputs`, each i32[nSubs], -1 =
// absent, in date order). modal_location, majority_location and
// coalesced_location (FlowKit) differ only in how they pick from the tally.

import { STATUS_BAD_ARGUMENT, STATUS_OK } from './shared/constants';

/**
 * Tallies subscriber `s` over the k inputs into scratch: locs i32[k] (distinct
 * locations) and meta u32[k] (count << 16 | index of the latest input holding
 * it). Returns the number of distinct locations.
 */
@inline
function tally(inputs: usize, k: u32, s: u32, locs: usize, meta: usize): u32 {
  const at = <usize>s << 2;
  let distinct: u32 = 0;
  for (let j: u32 = 0; j < k; j++) {
    const l = load<i32>(<usize>load<u32>(inputs + (<usize>j << 2)) + at);
    if (l < 0) continue;
    let d: u32 = 0;
    while (d < distinct && load<i32>(locs + (<usize>d << 2)) != l) d++;
    if (d == distinct) {
      store<i32>(locs + (<usize>d << 2), l);
      store<u32>(meta + (<usize>d << 2), (1 << 16) | j);
      distinct++;
    } else {
      const m = load<u32>(meta + (<usize>d << 2));
      store<u32>(meta + (<usize>d << 2), (((m >> 16) + 1) << 16) | j);
    }
  }
  return distinct;
}

/** outLoc[sub] (i32, sub < nSubs) = most frequent location >= 0 among the k inputs; a tie goes to the location seen in the latest input; -1 if absent everywhere. scratch holds 8*k bytes. Status. */
export function modalLocation(inputs: usize, k: u32, nSubs: u32, scratch: usize, outLoc: usize): i32 {
  if (k == 0 || k > 4096) return STATUS_BAD_ARGUMENT;
  const locs = scratch;
  const meta = scratch + (<usize>k << 2);
  for (let s: u32 = 0; s < nSubs; s++) {
    const distinct = tally(inputs, k, s, locs, meta);
    // Count in the high half, latest input in the low: one comparison applies both rules.
    let best: i32 = -1;
    let bestMeta: u32 = 0;
    for (let d: u32 = 0; d < distinct; d++) {
      const m = load<u32>(meta + (<usize>d << 2));
      if (m > bestMeta) {
        bestMeta = m;
        best = load<i32>(locs + (<usize>d << 2));
      }
    }
    store<i32>(outLoc + (<usize>s << 2), best);
  }
  return STATUS_OK;
}

/**
 * outLoc[sub] = the location holding more than half of max(the sub's located
 * inputs (visits), minTotal), -1 when none does: FlowKit's greatest(sum, minimum)
 * / 2, so below the minimum a location can still win with more than half of the
 * minimum itself. scratch holds 8*k bytes. Status.
 */
export function majorityLocation(inputs: usize, k: u32, nSubs: u32, minTotal: f64, scratch: usize, outLoc: usize): i32 {
  if (k == 0 || k > 4096) return STATUS_BAD_ARGUMENT;
  const locs = scratch;
  const meta = scratch + (<usize>k << 2);
  for (let s: u32 = 0; s < nSubs; s++) {
    const distinct = tally(inputs, k, s, locs, meta);
    let total: u32 = 0;
    for (let d: u32 = 0; d < distinct; d++) total += load<u32>(meta + (<usize>d << 2)) >> 16;
    let best: i32 = -1;
    const bar = max(<f64>total, minTotal);
    for (let d: u32 = 0; d < distinct; d++) {
      if (<f64>((load<u32>(meta + (<usize>d << 2)) >> 16) * 2) > bar) best = load<i32>(locs + (<usize>d << 2));
    }
    store<i32>(outLoc + (<usize>s << 2), best);
  }
  return STATUS_OK;
}

/** outLoc[sub] = preferred[sub] when located, else fallback[sub] when the sub visited it on at least `threshold` of the k inputs, else -1. Status. */
export function coalesceLocation(preferred: usize, fallback: usize, inputs: usize, k: u32, nSubs: u32, threshold: u32, outLoc: usize): i32 {
  if (k > 4096) return STATUS_BAD_ARGUMENT;
  for (let s: u32 = 0; s < nSubs; s++) {
    const at = <usize>s << 2;
    let l = load<i32>(preferred + at);
    if (l < 0) {
      const f = load<i32>(fallback + at);
      let visits: u32 = 0;
      if (f >= 0) {
        for (let j: u32 = 0; j < k; j++) if (load<i32>(<usize>load<u32>(inputs + (<usize>j << 2)) + at) == f) visits++;
      }
      l = f >= 0 && visits >= threshold ? f : -1;
    }
    store<i32>(outLoc + at, l);
  }
  return STATUS_OK;
}
