/**
 * Typed wrappers of the per-subscriber metric kernels (kernels/metrics.ts) and
 * the group statistics (kernels/stats.ts). Each wrapper calls one raw export
 * and turns its status into a KernelError through wasm.ts's `check`.
 *
 * How a metric runs, per partition (rows of each day in date order, state
 * zero-filled, `out` f64 per local subscriber filled with NaN = absent):
 * - event_count, nocturnal_events, total_active_periods: count* per range, then finish*.
 * - radius_of_gyration: gyrationSums over every range, gyrationCentroids, gyrationSpread
 *   over the same ranges, finishGyration.
 * - unique_location_counts: a LocationTable (wasm.ts) over the ranges, its keys, countPerSub.
 * - subscriber_degree, pareto_interactions: a ContactTable over the ranges, then degree / pareto.
 * - displacement, topup_amount: *Values per range into (sub, value) pairs, then
 *   groupStatistic with nGroups = nSubs.
 * joined_spatial_aggregate is groupStatistic over (location vector, metric vector);
 * histogram_aggregate is histogram over the metric vector.
 */
import { DIR_IN, DIR_OUT, DIR_UNKNOWN, STATUS_BAD_ARGUMENT, STATUS_CAPACITY } from '../../kernels/shared/constants.js';
import type { Allocator } from '../wasm/arena.js';
import { GrowingTable } from '../wasm/growing.js';
import type { Ptr } from '../wasm/memory.js';
import { check, checkDrops, checkFilter, type EventColumns, type KernelFilter, type Kernels } from './wasm.js';

/**
 * Statistic codes of kernels/stats.ts (STAT_*), mirrored here because kernels/shared/constants.ts
 * is the one file both sides compile; the metric tests pin every code against the kernels.
 */
export const STATISTIC = { count: 0, sum: 1, avg: 2, max: 3, min: 4, median: 5, mode: 6, stddev: 7, variance: 8 } as const;
export type StatisticName = keyof typeof STATISTIC;

/** Statistics that need each group's values in order (groupOrder), not just its moments. */
export function isOrdered(statistic: StatisticName): boolean {
  return statistic === 'median' || statistic === 'mode';
}

/** A range's rows with the counterpart column: peer u32, the counterpart's global subscriber index (0xFFFFFFFF none). */
export interface PeerColumns extends Omit<EventColumns, 'cell'> {
  peer: Ptr;
}

/** A range's rows with the recharge column: f64 amount (NaN none). */
export interface RechargeColumns extends Omit<EventColumns, 'cell'> {
  recharge: Ptr;
}

/** A day's cell coordinates, f64 per cell key in degrees (NaN = no valid version that day). */
export interface CoordTable {
  lon: Ptr;
  lat: Ptr;
  nCells: number;
}

/** (group, value) pairs in parallel arrays: group i32 (< 0 = none), value f64 (NaN = none). */
export interface Pairs {
  n: number;
  group: Ptr;
  value: Ptr;
}

/** FlowKit's direction as direction bits: out and in keep their code, both keeps every row. */
export function directionMask(direction: 'in' | 'out' | 'both'): number {
  if (direction === 'out') return 1 << DIR_OUT;
  if (direction === 'in') return 1 << DIR_IN;
  return (1 << DIR_UNKNOWN) | (1 << DIR_OUT) | (1 << DIR_IN);
}

/**
 * nocturnal_events' night as hour bits, literally as docs/QUERIES.md (and FlowKit) define it:
 * hour >= start or hour < end. With start <= end that is every hour.
 */
export function nightMaskOf(startHour: number, endHour: number): number {
  for (const [name, h] of [['start_hour', startHour], ['end_hour', endHour]] as const) {
    if (!(Number.isInteger(h) && h >= 0 && h <= 24)) throw new RangeError(`expected night_hours ${name} an integer in 0..24, found ${h}`);
  }
  let mask = 0;
  for (let h = 0; h < 24; h++) if (h >= startHour || h < endHour) mask |= 1 << h;
  return mask >>> 0;
}

/**
 * A proportion in [0, 1] as the decimal fraction its shortest representation spells
 * (0.7 -> 7/10), so ceil(proportion x events) is computed exactly, as PostgreSQL's
 * numeric does for FlowKit, and not as 0.7 * 10 = 7.000000000000001 -> 8. Beyond nine
 * decimals the proportion is rounded to nine.
 */
export function proportionFraction(p: number): { numerator: number; denominator: number } {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`expected a proportion in [0, 1], found ${p}`);
  let digits = 0;
  while (digits < 9 && Number(p.toFixed(digits)) !== p) digits++;
  const denominator = 10 ** digits;
  return { numerator: Math.round(p * denominator), denominator };
}

const BAD = STATUS_BAD_ARGUMENT;

/** A values kernel's count, or the KernelError for its -1. */
function counted(kernel: string, count: number, expected: string): number {
  if (count < 0) check(kernel, BAD, expected);
  return count;
}

// event_count ----------------------------------------------------------------

/** Scratch bytes of countEvents: 4 * nSubs. */
export function eventCountBytes(k: Kernels, nSubs: number): number {
  return k.raw.eventCountBytes(nSubs) >>> 0;
}

/** state (u32 per sub, zero-filled) += qualifying events whose direction bit is in dirMask. */
export function countEvents(k: Kernels, ev: Omit<EventColumns, 'cell'>, f: KernelFilter, dirMask: number, nSubs: number, state: Ptr): void {
  checkFilter('countEvents', f);
  const status = k.raw.countEvents(ev.n, ev.sub, ev.t, ev.kind, f.typeMask, f.tStart, f.tEnd, f.hourMask, dirMask, nSubs, state);
  check('countEvents', status, `every sub < ${nSubs}`);
}

export function finishEventCount(k: Kernels, state: Ptr, nSubs: number, out: Ptr): void {
  check('finishEventCount', k.raw.finishEventCount(state, nSubs, out), 'valid state');
}

// nocturnal_events -----------------------------------------------------------

/** Scratch bytes of countNocturnal: 8 * nSubs. */
export function nocturnalBytes(k: Kernels, nSubs: number): number {
  return k.raw.nocturnalBytes(nSubs) >>> 0;
}

/** Adds qualifying events, and those in the night (nightMaskOf), per sub. */
export function countNocturnal(
  k: Kernels, ev: Omit<EventColumns, 'cell'>, f: KernelFilter, dirMask: number, nightMask: number, nSubs: number, state: Ptr,
): void {
  checkFilter('countNocturnal', f);
  const status = k.raw.countNocturnal(ev.n, ev.sub, ev.t, ev.kind, f.typeMask, f.tStart, f.tEnd, f.hourMask, dirMask, nightMask, nSubs, state);
  check('countNocturnal', status, `every sub < ${nSubs}`);
}

/** out = percent (0-100) of a sub's events at night. */
export function finishNocturnal(k: Kernels, state: Ptr, nSubs: number, out: Ptr): void {
  check('finishNocturnal', k.raw.finishNocturnal(state, nSubs, out), 'valid state');
}

// total_active_periods -------------------------------------------------------

/** Scratch bytes of countActivePeriods: 8 * nSubs. */
export function activePeriodsBytes(k: Kernels, nSubs: number): number {
  return k.raw.activePeriodsBytes(nSubs) >>> 0;
}

/**
 * Counts distinct periods [f.tStart + i * periodSeconds, + periodSeconds) with a qualifying
 * event; f.tEnd = f.tStart + total_periods * periodSeconds. Ranges in date order.
 */
export function countActivePeriods(k: Kernels, ev: Omit<EventColumns, 'cell'>, f: KernelFilter, periodSeconds: number, nSubs: number, state: Ptr): void {
  checkFilter('countActivePeriods', f);
  const status = k.raw.countActivePeriods(ev.n, ev.sub, ev.t, ev.kind, f.typeMask, f.tStart, f.tEnd, f.hourMask, periodSeconds, nSubs, state);
  check('countActivePeriods', status, `period seconds > 0 (found ${periodSeconds}), every sub < ${nSubs}, and rows in time order across calls`);
}

export function finishActivePeriods(k: Kernels, state: Ptr, nSubs: number, out: Ptr): void {
  check('finishActivePeriods', k.raw.finishActivePeriods(state, nSubs, out), 'valid state');
}

// radius_of_gyration ---------------------------------------------------------

/** Scratch bytes of the gyration kernels: 64 * nSubs. */
export function gyrationBytes(k: Kernels, nSubs: number): number {
  return k.raw.gyrationBytes(nSubs) >>> 0;
}

/** Pass 1: sums each sub's event lon and lat; counts drops (no cell, no coordinates). */
export function gyrationSums(k: Kernels, ev: EventColumns, coords: CoordTable, f: KernelFilter, nSubs: number, state: Ptr, drops: Ptr): void {
  checkFilter('gyrationSums', f);
  const status = k.raw.gyrationSums(
    ev.n, ev.sub, ev.t, ev.cell, ev.kind, coords.lon, coords.lat, coords.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, state, drops,
  );
  check('gyrationSums', status, `every sub < ${nSubs}, and state not yet past gyrationCentroids`);
  checkDrops('gyrationSums', k.memory, drops);
}

/** Between the passes: sums become centroids. */
export function gyrationCentroids(k: Kernels, state: Ptr, nSubs: number): void {
  check('gyrationCentroids', k.raw.gyrationCentroids(state, nSubs), 'state from gyrationSums, centroids not yet set');
}

/** Pass 2, same ranges and filter: squared distances to the centroid. */
export function gyrationSpread(k: Kernels, ev: EventColumns, coords: CoordTable, f: KernelFilter, nSubs: number, state: Ptr): void {
  checkFilter('gyrationSpread', f);
  const status = k.raw.gyrationSpread(
    ev.n, ev.sub, ev.t, ev.cell, ev.kind, coords.lon, coords.lat, coords.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, state,
  );
  check('gyrationSpread', status, `every sub < ${nSubs}, and the rows of pass 1 after gyrationCentroids`);
}

/** out = radius of gyration in km. */
export function finishGyration(k: Kernels, state: Ptr, nSubs: number, out: Ptr): void {
  check('finishGyration', k.raw.finishGyration(state, nSubs, out), 'state after gyrationCentroids');
}

// displacement and topup_amount: per-event values -----------------------------

/**
 * Writes (sub, km from the sub's reference location to the event's cell) for each located
 * qualifying event of a sub with a reference (ref.lon / ref.lat: f64 per sub, NaN none);
 * out has room for ev.n pairs. Returns the pairs written.
 */
export function displacementValues(
  k: Kernels, ev: EventColumns, coords: CoordTable, f: KernelFilter, ref: { lon: Ptr; lat: Ptr }, nSubs: number,
  out: { sub: Ptr; value: Ptr }, drops: Ptr,
): number {
  checkFilter('displacementValues', f);
  const count = k.raw.displacementValues(
    ev.n, ev.sub, ev.t, ev.cell, ev.kind, coords.lon, coords.lat, coords.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask,
    ref.lon, ref.lat, nSubs, out.sub, out.value, drops,
  );
  checkDrops('displacementValues', k.memory, drops);
  return counted('displacementValues', count, `nSubs < 2^31 and every sub < ${nSubs}`);
}

/** Writes (sub, amount) for each qualifying event with a recharge amount; out has room for ev.n pairs. Returns the pairs written. */
export function topupValues(k: Kernels, ev: RechargeColumns, f: KernelFilter, nSubs: number, out: { sub: Ptr; value: Ptr }): number {
  checkFilter('topupValues', f);
  const count = k.raw.topupValues(ev.n, ev.sub, ev.t, ev.kind, ev.recharge, f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, out.sub, out.value);
  return counted('topupValues', count, `nSubs < 2^31 and every sub < ${nSubs}`);
}

// unique_location_counts -----------------------------------------------------

/** out[sub] += 1 per entry of subs (u32[n]): given LocationTable.keys' subs, distinct locations per sub. */
export function countPerSub(k: Kernels, n: number, subs: Ptr, nSubs: number, out: Ptr): void {
  check('countPerSub', k.raw.countPerSub(n, subs, nSubs, out), `every sub < ${nSubs}`);
}

// subscriber_degree and pareto_interactions ------------------------------------

/** A (subscriber, counterpart) table in the heap that grows itself (wasm/growing.ts). */
export class ContactTable extends GrowingTable {
  constructor(private readonly k: Kernels, heap: Allocator, initialCapacity = 1024) {
    super(heap, {
      bytes: (c) => k.raw.contactTableBytes(c) >>> 0,
      clear: (p, c) => check('contactTableClear', k.raw.contactTableClear(p, c), `a capacity that is a power of two in [8, 2^26], found ${c}`),
      rehash: (src, sc, dst, dc) => check('contactTableRehash', k.raw.contactTableRehash(src, sc, dst, dc), `room in ${dc} slots (at most 2^26) for the ${k.raw.contactTableUsed(src) >>> 0} contacts of a table of ${sc}`),
    }, initialCapacity);
  }

  get size(): number {
    return this.k.raw.contactTableUsed(this.ptr) >>> 0;
  }

  /**
   * Adds one range's qualifying events with a dirMask direction and a counterpart. With
   * excludeSelf, events with the sub itself are skipped; globalOf: u32 global index per
   * local sub (read only then).
   */
  count(ev: PeerColumns, f: KernelFilter, dirMask: number, excludeSelf: boolean, globalOf: Ptr, nSubs: number): void {
    checkFilter('countContacts', f);
    this.rows(ev.n, (done) => {
      const status = this.k.raw.countContacts(
        ev.n - done, ev.sub + 4 * done, ev.t + 4 * done, ev.kind + done, ev.peer + 4 * done,
        f.typeMask, f.tStart, f.tEnd, f.hourMask, dirMask, excludeSelf ? 1 : 0, globalOf, nSubs, this.ptr, this.cap,
      );
      if (status === STATUS_CAPACITY) return this.k.raw.contactTableConsumed(this.ptr) >>> 0;
      check('countContacts', status, `a contact table of ${this.cap} slots and every sub < ${nSubs}`);
      return ev.n - done;
    });
  }

  /** subscriber_degree: out[sub] = distinct counterparts. */
  degree(nSubs: number, out: Ptr): void {
    check('finishDegree', this.k.raw.finishDegree(this.ptr, this.cap, nSubs, out), `subs < ${nSubs}`);
  }

  /** pareto_interactions: out[sub] = smallest fraction of contacts with ceil(proportion x events) of the events. */
  pareto(nSubs: number, proportion: number, out: Ptr): void {
    const { numerator, denominator } = proportionFraction(proportion);
    const scratch = this.heap.alloc(this.k.raw.paretoScratchBytes(nSubs, this.size) >>> 0);
    try {
      const status = this.k.raw.finishPareto(this.ptr, this.cap, nSubs, numerator, denominator, scratch, out);
      check('finishPareto', status, `subs < ${nSubs} and a proportion fraction n/d with n <= d <= 2^30, found ${numerator}/${denominator}`);
    } finally {
      this.heap.release(scratch);
    }
  }
}

// Group statistics (kernels/stats.ts) -----------------------------------------

/** Scratch bytes of the moment kernels: 40 * nGroups, zero-filled. */
export function groupStatsBytes(k: Kernels, nGroups: number): number {
  return k.raw.groupStatsBytes(nGroups) >>> 0;
}

/** Pass 1: count, sum, min, max per group. */
export function groupSums(k: Kernels, pairs: Pairs, nGroups: number, state: Ptr): void {
  check('groupSums', k.raw.groupSums(pairs.n, pairs.group, pairs.value, nGroups, state), `groups < ${nGroups}`);
}

/** Pass 2 (for stddev and variance), same pairs: squared deviations from each group's mean. */
export function groupSpread(k: Kernels, pairs: Pairs, nGroups: number, state: Ptr): void {
  check('groupSpread', k.raw.groupSpread(pairs.n, pairs.group, pairs.value, nGroups, state), `groups < ${nGroups} and the pairs of pass 1`);
}

/** out[g] = the statistic (not median or mode) of each group with values. */
export function groupFinish(k: Kernels, state: Ptr, nGroups: number, statistic: StatisticName, out: Ptr): void {
  check('groupFinish', k.raw.groupFinish(state, nGroups, STATISTIC[statistic], out), `a statistic other than median and mode, found ${statistic}`);
}

/** Bytes of groupOrder's offsets: 4 * (nGroups + 1). */
export function groupOffsetsBytes(k: Kernels, nGroups: number): number {
  return k.raw.groupOffsetsBytes(nGroups) >>> 0;
}

/** Each group's values, ascending, in sorted[offsets[g] .. offsets[g + 1]); sorted has room for pairs.n. */
export function groupOrder(k: Kernels, pairs: Pairs, nGroups: number, offsets: Ptr, sorted: Ptr): void {
  check('groupOrder', k.raw.groupOrder(pairs.n, pairs.group, pairs.value, nGroups, offsets, sorted), `groups < ${nGroups}`);
}

/** out[g] = median or mode of each group's sorted values. */
export function groupFinishOrdered(k: Kernels, offsets: Ptr, sorted: Ptr, nGroups: number, statistic: StatisticName, out: Ptr): void {
  const status = k.raw.groupFinishOrdered(offsets, sorted, nGroups, STATISTIC[statistic], out);
  check('groupFinishOrdered', status, `median or mode over offsets from groupOrder, found ${statistic}`);
}

/** Copies the pairs with a group and a value to out (room for pairs.n); returns how many. */
export function groupPairs(k: Kernels, pairs: Pairs, out: { group: Ptr; value: Ptr }): number {
  return k.raw.groupPairs(pairs.n, pairs.group, pairs.value, out.group, out.value);
}

/**
 * out[g] (f64 per group, NaN-filled by the caller) = the statistic of group g's values,
 * all passes in one call, scratch from `heap`. Every pair set must be in `pairs`: for
 * several partitions, concatenate them first (groupPairs).
 */
export function groupStatistic(k: Kernels, heap: Allocator, pairs: Pairs, nGroups: number, statistic: StatisticName, out: Ptr): void {
  if (isOrdered(statistic)) {
    const offsets = heap.alloc(groupOffsetsBytes(k, nGroups));
    const sorted = heap.alloc(8 * Math.max(pairs.n, 1));
    try {
      groupOrder(k, pairs, nGroups, offsets, sorted);
      groupFinishOrdered(k, offsets, sorted, nGroups, statistic, out);
    } finally {
      heap.release(sorted);
      heap.release(offsets);
    }
    return;
  }
  const bytes = groupStatsBytes(k, nGroups);
  const state = heap.alloc(bytes);
  try {
    new Uint8Array(k.memory.buffer, state, bytes).fill(0);
    groupSums(k, pairs, nGroups, state);
    if (statistic === 'stddev' || statistic === 'variance') groupSpread(k, pairs, nGroups, state);
    groupFinish(k, state, nGroups, statistic, out);
  } finally {
    heap.release(state);
  }
}

/** out[b] += values (f64, NaN skipped) in bin b; edges f64[nBins + 1] strictly increasing, bins [) but the last []. */
export function histogram(k: Kernels, n: number, values: Ptr, edges: Ptr, nBins: number, out: Ptr): void {
  check('histogram', k.raw.histogram(n, values, edges, nBins, out), `nBins >= 1 (found ${nBins}) and finite, strictly increasing edges`);
}
