/**
 * The unit of a spec's result, read from its own aggregation_unit or from the
 * nested spec it takes its locations from. Below the families (they check
 * that nested parts agree on it), so it knows specs only as SpecNode.
 */
import type { Kind, SpecNode } from './kinds.js';

/** Kinds without an aggregation_unit of their own take their result's unit from this field. */
const UNIT_SOURCE: { readonly [K in Kind]?: string } = {
  modal_location: 'locations',
  location_visits: 'locations',
  mobility_classification: 'locations',
  majority_location: 'subscriber_location_weights',
  coalesced_location: 'preferred_location',
  spatial_aggregate: 'locations',
  joined_spatial_aggregate: 'locations',
  flows: 'from_location',
  inflows: 'from_location',
  outflows: 'from_location',
  active_at_reference_location_counts: 'unique_locations',
  unique_visitor_counts: 'unique_subscriber_counts',
  unmoving_counts: 'locations',
  unmoving_at_reference_location_counts: 'locations',
  aggregate_network_objects: 'total_network_objects',
  labelled_spatial_aggregate: 'locations',
  labelled_flows: 'from_location',
};

type Loose = Readonly<Record<string, unknown>>;

function field(spec: SpecNode, key: string): unknown {
  return (spec as unknown as Loose)[key];
}

/**
 * The unit of the spec's result (its rows' locations), or undefined for
 * results without one (metrics, histograms). Tolerates drafts whose parts
 * failed to parse.
 */
export function outputUnit(spec: SpecNode): string | undefined {
  const own = field(spec, 'aggregation_unit');
  if (typeof own === 'string') return own;
  const source = UNIT_SOURCE[spec.query_kind];
  if (!source) return undefined;
  const child = field(spec, source);
  const first = Array.isArray(child) ? child[0] : child;
  return first ? outputUnit(first as SpecNode) : undefined;
}
