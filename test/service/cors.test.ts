/**
 * CORS: no origin is allowed by default; a configured origin gets its
 * preflight answered (204, Authorization among the allowed headers, GET and
 * POST) and its responses carry Access-Control-Allow-Origin with Location and
 * Retry-After exposed; any other origin, method or header is refused.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Harness, sampleStore, specs, startHarness } from './helpers.js';

const DASHBOARD = 'https://dashboard.example.org';
let root: string;
let open: Harness;
let closed: Harness;

beforeAll(async () => {
  root = await sampleStore();
  open = await startHarness(root, { tweak: (c) => (c.cors.origins = [DASHBOARD]) });
  closed = await startHarness(root);
}, 120_000);
afterAll(async () => {
  await open?.close();
  await closed?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const preflight = (h: Harness, path: string, origin: string, method = 'POST', headers = 'authorization, content-type') =>
  fetch(`${h.api}${path}`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
  });

describe('CORS', () => {
  it('answers a configured origin’s preflight with the methods and the Authorization header', async () => {
    const r = await preflight(open, '/run', DASHBOARD);
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    expect(r.headers.get('access-control-allow-methods')!.split(/,\s*/).sort()).toEqual(['GET', 'POST']);
    expect(r.headers.get('access-control-allow-headers')!.toLowerCase().split(/,\s*/)).toEqual(expect.arrayContaining(['authorization', 'content-type']));
    expect(r.headers.get('vary')).toBe('Origin');
    expect(Number(r.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    // A download route too: the preflight does not depend on the path.
    expect((await preflight(open, '/get/' + 'a'.repeat(64) + '.csv', DASHBOARD, 'GET', 'authorization')).status).toBe(204);
  });

  it('refuses a preflight from another origin, for another method or with another header', async () => {
    // Not an allowed origin: nothing that lets the page read even the refusal.
    for (const r of [await preflight(open, '/run', 'https://evil.example.com'), await preflight(closed, '/run', DASHBOARD)]) {
      expect(r.status).toBe(403);
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      expect(r.headers.get('access-control-allow-methods')).toBeNull();
      expect(((await r.json()) as { code: string }).code).toBe('CORS_REFUSED');
    }
    // The allowed origin asking for more than the API takes: refused (a non-2xx preflight fails in the browser),
    // with the reason readable by its page.
    for (const [r, field] of [
      [await preflight(open, '/run', DASHBOARD, 'DELETE'), /Access-Control-Request-Method: expected GET or POST, found "DELETE"/],
      [await preflight(open, '/run', DASHBOARD, 'POST', 'authorization, x-forwarded-for'), /Access-Control-Request-Headers: .*found x-forwarded-for/],
    ] as const) {
      expect(r.status).toBe(403);
      expect(r.headers.get('access-control-allow-methods')).toBeNull();
      expect(((await r.json()) as { msg: string }).msg).toMatch(field);
    }
  });

  it('marks the responses to a configured origin, and only those', async () => {
    const token = await open.token('premium');
    const run = await fetch(`${open.api}/run`, { method: 'POST', headers: { ...auth(token), Origin: DASHBOARD }, body: JSON.stringify(specs.daily('admin1')) });
    expect(run.status).toBe(202);
    expect(run.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    expect(run.headers.get('access-control-expose-headers')).toMatch(/Location/);
    expect(run.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
    // Errors too, so that the page can read why.
    const refused = await fetch(`${open.api}/available_dates`, { headers: { Origin: DASHBOARD } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(DASHBOARD);

    const other = await fetch(`${open.api}/available_dates`, { headers: { ...auth(token), Origin: 'https://evil.example.com' } });
    expect(other.status).toBe(200); // the browser, not the server, withholds it: no allow header
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const byDefault = await fetch(`${closed.api}/available_dates`, { headers: { ...auth(await closed.token('premium')), Origin: DASHBOARD } });
    expect(byDefault.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('rejects a configured origin with a path, naming the field', async () => {
    const { parseConfigFile } = await import('../../server/service/config.js');
    expect(() => parseConfigFile({ cors: { origins: ['https://dashboard.example.org/app'] } }, 'opalite.json')).toThrow(/opalite\.json: cors\.origins\.0: expected "\*" or an origin/);
  });
});
