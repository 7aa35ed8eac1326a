/** OPAL indicators over REST: the catalog, one indicator for a unit and period, and the tier limits on both. */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Harness, sampleStore, startHarness } from './helpers.js';

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
});
