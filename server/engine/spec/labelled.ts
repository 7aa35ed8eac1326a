/**
 * FlowKit's labelled aggregates (query_schemas/labelled_spatial_aggregate.py,
 * labelled_flows.py): subscriber counts per location, or per (from, to) pair,
 * disaggregated by each subscriber's mobility_classification label. FlowKit
 * takes coalesced_location inputs and mobility_classification labels only
 * (POSITIONS in kinds.ts says so).
 */
import { type JoinType, joinType } from './aggregates.js';
import { acceptDerivedUnit, checkSameUnit } from './common.js';
import type { CoalescedLocation, MobilityClassification } from './locations.js';
import { built, type Fields } from './read.js';

export interface LabelledSpatialAggregate {
  query_kind: 'labelled_spatial_aggregate';
  locations: CoalescedLocation;
  labels: MobilityClassification;
}

export interface LabelledFlows {
  query_kind: 'labelled_flows';
  from_location: CoalescedLocation;
  to_location: CoalescedLocation;
  labels: MobilityClassification;
  join_type: JoinType;
}

function labelledSpatialAggregate(f: Fields): LabelledSpatialAggregate {
  const locations = f.nested<CoalescedLocation>('locations');
  acceptDerivedUnit(f, 'locations', locations);
  return built<LabelledSpatialAggregate>({
    query_kind: 'labelled_spatial_aggregate',
    locations,
    labels: f.nested<MobilityClassification>('labels'),
  });
}

function labelledFlows(f: Fields): LabelledFlows {
  const from = f.nested<CoalescedLocation>('from_location');
  const to = f.nested<CoalescedLocation>('to_location');
  checkSameUnit(f, [
    { key: 'from_location', spec: from },
    { key: 'to_location', spec: to },
  ]);
  acceptDerivedUnit(f, 'from_location', from);
  return built<LabelledFlows>({
    query_kind: 'labelled_flows',
    from_location: from,
    to_location: to,
    labels: f.nested<MobilityClassification>('labels'),
    join_type: f.opt('join_type', 'inner' as const, joinType),
  });
}

export const LABELLED_PARSERS = {
  labelled_spatial_aggregate: labelledSpatialAggregate,
  labelled_flows: labelledFlows,
} as const;
