/**
 * What a plan is, and the helpers every family's planner shares: a spec's
 * window as the kernels' event filter, the refusals, and the rows a plan
 * shapes from merged counts (rows.ts). A family's planner (aggregates.ts,
 * od.ts, network.ts, meaningful.ts, labelled.ts) turns one kind's spec into a
 * Plan; planner.ts holds the registry of them, typed over every aggregate kind.
 */
import { SECONDS_PER_DAY, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../../../kernels/shared/constants.js';
import { SpecError } from '../../errors.js';
import { parseDateTime, TimezoneOffsets } from '../../util/datetime.js';
import type { RegionLevel } from '../../geo/regions.js';
import type { RedactionRule, Row } from '../../privacy/redact.js';
import type { Sliced } from '../../util/slices.js';
import type { StatisticName } from '../metric-kernels.js';
import type { AggStep, LocStep, MetricStep, WindowFilter } from '../protocol.js';
import { MAX_SAMPLED_SUBS, type SampleRule, sampleRule } from '../sample.js';
import type { AggregateKind, EventFilter, SpecOf } from '../spec.js';
import type { Sampling } from '../spec/common.js';
import type { Units } from '../units.js';
import { ALL_HOURS, hourMaskOf } from '../wasm.js';

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

/** Plans one aggregate kind's spec. */
export type Planner<K extends AggregateKind> = (spec: SpecOf<K>, ctx: PlanContext) => Plan;

/** One planner per kind of K: a family's registry, or (over every AggregateKind) planner.ts's. */
export type Planners<K extends AggregateKind = AggregateKind> = { readonly [P in K]: Planner<P> };

/** Plans `spec` with `planner`, collecting the passes its nested steps need first (subscriber samples) into Plan.prepare. */
export function withPreparations<K extends AggregateKind>(planner: Planner<K>, spec: SpecOf<K>, ctx: PlanContext): Plan {
  const pending: Preparation[] = [];
  const p = planner(spec, { ...ctx, pending });
  return pending.length ? { ...p, prepare: pending } : p;
}

const utc = new TimezoneOffsets('UTC');

/** Dense OD matrices up to this many cells (64 MiB of u32 per partition). */
export const MAX_PAIR_CELLS = 1 << 24;

/** A normalised spec date ('YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS', local) -> local seconds. */
export function localSeconds(date: string, path: string): number {
  const t = parseDateTime(date, utc); // already local: no offset to convert
  if (Number.isNaN(t)) throw new SpecError('BAD_VALUE', `${path}: expected a local date-time, found ${JSON.stringify(date)}`, path);
  return t;
}

export function windowFilter(ctx: PlanContext, f: Pick<EventFilter, 'event_types'> & Partial<Pick<EventFilter, 'hours'>>, tStart: number, tEnd: number): WindowFilter {
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
export function datedWindow(
  ctx: PlanContext,
  spec: { start_date: string; end_date: string; event_types: EventFilter['event_types']; hours?: EventFilter['hours'] },
  at: string,
): WindowFilter {
  const p = at ? `${at}.` : '';
  return windowFilter(ctx, spec, localSeconds(spec.start_date, `${p}start_date`), localSeconds(spec.end_date, `${p}end_date`));
}

/**
 * The rule of a sampling spec over a per-subscriber step's subscribers; a rule that
 * needs their number (or their keys) registers a pass over every partition first.
 */
export function sampled(ctx: PlanContext, sampling: Sampling, of: { loc: LocStep } | { metric: MetricStep }, path: string): SampleRule {
  if (!ctx.pending) throw new SpecError('NOT_IMPLEMENTED', `${path}: sampling is not supported here`, path);
  if (ctx.nSubs !== undefined && ctx.nSubs > MAX_SAMPLED_SUBS) {
    throw new SpecError('NOT_IMPLEMENTED', `${path}: sampling supports stores of up to ${MAX_SAMPLED_SUBS} subscribers, found ${ctx.nSubs}`, path);
  }
  const { rule, settle } = sampleRule(sampling);
  if (settle) ctx.pending.push({ step: { op: 'sample-keys', of, rule }, settle: (m) => settle(concat(Float64Array, m.values)) });
  return rule;
}

/** Where sampling is refused: sets of locations per subscriber (FlowKit samples their rows, not subscribers). */
export function noSampling(sampling: Sampling | null, path: string, kind: string): void {
  if (sampling) {
    throw new SpecError('NOT_IMPLEMENTED', `${path}.sampling: sampling is supported on reference locations and metrics, not yet on ${kind}`, `${path}.sampling`);
  }
}

export function notYet(kind: string, path: string): SpecError {
  return new SpecError('NOT_IMPLEMENTED', `${path || 'query_kind'}: ${kind} is valid but this engine cannot compute it yet`, path);
}

export function concat<T extends Int32Array | Float64Array>(Ctor: new (n: number) => T, parts: T[]): T {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}
