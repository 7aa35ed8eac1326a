/**
 * Reference implementations of the per-subscriber metrics and the group
 * statistics, written from the query spec (docs/QUERIES.md,
 * "Per-subscriber metrics", joined_spatial_aggregate, histogram_aggregate) in
 * plain TypeScript over arrays of events, for the tests to compare the kernels
 * against. Like events.ts they favour being obviously right over being fast.
 *
 * Events are given in ingest order; subscribers are global indices. Every metric
 * returns a Map with an entry per subscriber that has qualifying events; a value
 * of NaN (a variance of one value) is a null, which later aggregates skip.
 */
import { NULL_U32 } from '../../kernels/shared/constants.js';
import { type Locator, type RefDrops, type RefEvent, type RefFilter, dayOf, hourOf, locateEvents, qualifies } from './events.js';

export interface RefMetricEvent extends RefEvent {
  /** The counterpart's subscriber index; NULL_U32 or absent for none. */
  peer?: number;
  /** Recharge amount; NaN or absent for none. */
  recharge?: number;
}

/** A cell's coordinates (degrees) on a day (days since 1970), or a drop code: -1 no such cell, -2 no valid version that day. */
export type CoordLocator = (cell: number, day: number) => { lon: number; lat: number } | -1 | -2;

export type Statistic = 'count' | 'sum' | 'avg' | 'max' | 'min' | 'median' | 'mode' | 'stddev' | 'variance';

export const STATISTICS: readonly Statistic[] = ['count', 'sum', 'avg', 'max', 'min', 'median', 'mode', 'stddev', 'variance'];

/** docs/QUERIES.md: great-circle distances on a sphere of this radius. */
export const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance in km between two points in degrees (haversine formula). */
export function haversineKm(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const rad = Math.PI / 180;
  const sLat = Math.sin((lat2 - lat1) * rad * 0.5);
  const sLon = Math.sin((lon2 - lon1) * rad * 0.5);
  const a = Math.min(1, sLat * sLat + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * sLon * sLon);
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(a));
}

/**
 * A statistic of a non-empty list, as PostgreSQL computes it for FlowKit: sample
 * stddev and variance (n - 1; NaN below two values; exactly 0 for equal values),
 * median = percentile_cont(0.5), mode = the most frequent value, ties to the smallest.
 */
export function refStatistic(values: readonly number[], statistic: Statistic): number {
  const n = values.length;
  if (n === 0) throw new RangeError('expected at least one value');
  let sum = 0;
  for (const v of values) sum += v;
  const sorted = [...values].sort((a, b) => a - b);
  switch (statistic) {
    case 'count':
      return n;
    case 'sum':
      return sum;
    case 'avg':
      return sum / n;
    case 'max':
      return sorted[n - 1];
    case 'min':
      return sorted[0];
    case 'median': {
      const mid = Math.floor(n / 2);
      return n % 2 === 1 ? sorted[mid] : sorted[mid - 1] + (sorted[mid] - sorted[mid - 1]) * 0.5;
    }
    case 'mode': {
      const counts = new Map<number, number>();
      for (const v of sorted) counts.set(v, (counts.get(v) ?? 0) + 1);
      let best = sorted[0];
      for (const [v, c] of counts) if (c > counts.get(best)! || (c === counts.get(best)! && v < best)) best = v;
      return best;
    }
    case 'variance':
    case 'stddev': {
      let variance: number;
      if (n < 2) variance = NaN;
      else if (sorted[0] === sorted[n - 1]) variance = 0;
      else {
        const mean = sum / n;
        let squares = 0;
        for (const v of values) squares += (v - mean) ** 2;
        variance = squares / (n - 1);
      }
      return statistic === 'variance' ? variance : Math.sqrt(variance);
    }
  }
}

/** Values grouped by subscriber, in the events' order. */
function bySub<T>(items: Iterable<T>, sub: (item: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const key = sub(item);
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(item);
  }
  return out;
}

function mapValues<K, A, B>(m: ReadonlyMap<K, A>, fn: (a: A) => B): Map<K, B> {
  const out = new Map<K, B>();
  for (const [k, v] of m) out.set(k, fn(v));
  return out;
}

/** event_count: qualifying events per subscriber (f.directions: directions kept, all when absent). */
export function refEventCount(events: readonly RefMetricEvent[], f: RefFilter): Map<number, number> {
  const kept = events.filter((e) => qualifies(e, f));
  return mapValues(bySub(kept, (e) => e.sub), (list) => list.length);
}

/** nocturnal_events: percent of a subscriber's qualifying events whose hour is >= start or < end. */
export function refNocturnalEvents(events: readonly RefMetricEvent[], f: RefFilter, night: { start: number; end: number }): Map<number, number> {
  const kept = events.filter((e) => qualifies(e, f));
  return mapValues(bySub(kept, (e) => e.sub), (list) => {
    const nocturnal = list.filter((e) => hourOf(e.t) >= night.start || hourOf(e.t) < night.end).length;
    return (100 * nocturnal) / list.length;
  });
}

/** unique_location_counts: distinct locations of a subscriber's located qualifying events. */
export function refUniqueLocationCounts(events: readonly RefMetricEvent[], f: RefFilter, locate: Locator): { values: Map<number, number>; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const values = mapValues(bySub(located, (l) => l.event.sub), (list) => new Set(list.map((l) => l.loc)).size);
  return { values, drops };
}

/** Qualifying events with a counterpart, self-interactions left out when excludeSelf. */
function interactions(events: readonly RefMetricEvent[], f: RefFilter, excludeSelf: boolean): RefMetricEvent[] {
  return events.filter((e) => qualifies(e, f) && e.peer !== undefined && e.peer !== NULL_U32 && !(excludeSelf && e.peer === e.sub));
}

/** subscriber_degree: distinct counterparts, self excluded. */
export function refSubscriberDegree(events: readonly RefMetricEvent[], f: RefFilter): Map<number, number> {
  return mapValues(bySub(interactions(events, f, true), (e) => e.sub), (list) => new Set(list.map((e) => e.peer)).size);
}

/**
 * pareto_interactions: the fewest contacts, busiest first, whose events reach
 * ceil(proportion x events), over the number of contacts. Self-interactions count
 * unless excludeSelf (FlowKit's ParetoInteractions keeps them by default).
 * The ceiling is exact for the proportion's decimal spelling (BigInt arithmetic).
 */
export function refParetoInteractions(events: readonly RefMetricEvent[], f: RefFilter, proportion: number, excludeSelf = false): Map<number, number> {
  return mapValues(bySub(interactions(events, f, excludeSelf), (e) => e.sub), (list) => {
    const perContact = new Map<number, number>();
    for (const e of list) perContact.set(e.peer!, (perContact.get(e.peer!) ?? 0) + 1);
    const counts = [...perContact.values()].sort((a, b) => b - a);
    const target = exactCeilTimes(proportion, list.length);
    let k = 0;
    let reached = 0;
    do reached += counts[k++];
    while (reached < target && k < counts.length);
    return k / counts.length;
  });
}

/** ceil(p * n) with p read as the decimal its shortest spelling shows (String(p)). */
export function exactCeilTimes(p: number, n: number): number {
  const [mantissa, exponent = '0'] = String(p).split('e');
  const [whole, fraction = ''] = mantissa.split('.');
  const digits = BigInt(whole + fraction);
  const scale = fraction.length - Number(exponent); // p = digits / 10^scale
  const num = digits * BigInt(n) * (scale < 0 ? 10n ** BigInt(-scale) : 1n);
  const den = scale > 0 ? 10n ** BigInt(scale) : 1n;
  return Number((num + den - 1n) / den);
}

/** total_active_periods: distinct periods [start + i * seconds, + seconds), i < total, with a qualifying event (f's window is ignored). */
export function refTotalActivePeriods(
  events: readonly RefMetricEvent[], f: RefFilter, start: number, periodSeconds: number, totalPeriods: number,
): Map<number, number> {
  const window = { ...f, start, end: start + totalPeriods * periodSeconds };
  const kept = events.filter((e) => qualifies(e, window));
  return mapValues(bySub(kept, (e) => e.sub), (list) => new Set(list.map((e) => Math.floor((e.t - start) / periodSeconds))).size);
}

/** topup_amount: the statistic over a subscriber's recharge amounts (events without one are skipped). */
export function refTopupAmount(events: readonly RefMetricEvent[], f: RefFilter, statistic: Statistic): Map<number, number> {
  const kept = events.filter((e) => qualifies(e, f) && e.recharge !== undefined && !Number.isNaN(e.recharge));
  return mapValues(bySub(kept, (e) => e.sub), (list) => refStatistic(list.map((e) => e.recharge!), statistic));
}

interface Placed {
  event: RefMetricEvent;
  index: number;
  lon: number;
  lat: number;
}

/** Qualifying events with coordinates, in ingest order, and the drops (no cell; no valid version). */
function placeEvents(events: readonly RefMetricEvent[], f: RefFilter, coords: CoordLocator): { placed: Placed[]; drops: RefDrops } {
  const placed: Placed[] = [];
  const drops: RefDrops = { noCell: 0, unknown: 0, outside: 0 };
  events.forEach((event, index) => {
    if (!qualifies(event, f)) return;
    const c = event.cell === NULL_U32 ? -1 : coords(event.cell, dayOf(event.t));
    if (c === -1) drops.noCell++;
    else if (c === -2) drops.unknown++;
    else placed.push({ event, index, lon: c.lon, lat: c.lat });
  });
  return { placed, drops };
}

/**
 * radius_of_gyration: sqrt of the mean squared great-circle distance (km) from each
 * located event to the subscriber's centroid, the plain mean of the events' lon and
 * lat. Sums run in time order (ties in ingest order), the order the kernels see, so
 * that the centroid is the same double.
 */
export function refRadiusOfGyration(events: readonly RefMetricEvent[], f: RefFilter, coords: CoordLocator): { values: Map<number, number>; drops: RefDrops } {
  const { placed, drops } = placeEvents(events, f, coords);
  placed.sort((a, b) => a.event.t - b.event.t || a.index - b.index);
  const values = mapValues(bySub(placed, (p) => p.event.sub), (list) => {
    let sumLon = 0;
    let sumLat = 0;
    for (const p of list) {
      sumLon += p.lon;
      sumLat += p.lat;
    }
    const lon = sumLon / list.length;
    const lat = sumLat / list.length;
    let squares = 0;
    for (const p of list) squares += haversineKm(lon, lat, p.lon, p.lat) ** 2;
    return Math.sqrt(squares / list.length);
  });
  return { values, drops };
}

/**
 * displacement: the statistic over a subscriber's located events of the km distance
 * from their reference location to the event's cell. Subscribers without a reference
 * location are absent; drops count every qualifying event without coordinates.
 */
export function refDisplacement(
  events: readonly RefMetricEvent[], f: RefFilter, coords: CoordLocator,
  reference: ReadonlyMap<number, { lon: number; lat: number }>, statistic: Statistic,
): { values: Map<number, number>; drops: RefDrops } {
  const { placed, drops } = placeEvents(events, f, coords);
  const withRef = placed.filter((p) => reference.has(p.event.sub));
  const values = mapValues(bySub(withRef, (p) => p.event.sub), (list) => {
    const home = reference.get(list[0].event.sub)!;
    return refStatistic(list.map((p) => haversineKm(home.lon, home.lat, p.lon, p.lat)), statistic);
  });
  return { values, drops };
}

/**
 * joined_spatial_aggregate: the statistic of the metric over the subscribers located
 * at each location (inner join; NaN metrics are nulls and skipped).
 */
export function refJoinedAggregate(
  locations: ReadonlyMap<number, number>, metric: ReadonlyMap<number, number>, statistic: Statistic,
): Map<number, number> {
  const byLoc = new Map<number, number[]>();
  for (const [sub, loc] of locations) {
    const v = metric.get(sub);
    if (v === undefined || Number.isNaN(v)) continue;
    let list = byLoc.get(loc);
    if (!list) byLoc.set(loc, (list = []));
    list.push(v);
  }
  return mapValues(byLoc, (list) => refStatistic(list, statistic));
}

/** histogram_aggregate: values per bin, bins [edges[b], edges[b + 1]) and the last one closed; values outside are not counted. */
export function refHistogram(values: Iterable<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  const last = edges.length - 2;
  for (const v of values) {
    for (let b = 0; b <= last; b++) {
      if (v >= edges[b] && (v < edges[b + 1] || (b === last && v === edges[b + 1]))) {
        counts[b]++;
        break;
      }
    }
  }
  return counts;
}
