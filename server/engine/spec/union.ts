/** The unions the planner switches on. */
import type {
  ActiveAtReferenceLocationCounts,
  AggregateNetworkObjects,
  ConsecutiveTripsODMatrix,
  Flows,
  Geography,
  HistogramAggregate,
  Inflows,
  JoinedSpatialAggregate,
  LocationEventCounts,
  Outflows,
  SpatialAggregate,
  TotalNetworkObjects,
  TripsODMatrix,
  UniqueSubscriberCounts,
  UniqueVisitorCounts,
  UnmovingAtReferenceLocationCounts,
  UnmovingCounts,
} from './aggregates.js';
import type { Kind } from './kinds.js';
import type { LabelledFlows, LabelledSpatialAggregate } from './labelled.js';
import type { LocationSpec } from './locations.js';
import type {
  MeaningfulLocationsAggregate,
  MeaningfulLocationsBetweenDatesODMatrix,
  MeaningfulLocationsBetweenLabelODMatrix,
} from './meaningful.js';
import type { MetricSpec } from './metrics.js';

/** A top-level query: one of docs/QUERIES.md's aggregates. */
export type QuerySpec =
  | SpatialAggregate
  | Flows
  | Inflows
  | Outflows
  | UniqueSubscriberCounts
  | LocationEventCounts
  | TotalNetworkObjects
  | AggregateNetworkObjects
  | JoinedSpatialAggregate
  | HistogramAggregate
  | ActiveAtReferenceLocationCounts
  | UniqueVisitorCounts
  | UnmovingCounts
  | UnmovingAtReferenceLocationCounts
  | TripsODMatrix
  | ConsecutiveTripsODMatrix
  | MeaningfulLocationsAggregate
  | MeaningfulLocationsBetweenLabelODMatrix
  | MeaningfulLocationsBetweenDatesODMatrix
  | LabelledSpatialAggregate
  | LabelledFlows
  | Geography;

export type AggregateSpec = QuerySpec;

/** Any spec, at any depth. */
export type AnySpec = QuerySpec | LocationSpec | MetricSpec;

export type SpecOf<K extends Kind> = Extract<AnySpec, { query_kind: K }>;
