/**
 * The main query kinds every end-to-end bench times (issue #4's list, plus
 * trips and network objects), as FlowKit specs over a store's days.
 */
export function mainKinds(days: readonly string[], unit: string): [string, object][] {
  const first = days[0]!;
  const last = days.at(-1)!;
  const week = days.slice(0, 7);
  const daily = (date: string, method: string) => ({ query_kind: 'daily_location', date, method, aggregation_unit: unit });
  const modal = { query_kind: 'modal_location', locations: week.map((d) => daily(d, 'last')) };
  const window = { start_date: first, end_date: last, aggregation_unit: unit };
  return [
    ['spatial_aggregate daily last', { query_kind: 'spatial_aggregate', locations: daily(days[1]!, 'last') }],
    ['spatial_aggregate daily most-common', { query_kind: 'spatial_aggregate', locations: daily(days[1]!, 'most-common') }],
    ['spatial_aggregate modal 7 days', { query_kind: 'spatial_aggregate', locations: modal }],
    ['flows daily last', { query_kind: 'flows', from_location: daily(first, 'last'), to_location: daily(last, 'last') }],
    ['unique_subscriber_counts', { query_kind: 'unique_subscriber_counts', ...window }],
    ['location_event_counts hourly', { query_kind: 'location_event_counts', ...window, interval: 'hour', direction: 'both' }],
    ['consecutive_trips_od_matrix', { query_kind: 'consecutive_trips_od_matrix', ...window }],
    ['trips_od_matrix', { query_kind: 'trips_od_matrix', ...window }],
    ['joined_spatial_aggregate radius_of_gyration avg', {
      query_kind: 'joined_spatial_aggregate',
      locations: modal,
      metric: { query_kind: 'radius_of_gyration', start_date: first, end_date: last },
      method: 'avg',
    }],
    ['total_network_objects hourly', { query_kind: 'total_network_objects', ...window, total_by: 'hour' }],
  ];
}
