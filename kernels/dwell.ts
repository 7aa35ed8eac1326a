// Locations across days: the modal location of a subscriber over a list of
// per-day location vectors (FlowKit's modal_location).

import { STATUS_BAD_ARGUMENT, STATUS_OK } from './shared/constants';

/** outLoc[sub] (i32, sub < nSubs) = most frequent location >= 0 among the k vectors (u32 pointers at `inputs`, each i32[nSubs], -1 = absent); a tie goes to the location seen in the latest vector; -1 if absent everywhere. scratch holds 8*k bytes. Status. */
export function modalLocation(inputs: usize, k: u32, nSubs: u32, scratch: usize, outLoc: usize): i32 {
  if (k == 0 || k > 4096) return STATUS_BAD_ARGUMENT;
  const locs = scratch; // i32[k]: distinct locations of one subscriber
  const meta = scratch + (<usize>k << 2); // u32[k]: count << 16 | latest input index
  for (let s: u32 = 0; s < nSubs; s++) {
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
    // Inputs come in date order, so a larger latest index is a later day; count
    // in the high half makes one comparison apply both rules.
    let best: i32 = -1;
    let bestMeta: u32 = 0;
    for (let d: u32 = 0; d < distinct; d++) {
      const m = load<u32>(meta + (<usize>d << 2));
      if (m > bestMeta) {
        bestMeta = m;
        best = load<i32>(locs + (<usize>d << 2));
      }
    }
    store<i32>(outLoc + at, best);
  }
  return STATUS_OK;
}
