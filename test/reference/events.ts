/**
 * Reference implementations of the kernels' semantics, written from the query
 * spec (docs/QUERIES.md) in plain TypeScript over arrays of events,
 * for the tests to compare the kernels against. They favour being obviously
 * right over being fast: no partitions, no sorting tricks, no shared memory.
 *
 * Events are given in ingest order (the array index is the ingest position), so
 * "later" is always (t, index): a later second, or the same second and a later
 * ingest position.
 */
import { DIR_SHIFT, NULL_U32, SECONDS_PER_DAY, TYPE_MASK } from '../../kernels/shared/constants.js';

export interface RefEvent {
  /** Subscriber index. */
  sub: number;
  /** Local wall-clock seconds since 1970. */
  t: number;
  /** Cell key, NULL_U32 for none. */
  cell: number;
  /** Event type | direction << 2. */
  kind: number;
}

export interface RefFilter {
  /** Event type codes kept (TYPE_CALLS, ...). */
  types: readonly number[];
  /** Window [start, end), local seconds. */
  start: number;
  end: number;
  /** The spec's hours: [start, end) of each day, wrapping past midnight when start > end. */
  hours?: { start: number; end: number };
  /** Direction codes kept; all when absent. */
  directions?: readonly number[];
}

/** Location of a cell on a day (days since 1970): >= 0, or -2 unknown / no valid version, -3 outside every region. */
export type Locator = (cell: number, day: number) => number;

export interface RefDrops {
  noCell: number;
  unknown: number;
  outside: number;
}

export interface Located {
  event: RefEvent;
  /** Ingest position. */
  index: number;
  loc: number;
}

export function dayOf(t: number): number {
  return Math.floor(t / SECONDS_PER_DAY);
}

export function hourOf(t: number): number {
  return Math.floor((t % SECONDS_PER_DAY) / 3600);
}

export function eventType(e: RefEvent): number {
  return e.kind & TYPE_MASK;
}

export function eventDirection(e: RefEvent): number {
  return (e.kind >> DIR_SHIFT) & 3;
}

/** The spec's filters: event types, the half-open window, the hours rule, directions. */
export function qualifies(e: RefEvent, f: RefFilter): boolean {
  if (!f.types.includes(eventType(e))) return false;
  if (e.t < f.start || e.t >= f.end) return false;
  if (f.hours) {
    const h = hourOf(e.t);
    const { start, end } = f.hours;
    const kept = start <= end ? h >= start && h < end : h < end || h >= start;
    if (!kept) return false;
  }
  if (f.directions && !f.directions.includes(eventDirection(e))) return false;
  return true;
}

/** The qualifying events that have a location, in ingest order, and why the others were dropped. */
export function locateEvents(events: readonly RefEvent[], f: RefFilter, locate: Locator): { located: Located[]; drops: RefDrops } {
  const located: Located[] = [];
  const drops: RefDrops = { noCell: 0, unknown: 0, outside: 0 };
  events.forEach((event, index) => {
    if (!qualifies(event, f)) return;
    const loc = event.cell === NULL_U32 ? -1 : locate(event.cell, dayOf(event.t));
    if (loc >= 0) located.push({ event, index, loc });
    else if (loc === -1) drops.noCell++;
    else if (loc === -2) drops.unknown++;
    else if (loc === -3) drops.outside++;
    else throw new RangeError(`expected a location or drop code -1..-3, found ${loc}`);
  });
  return { located, drops };
}

/** Whether a is later than b: a later second, or the same second and later in ingest order. */
export function isLater(a: Located, b: Located): boolean {
  return a.event.t !== b.event.t ? a.event.t > b.event.t : a.index > b.index;
}

/**
 * A day's rows grouped by partition and, within one, by time, ties in row order:
 * perm lists row indices in that order, offsets[p] is partition p's first position.
 */
export function refPartition(rows: readonly RefEvent[], partOf: (sub: number) => number, nParts: number): { perm: number[]; offsets: number[] } {
  const perm = rows.map((_, i) => i);
  // Array.prototype.sort is stable, so equal (partition, t) keep row order.
  perm.sort((a, b) => partOf(rows[a].sub) - partOf(rows[b].sub) || rows[a].t - rows[b].t);
  const offsets: number[] = [];
  for (let p = 0; p <= nParts; p++) offsets.push(rows.filter((r) => partOf(r.sub) < p).length);
  return { perm, offsets };
}

/** daily_location method last: each subscriber's location at their latest located qualifying event. */
export function refLastLocation(events: readonly RefEvent[], f: RefFilter, locate: Locator): { locations: Map<number, number>; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const latest = new Map<number, Located>();
  for (const l of located) {
    const seen = latest.get(l.event.sub);
    if (!seen || isLater(l, seen)) latest.set(l.event.sub, l);
  }
  return { locations: mapValues(latest, (l) => l.loc), drops };
}

interface Visits {
  loc: number;
  events: number;
  days: Set<number>;
  latest: Located;
}

/** Per subscriber, per location: events, distinct days and the latest event there. */
function visitsBySubscriber(located: readonly Located[]): Map<number, Map<number, Visits>> {
  const bySub = new Map<number, Map<number, Visits>>();
  for (const l of located) {
    let byLoc = bySub.get(l.event.sub);
    if (!byLoc) bySub.set(l.event.sub, (byLoc = new Map()));
    let v = byLoc.get(l.loc);
    if (!v) byLoc.set(l.loc, (v = { loc: l.loc, events: 0, days: new Set(), latest: l }));
    v.events++;
    v.days.add(dayOf(l.event.t));
    if (isLater(l, v.latest)) v.latest = l;
  }
  return bySub;
}

/** The best location per subscriber under `better(a, b)`: whether a beats b. */
function choose(located: readonly Located[], better: (a: Visits, b: Visits) => boolean): Map<number, number> {
  const out = new Map<number, number>();
  for (const [sub, byLoc] of visitsBySubscriber(located)) {
    let best: Visits | null = null;
    for (const v of byLoc.values()) if (!best || better(v, best)) best = v;
    out.set(sub, best!.loc);
  }
  return out;
}

/** daily_location most-common / most_frequent_location: most events, tie -> the location whose latest event is latest. */
export function refMostCommon(events: readonly RefEvent[], f: RefFilter, locate: Locator): { locations: Map<number, number>; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const locations = choose(located, (a, b) => (a.events !== b.events ? a.events > b.events : isLater(a.latest, b.latest)));
  return { locations, drops };
}

/** visited_most_days: most distinct days, then most events, then the location whose latest event is latest. */
export function refVisitedMostDays(events: readonly RefEvent[], f: RefFilter, locate: Locator): { locations: Map<number, number>; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const locations = choose(located, (a, b) => {
    if (a.days.size !== b.days.size) return a.days.size > b.days.size;
    if (a.events !== b.events) return a.events > b.events;
    return isLater(a.latest, b.latest);
  });
  return { locations, drops };
}

/** unique_locations: the distinct (subscriber, location) pairs, sorted by subscriber then location. */
export function refUniqueLocations(events: readonly RefEvent[], f: RefFilter, locate: Locator): { pairs: [number, number][]; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const seen = new Set<string>();
  const pairs: [number, number][] = [];
  for (const l of located) {
    const key = `${l.event.sub},${l.loc}`;
    if (seen.has(key)) continue;
    seen.add(key);
    pairs.push([l.event.sub, l.loc]);
  }
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { pairs, drops };
}

/** spatial_aggregate: subscribers per location. */
export function refSpatialAggregate(locations: ReadonlyMap<number, number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const loc of locations.values()) counts.set(loc, (counts.get(loc) ?? 0) + 1);
  return counts;
}

/** flows (inner join): subscribers per (from, to) among those located in both, stayers included; key `${from},${to}`. */
export function refFlows(from: ReadonlyMap<number, number>, to: ReadonlyMap<number, number>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [sub, a] of from) {
    const b = to.get(sub);
    if (b === undefined) continue;
    const key = `${a},${b}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * location_event_counts: located qualifying events per location and time bucket,
 * bucket = floor((t - base) / bucketSeconds); key `${loc},${bucket}`.
 */
export function refLocationEventCounts(
  events: readonly RefEvent[],
  f: RefFilter,
  locate: Locator,
  bucketSeconds: number,
  base: number,
): { counts: Map<string, number>; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const counts = new Map<string, number>();
  for (const l of located) {
    const key = `${l.loc},${Math.floor((l.event.t - base) / bucketSeconds)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { counts, drops };
}

function mapValues<K, A, B>(m: ReadonlyMap<K, A>, fn: (a: A) => B): Map<K, B> {
  const out = new Map<K, B>();
  for (const [k, v] of m) out.set(k, fn(v));
  return out;
}

/** modal_location: the most frequent of a subscriber's daily locations (inputs in date order); a tie goes to the location of the latest day. */
export function refModalLocation(daily: readonly ReadonlyMap<number, number>[]): Map<number, number> {
  const out = new Map<number, number>();
  const subs = new Set(daily.flatMap((m) => [...m.keys()]));
  for (const s of subs) {
    const count = new Map<number, number>();
    const latest = new Map<number, number>();
    daily.forEach((m, i) => {
      const l = m.get(s);
      if (l === undefined) return;
      count.set(l, (count.get(l) ?? 0) + 1);
      latest.set(l, i);
    });
    const best = [...count.keys()].sort((a, b) => count.get(b)! - count.get(a)! || latest.get(b)! - latest.get(a)!)[0]!;
    out.set(s, best);
  }
  return out;
}
