/**
 * Questions asked of a parsed spec's tree: which unit its result is in, which
 * units it touches (for the tier check of spatial resolution), and the finest
 * time resolution it reveals (for the tier check of temporal resolution).
 */
import { addDays, instantKey, spanDays } from './dates.js';
import { type Kind, POSITIONS } from './kinds.js';
import type { AnySpec } from './union.js';

type Loose = Readonly<Record<string, unknown>>;

function field(spec: AnySpec, key: string): unknown {
  return (spec as unknown as Loose)[key];
}

/** The specs nested directly in `spec`. */
export function childrenOf(spec: AnySpec): AnySpec[] {
  return childrenAt(spec, '').map((c) => c.spec);
}

/** A spec nested in another, with its dotted path from the top (`locations.2`, as SpecErrors name fields). */
export interface Nested {
  spec: AnySpec;
  path: string;
}

const join = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);

/** The specs nested directly in `spec` (itself at `path`), with their paths. */
export function childrenAt(spec: AnySpec, path: string): Nested[] {
  const out: Nested[] = [];
  for (const key of Object.keys(POSITIONS[spec.query_kind] ?? {})) {
    const v = field(spec, key);
    if (Array.isArray(v)) (v as AnySpec[]).forEach((c, i) => out.push({ spec: c, path: join(join(path, key), i) }));
    else if (v) out.push({ spec: v as AnySpec, path: join(path, key) });
  }
  return out;
}

/** Every spec of the tree, the top one first (path ''), depth first. */
export function everySpec(spec: AnySpec): Nested[] {
  const out: Nested[] = [];
  const visit = (n: Nested) => {
    out.push(n);
    childrenAt(n.spec, n.path).forEach(visit);
  };
  visit({ spec, path: '' });
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

/** A window a spec states itself, named by its field(s) (`start_date..end_date`, `date`). */
interface OwnWindow {
  fields: string;
  start: string;
  end: string;
}

/** The windows a spec states itself ([date, date + 1 day) for daily_location). */
function ownWindows(spec: AnySpec): OwnWindow[] {
  const out: OwnWindow[] = [];
  for (const [s, e] of WINDOW_FIELDS) {
    const start = field(spec, s);
    const end = field(spec, e);
    if (typeof start === 'string' && typeof end === 'string') out.push({ fields: `${s}..${e}`, start, end });
  }
  const date = field(spec, 'date');
  if (typeof date === 'string') out.push({ fields: 'date', start: date, end: addDays(date, 1) });
  return out;
}

/** A window a spec states itself, with the path of its field(s) and the resolution it reveals. */
export interface LeafWindow {
  path: string;
  start: string;
  end: string;
  resolution: Temporal;
}

/**
 * Every window stated anywhere in the tree, each judged on its own: a window
 * nested in a modal_location or location_visits is not hidden by its siblings
 * (thirty daily locations pooled over a month still read each day's events, and
 * one of them repeated weighs that day: issue #13, item 2).
 */
export function leafWindows(spec: AnySpec): LeafWindow[] {
  const out: LeafWindow[] = [];
  for (const { spec: s, path } of everySpec(spec)) {
    for (const w of ownWindows(s)) out.push({ path: join(path, w.fields), start: w.start, end: w.end, resolution: windowResolution(w.start, w.end) });
  }
  return out;
}

/**
 * Kinds that combine several inputs per subscriber (a mode, visit counts, an
 * origin and a destination): an input repeated, or two inputs whose windows
 * overlap, weigh the shared days twice, so the combination can be steered by one
 * day's data while each input's window looks coarse. coalesced_location is not
 * among them: its preferred and fallback locations cover one period by design.
 */
const COMBINING: ReadonlySet<Kind> = new Set([
  'modal_location',
  'location_visits',
  'mobility_classification',
  'flows',
  'inflows',
  'outflows',
  'labelled_flows',
]);

/** Two inputs of one combining spec whose windows overlap. */
export interface Overlap {
  /** The combining spec's path ('' for the top). */
  owner: string;
  kind: Kind;
  first: { path: string; window: [string, string] };
  second: { path: string; window: [string, string] };
}

/** The first pair of overlapping inputs of a combining kind anywhere in the tree, or undefined. */
export function overlappingInputs(spec: AnySpec): Overlap | undefined {
  for (const { spec: s, path } of everySpec(spec)) {
    if (!COMBINING.has(s.query_kind)) continue;
    // labelled_flows' labels span its periods by design; only its ends are inputs to compare.
    const inputs = childrenAt(s, path).filter((c) => !(s.query_kind === 'labelled_flows' && c.path.endsWith('labels')));
    const windows = inputs.map((c) => ({ path: c.path, window: hull(c.spec) }));
    for (let i = 0; i < windows.length; i++) {
      for (let j = i + 1; j < windows.length; j++) {
        const a = windows[i]!.window;
        const b = windows[j]!.window;
        if (!a || !b) continue;
        // Windows are [start, end): they overlap when each starts before the other ends.
        if (instantKey(a[0]) < instantKey(b[1]) && instantKey(b[0]) < instantKey(a[1])) {
          return { owner: path, kind: s.query_kind, first: { path: windows[i]!.path, window: a }, second: { path: windows[j]!.path, window: b } };
        }
      }
    }
  }
  return undefined;
}

/** The hull of every window in the subtree. */
function hull(spec: AnySpec): [string, string] | undefined {
  const inner = childrenOf(spec).map(hull);
  const all = [...ownWindows(spec).map((w): [string, string] => [w.start, w.end]), ...inner.filter((w): w is [string, string] => w !== undefined)];
  if (all.length === 0) return undefined;
  const start = all.map((w) => w[0]).reduce((a, b) => (instantKey(a) <= instantKey(b) ? a : b));
  const end = all.map((w) => w[1]).reduce((a, b) => (instantKey(a) >= instantKey(b) ? a : b));
  return [start, end];
}

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
 * filters (hours, night_hours), which count as 'hour'. Every window counts on
 * its own, however deep: a modal_location of daily locations reveals days (its
 * inputs' windows), not the span of its inputs (issue #13, item 2). Conservative
 * on purpose: the tier check refuses what this calls too fine.
 */
export function finestTemporal(spec: AnySpec): Temporal {
  let best: Temporal = 'year';
  const note = (t: Temporal | undefined) => {
    if (t) best = finer(best, t);
  };
  for (const { spec: s } of everySpec(spec)) {
    for (const w of ownWindows(s)) note(windowResolution(w.start, w.end));
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
  }
  return best;
}
