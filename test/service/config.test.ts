/** Configuration layering, keys and tokens, the tier check's pieces and the rate limiter, without a server. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec } from '../../server/engine/spec.js';
import type { Principal } from '../../server/service/auth.js';
import { Verifier } from '../../server/service/auth.js';
import { ConfigError, DEFAULT_TIERS, defaultResidentBytes, describeConfig, loadConfig } from '../../server/service/config.js';
import { createKeyPair, developmentKeys, loadPublicKey, loadSigningKey, mintToken, parseTtl } from '../../server/service/keys.js';
import { RateLimiter } from '../../server/service/ratelimit.js';
import { frameUnits, requiredScopes, specWindow } from '../../server/service/tiers.js';
import { unitOrder } from '../../server/service/wire.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-config-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('configuration', () => {
  it('layers defaults, file, environment and overrides; relative paths are the file’s', () => {
    const file = path.join(dir, 'opalite.json');
    fs.writeFileSync(file, JSON.stringify({ port: 9000, store: 'store', audit: { file: 'logs/audit.jsonl' }, tiers: { only: DEFAULT_TIERS.premium } }));
    const cfg = loadConfig({ file, env: { OPALITE_PORT: '9100', OPALITE_AUDIENCE: 'ministry' }, overrides: { host: '0.0.0.0' } });
    expect(cfg.port).toBe(9100);
    expect(cfg.host).toBe('0.0.0.0');
    expect(cfg.audience).toBe('ministry');
    expect(cfg.store).toBe(path.join(dir, 'store'));
    expect(cfg.audit.file).toBe(path.join(dir, 'logs', 'audit.jsonl'));
    expect(Object.keys(cfg.tiers)).toEqual(['only']);
    expect(cfg.limits.maxBodyBytes).toBe(64 * 1024);
  });

  it('sets the engine\'s resident budget from the file or OPALITE_RESIDENT_BYTES, within 16 MiB..3.5 GiB', () => {
    // A quarter of the machine's memory, at most 3 GiB, at least 16 MiB.
    expect(defaultResidentBytes(24 * 2 ** 30)).toBe(3 * 2 ** 30);
    expect(defaultResidentBytes(2 * 2 ** 30)).toBe(512 * 2 ** 20);
    expect(defaultResidentBytes(32 * 2 ** 20)).toBe(16 * 2 ** 20);
    expect(loadConfig({ env: {} }).residentBytes).toBe(defaultResidentBytes());
    const file = path.join(dir, 'budget.json');
    fs.writeFileSync(file, JSON.stringify({ residentBytes: 2 ** 30 }));
    expect(loadConfig({ file, env: {} }).residentBytes).toBe(2 ** 30);
    expect(loadConfig({ file, env: { OPALITE_RESIDENT_BYTES: String(2 ** 28) } }).residentBytes).toBe(2 ** 28);
    expect(describeConfig(loadConfig({ file, env: {} })).residentBytes).toBe(2 ** 30);
    fs.writeFileSync(file, JSON.stringify({ residentBytes: 4 * 2 ** 30 }));
    expect(() => loadConfig({ file, env: {} })).toThrow(/budget\.json: residentBytes: .*3758096384/);
    expect(() => loadConfig({ env: { OPALITE_RESIDENT_BYTES: '1000' } })).toThrow(/environment: residentBytes: .*16777216/);
    expect(() => loadConfig({ env: { OPALITE_RESIDENT_BYTES: '2GiB' } })).toThrow(/OPALITE_RESIDENT_BYTES: expected an integer, found "2GiB"/);
  });

  it('refuses unknown settings and bad tiers with the path of the problem', () => {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ tiers: { free: { ...DEFAULT_TIERS.free, temporal: 'fortnight' } } }));
    expect(() => loadConfig({ file, env: {} })).toThrow(/tiers\.free\.temporal/);
    fs.writeFileSync(file, JSON.stringify({ signingKeyPem: '-----BEGIN PRIVATE KEY-----' }));
    expect(() => loadConfig({ file, env: {} })).toThrow(ConfigError);
  });

  it('describes itself with key paths, never key material', () => {
    const keys = createKeyPair(path.join(dir, 'k1'));
    const cfg = loadConfig({ env: { OPALITE_PUBLIC_KEYS: keys.publicKey, OPALITE_SIGNING_KEY: keys.privateKey } });
    const text = JSON.stringify(describeConfig(cfg));
    expect(text).toContain(keys.publicKey);
    expect(text).not.toContain('PRIVATE');
    expect(text).not.toContain(keys.privateKey);
  });
});

describe('keys and tokens', () => {
  it('writes key pairs 0600, never overwrites them, and mints tokens the verifier accepts', async () => {
    const k = createKeyPair(path.join(dir, 'k2'));
    expect(fs.statSync(k.privateKey).mode & 0o777).toBe(0o600);
    expect(() => createKeyPair(path.join(dir, 'k2'))).toThrow(/never overwritten/);
    const token = await mintToken(loadSigningKey(k.privateKey), { sub: 'a', tier: 'free', aud: 'x', ttl: 60, scopes: ['admin1:flows:*'] });
    const p = await new Verifier([loadPublicKey(k.publicKey)], 'x', DEFAULT_TIERS).verify(token);
    expect(p).toMatchObject({ sub: 'a', tierName: 'free', scopes: ['admin1:flows:*'] });
  });

  it('verifies RS256 tokens too', async () => {
    const k = createKeyPair(path.join(dir, 'k3'), 'RS256');
    const token = await mintToken(loadSigningKey(k.privateKey), { sub: 'r', tier: 'partner', aud: 'x', ttl: 60 });
    expect(token.split('.')[0]).toBe(Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: k.kid })).toString('base64url'));
    expect((await new Verifier([loadPublicKey(k.publicKey)], 'x', DEFAULT_TIERS).verify(token)).tierName).toBe('partner');
  });

  it('makes the development key under OPALITE_HOME once', () => {
    const home = path.join(dir, 'home');
    const a = developmentKeys(home);
    const b = developmentKeys(home);
    expect(a).toEqual(b);
    expect(a.privateKey.startsWith(home)).toBe(true);
  });

  it('reads durations', () => {
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl('12h')).toBe(43200);
    expect(parseTtl('7d')).toBe(604800);
    expect(() => parseTtl('soon')).toThrow(/duration/);
  });
});

describe('the tier check’s pieces', () => {
  const ctx = { units: ['admin1', 'admin2', 'admin3', 'cell', 'lon-lat'], days: { first: '2016-01-01', last: '2016-01-14' } };
  const parse = (json: unknown) => parseSpec(json, ctx);
  const principal = (tier: keyof typeof DEFAULT_TIERS): Principal => ({ sub: 's', tierName: tier, tier: DEFAULT_TIERS[tier]!, scopes: null, exp: 2e9 });

  it('orders units coarse to fine', () => {
    expect(unitOrder(['cell', 'admin3', 'lon-lat', 'admin1', 'admin2'])).toEqual(['admin1', 'admin2', 'admin3', 'lon-lat', 'cell']);
  });

  it('gives the frame units of a subscription, capped by the tier', () => {
    const spec = parse({ query_kind: 'unique_subscriber_counts', start_date: '2016-01-01', end_date: '2016-01-08', aggregation_unit: 'admin3' });
    const tc = { units: ctx.units, lastDay: '2016-01-14' };
    expect(frameUnits(spec, principal('partner'), tc)).toEqual(['admin1', 'admin2', 'admin3']);
    expect(frameUnits(spec, principal('free'), tc)).toEqual(['admin1', 'admin2']);
    const cell = parse({ query_kind: 'unique_subscriber_counts', start_date: '2016-01-01', end_date: '2016-01-08', aggregation_unit: 'cell' });
    expect(frameUnits(cell, principal('partner'), tc)).toEqual(['admin1', 'admin2', 'admin3', 'lon-lat', 'cell']);
    expect(frameUnits(cell, principal('premium'), tc)).toEqual(['admin1', 'admin2', 'admin3']);
  });

  it('finds the window of every nested date', () => {
    const spec = parse({
      query_kind: 'spatial_aggregate',
      locations: {
        query_kind: 'modal_location',
        locations: [
          { query_kind: 'daily_location', date: '2016-01-02', method: 'last', aggregation_unit: 'admin1' },
          { query_kind: 'daily_location', date: '2016-01-09', method: 'last', aggregation_unit: 'admin1' },
        ],
      },
    });
    const [s, e] = specWindow(spec)!;
    expect(new Date(s).toISOString().slice(0, 10)).toBe('2016-01-02');
    expect(new Date(e).toISOString().slice(0, 10)).toBe('2016-01-10');
  });

  it('names the FlowKit scopes a spec needs', () => {
    const spec = parse({ query_kind: 'spatial_aggregate', locations: { query_kind: 'daily_location', date: '2016-01-02', method: 'last', aggregation_unit: 'admin3' } });
    expect(requiredScopes(spec).sort()).toEqual(['admin3:spatial_aggregate:daily_location', 'admin3:spatial_aggregate:spatial_aggregate']);
  });
});

describe('the rate limiter', () => {
  it('slides: a query leaves the window an hour after it was made', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const p: Principal = { sub: 's', tierName: 't', tier: { ...DEFAULT_TIERS.free!, queriesPerHour: 2 }, scopes: null, exp: 2e9 };
    limiter.take(p);
    now = 1000 * 1000;
    limiter.take(p);
    expect(() => limiter.take(p)).toThrow(expect.objectContaining({ code: 'RATE_LIMITED', retryAfter: 2600 }));
    now = 3600 * 1000;
    limiter.take(p);
    expect(() => limiter.take(p)).toThrow(expect.objectContaining({ retryAfter: 1000 }));
  });
});
