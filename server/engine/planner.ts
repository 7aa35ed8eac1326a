/**
 * Turns a validated query spec into a partition plan: the AggStep every
 * subscriber partition runs, and how the summed counts become FlowKit's rows
 * with the support redaction decides on. Kinds the engine cannot run yet are
 * refused here, before any kernel runs, with a clear error.
 *
 * Each kind is planned by its family (plan/aggregates.ts, od.ts, network.ts,
 * metrics.ts, meaningful.ts, labelled.ts). PLANNERS is typed over every
 * aggregate kind (spec/kinds.ts), so a kind added there without a planner does
 * not compile (docs/ADDING-A-KIND.md).
 */
import { AGGREGATE_PLANNERS } from './plan/aggregates.js';
import { LABELLED_PLANNERS } from './plan/labelled.js';
import { MEANINGFUL_PLANNERS } from './plan/meaningful.js';
import { METRIC_AGGREGATE_PLANNERS } from './plan/metrics.js';
import { NETWORK_PLANNERS } from './plan/network.js';
import { OD_PLANNERS } from './plan/od.js';
import { type Plan, type PlanContext, type Planner, type Planners, withPreparations } from './plan/plan.js';
import type { QuerySpec } from './spec.js';

export type { DpRatio, Merged, Plan, PlanContext, Preparation, ShapeOptions, ShapeTools, Shaped } from './plan/plan.js';
export { RATIO_STEPS } from './plan/plan.js';
export { odSumPlans, odSumShapes, type OdSumShapes } from './plan/od.js';

/** One planner per aggregate kind, by family. */
export const PLANNERS: Planners = {
  ...AGGREGATE_PLANNERS,
  ...OD_PLANNERS,
  ...NETWORK_PLANNERS,
  ...METRIC_AGGREGATE_PLANNERS,
  ...MEANINGFUL_PLANNERS,
  ...LABELLED_PLANNERS,
};

export function plan(spec: QuerySpec, ctx: PlanContext): Plan {
  return withPreparations(PLANNERS[spec.query_kind] as Planner<QuerySpec['query_kind']>, spec, ctx);
}
