/**
 * Questions asked of a parsed spec's tree: which unit its result is in, which
 * units it touches (for the tier check of spatial resolution), and the finest
 * time resolution it reveals (for the tier check of temporal resolution).
 */
import { addDays, instantKey, spanDays } from './dates.js';
import { type Kind, POSITIONS } from './kinds.js';
import type { AnySpec } from './union.js';

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

function field(spec: AnySpec, key: string): unknown {
  return (spec as unknown as Loose)[key];
}

/**
 * The unit of the spec's result (its rows' locations), or undefined for
 * results without one (metrics, histograms). Tolerates drafts whose parts
 * failed to parse.
 */
export function outputUnit(spec: AnySpec): string | undefined {
  const own = field(spec, 'aggregation_unit');
  if (typeof own === 'string') return own;
  const source = UNIT_SOURCE[spec.query_kind];
  if (!source) return undefined;
  const child = field(spec, source);
  const first = Array.isArray(child) ? child[0] : child;
  return first ? outputUnit(first as AnySpec) : undefined;
}

/** The specs nested directly in `spec`. */
export function childrenOf(spec: AnySpec): AnySpec[] {
  const out: AnySpec[] = [];
  for (const key of Object.keys(POSITIONS[spec.query_kind] ?? {})) {
    const v = field(spec, key);
    if (Array.isArray(v)) out.push(...(v as AnySpec[]));
    else if (v) out.push(v as AnySpec);
  }
  return out;
}

/** Every aggregation unit the spec uses anywhere, sorted. */
export function unitsOf(spec: AnySpec): string[] {
  const units = new Set<string>();
  const visit = (s: AnySpec) => {
    const u = field(s, 'aggregation_unit');
    if (typeof u === 'string') units.add(u);
    childrenOf(s).forEach(visit);
  };
  visit(spec);
  return [...units].sort();
}

/** Time resolutions, finest first. */
export const TEMPORAL_RESOLUTIONS = ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'] as const;
export type Temporal = (typeof TEMPORAL_RESOLUTIONS)[number];

const rank = (t: Temporal) => TEMPORAL_RESOLUTIONS.indexOf(t);
const finer = (a: Temporal, b: Temporal): Temporal => (rank(a) <= rank(b) ? a : b);

/** How finely an instant is placed: 'day' for midnight. */
function alignment(v: string): Temporal {
  if (v.length === 10) return 'day';
  if (!v.endsWith(':00')) return 'second';
  return v.slice(14, 16) === '00' ? 'hour' : 'minute';
}

function byLength(days: number): Temporal {
  return days >= 365 ? 'year' : days >= 28 ? 'month' : days >= 7 ? 'week' : 'day';
}

/** A window [start, end) reveals its length's resolution, or its bounds' if they are finer than a day. */
function windowResolution(start: string, end: string): Temporal {
  const bound = finer(alignment(start), alignment(end));
  if (bound !== 'day') return bound;
  return byLength(spanDays(start, end));
}

const WINDOW_FIELDS = [
  ['start_date', 'end_date'],
  ['start_date_a', 'end_date_a'],
  ['start_date_b', 'end_date_b'],
] as const;

/** The windows a spec states itself ([date, date + 1 day) for daily_location). */
function ownWindows(spec: AnySpec): [string, string][] {
  const out: [string, string][] = [];
  for (const [s, e] of WINDOW_FIELDS) {
    const start = field(spec, s);
    const end = field(spec, e);
    if (typeof start === 'string' && typeof end === 'string') out.push([start, end]);
  }
  const date = field(spec, 'date');
  if (typeof date === 'string') out.push([date, addDays(date, 1)]);
  return out;
}

/** The hull of every window in the subtree. */
function hull(spec: AnySpec): [string, string] | undefined {
  const inner = childrenOf(spec).map(hull);
  const all = [...ownWindows(spec), ...inner.filter((w): w is [string, string] => w !== undefined)];
  if (all.length === 0) return undefined;
  const start = all.map((w) => w[0]).reduce((a, b) => (instantKey(a) <= instantKey(b) ? a : b));
  const end = all.map((w) => w[1]).reduce((a, b) => (instantKey(a) >= instantKey(b) ? a : b));
  return [start, end];
}

/** Kinds whose result summarises all their inputs' days at once (the mode, or the visit counts, over them). */
const POOLING: ReadonlySet<Kind> = new Set(['modal_location', 'location_visits']);

const BUCKET: Readonly<Record<string, Temporal>> = {
  second: 'second',
  min: 'minute',
  minute: 'minute',
  hour: 'hour',
  day: 'day',
  month: 'month',
  year: 'year',
  century: 'year',
};

/**
 * The finest time resolution the spec's result reveals: its windows (by
 * length, or by bounds that are not midnight), its time buckets (interval,
 * total_by, aggregate_by, total_active_periods' periods), and hour-of-day
 * filters (hours, night_hours), which count as 'hour'. A modal_location or
 * location_visits counts as one window spanning its inputs. Conservative on
 * purpose: the tier check refuses what this calls too fine.
 */
export function finestTemporal(spec: AnySpec): Temporal {
  let best: Temporal = 'year';
  const note = (t: Temporal | undefined) => {
    if (t) best = finer(best, t);
  };
  const visit = (s: AnySpec, countWindows: boolean) => {
    const pooled = POOLING.has(s.query_kind);
    if (countWindows) {
      if (pooled) {
        const h = hull(s);
        if (h) note(windowResolution(...h));
      } else {
        for (const [start, end] of ownWindows(s)) note(windowResolution(start, end));
      }
    }
    if (field(s, 'hours') || field(s, 'night_hours')) note('hour');
    for (const key of ['interval', 'total_by', 'aggregate_by']) {
      const v = field(s, key);
      if (typeof v === 'string') note(BUCKET[v]);
    }
    if (s.query_kind === 'total_active_periods') {
      note(alignment(s.start_date));
      const unit = s.period_unit;
      note(unit === 'minutes' ? 'minute' : unit === 'hours' ? 'hour' : byLength(s.period_length));
    }
    for (const c of childrenOf(s)) visit(c, countWindows && !pooled);
  };
  visit(spec, true);
  return best;
}
