/**
 * Issue #13, item 6: markers and side counts. On a store built event by event
 * (test/engine/fixtures.ts: four one-degree regions R0..R3, cells 0-7 two per
 * region, cell 8 outside every region, cell 9 without a version), so every
 * count is known by hand:
 *
 * - day 1 -> day 2: 40 subscribers move R0 -> R1, 5 move R0 -> R3, nobody
 *   enters R2 or R0. An indicator's marker for R2 (nobody) must equal R3's (5):
 *   it said `missing` for 0 and `threshold` for 1..15, so the marker told
 *   "nobody moved here".
 * - 3 events at cell 8 and 20 at cell 9: the stream's `dropped` published 3.
 * - POST /series of many specs cost one unit of the rate limit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIR_OUT, SECONDS_PER_DAY, TYPE_CALLS } from '../../kernels/shared/constants.js';
import type { RefMetricEvent } from '../reference/metrics.js';
import { computeIndicator, period } from '../../server/indicators/index.js';
import { buildFixture, FIRST_DAY } from '../engine/fixtures.js';
import { auth, type Harness, startHarness, StreamClient, testTiers } from '../service/helpers.js';
import { post } from './attacks.js';

let root: string;
let h: Harness;

const at = (sub: number, day: number, cell: number): RefMetricEvent => ({ sub, t: (FIRST_DAY + day) * SECONDS_PER_DAY + 10 * 3600 + sub, cell, kind: TYPE_CALLS | (DIR_OUT << 2) });

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-privacy-'));
  const events: RefMetricEvent[] = [];
  for (let s = 0; s < 40; s++) events.push(at(s, 0, 0), at(s, 1, 2)); // R0 -> R1
  for (let s = 40; s < 45; s++) events.push(at(s, 0, 1), at(s, 1, 6)); // R0 -> R3
  for (let s = 45; s < 48; s++) events.push(at(s, 0, 8)); // outside every region
  for (let s = 48; s < 68; s++) events.push(at(s, 0, 9)); // a cell without a version
  buildFixture(path.join(root, 'store'), { subs: 68, days: 2, seed: 1, events });
  h = await startHarness(root, { tiers: { ...testTiers(), tiny: { ...testTiers().partner!, queriesPerHour: 5 } }, partitions: 4 });
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('markers and side counts (issue #13, item 6)', () => {
  it('an indicator marks a region nobody entered like one 5 entered', async () => {
    const p = period(h.engine, 'day', '2016-01-02');
    // No resident floor: the threshold alone decides (the floor would withhold R1's 40 too).
    const r = await computeIndicator(h.engine, 'presence.trips_in', p, 'admin1', { disclosure: { residentFloor: 0 } });
    const byRegion = Object.fromEntries(r.values!.map((v) => [v.pcod, [v.value, v.withheld ?? null]]));
    expect(byRegion).toEqual({ R0: [null, 'threshold'], R1: [40, null], R2: [null, 'threshold'], R3: [null, 'threshold'] });
    expect(r.withheld).toEqual({ threshold: 3 });
    const od = await computeIndicator(h.engine, 'movements.od', p, 'admin1', { disclosure: { residentFloor: 0 } });
    expect(od.flows).toEqual([{ pcod_from: 'R0', pcod_to: 'R1', value: 40 }]);
    // All twelve off-diagonal pairs but the published one, the empty ones included (not only R0 -> R3).
    expect(od.withheld).toEqual({ threshold: 11 });
    const delta = await computeIndicator(h.engine, 'residents.delta_arrived', p, 'admin1', { disclosure: { residentFloor: 0 } });
    expect(new Set(delta.values!.map((v) => v.withheld))).toEqual(new Set(['differencing']));
  });

  it('publishes a dropped count only above k, in partial and final frames alike', async () => {
    const ws = await StreamClient.open(`${h.base.replace('http', 'ws')}/api/0/stream`, auth(await h.token('partner')));
    try {
      ws.send({ op: 'subscribe', id: 'd', spec: { query_kind: 'spatial_aggregate', locations: { query_kind: 'daily_location', date: '2016-01-01', method: 'last', aggregation_unit: 'admin1' } } });
      const frames = await ws.until((f) => f.some((x) => x.op === 'final' || x.op === 'error'));
      const final = frames.find((x) => x.op === 'final')!;
      expect(final.dropped).toEqual({ noCell: null, unknownCell: 20, outsideRegion: null });
      for (const p of frames.filter((x) => x.op === 'partial')) {
        for (const v of Object.values(p.dropped as Record<string, number | null>)) expect(v === null || (v > 15 && v % 10 === 0)).toBe(true);
      }
    } finally {
      ws.close();
    }
  });

  it('costs /series one unit of the rate limit per spec, and refuses it naming the cost', async () => {
    const token = await h.token('tiny', { sub: 'series-cost' });
    const spec = (d: string) => ({ query_kind: 'unique_subscriber_counts', start_date: d, end_date: '2016-01-03', aggregation_unit: 'admin1' });
    const six = await post(h, token, 'series', { specs: Array.from({ length: 6 }, () => spec('2016-01-01')) });
    expect([six.status, six.json.code]).toEqual([429, 'RATE_LIMITED']);
    expect(six.json.msg).toMatch(/at most 5 queries an hour, found a request costing 6 \(one per spec or period\) with 5 left this hour; it can never fit/);
    expect((await post(h, token, 'series', { specs: [spec('2016-01-01'), spec('2016-01-02'), spec('2016-01-01')] })).status).toBe(200);
    const three = await post(h, token, 'series', { specs: [spec('2016-01-01'), spec('2016-01-02'), spec('2016-01-01')] });
    expect([three.status, three.json.code]).toEqual([429, 'RATE_LIMITED']);
    expect(three.json.msg).toMatch(/a request costing 3 .* with 2 left this hour; retry in \d+ s/);
    expect((await post(h, token, 'run', spec('2016-01-01'))).status).toBe(202);
    expect((await post(h, token, 'run', spec('2016-01-01'))).status).toBe(202);
    expect((await post(h, token, 'run', spec('2016-01-01'))).status).toBe(429);
  });
});
