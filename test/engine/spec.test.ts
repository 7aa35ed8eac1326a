import { describe, expect, it } from 'vitest';
import { SpecError } from '../../server/errors.js';
import {
  canonicalJson,
  finestTemporal,
  isAggregateKind,
  outputUnit,
  parseSpec,
  type QuerySpec,
  type SpecContext,
  SpecErrors,
  type SpecIssue,
  specHash,
  unitsOf,
} from '../../server/engine/spec.js';

const ctx: SpecContext = {
  units: ['admin1', 'admin2', 'admin3', 'lon-lat', 'cell'],
  days: { first: '2016-01-01', last: '2016-01-07' },
};

type Json = Record<string, unknown>;

const parse = (spec: unknown, c: SpecContext = ctx): QuerySpec => parseSpec(spec, c);

function issues(spec: unknown, c: SpecContext = ctx): SpecIssue[] {
  try {
    parseSpec(spec, c);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecErrors);
    return (e as SpecErrors).issues;
  }
  throw new Error('expected the spec to be refused');
}

/** Expects a problem at `path` (and with `code` / a message matching `pattern` when given). */
function refused(spec: unknown, path: string, pattern?: RegExp | string, code?: string): SpecIssue {
  const all = issues(spec);
  const hit = all.find((i) => i.path === path);
  expect(hit, `no issue at ${path}; got ${JSON.stringify(all)}`).toBeDefined();
  if (pattern) expect(hit!.message).toMatch(pattern);
  if (code) expect(hit!.code).toBe(code);
  return hit!;
}

// ---- FlowKit-style building blocks (after flowmachine/tests/test_query_schemas.py and flowclient) ----

const daily = (date: string, unit = 'admin3', extra: Json = {}): Json => ({
  query_kind: 'daily_location',
  date,
  aggregation_unit: unit,
  method: 'last',
  subscriber_subset: null,
  ...extra,
});
const windowed = (kind: string, start: string, end: string, unit = 'admin3', extra: Json = {}): Json => ({
  query_kind: kind,
  start_date: start,
  end_date: end,
  aggregation_unit: unit,
  ...extra,
});
const spatial = (locations: Json, extra: Json = {}): Json => ({ query_kind: 'spatial_aggregate', locations, ...extra });
const jsa = (metric: Json, method = 'avg', locations: Json = daily('2016-01-01')): Json => ({
  query_kind: 'joined_spatial_aggregate',
  locations,
  metric,
  method,
});
const visits = (dates: string[], unit = 'admin3'): Json => ({
  query_kind: 'location_visits',
  locations: dates.map((d) => daily(d, unit)),
});
/** FlowKit's _example_coalesced_location_spec. */
function coalesced(preferred: string[], fallback: string[], unit = 'admin3'): Json {
  return {
    query_kind: 'coalesced_location',
    preferred_location: {
      query_kind: 'majority_location',
      subscriber_location_weights: visits(preferred, unit),
      minimum_total_weight: preferred.length,
      include_unlocatable: true,
    },
    fallback_location: {
      query_kind: 'majority_location',
      subscriber_location_weights: visits(fallback, unit),
      minimum_total_weight: fallback.length,
      include_unlocatable: false,
    },
    subscriber_location_weights: visits(preferred, unit),
    weight_threshold: 2,
  };
}
const HOUR_SCORES = [-1, -1, -1, -1, -1, -1, -1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, -1, -1, -1];
const DOW_SCORES = { monday: 1, tuesday: 1, wednesday: 1, thursday: 0, friday: -1, saturday: -1, sunday: -1 };
const LABELS = {
  evening: { type: 'Polygon', coordinates: [[[1e-6, -0.5], [1e-6, -1.1], [1.1, -1.1], [1.1, -0.5]]] },
  day: { type: 'Polygon', coordinates: [[[-1.1, -0.5], [-1.1, 0.5], [-1e-6, 0.5], [0, -0.5]]] },
};
const meaningfulAggregate = (extra: Json = {}): Json => ({
  query_kind: 'meaningful_locations_aggregate',
  aggregation_unit: 'admin1',
  start_date: '2016-01-01',
  end_date: '2016-01-02',
  label: 'unknown',
  labels: LABELS,
  tower_hour_of_day_scores: HOUR_SCORES,
  tower_day_of_week_scores: DOW_SCORES,
  tower_cluster_radius: 1.0,
  tower_cluster_call_threshold: 0,
  subscriber_subset: null,
  ...extra,
});
const window = (kind: string, extra: Json = {}): Json => ({
  query_kind: kind,
  start_date: '2016-01-01',
  end_date: '2016-01-02',
  ...extra,
});

describe('per-subscriber locations (nested in spatial_aggregate and friends)', () => {
  it('daily_location: the docs/QUERIES.md example, with FlowKit defaults filled', () => {
    const spec = parse(spatial({ query_kind: 'daily_location', date: '2016-01-01', aggregation_unit: 'admin3', method: 'last' }));
    expect(spec).toEqual({
      query_kind: 'spatial_aggregate',
      locations: {
        query_kind: 'daily_location',
        date: '2016-01-01',
        method: 'last',
        aggregation_unit: 'admin3',
        event_types: ['calls', 'sms'],
        hours: null,
        subscriber_subset: null,
        sampling: null,
      },
    });
    refused(
      spatial(daily('2016-01-01', 'admin3', { method: 'oops' })),
      'locations.method',
      /last, most-common.*"oops"/,
    );
  });

  it('daily_location with FlowKit sampling (test_construct_query) and invalid sampling', () => {
    const sampling = { sampling_method: 'bernoulli', size: 10, seed: 0.5, fraction: null, estimate_count: false };
    const spec = parse(spatial(daily('2016-01-01', 'admin3', { event_types: ['calls', 'sms'], sampling })));
    expect(spec.query_kind === 'spatial_aggregate' && spec.locations.sampling).toEqual({
      sampling_method: 'bernoulli',
      size: 10,
      seed: 0.5,
      estimate_count: false,
    });
    const bad = (s: Json) => spatial(daily('2016-01-01', 'admin3', { sampling: s }));
    refused(
      bad({ sampling_method: 'bernoulli', size: 10, fraction: 0.2 }),
      'locations.sampling.seed',
      undefined,
      'MISSING_FIELD',
    );
    refused(
      bad({ sampling_method: 'bernoulli', size: 10, fraction: 0.2, seed: 0.1 }),
      'locations.sampling',
      /exactly one of 'size' and 'fraction'/,
    );
    refused(
      bad({ sampling_method: 'bernoulli', fraction: 1.2, seed: 0.1 }),
      'locations.sampling.fraction',
      /> 0 and < 1/,
    );
    refused(bad({ sampling_method: 'bernoulli', size: -1, seed: 0.1 }), 'locations.sampling.size', />= 1/);
    refused(bad({ sampling_method: 'random_ids', size: 10, seed: 185 }), 'locations.sampling.seed', />= -1 and <= 1/);
    refused(bad({ sampling_method: 'system_rows', size: 10, seed: 1 }), 'locations.sampling.seed', /cannot be seeded/);
  });

  it('modal_location: a list of daily_locations at one unit', () => {
    const spec = parse(spatial({ query_kind: 'modal_location', locations: [daily('2016-01-01'), daily('2016-01-02')] }));
    expect(outputUnit(spec)).toBe('admin3');
    refused(
      spatial({ query_kind: 'modal_location', locations: [daily('2016-01-01'), daily('2016-01-02', 'admin2')] }),
      'locations.locations.1',
      /expected aggregation_unit 'admin3' like locations.locations.0, found 'admin2'/,
      'MIXED_UNITS',
    );
    refused(spatial({ query_kind: 'modal_location', locations: [] }), 'locations.locations', /non-empty list/);
    refused(
      spatial({ query_kind: 'modal_location', locations: [windowed('most_frequent_location', '2016-01-01', '2016-01-02')] }),
      'locations.locations.0.query_kind',
      /daily_location.*'most_frequent_location'/,
      'KIND_NOT_ALLOWED_HERE',
    );
  });

  it('regression #4816: an invalid nested location is reported along with the unit mismatch', () => {
    const found = issues(
      spatial({
        query_kind: 'modal_location',
        locations: [daily('2016-01-01'), daily('2016-01-02', 'admin2'), daily('2016-01-03', 'admin3', { method: 'oops' })],
      }),
    );
    expect(found.map((i) => i.path).sort()).toEqual(['locations.locations.1', 'locations.locations.2.method']);
  });

  it('most_frequent_location, visited_most_days', () => {
    parse(spatial(windowed('most_frequent_location', '2016-01-01', '2016-01-07', 'admin2', { hours: { start_hour: 20, end_hour: 4 } })));
    parse({
      query_kind: 'flows',
      from_location: windowed('visited_most_days', '2016-01-01', '2016-01-07', 'admin2'),
      to_location: windowed('unique_locations', '2016-01-07', '2016-01-08', 'admin2'),
    });
    refused(
      spatial(windowed('most_frequent_location', '2016-01-01', undefined as never)),
      'locations.end_date',
      undefined,
      'MISSING_FIELD',
    );
    refused(
      spatial(windowed('visited_most_days', '2016-01-05', '2016-01-02')),
      'locations.end_date',
      /start 2016-01-05 and end 2016-01-02/,
      'EMPTY_WINDOW',
    );
  });

  it('unique_locations (in unmoving_counts)', () => {
    parse({ query_kind: 'unmoving_counts', locations: windowed('unique_locations', '2016-01-01', '2016-01-02', 'admin2') });
    refused(
      { query_kind: 'unmoving_counts', locations: windowed('unique_locations', '2016-01-01', '2016-01-02', 'admin9') },
      'locations.aggregation_unit',
      /admin1, admin2, admin3, lon-lat, cell.*"admin9"/,
      'UNKNOWN_UNIT',
    );
  });

  it('location_visits and majority_location (flows between majority locations)', () => {
    const spec = parse({
      query_kind: 'flows',
      from_location: { query_kind: 'majority_location', subscriber_location_weights: visits(['2016-01-01', '2016-01-02']) },
      to_location: { query_kind: 'majority_location', subscriber_location_weights: visits(['2016-01-04', '2016-01-05']) },
    });
    expect(spec.query_kind === 'flows' && spec.from_location).toMatchObject({
      minimum_total_weight: 0,
      include_unlocatable: false,
      sampling: null,
    });
    refused(
      spatial({ query_kind: 'majority_location', subscriber_location_weights: visits(['2016-01-01']), include_unlocatable: 'maybe' }),
      'locations.include_unlocatable',
      /true or false/,
    );
    refused(
      spatial({ query_kind: 'majority_location' }),
      'locations.subscriber_location_weights',
      /location_visits/,
      'MISSING_FIELD',
    );
    refused(
      spatial({
        query_kind: 'majority_location',
        subscriber_location_weights: { query_kind: 'location_visits', locations: [daily('2016-01-01'), daily('2016-01-02', 'admin2')] },
      }),
      'locations.subscriber_location_weights.locations.1',
      /same|like/,
      'MIXED_UNITS',
    );
  });

  it('coalesced_location (FlowKit example) and its unit checks', () => {
    parse(spatial(coalesced(['2016-01-03', '2016-01-04'], ['2016-01-01', '2016-01-02'])));
    const spec = coalesced(['2016-01-03', '2016-01-04'], ['2016-01-01', '2016-01-02']);
    (spec.fallback_location as Json).subscriber_location_weights = visits(['2016-01-01', '2016-01-02'], 'admin1');
    refused(spatial(spec), 'locations.fallback_location', /'admin3' like locations.preferred_location, found 'admin1'/);
    refused(
      spatial({ ...coalesced(['2016-01-03'], ['2016-01-01']), weight_threshold: 1.5 }),
      'locations.weight_threshold',
      /integer/,
    );
  });

  it('mobility_classification nests only as the labels of the labelled aggregates', () => {
    const mc = {
      query_kind: 'mobility_classification',
      locations: [coalesced(['2016-01-03'], ['2016-01-01']), coalesced(['2016-01-05'], ['2016-01-03'])],
      stay_length_threshold: 2,
    };
    const top = refused(mc, 'query_kind', /per-subscriber query/, 'NESTED_ONLY');
    expect(top.message).toMatch(/labelled_spatial_aggregate/);
    expect(top.message).toMatch(/labelled_flows/);
    expect(top.message).not.toMatch(/no aggregate Opalite supports/);
    refused(spatial(mc), 'locations.query_kind', /cannot be used here/, 'KIND_NOT_ALLOWED_HERE');
  });
});

describe('per-subscriber metrics (nested in joined_spatial_aggregate and histogram_aggregate)', () => {
  it('radius_of_gyration', () => {
    const spec = parse(jsa(window('radius_of_gyration', { hours: { start_hour: 7, end_hour: 19 } })));
    expect(spec.query_kind === 'joined_spatial_aggregate' && spec.metric).toEqual({
      query_kind: 'radius_of_gyration',
      start_date: '2016-01-01',
      end_date: '2016-01-02',
      event_types: ['calls', 'sms'],
      hours: { start_hour: 7, end_hour: 19 },
      subscriber_subset: null,
      sampling: null,
    });
    refused(
      jsa(window('radius_of_gyration', { hours: { start_hour: 7, end_hour: 25 } })),
      'metric.hours.end_hour',
      /0 and <= 24/,
    );
  });

  it('unique_location_counts', () => {
    parse(jsa(window('unique_location_counts', { aggregation_unit: 'admin1' }), 'median'));
    refused(jsa(window('unique_location_counts')), 'metric.aggregation_unit', undefined, 'MISSING_FIELD');
  });

  it('subscriber_degree and event_count (direction defaults to both)', () => {
    const spec = parse(jsa(window('subscriber_degree')));
    expect(spec.query_kind === 'joined_spatial_aggregate' && spec.metric).toMatchObject({ direction: 'both' });
    parse(jsa(window('event_count', { direction: 'out', event_types: ['calls'] }), 'max'));
    refused(jsa(window('subscriber_degree', { direction: 'sideways' })), 'metric.direction', /in, out, both/);
    refused(
      jsa(window('event_count', { event_types: ['calls', 'fax'] })),
      'metric.event_types.1',
      /calls, sms, mds, topups/,
    );
    refused(jsa(window('event_count', { event_types: [] })), 'metric.event_types', /non-empty list/);
  });

  it('nocturnal_events (night_hours default 20-4)', () => {
    const spec = parse(jsa(window('nocturnal_events')));
    expect(spec.query_kind === 'joined_spatial_aggregate' && spec.metric).toMatchObject({ night_hours: { start_hour: 20, end_hour: 4 } });
    parse(jsa(window('nocturnal_events', { night_hours: { start_hour: 22, end_hour: 6 } })));
    refused(
      jsa(window('nocturnal_events', { night_hours: { start_hour: 20, end_hour: 20 } })),
      'metric.night_hours',
      /select some hours/,
    );
    refused(
      jsa(window('nocturnal_events', { hours: { start_hour: 1, end_hour: 2 } })),
      'metric.hours',
      undefined,
      'UNKNOWN_FIELD',
    );
  });

  it('pareto_interactions', () => {
    parse(jsa(window('pareto_interactions', { proportion: 0.8 })));
    refused(jsa(window('pareto_interactions', { proportion: 1.5 })), 'metric.proportion', />= 0 and <= 1/);
  });

  it('displacement (FlowKit test: lon-lat reference under admin3 locations)', () => {
    const spec = parse(
      jsa(
        window('displacement', {
          statistic: 'avg',
          reference_location: { query_kind: 'daily_location', date: '2016-01-01', method: 'last', aggregation_unit: 'lon-lat' },
        }),
      ),
    );
    expect(outputUnit(spec)).toBe('admin3');
    expect(unitsOf(spec)).toEqual(['admin3', 'lon-lat']);
    const found = issues(jsa(window('displacement', { statistic: 'mean' })));
    expect(found.map((i) => i.path).sort()).toEqual(['metric.reference_location', 'metric.statistic']);
  });

  it('total_active_periods', () => {
    const spec = parse(jsa({ query_kind: 'total_active_periods', start_date: '2016-01-01', total_periods: 3 }));
    expect(spec.query_kind === 'joined_spatial_aggregate' && spec.metric).toMatchObject({ period_length: 1, period_unit: 'days' });
    refused(
      jsa({ query_kind: 'total_active_periods', start_date: '2016-01-01', total_periods: 0 }),
      'metric.total_periods',
      />= 1/,
    );
    refused(
      jsa({ query_kind: 'total_active_periods', start_date: '2016-01-01', total_periods: 3, period_unit: 'weeks' }),
      'metric.period_unit',
      /days, hours, minutes/,
    );
  });

  it('topup_amount and topup_balance (no event_types, as in FlowKit)', () => {
    parse(jsa(window('topup_amount', { statistic: 'median' })));
    parse(jsa(window('topup_balance', { statistic: 'stddev', hours: { start_hour: 8, end_hour: 17 } })));
    refused(
      jsa(window('topup_amount', { statistic: 'avg', event_types: ['topups'] })),
      'metric.event_types',
      undefined,
      'UNKNOWN_FIELD',
    );
    refused(jsa(window('topup_balance', { statistic: 'mean' })), 'metric.statistic', /count, sum, avg/);
  });

  it('handset: categorical, so distr or mode only, and never in a histogram', () => {
    const handset = window('handset', { characteristic: 'brand', method: 'most-common' });
    parse(jsa(handset, 'distr'));
    parse(jsa(handset, 'mode'));
    refused(jsa(handset, 'avg'), 'method', /categorical metric handset \(distr, mode\)/);
    refused(
      jsa(window('handset', { characteristic: 'colour', method: 'last' }), 'distr'),
      'metric.characteristic',
      /hnd_type/,
    );
    refused(
      { query_kind: 'histogram_aggregate', metric: handset, bins: { n_bins: 3 } },
      'metric.query_kind',
      /cannot be used here/,
    );
  });
});

describe('aggregates', () => {
  it('spatial_aggregate: refuses a metric as locations; accepts its derived aggregation_unit as FlowKit dumps it', () => {
    refused(
      spatial(window('radius_of_gyration')),
      'locations.query_kind',
      /daily_location, modal_location/,
      'KIND_NOT_ALLOWED_HERE',
    );
    // FlowKit's test_serialise_query: the dumped form loads again.
    const dumped = {
      query_kind: 'spatial_aggregate',
      aggregation_unit: 'admin3',
      locations: {
        query_kind: 'daily_location',
        date: '2016-01-01T00:00:00',
        method: 'last',
        aggregation_unit: 'admin3',
        event_types: null,
        hours: null,
        subscriber_subset: null,
        sampling: null,
      },
    };
    expect(parse(dumped)).toEqual(parse(spatial({ query_kind: 'daily_location', date: '2016-01-01', method: 'last', aggregation_unit: 'admin3' })));
    refused(
      { ...dumped, aggregation_unit: 'admin1' },
      'aggregation_unit',
      /'admin3' like locations, found 'admin1'/,
      'MIXED_UNITS',
    );
  });

  it('flows, inflows, outflows (FlowKit examples)', () => {
    const spec = parse({
      query_kind: 'flows',
      from_location: { query_kind: 'daily_location', date: '2016-01-01', aggregation_unit: 'admin3', method: 'last' },
      to_location: windowed('unique_locations', '2016-01-01', '2016-01-04'),
      join_type: 'left outer',
    });
    expect(spec).toMatchObject({ join_type: 'left' });
    for (const kind of ['inflows', 'outflows']) {
      parse({ query_kind: kind, from_location: daily('2016-01-01'), to_location: daily('2016-01-02') });
    }
    refused(
      { query_kind: 'flows', from_location: daily('2016-01-01'), to_location: daily('2016-01-02', 'admin2') },
      'to_location',
      /'admin3' like from_location, found 'admin2'/,
    );
    refused(
      { query_kind: 'flows', from_location: daily('2016-01-01'), to_location: daily('2016-01-02'), join_type: 'cross' },
      'join_type',
    );
  });

  it('unique_subscriber_counts', () => {
    parse(windowed('unique_subscriber_counts', '2016-01-01', '2016-01-02', 'lon-lat'));
    refused(
      windowed('unique_subscriber_counts', '2016-01-01', '2016-01-02', 'admin7'),
      'aggregation_unit',
      undefined,
      'UNKNOWN_UNIT',
    );
  });

  it('location_event_counts (FlowKit example)', () => {
    const spec = parse({
      query_kind: 'location_event_counts',
      start_date: '2016-01-01',
      end_date: '2016-01-02',
      interval: 'day',
      aggregation_unit: 'admin3',
      direction: 'both',
      event_types: null,
      subscriber_subset: null,
    });
    expect(spec).toMatchObject({ event_types: ['calls', 'sms'], hours: null, interval: 'day' });
    refused({ ...spec, interval: 'week' }, 'interval', /day, hour, min/);
  });

  it('total_network_objects and aggregate_network_objects', () => {
    const tno = windowed('total_network_objects', '2016-01-01', '2016-01-02', 'admin2', { total_by: 'hour' });
    parse(tno);
    expect(parse({ ...tno, total_by: undefined })).toMatchObject({ total_by: 'day' });
    parse({ query_kind: 'aggregate_network_objects', total_network_objects: tno, statistic: 'avg', aggregate_by: 'day' });
    refused({ ...tno, total_by: 'week' }, 'total_by', /second, minute, hour, day, month, year/);
    refused(
      { query_kind: 'aggregate_network_objects', total_network_objects: tno, statistic: 'avg' },
      'aggregate_by',
      /century/,
      'MISSING_FIELD',
    );
  });

  it('joined_spatial_aggregate: method enum, and FlowKit forbids distr for numeric metrics', () => {
    const spec = parse(jsa(window('radius_of_gyration'), 'AVG'));
    expect(spec).toMatchObject({ method: 'avg' });
    refused(
      jsa(window('radius_of_gyration'), 'distr'),
      'method',
      /numeric metric radius_of_gyration \(avg, max, min, median, mode, stddev, variance\)/,
    );
    refused(jsa(window('radius_of_gyration'), 'sum'), 'method', /avg, max, min, median, mode, stddev, variance, distr/);
  });

  it('histogram_aggregate: bins as a count, edges or FlowKit objects, and an optional range', () => {
    const metric = window('radius_of_gyration');
    const h = (extra: Json): Json => ({ query_kind: 'histogram_aggregate', metric, ...extra });
    expect(parse(h({ bins: { n_bins: 5 }, range: { lower_bound: 0, upper_bound: 10 } }))).toMatchObject({
      bins: { n_bins: 5 },
      range: { lower_bound: 0, upper_bound: 10 },
    });
    expect(parse(h({ bins: 5 }))).toEqual(parse(h({ bins: { n_bins: 5 }, range: null })));
    expect(parse(h({ bins: [0, 1, 5], range: [0, 5] }))).toMatchObject({ bins: { bin_list: [0, 1, 5] }, range: { lower_bound: 0, upper_bound: 5 } });
    refused(h({ bins: { n_bins: 5, bin_list: [0, 1] } }), 'bins', /exactly one of 'n_bins' and 'bin_list'/);
    refused(h({ bins: { bin_list: [0, 2, 1] } }), 'bins.bin_list', /strictly increasing/);
    refused(h({ bins: 0 }), 'bins', />= 1/);
    refused(h({ bins: 3, range: { lower_bound: 5, upper_bound: 5 } }), 'range', /lower_bound less than upper_bound/);
    refused(h({}), 'bins', undefined, 'MISSING_FIELD');
  });

  it('active_at_reference_location_counts and unique_visitor_counts', () => {
    const active = {
      query_kind: 'active_at_reference_location_counts',
      unique_locations: windowed('unique_locations', '2016-01-01', '2016-01-02'),
      reference_locations: daily('2016-01-01'),
    };
    parse(active);
    const usc = windowed('unique_subscriber_counts', '2016-01-01', '2016-01-02');
    parse({ query_kind: 'unique_visitor_counts', active_at_reference_location_counts: active, unique_subscriber_counts: usc });
    refused(
      { ...active, reference_locations: daily('2016-01-01', 'admin2') },
      'reference_locations',
      /'admin3' like unique_locations/,
    );
    refused(
      {
        query_kind: 'unique_visitor_counts',
        active_at_reference_location_counts: active,
        unique_subscriber_counts: { ...usc, aggregation_unit: 'admin2' },
      },
      'unique_subscriber_counts',
      undefined,
      'MIXED_UNITS',
    );
  });

  it('unmoving_counts and unmoving_at_reference_location_counts', () => {
    const locations = windowed('unique_locations', '2016-01-01', '2016-01-02', 'admin2');
    parse({ query_kind: 'unmoving_at_reference_location_counts', locations, reference_locations: daily('2016-01-01', 'admin2') });
    refused(
      { query_kind: 'unmoving_counts', locations: daily('2016-01-01') },
      'locations.query_kind',
      /unique_locations/,
    );
    refused(
      { query_kind: 'unmoving_at_reference_location_counts', locations },
      'reference_locations',
      undefined,
      'MISSING_FIELD',
    );
  });

  it('trips_od_matrix and consecutive_trips_od_matrix', () => {
    parse(windowed('trips_od_matrix', '2016-01-01', '2016-01-02', 'admin1'));
    parse(windowed('consecutive_trips_od_matrix', '2016-01-01', '2016-01-02', 'admin1', { event_types: ['calls'] }));
    refused(windowed('trips_od_matrix', '2016-01-02', '2016-01-01', 'admin1'), 'end_date', undefined, 'EMPTY_WINDOW');
    // FlowKit's HoursField: an hours filter, or null for every hour (what FlowClient sends).
    expect(parse(windowed('consecutive_trips_od_matrix', '2016-01-01', '2016-01-02', 'admin1', { hours: { start_hour: 1, end_hour: 2 } }))).toMatchObject({
      hours: { start_hour: 1, end_hour: 2 },
    });
    expect(parse(windowed('trips_od_matrix', '2016-01-01', '2016-01-02', 'admin1', { hours: null }))).not.toHaveProperty('hours');
    refused(windowed('trips_od_matrix', '2016-01-01', '2016-01-02', 'admin1', { hours: { start_hour: 3, end_hour: 3 } }), 'hours', undefined, 'BAD_VALUE');
  });

  it('meaningful_locations_aggregate and its two OD kinds (FlowKit examples)', () => {
    const spec = parse(meaningfulAggregate());
    expect(spec).toMatchObject({ label: 'unknown', tower_cluster_radius: 1, event_types: ['calls', 'sms'] });
    const { label: _label, ...base } = meaningfulAggregate();
    parse({ ...base, query_kind: 'meaningful_locations_between_label_od_matrix', label_a: 'day', label_b: 'evening', event_types: null });
    const { start_date: _s, end_date: _e, ...rest } = base;
    parse({
      ...rest,
      query_kind: 'meaningful_locations_between_dates_od_matrix',
      start_date_a: '2016-01-01',
      end_date_a: '2016-01-02',
      start_date_b: '2016-01-01',
      end_date_b: '2016-01-05',
      label: 'unknown',
      tower_cluster_call_threshold: 2,
      event_types: ['calls', 'sms'],
    });
    refused(
      meaningfulAggregate({ tower_hour_of_day_scores: HOUR_SCORES.slice(1) }),
      'tower_hour_of_day_scores',
      /exactly 24/,
    );
    refused(
      meaningfulAggregate({ tower_day_of_week_scores: { funday: 1 } }),
      'tower_day_of_week_scores.funday',
      /day of the week/,
    );
    refused(
      meaningfulAggregate({ tower_day_of_week_scores: { monday: 2 } }),
      'tower_day_of_week_scores.monday',
      /<= 1/,
    );
    refused(
      meaningfulAggregate({ labels: { day: { type: 'Point', coordinates: [0, 0] } } }),
      'labels.day.type',
      /Polygon, MultiPolygon/,
    );
    refused(meaningfulAggregate({ label: undefined }), 'label', undefined, 'MISSING_FIELD');
    const proto = parse(meaningfulAggregate({ labels: JSON.parse(`{"__proto__": ${JSON.stringify(LABELS.day)}}`) }));
    expect(Object.keys((proto as { labels: object }).labels)).toEqual(['__proto__']);
    refused(
      {
        ...rest,
        query_kind: 'meaningful_locations_between_dates_od_matrix',
        start_date_a: '2016-01-03',
        end_date_a: '2016-01-02',
        start_date_b: '2016-01-01',
        end_date_b: '2016-01-05',
        label: 'day',
      },
      'end_date_a',
      undefined,
      'EMPTY_WINDOW',
    );
  });

  it('geography', () => {
    expect(parse({ query_kind: 'geography', aggregation_unit: 'admin3' })).toEqual({ query_kind: 'geography', aggregation_unit: 'admin3' });
    refused(
      { query_kind: 'geography', aggregation_unit: 'DUMMY_AGGREGATION_UNIT' },
      'aggregation_unit',
      /admin1, admin2, admin3, lon-lat, cell/,
    );
  });
});

describe('refusals that apply to every kind', () => {
  it('an unknown kind lists the kinds allowed at that position', () => {
    const i = refused(
      { query_kind: 'teleportation' },
      'query_kind',
      /spatial_aggregate, flows, .*geography, found "teleportation"/,
      'UNKNOWN_KIND',
    );
    expect(i.message).not.toMatch(/daily_location/);
    refused(
      spatial({ query_kind: 'teleportation' }),
      'locations.query_kind',
      /daily_location, modal_location, most_frequent_location, visited_most_days, majority_location, coalesced_location/,
    );
    refused({ locations: daily('2016-01-01') }, 'query_kind', undefined, 'MISSING_FIELD');
    refused({ query_kind: 'constructor' }, 'query_kind', undefined, 'UNKNOWN_KIND');
    refused(
      { query_kind: 'geography', aggregation_unit: 'admin1', toString: 1 },
      'toString',
      undefined,
      'UNKNOWN_FIELD',
    );
    refused([], '', /a query spec/);
  });

  it('a FlowKit kind Opalite does not run says so', () => {
    refused(
      windowed('location_introversion', '2016-01-01', '2016-01-02'),
      'query_kind',
      /location_introversion.*not supported yet/,
      'UNSUPPORTED_KIND',
    );
    refused({ query_kind: 'dfs_metric_total_amount' }, 'query_kind', /mobile-money/, 'UNSUPPORTED_KIND');
  });

  it('a per-subscriber kind at top level names the aggregates that can hold it', () => {
    const i = refused(daily('2016-01-01'), 'query_kind', /per-subscriber query/, 'NESTED_ONLY');
    expect(i.message).toMatch(/spatial_aggregate/);
    expect(i.message).toMatch(/joined_spatial_aggregate/);
    expect(i.message).toMatch(/flows/);
    expect(i.message).not.toMatch(/geography/);
    const m = refused(window('radius_of_gyration'), 'query_kind', undefined, 'NESTED_ONLY');
    expect(m.message).toMatch(/\(joined_spatial_aggregate, histogram_aggregate\)/);
  });

  it('bad dates', () => {
    refused(spatial(daily('2016-02-30')), 'locations.date', /real calendar date.*"2016-02-30"/);
    refused(spatial(daily('2016-13-01')), 'locations.date', /real calendar date/);
    refused(spatial(daily('yesterday')), 'locations.date', /YYYY-MM-DD/);
    refused(spatial(daily(20160101 as never)), 'locations.date', /YYYY-MM-DD/);
    refused(spatial(daily('2016-01-01 12:00:00')), 'locations.date', /whole day/);
    refused(
      window('unique_subscriber_counts', { aggregation_unit: 'admin1', start_date: '2016-01-01T00:00:00+02:00' }),
      'start_date',
      /without a timezone/,
    );
    refused(
      window('unique_subscriber_counts', { aggregation_unit: 'admin1', start_date: '2016-01-01 24:00:00' }),
      'start_date',
      /real time of day/,
    );
  });

  it('date range reversed or empty', () => {
    refused(
      window('unique_subscriber_counts', { aggregation_unit: 'admin1', end_date: '2016-01-01' }),
      'end_date',
      /end after the start/,
      'EMPTY_WINDOW',
    );
    refused(
      jsa(window('radius_of_gyration', { start_date: '2016-01-03' })),
      'metric.end_date',
      undefined,
      'EMPTY_WINDOW',
    );
  });

  it('dates outside the available data, when the store says which days it has', () => {
    refused(spatial(daily('2017-01-01')), 'locations.date', /2016-01-01 to 2016-01-07/, 'OUTSIDE_DATA');
    refused(
      windowed('trips_od_matrix', '2016-02-01', '2016-02-03', 'admin1'),
      'start_date',
      /\[2016-02-01, 2016-02-03\)/,
      'OUTSIDE_DATA',
    );
    // Partial overlap is fine, as is anything when the days are unknown.
    parse(windowed('trips_od_matrix', '2015-12-25', '2016-01-02', 'admin1'));
    parse(spatial(daily('2017-01-01')), { units: ctx.units });
  });

  it('hours out of range, not whole, or empty', () => {
    const h = (hours: unknown) => spatial(daily('2016-01-01', 'admin3', { hours }));
    refused(h({ start_hour: -1, end_hour: 4 }), 'locations.hours.start_hour', /integer >= 0 and <= 24/);
    refused(h({ start_hour: 1.5, end_hour: 4 }), 'locations.hours.start_hour', /integer/);
    refused(h({ start_hour: 5, end_hour: 5 }), 'locations.hours', /select some hours/);
    refused(h({ start_hour: 24, end_hour: 0 }), 'locations.hours', /is empty here/);
    parse(h({ start_hour: 22, end_hour: 0 }));
    refused(h({ start_hour: 5 }), 'locations.hours.end_hour', undefined, 'MISSING_FIELD');
    refused(h([5, 6]), 'locations.hours', /start_hour, end_hour/);
    expect(parse(h({ start_hour: 0, end_hour: 24 }))).toMatchObject({ locations: { hours: { start_hour: 0, end_hour: 24 } } });
  });

  it('a list of subscribers is refused, and never echoed', () => {
    const i = refused(
      spatial(daily('2016-01-01', 'admin3', { subscriber_subset: ['+254700000001', '+254700000002'] })),
      'locations.subscriber_subset',
      /list of 2 subscriber ids.*single them out/,
      'SUBSCRIBER_LIST',
    );
    expect(i.message).not.toMatch(/2547/);
    const q = refused(
      spatial(daily('2016-01-01', 'admin3', { subscriber_subset: 'a1b2c3' })),
      'locations.subscriber_subset',
      /expected null \(all subscribers\), found the id of another query: .*keeps none.*subtracted down to the few people/,
      'SUBSCRIBER_SUBSET_ID',
    );
    expect(q.message).not.toMatch(/a1b2c3/);
  });

  it('unknown fields, with a hint for old FlowKit names', () => {
    refused(
      spatial(daily('2016-01-01', 'admin3', { colour: 'red' })),
      'locations.colour',
      /fields of daily_location \(aggregation_unit, date, /,
      'UNKNOWN_FIELD',
    );
    refused(
      jsa({ query_kind: 'event_count', start: '2016-01-01', end_date: '2016-01-02' }),
      'metric.start',
      /did you mean 'start_date'/,
    );
  });

  it("FlowKit's custom geography tables: null is fine, a table name is not", () => {
    parse(spatial(daily('2016-01-01', 'admin3', { mapping_table: null, geom_table: null, geom_table_join_column: null })));
    refused(
      spatial(daily('2016-01-01', 'admin3', { mapping_table: 'geography.my_map' })),
      'locations.mapping_table',
      /custom geography table/,
      'NOT_SUPPORTED',
    );
  });

  it('collects every problem at once, as one SpecError carrying the list', () => {
    let caught: unknown;
    try {
      parse({
        query_kind: 'flows',
        from_location: daily('2016-02-30'),
        to_location: daily('2016-01-02', 'admin9', { method: 'first' }),
        join_type: 'sideways',
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SpecError);
    const err = caught as SpecErrors;
    expect(err.issues.map((i) => i.path).sort()).toEqual([
      'from_location.date',
      'join_type',
      'to_location.aggregation_unit',
      'to_location.method',
    ]);
    expect(err.code).toBe('BAD_SPEC');
    expect(err.message).toMatch(/^4 problems in the query spec: /);
    expect(err.toJSON().errors).toHaveLength(4);
  });
});

describe('normalisation and the content hash', () => {
  const h = (spec: unknown, version: string | number = 7) => specHash(parse(spec), version);

  it('datetimes take one form', () => {
    const w = (start: string, end: string) => windowed('unique_subscriber_counts', start, end, 'admin1');
    expect(parse(w('2016-01-01T00:00:00', '2016-01-02 00:00'))).toMatchObject({ start_date: '2016-01-01', end_date: '2016-01-02' });
    expect(parse(w('2016-01-01T06', '2016-01-02 12:30'))).toMatchObject({ start_date: '2016-01-01 06:00:00', end_date: '2016-01-02 12:30:00' });
    expect(h(w('2016-01-01T00:00:00.000', '2016-01-02'))).toBe(h(w('2016-01-01', '2016-01-02')));
  });

  it('defaults, enum spellings and order-free lists do not change the hash', () => {
    const plain = spatial({ query_kind: 'daily_location', date: '2016-01-01', aggregation_unit: 'admin3', method: 'last' });
    const verbose = {
      query_kind: 'spatial_aggregate',
      aggregation_unit: 'admin3',
      locations: {
        method: 'LAST',
        aggregation_unit: 'ADMIN3',
        date: '2016-01-01T00:00:00',
        event_types: ['sms', 'calls', 'sms'],
        hours: null,
        subscriber_subset: null,
        sampling: null,
        mapping_table: null,
        query_kind: 'daily_location',
      },
    };
    expect(parse(verbose)).toEqual(parse(plain));
    expect(h(verbose)).toBe(h(plain));

    const modal = (dates: string[]) => spatial({ query_kind: 'modal_location', locations: dates.map((d) => daily(d)) });
    expect(h(modal(['2016-01-02', '2016-01-01', '2016-01-03']))).toBe(h(modal(['2016-01-01', '2016-01-02', '2016-01-03'])));

    const flows = (join_type?: string) => ({
      query_kind: 'flows',
      from_location: daily('2016-01-01'),
      to_location: daily('2016-01-02'),
      join_type,
    });
    expect(h(flows())).toBe(h(flows('inner')));
    expect(h(flows('left outer'))).toBe(h(flows('left')));
    expect(h(jsa(window('event_count'), 'avg'))).toBe(h(jsa(window('event_count', { direction: 'both' }), 'Avg')));
  });

  it('a different meaning or a different store version changes the hash', () => {
    const base = spatial(daily('2016-01-01'));
    expect(h(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(h(base)).not.toBe(h(spatial(daily('2016-01-02'))));
    expect(h(base)).not.toBe(h(spatial(daily('2016-01-01', 'admin3', { method: 'most-common' }))));
    expect(h(base)).not.toBe(h(spatial(daily('2016-01-01', 'admin3', { event_types: ['calls'] }))));
    expect(h(base, 7)).not.toBe(h(base, 8));
    const mc = (dates: string[]) => spatial({ query_kind: 'modal_location', locations: dates.map((d) => daily(d)) });
    expect(h(mc(['2016-01-01', '2016-01-01']))).not.toBe(h(mc(['2016-01-01'])));
  });

  it('is stable across releases (bump HASH_VERSION in hash.ts if this must change)', () => {
    const spec = parse(spatial(daily('2016-01-01')));
    expect(canonicalJson(spec)).toBe(
      '{"locations":{"aggregation_unit":"admin3","date":"2016-01-01","event_types":["calls","sms"],"hours":null,' +
        '"method":"last","query_kind":"daily_location","sampling":null,"subscriber_subset":null},"query_kind":"spatial_aggregate"}',
    );
    expect(specHash(spec, 1)).toBe(STABLE_HASH);
  });

  it('canonical JSON sorts keys at every depth', () => {
    const messy = { b: 1, a: { d: [2, { z: 1, y: 2 }], c: null }, u: undefined };
    expect(canonicalJson(messy)).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  });
});

describe('helpers for the planner and the tier check', () => {
  it('isAggregateKind', () => {
    expect(isAggregateKind('spatial_aggregate')).toBe(true);
    expect(isAggregateKind('geography')).toBe(true);
    expect(isAggregateKind('daily_location')).toBe(false);
    expect(isAggregateKind('nope')).toBe(false);
  });

  it('unitsOf lists every unit a spec touches', () => {
    expect(unitsOf(parse({ query_kind: 'geography', aggregation_unit: 'cell' }))).toEqual(['cell']);
    expect(unitsOf(parse(jsa(window('unique_location_counts', { aggregation_unit: 'admin1' }), 'avg', daily('2016-01-01', 'admin2'))))).toEqual([
      'admin1',
      'admin2',
    ]);
    expect(unitsOf(parse({ query_kind: 'histogram_aggregate', metric: window('radius_of_gyration'), bins: 4 }))).toEqual([]);
  });

  it('outputUnit is the unit of the result rows', () => {
    expect(outputUnit(parse(spatial(coalesced(['2016-01-03'], ['2016-01-01'], 'admin2'))))).toBe('admin2');
    expect(outputUnit(parse({ query_kind: 'histogram_aggregate', metric: window('radius_of_gyration'), bins: 4 }))).toBeUndefined();
  });

  it('finestTemporal', () => {
    expect(finestTemporal(parse(spatial(daily('2016-01-01'))))).toBe('day');
    expect(finestTemporal(parse(windowed('trips_od_matrix', '2016-01-01', '2016-01-08', 'admin1')))).toBe('week');
    expect(finestTemporal(parse(windowed('trips_od_matrix', '2015-12-01', '2016-01-08', 'admin1')))).toBe('month');
    expect(finestTemporal(parse(windowed('trips_od_matrix', '2016-01-01 06:00', '2016-01-08', 'admin1')))).toBe('hour');
    expect(finestTemporal(parse(windowed('trips_od_matrix', '2016-01-01 06:30', '2016-01-08', 'admin1')))).toBe('minute');
    const modal = { query_kind: 'modal_location', locations: ['01', '02', '03', '04', '05', '06', '07'].map((d) => daily(`2016-01-${d}`)) };
    // Each input's own window counts, not the span of the inputs pooled (issue #13, item 2).
    expect(finestTemporal(parse(spatial(modal)))).toBe('day');
    expect(finestTemporal(parse(spatial(daily('2016-01-01', 'admin3', { hours: { start_hour: 8, end_hour: 9 } }))))).toBe('hour');
    const lec = windowed('location_event_counts', '2015-12-01', '2016-01-02', 'admin1', { interval: 'min' });
    expect(finestTemporal(parse(lec))).toBe('minute');
    const tno = windowed('total_network_objects', '2015-12-01', '2016-01-02', 'admin1', { total_by: 'hour' });
    const ano = { query_kind: 'aggregate_network_objects', total_network_objects: tno, statistic: 'max', aggregate_by: 'month' };
    expect(finestTemporal(parse(ano))).toBe('hour');
    const tap = { query_kind: 'total_active_periods', start_date: '2016-01-01', total_periods: 4, period_unit: 'hours' };
    expect(finestTemporal(parse(jsa(tap, 'avg', modal)))).toBe('hour');
  });
});

const STABLE_HASH = '82b18488bdad46c014dd7f78e98b01c3871fce6da97b6dd500f8c39994bddd7e';

describe('labelled aggregates (FlowKit labelled_spatial_aggregate, labelled_flows)', () => {
  const mc = (extra: Json = {}): Json => ({
    query_kind: 'mobility_classification',
    locations: [coalesced(['2016-01-03'], ['2016-01-01']), coalesced(['2016-01-05'], ['2016-01-03'])],
    stay_length_threshold: 2,
    ...extra,
  });
  const lsa = (extra: Json = {}): Json => ({
    query_kind: 'labelled_spatial_aggregate',
    locations: coalesced(['2016-01-05'], ['2016-01-03']),
    labels: mc(),
    ...extra,
  });
  const lf = (extra: Json = {}): Json => ({
    query_kind: 'labelled_flows',
    from_location: coalesced(['2016-01-03'], ['2016-01-01']),
    to_location: coalesced(['2016-01-05'], ['2016-01-03']),
    labels: mc(),
    ...extra,
  });

  it('parse with their defaults, the periods kept in the order given (it is chronological in FlowKit)', () => {
    const a = parse(lsa());
    expect(a.query_kind).toBe('labelled_spatial_aggregate');
    expect(outputUnit(a)).toBe('admin3');
    const f = parse(lf());
    expect(f.query_kind === 'labelled_flows' && f.join_type).toBe('inner');
    expect(outputUnit(f)).toBe('admin3');
    const swapped = mc({ locations: [...(mc().locations as Json[])].reverse() });
    expect(specHash(parse(lsa({ labels: swapped })), 1)).not.toBe(specHash(a, 1));
    // FlowKit dumps labelled_flows with its derived unit; it loads back.
    parse(lf({ aggregation_unit: 'admin3' }));
  });

  it('locations and flow ends must be coalesced locations, labels a mobility_classification', () => {
    refused(lsa({ locations: daily('2016-01-01') }), 'locations.query_kind', /coalesced_location/, 'KIND_NOT_ALLOWED_HERE');
    refused(lf({ from_location: daily('2016-01-01') }), 'from_location.query_kind', /coalesced_location/, 'KIND_NOT_ALLOWED_HERE');
    refused(lsa({ labels: window('radius_of_gyration') }), 'labels.query_kind', /mobility_classification/, 'KIND_NOT_ALLOWED_HERE');
    refused(lsa({ labels: undefined }), 'labels', /mobility_classification/, 'MISSING_FIELD');
  });

  it('bad parameters name their field', () => {
    refused(lsa({ labels: mc({ stay_length_threshold: 1.5 }) }), 'labels.stay_length_threshold', /integer/);
    refused(lsa({ labels: mc({ stay_length_threshold: -1 }) }), 'labels.stay_length_threshold', /integer >= 0/);
    refused(lsa({ labels: mc({ stay_length_threshold: undefined }) }), 'labels.stay_length_threshold', undefined, 'MISSING_FIELD');
    refused(lsa({ labels: mc({ locations: [] }) }), 'labels.locations', /non-empty list/);
    refused(
      lsa({ labels: mc({ locations: [coalesced(['2016-01-03'], ['2016-01-01']), coalesced(['2016-01-05'], ['2016-01-03'], 'admin1')] }) }),
      'labels.locations.1',
      undefined,
      'MIXED_UNITS',
    );
    refused(lf({ to_location: coalesced(['2016-01-05'], ['2016-01-03'], 'admin1') }), 'to_location', undefined, 'MIXED_UNITS');
    refused(lf({ join_type: 'sideways' }), 'join_type', /inner/);
    refused(lsa({ join_type: 'inner' }), 'join_type', undefined, 'UNKNOWN_FIELD');
  });
});
