/**
 * The dashboard's files (server/dashboard, bundled into dist/dashboard by
 * `npm run build`) served at `/`. Every file of the folder is read once at
 * start and registered as its own exact route, so a request can only ever
 * name one of those files: there is no path to resolve, hence no traversal
 * (anything else falls through to the REST catch-all's 404).
 *
 * Where the files are: `root` when given, else $OPALITE_DASHBOARD_DIR, else
 * found from this module's own location: dist/server/service/static.js
 * -> dist/dashboard (the build, and the deployment package, which keeps the
 * dist/ layout), or server/service/static.ts -> dist/dashboard when run
 * from the sources (tests).
 *
 * Caching: the bundler names assets by content hash (app-3FJ2K.js), so those
 * are immutable for a year; index.html, which names them, is revalidated on
 * every load (no-cache with an ETag, 304 when unchanged). Text files are
 * gzipped once at start and sent compressed to clients that accept it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, TemplatedApp } from './uws.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** A file name with a content hash from the bundler: name-HASH.ext (esbuild's [name]-[hash], 8 base32 characters). */
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9]+$/;

/**
 * Security headers for the page: everything from this origin (scripts,
 * styles, the stream socket), nothing from any other, as the issue requires
 * (no external network at run time).
 */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export interface StaticFile {
  /** URL path, e.g. /app-3FJ2KQ7A.js. */
  url: string;
  contentType: string;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
  cacheControl: string;
}

export interface DashboardOptions {
  /** Folder holding index.html and the bundles; default: see the module comment. */
  root?: string;
  log?: Pick<Logger, 'warn' | 'info'>;
}

/** The dashboard folder: the override, the environment, or the build beside this module. */
export function dashboardRoot(override?: string): string | null {
  if (override) return path.resolve(override);
  if (process.env.OPALITE_DASHBOARD_DIR) return path.resolve(process.env.OPALITE_DASHBOARD_DIR);
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/server/service -> dist/dashboard; server/service (sources) -> dist/dashboard.
  const candidates = [path.resolve(here, '../../dashboard'), path.resolve(here, '../../dist/dashboard')];
  return candidates.find((c) => fs.existsSync(path.join(c, 'index.html'))) ?? null;
}

/** Every regular file under `root` (symbolic links are not followed), as the routes they are served at. */
export function loadStaticFiles(root: string): StaticFile[] {
  const files: StaticFile[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) files.push(staticFile(root, full));
    }
  };
  walk(root);
  return files;
}

function staticFile(root: string, full: string): StaticFile {
  const rel = path.relative(root, full).split(path.sep).join('/');
  const ext = path.extname(full).toLowerCase();
  const contentType = CONTENT_TYPES[ext] ?? 'application/octet-stream';
  const body = fs.readFileSync(full);
  const compressible = /^(text\/|application\/json|image\/svg)/.test(contentType) && body.byteLength > 512;
  return {
    url: `/${rel}`,
    contentType,
    body,
    gzip: compressible ? zlib.gzipSync(body, { level: 9 }) : null,
    etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    cacheControl: HASHED.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
}

/**
 * Registers the dashboard's routes on the app: `/` (index.html) and every
 * file by its path. Without a built dashboard, `/` says how to build it.
 */
export function registerDashboard(app: TemplatedApp, opts: DashboardOptions = {}): StaticFile[] {
  const root = dashboardRoot(opts.root);
  if (!root || !fs.existsSync(path.join(root, 'index.html'))) {
    opts.log?.warn({ root }, 'dashboard not built: / explains; run npm run build');
    app.get('/', (res) => {
      res.cork(() => {
        res.writeStatus('503 Service Unavailable').writeHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end(`the dashboard is not built (expected index.html in ${root ?? 'dist/dashboard'}): run npm run build`);
      });
    });
    return [];
  }
  const files = loadStaticFiles(root);
  for (const f of files) {
    const handler = (res: HttpResponse, req: HttpRequest) => send(res, f, req.getHeader('if-none-match'), req.getHeader('accept-encoding'));
    app.get(f.url, handler);
    if (f.url === '/index.html') app.get('/', handler);
  }
  opts.log?.info({ root, files: files.length }, 'dashboard served at /');
  return files;
}

function send(res: HttpResponse, f: StaticFile, ifNoneMatch: string, acceptEncoding: string): void {
  const html = f.contentType.startsWith('text/html');
  res.cork(() => {
    if (ifNoneMatch.split(',').some((t) => t.trim() === f.etag)) {
      res.writeStatus('304 Not Modified').writeHeader('ETag', f.etag).writeHeader('Cache-Control', f.cacheControl);
      res.endWithoutBody();
      return;
    }
    res.writeStatus('200 OK').writeHeader('Content-Type', f.contentType).writeHeader('ETag', f.etag).writeHeader('Cache-Control', f.cacheControl);
    res.writeHeader('Vary', 'Accept-Encoding');
    if (html) for (const [k, v] of Object.entries(PAGE_HEADERS)) res.writeHeader(k, v);
    const gzip = f.gzip && /\bgzip\b/.test(acceptEncoding);
    if (gzip) res.writeHeader('Content-Encoding', 'gzip');
    res.end(gzip ? f.gzip! : f.body);
  });
}
