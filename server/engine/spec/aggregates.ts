/**
 * The top-level kinds: docs/QUERIES.md's table, with FlowKit's fields
 * (query_schemas/spatial_aggregate.py, flows.py, inflows.py, outflows.py,
 * joined_spatial_aggregate.py, histogram_aggregate.py, location_event_counts.py,
 * unique_subscriber_counts.py, total_network_objects.py,
 * aggregate_network_objects.py, active_at_reference_location_counts.py,
 * unique_visitor_counts.py, unmoving_counts.py,
 * unmoving_at_reference_location_counts.py, trips_od_matrix.py,
 * consecutive_trips_od_matrix.py, geography.py). Meaningful locations are in
 * meaningful.ts, the labelled aggregates in labelled.ts.
 */
import {
  acceptDerivedUnit,
  checkSameUnit,
  type Direction,
  type EventFilter,
  readDirection,
  readEventFilter,
  readStatistic,
  readUnit,
  type Statistic,
} from './common.js';
import { readWindow } from './dates.js';
import { Issues } from './errors.js';
import { CATEGORICAL_METRIC_KINDS } from './kinds.js';
import type { FlowInput, ReferenceLocation, UniqueLocations } from './locations.js';
import { MEANINGFUL_PARSERS } from './meaningful.js';
import type { MetricSpec, NumericMetric } from './metrics.js';
import { SPEC_LIMITS } from './limits.js';
import { built, type Fields, integer, joinPath, listOf, number, object, oneOf, type Reader } from './read.js';

export interface SpatialAggregate {
  query_kind: 'spatial_aggregate';
  locations: ReferenceLocation;
}

/** Statistics of a per-subscriber metric over the subscribers located in each region. */
export const JSA_METHODS = ['avg', 'max', 'min', 'median', 'mode', 'stddev', 'variance', 'distr'] as const;
export type JsaMethod = (typeof JSA_METHODS)[number];

export interface JoinedSpatialAggregate {
  query_kind: 'joined_spatial_aggregate';
  locations: ReferenceLocation;
  metric: MetricSpec;
  method: JsaMethod;
}

/** n equal-width bins, or explicit increasing edges. */
export type HistogramBins = { n_bins: number } | { bin_list: number[] };

export interface HistogramAggregate {
  query_kind: 'histogram_aggregate';
  metric: NumericMetric;
  bins: HistogramBins;
  range: { lower_bound: number; upper_bound: number } | null;
}

/** FlowKit's Join.join_kinds, with the synonyms 'left outer' and 'right outer' folded. */
export type JoinType = 'inner' | 'full outer' | 'left' | 'right';

interface FlowsBase<K extends string> {
  query_kind: K;
  from_location: FlowInput;
  to_location: FlowInput;
  join_type: JoinType;
}
export type Flows = FlowsBase<'flows'>;
export type Inflows = FlowsBase<'inflows'>;
export type Outflows = FlowsBase<'outflows'>;

interface WindowedCount extends Omit<EventFilter, 'hours'> {
  start_date: string;
  end_date: string;
  aggregation_unit: string;
  /**
   * FlowKit's HoursField (missing=None, allow_none=True): FlowClient sends null. Left out
   * when null, so a spec without hours keeps its query id (and its kept results).
   */
  hours?: NonNullable<EventFilter['hours']>;
}

export interface UniqueSubscriberCounts extends WindowedCount {
  query_kind: 'unique_subscriber_counts';
}

export interface LocationEventCounts extends Omit<WindowedCount, 'hours'> {
  query_kind: 'location_event_counts';
  interval: 'day' | 'hour' | 'min';
  direction: Direction;
  hours: EventFilter['hours'];
}

export const TOTAL_BY = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;
export const AGGREGATE_BY = [...TOTAL_BY, 'century'] as const;

export interface TotalNetworkObjects extends WindowedCount {
  query_kind: 'total_network_objects';
  total_by: (typeof TOTAL_BY)[number];
}

export interface AggregateNetworkObjects {
  query_kind: 'aggregate_network_objects';
  total_network_objects: TotalNetworkObjects;
  statistic: Statistic;
  aggregate_by: (typeof AGGREGATE_BY)[number];
}

export interface ActiveAtReferenceLocationCounts {
  query_kind: 'active_at_reference_location_counts';
  unique_locations: UniqueLocations;
  reference_locations: ReferenceLocation;
}

export interface UniqueVisitorCounts {
  query_kind: 'unique_visitor_counts';
  active_at_reference_location_counts: ActiveAtReferenceLocationCounts;
  unique_subscriber_counts: UniqueSubscriberCounts;
}

export interface UnmovingCounts {
  query_kind: 'unmoving_counts';
  locations: UniqueLocations;
}

export interface UnmovingAtReferenceLocationCounts {
  query_kind: 'unmoving_at_reference_location_counts';
  locations: UniqueLocations;
  reference_locations: ReferenceLocation;
}

export interface TripsODMatrix extends WindowedCount {
  query_kind: 'trips_od_matrix';
}

export interface ConsecutiveTripsODMatrix extends WindowedCount {
  query_kind: 'consecutive_trips_od_matrix';
}

export interface Geography {
  query_kind: 'geography';
  aggregation_unit: string;
}

function spatialAggregate(f: Fields): SpatialAggregate {
  const locations = f.nested<ReferenceLocation>('locations');
  acceptDerivedUnit(f, 'locations', locations);
  return built<SpatialAggregate>({ query_kind: 'spatial_aggregate', locations });
}

const jsaMethod = oneOf(JSA_METHODS);

/** FlowKit's validate_method: distr is for categorical metrics, which take distr or mode only. */
function checkJsaMethod(f: Fields, metric: MetricSpec | undefined, method: JsaMethod | undefined): void {
  if (!metric || !method) return;
  const categorical = CATEGORICAL_METRIC_KINDS.includes(metric.query_kind);
  const allowed: readonly JsaMethod[] = categorical ? ['distr', 'mode'] : JSA_METHODS.filter((m) => m !== 'distr');
  if (!allowed.includes(method)) {
    const what = `a method for the ${categorical ? 'categorical' : 'numeric'} metric ${metric.query_kind}`;
    f.fail(Issues.expected(f.at('method'), `${what} (${allowed.join(', ')})`, method));
  }
}

function joinedSpatialAggregate(f: Fields): JoinedSpatialAggregate {
  const locations = f.nested<ReferenceLocation>('locations');
  const metric = f.nested<MetricSpec>('metric');
  const method = f.req('method', `one of ${JSA_METHODS.join(', ')}`, jsaMethod);
  checkJsaMethod(f, metric, method);
  acceptDerivedUnit(f, 'locations', locations);
  return built<JoinedSpatialAggregate>({ query_kind: 'joined_spatial_aggregate', locations, metric, method });
}

const edges: Reader<number[]> = (value, path, env) => {
  const list = listOf(number(), 'bin edges', { min: 2, max: SPEC_LIMITS.bins + 1 })(value, path, env);
  if (list && list.some((x, i) => i > 0 && x <= list[i - 1]!)) {
    env.errors.push(Issues.expected(path, 'strictly increasing bin edges', value));
    return undefined;
  }
  return list;
};
const nBins = integer({ min: 1, max: SPEC_LIMITS.bins });

/** FlowKit's {n_bins} or {bin_list}; a bare count or edge list (docs/QUERIES.md's "n or edges") is taken too. */
const bins: Reader<HistogramBins> = (value, path, env) => {
  if (typeof value === 'number' || typeof value === 'string') {
    const n = nBins(value, path, env);
    return n === undefined ? undefined : { n_bins: n };
  }
  if (Array.isArray(value)) {
    const list = edges(value, path, env);
    return list === undefined ? undefined : { bin_list: list };
  }
  return object('bins', 'a bin count, a list of bin edges, or {n_bins} or {bin_list}', (b) => {
    if (b.has('n_bins') === b.has('bin_list')) {
      return b.fail(Issues.expected(b.path, "exactly one of 'n_bins' and 'bin_list'", b.raw));
    }
    if (b.has('n_bins')) {
      const n = b.req('n_bins', `an integer >= 1 and <= ${SPEC_LIMITS.bins}`, nBins);
      return n === undefined ? undefined : { n_bins: n };
    }
    const list = b.req('bin_list', `a list of 2 to ${SPEC_LIMITS.bins + 1} increasing bin edges`, edges);
    return list === undefined ? undefined : { bin_list: list };
  })(value, path, env);
};

const bounds = object('range', 'an object {lower_bound, upper_bound}', (b) => ({
  lower: b.req('lower_bound', 'a number', number()),
  upper: b.req('upper_bound', 'a number', number()),
}));

/** FlowKit's Bounds {lower_bound, upper_bound}; a pair [lower, upper] is taken too. */
const range: Reader<{ lower_bound: number; upper_bound: number }> = (value, path, env) => {
  const { lower, upper } =
    Array.isArray(value) && value.length === 2
      ? { lower: number()(value[0], joinPath(path, 0), env), upper: number()(value[1], joinPath(path, 1), env) }
      : (bounds(value, path, env) ?? {});
  if (lower === undefined || upper === undefined) return undefined;
  if (lower >= upper) {
    env.errors.push(Issues.expected(path, 'lower_bound less than upper_bound', value));
    return undefined;
  }
  return { lower_bound: lower, upper_bound: upper };
};

function histogramAggregate(f: Fields): HistogramAggregate {
  return built<HistogramAggregate>({
    query_kind: 'histogram_aggregate',
    metric: f.nested<NumericMetric>('metric'),
    bins: f.req('bins', 'a bin count, a list of bin edges, or {n_bins} or {bin_list}', bins),
    range: f.opt('range', null, range),
  });
}

export const joinType = oneOf<JoinType>(['inner', 'full outer', 'left', 'right'], {
  'left outer': 'left',
  'right outer': 'right',
});

function flows<K extends 'flows' | 'inflows' | 'outflows'>(kind: K) {
  return (f: Fields): FlowsBase<K> => {
    const from = f.nested<FlowInput>('from_location');
    const to = f.nested<FlowInput>('to_location');
    checkSameUnit(f, [
      { key: 'from_location', spec: from },
      { key: 'to_location', spec: to },
    ]);
    acceptDerivedUnit(f, 'from_location', from);
    return built<FlowsBase<K>>({
      query_kind: kind,
      from_location: from,
      to_location: to,
      join_type: f.opt('join_type', 'inner' as const, joinType),
    });
  };
}

/** A windowed count at a unit, with FlowKit's optional hours filter (null: all hours). */
function windowedCount(f: Fields): WindowedCount {
  const { start, end } = readWindow(f);
  const { event_types, subscriber_subset, hours } = readEventFilter(f, true);
  return built<WindowedCount>({
    start_date: start,
    end_date: end,
    aggregation_unit: readUnit(f),
    event_types,
    subscriber_subset,
    ...(hours ? { hours } : {}),
  });
}

function counted<K extends 'unique_subscriber_counts' | 'trips_od_matrix' | 'consecutive_trips_od_matrix'>(kind: K) {
  return (f: Fields) => ({ query_kind: kind, ...windowedCount(f) });
}

const INTERVALS = ['day', 'hour', 'min'] as const;

function locationEventCounts(f: Fields): LocationEventCounts {
  const { hours, ...windowed } = windowedCount(f);
  return built<LocationEventCounts>({
    query_kind: 'location_event_counts',
    ...windowed,
    interval: f.req('interval', `one of ${INTERVALS.join(', ')}`, oneOf(INTERVALS, { minute: 'min' })),
    direction: readDirection(f),
    hours: hours ?? null,
  });
}

function totalNetworkObjects(f: Fields): TotalNetworkObjects {
  return built<TotalNetworkObjects>({
    query_kind: 'total_network_objects',
    ...windowedCount(f),
    total_by: f.opt('total_by', 'day' as const, oneOf(TOTAL_BY)),
  });
}

function aggregateNetworkObjects(f: Fields): AggregateNetworkObjects {
  const tno = f.nested<TotalNetworkObjects>('total_network_objects');
  acceptDerivedUnit(f, 'total_network_objects', tno);
  // FlowClient sends hours: null here; an hours filter belongs on the nested total_network_objects.
  if (f.has('hours')) f.fail(Issues.notSupported(f.at('hours'), 'null (set hours on total_network_objects)', 'an hours filter on the aggregate'));
  return built<AggregateNetworkObjects>({
    query_kind: 'aggregate_network_objects',
    total_network_objects: tno,
    statistic: readStatistic(f),
    aggregate_by: f.req('aggregate_by', `one of ${AGGREGATE_BY.join(', ')}`, oneOf(AGGREGATE_BY)),
  });
}

function activeAtReferenceLocationCounts(f: Fields): ActiveAtReferenceLocationCounts {
  const unique = f.nested<UniqueLocations>('unique_locations');
  const reference = f.nested<ReferenceLocation>('reference_locations');
  checkSameUnit(f, [
    { key: 'unique_locations', spec: unique },
    { key: 'reference_locations', spec: reference },
  ]);
  acceptDerivedUnit(f, 'unique_locations', unique);
  return built<ActiveAtReferenceLocationCounts>({
    query_kind: 'active_at_reference_location_counts',
    unique_locations: unique,
    reference_locations: reference,
  });
}

function uniqueVisitorCounts(f: Fields): UniqueVisitorCounts {
  const active = f.nested<ActiveAtReferenceLocationCounts>('active_at_reference_location_counts');
  const unique = f.nested<UniqueSubscriberCounts>('unique_subscriber_counts');
  checkSameUnit(f, [
    { key: 'active_at_reference_location_counts', spec: active },
    { key: 'unique_subscriber_counts', spec: unique },
  ]);
  acceptDerivedUnit(f, 'unique_subscriber_counts', unique);
  return built<UniqueVisitorCounts>({
    query_kind: 'unique_visitor_counts',
    active_at_reference_location_counts: active,
    unique_subscriber_counts: unique,
  });
}

function unmovingCounts(f: Fields): UnmovingCounts {
  const locations = f.nested<UniqueLocations>('locations');
  acceptDerivedUnit(f, 'locations', locations);
  return built<UnmovingCounts>({ query_kind: 'unmoving_counts', locations });
}

function unmovingAtReferenceLocationCounts(f: Fields): UnmovingAtReferenceLocationCounts {
  const locations = f.nested<UniqueLocations>('locations');
  const reference = f.nested<ReferenceLocation>('reference_locations');
  checkSameUnit(f, [
    { key: 'locations', spec: locations },
    { key: 'reference_locations', spec: reference },
  ]);
  acceptDerivedUnit(f, 'locations', locations);
  return built<UnmovingAtReferenceLocationCounts>({
    query_kind: 'unmoving_at_reference_location_counts',
    locations,
    reference_locations: reference,
  });
}

function geography(f: Fields): Geography {
  return built<Geography>({ query_kind: 'geography', aggregation_unit: readUnit(f) });
}

export const AGGREGATE_PARSERS = {
  spatial_aggregate: spatialAggregate,
  flows: flows('flows'),
  inflows: flows('inflows'),
  outflows: flows('outflows'),
  unique_subscriber_counts: counted('unique_subscriber_counts'),
  location_event_counts: locationEventCounts,
  total_network_objects: totalNetworkObjects,
  aggregate_network_objects: aggregateNetworkObjects,
  joined_spatial_aggregate: joinedSpatialAggregate,
  histogram_aggregate: histogramAggregate,
  active_at_reference_location_counts: activeAtReferenceLocationCounts,
  unique_visitor_counts: uniqueVisitorCounts,
  unmoving_counts: unmovingCounts,
  unmoving_at_reference_location_counts: unmovingAtReferenceLocationCounts,
  trips_od_matrix: counted('trips_od_matrix'),
  consecutive_trips_od_matrix: counted('consecutive_trips_od_matrix'),
  ...MEANINGFUL_PARSERS,
  geography,
} as const;
