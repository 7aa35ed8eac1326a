/**
 * The dashboard's files as the service serves them (server/service/static.ts):
 * content types, caching (hashed assets immutable, index.html revalidated),
 * gzip, the page's security headers, and nothing but the folder's own files:
 * traversal, encoded traversal and symbolic links out of it are all 404.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardRoot } from '../../server/service/static.js';
import { type Harness, sampleStore, startHarness } from '../service/helpers.js';

let h: Harness;
let dir: string;
const SCRIPT = 'console.log("dashboard");\n'.repeat(40);

beforeAll(async () => {
  const root = await sampleStore();
  dir = path.join(root, 'dashboard');
  fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="/app-ABCD2345.js"></script>');
  fs.writeFileSync(path.join(dir, 'app-ABCD2345.js'), SCRIPT);
  fs.writeFileSync(path.join(dir, 'assets', 'style.css'), 'body { margin: 0 }');
  fs.writeFileSync(path.join(root, 'secret.txt'), 'not for the web');
  fs.symlinkSync(path.join(root, 'secret.txt'), path.join(dir, 'linked.txt'));
  process.env.OPALITE_DASHBOARD_DIR = dir;
  try {
    h = await startHarness(root);
  } finally {
    delete process.env.OPALITE_DASHBOARD_DIR;
  }
}, 60_000);

afterAll(async () => {
  await h.close();
  fs.rmSync(h.root, { recursive: true, force: true });
});

/** A raw request (fetch would normalise ../ away before sending it). */
async function raw(target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; bytes: Buffer }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(`${h.base}/`, { path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, body: bytes.toString(), bytes });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard files', () => {
  it('serves index.html at / with the page headers, revalidated by ETag', async () => {
    const r = await fetch(`${h.base}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await r.text()).toContain('app-ABCD2345.js');
    const etag = r.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${h.base}/index.html`, { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
  });

  it('serves hashed assets as immutable, gzipped when the client accepts it, with their content types', async () => {
    const r = await fetch(`${h.base}/app-ABCD2345.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // fetch decodes gzip itself: the body is the file, and the header says it came compressed.
    expect(r.headers.get('content-encoding')).toBe('gzip');
    expect(await r.text()).toBe(SCRIPT);
    const gz = await raw('/app-ABCD2345.js', { 'Accept-Encoding': 'gzip' });
    expect(gz.bytes.byteLength).toBeLessThan(SCRIPT.length);
    expect(zlib.gunzipSync(gz.bytes).toString()).toBe(SCRIPT);
    expect((await raw('/app-ABCD2345.js')).body).toBe(SCRIPT);
    const css = await fetch(`${h.base}/assets/style.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('cache-control')).toBe('no-cache');
  });

  it('serves nothing outside the folder: traversal, encoded traversal and links are 404', async () => {
    for (const target of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/linked.txt', '/assets/', '/nope.js']) {
      const r = await raw(target);
      expect(r.status, target).toBe(404);
      expect(r.body, target).not.toContain('not for the web');
    }
  });

  it('still answers the API beside the files', async () => {
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.api}/geography/admin1`)).status).toBe(401);
  });

  it('finds the build beside its own module when not told where', () => {
    const root = dashboardRoot();
    // The build (npm run build, which CI runs before the tests) puts the page in dist/dashboard.
    expect(root).toBe(path.resolve('dist/dashboard'));
    expect(fs.existsSync(path.join(root!, 'index.html'))).toBe(true);
    expect(dashboardRoot('/somewhere/else')).toBe('/somewhere/else');
  });
});
