/**
 * Origin-destination aggregates: flows, inflows and outflows (dense, sparse at
 * fine units, or over an outer join), trips_od_matrix and
 * consecutive_trips_od_matrix; and the flows "sum then redact" adds up
 * (odSumPlans, odSumShapes).
 */
import { SpecError } from '../../errors.js';
import type { Row } from '../../privacy/redact.js';
import { drain } from '../../util/slices.js';
import type { AggStep, LocStep, PairSide } from '../protocol.js';
import type { JoinType, QuerySpec, SpecOf } from '../spec.js';
import type { UnitSpace } from '../units.js';
import { pairSide } from './locations.js';
import { concat, datedWindow, type Plan, type PlanContext, type Planners, type Shaped, withPreparations } from './plan.js';
import { byLocation, denseOd, keyedPairs, labelled, pairs } from './rows.js';

const flows = (spec: SpecOf<'flows' | 'inflows' | 'outflows'>, ctx: PlanContext): Plan => {
  const from = pairSide(ctx, spec.from_location, 'from_location');
  const to = pairSide(ctx, spec.to_location, 'to_location');
  const a = ctx.units.space(from.unit);
  const b = ctx.units.space(to.unit);
  const dense = denseOd(a, b);
  const single = from.side.kind === 'location' && to.side.kind === 'location';
  if (spec.join_type !== 'inner' && !(dense && single)) {
    throw new SpecError(
      'NOT_IMPLEMENTED',
      `join_type: ${JSON.stringify(spec.join_type)} is not supported yet ${dense ? 'with unique_locations at an end' : `at the ${a.unit} unit`}; only 'inner' there`,
      'join_type',
    );
  }
  // Cells and positions are many and an OD among them is sparse: count keys, not a dense matrix.
  if (!dense) return sparseFlows(spec.query_kind, from.side, to.side, a, b);
  if (spec.join_type !== 'inner') return outerFlows(spec.query_kind, spec.join_type, from.side, to.side, a, b);
  const step: AggStep = single
    ? { op: 'count-pairs', from: (from.side as { step: LocStep }).step, to: (to.side as { step: LocStep }).step, nFrom: a.size, nTo: b.size }
    : { op: 'set-pairs', from: from.side, to: to.side, nFrom: a.size, nTo: b.size };
  // One (from, to) pair per subscriber when both sides are locations (inner join); sets (unique_locations) touch many.
  // Outer joins (outerFlows) add rows with a null end and are not released under DP yet.
  const dp = step.op === 'count-pairs' ? { dp: { cells: 1 } } : {};
  if (spec.query_kind === 'flows') {
    return { kind: spec.query_kind, step, shape: (m, _t, o) => pairs(a, b, m.counts, o?.dense), ...dp };
  }
  // In/outflows sum the unredacted flows, then redact the sums (docs/QUERIES.md).
  const inflow = spec.query_kind === 'inflows';
  return {
    kind: spec.query_kind,
    step,
    shape: ({ counts }, _t, o) => {
      const sums = new Float64Array(inflow ? b.size : a.size);
      for (let i = 0; i < a.size; i++) {
        for (let j = 0; j < b.size; j++) sums[inflow ? j : i] += counts[i * b.size + j] ?? 0;
      }
      return byLocation(inflow ? b : a, sums, inflow ? '_to' : '_from', o?.dense);
    },
    ...dp,
  };
};

const trips = (spec: SpecOf<'trips_od_matrix' | 'consecutive_trips_od_matrix'>, ctx: PlanContext): Plan => {
  const space = ctx.units.space(spec.aggregation_unit);
  const filter = datedWindow(ctx, spec, '');
  if (!denseOd(space, space)) {
    // Cells and positions are many and trips among them are sparse: count keys, as flows do.
    const trips = spec.query_kind === 'trips_od_matrix' ? 'trips' : 'consecutive';
    return {
      kind: spec.query_kind,
      step: { op: 'sparse-trips', trips, unit: spec.aggregation_unit, filter, nLocs: space.size },
      shape: (m) => keyedPairs(space, space, concat(Float64Array, m.values)),
    };
  }
  const op = spec.query_kind === 'trips_od_matrix' ? 'trips' : 'consecutive-trips';
  return {
    kind: spec.query_kind,
    step: { op, unit: spec.aggregation_unit, filter, nLocs: space.size },
    shape: (m) => pairs(space, space, m.counts),
  };
};

export const OD_PLANNERS: Planners<'flows' | 'inflows' | 'outflows' | 'trips_od_matrix' | 'consecutive_trips_od_matrix'> = {
  flows,
  inflows: flows,
  outflows: flows,
  trips_od_matrix: trips,
  consecutive_trips_od_matrix: trips,
};

/**
 * Flows at units too fine for a dense matrix (cell, lon-lat): partitions return
 * their subscribers' (from, to) keys; here they are sorted and counted, and
 * inflows/outflows sum the unredacted pair counts before their own threshold.
 */
function sparseFlows(kind: 'flows' | 'inflows' | 'outflows', from: PairSide, to: PairSide, a: UnitSpace, b: UnitSpace): Plan {
  return {
    kind,
    step: { op: 'sparse-pairs', from, to, nTo: b.size },
    shape: (m) => {
      const keys = concat(Float64Array, m.values);
      if (kind === 'flows') return keyedPairs(a, b, keys);
      // In/outflows sum the unredacted pair counts, then redact the sums (docs/QUERIES.md).
      const inflow = kind === 'inflows';
      const sums = new Float64Array(inflow ? b.size : a.size);
      for (const key of keys) sums[inflow ? key % b.size : Math.floor(key / b.size)]++;
      return byLocation(inflow ? b : a, sums, inflow ? '_to' : '_from');
    },
  };
}

/**
 * flows, inflows and outflows over an outer join (FlowKit's Flows: loc1 JOIN loc2 USING
 * (subscriber), then count(*) per (from, to), or sum(value) per end): a subscriber located
 * at one end only is a pair with a null other end. `left` keeps the from side's, `right`
 * the to side's, `full outer` both. Each row is redacted on its own count (> k), as
 * FlowKit's RedactedLocationMetric does; an in/outflow's null group is a row too.
 */
function outerFlows(kind: 'flows' | 'inflows' | 'outflows', join: Exclude<JoinType, 'inner'>, from: PairSide, to: PairSide, a: UnitSpace, b: UnitSpace): Plan {
  const margins = { from: join !== 'right', to: join !== 'left' };
  const step: AggStep = {
    op: 'count-pairs',
    from: (from as { step: LocStep }).step,
    to: (to as { step: LocStep }).step,
    nFrom: a.size,
    nTo: b.size,
    margins,
  };
  const nullOf = (space: UnitSpace, suffix: string): Row => Object.fromEntries(space.columns.map((c) => [c + suffix, null]));
  return {
    kind,
    step,
    shape: ({ counts }) => {
      const cells = a.size * b.size;
      const inner = counts.subarray(0, cells);
      // Subscribers at one end whom the other end does not locate: that end's count less its pairs.
      const fromOnly = new Float64Array(a.size);
      const toOnly = new Float64Array(b.size);
      let at = cells;
      if (margins.from) {
        for (let i = 0; i < a.size; i++) {
          let paired = 0;
          for (let j = 0; j < b.size; j++) paired += inner[i * b.size + j]!;
          fromOnly[i] = counts[at + i]! - paired;
        }
        at += a.size;
      }
      if (margins.to) {
        for (let j = 0; j < b.size; j++) {
          let paired = 0;
          for (let i = 0; i < a.size; i++) paired += inner[i * b.size + j]!;
          toOnly[j] = counts[at + j]! - paired;
        }
      }
      const sum = (xs: Float64Array) => xs.reduce((s, v) => s + v, 0);
      if (kind === 'flows') {
        const shaped = drain(pairs(a, b, inner)); // admin units only: small
        const add = (row: Row, v: number) => {
          if (v <= 0) return;
          shaped.rows.push({ ...row, value: v });
          shaped.support.push(v);
        };
        for (let i = 0; i < a.size; i++) add({ ...labelled(a, i, '_from'), ...nullOf(b, '_to') }, fromOnly[i]!);
        for (let j = 0; j < b.size; j++) add({ ...nullOf(a, '_from'), ...labelled(b, j, '_to') }, toOnly[j]!);
        return shaped;
      }
      // inflows group by the to end, outflows by the from end; the other end's nulls are in their group.
      const inflow = kind === 'inflows';
      const space = inflow ? b : a;
      const sums = new Float64Array(space.size);
      for (let i = 0; i < a.size; i++) for (let j = 0; j < b.size; j++) sums[inflow ? j : i] += inner[i * b.size + j]!;
      const own = inflow ? toOnly : fromOnly;
      for (let k = 0; k < space.size; k++) sums[k] += own[k]!;
      const shaped = byLocation(space, sums, inflow ? '_to' : '_from');
      const nullGroup = sum(inflow ? fromOnly : toOnly);
      if (nullGroup > 0) {
        shaped.rows.push({ ...nullOf(space, inflow ? '_to' : '_from'), value: nullGroup });
        shaped.support.push(nullGroup);
      }
      return shaped;
    },
  };
}

/** The three aggregates "sum then redact" publishes from summed (from, to) counts. */
export interface OdSumShapes {
  /** Off-diagonal (from, to) sums. */
  pairs: Shaped;
  /** Off-diagonal sums by destination. */
  inflows: Shaped;
  /** Off-diagonal sums by origin. */
  outflows: Shaped;
}

/**
 * The flows plans whose unredacted (from, to) counts "sum then redact" adds up: every spec
 * must be a flows spec counted densely, all at the one unit. Throws a SpecError naming
 * the spec otherwise.
 */
export function odSumPlans(specs: readonly QuerySpec[], ctx: PlanContext): { plans: Plan[]; space: UnitSpace } {
  let space: UnitSpace | undefined;
  const plans = specs.map((spec, i) => {
    const p = spec.query_kind === 'flows' ? withPreparations(flows, spec, ctx) : null;
    if (!p || p.kind !== 'flows' || p.step?.op !== 'count-pairs' || p.step.nFrom !== p.step.nTo || p.step.margins) {
      throw new SpecError('BAD_VALUE', `specs.${i}: expected a flows spec between locations of one admin unit, found ${spec.query_kind}`, `specs.${i}`);
    }
    const unit = ctx.units.space(pairSide(ctx, (spec as SpecOf<'flows'>).from_location, 'from_location').unit);
    if (space && space.unit !== unit.unit) {
      throw new SpecError('BAD_VALUE', `specs.${i}: expected the unit of the first spec (${space.unit}), found ${unit.unit}`, `specs.${i}`);
    }
    space = unit;
    return p;
  });
  if (!space) throw new SpecError('BAD_VALUE', 'specs: expected at least one flows spec, found none', 'specs');
  return { plans, space };
}

/** Rows of summed (from, to) counts (space.size^2, row-major): off-diagonal pairs and their sums by destination and origin, each with its own support. */
export function odSumShapes(space: UnitSpace, sums: Float64Array): OdSumShapes {
  const n = space.size;
  const offDiagonal = Float64Array.from(sums, (v, c) => (Math.floor(c / n) === c % n ? 0 : v));
  const inSum = new Float64Array(n);
  const outSum = new Float64Array(n);
  for (let c = 0; c < n * n; c++) {
    inSum[c % n] += offDiagonal[c]!;
    outSum[Math.floor(c / n)] += offDiagonal[c]!;
  }
  return { pairs: drain(pairs(space, space, offDiagonal)), inflows: byLocation(space, inSum, '_to'), outflows: byLocation(space, outSum, '_from') };
}
