/**
 * Issue #13, item 3: extremes of individuals. A histogram whose edges come
 * from the data publishes a metric's smallest and largest values (one
 * subscriber's each); joined_spatial_aggregate by max or min publishes one
 * subscriber's value per region. The engine (the CLI) still computes them;
 * the service refuses them for every tier, naming the spec path.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SERVICE_BINS } from '../../server/service/refusals.js';
import { type Harness, sampleStore, startHarness } from '../service/helpers.js';
import { accepted, refusedEverywhere } from './attacks.js';

let root: string;
let h: Harness;
let partner: string;

beforeAll(async () => {
  root = await sampleStore();
  h = await startHarness(root);
  partner = await h.token('partner');
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const metric = { query_kind: 'event_count', start_date: '2016-01-01', end_date: '2016-01-08' };
const histogram = (bins: unknown, range?: object) => ({ query_kind: 'histogram_aggregate', metric, bins, ...(range ? { range } : {}) });
const jsa = (method: string) => ({
  query_kind: 'joined_spatial_aggregate',
  locations: { query_kind: 'most_frequent_location', start_date: '2016-01-01', end_date: '2016-01-08', aggregation_unit: 'admin1' },
  metric,
  method,
});

describe('extremes (issue #13, item 3)', () => {
  it('one bin without a range publishes the smallest and largest event counts in the engine, each one subscriber\'s', async () => {
    const r = await h.engine.run(histogram({ n_bins: 1 }));
    // The per-subscriber event counts, computed by the engine's min and max over regions, bound the bin.
    const min = Math.min(...(await h.engine.run(jsa('min'))).rows.map((x) => Number(x.value)));
    const max = Math.max(...(await h.engine.run(jsa('max'))).rows.map((x) => Number(x.value)));
    expect(r.rows).toHaveLength(1);
    expect(Number(r.rows[0]!.lower_edge)).toBeLessThanOrEqual(min);
    expect(Number(r.rows[0]!.upper_edge)).toBeGreaterThanOrEqual(max);
  });

  it('refuses a histogram without a range over the service, and too many bins', async () => {
    const msg = await refusedEverywhere(h, partner, histogram({ n_bins: 1 }), 400, 'REFUSED_OVER_SERVICE');
    expect(msg).toMatch(/^range: expected an explicit range .*smallest and largest values/);
    const many = await refusedEverywhere(h, partner, histogram({ n_bins: MAX_SERVICE_BINS + 1 }, { lower_bound: 0, upper_bound: 100 }), 400, 'REFUSED_OVER_SERVICE');
    expect(many).toMatch(new RegExp(`^bins: expected at most ${MAX_SERVICE_BINS} bins`));
    const edges = Array.from({ length: MAX_SERVICE_BINS + 2 }, (_, i) => i);
    expect(await refusedEverywhere(h, partner, histogram({ bin_list: edges }), 400, 'REFUSED_OVER_SERVICE')).toMatch(/^bins: /);
    // Nested under another kind, the path says where.
    const nested = { query_kind: 'histogram_aggregate', metric: { ...metric, query_kind: 'radius_of_gyration' }, bins: { n_bins: 3 } };
    expect(await refusedEverywhere(h, partner, nested, 400, 'REFUSED_OVER_SERVICE')).toMatch(/^range: /);
  });

  it('serves a histogram whose edges the caller states', async () => {
    await accepted(h, partner, histogram({ n_bins: 4 }, { lower_bound: 0, upper_bound: 40 }));
    await accepted(h, partner, histogram({ bin_list: [0, 5, 10, 50] }));
  });

  it('refuses joined_spatial_aggregate by max, min, median or mode over the service, and serves avg', async () => {
    for (const method of ['max', 'min', 'median', 'mode']) {
      const msg = await refusedEverywhere(h, partner, jsa(method), 400, 'REFUSED_OVER_SERVICE');
      expect(msg).toContain(`method: expected a method other than max, min, median and mode over the service`);
      expect(msg).toContain("one subscriber's own value");
    }
    await accepted(h, partner, jsa('avg'));
  });
});
