/**
 * CORS for the REST API: which browser pages (origins) may call it. None by
 * default: an operator lists the dashboard's origin (config cors.origins).
 * Tokens travel in the Authorization header, never in cookies, so an allowed
 * origin gains nothing a token does not grant; the list only decides which
 * pages the browser lets read the answers.
 */
import type { Headers } from './http.js';

/** Methods the API answers to; a preflight asking for another is refused. */
const METHODS = ['GET', 'POST'];
/** Request headers a page may send: the bearer token and the spec's content type. */
const ALLOWED_HEADERS = ['authorization', 'content-type'];
/** Response headers a page may read besides the simple ones: /run's Location, 503/429's Retry-After, downloads' name. */
const EXPOSED = 'Location, Retry-After, Content-Disposition';
/** Seconds a browser may reuse a preflight answer. */
const MAX_AGE = '600';

export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  return origin !== '' && (allowed.includes('*') || allowed.includes(origin));
}

/** Headers for an actual (non-preflight) response to `origin`: none when it is not allowed. */
export function corsHeaders(origin: string, allowed: readonly string[]): Headers {
  if (!originAllowed(origin, allowed)) return {};
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSED, Vary: 'Origin' };
}

export type Preflight = { ok: true; headers: Headers } | { ok: false; why: string };

/** The answer to an OPTIONS preflight: what the page may send, or why it may not. */
export function preflight(origin: string, method: string, requestHeaders: string, allowed: readonly string[]): Preflight {
  if (!originAllowed(origin, allowed)) {
    return { ok: false, why: `origin: expected one of the configured cors.origins, found ${JSON.stringify(origin.slice(0, 200))}` };
  }
  const m = method.toUpperCase();
  if (!METHODS.includes(m)) return { ok: false, why: `Access-Control-Request-Method: expected ${METHODS.join(' or ')}, found ${JSON.stringify(method.slice(0, 40))}` };
  const asked = requestHeaders
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const refused = asked.filter((h) => !ALLOWED_HEADERS.includes(h));
  if (refused.length > 0) {
    return { ok: false, why: `Access-Control-Request-Headers: expected only ${ALLOWED_HEADERS.join(', ')}, found ${refused.join(', ').slice(0, 200)}` };
  }
  return {
    ok: true,
    headers: {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Methods': METHODS.join(', '),
      'Access-Control-Allow-Headers': 'Authorization, Content-Type',
      'Access-Control-Max-Age': MAX_AGE,
      Vary: 'Origin',
    },
  };
}
