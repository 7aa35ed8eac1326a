/**
 * Issue #13, item 1: nested sampling isolates one subscriber. Samples drawn
 * with one seed are nested, so a binary search on the fraction finds two
 * fractions whose samples differ by exactly one located subscriber; the
 * difference of the two spatial_aggregates is that person's region.
 *
 * The attack is run here against the engine (the operator's CLI keeps
 * sampling) to show it works, then over the service, which refuses its first
 * step at every door and for every tier, naming the spec path.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '../../server/privacy/redact.js';
import { type Harness, sampleStore, startHarness } from '../service/helpers.js';
import { refusedEverywhere } from './attacks.js';

let root: string;
let h: Harness;

beforeAll(async () => {
  root = await sampleStore();
  h = await startHarness(root);
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const SEED = 0.25;
const sampled = (fraction: number) => ({
  query_kind: 'spatial_aggregate',
  locations: {
    query_kind: 'daily_location',
    date: '2016-01-03',
    method: 'last',
    aggregation_unit: 'admin1',
    sampling: { sampling_method: 'bernoulli', fraction, seed: SEED },
  },
});

const byRegion = (rows: Row[]) => new Map(rows.map((r) => [String(r.pcod), Number(r.value)]));

describe('nested sampling (issue #13, item 1)', () => {
  it('works against the engine: a binary search on the fraction isolates one subscriber', async () => {
    const run = async (p: number) => byRegion((await h.engine.run(sampled(p))).rows);
    let lo = 0.5;
    let hi = 0.7;
    let a = await run(lo);
    let b = await run(hi);
    const total = (m: Map<string, number>) => [...m.values()].reduce((s, v) => s + v, 0);
    // Every region published at both ends, so totals compare (nested samples only grow).
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    expect(total(b)).toBeGreaterThan(total(a) + 1);
    for (let step = 0; step < 40 && total(b) - total(a) > 1; step++) {
      const mid = (lo + hi) / 2;
      const m = await run(mid);
      if (total(m) === total(a)) [lo, a] = [mid, m];
      else [hi, b] = [mid, m];
    }
    expect(total(b) - total(a)).toBe(1);
    const changed = [...b].filter(([pcod, v]) => v !== a.get(pcod));
    // One region grew by one: the one subscriber between the fractions is located there.
    expect(changed).toHaveLength(1);
    expect(changed[0]![1] - a.get(changed[0]![0])!).toBe(1);
  });

  it('is refused at its first step over the service, at every door and for every tier', async () => {
    for (const tier of ['premium', 'partner']) {
      const msg = await refusedEverywhere(h, await h.token(tier), sampled(0.5), 400, 'REFUSED_OVER_SERVICE');
      expect(msg).toMatch(/^locations\.sampling: expected no sampling over the service, found .*bernoulli.*nested/);
    }
  });

  it('is refused wherever the sampling sits: a metric, a nested reference location', async () => {
    const partner = await h.token('partner');
    const sampling = { sampling_method: 'random_ids', size: 10, seed: 0.1 };
    const metric = {
      query_kind: 'joined_spatial_aggregate',
      locations: { query_kind: 'most_frequent_location', start_date: '2016-01-01', end_date: '2016-01-08', aggregation_unit: 'admin1' },
      metric: { query_kind: 'event_count', start_date: '2016-01-01', end_date: '2016-01-08', sampling },
      method: 'avg',
    };
    expect(await refusedEverywhere(h, partner, metric, 400, 'REFUSED_OVER_SERVICE')).toMatch(/^metric\.sampling: /);
    const daily = (date: string, s?: object) => ({ query_kind: 'daily_location', date, method: 'last', aggregation_unit: 'admin1', ...(s ? { sampling: s } : {}) });
    const modal = { query_kind: 'spatial_aggregate', locations: { query_kind: 'modal_location', locations: [daily('2016-01-02'), daily('2016-01-03', sampling)] } };
    expect(await refusedEverywhere(h, partner, modal, 400, 'REFUSED_OVER_SERVICE')).toMatch(/^locations\.locations\.1\.sampling: /);
  });

  it('stays in the CLI: the engine runs a sampled spec', async () => {
    const r = await h.engine.run(sampled(0.5));
    expect(r.rows.length).toBeGreaterThan(0);
  });
});
