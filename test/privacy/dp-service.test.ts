/**
 * DP as the service's default: the configuration, the answers' `privacy`
 * statement (REST and stream), the per-token budget (charged once per query,
 * refused with PRIVACY_BUDGET, kept across a restart), and that a token
 * cannot read another tier's answer by its id.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, DEFAULT_DP, loadConfig, mergeConfig, parseConfigFile } from '../../server/service/config.js';
import { ledgerSummary, publisherSummary } from '../../server/privacy/dp/accountant.js';
import { interval95, finalSigma2 } from '../../server/privacy/dp/mechanism.js';
import { auth, dpTiers, type Harness, runToCompletion, sampleStore, specs, startHarness, StreamClient, testTiers } from '../service/helpers.js';

describe('DP is the default protection', () => {
  it('protects every default tier with DP', () => {
    for (const [name, t] of Object.entries(defaultConfig().tiers)) expect([name, t.privacy?.mode]).toEqual([name, 'dp']);
  });

  it('gives DP to an operator tier that names no privacy; threshold only when asked for', () => {
    const file = parseConfigFile(
      { tiers: { ngo: { units: ['admin1'], temporal: 'month', kinds: ['*'], queriesPerHour: 10 }, lab: { units: ['admin1'], temporal: 'day', kinds: ['*'], queriesPerHour: 10, privacy: { mode: 'threshold' } } } },
      'test.json',
    );
    const cfg = mergeConfig(defaultConfig(), file);
    expect(cfg.tiers.ngo!.privacy).toEqual(DEFAULT_DP);
    expect(cfg.tiers.lab!.privacy).toEqual({ mode: 'threshold' });
  });

  it('refuses a privacy section that does not hold together, naming the field', () => {
    const tier = (privacy: unknown) => ({ tiers: { t: { units: ['admin1'], temporal: 'month', kinds: ['*'], queriesPerHour: 10, privacy } } });
    expect(() => parseConfigFile(tier({ mode: 'dp', rho: 2, budget: { rho: 1, period: 'month' } }), 'c.json')).toThrow(/c\.json: tiers\.t\.privacy\.rho: expected rho .* at most budget\.rho/);
    expect(() => parseConfigFile(tier({ mode: 'dp', rho: 0.1, budget: { rho: 1, period: 'fortnight' } }), 'c.json')).toThrow(/tiers\.t\.privacy\.budget\.period/);
    expect(() => parseConfigFile(tier({ mode: 'laplace' }), 'c.json')).toThrow(/tiers\.t\.privacy\.mode/);
    expect(() => parseConfigFile(tier({ mode: 'threshold', k: 5 }), 'c.json')).toThrow(/tiers\.t\.privacy\.k/);
  });

  it('reads the DP secret file from the environment', () => {
    const cfg = loadConfig({ env: { OPALITE_DP_SECRET_FILE: 'dp.hex' } });
    expect(cfg.privacy.secretFile).toBe(path.resolve('dp.hex'));
  });
});

describe('the service under DP', () => {
  let root: string;
  let h: Harness;
  const tiers = () => {
    const t = dpTiers();
    // A small budget so that exhaustion is reached in a few queries: 3 queries of premium's rho 0.1.
    t.premium!.privacy = { mode: 'dp', rho: 0.1, budget: { rho: 0.3, period: 'month' }, delta: 1e-9 };
    t.lab = { ...structuredClone(testTiers().premium!), privacy: { mode: 'threshold' } };
    return t;
  };
  beforeAll(async () => {
    root = await sampleStore();
    h = await startHarness(root, { tiers: tiers() });
  });
  afterAll(async () => {
    await h?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const get = async (token: string, id: string) => {
    const r = await fetch(`${h.api}/get/${id}`, { headers: auth(token) });
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };

  it('answers with a privacy statement beside query_result, charges once per query, and refuses with PRIVACY_BUDGET when spent', async () => {
    const token = await h.token('premium', { sub: 'budget-test' });
    const id = await runToCompletion(h, token, specs.daily('admin2'));
    const first = await get(token, id);
    expect(first.status).toBe(200);
    const sigma2 = finalSigma2(0.1, 1);
    expect(first.body.privacy).toMatchObject({
      mode: 'dp',
      k: 15,
      rho: 0.1,
      delta: 1e-9,
      mechanism: 'discrete_gaussian',
      interval95: interval95(sigma2),
    });
    expect(first.body.privacy.budget.spent).toBeCloseTo(0.1, 12);
    expect(first.body.privacy.budget.remaining).toBeCloseTo(0.2, 12);
    expect(first.body.privacy.epsilon).toBeCloseTo(0.1 + 2 * Math.sqrt(0.1 * Math.log(1e9)), 9);
    expect(first.body.privacy.budget.period).toMatch(/^\d{4}-\d{2}$/);
    // Values are noisy integers above k.
    for (const row of first.body.query_result as { value: number }[]) {
      expect(Number.isInteger(row.value)).toBe(true);
      expect(row.value).toBeGreaterThan(15);
    }
    // The same query again: the same answer, no charge.
    expect(await runToCompletion(h, token, specs.daily('admin2'))).toBe(id);
    const again = await get(token, id);
    expect(again.body.query_result).toEqual(first.body.query_result);
    expect(again.body.privacy.budget.spent).toBeCloseTo(0.1, 12);
    // Two more queries fit (0.3 in all), the fourth does not.
    await runToCompletion(h, token, specs.daily('admin2', '2016-01-04'));
    await runToCompletion(h, token, specs.daily('admin2', '2016-01-05'));
    const refused = await fetch(`${h.api}/run`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(specs.daily('admin2', '2016-01-06')) });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { code: string; msg: string };
    expect(body.code).toBe('PRIVACY_BUDGET');
    expect(body.msg).toMatch(/privacy budget of tier premium: .*0 of 0\.3 left for month \d{4}-\d{2}; it renews \d{4}-\d{2}-01T00:00:00\.000Z/);
    // An answer already paid for is still served.
    expect((await get(token, id)).status).toBe(200);
    // Another subject of the same tier has its own budget.
    const other = await h.token('premium', { sub: 'someone-else' });
    expect((await get(other, id)).body.privacy.budget.spent).toBeCloseTo(0.1, 12);
    // The ledger holds each subject's spending per period (what `opalite audit budget` prints).
    const ledger = path.join(path.dirname(h.config.audit.file), 'budget.jsonl');
    const summary = ledgerSummary(ledger).filter((s) => s.sub === 'budget-test');
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ tier: 'premium', queries: 3 });
    expect(summary[0]!.rho).toBeCloseTo(0.3, 12);
    // The audit log records the charge with the request.
    h.server.context.audit.flush();
    const audit = fs.readFileSync(h.config.audit.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const charged = audit.filter((e) => e.sub === 'budget-test' && e.budget?.charged === true);
    expect(charged).toHaveLength(3);
  });

  it('publishes indicators under DP with noise shared by every token and tier, at no cost to any budget; exact for a threshold tier', async () => {
    const path_ = '/indicators/residents.count?unit=admin2&resolution=week&period=2016-01-04';
    const ask = async (token: string, at = path_) => {
      const r = await fetch(`${h.api}${at}`, { headers: auth(token) });
      expect(r.status).toBe(200);
      return (await r.json()) as { values: { pcod: string; value: number | null; withheld?: string }[]; withheld: Record<string, number>; privacy: Record<string, any> };
    };
    const a = await ask(await h.token('premium', { sub: 'ind-a' }));
    const b = await ask(await h.token('premium', { sub: 'ind-b' }));
    const c = await ask(await h.token('partner', { sub: 'ind-c' }));
    const lab = await ask(await h.token('lab', { sub: 'ind-lab' }));
    // One publication: same noisy values for every token and DP tier, asked as often as they like.
    expect(b.values).toEqual(a.values);
    expect(c.values).toEqual(a.values);
    expect((await ask(await h.token('premium', { sub: 'ind-a' }))).values).toEqual(a.values);
    // Residents: one home per subscriber, sigma^2 = 1 / (2 x the service's indicator rho 0.5) = 1.
    expect(a.privacy).toMatchObject({ mode: 'dp', k: 15, rho: 0.5, mechanism: 'discrete_gaussian', interval95: interval95(1) });
    expect(a.privacy.budget).toBeUndefined();
    expect(lab.privacy).toEqual({ mode: 'threshold', k: 15 });
    // The threshold tier's exact counts (rounded to 100) differ from the noisy ones published at the same rounding by at most the rounding and the noise.
    for (const v of a.values) {
      const exact = lab.values.find((x) => x.pcod === v.pcod)!.value;
      if (v.value !== null && exact !== null) expect(Math.abs(v.value - exact)).toBeLessThanOrEqual(100);
    }
    // No token was charged for indicators; the publisher was, once for the publication (residents, week 2016-W01, admin2).
    const ledger = path.join(path.dirname(h.config.audit.file), 'budget.jsonl');
    const summary = fs.existsSync(ledger) ? ledgerSummary(ledger).filter((s) => s.sub.startsWith('ind-')) : [];
    expect(summary).toEqual([]);
    expect(publisherSummary(ledger).filter((r) => r.period === 'week 2016-W01' && r.unit === 'admin2')).toEqual([
      { period: 'week 2016-W01', unit: 'admin2', family: 'residents', publications: 1, rho: 0.5, periodRho: expect.any(Number) },
    ]);
    // The store's last month (stored 1-3 April: the sample ends on 2016-04-03) is still filling: withheld under DP until
    // complete, exact for the threshold tier.
    const filling = '/indicators/residents.count?unit=admin2&resolution=month&period=2016-04-01';
    const w = await ask(await h.token('premium', { sub: 'ind-a' }), filling);
    expect(new Set(w.values.map((v) => `${v.value}:${v.withheld}`))).toEqual(new Set(['null:incomplete']));
    expect(w.withheld).toEqual({ incomplete: w.values.length });
    expect((await ask(await h.token('lab', { sub: 'ind-lab' }), filling)).values.some((v) => v.value !== null)).toBe(true);
  });

  it('streams the same DP indicator as REST serves, with its privacy statement', async () => {
    const token = await h.token('premium', { sub: 'ind-stream' });
    const rest = (await (await fetch(`${h.api}/indicators/presence.count?unit=admin1&resolution=week&period=2016-01-04`, { headers: auth(token) })).json()) as Record<string, any>;
    const c = await StreamClient.open(`${h.api.replace('http', 'ws')}/stream?token=${token}`);
    try {
      c.send({ op: 'subscribe', id: 'ind', indicator: { id: 'presence.count', unit: 'admin1', resolution: 'week', period: '2016-01-04' } });
      const frames = await c.until((f) => f.some((x) => x.op === 'final' && x.last === true));
      const final = frames.find((f) => f.op === 'final' && (f as Record<string, any>).indicator?.aggregation_unit === 'admin1')! as Record<string, any>;
      expect(final.indicator.values).toEqual(rest.values);
      expect(final.privacy).toEqual(rest.privacy);
      expect(final.privacy).toMatchObject({ mode: 'dp', rho: 0.5, mechanism: 'discrete_gaussian' });
    } finally {
      c.close();
    }
  });

  it('names threshold protection in the answers of a threshold tier', async () => {
    const token = await h.token('lab');
    const id = await runToCompletion(h, token, specs.daily('admin2'));
    const r = await get(token, id);
    expect(r.body.privacy).toEqual({ mode: 'threshold', k: 15 });
  });

  it("refuses a token another tier's answer by its id (a public hash), and an exact answer to a DP tier", async () => {
    const lab = await h.token('lab');
    const exactId = await runToCompletion(h, lab, specs.daily('admin1'));
    const premium = await h.token('premium', { sub: 'reader' });
    expect((await get(premium, exactId)).status).toBe(404);
  });

  it('refuses under DP a kind without a contribution bound, before charging', async () => {
    const token = await h.token('premium', { sub: 'unsupported' });
    const r = await fetch(`${h.api}/run`, {
      method: 'POST',
      headers: { ...auth(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ query_kind: 'location_event_counts', start_date: '2016-01-01', end_date: '2016-01-03', aggregation_unit: 'admin1', direction: 'both', event_types: ['calls'], interval: 'day' }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { code: string }).code).toBe('DP_UNSUPPORTED');
    expect(ledgerSummary(path.join(path.dirname(h.config.audit.file), 'budget.jsonl')).some((s) => s.sub === 'unsupported')).toBe(false);
  });

  it('states the protection in every stream frame, partial and final', async () => {
    const token = await h.token('partner', { sub: 'streamer' });
    const c = await StreamClient.open(`${h.api.replace('http', 'ws')}/stream?token=${token}`);
    try {
      c.send({ op: 'subscribe', id: 1, spec: specs.daily('admin1') });
      const frames = await c.until((f) => f.some((x) => x.op === 'final' && x.last === true));
      const data = frames.filter((f) => f.op === 'partial' || f.op === 'final');
      expect(data.some((f) => f.op === 'partial')).toBe(true);
      for (const f of data) expect((f.privacy as { mode: string }).mode).toBe('dp');
      const final = data.find((f) => f.op === 'final')! as Record<string, any>;
      expect(final.privacy.budget.spent).toBeCloseTo(0.2, 12);
      expect(final.dropped).toBeNull();
      for (const p of data.filter((f) => f.op === 'partial') as Record<string, any>[]) expect(p.privacy.interval95).toBeGreaterThanOrEqual(final.privacy.interval95);
    } finally {
      c.close();
    }
  });
});

describe('the budget across a restart', () => {
  it('remembers what a subject spent (the ledger is read back at start)', async () => {
    const root = await sampleStore();
    try {
      const t = dpTiers();
      t.premium!.privacy = { mode: 'dp', rho: 0.1, budget: { rho: 0.15, period: 'month' }, delta: 1e-9 };
      let h = await startHarness(root, { tiers: t });
      const ledger = path.join(root, 'ledger.jsonl');
      const secret = h.config.privacy.secretFile;
      await h.close();
      const tweak = (c: { privacy: { ledger: string; secretFile: string } }) => {
        c.privacy.ledger = ledger;
        c.privacy.secretFile = secret;
      };
      h = await startHarness(root, { tiers: t, tweak });
      const token = await h.token('premium', { sub: 'restart' });
      const id = await runToCompletion(h, token, specs.daily('admin2'));
      const before = (await (await fetch(`${h.api}/get/${id}`, { headers: auth(token) })).json()) as Record<string, any>;
      await h.close();
      h = await startHarness(root, { tiers: t, tweak });
      try {
        // A new harness has a new signing key: a new token for the same subject.
        const token = await h.token('premium', { sub: 'restart' });
        const refused = await fetch(`${h.api}/run`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(specs.daily('admin2', '2016-01-05')) });
        expect(refused.status).toBe(429);
        // The query paid for before the restart is still free, and gives the same answer (same secret).
        expect(await runToCompletion(h, token, specs.daily('admin2'))).toBe(id);
        const after = (await (await fetch(`${h.api}/get/${id}`, { headers: auth(token) })).json()) as Record<string, any>;
        expect(after.query_result).toEqual(before.query_result);
        expect(after.privacy.budget.spent).toBeCloseTo(0.1, 12);
      } finally {
        await h.close();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
