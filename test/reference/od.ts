/**
 * Reference implementations of the od and buckets kernels' semantics (trips and
 * consecutive-trips OD matrices, unmoving and reference-location counts, events
 * and distinct subscribers per location and bucket, distinct cells per location
 * and period), written from the query spec and FlowKit's definitions in plain
 * TypeScript over arrays of events, for the tests to compare the kernels
 * against. Obviously right over fast; conventions as in events.ts (events in
 * ingest order, "later" = a later second, or the same second and later in
 * ingest order). Pair keys are `${from},${to}`, bucket keys `${loc},${bucket}`.
 */
import { type Located, type Locator, type RefDrops, type RefEvent, type RefFilter, isLater, locateEvents } from './events.js';

function increment<K>(m: Map<K, number>, key: K): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

function bySubscriber(located: readonly Located[]): Map<number, Located[]> {
  const out = new Map<number, Located[]>();
  for (const l of located) {
    let list = out.get(l.event.sub);
    if (!list) out.set(l.event.sub, (list = []));
    list.push(l);
  }
  return out;
}

/**
 * trips_od_matrix: subscribers per (A, B), A != B, whose first located event at A is at
 * an earlier second than their last one at B (strictly, as FlowKit compares times).
 */
export function refTripsOD(events: readonly RefEvent[], f: RefFilter, locate: Locator): { counts: Map<string, number>; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const counts = new Map<string, number>();
  for (const list of bySubscriber(located).values()) {
    const first = new Map<number, number>();
    const last = new Map<number, number>();
    for (const { event, loc } of list) {
      first.set(loc, Math.min(first.get(loc) ?? Infinity, event.t));
      last.set(loc, Math.max(last.get(loc) ?? -Infinity, event.t));
    }
    for (const a of first.keys()) {
      for (const b of last.keys()) {
        if (a !== b && first.get(a)! < last.get(b)!) increment(counts, `${a},${b}`);
      }
    }
  }
  return { counts, drops };
}

/**
 * consecutive_trips_od_matrix: distinct subscribers per (A, B), A = B included, with a
 * located qualifying event at A directly followed (in time, then ingest order) by one at B.
 */
export function refConsecutiveTripsOD(events: readonly RefEvent[], f: RefFilter, locate: Locator): { counts: Map<string, number>; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const counts = new Map<string, number>();
  for (const list of bySubscriber(located).values()) {
    const ordered = [...list].sort((a, b) => (isLater(a, b) ? 1 : isLater(b, a) ? -1 : 0));
    const pairs = new Set<string>();
    for (let i = 1; i < ordered.length; i++) pairs.add(`${ordered[i - 1].loc},${ordered[i].loc}`);
    for (const pair of pairs) increment(counts, pair);
  }
  return { counts, drops };
}

/** Each subscriber's set of locations, from unique_locations' (sub, loc) pairs. */
function locationSets(pairs: readonly (readonly [number, number])[]): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (const [sub, loc] of pairs) {
    let set = out.get(sub);
    if (!set) out.set(sub, (set = new Set()));
    set.add(loc);
  }
  return out;
}

/** unmoving_counts: subscribers per location among those with exactly one location. */
export function refUnmovingCounts(pairs: readonly (readonly [number, number])[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const locs of locationSets(pairs).values()) if (locs.size === 1) increment(counts, [...locs][0]);
  return counts;
}

/**
 * unmoving_at_reference_location_counts: subscribers per reference location among those
 * with a reference location and at least one location, every one equal to the reference.
 */
export function refUnmovingAtReferenceCounts(pairs: readonly (readonly [number, number])[], reference: ReadonlyMap<number, number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const [sub, locs] of locationSets(pairs)) {
    const ref = reference.get(sub);
    if (ref !== undefined && [...locs].every((l) => l === ref)) increment(counts, ref);
  }
  return counts;
}

/** active_at_reference_location_counts: subscribers per reference location who were seen there. */
export function refActiveAtReferenceCounts(pairs: readonly (readonly [number, number])[], reference: ReadonlyMap<number, number>): Map<number, number> {
  const counts = new Map<number, number>();
  const sets = locationSets(pairs);
  for (const [sub, ref] of reference) if (sets.get(sub)?.has(ref)) increment(counts, ref);
  return counts;
}

/**
 * location_event_counts with its redaction input: located qualifying events (directions
 * as f.directions) and distinct subscribers among them, per location and bucket
 * floor((t - base) / bucketSeconds); key `${loc},${bucket}`.
 */
export function refEventsAndSubscribersByBucket(
  events: readonly RefEvent[],
  f: RefFilter,
  locate: Locator,
  bucketSeconds: number,
  base: number,
): { events: Map<string, number>; subscribers: Map<string, number>; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const counts = new Map<string, number>();
  const subs = new Map<string, Set<number>>();
  for (const l of located) {
    const key = `${l.loc},${Math.floor((l.event.t - base) / bucketSeconds)}`;
    increment(counts, key);
    let set = subs.get(key);
    if (!set) subs.set(key, (set = new Set()));
    set.add(l.event.sub);
  }
  const subscribers = new Map([...subs].map(([key, set]) => [key, set.size] as [string, number]));
  return { events: counts, subscribers, drops };
}

/**
 * total_network_objects: distinct cells with located qualifying events per (location,
 * period), the location being the cell's on the event's day, periodOf(t) the period of
 * an event; key `${loc},${period}`. A cell counts once per (period, loc).
 */
export function refCellsByPeriod(
  events: readonly RefEvent[],
  f: RefFilter,
  locate: Locator,
  periodOf: (t: number) => number,
): { counts: Map<string, number>; drops: RefDrops } {
  const { located, drops } = locateEvents(events, f, locate);
  const cells = new Map<string, Set<number>>();
  for (const l of located) {
    const key = `${l.loc},${periodOf(l.event.t)}`;
    let set = cells.get(key);
    if (!set) cells.set(key, (set = new Set()));
    set.add(l.event.cell);
  }
  return { counts: new Map([...cells].map(([key, set]) => [key, set.size] as [string, number])), drops };
}
