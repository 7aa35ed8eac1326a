/**
 * Aggregates that count subscribers per location or per (from, to) pair from
 * location steps and windows: spatial_aggregate, dense flows,
 * unique_subscriber_counts, the unmoving and reference-location counts, and
 * two count steps side by side (unique_visitor_counts). Each returns counts
 * to sum across partitions.
 */
import * as OD from '../od-kernels.js';
import type { AggStep, WindowFilter } from '../protocol.js';
import { type AggregateOps, type Run } from './run.js';

/** Default bound of a task's distinct-pair bitmap; larger ones use the hash table of pairs. */
export const MAX_BITMAP_BYTES = 16 << 20;

/** Bytes of a (subscriber, location) bitmap, whole 64-bit words. */
export function bitmapBytes(nSubs: number, nLocs: number): number {
  return Math.ceil((nSubs * nLocs) / 64) * 8;
}

type CountStep = Extract<AggStep, { op: 'count-by-location' | 'count-pairs' | 'set-pairs' | 'unique-by-location' | 'unique-set' | 'both' }>;

/** A count step's counts (its partial result's `counts`). */
function countsOf(run: Run, step: AggStep): Uint32Array {
  const counts = run.aggregate(step).counts;
  if (!counts) throw new Error(`expected counts from a ${step.op} step, found none`);
  return counts;
}

/**
 * unique_subscriber_counts under DP: each subscriber counted in at most `clip` locations, its most visited
 * (most located qualifying events; ties to the lower location index), so one subscriber touches at most
 * `clip` cells (docs/PRIVACY.md).
 */
function clippedUnique(run: Run, unit: string, f: WindowFilter, nLocs: number, clip: number): Uint32Array {
  const table = run.locationTable(unit, f);
  const size = Math.max(table.size, 1);
  const subPtr = run.arena.alloc(4 * size);
  const locPtr = run.arena.alloc(4 * size);
  const evPtr = run.arena.alloc(4 * size);
  const k = table.keys(subPtr, locPtr);
  table.events(evPtr);
  const subs = new Uint32Array(run.task.memory.buffer, subPtr, k);
  const locs = new Int32Array(run.task.memory.buffer, locPtr, k);
  const events = new Uint32Array(run.task.memory.buffer, evPtr, k);
  // Pairs by subscriber, then most events first, then lower location: each subscriber's first `clip` are kept.
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => subs[a]! - subs[b]! || events[b]! - events[a]! || locs[a]! - locs[b]!);
  const counts = new Uint32Array(nLocs);
  let inRun = 0;
  for (let i = 0; i < k; i++) {
    const at = order[i]!;
    inRun = i > 0 && subs[order[i - 1]!] === subs[at] ? inRun + 1 : 0;
    if (inRun < clip) counts[locs[at]!]++;
  }
  return counts;
}

export const COUNT_OPS: Pick<AggregateOps, CountStep['op']> = {
  'count-by-location'(run, step) {
    const vec = run.location(step.input);
    const out = run.zeros(step.nLocs);
    run.kernels.countByLocation(vec, run.task.nSubs, step.nLocs, out);
    return { counts: run.copy(out, step.nLocs) };
  },
  'count-pairs'(run, step) {
    const from = run.location(step.from);
    const to = run.location(step.to);
    const cells = step.nFrom * step.nTo;
    const out = run.zeros(cells);
    run.kernels.countPairs(from, to, run.task.nSubs, step.nFrom, step.nTo, out);
    if (!step.margins) return { counts: run.copy(out, cells) };
    // An outer join also needs each side's subscribers per location: the pairs' row (or
    // column) sums leave out those the other side does not locate.
    const pairsCounts = run.copy(out, cells);
    const sides: Uint32Array[] = [pairsCounts];
    for (const [on, vec, n] of [[step.margins.from, from, step.nFrom], [step.margins.to, to, step.nTo]] as const) {
      if (!on) continue;
      const m = run.zeros(n);
      run.kernels.countByLocation(vec, run.task.nSubs, n, m);
      sides.push(run.copy(m, n));
    }
    const all = new Uint32Array(sides.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of sides) {
      all.set(a, at);
      at += a.length;
    }
    return { counts: all };
  },
  'set-pairs'(run, step) {
    // Each side as (subscriber -> locations) lists; every combination of a subscriber counts once.
    const n = run.task.nSubs;
    const [a, b] = [run.sideLists(step.from), run.sideLists(step.to)];
    const out = new Uint32Array(step.nFrom * step.nTo);
    for (let s = 0; s < n; s++) {
      for (let i = a.start[s]!; i < a.start[s + 1]!; i++) {
        const row = a.locs[i]! * step.nTo;
        for (let j = b.start[s]!; j < b.start[s + 1]!; j++) out[row + b.locs[j]!]!++;
      }
    }
    return { counts: out };
  },
  'unique-by-location'(run, step) {
    const n = run.task.nSubs;
    if (step.clip !== undefined) return { counts: clippedUnique(run, step.unit, step.filter, step.nLocs, step.clip) };
    if (bitmapBytes(n, step.nLocs) <= run.task.maxBitmapBytes) {
      // Few locations: one bit per (subscriber, location) beats a hash table of pairs.
      const bytes = bitmapBytes(n, step.nLocs);
      const bits = run.arena.alloc(bytes);
      run.u8(bits, bytes).fill(0);
      for (const { ev, table } of run.ranges(step.unit, step.filter)) {
        run.kernels.markSubLocations(ev, table, step.filter, n, step.nLocs, bits, run.drops);
      }
      const out = run.zeros(step.nLocs);
      run.kernels.countSubLocations(bits, n, step.nLocs, out);
      return { counts: run.copy(out, step.nLocs) };
    }
    const pairs = run.uniquePairs(step.unit, step.filter);
    const out = run.zeros(step.nLocs);
    run.kernels.countByLocation(pairs.loc, pairs.count, step.nLocs, out);
    return { counts: run.copy(out, step.nLocs) };
  },
  'unique-set'(run, step) {
    const reference = step.reference ? run.location(step.reference) : 0;
    const keys = run.uniquePairs(step.unit, step.filter);
    const n = run.task.nSubs;
    const scratch = run.arena.alloc(4 * Math.max(n, 1));
    const out = run.zeros(step.nLocs);
    if (step.mode === 'unmoving') OD.unmovingCounts(run.kernels, keys, n, step.nLocs, scratch, out);
    else if (step.mode === 'unmoving-at-reference') OD.unmovingAtReferenceCounts(run.kernels, keys, reference, n, step.nLocs, scratch, out);
    else OD.activeAtReferenceCounts(run.kernels, keys, reference, n, step.nLocs, scratch, out);
    return { counts: run.copy(out, step.nLocs) };
  },
  both(run, step) {
    const a = countsOf(run, step.a);
    const b = countsOf(run, step.b);
    const out = new Uint32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return { counts: out };
  },
};
