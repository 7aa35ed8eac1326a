/**
 * Hostile query specs: random and mutated JSON never crashes or hangs the
 * parser, and never gets past it unvalidated: every input either parses to a
 * spec or is refused with a SpecError.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../server/engine/spec.js';
import { SpecError } from '../../server/errors.js';
import { rng } from '../util/rng.js';

const ctx = { units: ['admin1', 'admin2', 'admin3', 'cell', 'lon-lat'], days: { first: '2016-01-01', last: '2016-01-14' } };
const VALID = [
  { query_kind: 'spatial_aggregate', locations: { query_kind: 'daily_location', date: '2016-01-03', method: 'last', aggregation_unit: 'admin2' } },
  {
    query_kind: 'flows',
    from_location: { query_kind: 'most_frequent_location', start_date: '2016-01-01', end_date: '2016-01-08', aggregation_unit: 'admin3', hours: { start_hour: 20, end_hour: 4 } },
    to_location: { query_kind: 'modal_location', locations: [{ query_kind: 'daily_location', date: '2016-01-09', method: 'most-common', aggregation_unit: 'admin3' }] },
  },
  { query_kind: 'joined_spatial_aggregate', locations: { query_kind: 'daily_location', date: '2016-01-03', method: 'last', aggregation_unit: 'admin1' }, metric: { query_kind: 'radius_of_gyration', start_date: '2016-01-01', end_date: '2016-01-05' }, method: 'median' },
  { query_kind: 'location_event_counts', start_date: '2016-01-01', end_date: '2016-01-03', aggregation_unit: 'cell', interval: 'hour', direction: 'both', event_types: ['calls', 'sms'] },
];

const WEIRD: unknown[] = [
  null, undefined, true, 0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, NaN, '', 'x'.repeat(10_000), '__proto__', 'constructor',
  [], [null], {}, { __proto__: { query_kind: 'geography' } }, { query_kind: { toString: 'x' } }, '2016-02-30', '9999-99-99', '2016-01-01T25:00:00',
  { start_hour: 25, end_hour: -1 }, ['calls', 'calls', 'fax'], 'admin0', 'ADMIN1',
];

/** Replaces, deletes or adds one value somewhere in the tree. */
function mutate(value: unknown, r: () => number, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 8) return r() < 0.5 ? WEIRD[Math.floor(r() * WEIRD.length)] : value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as object) };
  const keys = Object.keys(copy);
  const roll = r();
  if (roll < 0.15 || keys.length === 0) {
    (copy as Record<string, unknown>)[['query_kind', 'date', 'extra', 'locations', 'method', '__proto__'][Math.floor(r() * 6)]!] = WEIRD[Math.floor(r() * WEIRD.length)];
  } else if (roll < 0.3) {
    delete (copy as Record<string, unknown>)[keys[Math.floor(r() * keys.length)]!];
  } else {
    const k = keys[Math.floor(r() * keys.length)]!;
    (copy as Record<string, unknown>)[k] = mutate((copy as Record<string, unknown>)[k], r, depth + 1);
  }
  return copy;
}

/** Deep nesting: a spec that nests far beyond any real one. */
function deep(n: number): unknown {
  let v: unknown = { query_kind: 'daily_location', date: '2016-01-03', method: 'last', aggregation_unit: 'admin1' };
  for (let i = 0; i < n; i++) v = { query_kind: 'modal_location', locations: [v] };
  return { query_kind: 'spatial_aggregate', locations: v };
}

describe('query spec fuzz', () => {
  it('parses or refuses with a SpecError, for 4,000 mutated specs', () => {
    const r = rng(2026);
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const input = mutate(VALID[i % VALID.length], r);
      try {
        parseSpec(input, ctx);
      } catch (e) {
        expect(e, JSON.stringify(input)?.slice(0, 300)).toBeInstanceOf(SpecError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });

  it('refuses absurd nesting and huge inputs quickly', () => {
    for (const n of [50, 2000]) {
      const t0 = performance.now();
      expect(() => parseSpec(deep(n), ctx)).toThrow(SpecError);
      expect(performance.now() - t0).toBeLessThan(5000);
    }
    expect(() => parseSpec({ query_kind: 'spatial_aggregate', locations: { query_kind: 'modal_location', locations: Array.from({ length: 100_000 }, () => 1) } }, ctx)).toThrow(SpecError);
  });
});
