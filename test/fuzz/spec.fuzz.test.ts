/**
 * Hostile query specs: random and mutated JSON never crashes or hangs the
 * parser, and never gets past it unvalidated: every input either parses to a
 * spec or is refused with a SpecError.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec, SpecErrors } from '../../server/engine/spec.js';
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
  it('parses to a spec in normal form or refuses with a SpecError, for 4,000 mutated specs', () => {
    const r = rng(2026);
    let refused = 0;
    let parsed = 0;
    for (let i = 0; i < 4000; i++) {
      const input = mutate(VALID[i % VALID.length], r);
      let spec: ReturnType<typeof parseSpec>;
      try {
        spec = parseSpec(input, ctx);
      } catch (e) {
        expect(e, JSON.stringify(input)?.slice(0, 300)).toBeInstanceOf(SpecError);
        refused++;
        continue;
      }
      parsed++;
      // As it comes over the wire (JSON: no undefined, no holes in lists), what gets through is a spec in normal
      // form (docs/QUERIES.md): sent back as JSON it parses to itself, so it names the same query id, and nothing
      // unvalidated rode along.
      const wire = JSON.stringify(input);
      if (JSON.stringify(spec) === undefined || wire === undefined) continue;
      let fromWire: ReturnType<typeof parseSpec>;
      try {
        fromWire = parseSpec(JSON.parse(wire), ctx);
      } catch {
        continue; // a value JSON cannot carry (a hole, undefined) became null, which is refused
      }
      expect(parseSpec(JSON.parse(JSON.stringify(fromWire)), ctx), wire.slice(0, 300)).toEqual(fromWire);
    }
    expect(refused).toBeGreaterThan(1000);
    expect(parsed).toBeGreaterThan(100);
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

/** The issues of a refused spec (fails the test if it parses). */
function issuesOf(spec: unknown): { code: string; path: string; message: string }[] {
  try {
    parseSpec(spec, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecErrors);
    return (e as SpecErrors).issues;
  }
  throw new Error(`expected ${JSON.stringify(spec).slice(0, 200)} to be refused`);
}

const daily = (date = '2016-01-03') => ({ query_kind: 'daily_location', date, method: 'last', aggregation_unit: 'admin1' });
const histogram = (bins: unknown) => ({
  query_kind: 'histogram_aggregate',
  metric: { query_kind: 'event_count', start_date: '2016-01-01', end_date: '2016-01-03' },
  bins,
});
const activePeriods = (extra: Record<string, unknown>) => ({
  query_kind: 'joined_spatial_aggregate',
  locations: daily(),
  metric: { query_kind: 'total_active_periods', start_date: '2016-01-01', total_periods: 3, ...extra },
  method: 'avg',
});
const square = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]];
const meaningful = (labels: unknown, extra: Record<string, unknown> = {}) => ({
  query_kind: 'meaningful_locations_aggregate',
  aggregation_unit: 'admin1',
  start_date: '2016-01-01',
  end_date: '2016-01-02',
  label: 'day',
  labels,
  tower_hour_of_day_scores: Array.from({ length: 24 }, () => 0),
  tower_day_of_week_scores: { monday: 1 },
  ...extra,
});

// Issue #14: histogram_aggregate took any n_bins (2,000,000 blocked the server for 27 s; 4,294,967,295 failed with
// a RangeError: a 500). Every size a spec can ask for has a bound, refused as a SpecError naming the field.
describe('every size in a spec is bounded', () => {
  it('n_bins: at most 10,000 in every spelling; 10,000 itself parses', () => {
    for (const n of [2_000_000, 4_294_967_295, 1e300]) {
      for (const [bins, path] of [[n, 'bins'], [{ n_bins: n }, 'bins.n_bins'], [String(n), 'bins']] as const) {
        const hit = issuesOf(histogram(bins)).find((i) => i.path === path);
        expect(hit?.message, JSON.stringify(bins)).toMatch(/expected an integer >= 1 and <= 10000, found/);
      }
    }
    expect(parseSpec(histogram({ n_bins: 10_000 }), ctx)).toMatchObject({ bins: { n_bins: 10_000 } });
  });

  it('bin_list: at most 10,001 edges', () => {
    const edges = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect(parseSpec(histogram({ bin_list: edges(10_001) }), ctx)).toMatchObject({ bins: { bin_list: edges(10_001) } });
    const hit = issuesOf(histogram({ bin_list: edges(10_002) })).find((i) => i.path === 'bins.bin_list');
    expect(hit?.message).toMatch(/expected a list of at least 2 and at most 10001 bin edges, found a list of 10002/);
    expect(issuesOf(histogram(edges(200_000)))[0]).toMatchObject({ path: 'bins', message: expect.stringMatching(/at most 10001 .*found a list of 200000/) });
  });

  it('lists of nested specs: at most 1,000', () => {
    const modal = (n: number) => ({ query_kind: 'spatial_aggregate', locations: { query_kind: 'modal_location', locations: Array.from({ length: n }, () => daily()) } });
    expect(() => parseSpec(modal(1000), ctx)).not.toThrow();
    expect(issuesOf(modal(1001))).toEqual([
      expect.objectContaining({ path: 'locations.locations', message: expect.stringMatching(/at most 1000 query specs.*found a list of 1001/) }),
    ]);
  });

  it('total_active_periods: periods and their length bounded, and so is the window they span', () => {
    expect(() => parseSpec(activePeriods({ total_periods: 100_000, period_unit: 'minutes' }), ctx)).not.toThrow();
    expect(issuesOf(activePeriods({ total_periods: 4_294_967_295 }))[0]).toMatchObject({ path: 'metric.total_periods', message: expect.stringMatching(/<= 100000/) });
    expect(issuesOf(activePeriods({ period_length: 4_294_967_295 }))[0]).toMatchObject({ path: 'metric.period_length', message: expect.stringMatching(/<= 100000/) });
    // 3 periods of 100,000 days: each number in bounds, the window (300,000 days) is not.
    expect(issuesOf(activePeriods({ period_length: 100_000 }))[0]).toMatchObject({
      path: 'metric',
      message: expect.stringMatching(/at most 3660 days, found 3 periods of 100000 days = 300000 days/),
    });
  });

  it('thresholds that reach the kernels as 32-bit integers', () => {
    const mc = (stay: unknown) => ({
      query_kind: 'labelled_spatial_aggregate',
      locations: { query_kind: 'coalesced_location' },
      labels: { query_kind: 'mobility_classification', locations: [], stay_length_threshold: stay },
    });
    expect(issuesOf(mc(2 ** 31)).find((i) => i.path === 'labels.stay_length_threshold')?.message).toMatch(/<= 2147483647/);
    expect(issuesOf(meaningful({ day: { type: 'Polygon', coordinates: [square] } }, { tower_cluster_call_threshold: 1e20 })).find((i) => i.path === 'tower_cluster_call_threshold')?.message).toMatch(/<= 2147483647/);
  });

  it('label shapes: labels, polygons, rings and positions bounded', () => {
    expect(() => parseSpec(meaningful({ day: { type: 'Polygon', coordinates: [square] } }), ctx)).not.toThrow();
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`l${i}`, { type: 'Polygon', coordinates: [square] }]));
    expect(issuesOf(meaningful(many)).find((i) => i.path === 'labels')?.message).toMatch(/at most 100 labels, found 101/);
    const ring = Array.from({ length: 100_001 }, (_, i) => [i, i]);
    expect(issuesOf(meaningful({ day: { type: 'Polygon', coordinates: [ring] } })).find((i) => i.path === 'labels.day.coordinates.0')?.message).toMatch(
      /at most 100000 positions, found a list of 100001/,
    );
  });

  it('event_types: at most 64 entries (duplicates of the four types are taken, but not without end)', () => {
    const usc = (types: unknown) => ({ query_kind: 'unique_subscriber_counts', start_date: '2016-01-01', end_date: '2016-01-03', aggregation_unit: 'admin1', event_types: types });
    expect(parseSpec(usc(Array.from({ length: 64 }, () => 'calls')), ctx)).toMatchObject({ event_types: ['calls'] });
    expect(issuesOf(usc(Array.from({ length: 100_000 }, () => 'calls')))).toEqual([
      expect.objectContaining({ path: 'event_types', message: expect.stringMatching(/at most 64 event types.*found a list of 100000/) }),
    ]);
  });

  it('a spec with thousands of problems reports the first 50 and how many more (the 400 body stays small)', () => {
    const spec: Record<string, unknown> = { query_kind: 'spatial_aggregate', locations: daily() };
    for (let i = 0; i < 5000; i++) spec[`x${i}`] = i;
    const all = issuesOf(spec);
    expect(all).toHaveLength(51);
    expect(all.slice(0, 50).every((i) => i.code === 'UNKNOWN_FIELD')).toBe(true);
    expect(all[50]).toMatchObject({ code: 'TOO_MANY_PROBLEMS', message: 'spec: expected at most 50 problems reported, found 4950 more (fix these first)' });
    let message = '';
    try {
      parseSpec(spec, ctx);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.length).toBeLessThan(20_000);
  });

  it('JSON nested deeper than 64 levels is refused before anything walks it (30,000 nested lists were a stack overflow)', () => {
    let v: unknown = [];
    for (let i = 0; i < 30_000; i++) v = [v];
    for (const spec of [v, { query_kind: 'spatial_aggregate', locations: v }, { query_kind: 'spatial_aggregate', locations: daily(), extra: v }]) {
      const all = issuesOf(spec);
      expect(all).toHaveLength(1);
      expect(all[0]!.message).toMatch(/expected JSON nested at most 64 levels deep, found deeper nesting/);
    }
    let ok: unknown = 1;
    for (let i = 0; i < 60; i++) ok = [ok];
    expect(issuesOf({ query_kind: 'spatial_aggregate', locations: ok })[0]!.message).not.toMatch(/nested/);
  });
});
