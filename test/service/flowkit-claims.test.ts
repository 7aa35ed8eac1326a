/**
 * FlowAuth tokens: scopes in `user_claims` (a list, roles {name: [scopes]}, or
 * compressed as FlowKit's compress_claims writes them: base64 with line breaks of
 * gzipped JSON), read as FlowAPI reads them, and only ever narrowing a tier.
 */
import fs from 'node:fs';
import { gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandScopes, queryScopeList, scopeStrings } from '../../server/service/flowkit-claims.js';
import { loadSigningKey } from '../../server/service/keys.js';
import { AUDIENCE, auth, type Harness, sampleStore, specs, startHarness, StreamClient } from './helpers.js';

/** Python's base64.encodebytes: 76 characters a line, each line ending in \n. */
function encodebytes(b: Buffer): string {
  return (b.toString('base64').match(/.{1,76}/g) ?? []).map((l) => l + '\n').join('');
}
const compress = (scopes: string[]) => encodebytes(gzipSync(Buffer.from(JSON.stringify(scopes))));

describe('reading user_claims', () => {
  it('takes a list, roles, and the compressed form alike', () => {
    const list = ['get_result,run&spatial_aggregate.locations.daily_location.aggregation_unit.admin2', 'get_result&available_dates'];
    expect(scopeStrings(list)).toEqual(list);
    expect(scopeStrings({ analyst: [list[0]], viewer: [list[1]] })).toEqual(list);
    expect(scopeStrings(compress(list))).toEqual(list);
    expect(scopeStrings({ analyst: compress(list) })).toEqual(list);
  });

  it('expands comma alternatives into (action, path) grants, as expand_scopes does', () => {
    const grants = expandScopes(['get_result,run&a.aggregation_unit.admin1,b.aggregation_unit.admin2', 'run&c']);
    expect([...grants].map((g) => g.replace('\u0000', ' ')).sort()).toEqual(
      ['get_result a.aggregation_unit.admin1', 'get_result b.aggregation_unit.admin2', 'run a.aggregation_unit.admin1', 'run b.aggregation_unit.admin2', 'run c'].sort(),
    );
  });

  it('names the paths of a spec as query_to_scope_list does (sorted keys, one per unit)', () => {
    expect(queryScopeList(specs.flows('admin2'))).toEqual([
      'flows.from_location.most_frequent_location.aggregation_unit.admin2',
      'flows.to_location.most_frequent_location.aggregation_unit.admin2',
    ]);
    expect(queryScopeList({ query_kind: 'histogram_aggregate', metric: { query_kind: 'radius_of_gyration', start_date: 'x' }, bins: { n_bins: 3 } })).toEqual([
      'histogram_aggregate.metric.radius_of_gyration',
    ]);
  });

  it('refuses claims it cannot read, naming the claim', () => {
    expect(() => scopeStrings('not base64 gzip')).toThrow(/claim 'user_claims'/);
    expect(() => scopeStrings(42)).toThrow(/claim 'user_claims'/);
    expect(() => scopeStrings({ role: [1, 2] })).toThrow(/claim 'user_claims'/);
  });
});

describe('FlowAuth tokens against the service', () => {
  let root: string;
  let h: Harness;
  let sign: (claims: Record<string, unknown>, tier?: string) => Promise<string>;
  beforeAll(async () => {
    root = await sampleStore();
    h = await startHarness(root);
    const key = loadSigningKey(h.keys.privateKey);
    sign = (claims, tier = 'premium') => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ tier, ...claims })
        .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid })
        .setSubject('flowauth-user')
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(key.key);
    };
  });
  afterAll(async () => {
    await h?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const run = (token: string, spec: unknown) =>
    fetch(`${h.api}/run`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(spec), redirect: 'manual' });
  const daily2 = 'spatial_aggregate.locations.daily_location.aggregation_unit.admin2';

  it('grants exactly what the compressed claims list: run, poll and get at admin2; not admin3; available_dates only if listed', async () => {
    const token = await sign({ user_claims: compress([`get_result,run&${daily2}`]) });
    const r = await run(token, specs.daily('admin2'));
    expect(r.status).toBe(202);
    const { query_id } = (await r.json()) as { query_id: string };
    for (;;) {
      const p = await fetch(`${h.api}/poll/${query_id}`, { headers: auth(token), redirect: 'manual' });
      await p.arrayBuffer();
      if (p.status === 303) break;
      expect(p.status).toBe(202);
    }
    expect((await fetch(`${h.api}/get/${query_id}`, { headers: auth(token) })).status).toBe(200);

    const denied = await run(token, specs.daily('admin3'));
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { msg: string }).msg).toContain('run&spatial_aggregate.locations.daily_location.aggregation_unit.admin3');
    expect((await fetch(`${h.api}/available_dates`, { headers: auth(token) })).status).toBe(403);
    const dated = await sign({ user_claims: compress(['get_result&available_dates']) });
    expect((await fetch(`${h.api}/available_dates`, { headers: auth(dated) })).status).toBe(200);
  });

  it('run alone does not let a token poll or fetch (FlowAPI asks run and get_result to poll, get_result to get)', async () => {
    const runner = await sign({ user_claims: { analyst: [`run&${daily2}`] } });
    const r = await run(runner, specs.daily('admin2', '2016-01-04'));
    expect(r.status).toBe(202);
    const { query_id } = (await r.json()) as { query_id: string };
    const p = await fetch(`${h.api}/poll/${query_id}`, { headers: auth(runner), redirect: 'manual' });
    expect(p.status).toBe(403);
    expect(((await p.json()) as { msg: string }).msg).toContain(`get_result&${daily2}`);
    expect((await fetch(`${h.api}/get/${query_id}`, { headers: auth(runner) })).status).toBe(403);
  });

  it('results leave by the stream or /series only with get_result as well as run (as FlowAPI asks to poll and get)', async () => {
    const runner = await sign({ user_claims: [`run&${daily2}`, 'run&spatial_aggregate.locations.daily_location.aggregation_unit.admin1'] });
    const series = await fetch(`${h.api}/series`, {
      method: 'POST',
      headers: { ...auth(runner), 'Content-Type': 'application/json' },
      body: JSON.stringify({ specs: [specs.daily('admin2', '2016-01-05')] }),
    });
    expect(series.status).toBe(403);
    expect(((await series.json()) as { msg: string }).msg).toContain(`get_result&${daily2}`);

    const c = await StreamClient.open(`${h.api.replace('http', 'ws')}/stream`);
    try {
      c.send({ op: 'auth', token: runner });
      await c.until((f) => f.some((x) => x.op === 'auth'));
      c.send({ op: 'subscribe', id: 's', spec: specs.daily('admin2', '2016-01-05') });
      const err = (await c.until((f) => f.some((x) => x.op === 'error'))).find((x) => x.op === 'error')!;
      expect(err).toMatchObject({ id: 's', code: 'SCOPE_MISSING' });
      expect((await c.until(() => true)).some((x) => x.op === 'partial' || x.op === 'final')).toBe(false);
    } finally {
      c.ws.close();
    }
    // Granted both, the stream serves it (every frame unit granted: admin1 and admin2).
    const both = await sign({ user_claims: [`get_result,run&${daily2}`, 'get_result,run&spatial_aggregate.locations.daily_location.aggregation_unit.admin1'] });
    const d = await StreamClient.open(`${h.api.replace('http', 'ws')}/stream`);
    try {
      d.send({ op: 'auth', token: both });
      await d.until((f) => f.some((x) => x.op === 'auth'));
      d.send({ op: 'subscribe', id: 't', spec: specs.daily('admin2', '2016-01-05') });
      await d.until((f) => f.some((x) => x.op === 'final' && x.last === true));
    } finally {
      d.ws.close();
    }
  });

  it('never widens a tier: claims for admin3 on a free token are still refused by the tier', async () => {
    const token = await sign({ user_claims: [`get_result,run&spatial_aggregate.locations.daily_location.aggregation_unit.admin3`] }, 'free');
    const r = await run(token, specs.monthly('admin3'));
    expect(r.status).toBe(403);
    expect(((await r.json()) as { code: string }).code).toBe('TIER_UNIT');
  });

  it('a token whose user_claims cannot be read is refused with 401, naming the claim', async () => {
    const token = await sign({ user_claims: 'garbage' });
    const r = await run(token, specs.daily('admin2'));
    expect(r.status).toBe(401);
    expect(((await r.json()) as { msg: string }).msg).toMatch(/user_claims/);
  });
});
