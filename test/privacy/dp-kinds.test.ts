/**
 * Contribution bounds of the kinds released under DP, checked by brute force:
 * on a small store, for every subscriber, a neighbouring store without that
 * subscriber's events changes the exact vectors a release noises by at most the
 * bound the release assumes (L2, so each value too). Then the releases of the
 * kinds added here (histogram_aggregate with fixed bins, joined_spatial_aggregate
 * by avg of a clipped metric) against an independent computation, and the
 * kinds still refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import { RATIO_STEPS } from '../../server/engine/planner.js';
import { type DpProtection, noiseVector } from '../../server/privacy/dp/mechanism.js';
import { METRIC_RANGES } from '../../server/privacy/dp/bounds.js';
import { DIR_OUT, SECONDS_PER_DAY, TYPE_CALLS, TYPE_SMS } from '../../kernels/shared/constants.js';
import { buildFixture, FIRST_DAY, type Fixture } from '../engine/fixtures.js';

const SECRET = Buffer.alloc(32, 5);
const dp = (rho = 0.5, k = 15): DpProtection => ({ mode: 'dp', secret: SECRET, rho, k, delta: 1e-9 });
const window = { start_date: '2016-01-01', end_date: '2016-01-04' };
const daily = (date: string) => ({ query_kind: 'daily_location', date, method: 'last', aggregation_unit: 'admin1' });
const eventCount = { query_kind: 'event_count', ...window, direction: 'both' };

/** Every kind released under DP, with a spec each. */
const SPECS: Record<string, object> = {
  spatial_aggregate: { query_kind: 'spatial_aggregate', locations: daily('2016-01-02') },
  flows: { query_kind: 'flows', from_location: daily('2016-01-01'), to_location: daily('2016-01-02'), join_type: 'inner' },
  unique_subscriber_counts: { query_kind: 'unique_subscriber_counts', ...window, aggregation_unit: 'admin1' },
  'histogram_aggregate (edges)': { query_kind: 'histogram_aggregate', metric: eventCount, bins: { bin_list: [0, 2, 5, 10, 20, 1000] } },
  'histogram_aggregate (range)': { query_kind: 'histogram_aggregate', metric: eventCount, bins: { n_bins: 4 }, range: { lower_bound: 0, upper_bound: 40 } },
  'joined_spatial_aggregate avg event_count': { query_kind: 'joined_spatial_aggregate', locations: daily('2016-01-02'), metric: eventCount, method: 'avg' },
  'joined_spatial_aggregate avg radius_of_gyration': { query_kind: 'joined_spatial_aggregate', locations: daily('2016-01-03'), metric: { query_kind: 'radius_of_gyration', ...window }, method: 'avg' },
};

describe('contribution bounds, by brute force over neighbouring stores', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-dpkinds-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('no subscriber changes any released vector by more than the bound it is noised for', async () => {
    const fx: Fixture = buildFixture(path.join(root, 'full'), { subs: 10, days: 3, seed: 21, eventsPerSub: 8 });
    // The fixture's times tie on purpose and its ingest order is a shuffle that depends on the number of events, so
    // a store without one subscriber would break other subscribers' ties differently: every time is made distinct
    // (the fixture's are multiples of 1800 s; fewer than 1800 events here), so that a neighbour differs by one subscriber only.
    const base = fx.events.map((e, i) => ({ ...e, t: e.t + i }));
    // Subscriber 0 also makes 600 events on day 2 (between the half hours): its event_count (over 500) is clipped.
    const heavy = Array.from({ length: 600 }, (_, i) => ({ sub: 0, t: (FIRST_DAY + 1) * SECONDS_PER_DAY + 37_000 + i, cell: 0, kind: TYPE_CALLS | (DIR_OUT << 2), peer: 1 }));
    expect(base.length).toBeLessThan(1800);
    const events = [...base, ...heavy];
    const open = (name: string, evs: typeof events) => {
      buildFixture(path.join(root, name), { subs: 10, days: 3, seed: 21, events: evs });
      return Engine.open(path.join(root, name), { partitions: 2 });
    };
    const full = open('with-all', events);
    try {
      const base = new Map<string, Awaited<ReturnType<Engine['dpVectors']>>>();
      for (const [name, spec] of Object.entries(SPECS)) base.set(name, await full.dpVectors(spec));
      let worst = 0; // the largest share of its bound a change used: the clipped subscriber makes it 1
      for (let s = 0; s < 10; s++) {
        const without = open(`without-${s}`, events.filter((e) => e.sub !== s));
        try {
          for (const [name, spec] of Object.entries(SPECS)) {
            const a = base.get(name)!;
            const b = await without.dpVectors(spec);
            expect(b.map((v) => v.name)).toEqual(a.map((v) => v.name));
            for (let i = 0; i < a.length; i++) {
              let l2 = 0;
              for (let c = 0; c < a[i]!.values.length; c++) l2 += (a[i]!.values[c]! - b[i]!.values[c]!) ** 2;
              expect({ name, vector: a[i]!.name, subscriber: s, ok: Math.sqrt(l2) <= a[i]!.bound + 1e-9 }).toEqual({ name, vector: a[i]!.name, subscriber: s, ok: true });
              worst = Math.max(worst, Math.sqrt(l2) / a[i]!.bound);
            }
          }
        } finally {
          await without.close();
        }
      }
      // The bounds are reached, not loose: removing the heavy subscriber moves a sum by the whole clip (500 events = 1000 grid units).
      expect(worst).toBe(1);
      // The bounds stated: 1 per location or pair or bin; unique counts sqrt(regions); avg: the clip in grid units, and 1.
      expect(Object.fromEntries([...base].map(([n, v]) => [n, v.map((x) => x.bound)]))).toEqual({
        spatial_aggregate: [1],
        flows: [1],
        unique_subscriber_counts: [Math.sqrt(3)], // clipped to each subscriber's 3 most-visited of the 4 regions
        'histogram_aggregate (edges)': [1],
        'histogram_aggregate (range)': [1],
        'joined_spatial_aggregate avg event_count': [RATIO_STEPS, 1],
        'joined_spatial_aggregate avg radius_of_gyration': [RATIO_STEPS, 1],
      });
    } finally {
      await full.close();
    }
  }, 60_000);
});

describe('the kinds added under DP', () => {
  let dir: string;
  let engine: Engine;
  let fx: Fixture;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-dpkinds2-'));
    fx = buildFixture(dir, { subs: 600, days: 4, seed: 13 });
    engine = Engine.open(dir, { partitions: 4 });
  });

  it('counts each subscriber in at most its 3 most-visited regions under DP, as a plain reference does', async () => {
    // Reference: calls and sms (the default event types) in [1 January, 4 January), located by the fixture's
    // arithmetic locator; per subscriber, events per region; the 3 regions with most events (ties: lower region).
    const start = FIRST_DAY * SECONDS_PER_DAY;
    const end = (FIRST_DAY + 3) * SECONDS_PER_DAY;
    const perSub = new Map<number, Map<number, number>>();
    for (const e of fx.events) {
      if (e.t < start || e.t >= end || (e.kind & 3) > TYPE_SMS) continue;
      const region = fx.locator(e.cell, Math.floor(e.t / SECONDS_PER_DAY));
      if (region < 0) continue;
      if (!perSub.has(e.sub)) perSub.set(e.sub, new Map());
      const m = perSub.get(e.sub)!;
      m.set(region, (m.get(region) ?? 0) + 1);
    }
    const clipped = [0, 0, 0, 0];
    const unclipped = [0, 0, 0, 0];
    for (const m of perSub.values()) {
      const ranked = [...m].sort(([ra, a], [rb, b]) => b - a || ra - rb);
      ranked.forEach(([region], i) => {
        unclipped[region]!++;
        if (i < 3) clipped[region]!++;
      });
    }
    expect(clipped).not.toEqual(unclipped); // some subscribers here visit all 4 regions: the clip bites
    const [v] = await engine.dpVectors(SPECS.unique_subscriber_counts!);
    expect(Array.from(v!.values)).toEqual(clipped);
    expect(v!.bound).toBeCloseTo(Math.sqrt(3), 12);
    // The operator's exact answer is not clipped.
    const exact = await engine.run(SPECS.unique_subscriber_counts!);
    expect(exact.rows.map((r) => r.value)).toEqual(unclipped);
    // And the release noises the clipped counts with sigma^2 = 3 / rho (half of rho for the final answer).
    const r = await engine.run(SPECS.unique_subscriber_counts!, { protection: dp(0.5) });
    const noise = noiseVector(SECRET, r.query_id, 'final', 4, 3 / 0.5);
    expect(r.rows.map((row) => row.value)).toEqual(clipped.map((c, i) => c + noise[i]!).filter((x) => x > 15));
  });
  afterAll(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('releases a fixed-bin histogram as every bin plus its keyed noise (sigma^2 = 1 / rho), thresholded on the noisy value', async () => {
    const spec = SPECS['histogram_aggregate (edges)']!;
    const exact = await engine.run(spec); // threshold mode: the exact counts of the bins above 15
    const r = await engine.run(spec, { protection: dp(0.5) });
    const noise = noiseVector(SECRET, r.query_id, 'final', 5, 1 / 0.5);
    const edges = [0, 2, 5, 10, 20, 1000];
    for (const row of exact.rows) {
      const b = edges.indexOf(Number(row.lower_edge));
      const noisy = Number(row.value) + noise[b]!;
      const published = r.rows.find((x) => x.lower_edge === row.lower_edge);
      expect(published?.value ?? null).toBe(noisy > 15 ? noisy : null);
    }
    expect(r.privacy).toMatchObject({ mode: 'dp', rho: 0.5 });
  });

  it('releases avg as (clipped sum + noise) / (count + noise), from the exact sum and count', async () => {
    const spec = SPECS['joined_spatial_aggregate avg event_count']! as Record<string, unknown>;
    const [lo, hi] = METRIC_RANGES.event_count!;
    const unit = (hi - lo) / RATIO_STEPS;
    // The exact sum and count per region, from threshold mode (regions here hold ~150 subscribers: all published).
    const avg = await engine.run(spec);
    const count = await engine.run({ query_kind: 'spatial_aggregate', locations: spec.locations });
    expect(avg.rows).toHaveLength(4);
    const rho = 0.5;
    const r = await engine.run(spec, { protection: dp(rho) });
    const nc = noiseVector(SECRET, r.query_id, 'final:count', 4, 1 / rho);
    const d = RATIO_STEPS * (hi / (hi - lo));
    const ns = noiseVector(SECRET, r.query_id, 'final:sum', 4, (d * d) / rho);
    ['R0', 'R1', 'R2', 'R3'].forEach((pcod, i) => {
      // Every located subscriber here has events in the window (it was located by one), so the count is the located
      // subscribers; their event counts are integers below 500 (no clipping), so the exact sum is avg x count.
      const c = Number(count.rows.find((x) => x.pcod === pcod)!.value);
      const s = Math.round(Number(avg.rows.find((x) => x.pcod === pcod)!.value) * c);
      const noisyCount = c + nc[i]!;
      const expected = noisyCount > 15 ? Math.min(hi, Math.max(lo, ((s / unit + ns[i]!) * unit) / noisyCount)) : null;
      const got = r.rows.find((x) => x.pcod === pcod)?.value ?? null;
      if (expected === null) expect(got).toBeNull();
      else expect(got).toBeCloseTo(expected, 9);
    });
    expect(r.privacy).toMatchObject({ mode: 'dp', rho, ratio: { metric: 'event_count', lower: 0, upper: 500 } });
    expect(r.privacy.ratio!.sumScale).toBeGreaterThan(0);
  });

  it('still refuses, before running, the kinds and forms without a bound', async () => {
    const refused = [
      { query_kind: 'histogram_aggregate', metric: eventCount, bins: { n_bins: 4 } },
      { ...SPECS['joined_spatial_aggregate avg event_count']!, method: 'stddev' },
      { ...SPECS['joined_spatial_aggregate avg event_count']!, method: 'variance' },
      { query_kind: 'location_event_counts', ...window, interval: 'day', direction: 'both', aggregation_unit: 'admin1' },
      { query_kind: 'total_network_objects', ...window, total_by: 'day', aggregation_unit: 'admin1' },
    ];
    for (const spec of refused) {
      await expect(engine.run(spec, { protection: dp() })).rejects.toMatchObject({ code: 'DP_UNSUPPORTED' });
    }
  });
});
