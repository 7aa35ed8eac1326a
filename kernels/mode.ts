// The most common location per subscriber (daily_location most-common,
// most_frequent_location) without a hash table: the window's located
// qualifying events are gathered as (sub, loc) in chronological order, grouped
// by subscriber with one stable counting sort, and each subscriber's short run
// is tallied in place. Every access is sequential but the sort's scatter, which
// stays within one partition's subscribers.

import { STATUS_BAD_ARGUMENT, STATUS_OK } from './shared/constants';
import { BAD_SUB, eventLoc, eventSub, locatedEvent, nextRun, runEnd, runStart } from './scan';

/** Appends the rows' located qualifying events as (sub, loc) at outSub/outLoc, and their time at outT unless it is 0 (room for n each); returns how many, or -1 when a sub >= nSubs. */
export function gatherLocated(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  locPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, outSub: usize, outLoc: usize, outT: usize, dropPtr: usize,
): i32 {
  let m: u32 = 0;
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      const e = locatedEvent(i, subPtr, cellPtr, kindPtr, typeMask, locPtr, nCells, nSubs, dropPtr);
      if (e >= BAD_SUB) {
        if (e == BAD_SUB) return -1;
        continue;
      }
      store<u32>(outSub + (<usize>m << 2), eventSub(e));
      store<i32>(outLoc + (<usize>m << 2), eventLoc(e));
      if (outT != 0) store<u32>(outT + (<usize>m << 2), load<u32>(tPtr + (<usize>i << 2)));
      m++;
    }
  }
  return <i32>m;
}

/** Scratch bytes of mostCommonBySub: offsets u32[nSubs + 1] and the grouped locations i32[nEvents] plus one tally of (loc, count, last) per event. */
export function mostCommonScratchBytes(nSubs: u32, nEvents: u32): usize {
  return (<usize>(nSubs + 1) << 2) + (<usize>nEvents << 2) + <usize>nEvents * 12;
}

/** outLoc[sub] (i32, host-initialised to -1) = the location of most of the sub's gathered events, chronological; a tie goes to the location whose latest event is latest. Status. */
export function mostCommonBySub(nEvents: u32, subPtr: usize, locPtr: usize, nSubs: u32, scratch: usize, outLoc: usize): i32 {
  const offsets = scratch; // u32[nSubs + 1]
  const grouped = offsets + (<usize>(nSubs + 1) << 2); // i32[nEvents]
  const tallyLoc = grouped + (<usize>nEvents << 2); // i32 per distinct location of one sub
  const tallyCount = tallyLoc + (<usize>nEvents << 2); // u32
  const tallyLast = tallyCount + (<usize>nEvents << 2); // u32: position of the latest event
  memory.fill(offsets, 0, (<usize>(nSubs + 1)) << 2);
  for (let i: u32 = 0; i < nEvents; i++) {
    const s = load<u32>(subPtr + (<usize>i << 2));
    if (s >= nSubs) return STATUS_BAD_ARGUMENT;
    const o = offsets + (<usize>(s + 1) << 2);
    store<u32>(o, load<u32>(o) + 1);
  }
  for (let s: u32 = 0; s < nSubs; s++) {
    const o = offsets + (<usize>(s + 1) << 2);
    store<u32>(o, load<u32>(o) + load<u32>(offsets + (<usize>s << 2)));
  }
  // Stable scatter: offsets[s] walks from the start of s's run to its end.
  for (let i: u32 = 0; i < nEvents; i++) {
    const s = load<u32>(subPtr + (<usize>i << 2));
    const o = offsets + (<usize>s << 2);
    const at = load<u32>(o);
    store<i32>(grouped + (<usize>at << 2), load<i32>(locPtr + (<usize>i << 2)));
    store<u32>(o, at + 1);
  }
  // offsets[s] is now the end of s's run; its start is the previous end.
  let start: u32 = 0;
  for (let s: u32 = 0; s < nSubs; s++) {
    const end = load<u32>(offsets + (<usize>s << 2));
    if (end > start) {
      let distinct: u32 = 0;
      for (let i = start; i < end; i++) {
        const l = load<i32>(grouped + (<usize>i << 2));
        let d: u32 = 0;
        while (d < distinct && load<i32>(tallyLoc + (<usize>d << 2)) != l) d++;
        if (d == distinct) {
          store<i32>(tallyLoc + (<usize>d << 2), l);
          store<u32>(tallyCount + (<usize>d << 2), 0);
          distinct++;
        }
        store<u32>(tallyCount + (<usize>d << 2), load<u32>(tallyCount + (<usize>d << 2)) + 1);
        store<u32>(tallyLast + (<usize>d << 2), i);
      }
      let best: u32 = 0;
      for (let d: u32 = 1; d < distinct; d++) {
        const c = load<u32>(tallyCount + (<usize>d << 2));
        const bc = load<u32>(tallyCount + (<usize>best << 2));
        if (c > bc || (c == bc && load<u32>(tallyLast + (<usize>d << 2)) > load<u32>(tallyLast + (<usize>best << 2)))) best = d;
      }
      store<i32>(outLoc + (<usize>s << 2), load<i32>(tallyLoc + (<usize>best << 2)));
    }
    start = end;
  }
  return STATUS_OK;
}
