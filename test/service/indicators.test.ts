/** OPAL indicators over REST: the catalog, one indicator for a unit and period, and the tier limits on both. */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Harness, sampleStore, startHarness, StreamClient, testTiers } from './helpers.js';

let h: Harness;
let premium: string;
let free: string;
beforeAll(async () => {
  // tiny: daily admin1-2 over the last 7 days only, 3 requests an hour (series limits and rate).
  const tiers = { ...testTiers(), tiny: { units: ['admin1', 'admin2'], temporal: 'day' as const, kinds: ['*'], download: false, live: false, historyDays: 7, queriesPerHour: 3 } };
  h = await startHarness(await sampleStore(), { tiers });
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
      f.send({ op: 'subscribe', id: 'p', indicator: { id: 'residents.count', unit: 'admin2', resolution: 'month', period: 'last week' } });
      const bad = (await f.until((x) => x.some((y) => y.id === 'p'))).find((y) => y.id === 'p')!;
      expect(bad).toMatchObject({ op: 'error', code: 'BAD_REQUEST' });
      expect(bad.message).toMatch(/^indicator\.period: expected a date YYYY-MM-DD/);
    } finally {
      f.close();
    }
  });
});

interface Series {
  indicator: string;
  aggregation_unit: string;
  resolution: string;
  periods: { period: { key: string; start: string } }[];
}

describe('an indicator series over REST', () => {
  const series = async (path: string, token: string) => {
    const r = await get(path, token);
    return { status: r.status, body: (await r.json()) as Series & { code?: string; msg?: string } };
  };

  it('is, period by period, exactly what the per-period route publishes', async () => {
    const weekly = await series('/indicators/residents.count/series?unit=admin2&resolution=week', premium);
    expect(weekly.status).toBe(200);
    expect(weekly.body).toMatchObject({ indicator: 'residents.count', aggregation_unit: 'admin2', resolution: 'week' });
    // By hand: 2016-01-01 is a Friday (ISO 2015-W53 holds Jan 1-3), and 2016-04-03 is the Sunday ending 2016-W13: 14 weeks.
    const weeks = ['2015-W53', ...Array.from({ length: 13 }, (_, i) => `2016-W${String(i + 1).padStart(2, '0')}`)];
    expect(weekly.body.periods.map((p) => p.period.key)).toEqual(weeks);
    const flows = await series('/indicators/relocations.od/series?unit=admin1&resolution=day&from=2016-02-05&to=2016-02-08', premium);
    expect(flows.body.periods.map((p) => p.period.key)).toEqual(['2016-02-05', '2016-02-06', '2016-02-07', '2016-02-08']);
    for (const [path, s] of [['residents.count?unit=admin2&resolution=week', weekly], ['relocations.od?unit=admin1&resolution=day', flows]] as const) {
      for (const p of s.body.periods) {
        const one = await get(`/indicators/${path}&period=${p.period.start}`, premium);
        expect(one.status).toBe(200);
        expect(p).toEqual(await one.json());
      }
    }
  });

  it("checks every period against the tier's window, naming the period refused", async () => {
    const tiny = await h.token('tiny');
    // History: the last 7 days up to 2016-04-03, so from 2016-03-28 on; 2016-W13 starts on the 28th, 2016-W12 on the 21st.
    const latest = await series('/indicators/presence.count/series?unit=admin2&resolution=week', tiny);
    expect(latest.body.periods.map((p) => p.period.key)).toEqual(['2016-W13']);
    const asked = await series('/indicators/presence.count/series?unit=admin2&resolution=week&from=2016-03-21', tiny);
    expect(asked.status).toBe(403);
    expect(asked.body.code).toBe('TIER_HISTORY');
    expect(asked.body.msg).toContain('period 2016-W12');
    // Free: monthly only, admin1-2, and (in the tests) not the newest 2 days, so not April, the last month.
    expect((await series('/indicators/presence.count/series?unit=admin2&resolution=week', free)).body.code).toBe('TIER_TEMPORAL');
    expect((await series('/indicators/presence.count/series?unit=admin3&resolution=month', free)).body.code).toBe('TIER_UNIT');
    const embargoed = await series('/indicators/presence.count/series?unit=admin2&resolution=month&from=2016-04-01&to=2016-04-01', free);
    expect([embargoed.status, embargoed.body.code]).toEqual([403, 'TIER_FRESHNESS']);
    expect(embargoed.body.msg).toContain('period 2016-04');
    // Without a range: every month free may see, January to March (dates before 2016-04-04 - 2 days = 2016-04-02).
    const months = await series('/indicators/presence.count/series?unit=admin2&resolution=month', free);
    expect(months.body.periods.map((p) => p.period.key)).toEqual(['2016-01', '2016-02', '2016-03']);
  });

  it('refuses a malformed range or request naming the field', async () => {
    const bad = await series('/indicators/presence.count/series?unit=admin2&resolution=day&from=yesterday', premium);
    expect([bad.status, bad.body.code]).toEqual([400, 'BAD_PERIOD']);
    expect(bad.body.msg).toMatch(/^from: expected a date YYYY-MM-DD/);
    expect((await series('/indicators/presence.count/series?unit=admin2&resolution=day&from=2016-01-09&to=2016-01-02', premium)).body.msg).toMatch(/^from: /);
    expect((await series('/indicators/presence.count/series?unit=cell&resolution=day', premium)).body.code).toBe('UNKNOWN_UNIT');
    expect((await series('/indicators/presence.count/series?unit=admin2&resolution=hour', premium)).body.code).toBe('BAD_RESOLUTION');
    expect((await series('/indicators/no.such/series', premium)).status).toBe(404);
  });

  it('costs one unit of the rate limit per period (issue #13)', async () => {
    const token = await h.token('tiny', { sub: 'rate' });
    const path = '/indicators/presence.count/series?unit=admin1&resolution=day';
    // Seven periods (2016-03-28 .. 2016-04-03, tiny's 7-day history) against a budget of 3: refused whole, naming the cost, nothing spent.
    const whole = await series(path, token);
    expect(whole.status).toBe(429);
    expect(whole.body.msg).toMatch(/a request costing 7 \(one per spec or period\) with 3 left this hour; it can never fit/);
    const two = await series(`${path}&from=2016-04-02&to=2016-04-03`, token);
    expect(two.status).toBe(200);
    expect(two.body.periods).toHaveLength(2);
    const again = await series(`${path}&from=2016-04-02&to=2016-04-03`, token);
    expect(again.status).toBe(429);
    expect(again.body.msg).toMatch(/a request costing 2 .* with 1 left this hour; retry in \d+ s/);
    expect((await get('/indicators/presence.count?unit=admin1&resolution=day&period=2016-04-03', token)).status).toBe(200);
    const refused = await get(path, token);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
