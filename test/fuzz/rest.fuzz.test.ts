/** Hostile REST requests: traversal attempts, garbage ids and bodies get 4xx, never a file or a crash. */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Harness, sampleStore, startHarness } from '../service/helpers.js';
import { rng } from '../util/rng.js';

let h: Harness;
let token: string;
beforeAll(async () => {
  h = await startHarness(await sampleStore());
  token = await h.token('partner');
}, 120_000);
afterAll(async () => {
  await h.close();
  fs.rmSync(h.root, { recursive: true, force: true });
});

describe('REST fuzz', () => {
  it('refuses path traversal through every parameter', async () => {
    for (const p of [
      '/get/..%2F..%2F..%2Fetc%2Fpasswd',
      '/get/../../store.json',
      '/poll/%2e%2e%2f%2e%2e%2fstore.json',
      '/geography/..%2F..%2Fdims',
      '/geography/%2Fetc%2Fpasswd',
      '/indicators/..%2F..%2Fpackage.json',
      '/get/' + 'a'.repeat(64) + '.json%00.csv',
    ]) {
      const r = await fetch(`${h.api}${p}`, { headers: auth(token) });
      const body = await r.text();
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.status, p).toBeLessThan(500);
      expect(body, p).not.toMatch(/root:|"format":"opalite-store|BEGIN .*KEY/);
    }
  });

  it('answers 300 random bodies at /run with 4xx and keeps serving', async () => {
    const r = rng(5);
    for (let i = 0; i < 300; i++) {
      const len = Math.floor(r() * 2000);
      const body = r() < 0.5 ? Buffer.from(Array.from({ length: len }, () => Math.floor(r() * 256))) : JSON.stringify({ query_kind: 'x'.repeat(len), locations: [[[[i]]]] });
      const res = await fetch(`${h.api}/run`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body });
      await res.arrayBuffer();
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
  }, 60_000);

  it('answers a known route asked with the wrong method with 405 and the method it takes', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/api/0/run', 'POST'],
      ['POST', '/healthz', 'GET'],
      ['DELETE', '/api/0/get/' + 'a'.repeat(64), 'GET'],
      ['PUT', '/api/0/geography/admin1', 'GET'],
    ];
    for (const [method, p, allow] of cases) {
      const r = await fetch(`${h.base}${p}`, { method, headers: auth(token) });
      await r.arrayBuffer();
      expect(r.status, `${method} ${p}`).toBe(405);
      expect(r.headers.get('allow')).toBe(allow);
    }
    expect((await fetch(`${h.base}/api/0/nothing`, { headers: auth(token) })).status).toBe(404);
  });

  // Issue #14: malformed percent-encoding threw URIError (500); 30,000 nested lists overflowed the stack (500);
  // histogram n_bins 4,294,967,295 failed allocating (500) and 2,000,000 held the server for 27 s.
  it('answers malformed percent-encoding in a path with 400 naming the segment', async () => {
    for (const p of ['/geography/%E0%A4%A', '/geography/%ZZ', '/indicators/%E0%A4%A?unit=admin1', '/indicators/%C0/series?unit=admin1']) {
      const r = await fetch(`${h.api}${p}`, { headers: auth(token) });
      const body = (await r.json()) as { code: string; msg: string };
      expect(r.status, p).toBe(400);
      expect(body.code, p).toBe('BAD_PATH');
      expect(body.msg, p).toMatch(/expected percent-encoded UTF-8, found "%/);
    }
  });

  it('answers deeply nested bodies and oversized specs with 400, quickly', async () => {
    const post = (body: string) => fetch(`${h.api}/run`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body });
    const nested = '['.repeat(30_000) + ']'.repeat(30_000);
    for (const body of [nested, `{"query_kind":"spatial_aggregate","locations":${nested}}`, `{"specs":[${nested}]}`]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { msg: string }).msg).toMatch(/expected JSON nested at most 64 levels deep/);
    }
    const series = await fetch(`${h.api}/series`, { method: 'POST', headers: auth(token), body: `{"specs":[${nested}]}` });
    expect(series.status).toBe(400);
    expect(((await series.json()) as { msg: string }).msg).toMatch(/^specs\[0\]: .*nested at most 64 levels/);
    for (const n of [2_000_000, 4_294_967_295]) {
      const t0 = performance.now();
      const r = await post(JSON.stringify({ query_kind: 'histogram_aggregate', metric: { query_kind: 'event_count', start_date: '2016-01-01', end_date: '2016-01-03' }, bins: { n_bins: n } }));
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ errors: [{ path: 'bins.n_bins', message: expect.stringMatching(/<= 10000/) }] });
      expect(performance.now() - t0).toBeLessThan(2000);
    }
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
  });
});
