/**
 * The JSON FlowClient's query-spec helpers build (Flowminder/FlowKit
 * flowclient/flowclient/aggregates.py and query_specs.py), key for key: every
 * optional argument left at its default, so Python's None arrives as null. The
 * current helpers of unique_subscriber_counts, total_network_objects,
 * aggregate_network_objects, trips_od_matrix and consecutive_trips_od_matrix also
 * send `hours: null` (issue #15; FlowKit's HoursField, allow_none=True).
 */
type Spec = Record<string, unknown>;
const TABLES = { mapping_table: null, geom_table: null, geom_table_join_column: null };

// query_specs.py
export const dailyLocationSpec = (date: string, aggregation_unit: string, method: string): Spec => ({
  query_kind: 'daily_location', date, aggregation_unit, method, subscriber_subset: null, ...TABLES,
});
export const modalLocationSpec = (locations: Spec[]): Spec => ({ query_kind: 'modal_location', locations });
/** modal_location_from_dates_spec: one daily_location_spec per day of [start, end). */
export function modalLocationFromDatesSpec(start: string, end: string, unit: string, method: string): Spec {
  const days: string[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); t < Date.parse(`${end}T00:00:00Z`); t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  return modalLocationSpec(days.map((d) => dailyLocationSpec(d, unit, method)));
}
export const uniqueLocationsSpec = (start_date: string, end_date: string, aggregation_unit: string): Spec => ({
  query_kind: 'unique_locations', start_date, end_date, aggregation_unit, subscriber_subset: null, ...TABLES,
});
export const radiusOfGyrationSpec = (start_date: string, end_date: string): Spec => ({ query_kind: 'radius_of_gyration', start_date, end_date, subscriber_subset: null });

// aggregates.py
export const locationEventCountsSpec = (start_date: string, end_date: string, aggregation_unit: string, count_interval: string): Spec => ({
  query_kind: 'location_event_counts', start_date, end_date, interval: count_interval, aggregation_unit, direction: 'both', event_types: null, subscriber_subset: null, ...TABLES,
});
export const flowsSpec = (from_location: Spec, to_location: Spec): Spec => ({ query_kind: 'flows', from_location, to_location });
export const uniqueSubscriberCountsSpec = (start_date: string, end_date: string, aggregation_unit: string): Spec => ({
  query_kind: 'unique_subscriber_counts', start_date, end_date, aggregation_unit, ...TABLES, event_types: null, subscriber_subset: null, hours: null,
});
export const locationIntroversionSpec = (start_date: string, end_date: string, aggregation_unit: string): Spec => ({
  query_kind: 'location_introversion', start_date, end_date, aggregation_unit, direction: 'both', ...TABLES, event_types: null, subscriber_subset: null,
});
export const totalNetworkObjectsSpec = (start_date: string, end_date: string, aggregation_unit: string): Spec => ({
  query_kind: 'total_network_objects', start_date, end_date, aggregation_unit, total_by: 'day', ...TABLES, event_types: null, subscriber_subset: null, hours: null,
});
export const aggregateNetworkObjectsSpec = (total_network_objects: Spec, statistic: string): Spec => ({
  query_kind: 'aggregate_network_objects', total_network_objects, statistic, aggregate_by: 'day', hours: null,
});
export const spatialAggregateSpec = (locations: Spec): Spec => ({ query_kind: 'spatial_aggregate', locations });
const trips = (query_kind: string) => (start_date: string, end_date: string, aggregation_unit: string): Spec => ({
  query_kind, start_date, end_date, aggregation_unit, event_types: null, subscriber_subset: null, ...TABLES, hours: null,
});
export const tripsOdMatrixSpec = trips('trips_od_matrix');
export const consecutiveTripsOdMatrixSpec = trips('consecutive_trips_od_matrix');
export const unmovingCountsSpec = (unique_locations: Spec): Spec => ({ query_kind: 'unmoving_counts', locations: unique_locations });
export const unmovingAtReferenceLocationCountsSpec = (reference_locations: Spec, unique_locations: Spec): Spec => ({
  query_kind: 'unmoving_at_reference_location_counts', locations: unique_locations, reference_locations,
});
export const activeAtReferenceLocationCountsSpec = (reference_locations: Spec, unique_locations: Spec): Spec => ({
  query_kind: 'active_at_reference_location_counts', unique_locations, reference_locations,
});
export const joinedSpatialAggregateSpec = (locations: Spec, metric: Spec, method = 'avg'): Spec => ({ query_kind: 'joined_spatial_aggregate', method, locations, metric });
/** histogram_aggregate_spec: bins as {n_bins} or {bin_list}; range, when given, as a two-element list. */
export function histogramAggregateSpec(metric: Spec, bins: number | number[], range?: [number, number]): Spec {
  const spec: Spec = { query_kind: 'histogram_aggregate', metric, bins: Array.isArray(bins) ? { bin_list: bins } : { n_bins: bins } };
  if (range) spec.range = [...range];
  return spec;
}

// FlowKit's default meaningful-location scores and labels (LabelEventScore's defaults).
const HOUR_SCORES = [-1, -1, -1, -1, -1, -1, -1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, -1, -1, -1];
const DOW_SCORES = { monday: 1, tuesday: 1, wednesday: 1, thursday: 0, friday: -1, saturday: -1, sunday: -1 };
const LABELS = {
  evening: { type: 'MultiPolygon', coordinates: [[[[0.000001, 0.5], [0.000001, 1], [1, 1], [1, 0.5]]], [[[0.000001, -1], [0.000001, -0.5], [1, -0.5], [1, -1]]]] },
  day: { type: 'Polygon', coordinates: [[[-1, -0.5], [-1, 0.5], [0, 0.5], [0, -0.5]]] },
};
const meaningful = { labels: LABELS, tower_day_of_week_scores: DOW_SCORES, tower_hour_of_day_scores: HOUR_SCORES, tower_cluster_radius: 1.0, tower_cluster_call_threshold: 0 };
export const meaningfulLocationsAggregateSpec = (start_date: string, end_date: string, label: string, aggregation_unit: string): Spec => ({
  query_kind: 'meaningful_locations_aggregate', aggregation_unit, start_date, end_date, label, ...meaningful, event_types: null, subscriber_subset: null, ...TABLES,
});
export const meaningfulLocationsBetweenLabelOdMatrixSpec = (start_date: string, end_date: string, label_a: string, label_b: string, aggregation_unit: string): Spec => ({
  query_kind: 'meaningful_locations_between_label_od_matrix', aggregation_unit, start_date, end_date, label_a, label_b, ...meaningful, event_types: null, subscriber_subset: null, ...TABLES,
});
export const meaningfulLocationsBetweenDatesOdMatrixSpec = (start_date_a: string, end_date_a: string, start_date_b: string, end_date_b: string, label: string, aggregation_unit: string): Spec => ({
  query_kind: 'meaningful_locations_between_dates_od_matrix', aggregation_unit, start_date_a, end_date_a, start_date_b, end_date_b, label, ...meaningful, event_types: null, subscriber_subset: null, ...TABLES,
});

/** One spec per aggregate helper, on the sample store (2016-01-01 to 2016-04-03), at admin2. */
export function everyAggregateHelper(): [string, Spec][] {
  const U = 'admin2';
  const week1 = modalLocationFromDatesSpec('2016-01-01', '2016-01-04', U, 'last');
  const week2 = modalLocationFromDatesSpec('2016-01-08', '2016-01-11', U, 'last');
  const unique = uniqueLocationsSpec('2016-01-01', '2016-01-04', U);
  return [
    ['spatial_aggregate', spatialAggregateSpec(dailyLocationSpec('2016-01-03', U, 'last'))],
    ['spatial_aggregate (modal)', spatialAggregateSpec(week1)],
    ['flows', flowsSpec(week1, week2)],
    ['location_event_counts', locationEventCountsSpec('2016-01-01', '2016-01-03', U, 'day')],
    ['unique_subscriber_counts', uniqueSubscriberCountsSpec('2016-01-01', '2016-01-08', U)],
    ['total_network_objects', totalNetworkObjectsSpec('2016-01-01', '2016-01-08', U)],
    ['aggregate_network_objects', aggregateNetworkObjectsSpec(totalNetworkObjectsSpec('2016-01-01', '2016-01-08', U), 'avg')],
    ['trips_od_matrix', tripsOdMatrixSpec('2016-01-01', '2016-01-03', U)],
    ['consecutive_trips_od_matrix', consecutiveTripsOdMatrixSpec('2016-01-01', '2016-01-03', U)],
    ['unmoving_counts', unmovingCountsSpec(unique)],
    ['unmoving_at_reference_location_counts', unmovingAtReferenceLocationCountsSpec(week1, unique)],
    ['active_at_reference_location_counts', activeAtReferenceLocationCountsSpec(week1, unique)],
    ['joined_spatial_aggregate', joinedSpatialAggregateSpec(week1, radiusOfGyrationSpec('2016-01-01', '2016-01-04'))],
    ['histogram_aggregate (n_bins, range)', histogramAggregateSpec(radiusOfGyrationSpec('2016-01-01', '2016-01-04'), 2, [0, 300])],
    ['histogram_aggregate', histogramAggregateSpec(radiusOfGyrationSpec('2016-01-01', '2016-01-04'), [0, 5, 20, 1000])],
    ['meaningful_locations_aggregate', meaningfulLocationsAggregateSpec('2016-01-01', '2016-01-08', 'day', 'admin1')],
    ['meaningful_locations_between_label_od_matrix', meaningfulLocationsBetweenLabelOdMatrixSpec('2016-01-01', '2016-01-08', 'day', 'evening', 'admin1')],
    ['meaningful_locations_between_dates_od_matrix', meaningfulLocationsBetweenDatesOdMatrixSpec('2016-01-01', '2016-01-08', '2016-01-08', '2016-01-15', 'day', 'admin1')],
  ];
}
