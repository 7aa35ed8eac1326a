/**
 * Per-subscriber location steps (LocStep) from the location kinds of
 * spec/locations.ts: one planner per kind, in a registry the compiler checks
 * against LOCATION_KINDS; sampling wraps any of them.
 */
import { SECONDS_PER_DAY } from '../../../kernels/shared/constants.js';
import { SpecError } from '../../errors.js';
import type { LocStep, MobilityStep, PairSide, WindowFilter } from '../protocol.js';
import type { DailyLocation, FlowInput, LocationKind, LocationVisits, MobilityClassification, SpecOf, UniqueLocations } from '../spec.js';
import type { Sampling } from '../spec/common.js';
import { datedWindow, localSeconds, noSampling, notYet, type PlanContext, sampled, windowFilter } from './plan.js';

/** A location step and the unit of its locations. */
export interface Located {
  step: LocStep;
  unit: string;
}

type LocationPlanners = { readonly [K in LocationKind]: (ctx: PlanContext, s: SpecOf<K>, path: string) => Located };

function dailyStep(ctx: PlanContext, s: DailyLocation, path: string): LocStep {
  const t0 = localSeconds(s.date, `${path}.date`);
  const filter = windowFilter(ctx, s, t0, t0 + SECONDS_PER_DAY);
  return { op: s.method === 'last' ? 'last' : 'most-common', unit: s.aggregation_unit, filter };
}

/** Kinds that are not a location per subscriber on their own (sets, visits, labels) are refused where one is needed. */
const notALocation = (_ctx: PlanContext, s: { query_kind: string }, path: string): Located => {
  throw notYet(s.query_kind, path);
};

const LOCATION_PLANNERS: LocationPlanners = {
  daily_location: (ctx, s, path) => ({ step: dailyStep(ctx, s, path), unit: s.aggregation_unit }),
  most_frequent_location: (ctx, s, path) => ({ step: { op: 'most-common', unit: s.aggregation_unit, filter: datedWindow(ctx, s, path) }, unit: s.aggregation_unit }),
  visited_most_days: (ctx, s, path) => ({ step: { op: 'most-days', unit: s.aggregation_unit, filter: datedWindow(ctx, s, path) }, unit: s.aggregation_unit }),
  modal_location(ctx, s, path) {
    // The tie rule ("the location seen on the latest day") needs inputs in date order.
    const inputs = s.locations
      .map((d, i) => ({ d, i }))
      .sort((a, b) => (a.d.date < b.d.date ? -1 : a.d.date > b.d.date ? 1 : a.i - b.i))
      .map(({ d, i }) => dailyStep(ctx, d, `${path}.locations.${i}`));
    return { step: { op: 'modal', inputs }, unit: s.locations[0]!.aggregation_unit };
  },
  majority_location(ctx, s, path) {
    const visits = visitSteps(ctx, s.subscriber_location_weights, `${path}.subscriber_location_weights`);
    // include_unlocatable only adds subscribers with no location: an aggregate never has a row for them.
    return { step: { op: 'majority', inputs: visits.inputs, minTotal: s.minimum_total_weight }, unit: visits.unit };
  },
  coalesced_location(ctx, s, path) {
    const preferred = locationStep(ctx, s.preferred_location, `${path}.preferred_location`);
    const fallback = locationStep(ctx, s.fallback_location, `${path}.fallback_location`);
    const weights = visitSteps(ctx, s.subscriber_location_weights, `${path}.subscriber_location_weights`);
    return {
      step: { op: 'coalesce', preferred: preferred.step, fallback: fallback.step, weights: weights.inputs, threshold: s.weight_threshold },
      unit: preferred.unit,
    };
  },
  unique_locations: notALocation,
  location_visits: notALocation,
  mobility_classification: notALocation,
};

/** A per-subscriber location step and its unit. */
export function locationStep(ctx: PlanContext, s: FlowInput, path: string): { step: LocStep; unit: string } {
  if ('sampling' in s && s.sampling) {
    const inner = locationStep(ctx, { ...s, sampling: null } as FlowInput, path);
    const rule = sampled(ctx, s.sampling, { loc: inner.step }, `${path}.sampling`);
    return { step: { op: 'sample', input: inner.step, rule }, unit: inner.unit };
  }
  return (LOCATION_PLANNERS[s.query_kind] as (ctx: PlanContext, s: FlowInput, path: string) => Located)(ctx, s, path);
}

/** location_visits: one vote per input location (daily or modal) per subscriber, inputs in date order. */
export function visitSteps(ctx: PlanContext, s: LocationVisits, path: string): { inputs: LocStep[]; unit: string } {
  noSampling(s.sampling, path, s.query_kind);
  const located = s.locations.map((l, i) => ({ ...locationStep(ctx, l, `${path}.locations.${i}`), key: l.query_kind === 'daily_location' ? l.date : l.locations.map((d) => d.date).sort().at(-1)!, i }));
  located.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
  return { inputs: located.map((l) => l.step), unit: located[0]!.unit };
}

/** A unique_locations spec: its unit and event window. */
export function uniqueLocations(ctx: PlanContext, s: UniqueLocations, path: string): { unit: string; filter: WindowFilter } {
  noSampling(s.sampling, path, s.query_kind);
  return {
    unit: s.aggregation_unit,
    filter: datedWindow(ctx, s, path),
  };
}

/** One end of a flow: a location per subscriber, or (unique_locations) the set they visited. */
export function pairSide(ctx: PlanContext, s: FlowInput, path: string): { side: PairSide; unit: string } {
  if (s.query_kind === 'unique_locations') {
    const u = uniqueLocations(ctx, s, path);
    return { side: { kind: 'set', unit: u.unit, filter: u.filter }, unit: u.unit };
  }
  const l = locationStep(ctx, s, path);
  return { side: { kind: 'location', step: l.step }, unit: l.unit };
}

/** mobility_classification: its coalesced locations in the order given (FlowKit takes it as chronological). */
export function mobilityStep(ctx: PlanContext, s: MobilityClassification, path: string): MobilityStep {
  // sample.ts draws from located subscribers; here subscribers without a location count too.
  const noSample = (sampling: Sampling | null, at: string) => {
    if (sampling) {
      throw new SpecError('NOT_IMPLEMENTED', `${at}.sampling: sampling is not supported yet where subscribers without a location count (mobility_classification and its periods that keep them)`, `${at}.sampling`);
    }
  };
  noSample(s.sampling, path);
  const periods = s.locations.map((c, i) => {
    const at = `${path}.locations.${i}`;
    const preferred = c.preferred_location;
    if (!preferred.include_unlocatable) return { location: locationStep(ctx, c, at).step, presence: [] };
    noSample(c.sampling, at);
    noSample(preferred.sampling, `${at}.preferred_location`);
    const weights = visitSteps(ctx, preferred.subscriber_location_weights, `${at}.preferred_location.subscriber_location_weights`);
    return { location: locationStep(ctx, c, at).step, presence: weights.inputs };
  });
  return { periods, stayLengthThreshold: s.stay_length_threshold };
}
