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
});
