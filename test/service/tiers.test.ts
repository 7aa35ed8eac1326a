/**
 * Tier enforcement, limit by limit, through every door: REST run, nested
 * specs, poll/get of another tier's query id, /geography, downloads, the
 * stream; token refusals (401); the rate limit (429).
 */
import fs from 'node:fs';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIERS, type Tier } from '../../server/service/config.js';
import { createKeyPair, loadSigningKey, mintToken } from '../../server/service/keys.js';
import {
  AUDIENCE,
  auth,
  type Harness,
  hs256Token,
  runToCompletion,
  sampleStore,
  specs,
  startHarness,
  StreamClient,
  testTiers,
  unsignedToken,
} from './helpers.js';

let root: string;
let h: Harness;
let free: string;
let premium: string;

beforeAll(async () => {
  root = await sampleStore();
  const tiers: Record<string, Tier> = { ...testTiers(), tiny: { ...testTiers().premium!, queriesPerHour: 3 } };
  h = await startHarness(root, { tiers });
  free = await h.token('free');
  premium = await h.token('premium');
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const run = (token: string, spec: unknown) =>
  fetch(`${h.api}/run`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(spec), redirect: 'manual' });

async function refused(r: Response, status: number, code: string): Promise<string> {
  expect(r.status).toBe(status);
  const body = (await r.json()) as { code: string; msg: string };
  expect(body.code).toBe(code);
  return body.msg;
}

describe('the free tier (admin1-2, monthly, indicator kinds, browse only, embargoed)', () => {
  it('runs what it may: a month-long admin2 aggregate that ends before the embargo', async () => {
    const r = await run(free, specs.monthly('admin2'));
    expect(r.status).toBe(202);
  });

  it('never obtains admin3 through /run, at the top or nested anywhere', async () => {
    const msg = await refused(await run(free, specs.usc('admin3', '2015-12-14', '2016-01-12')), 403, 'TIER_UNIT');
    expect(msg).toContain('admin3');
    expect(msg).toContain('admin1, admin2');
    await refused(await run(free, specs.monthly('admin3')), 403, 'TIER_UNIT');
    // Mixed units are refused by the spec check itself; a deeper admin3 never passes either way.
    const nested = {
      query_kind: 'flows',
      from_location: { query_kind: 'most_frequent_location', start_date: '2015-12-14', end_date: '2016-01-12', aggregation_unit: 'admin2' },
      to_location: { query_kind: 'most_frequent_location', start_date: '2015-12-14', end_date: '2016-01-12', aggregation_unit: 'admin3' },
    };
    const mixed = await run(free, nested);
    expect([400, 403]).toContain(mixed.status);
    expect(((await mixed.json()) as { code: string }).code).toMatch(/MIXED_UNITS|TIER_UNIT/);
    const modal = {
      query_kind: 'spatial_aggregate',
      locations: { query_kind: 'modal_location', locations: [specs.daily('admin3', '2016-01-01').locations, specs.daily('admin3', '2016-01-10').locations] },
    };
    await refused(await run(free, modal), 403, 'TIER_UNIT');
  });

  it('never obtains daily or weekly data', async () => {
    const msg = await refused(await run(free, specs.daily('admin2')), 403, 'TIER_TEMPORAL');
    expect(msg).toMatch(/month or coarser, found a spec that reveals days/);
    await refused(await run(free, specs.usc('admin2', '2016-01-01', '2016-01-08')), 403, 'TIER_TEMPORAL');
    const hours = { ...specs.monthly('admin2'), locations: { ...specs.monthly('admin2').locations, hours: { start_hour: 20, end_hour: 4 } } };
    await refused(await run(free, hours), 403, 'TIER_TEMPORAL');
  });

  it('never reaches into the embargoed newest days', async () => {
    // April, a whole month: the test tiers' 2-day embargo ends free's dates at 2016-04-04 - 2 days = 2016-04-02.
    const msg = await refused(await run(free, specs.usc('admin2', '2016-04-01', '2016-05-01')), 403, 'TIER_FRESHNESS');
    expect(msg).toContain('expected dates before 2016-04-02');
  });

  it('runs only the indicator kinds', async () => {
    const spec = { query_kind: 'total_network_objects', start_date: '2015-12-14', end_date: '2016-01-12', total_by: 'month', aggregation_unit: 'admin2' };
    await refused(await run(free, spec), 403, 'TIER_KIND');
  });

  it('cannot poll or get a premium query by its id', async () => {
    const id = await runToCompletion(h, premium, specs.daily('admin3'));
    await refused(await fetch(`${h.api}/poll/${id}`, { headers: auth(free), redirect: 'manual' }), 403, 'TIER_UNIT');
    await refused(await fetch(`${h.api}/get/${id}`, { headers: auth(free) }), 403, 'TIER_UNIT');
    expect((await fetch(`${h.api}/get/${id}`, { headers: auth(premium) })).status).toBe(200);
  });

  it('gets /geography of admin1 and admin2, never admin3', async () => {
    expect((await fetch(`${h.api}/geography/admin2`, { headers: auth(free) })).status).toBe(200);
    await refused(await fetch(`${h.api}/geography/admin3`, { headers: auth(free) }), 403, 'TIER_UNIT');
    await refused(await fetch(`${h.api}/geography/cell`, { headers: auth(premium) }), 403, 'TIER_UNIT');
  });

  it('browses JSON but downloads nothing', async () => {
    const id = await runToCompletion(h, free, specs.monthly('admin1'));
    expect((await fetch(`${h.api}/get/${id}`, { headers: auth(free) })).status).toBe(200);
    for (const ext of ['.csv', '.geojson', '.parquet', '.arrow']) {
      await refused(await fetch(`${h.api}/get/${id}${ext}`, { headers: auth(free) }), 403, 'TIER_DOWNLOAD');
    }
    expect((await fetch(`${h.api}/get/${id}.csv`, { headers: auth(premium) })).status).toBe(200);
  });

  it("gets admin3 subscriptions capped at admin2: frames for admin1 and admin2 only, the last marked last", async () => {
    const c = await StreamClient.open(`${h.api.replace('http', 'ws')}/stream`, auth(free));
    try {
      c.send({ op: 'subscribe', id: 's', spec: specs.monthly('admin3') });
      const frames = await c.until((f) => f.some((x) => x.op === 'final' && x.last === true));
      const tiers = frames.filter((f) => f.op === 'partial' || f.op === 'final').map((f) => f.tier);
      expect(new Set(tiers)).toEqual(new Set(['admin1', 'admin2']));
      expect(frames.filter((f) => f.op === 'final').map((f) => f.tier)).toEqual(['admin1', 'admin2']);
      for (const f of frames) for (const row of (f.rows as { pcod: string }[] | undefined) ?? []) expect(row.pcod).toMatch(/^XX\d{4}$|^XX\d{2}$/);
      // A daily subscription is refused outright: time is never capped, only space.
      c.send({ op: 'subscribe', id: 'd', spec: specs.daily('admin2') });
      const err = (await c.until((f) => f.some((x) => x.op === 'error' && x.id === 'd'))).find((x) => x.id === 'd')!;
      expect(err.code).toBe('TIER_TEMPORAL');
    } finally {
      c.close();
    }
  });

  it('with the default 30-day embargo, sees January and February of the sample, not March', async () => {
    const h2 = await startHarness(root, { tiers: { ...testTiers(), free: DEFAULT_TIERS.free! } });
    try {
      const t = await h2.token('free');
      // By hand: the last day is 2016-04-03, so dates must end by 2016-04-04 - 30 days = 2016-03-05.
      const month = (start: string, end: string) => specs.usc('admin2', start, end);
      expect((await run2(h2.api, t, month('2016-01-01', '2016-02-01'))).status).toBe(202);
      expect((await run2(h2.api, t, month('2016-02-01', '2016-03-01'))).status).toBe(202);
      const msg = await refused(await run2(h2.api, t, month('2016-03-01', '2016-04-01')), 403, 'TIER_FRESHNESS');
      expect(msg).toContain('expected dates before 2016-03-05 (data older than 30 days before the last day 2016-04-03)');
    } finally {
      await h2.close();
    }
  });
});

const run2 = (api: string, token: string, spec: unknown) =>
  fetch(`${api}/run`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(spec) });

describe('tokens', () => {
  const claims = () => ({ sub: 'mallory', tier: 'partner', aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 });

  it('refuses a missing, malformed, expired, wrong-audience or wrongly signed token with 401', async () => {
    const get = (headers: Record<string, string>) => fetch(`${h.api}/available_dates`, { headers });
    const r = await get({});
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    await refused(r, 401, 'TOKEN_MISSING');
    await refused(await get(auth('not-a-jwt')), 401, 'TOKEN_INVALID');
    await refused(await get(auth(await h.token('partner', { ttl: -120 }))), 401, 'TOKEN_EXPIRED');
    await refused(await get(auth(await h.token('partner', { aud: 'someone-else' }))), 401, 'TOKEN_AUDIENCE');
    const other = createKeyPair(fs.mkdtempSync(`${root}/other-`));
    const forged = await mintToken(loadSigningKey(other.privateKey), { sub: 'mallory', tier: 'partner', aud: AUDIENCE, ttl: 600 });
    await refused(await get(auth(forged)), 401, 'TOKEN_SIGNATURE');
    // The same forgery without a kid: every key is tried, none verifies.
    const [head, body, sig] = forged.split('.');
    const noKid = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' })).toString('base64url');
    expect(head).not.toBe(noKid);
    await refused(await get(auth(`${noKid}.${body}.${sig}`)), 401, 'TOKEN_SIGNATURE');
  });

  it('refuses a token issued in the future (iat beyond the 30 s clock skew), accepts one within it', async () => {
    const signing = loadSigningKey(h.keys.privateKey);
    const issuedIn = (seconds: number) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ tier: 'partner' })
        .setProtectedHeader({ alg: signing.alg, kid: signing.kid })
        .setSubject('time-traveller')
        .setAudience(AUDIENCE)
        .setIssuedAt(now + seconds)
        .setExpirationTime(now + seconds + 600)
        .sign(signing.key);
    };
    const get = async (t: string) => fetch(`${h.api}/available_dates`, { headers: auth(t) });
    const msg = await refused(await get(await issuedIn(3600)), 401, 'TOKEN_CLAIM');
    expect(msg).toMatch(/claim 'iat': expected a time no later than now \(30 s clock skew allowed\), found one \d+ s in the future/);
    expect((await get(await issuedIn(10))).status).toBe(200);
    const c = await StreamClient.open(`${h.api.replace('http', 'ws')}/stream`);
    c.send({ op: 'auth', token: await issuedIn(3600) });
    expect((await c.until((f) => f.some((x) => x.op === 'error')))[0]).toMatchObject({ op: 'error', code: 'TOKEN_CLAIM' });
    c.close();
  });

  it("refuses alg none and HMAC tokens before trying any key", async () => {
    const get = (t: string) => fetch(`${h.api}/available_dates`, { headers: auth(t) });
    await refused(await get(unsignedToken(claims())), 401, 'TOKEN_ALGORITHM');
    await refused(await get(hs256Token(claims())), 401, 'TOKEN_ALGORITHM');
    const run = await fetch(`${h.api}/run`, { method: 'POST', headers: auth(unsignedToken(claims())), body: JSON.stringify(specs.daily('cell')) });
    expect(run.status).toBe(401);
  });

  it('refuses a token without a known tier, or with scopes of the wrong shape', async () => {
    await refused(await fetch(`${h.api}/available_dates`, { headers: auth(await h.token('platinum')) }), 401, 'TOKEN_CLAIM');
  });

  it('refuses bad tokens at the stream: 401 at the upgrade, error and close after a bad auth message', async () => {
    const url = `${h.api.replace('http', 'ws')}/stream`;
    await expect(StreamClient.open(url, auth(unsignedToken(claims())))).rejects.toMatchObject({ status: 401 });
    await expect(StreamClient.open(`${url}?token=${await h.token('partner', { ttl: -120 })}`)).rejects.toMatchObject({ status: 401 });
    const c = await StreamClient.open(url);
    c.send({ op: 'auth', token: hs256Token(claims()) });
    const frames = await c.until((f) => f.some((x) => x.op === 'error'));
    expect(frames[0]).toMatchObject({ op: 'error', code: 'TOKEN_ALGORITHM' });
    expect((await c.closedWithin()).code).toBe(1008);
  });

  it('narrows a tier with FlowKit-style scopes', async () => {
    const scoped = await h.token('premium', { scopes: ['admin2:spatial_aggregate:*', 'get_available_dates'] });
    expect((await run(scoped, specs.daily('admin2'))).status).toBe(202);
    const msg = await refused(await run(scoped, specs.daily('admin3')), 403, 'SCOPE_MISSING');
    expect(msg).toContain('admin3:spatial_aggregate:');
    await refused(await run(scoped, specs.flows('admin2')), 403, 'SCOPE_MISSING');
    expect((await fetch(`${h.api}/available_dates`, { headers: auth(scoped) })).status).toBe(200);
    await refused(await fetch(`${h.api}/geography/admin2`, { headers: auth(scoped) }), 403, 'SCOPE_MISSING');
    // Scopes narrow, never widen: a free token with an admin3 scope still gets no admin3.
    const wide = await h.token('free', { scopes: ['*:*:*'] });
    await refused(await run(wide, specs.monthly('admin3')), 403, 'TIER_UNIT');
  });

  it('lets only the audit scope read the audit log', async () => {
    expect((await fetch(`${h.api}/audit`, { headers: auth(premium) })).status).toBe(403);
    const auditor = await h.token('free', { sub: 'oversight', scopes: ['audit:read'] });
    const r = await fetch(`${h.api}/audit?from=1`, { headers: auth(auditor) });
    expect(r.status).toBe(200);
    const first = JSON.parse((await r.text()).split('\n')[0]!) as { seq: number };
    expect(first.seq).toBe(1);
  });
});

describe('the rate limit', () => {
  it('answers 429 with Retry-After once a subject used its queries for the hour, REST and stream alike', async () => {
    const t = await h.token('tiny', { sub: 'busy' });
    for (let i = 0; i < 2; i++) expect((await run(t, specs.usc('admin1', `2016-01-0${i + 1}`, '2016-01-10'))).status).toBe(202);
    const c = await StreamClient.open(`${h.api.replace('http', 'ws')}/stream`, auth(t));
    c.send({ op: 'subscribe', id: 1, spec: specs.usc('admin1', '2016-01-05', '2016-01-10') });
    c.send({ op: 'subscribe', id: 2, spec: specs.usc('admin1', '2016-01-06', '2016-01-10') });
    const err = (await c.until((f) => f.some((x) => x.op === 'error'))).find((x) => x.op === 'error')!;
    expect(err).toMatchObject({ id: 2, code: 'RATE_LIMITED' });
    c.close();
    const r = await run(t, specs.usc('admin1', '2016-01-03', '2016-01-10'));
    expect(r.status).toBe(429);
    const retry = Number(r.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(3500);
    expect(retry).toBeLessThanOrEqual(3600);
    // Another subject of the same tier is not affected.
    expect((await run(await h.token('tiny', { sub: 'calm' }), specs.usc('admin1'))).status).toBe(202);
  });
});
