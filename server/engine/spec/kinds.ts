/**
 * The query kinds and where each may appear. POSITIONS is the one table of
 * nesting (after FlowKit's OneOfQuerySchema fields in
 * flowmachine/core/server/query_schemas/): parsers read it to accept a nested
 * spec, and error messages read it to name the aggregates a per-subscriber
 * kind can live in.
 */

/** Per-subscriber locations (flowmachine features/subscriber): nested only. */
export const LOCATION_KINDS = [
  'daily_location',
  'most_frequent_location',
  'modal_location',
  'visited_most_days',
  'unique_locations',
  'location_visits',
  'majority_location',
  'coalesced_location',
  'mobility_classification',
] as const;

/** Per-subscriber metrics (FlowKit's joinable metrics): nested only. */
export const METRIC_KINDS = [
  'radius_of_gyration',
  'unique_location_counts',
  'subscriber_degree',
  'event_count',
  'nocturnal_events',
  'pareto_interactions',
  'displacement',
  'total_active_periods',
  'topup_amount',
  'topup_balance',
  'handset',
] as const;

/** Top-level kinds: the table of docs/QUERIES.md, and FlowKit's labelled aggregates (the hosts of mobility_classification). */
export const AGGREGATE_KINDS = [
  'spatial_aggregate',
  'flows',
  'inflows',
  'outflows',
  'unique_subscriber_counts',
  'location_event_counts',
  'total_network_objects',
  'aggregate_network_objects',
  'joined_spatial_aggregate',
  'histogram_aggregate',
  'active_at_reference_location_counts',
  'unique_visitor_counts',
  'unmoving_counts',
  'unmoving_at_reference_location_counts',
  'trips_od_matrix',
  'consecutive_trips_od_matrix',
  'meaningful_locations_aggregate',
  'meaningful_locations_between_label_od_matrix',
  'meaningful_locations_between_dates_od_matrix',
  'labelled_spatial_aggregate',
  'labelled_flows',
  'geography',
] as const;

export type LocationKind = (typeof LOCATION_KINDS)[number];
export type MetricKind = (typeof METRIC_KINDS)[number];
export type AggregateKind = (typeof AGGREGATE_KINDS)[number];
export type Kind = LocationKind | MetricKind | AggregateKind;

/**
 * What every parsed spec is, at any depth: an object naming its kind. The
 * parsing helpers below the families take this, so they need not know the
 * unions of every family (union.ts) that are built from them.
 */
export interface SpecNode {
  readonly query_kind: Kind;
}

export const ALL_KINDS: readonly Kind[] = [...AGGREGATE_KINDS, ...LOCATION_KINDS, ...METRIC_KINDS];

/** FlowKit's ReferenceLocationSchema: one location per subscriber. */
export const REFERENCE_LOCATION_KINDS = [
  'daily_location',
  'modal_location',
  'most_frequent_location',
  'visited_most_days',
  'majority_location',
  'coalesced_location',
] as const satisfies readonly LocationKind[];

/** FlowKit's InputToFlowsSchema: reference locations, or a set of locations per subscriber. */
export const FLOW_INPUT_KINDS = [...REFERENCE_LOCATION_KINDS, 'unique_locations'] as const;

/** FlowKit's JoinableMetrics (joined_spatial_aggregate.metric). */
export const JOINABLE_METRIC_KINDS = METRIC_KINDS;

/** FlowKit's HistogrammableMetrics: the numeric ones (handset is categorical). */
export const HISTOGRAM_METRIC_KINDS = METRIC_KINDS.filter((k) => k !== 'handset');

/** Metrics whose value is a category: joined_spatial_aggregate takes distr or mode for them. */
export const CATEGORICAL_METRIC_KINDS: readonly MetricKind[] = ['handset'];

/** kind -> field -> the kinds that field accepts. */
export const POSITIONS: { readonly [K in Kind]?: Readonly<Record<string, readonly Kind[]>> } = {
  modal_location: { locations: ['daily_location'] },
  location_visits: { locations: ['daily_location', 'modal_location'] },
  majority_location: { subscriber_location_weights: ['location_visits'] },
  coalesced_location: {
    preferred_location: ['majority_location'],
    fallback_location: ['majority_location'],
    subscriber_location_weights: ['location_visits'],
  },
  mobility_classification: { locations: ['coalesced_location'] },
  displacement: { reference_location: REFERENCE_LOCATION_KINDS },
  spatial_aggregate: { locations: REFERENCE_LOCATION_KINDS },
  joined_spatial_aggregate: { locations: REFERENCE_LOCATION_KINDS, metric: JOINABLE_METRIC_KINDS },
  histogram_aggregate: { metric: HISTOGRAM_METRIC_KINDS },
  flows: { from_location: FLOW_INPUT_KINDS, to_location: FLOW_INPUT_KINDS },
  inflows: { from_location: FLOW_INPUT_KINDS, to_location: FLOW_INPUT_KINDS },
  outflows: { from_location: FLOW_INPUT_KINDS, to_location: FLOW_INPUT_KINDS },
  aggregate_network_objects: { total_network_objects: ['total_network_objects'] },
  active_at_reference_location_counts: {
    unique_locations: ['unique_locations'],
    reference_locations: REFERENCE_LOCATION_KINDS,
  },
  unique_visitor_counts: {
    active_at_reference_location_counts: ['active_at_reference_location_counts'],
    unique_subscriber_counts: ['unique_subscriber_counts'],
  },
  unmoving_counts: { locations: ['unique_locations'] },
  unmoving_at_reference_location_counts: {
    locations: ['unique_locations'],
    reference_locations: REFERENCE_LOCATION_KINDS,
  },
  // FlowKit's LabelledSpatialAggregateSchema and LabelledFlowsSchema take only these.
  labelled_spatial_aggregate: { locations: ['coalesced_location'], labels: ['mobility_classification'] },
  labelled_flows: {
    from_location: ['coalesced_location'],
    to_location: ['coalesced_location'],
    labels: ['mobility_classification'],
  },
};

/** FlowKit top-level kinds that Opalite refuses, and why. */
export const FLOWKIT_ONLY_KINDS: Readonly<Record<string, string>> = {
  location_introversion: 'not supported yet',
  dfs_metric_total_amount: 'it needs mobile-money (DFS) transactions, which an Opalite store does not hold',
  dummy_query: "it is FlowKit's test-only query",
};

const KIND_SET: ReadonlySet<string> = new Set(ALL_KINDS);
const AGGREGATE_SET: ReadonlySet<string> = new Set(AGGREGATE_KINDS);

export function isKind(kind: string): kind is Kind {
  return KIND_SET.has(kind);
}

export function isAggregateKind(kind: string): kind is AggregateKind {
  return AGGREGATE_SET.has(kind);
}

/** Every kind that can appear, however deep, under `kind`. */
function reachable(kind: Kind, seen = new Set<Kind>()): Set<Kind> {
  for (const accepted of Object.values(POSITIONS[kind] ?? {})) {
    for (const k of accepted) {
      if (!seen.has(k)) {
        seen.add(k);
        reachable(k, seen);
      }
    }
  }
  return seen;
}

const HOSTS: ReadonlyMap<Kind, readonly AggregateKind[]> = new Map(
  ALL_KINDS.map((k) => [k, AGGREGATE_KINDS.filter((a) => reachable(a).has(k))]),
);

/** The aggregates inside which a per-subscriber kind may be nested (at any depth). */
export function hostsOf(kind: Kind): readonly AggregateKind[] {
  return HOSTS.get(kind) ?? [];
}
