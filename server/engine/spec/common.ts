/**
 * Fields shared by many kinds, after FlowKit's field mixins and custom fields
 * (query_schemas/field_mixins.py, custom_fields.py, aggregation_unit.py,
 * random_sample.py), with docs/QUERIES.md's rules where they differ: event_types
 * default to calls and sms, hours are a half-open [start, end) of whole
 * hours, subscriber_subset is null only (a list or a query id is refused for
 * good: errors.ts, subscriberList and subscriberSubsetId).
 */
import { Issues } from './errors.js';
import { SPEC_LIMITS } from './limits.js';
import { boolean, type Draft, type Fields, integer, joinPath, number, object, oneOf, type Reader } from './read.js';
import type { SpecNode } from './kinds.js';
import { outputUnit } from './unit.js';

export const EVENT_TYPES = ['calls', 'sms', 'mds', 'topups'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** docs/QUERIES.md: omitted event_types mean calls and sms. */
export const DEFAULT_EVENT_TYPES: readonly EventType[] = ['calls', 'sms'];

/** Sample statistics (PostgreSQL's, as flowmachine's Statistic enum). */
export const STATISTICS = ['count', 'sum', 'avg', 'max', 'min', 'median', 'mode', 'stddev', 'variance'] as const;
export type Statistic = (typeof STATISTICS)[number];

export const DIRECTIONS = ['in', 'out', 'both'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Local clock hours [start_hour:00, end_hour:00); start > end wraps past midnight. */
export interface Hours {
  start_hour: number;
  end_hour: number;
}

/** FlowKit's random sample of subscribers (BaseQueryWithSamplingSchema). */
export interface Sampling {
  sampling_method: 'system_rows' | 'system' | 'bernoulli' | 'random_ids';
  /** Exactly one of size (rows) and fraction (0, 1) is set. */
  size?: number;
  fraction?: number;
  estimate_count: boolean;
  /** Absent for system_rows, which cannot be seeded; [-1, 1] for random_ids. */
  seed?: number;
}

/** The event selection most kinds share. */
export interface EventFilter {
  /** Sorted, deduplicated. */
  event_types: EventType[];
  hours: Hours | null;
  subscriber_subset: null;
}

const eventType = oneOf(EVENT_TYPES);

export function readEventTypes(f: Fields): EventType[] | undefined {
  if (!f.has('event_types')) return [...DEFAULT_EVENT_TYPES];
  const raw = f.raw.event_types;
  const path = f.at('event_types');
  const expected = `a non-empty list of ${EVENT_TYPES.join(', ')}`;
  if (!Array.isArray(raw) || raw.length === 0) return f.fail(Issues.expected(path, expected, raw));
  if (raw.length > SPEC_LIMITS.eventTypes) {
    return f.fail(Issues.described(path, `a list of at most ${SPEC_LIMITS.eventTypes} event types (${EVENT_TYPES.join(', ')})`, `a list of ${raw.length}`));
  }
  const types = raw.map((v, i) => eventType(v, joinPath(path, i), f.env));
  if (types.some((t) => t === undefined)) return undefined;
  return [...new Set(types as EventType[])].sort();
}

const hourOfDay = integer({ min: 0, max: 24 });

/** [s, e), or [0, e) and [s, 24) when s > e: empty when s == e, and for 24 -> 0. */
const emptyHours = (s: number, e: number) => s === e || (s === 24 && e === 0);

/** hours, or nocturnal_events' night_hours; an empty selection is refused. */
export function hoursReader(owner: string): Reader<Hours> {
  return object(owner, 'an object {start_hour, end_hour} of whole hours 0-24', (h) => {
    const start = h.req('start_hour', 'an integer 0-24', hourOfDay);
    const end = h.req('end_hour', 'an integer 0-24', hourOfDay);
    if (start === undefined || end === undefined) return undefined;
    if (emptyHours(start, end)) {
      return h.fail(
        Issues.expected(h.path, 'start_hour and end_hour that select some hours ([start, end) is empty here)', h.raw),
      );
    }
    return { start_hour: start, end_hour: end };
  });
}

export function readHours(f: Fields): Hours | null | undefined {
  return f.opt('hours', null, hoursReader('hours'));
}

export function readSubscriberSubset(f: Fields): null | undefined {
  if (!f.has('subscriber_subset')) return null;
  const raw = f.raw.subscriber_subset;
  const path = f.at('subscriber_subset');
  // Never echo the value: a list (or a mistaken string) may hold phone numbers.
  if (Array.isArray(raw)) return f.fail(Issues.subscriberList(path, raw.length));
  if (typeof raw === 'string') return f.fail(Issues.subscriberSubsetId(path));
  return f.fail(Issues.described(path, 'null (all subscribers)', `a value of type ${typeof raw}`));
}

/** The event selection: event_types, subscriber_subset, and hours where the kind takes them. */
export function readEventFilter(f: Fields, withHours = true): Draft<EventFilter> {
  return {
    event_types: readEventTypes(f),
    hours: withHours ? readHours(f) : null,
    subscriber_subset: readSubscriberSubset(f),
  };
}

/** An aggregation unit of this store, in the store's spelling. */
export const unit: Reader<string> = (value, path, env) => {
  const units = env.ctx.units;
  const hit = typeof value === 'string' ? units.find((u) => u.toLowerCase() === value.toLowerCase()) : undefined;
  if (hit === undefined) env.errors.push(Issues.unknownUnit(path, value, units));
  return hit;
};

const CUSTOM_TABLES = ['mapping_table', 'geom_table', 'geom_table_join_column'] as const;

/**
 * aggregation_unit, plus FlowKit's AggregationUnitMixin table overrides, which
 * flowclient always sends (as null). Opalite's regions come from the store,
 * so a named database table cannot be honoured.
 */
export function readUnit(f: Fields): string | undefined {
  for (const key of CUSTOM_TABLES) {
    if (f.has(key)) f.fail(Issues.notSupported(f.at(key), 'null', 'a custom geography table'));
  }
  return f.req('aggregation_unit', 'an aggregation unit', unit);
}

export const statistic = oneOf(STATISTICS);
export const direction = oneOf(DIRECTIONS);

export function readStatistic(f: Fields): Statistic | undefined {
  return f.req('statistic', `one of ${STATISTICS.join(', ')}`, statistic);
}

export function readDirection(f: Fields): Direction | undefined {
  return f.opt('direction', 'both' as const, direction);
}

const SAMPLING_METHODS = ['system_rows', 'system', 'bernoulli', 'random_ids'] as const;

const sampling: Reader<Sampling> = object('sampling', 'an object {sampling_method, size or fraction, seed}', (s) => {
  const method = s.req('sampling_method', `one of ${SAMPLING_METHODS.join(', ')}`, oneOf(SAMPLING_METHODS));
  const size = s.opt('size', undefined, integer({ min: 1 }));
  const fraction = s.opt('fraction', undefined, number({ above: 0, below: 1 }));
  const estimateCount = s.opt('estimate_count', true, boolean);
  const seedBounds = method === 'random_ids' ? { min: -1, max: 1 } : {};
  let seed: number | undefined;
  if (method === 'system_rows') {
    if (s.has('seed')) {
      s.fail(Issues.expected(s.at('seed'), 'no seed (system_rows sampling cannot be seeded)', s.raw.seed));
    }
  } else if (method !== undefined) {
    seed = s.req('seed', `a number${method === 'random_ids' ? ' between -1 and 1' : ''}`, number(seedBounds));
  }
  if (s.has('size') === s.has('fraction')) {
    return s.fail(Issues.expected(s.path, "exactly one of 'size' and 'fraction'", s.raw));
  }
  if (method === undefined || estimateCount === undefined || (size ?? fraction) === undefined) return undefined;
  if (method !== 'system_rows' && seed === undefined) return undefined;
  const out: Sampling = { sampling_method: method, estimate_count: estimateCount };
  if (size !== undefined) out.size = size;
  if (fraction !== undefined) out.fraction = fraction;
  if (seed !== undefined) out.seed = seed;
  return out;
});

export function readSampling(f: Fields): Sampling | null | undefined {
  return f.opt('sampling', null, sampling);
}

/**
 * Every spec in `parts` must produce locations at one unit (FlowKit checks this
 * for modal_location, location_visits, flows, coalesced_location, ...). Each
 * mismatch is reported at its own path against the first spec's unit.
 */
export function checkSameUnit(f: Fields, parts: readonly { key: string; spec: SpecNode | undefined }[]): void {
  const known = parts.flatMap(({ key, spec }) => {
    const u = spec && outputUnit(spec);
    return u === undefined ? [] : [{ key, unit: u }];
  });
  const first = known[0];
  for (const p of known) {
    if (first && p.unit !== first.unit) f.fail(Issues.mixedUnits(f.at(p.key), first.unit, f.at(first.key), p.unit));
  }
}

/** Same check over a list field (locations.0, locations.1, ...). */
export function checkSameUnitList(f: Fields, key: string, specs: readonly SpecNode[] | undefined): void {
  if (specs) checkSameUnit(f, specs.map((spec, i) => ({ key: `${key}.${i}`, spec })));
}

/**
 * FlowKit dumps aggregates with their derived aggregation_unit; a dumped spec
 * sent back must still load, so the field is accepted when it agrees.
 */
export function acceptDerivedUnit(f: Fields, from: string, spec: SpecNode | undefined): void {
  if (!f.has('aggregation_unit')) return;
  const given = unit(f.raw.aggregation_unit, f.at('aggregation_unit'), f.env);
  const derived = spec && outputUnit(spec);
  if (given !== undefined && derived !== undefined && given !== derived) {
    f.fail(Issues.mixedUnits(f.at('aggregation_unit'), derived, f.at(from), given));
  }
}
