/**
 * Turns a validated query spec into a partition plan: the AggStep every
 * subscriber partition runs, and how the summed counts become FlowKit's rows
 * with the support redaction decides on. Kinds the engine cannot run yet are
 * refused here, before any kernel runs, with a clear error.
 */
import { SECONDS_PER_DAY, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';
import { SpecError } from '../errors.js';
import { dayToDate, parseDateTime, TimezoneOffsets } from '../util/datetime.js';
import { assignPoints } from '../geo/pip.js';
import type { RegionLevel } from '../geo/regions.js';
import type { RedactionRule, Row } from '../privacy/redact.js';
import { LABEL_SLOTS, labelledCells, slotLabel } from './labelled.js';
import { meaningfulParams } from './meaningful-kernels.js';
import { directionMask, nightMaskOf, type StatisticName } from './metric-kernels.js';
import { type AggStep, CELL_KEY_SPAN, type LocStep, type MetricStep, type MobilityStep, type PairSide, type WindowFilter } from './protocol.js';
import type { DailyLocation, JoinType, EventFilter, FlowInput, LocationVisits, MetricSpec, MobilityClassification, QuerySpec, UniqueLocations } from './spec.js';
import { MAX_SAMPLED_SUBS, type SampleRule, sampleRule } from './sample.js';
import type { Sampling } from './spec/common.js';
import type { UnitSpace, Units } from './units.js';
import { ALL_HOURS, hourMaskOf } from './wasm.js';
import { drain, ROWS_PER_CHECK, type Sliced } from '../util/slices.js';

const TYPE_CODES: Record<string, number> = { calls: TYPE_CALLS, sms: TYPE_SMS, mds: TYPE_MDS, topups: TYPE_TOPUPS };

/** Rows from merged partition results, with each row's subscriber support. */
export interface Shaped {
  columns: string[];
  rows: Row[];
  support: number[];
  rule: RedactionRule;
  /** For rule `series`: the group (location) of each row. */
  group?: number[];
  /** False when `value` is a statistic that an estimate must not scale (averages, medians, distinct cells). */
  scaled?: boolean;
  /** For rule `series`: a group's rows are only those seen so far (labels), so a later partition may add one (redactEstimate). */
  openGroups?: boolean;
}

export interface ShapeOptions {
  /** Every cell of the output's domain, zero counts included (differential privacy noises them all). */
  dense?: boolean;
}

/** Partition results merged so far: counts summed, (group, value) pairs concatenated. */
export interface Merged {
  counts: Float64Array;
  /** OR of the partitions' cell bitsets (cell-bits steps). */
  bits?: Uint8Array;
  groups: Int32Array[];
  values: Float64Array[];
}

/** Kernels the shaping step may run on the main thread. */
export interface ShapeTools {
  /** f64 per group: the statistic of its values (NaN for a group without values). */
  groupStatistic(groups: Int32Array, values: Float64Array, nGroups: number, statistic: StatisticName): Float64Array;
  /**
   * Distinct cells per (location, period) from merged day bitsets: u32[nLocs * nPeriods];
   * slot s of `day` is period firstPeriod(day) + s.
   */
  countCells(bits: Uint8Array, days: readonly number[], unit: string, slotsPerDay: number, firstPeriod: (day: number) => number, nPeriods: number, nLocs: number): Uint32Array;
  /** Counts per bin; edges strictly increasing, bins [) but the last []. */
  histogram(values: Float64Array, edges: Float64Array): Uint32Array;
}

export interface Plan {
  kind: string;
  /** Null when the kind needs no kernel (geography). */
  step: AggStep | null;
  /**
   * Builds the rows from the unscaled merged results (the support redaction decides on).
   * Kinds whose rows can run to millions return a generator that yields every few hundred
   * rows, so that the service shapes them in slices of the event loop (util/slices.ts).
   */
  shape(merged: Merged, tools: ShapeTools, opts?: ShapeOptions): Shaped | Sliced<Shaped>;
  /**
   * Set for the kinds that may be released under differential privacy: the most
   * output cells one subscriber can touch, each by at most 1 (the L2 sensitivity
   * squared). Their shape with `dense` has one row per cell of a domain that does
   * not depend on the data, zeros included, always in the same order.
   */
  dp?: {
    cells: number;
    ratio?: DpRatio;
    /** A unique-by-location step the engine clips under DP to each subscriber's most-visited locations. */
    clipRegions?: boolean;
  };
  /** Passes to run, in order, before `step` (subscriber samples that need their population). */
  prepare?: Preparation[];
}

/**
 * A per-location average of a per-subscriber metric released under DP (joined_spatial_aggregate by
 * avg): the engine clips each subscriber's value to the metric's range, noises the per-location sums
 * and counts (one subscriber: one location, so one sum moves by at most the range's bound and one
 * count by 1) and publishes their ratio (docs/PRIVACY.md).
 */
export interface DpRatio {
  /** The metric's kind (the key of its clipping range). */
  metric: string;
  /**
   * Dense per-location sums and counts, with every location's label, in the unit's order: sums of the values
   * clipped to `clip`, in grid units of (hi - lo) / RATIO_STEPS (integers).
   */
  vectors(merged: Merged, clip: readonly [number, number]): { columns: string[]; labels: Row[]; sums: Float64Array; counts: Float64Array };
}

/** Grid steps across a clipping range: a DP average's sums count in units of (hi - lo) / RATIO_STEPS. */
export const RATIO_STEPS = 1000;

/** A pass over every partition that must run before the plan's step: it settles a sample's rule. */
export interface Preparation {
  step: AggStep;
  settle(merged: Merged): void;
}

export interface PlanContext {
  /** Where nested steps register passes that must run first (plan() collects them into Plan.prepare). */
  pending?: Preparation[];
  /** Subscribers in the store (global indices are below it). */
  nSubs?: number;
  units: Units;
  /** Day numbers the store holds. */
  days: readonly number[];
  /** The store's region levels (meaningful locations place cluster centroids in them). */
  regions?: readonly RegionLevel[];
}

const utc = new TimezoneOffsets('UTC');

/** Dense OD matrices up to this many cells (64 MiB of u32 per partition). */
const MAX_PAIR_CELLS = 1 << 24;

/** A normalised spec date ('YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS', local) -> local seconds. */
function localSeconds(date: string, path: string): number {
  const t = parseDateTime(date, utc); // already local: no offset to convert
  if (Number.isNaN(t)) throw new SpecError('BAD_VALUE', `${path}: expected a local date-time, found ${JSON.stringify(date)}`, path);
  return t;
}

function windowFilter(ctx: PlanContext, f: Pick<EventFilter, 'event_types'> & Partial<Pick<EventFilter, 'hours'>>, tStart: number, tEnd: number): WindowFilter {
  const first = Math.floor(tStart / SECONDS_PER_DAY);
  const last = Math.ceil(tEnd / SECONDS_PER_DAY) - 1;
  return {
    typeMask: f.event_types.reduce((m, t) => m | (1 << TYPE_CODES[t]!), 0),
    tStart,
    tEnd,
    hourMask: f.hours ? hourMaskOf(f.hours.start_hour, f.hours.end_hour) : ALL_HOURS,
    days: ctx.days.filter((d) => d >= first && d <= last),
  };
}

/** A spec's [start_date, end_date) window with its event filter; `at` is the spec's path, for errors. */
function datedWindow(
  ctx: PlanContext,
  spec: { start_date: string; end_date: string; event_types: EventFilter['event_types']; hours?: EventFilter['hours'] },
  at: string,
): WindowFilter {
  const p = at ? `${at}.` : '';
  return windowFilter(ctx, spec, localSeconds(spec.start_date, `${p}start_date`), localSeconds(spec.end_date, `${p}end_date`));
}

function dailyStep(ctx: PlanContext, s: DailyLocation, path: string): LocStep {
  const t0 = localSeconds(s.date, `${path}.date`);
  const filter = windowFilter(ctx, s, t0, t0 + SECONDS_PER_DAY);
  return { op: s.method === 'last' ? 'last' : 'most-common', unit: s.aggregation_unit, filter };
}

/**
 * The rule of a sampling spec over a per-subscriber step's subscribers; a rule that
 * needs their number (or their keys) registers a pass over every partition first.
 */
function sampled(ctx: PlanContext, sampling: Sampling, of: { loc: LocStep } | { metric: MetricStep }, path: string): SampleRule {
  if (!ctx.pending) throw new SpecError('NOT_IMPLEMENTED', `${path}: sampling is not supported here`, path);
  if (ctx.nSubs !== undefined && ctx.nSubs > MAX_SAMPLED_SUBS) {
    throw new SpecError('NOT_IMPLEMENTED', `${path}: sampling supports stores of up to ${MAX_SAMPLED_SUBS} subscribers, found ${ctx.nSubs}`, path);
  }
  const { rule, settle } = sampleRule(sampling);
  if (settle) ctx.pending.push({ step: { op: 'sample-keys', of, rule }, settle: (m) => settle(concat(Float64Array, m.values)) });
  return rule;
}

/** Where sampling is refused: sets of locations per subscriber (FlowKit samples their rows, not subscribers). */
function noSampling(sampling: Sampling | null, path: string, kind: string): void {
  if (sampling) {
    throw new SpecError('NOT_IMPLEMENTED', `${path}.sampling: sampling is supported on reference locations and metrics, not yet on ${kind}`, `${path}.sampling`);
  }
}

function notYet(kind: string, path: string): SpecError {
  return new SpecError('NOT_IMPLEMENTED', `${path || 'query_kind'}: ${kind} is valid but this engine cannot compute it yet`, path);
}

/** A per-subscriber location step and its unit. */
function locationStep(ctx: PlanContext, s: FlowInput, path: string): { step: LocStep; unit: string } {
  if ('sampling' in s && s.sampling) {
    const inner = locationStep(ctx, { ...s, sampling: null } as FlowInput, path);
    const rule = sampled(ctx, s.sampling, { loc: inner.step }, `${path}.sampling`);
    return { step: { op: 'sample', input: inner.step, rule }, unit: inner.unit };
  }
  switch (s.query_kind) {
    case 'daily_location':
      return { step: dailyStep(ctx, s, path), unit: s.aggregation_unit };
    case 'most_frequent_location':
    case 'visited_most_days': {
      const filter = datedWindow(ctx, s, path);
      return { step: { op: s.query_kind === 'visited_most_days' ? 'most-days' : 'most-common', unit: s.aggregation_unit, filter }, unit: s.aggregation_unit };
    }
    case 'modal_location': {
      // The tie rule ("the location seen on the latest day") needs inputs in date order.
      const inputs = s.locations
        .map((d, i) => ({ d, i }))
        .sort((a, b) => (a.d.date < b.d.date ? -1 : a.d.date > b.d.date ? 1 : a.i - b.i))
        .map(({ d, i }) => dailyStep(ctx, d, `${path}.locations.${i}`));
      return { step: { op: 'modal', inputs }, unit: s.locations[0]!.aggregation_unit };
    }
    case 'majority_location': {
      const visits = visitSteps(ctx, s.subscriber_location_weights, `${path}.subscriber_location_weights`);
      // include_unlocatable only adds subscribers with no location: an aggregate never has a row for them.
      return { step: { op: 'majority', inputs: visits.inputs, minTotal: s.minimum_total_weight }, unit: visits.unit };
    }
    case 'coalesced_location': {
      const preferred = locationStep(ctx, s.preferred_location, `${path}.preferred_location`);
      const fallback = locationStep(ctx, s.fallback_location, `${path}.fallback_location`);
      const weights = visitSteps(ctx, s.subscriber_location_weights, `${path}.subscriber_location_weights`);
      return {
        step: { op: 'coalesce', preferred: preferred.step, fallback: fallback.step, weights: weights.inputs, threshold: s.weight_threshold },
        unit: preferred.unit,
      };
    }
    default:
      throw notYet(s.query_kind, path);
  }
}

/** location_visits: one vote per input location (daily or modal) per subscriber, inputs in date order. */
function visitSteps(ctx: PlanContext, s: LocationVisits, path: string): { inputs: LocStep[]; unit: string } {
  noSampling(s.sampling, path, s.query_kind);
  const located = s.locations.map((l, i) => ({ ...locationStep(ctx, l, `${path}.locations.${i}`), key: l.query_kind === 'daily_location' ? l.date : l.locations.map((d) => d.date).sort().at(-1)!, i }));
  located.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
  return { inputs: located.map((l) => l.step), unit: located[0]!.unit };
}

function labelled(space: UnitSpace, index: number, suffix = ''): Row {
  const label = space.label(index);
  const row: Row = {};
  for (const c of space.columns) row[c + suffix] = label[c]!;
  return row;
}

/** Rows for every location with a count > 0 (`dense`: every location). */
function byLocation(space: UnitSpace, counts: ArrayLike<number>, suffix = '', dense = false): Shaped {
  const rows: Row[] = [];
  const support: number[] = [];
  for (let i = 0; i < space.size; i++) {
    const v = counts[i] ?? 0;
    if (v <= 0 && !dense) continue;
    rows.push({ ...labelled(space, i, suffix), value: v });
    support.push(v);
  }
  return { columns: [...space.columns.map((c) => c + suffix), 'value'], rows, support, rule: 'value' };
}

export function plan(spec: QuerySpec, ctx: PlanContext): Plan {
  const pending: Preparation[] = [];
  const p = planKind(spec, { ...ctx, pending });
  return pending.length ? { ...p, prepare: pending } : p;
}

function planKind(spec: QuerySpec, ctx: PlanContext): Plan {
  switch (spec.query_kind) {
    case 'spatial_aggregate': {
      const { step, unit } = locationStep(ctx, spec.locations, 'locations');
      const space = ctx.units.space(unit);
      return {
        kind: spec.query_kind,
        step: { op: 'count-by-location', input: step, nLocs: space.size },
        shape: (m, _t, o) => byLocation(space, m.counts, '', o?.dense),
        // One location per subscriber: one cell.
        dp: { cells: 1 },
      };
    }
    case 'flows':
    case 'inflows':
    case 'outflows': {
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
    }
    case 'unique_subscriber_counts': {
      const unit = spec.aggregation_unit;
      const space = ctx.units.space(unit);
      const filter = datedWindow(ctx, spec, '');
      return {
        kind: spec.query_kind,
        step: { op: 'unique-by-location', unit, filter, nLocs: space.size },
        shape: (m, _t, o) => byLocation(space, m.counts, '', o?.dense),
        // A subscriber is counted in every region they were seen in; under DP the engine clips that to the
        // most-visited few (clipRegions: docs/PRIVACY.md), and cells is the unclipped worst case.
        dp: { cells: space.size, clipRegions: true },
      };
    }
    case 'joined_spatial_aggregate': {
      if (spec.method === 'distr') {
        // distr is FlowKit's method for categorical metrics only (handset), and docs/DATA.md has no device column.
        throw new SpecError('NOT_IMPLEMENTED', `method: 'distr' applies to the categorical handset metric, which needs device (TAC) data the data contract (docs/DATA.md) does not carry`, 'method');
      }
      const { step: locations, unit } = locationStep(ctx, spec.locations, 'locations');
      const space = ctx.units.space(unit);
      const metric = metricStep(ctx, spec.metric, 'metric');
      const method = spec.method as StatisticName;
      return {
        kind: spec.query_kind,
        step: { op: 'metric-by-location', locations, metric },
        shape: (m, tools) => {
          const groups = concat(Int32Array, m.groups);
          const values = concat(Float64Array, m.values);
          const stat = tools.groupStatistic(groups, values, space.size, method);
          const located = new Float64Array(space.size);
          for (const g of groups) located[g]++;
          const rows: Row[] = [];
          const support: number[] = [];
          for (let i = 0; i < space.size; i++) {
            if (located[i] === 0) continue;
            rows.push({ ...labelled(space, i), value: Number.isNaN(stat[i]!) ? null : stat[i]! });
            support.push(located[i]!);
          }
          // A location is kept only if more than k subscribers are located there (docs/QUERIES.md).
          return { columns: [...space.columns, 'value'], rows, support, rule: 'value', scaled: false };
        },
        // Under DP only the average, of values clipped to the metric's range (DpRatio).
        ...(method === 'avg'
          ? {
              dp: {
                cells: 1,
                ratio: {
                  metric: spec.metric.query_kind,
                  vectors: (m: Merged, [lo, hi]: readonly [number, number]) => {
                    const sums = new Float64Array(space.size);
                    const counts = new Float64Array(space.size);
                    for (let part = 0; part < m.groups.length; part++) {
                      const groups = m.groups[part]!;
                      const values = m.values[part]!;
                      for (let i = 0; i < groups.length; i++) {
                        const v = values[i]!;
                        if (Number.isNaN(v)) continue;
                        // Clipped, then on a grid of (hi - lo) / RATIO_STEPS: the sums are integers in grid units, so that the
                        // discrete Gaussian's integer noise does not leave their fractional part (one subscriber's digits) exact.
                        sums[groups[i]!] += Math.round(((v < lo ? lo : v > hi ? hi : v) * RATIO_STEPS) / (hi - lo));
                        counts[groups[i]!]++;
                      }
                    }
                    return { columns: [...space.columns, 'value'], labels: Array.from({ length: space.size }, (_, i) => labelled(space, i)), sums, counts };
                  },
                },
              },
            }
          : {}),
      };
    }
    case 'histogram_aggregate': {
      const metric = metricStep(ctx, spec.metric, 'metric');
      const bins = spec.bins;
      const range = spec.range;
      return {
        kind: spec.query_kind,
        step: { op: 'metric-values', metric },
        shape: (m, tools) => {
          const values = concat(Float64Array, m.values);
          const edges = histogramEdges(bins, range, values);
          const counts = edges ? tools.histogram(values, edges) : new Uint32Array(0);
          const rows: Row[] = [];
          for (let b = 0; b < counts.length; b++) rows.push({ value: counts[b]!, lower_edge: edges![b]!, upper_edge: edges![b + 1]! });
          return { columns: ['value', 'lower_edge', 'upper_edge'], rows, support: Array.from(counts), rule: 'all' };
        },
        // One value per subscriber, so one bin: with edges that do not come from the data (a list, or a stated
        // range), the bins are a fixed domain and the histogram is released under DP with one cell per subscriber.
        ...('bin_list' in bins || range !== null ? { dp: { cells: 1 } } : {}),
      };
    }
    case 'trips_od_matrix':
    case 'consecutive_trips_od_matrix': {
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
    }
    case 'location_event_counts': {
      const space = ctx.units.space(spec.aggregation_unit);
      const filter = datedWindow(ctx, spec, '');
      const bucketSeconds = INTERVAL_SECONDS[spec.interval];
      const bucketBase = Math.floor(filter.tStart / bucketSeconds) * bucketSeconds;
      const nBuckets = Math.max(1, Math.ceil((filter.tEnd - bucketBase) / bucketSeconds));
      if (space.size * nBuckets > MAX_PAIR_CELLS) {
        throw new SpecError('TOO_LARGE', `interval: ${nBuckets} ${spec.interval} buckets x ${space.size} locations is more than this engine holds at once; narrow the window or coarsen the unit`, 'interval');
      }
      // Buckets the hours filter leaves empty are not part of any series.
      const eligible = (b: number) => spec.interval === 'day' || ((filter.hourMask >>> Math.floor(((bucketBase + b * bucketSeconds) % SECONDS_PER_DAY) / 3600)) & 1) === 1;
      return {
        kind: spec.query_kind,
        step: { op: 'events-by-bucket', unit: spec.aggregation_unit, filter, dirMask: directionMask(spec.direction), bucketSeconds, bucketBase, nBuckets, nLocs: space.size },
        *shape({ counts }) {
          const cells = space.size * nBuckets;
          const rows: Row[] = [];
          const support: number[] = [];
          const group: number[] = [];
          // Each bucket's time columns once, not once per location (a date string per row dominated big results).
          const dates = Array.from({ length: nBuckets }, (_, b) => dayToDate(Math.floor((bucketBase + b * bucketSeconds) / SECONDS_PER_DAY)));
          const hours = Array.from({ length: nBuckets }, (_, b) => Math.floor(((bucketBase + b * bucketSeconds) % SECONDS_PER_DAY) / 3600));
          const mins = Array.from({ length: nBuckets }, (_, b) => Math.floor(((bucketBase + b * bucketSeconds) % 3600) / 60));
          const eligibleBuckets = Array.from({ length: nBuckets }, (_, b) => b).filter(eligible);
          const columns = space.columns;
          let made = 0;
          for (let l = 0; l < space.size; l++) {
            let seen = false;
            for (let b = 0; b < nBuckets; b++) seen ||= counts[l * nBuckets + b]! > 0;
            if (!seen) continue; // a location without any event is absent, as in FlowKit
            const label = space.label(l);
            for (const b of eligibleBuckets) {
              // Built property by property in one order (one hidden class): spreading two objects per row
              // made a million-row result cost seconds of allocation and GC.
              const row: Row = {};
              for (const c of columns) row[c] = label[c]!;
              row.date = dates[b]!;
              if (spec.interval !== 'day') row.hour = hours[b]!;
              if (spec.interval === 'min') row.min = mins[b]!;
              row.value = counts[l * nBuckets + b]!;
              rows.push(row);
              support.push(counts[cells + l * nBuckets + b]!);
              group.push(l);
            }
            made += eligibleBuckets.length;
            if (made >= ROWS_PER_CHECK) {
              made = 0;
              yield;
            }
          }
          const timeColumns = spec.interval === 'day' ? ['date'] : spec.interval === 'hour' ? ['date', 'hour'] : ['date', 'hour', 'min'];
          return { columns: [...space.columns, ...timeColumns, 'value'], rows, support, group, rule: 'series' };
        },
      };
    }
    case 'unmoving_counts':
    case 'unmoving_at_reference_location_counts':
    case 'active_at_reference_location_counts': {
      const unique = spec.query_kind === 'active_at_reference_location_counts' ? spec.unique_locations : spec.locations;
      const path = spec.query_kind === 'active_at_reference_location_counts' ? 'unique_locations' : 'locations';
      const u = uniqueLocations(ctx, unique, path);
      const space = ctx.units.space(u.unit);
      const reference = spec.query_kind === 'unmoving_counts' ? null : locationStep(ctx, spec.reference_locations, 'reference_locations').step;
      const mode = spec.query_kind === 'unmoving_counts' ? 'unmoving' : spec.query_kind === 'active_at_reference_location_counts' ? 'active-at-reference' : 'unmoving-at-reference';
      return {
        kind: spec.query_kind,
        step: { op: 'unique-set', mode, unit: u.unit, filter: u.filter, reference, nLocs: space.size },
        shape: (m) => byLocation(space, m.counts),
      };
    }
    case 'unique_visitor_counts': {
      const usc = spec.unique_subscriber_counts;
      const aarlc = spec.active_at_reference_location_counts;
      const space = ctx.units.space(usc.aggregation_unit);
      const u = uniqueLocations(ctx, aarlc.unique_locations, 'active_at_reference_location_counts.unique_locations');
      const reference = locationStep(ctx, aarlc.reference_locations, 'active_at_reference_location_counts.reference_locations').step;
      const uscFilter = datedWindow(ctx, usc, 'unique_subscriber_counts');
      return {
        kind: spec.query_kind,
        step: {
          op: 'both',
          a: { op: 'unique-by-location', unit: usc.aggregation_unit, filter: uscFilter, nLocs: space.size },
          b: { op: 'unique-set', mode: 'active-at-reference', unit: u.unit, filter: u.filter, reference, nLocs: space.size },
        },
        // Visitors = subscribers seen minus active residents; the difference is itself thresholded.
        shape: ({ counts }) => {
          const diff = new Float64Array(space.size);
          for (let i = 0; i < space.size; i++) diff[i] = Math.max(0, counts[i]! - counts[space.size + i]!);
          return byLocation(space, diff);
        },
      };
    }
    case 'total_network_objects': {
      const t = networkObjects(ctx, spec);
      return {
        kind: spec.query_kind,
        step: t.step,
        shape: (m, tools) => {
          const { periods, entries } = t.counts(m, tools);
          const rows: Row[] = entries.map((e) => ({ ...labelled(t.space, e.loc), datetime: periods[e.period]!, value: e.value }));
          // Cells are infrastructure, not people: nothing to redact. Distinct cells do not grow in proportion to the
          // subscribers seen, so an estimate publishes the cells seen so far, unscaled (issue #17: scaled, the first
          // frame was +480% at 5 M events).
          return { columns: [...t.space.columns, 'datetime', 'value'], rows, support: rows.map(() => 0), rule: 'none', scaled: false };
        },
      };
    }
    case 'aggregate_network_objects': {
      const t = networkObjects(ctx, spec.total_network_objects, 'total_network_objects.');
      const by = spec.aggregate_by;
      const statistic = spec.statistic as StatisticName;
      return {
        kind: spec.query_kind,
        step: t.step,
        shape: (m, tools) => {
          const { periods, entries } = t.counts(m, tools);
          const labels: string[] = [];
          const labelIndex = new Map<string, number>();
          const aggOf = periods.map((p) => {
            const label = truncate(p, by);
            let i = labelIndex.get(label);
            if (i === undefined) labelIndex.set(label, (i = labels.push(label) - 1));
            return i;
          });
          const groups: number[] = [];
          const values: number[] = [];
          for (const e of entries) {
            groups.push(e.loc * labels.length + aggOf[e.period]!);
            values.push(e.value);
          }
          const stat = tools.groupStatistic(Int32Array.from(groups), Float64Array.from(values), t.space.size * labels.length, statistic);
          const present = new Set(groups);
          const rows: Row[] = [];
          for (const g of [...present].sort((a, b) => a - b)) {
            rows.push({ ...labelled(t.space, Math.floor(g / labels.length)), datetime: labels[g % labels.length]!, value: stat[g]! });
          }
          return { columns: [...t.space.columns, 'datetime', 'value'], rows, support: rows.map(() => 0), rule: 'none', scaled: false };
        },
      };
    }
    case 'geography': {
      const space = ctx.units.space(spec.aggregation_unit);
      // Geometry is public infrastructure: no kernel, no people, nothing to redact.
      return {
        kind: spec.query_kind,
        step: null,
        shape: () => {
          const rows: Row[] = [];
          for (let i = 0; i < space.size; i++) rows.push(labelled(space, i));
          return { columns: [...space.columns], rows, support: rows.map(() => 0), rule: 'none' };
        },
      };
    }
    case 'meaningful_locations_aggregate':
    case 'meaningful_locations_between_label_od_matrix':
    case 'meaningful_locations_between_dates_od_matrix':
      return meaningful(ctx, spec);
    case 'labelled_spatial_aggregate':
    case 'labelled_flows':
      return labelledAggregate(ctx, spec);
    default:
      throw notYet((spec as { query_kind: string }).query_kind, 'query_kind');
  }
}

type LabelledSpec = Extract<QuerySpec, { query_kind: 'labelled_spatial_aggregate' | 'labelled_flows' }>;

/** Labelled counts beyond this many (key, label) cells are returned as sparse keys rather than a dense array per partition. */
const MAX_LABELLED_CELLS = 1 << 22;

/**
 * labelled_spatial_aggregate and labelled_flows (labelled.ts): subscribers per location,
 * or (from, to) pair, and mobility label, with FlowKit's columns (value_label). Redacted
 * as FlowKit's RedactedLabelledAggregate: a location (or pair) is published only if each
 * of its labels counts more than k subscribers. Withholding one label's row alone would
 * not do: the unlabelled total (spatial_aggregate, flows) minus the published labels
 * would give it back.
 */
function labelledAggregate(ctx: PlanContext, spec: LabelledSpec): Plan {
  const flows = spec.query_kind === 'labelled_flows';
  // Every join_type publishes the inner join's rows: an outer join only adds pairs with a
  // null end, and FlowKit's redaction keeps pairs through a USING join, which never matches null.
  const from = flows ? locationStep(ctx, spec.from_location, 'from_location') : locationStep(ctx, spec.locations, 'locations');
  const to = flows ? locationStep(ctx, spec.to_location, 'to_location') : null;
  const a = ctx.units.space(from.unit);
  const b = to ? ctx.units.space(to.unit) : null;
  const nTo = b ? b.size : 1;
  const dense = a.size * nTo * LABEL_SLOTS <= MAX_LABELLED_CELLS;
  const labels = mobilityStep(ctx, spec.labels, 'labels');
  // FlowKit joins labels to locations with a left join (a null label for the unclassified), to flows with an inner one.
  const step: AggStep = { op: 'labelled', from: from.step, to: to?.step ?? null, nFrom: a.size, nTo, labels, unlabelled: !flows, dense };
  const columns = b ? [...a.columns.map((c) => `${c}_from`), ...b.columns.map((c) => `${c}_to`)] : [...a.columns];
  return {
    kind: spec.query_kind,
    step,
    shape: (m) => {
      const rows: Row[] = [];
      const support: number[] = [];
      const group: number[] = [];
      for (const { cell, count } of labelledCells(dense, m.counts, concat(Float64Array, m.values))) {
        const key = Math.floor(cell / LABEL_SLOTS);
        const place = b ? { ...labelled(a, Math.floor(key / nTo), '_from'), ...labelled(b, key % nTo, '_to') } : labelled(a, key);
        rows.push({ ...place, value_label: slotLabel(cell % LABEL_SLOTS), value: count });
        support.push(count);
        group.push(key);
      }
      return { columns: [...columns, 'value_label', 'value'], rows, support, group, rule: 'series', openGroups: true };
    },
  };
}

/** mobility_classification: its coalesced locations in the order given (FlowKit takes it as chronological). */
function mobilityStep(ctx: PlanContext, s: MobilityClassification, path: string): MobilityStep {
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

type MeaningfulSpec = Extract<QuerySpec, { query_kind: 'meaningful_locations_aggregate' | 'meaningful_locations_between_label_od_matrix' | 'meaningful_locations_between_dates_od_matrix' }>;

/**
 * The three meaningful-locations kinds (definitions: docs/QUERIES.md, meaningful locations). Partitions
 * return weighted cluster centroids; here each centroid is placed in the region of the
 * unit containing it (FlowKit's ST_Contains(region, cluster)), weights are summed per
 * region or region pair, and rows keep value > k on that weighted sum (FlowKit's
 * HAVING sum(...) > 15).
 */
function meaningful(ctx: PlanContext, spec: MeaningfulSpec): Plan {
  if (spec.subscriber_subset) throw notYet('subscriber_subset', 'subscriber_subset');
  const unit = spec.aggregation_unit;
  const level = ctx.regions?.find((l) => l.unit === unit);
  if (!level) {
    throw new SpecError('NOT_IMPLEMENTED', `aggregation_unit: meaningful locations aggregate to admin units only (as FlowKit), found ${JSON.stringify(unit)}`, 'aggregation_unit');
  }
  if (Object.hasOwn(spec.labels, 'unknown')) {
    throw new SpecError('BAD_VALUE', `labels.unknown: 'unknown' is reserved for clusters no label covers (as in FlowKit); name the label otherwise`, 'labels.unknown');
  }
  const space = ctx.units.space(unit);
  const params = meaningfulParams(spec);
  const window = (start: string, end: string, sp: string, ep: string) => windowFilter(ctx, spec, localSeconds(start, sp), localSeconds(end, ep));
  let step: AggStep;
  let labels: [string, string];
  if (spec.query_kind === 'meaningful_locations_aggregate') {
    const filter = window(spec.start_date, spec.end_date, 'start_date', 'end_date');
    step = { op: 'meaningful', params, a: { filter, label: spec.label }, b: null };
    labels = [spec.label, spec.label];
  } else if (spec.query_kind === 'meaningful_locations_between_label_od_matrix') {
    checkOdSize(space, 'aggregation_unit');
    const filter = window(spec.start_date, spec.end_date, 'start_date', 'end_date');
    step = { op: 'meaningful', params, a: { filter, label: spec.label_a }, b: { filter, label: spec.label_b } };
    labels = [spec.label_a, spec.label_b];
  } else {
    checkOdSize(space, 'aggregation_unit');
    const a = window(spec.start_date_a, spec.end_date_a, 'start_date_a', 'end_date_a');
    const b = window(spec.start_date_b, spec.end_date_b, 'start_date_b', 'end_date_b');
    step = { op: 'meaningful', params, a: { filter: a, label: spec.label }, b: { filter: b, label: spec.label } };
    labels = [spec.label, spec.label];
  }
  const od = step.b !== null;
  const stride = od ? 5 : 3;
  return {
    kind: spec.query_kind,
    step,
    shape: (m) => {
      const values = concat(Float64Array, m.values);
      const n = values.length / stride;
      const place = (offset: number) => {
        const lon = new Float64Array(n);
        const lat = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          lon[i] = values[i * stride + offset]!;
          lat[i] = values[i * stride + offset + 1]!;
        }
        return assignPoints(level, lon, lat);
      };
      const from = place(0);
      const to = od ? place(2) : from;
      const sums = new Float64Array(od ? space.size * space.size : space.size);
      for (let i = 0; i < n; i++) {
        // A centroid outside every region is dropped (FlowKit: a row with a null region).
        if (from[i]! < 0 || to[i]! < 0) continue;
        sums[od ? from[i]! * space.size + to[i]! : from[i]!] += values[i * stride + stride - 1]!;
      }
      const rows: Row[] = [];
      const support: number[] = [];
      for (let c = 0; c < sums.length; c++) {
        const v = sums[c]!;
        if (!(v > 0)) continue;
        if (od) {
          rows.push({ label_from: labels[0], label_to: labels[1], ...labelled(space, Math.floor(c / space.size), '_from'), ...labelled(space, c % space.size, '_to'), value: v });
        } else {
          rows.push({ label: labels[0], ...labelled(space, c), value: v });
        }
        support.push(v);
      }
      const columns = od
        ? ['label_from', 'label_to', ...space.columns.map((x) => `${x}_from`), ...space.columns.map((x) => `${x}_to`), 'value']
        : ['label', ...space.columns, 'value'];
      return { columns, rows, support, rule: 'value' };
    },
  };
}

const INTERVAL_SECONDS = { day: 86400, hour: 3600, min: 60 } as const;

const pad = (n: number) => String(n).padStart(2, '0');

/** PostgreSQL's date_trunc of a 'YYYY-MM-DD HH:MM:SS' local time, in the same form. */
function truncate(label: string, to: string): string {
  const [y, mo, d, h, mi, s] = [label.slice(0, 4), label.slice(5, 7), label.slice(8, 10), label.slice(11, 13), label.slice(14, 16), label.slice(17, 19)];
  switch (to) {
    case 'second':
      return `${y}-${mo}-${d} ${h}:${mi}:${s}`;
    case 'minute':
      return `${y}-${mo}-${d} ${h}:${mi}:00`;
    case 'hour':
      return `${y}-${mo}-${d} ${h}:00:00`;
    case 'day':
      return `${y}-${mo}-${d} 00:00:00`;
    case 'month':
      return `${y}-${mo}-01 00:00:00`;
    case 'year':
      return `${y}-01-01 00:00:00`;
    default: // century: PostgreSQL's centuries start in years ending 01
      return `${String(Math.floor((Number(y) - 1) / 100) * 100 + 1).padStart(4, '0')}-01-01 00:00:00`;
  }
}

/** Slots per day of each total_by: whole-day periods (day, month, year) need one. */
const SLOTS_PER_DAY: Record<string, number> = { minute: 1440, hour: 24, day: 1, month: 1, year: 1 };

/** total_network_objects' counts: the periods seen and, sorted by location then period, each count > 0. */
interface PeriodCounts {
  periods: string[];
  entries: { loc: number; period: number; value: number }[];
}

/** total_network_objects: its step (cell bits per slot, or (second, cell) keys for total_by second) and its counts. */
function networkObjects(ctx: PlanContext, spec: Extract<QuerySpec, { query_kind: 'total_network_objects' }>, path = '') {
  const space = ctx.units.space(spec.aggregation_unit);
  const filter = datedWindow(ctx, spec, path.replace(/\.$/, ''));
  if (spec.total_by === 'second') return networkObjectsBySecond(ctx, spec.aggregation_unit, space, filter);
  const slotsPerDay = SLOTS_PER_DAY[spec.total_by]!;
  const slotSeconds = SECONDS_PER_DAY / slotsPerDay;
  const periods: string[] = [];
  const index = new Map<string, number>();
  const first = new Map<number, number>();
  for (const day of filter.days) {
    for (let slot = 0; slot < slotsPerDay; slot++) {
      const t = day * SECONDS_PER_DAY + slot * slotSeconds;
      const label = truncate(`${dayToDate(day)} ${pad(Math.floor((t % SECONDS_PER_DAY) / 3600))}:${pad(Math.floor((t % 3600) / 60))}:00`, spec.total_by);
      let i = index.get(label);
      if (i === undefined) index.set(label, (i = periods.push(label) - 1));
      if (slot === 0) first.set(day, i);
    }
  }
  return {
    space,
    step: { op: 'cell-bits', unit: spec.aggregation_unit, filter, slotsPerDay } as AggStep,
    counts: (m: Merged, tools: ShapeTools): PeriodCounts => {
      const totals = m.bits
        ? tools.countCells(m.bits, filter.days, spec.aggregation_unit, slotsPerDay, (d) => first.get(d)!, periods.length, space.size)
        : new Uint32Array(space.size * periods.length);
      const entries: PeriodCounts['entries'] = [];
      for (let l = 0; l < space.size; l++) {
        for (let p = 0; p < periods.length; p++) {
          const v = totals[l * periods.length + p]!;
          if (v > 0) entries.push({ loc: l, period: p, value: v });
        }
      }
      return { periods, entries };
    },
  };
}

/**
 * total_by second: the partitions' (second, cell) keys, deduplicated (a cell serves many
 * partitions' subscribers), each cell located with its day's table, counted per (location, second).
 */
function networkObjectsBySecond(ctx: PlanContext, unit: string, space: UnitSpace, filter: WindowFilter) {
  return {
    space,
    step: { op: 'cell-seconds', unit, filter } as AggStep,
    counts: (m: Merged): PeriodCounts => {
      const keys = concat(Float64Array, m.values).sort();
      const seconds: number[] = [];
      const secondIndex = new Map<number, number>();
      const perLoc: Map<number, number>[] = Array.from({ length: space.size }, () => new Map());
      let last = -1;
      for (const key of keys) {
        if (key === last) continue;
        last = key;
        const t = Math.floor(key / CELL_KEY_SPAN);
        const cell = key - t * CELL_KEY_SPAN;
        const loc = ctx.units.table(unit, Math.floor(t / SECONDS_PER_DAY))[cell]!;
        if (loc === undefined || loc < 0) continue;
        let s = secondIndex.get(t);
        if (s === undefined) secondIndex.set(t, (s = seconds.push(t) - 1));
        perLoc[loc]!.set(s, (perLoc[loc]!.get(s) ?? 0) + 1);
      }
      // Keys are sorted by time, so seconds are indexed in time order.
      const periods = seconds.map((t) => `${dayToDate(Math.floor(t / SECONDS_PER_DAY))} ${pad(Math.floor((t % SECONDS_PER_DAY) / 3600))}:${pad(Math.floor((t % 3600) / 60))}:${pad(t % 60)}`);
      const entries: PeriodCounts['entries'] = [];
      perLoc.forEach((bySecond, loc) => {
        for (const [period, value] of [...bySecond].sort((a, b) => a[0] - b[0])) entries.push({ loc, period, value });
      });
      return { periods, entries };
    },
  };
}

/**
 * Whether an OD between these units is counted as a dense matrix (admin units) rather
 * than as sorted (from, to) keys: the kernels' dense matrices need u16 location ids and
 * at most MAX_PAIR_CELLS cells, and at the cell and lon-lat units an OD is sparse.
 */
function denseOd(a: UnitSpace, b: UnitSpace): boolean {
  const fine = (u: UnitSpace) => u.unit === 'cell' || u.unit === 'lon-lat';
  return !fine(a) && !fine(b) && a.size <= 65535 && b.size <= 65535 && a.size * b.size <= MAX_PAIR_CELLS;
}

/** Rows of an OD counted as keys from * b.size + to (one key per subscriber and pair): each distinct key's count. */
function* keyedPairs(a: UnitSpace, b: UnitSpace, keys: Float64Array): Sliced<Shaped> {
  keys.sort();
  let made = 0;
  const rows: Row[] = [];
  const support: number[] = [];
  for (let i = 0; i < keys.length; ) {
    let j = i;
    while (j < keys.length && keys[j] === keys[i]) j++;
    const from = Math.floor(keys[i]! / b.size);
    rows.push({ ...labelled(a, from, '_from'), ...labelled(b, keys[i]! - from * b.size, '_to'), value: j - i });
    support.push(j - i);
    i = j;
    if (++made % ROWS_PER_CHECK === 0) yield;
  }
  return { columns: [...a.columns.map((c) => `${c}_from`), ...b.columns.map((c) => `${c}_to`), 'value'], rows, support, rule: 'value' };
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
    const p = plan(spec, ctx);
    if (p.kind !== 'flows' || p.step?.op !== 'count-pairs' || p.step.nFrom !== p.step.nTo || p.step.margins) {
      throw new SpecError('BAD_VALUE', `specs.${i}: expected a flows spec between locations of one admin unit, found ${spec.query_kind}`, `specs.${i}`);
    }
    const unit = ctx.units.space(pairSide(ctx, (spec as Extract<QuerySpec, { query_kind: 'flows' }>).from_location, 'from_location').unit);
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

/** Dense OD matrices need nLocs^2 cells and u16 location ids in the kernels. */
function checkOdSize(space: UnitSpace, path: string): void {
  if (space.size > 65535 || space.size * space.size > MAX_PAIR_CELLS) {
    throw new SpecError('NOT_IMPLEMENTED', `${path}: an OD matrix over ${space.size} ${space.unit} locations needs a sparse OD kernel this engine does not have yet; use an admin unit`, path);
  }
}

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

/** One end of a flow: a location per subscriber, or (unique_locations) the set they visited. */
function pairSide(ctx: PlanContext, s: FlowInput, path: string): { side: PairSide; unit: string } {
  if (s.query_kind === 'unique_locations') {
    const u = uniqueLocations(ctx, s, path);
    return { side: { kind: 'set', unit: u.unit, filter: u.filter }, unit: u.unit };
  }
  const l = locationStep(ctx, s, path);
  return { side: { kind: 'location', step: l.step }, unit: l.unit };
}

/** A unique_locations spec: its unit and event window. */
function uniqueLocations(ctx: PlanContext, s: UniqueLocations, path: string): { unit: string; filter: WindowFilter } {
  noSampling(s.sampling, path, s.query_kind);
  return {
    unit: s.aggregation_unit,
    filter: datedWindow(ctx, s, path),
  };
}

function concat<T extends Int32Array | Float64Array>(Ctor: new (n: number) => T, parts: T[]): T {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}

/**
 * Bin edges: explicit edges, or n equal-width bins over the range (the given one,
 * else the values' own min and max, as FlowKit does). Null when there is nothing to bin.
 */
function histogramEdges(
  bins: { n_bins: number } | { bin_list: number[] },
  range: { lower_bound: number; upper_bound: number } | null,
  values: Float64Array,
): Float64Array | null {
  if ('bin_list' in bins) return Float64Array.from(bins.bin_list);
  let lo = range?.lower_bound ?? Infinity;
  let hi = range?.upper_bound ?? -Infinity;
  if (!range) {
    for (const v of values) {
      if (Number.isNaN(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(lo <= hi)) return null;
  if (lo === hi) hi = lo + 1;
  const n = bins.n_bins;
  return Float64Array.from({ length: n + 1 }, (_, i) => (i === n ? hi : lo + ((hi - lo) * i) / n));
}

const PERIOD_SECONDS = { days: 86400, hours: 3600, minutes: 60 } as const;

/** A per-subscriber metric step; kinds without a kernel yet are refused. */
function metricStep(ctx: PlanContext, s: MetricSpec, path: string): MetricStep {
  if ('sampling' in s && s.sampling) {
    const input = metricStep(ctx, { ...s, sampling: null } as MetricSpec, path);
    return { op: 'sample', input, rule: sampled(ctx, s.sampling, { metric: input }, `${path}.sampling`) };
  }
  const windowed = () => {
    const w = s as { start_date: string; end_date: string; event_types: EventFilter['event_types']; hours?: EventFilter['hours'] };
    return datedWindow(ctx, w, path);
  };
  switch (s.query_kind) {
    case 'radius_of_gyration':
      return { op: 'radius-of-gyration', filter: windowed() };
    case 'event_count':
      return { op: 'event-count', filter: windowed(), dirMask: directionMask(s.direction) };
    case 'nocturnal_events':
      return { op: 'nocturnal', filter: windowed(), dirMask: directionMask('both'), nightMask: nightMaskOf(s.night_hours.start_hour, s.night_hours.end_hour) };
    case 'unique_location_counts':
      return { op: 'unique-location-count', unit: s.aggregation_unit, filter: windowed() };
    case 'total_active_periods': {
      const periodSeconds = s.period_length * PERIOD_SECONDS[s.period_unit];
      const t0 = localSeconds(s.start_date, `${path}.start_date`);
      return { op: 'active-periods', periodSeconds, filter: windowFilter(ctx, s, t0, t0 + s.total_periods * periodSeconds) };
    }
    case 'subscriber_degree':
      return { op: 'degree', filter: windowed(), dirMask: directionMask(s.direction) };
    case 'pareto_interactions':
      return { op: 'pareto', filter: windowed(), dirMask: directionMask('both'), proportion: s.proportion };
    case 'displacement': {
      const ref = locationStep(ctx, s.reference_location, `${path}.reference_location`);
      if (ref.unit !== 'lon-lat') {
        throw new SpecError(
          'BAD_VALUE',
          `${path}.reference_location.aggregation_unit: expected lon-lat (distances are measured from a point, as in FlowKit), found ${JSON.stringify(ref.unit)}`,
          `${path}.reference_location.aggregation_unit`,
        );
      }
      return { op: 'displacement', filter: windowed(), statistic: s.statistic, reference: ref.step };
    }
    case 'topup_amount': {
      // Top-ups are their own event type; the spec takes no event_types here.
      const filter = datedWindow(ctx, { ...s, event_types: ['topups'] }, path);
      return { op: 'topup', filter, statistic: s.statistic };
    }
    case 'handset':
      throw new SpecError('NOT_IMPLEMENTED', `${path}.query_kind: handset needs device (TAC) data, which the data contract (docs/DATA.md) does not carry`, `${path}.query_kind`);
    default:
      throw notYet(s.query_kind, `${path}.query_kind`);
  }
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

function* pairs(a: UnitSpace, b: UnitSpace, counts: ArrayLike<number>, dense = false): Sliced<Shaped> {
  const rows: Row[] = [];
  const support: number[] = [];
  // Rows are built by assigning the columns in order rather than by spreading two label objects: the same rows, ~20x
  // faster in V8. A dense admin3 OD is 7,921 cells, shaped for each of a DP query's 16 releases: with the object
  // spreads this was the largest cost of DP flows in a CPU profile once the sampler was fast.
  const fromKeys = a.columns.map((c) => `${c}_from`);
  const toKeys = b.columns.map((c) => `${c}_to`);
  const label = (space: UnitSpace, index: number): unknown[] => {
    const l = space.label(index);
    return space.columns.map((c) => l[c]);
  };
  const to: Array<unknown[] | undefined> = new Array(b.size);
  for (let i = 0; i < a.size; i++) {
    let from: unknown[] | null = null;
    for (let j = 0; j < b.size; j++) {
      const v = counts[i * b.size + j] ?? 0;
      if (v <= 0 && !dense) continue;
      from ??= label(a, i);
      const toValues = (to[j] ??= label(b, j));
      const row: Row = {};
      for (let c = 0; c < fromKeys.length; c++) row[fromKeys[c]!] = from[c] as Row[string];
      for (let c = 0; c < toKeys.length; c++) row[toKeys[c]!] = toValues[c] as Row[string];
      row.value = v;
      rows.push(row);
      support.push(v);
    }
    yield; // a row of the matrix: at most b.size (< 2^16) cells
  }
  return {
    columns: [...a.columns.map((c) => `${c}_from`), ...b.columns.map((c) => `${c}_to`), 'value'],
    rows,
    support,
    rule: 'value',
  };
}
