/**
 * A query kind is one unit of change, and the compiler names every place it
 * must fill (docs/ADDING-A-KIND.md): the planners are typed over every kind of
 * spec/kinds.ts, the partition's handlers over every op of protocol.ts. Each
 * registry below leaves one out on purpose; its `@ts-expect-error` fails the
 * build (npm run build:ts compiles this file) if the line ever compiles, that
 * is if a registry stopped being checked.
 */
import type { Planners } from '../../server/engine/plan/plan.js';
import { PLANNERS } from '../../server/engine/planner.js';
import type { AggregateOps, LocationOps, MetricOps } from '../../server/engine/run/run.js';
import type { AggregateKind } from '../../server/engine/spec/kinds.js';

// An aggregate kind without a planner: "Property 'geography' is missing".
const { geography: _geography, ...withoutGeography } = PLANNERS;
// @ts-expect-error geography has no planner
export const plannersMissingAKind: Planners = withoutGeography;

// A kind added to the kind list (spec/kinds.ts's AGGREGATE_KINDS) before its family plans it:
// "Property 'footfall' is missing". The registry's type follows the list, so this is what the
// build says the day a kind is added there and nowhere else.
type KindsWithANewOne = AggregateKind | 'footfall';
// @ts-expect-error footfall has no planner
export const plannersOfANewKind: { readonly [K in KindsWithANewOne]: unknown } = PLANNERS;

// An op of protocol.ts's AggStep, LocStep or MetricStep without a handler in run/.
declare const aggregateOps: AggregateOps;
declare const locationOps: LocationOps;
declare const metricOps: MetricOps;
const { meaningful: _meaningful, ...withoutMeaningful } = aggregateOps;
const { coalesce: _coalesce, ...withoutCoalesce } = locationOps;
const { topup: _topup, ...withoutTopup } = metricOps;
// @ts-expect-error the meaningful op has no handler
export const aggregateOpsMissingOne: AggregateOps = withoutMeaningful;
// @ts-expect-error the coalesce op has no handler
export const locationOpsMissingOne: LocationOps = withoutCoalesce;
// @ts-expect-error the topup op has no handler
export const metricOpsMissingOne: MetricOps = withoutTopup;

// The complete registries compile: the checks above fail for the one left out, not for any.
export const complete: Planners = PLANNERS;
