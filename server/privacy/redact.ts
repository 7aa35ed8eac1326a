/**
 * Statistical disclosure control: the one place every aggregate passes through
 * before it leaves the engine. The rule for each query kind is docs/QUERIES.md's
 * table; the decision is always taken on unscaled subscriber counts (the
 * `support` of a row), never on a scaled or noised value.
 */
import { SpecError } from '../errors.js';

/** FlowKit's threshold: a value is published only if it is greater than this. */
export const DEFAULT_K = 15;

/**
 * How a kind is redacted.
 * - value: keep a row only if its support > k (the support is the row's subscriber count).
 * - series: keep a group's rows only if every row of the group has support > k.
 * - all: withhold the whole result unless every row has support > k (histograms;
 *   docs/QUERIES.md: 15 withheld, 16 kept, for every kind as issue #3 asks).
 * - none: infrastructure or geometry, no people behind it.
 */
export type RedactionRule = 'value' | 'series' | 'all' | 'none';

export interface Row {
  [column: string]: string | number | null;
}

/** An aggregate before redaction: rows plus, per row, the unscaled subscriber count behind it. */
export interface UnredactedAggregate {
  rule: RedactionRule;
  rows: Row[];
  /** Distinct subscribers behind each row (same length as rows). */
  support: ArrayLike<number>;
  /** For rule `series`: the group key of each row (e.g. the location). */
  group?: ArrayLike<string | number>;
}

export interface RedactedAggregate {
  rows: Row[];
  /** Rows withheld by redaction. */
  withheld: number;
}

/** The deployment's threshold: configurable upward only (issue #3), never switched off. */
export function thresholdFrom(configured: number | undefined): number {
  if (configured === undefined) return DEFAULT_K;
  if (!Number.isInteger(configured) || configured < DEFAULT_K) {
    throw new SpecError('BAD_THRESHOLD', `privacy threshold: expected an integer >= ${DEFAULT_K}, found ${configured}`, 'k');
  }
  return configured;
}

export function redact(agg: UnredactedAggregate, k: number): RedactedAggregate {
  const { rows, support } = agg;
  if (support.length !== rows.length) throw new Error(`redact: ${rows.length} rows but ${support.length} supports`);
  switch (agg.rule) {
    case 'none':
      return { rows, withheld: 0 };
    case 'value':
      return keep(rows, (i) => support[i]! > k);
    case 'all': {
      for (let i = 0; i < rows.length; i++) if (!(support[i]! > k)) return { rows: [], withheld: rows.length };
      return { rows, withheld: 0 };
    }
    case 'series': {
      const group = agg.group;
      if (!group) throw new Error('redact: series rule needs a group per row');
      const failing = new Set<string | number>();
      for (let i = 0; i < rows.length; i++) if (!(support[i]! > k)) failing.add(group[i]!);
      return keep(rows, (i) => !failing.has(group[i]!));
    }
  }
}

function keep(rows: Row[], ok: (i: number) => boolean): RedactedAggregate {
  const out: Row[] = [];
  for (let i = 0; i < rows.length; i++) if (ok(i)) out.push(rows[i]!);
  return { rows: out, withheld: rows.length - out.length };
}

/**
 * A progressive estimate (a partial result over a share `fraction` of the
 * subscribers), redacted so that it is never more exact than the final and
 * never publishes what the final withholds (issue #13, item 4):
 *
 * - rows are kept by the same rule on the partial's own support. Supports only
 *   grow as partitions are added (partitions are disjoint sets of subscribers),
 *   so a row kept here is kept in the final, except where a group's rows are
 *   open (`openGroups`: the labelled aggregates, where a label absent so far may
 *   appear later with k or fewer and withhold its whole location in the final):
 *   those partials are withheld entirely.
 * - a count is coarsened before it is scaled: to a multiple of 10, or of its
 *   second significant figure's unit when that is coarser (1,234 -> 1,200), and
 *   the scaled estimate is published to 2 significant figures. So value x
 *   fraction gives the partial's count only to within that step (not exactly, as
 *   round(value x fraction) did), and successive partials no longer differ by
 *   the handful of subscribers one partition added. Rounding cannot stop
 *   differencing in general (only noise does: DP mode); it keeps a partial as
 *   coarse as an estimate over a sample is anyway.
 * - unscaled values (averages, and the counts of kinds that do not grow in
 *   proportion to subscribers, `scaled: false`) are published to 2 significant
 *   figures; infrastructure (rule `none`) as it is.
 */
export function redactEstimate(agg: UnredactedAggregate & { scaled?: boolean; openGroups?: boolean }, k: number, fraction: number): RedactedAggregate {
  if (agg.rule === 'series' && agg.openGroups) return { rows: [], withheld: agg.rows.length };
  const { rows, withheld } = redact(agg, k);
  if (agg.rule === 'none') return { rows: agg.scaled === false ? rows : rows.map((r) => ({ ...r, value: scaleValue(r.value, fraction) })), withheld };
  const scaled = agg.scaled !== false;
  return { rows: rows.map((r) => ({ ...r, value: typeof r.value === 'number' ? significant2(scaled ? coarsenCount(r.value) / fraction : r.value) : r.value })), withheld };
}

function scaleValue(v: Row[string], fraction: number): Row[string] {
  return typeof v === 'number' ? Math.round(v / fraction) : v;
}

/** A partial's count, coarsened: to a multiple of 10, or of its second significant figure's unit when coarser. */
export function coarsenCount(n: number): number {
  if (!(n > 0)) return 0;
  const step = Math.max(10, 10 ** (Math.floor(Math.log10(n)) - 1));
  return Math.round(n / step) * step;
}

/** x to 2 significant figures (0 stays 0). */
export function significant2(x: number): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(2));
}

/**
 * Events dropped, by reason, as published: each count only if it is greater than k, else null, like any count
 * (issue #13, item 6: a handful of events outside every region is a handful of people's whereabouts). An
 * estimate's (a partial frame's) counts are coarsened as its values are.
 */
export function redactDropped<T extends { [K in keyof T]: number }>(dropped: T, k: number, estimate = false): { [K in keyof T]: number | null } {
  const out = {} as { [K in keyof T]: number | null };
  for (const key of Object.keys(dropped) as (keyof T)[]) {
    const n = dropped[key]!;
    out[key] = n > k ? (estimate ? coarsenCount(n) : n) : null;
  }
  return out;
}
