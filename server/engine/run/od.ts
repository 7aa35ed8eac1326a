/**
 * Origin-destination and time-bucketed counts from the window's events:
 * trips_od_matrix, consecutive_trips_od_matrix, location_event_counts, and
 * flows and trips at units too fine for a dense matrix (cells, positions),
 * whose keys are concatenated across partitions and counted on the main thread.
 */
import * as OD from '../od-kernels.js';
import type { AggStep } from '../protocol.js';
import { type AggregateOps, initialCapacity } from './run.js';

type OdStep = Extract<AggStep, { op: 'trips' | 'consecutive-trips' | 'events-by-bucket' | 'sparse-pairs' | 'sparse-trips' }>;

export const OD_OPS: Pick<AggregateOps, OdStep['op']> = {
  trips(run, step) {
    const n = run.task.nSubs;
    const visits = new OD.VisitTable(run.kernels, run.arena, initialCapacity(n));
    for (const { ev, table } of run.ranges(step.unit, step.filter)) visits.count(ev, table, step.filter, n, run.drops);
    const out = run.zeros(step.nLocs * step.nLocs);
    visits.trips(n, step.nLocs, out);
    return { counts: run.copy(out, step.nLocs * step.nLocs) };
  },
  'consecutive-trips'(run, step) {
    const n = run.task.nSubs;
    const set = new OD.KeySet(run.kernels, run.arena, initialCapacity(n));
    const prev = run.vector();
    for (const { ev, table } of run.ranges(step.unit, step.filter)) {
      set.consecutivePairs(ev, table, step.filter, n, step.nLocs, prev, run.drops);
    }
    const out = run.zeros(step.nLocs * step.nLocs);
    set.consecutiveTrips(step.nLocs, out);
    return { counts: run.copy(out, step.nLocs * step.nLocs) };
  },
  'events-by-bucket'(run, step) {
    const cells = step.nLocs * step.nBuckets;
    const out = run.zeros(2 * cells);
    const set = new OD.KeySet(run.kernels, run.arena, initialCapacity(run.task.nSubs));
    const buckets = { seconds: step.bucketSeconds, base: step.bucketBase, count: step.nBuckets };
    for (const { ev, table } of run.ranges(step.unit, step.filter)) {
      set.eventsAndSubscribers(ev, table, step.filter, step.dirMask, buckets, step.nLocs, run.task.nSubs, out, out + 4 * cells, run.drops);
    }
    return { counts: run.copy(out, 2 * cells) };
  },
  /** Each subscriber's (from, to) combinations as keys from * nTo + to, for OD at fine units. */
  'sparse-pairs'(run, step) {
    const n = run.task.nSubs;
    const [a, b] = [run.sideLists(step.from), run.sideLists(step.to)];
    let total = 0;
    for (let s = 0; s < n; s++) total += (a.start[s + 1]! - a.start[s]!) * (b.start[s + 1]! - b.start[s]!);
    const keys = new Float64Array(total);
    let at = 0;
    for (let s = 0; s < n; s++) {
      for (let i = a.start[s]!; i < a.start[s + 1]!; i++) {
        for (let j = b.start[s]!; j < b.start[s + 1]!; j++) keys[at++] = a.locs[i]! * step.nTo + b.locs[j]!;
      }
    }
    return { groups: new Int32Array(total), values: keys };
  },
  /**
   * Trips at fine units: the window's located events gathered as (sub, loc, t), grouped by
   * subscriber in chronological order, and each subscriber's distinct (from, to) pairs
   * emitted as keys from * nLocs + to (trips_od_matrix: first time at from before last time
   * at to, from != to; consecutive: one event at from directly followed by one at to).
   */
  'sparse-trips'(run, step) {
    const n = run.task.nSubs;
    let rows = 0;
    for (const { ev } of run.ranges(step.unit, step.filter)) rows += ev.n;
    const room = 4 * Math.max(rows, 1);
    const out = { sub: run.arena.alloc(room), loc: run.arena.alloc(room), t: run.arena.alloc(room) };
    let m = 0;
    for (const { ev, table } of run.ranges(step.unit, step.filter)) {
      m += run.kernels.gatherLocated(ev, table, step.filter, n, { sub: out.sub + 4 * m, loc: out.loc + 4 * m, t: out.t + 4 * m }, run.drops);
    }
    const buffer = run.task.memory.buffer;
    const subs = new Uint32Array(buffer, out.sub, m);
    const locs = new Int32Array(buffer, out.loc, m);
    const times = new Uint32Array(buffer, out.t, m);
    // Stable counting sort by subscriber: each subscriber's events stay chronological.
    const start = new Uint32Array(n + 1);
    for (let i = 0; i < m; i++) start[subs[i]! + 1]!++;
    for (let s = 0; s < n; s++) start[s + 1]! += start[s]!;
    const next = start.slice(0, n);
    const order = new Uint32Array(m);
    for (let i = 0; i < m; i++) order[next[subs[i]!]!++] = i;
    const keys: number[] = [];
    const pairs = new Set<number>();
    const visits = new Map<number, { first: number; last: number }>();
    for (let s = 0; s < n; s++) {
      if (step.trips === 'consecutive') {
        pairs.clear();
        for (let j = start[s]! + 1; j < start[s + 1]!; j++) pairs.add(locs[order[j - 1]!]! * step.nLocs + locs[order[j]!]!);
        for (const key of pairs) keys.push(key);
        continue;
      }
      visits.clear();
      for (let j = start[s]!; j < start[s + 1]!; j++) {
        const e = order[j]!;
        const v = visits.get(locs[e]!);
        if (v) v.last = times[e]!; // chronological: the latest so far
        else visits.set(locs[e]!, { first: times[e]!, last: times[e]! });
      }
      for (const [a, va] of visits) {
        for (const [b, vb] of visits) if (a !== b && va.first < vb.last) keys.push(a * step.nLocs + b);
      }
    }
    return { groups: new Int32Array(keys.length), values: Float64Array.from(keys) };
  },
};
