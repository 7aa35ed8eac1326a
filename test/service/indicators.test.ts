/** OPAL indicators over REST: the catalog, one indicator for a unit and period, and the tier limits on both. */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Harness, sampleStore, startHarness, StreamClient } from './helpers.js';

let h: Harness;
let premium: string;
let free: string;
beforeAll(async () => {
  h = await startHarness(await sampleStore());
  premium = await h.token('premium');
  free = await h.token('free');
}, 120_000);
afterAll(async () => {
  await h.close();
  fs.rmSync(h.root, { recursive: true, force: true });
});

const get = (path: string, token: string) => fetch(`${h.api}${path}`, { headers: auth(token) });

describe('indicators over REST', () => {
  it('lists the catalog', async () => {
    const r = await get('/indicators', free);
    expect(r.status).toBe(200);
    const ids = ((await r.json()) as { indicators: { id: string }[] }).indicators.map((d) => d.id);
    expect(ids).toContain('residents.count');
    expect(ids).toContain('relocations.od');
  });

  it('computes residents by week at admin2: published values rounded and above the threshold', async () => {
    const r = await get('/indicators/residents.count?unit=admin2&resolution=week&period=2016-01-11', premium);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { values: { pcod: string; value: number | null }[]; period: { key: string } };
    expect(body.period.key).toBe('2016-W02');
    const published = body.values.filter((v) => v.value !== null);
    expect(published.length).toBeGreaterThan(0);
    for (const v of published) {
      expect(v.value!).toBeGreaterThan(15);
      expect(v.value! % 100).toBe(0);
    }
  });

  it('refuses what the tier may not see, and unknown indicators', async () => {
    expect((await get('/indicators/residents.count?unit=admin3&resolution=month&period=2016-01-01', free)).status).toBe(403);
    const weekly = await get('/indicators/residents.count?unit=admin2&resolution=week&period=2016-01-04', free);
    expect(weekly.status).toBe(403);
    expect(JSON.stringify(await weekly.json())).toContain('TIER_TEMPORAL');
    expect((await get('/indicators/no.such?unit=admin1', premium)).status).toBe(404);
    expect((await get('/indicators/residents.count?unit=admin9', premium)).status).toBe(400);
  });

  it('streams an indicator coarse to fine, one final per unit, and refuses a resolution beyond the tier', async () => {
    const c = await StreamClient.open(h.api.replace(/^http/, 'ws') + '/stream');
    try {
      c.send({ op: 'auth', token: premium });
      await c.until((f) => f.some((x) => x.op === 'auth'));
      c.send({ op: 'subscribe', id: 'r', indicator: { id: 'residents.count', unit: 'admin2', resolution: 'week', period: '2016-01-11' } });
      const finals = (await c.until((f) => f.some((x) => x.id === 'r' && x.last === true))).filter((x) => x.id === 'r');
      expect(finals.map((f) => [f.op, f.tier, f.last])).toEqual([
        ['final', 'admin1', false],
        ['final', 'admin2', true],
      ]);
      const admin2 = finals[1]!.indicator as { values: { value: number | null }[]; aggregation_unit: string };
      expect(admin2.aggregation_unit).toBe('admin2');
      for (const v of admin2.values) if (v.value !== null) expect(v.value % 100).toBe(0);
    } finally {
      c.close();
    }
    const f = await StreamClient.open(h.api.replace(/^http/, 'ws') + '/stream');
    try {
      f.send({ op: 'auth', token: free });
      await f.until((x) => x.some((y) => y.op === 'auth'));
      f.send({ op: 'subscribe', id: 'w', indicator: { id: 'residents.count', unit: 'admin2', resolution: 'week', period: '2016-01-04' } });
      const err = (await f.until((x) => x.some((y) => y.id === 'w'))).find((y) => y.id === 'w')!;
      expect(err).toMatchObject({ op: 'error', code: 'TIER_TEMPORAL' });
    } finally {
      f.close();
    }
  });
});
