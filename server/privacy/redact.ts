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
