/**
 * The HTTP edge over uWS: one Exchange per request. It registers onAborted
 * at once (before any await), reads what it needs of the request while the
 * stack-allocated HttpRequest is valid, reads a bounded body (copying each
 * chunk: uWS reuses the ArrayBuffer), writes every response corked, and
 * writes large bodies with tryEnd/onWritable so a slow reader costs only the
 * bytes it has not taken yet. Errors become FlowKit-style JSON: {status, code,
 * msg} (and every spec problem under `errors`).
 */
import { AuthError, OpaliteError } from '../errors.js';
import { SpecErrors } from '../engine/spec.js';
import type { PrometheusMetrics } from './prometheus.js';
import { retryAfterOf } from './ratelimit.js';
import type { HttpRequest, HttpResponse } from './uws.js';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  202: 'Accepted',
  204: 'No Content',
  303: 'See Other',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Headers the response must carry (Allow with a 405). */
    readonly headers: Headers = {},
  ) {
    super(message);
  }
}

/** The HTTP status of an error thrown by a handler. */
export function statusOf(e: unknown): number {
  if (e instanceof HttpError) return e.status;
  if (e instanceof OpaliteError && e.code === 'BUSY') return 503;
  if (e instanceof SpecErrors || (e instanceof OpaliteError && e.name === 'SpecError')) return 400;
  if (e instanceof AuthError) {
    if (e.code === 'RATE_LIMITED' || e.code === 'PRIVACY_BUDGET') return 429;
    if (e.code.startsWith('TOKEN_')) return 401;
    return 403;
  }
  return 500;
}

export type Headers = Record<string, string>;

export class Exchange {
  aborted = false;
  responded = false;
  readonly method: string;
  readonly url: string;
  readonly query: string;
  readonly authorization: string;
  readonly contentLength: number | undefined;
  /** The Origin header ('' when absent) and a preflight's Access-Control-Request-* headers. */
  readonly origin: string;
  readonly requestMethod: string;
  readonly requestHeaders: string;
  /** Headers every response carries (CORS), set by the route before the handler runs. */
  common: Headers = {};
  private abortHooks: (() => void)[] = [];
  /** Runs once, just before the response is written (the audit entry); a throw turns the response into a 500. */
  beforeSend?: (status: number) => void;
  onHookFailure?: (e: unknown) => void;

  constructor(
    readonly res: HttpResponse,
    req: HttpRequest,
    readonly route: string,
    private readonly metrics: PrometheusMetrics,
    readonly params: string[] = [],
  ) {
    res.onAborted(() => {
      this.aborted = true;
      for (const h of this.abortHooks) h();
    });
    this.method = req.getMethod();
    this.url = req.getUrl();
    this.query = req.getQuery() ?? '';
    this.authorization = req.getHeader('authorization');
    this.origin = req.getHeader('origin');
    this.requestMethod = req.getHeader('access-control-request-method');
    this.requestHeaders = req.getHeader('access-control-request-headers');
    const cl = req.getHeader('content-length');
    this.contentLength = cl === '' ? undefined : Number(cl);
  }

  onAbort(h: () => void): void {
    this.abortHooks.push(h);
  }

  queryParam(name: string): string | undefined {
    return new URLSearchParams(this.query).get(name) ?? undefined;
  }

  private bodyPromise: Promise<Buffer> | undefined;

  /**
   * Starts reading the body, at most `limit` bytes (else HttpError 413). Must
   * be called before the handler first returns: uWS delivers body chunks
   * right after it and drops them when no onData is attached.
   */
  readBody(limit: number): void {
    if (this.bodyPromise) return;
    if (this.contentLength !== undefined && this.contentLength > limit) {
      this.bodyPromise = Promise.reject(tooLarge(limit, this.contentLength));
      this.bodyPromise.catch(() => {});
      return;
    }
    this.bodyPromise = new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      this.onAbort(() => reject(new HttpError(400, 'ABORTED', 'the client went away')));
      this.res.onData((chunk, isLast) => {
        if (over) return;
        size += chunk.byteLength;
        if (size > limit) {
          over = true;
          reject(tooLarge(limit, size));
          return;
        }
        // Copy: uWS neuters the ArrayBuffer when this callback returns.
        chunks.push(Buffer.from(new Uint8Array(chunk)));
        if (isLast) resolve(Buffer.concat(chunks, size));
      });
    });
    this.bodyPromise.catch(() => {});
  }

  /** The body readBody started reading. */
  body(): Promise<Buffer> {
    if (!this.bodyPromise) throw new Error('Exchange.body: readBody was not called in the request handler');
    return this.bodyPromise;
  }

  json(status: number, value: unknown, headers: Headers = {}): void {
    this.send(status, Buffer.from(JSON.stringify(value)), { 'Content-Type': 'application/json', ...headers });
  }

  text(status: number, body: string, contentType = 'text/plain; charset=utf-8', headers: Headers = {}): void {
    this.send(status, Buffer.from(body), { 'Content-Type': contentType, ...headers });
  }

  /** A redirect (303 See Other) to `location`. */
  seeOther(location: string, value: unknown): void {
    this.json(303, value, { Location: location });
  }

  /** An error as FlowKit-style JSON with the status its type calls for. */
  fail(e: unknown, onInternal?: (e: unknown) => void): void {
    const status = statusOf(e);
    const headers: Headers = {};
    if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
    const retry = retryAfterOf(e);
    if (status === 429 && retry !== undefined) headers['Retry-After'] = String(retry);
    if (status === 503) headers['Retry-After'] = String((e as { retryAfter?: number }).retryAfter ?? 5);
    if (status === 500 && !(e instanceof HttpError)) {
      onInternal?.(e);
      this.json(500, { status: 'error', code: 'INTERNAL', msg: 'internal error; the server log has the details' }, headers);
      return;
    }
    const err = e as OpaliteError;
    const body: Record<string, unknown> = { status: 'error', code: err.code, msg: err.message };
    if (e instanceof SpecErrors) body.errors = e.issues;
    if (e instanceof HttpError) Object.assign(headers, e.headers);
    if (e instanceof HttpError && e.status === 413) headers.Connection = 'close';
    this.json(status, body, headers);
  }

  /**
   * Writes status, headers and body, corked. A body the socket does not take
   * at once is written on as the client reads (onWritable), never copied.
   */
  send(status: number, body: Uint8Array, headers: Headers = {}): void {
    if (this.responded || this.aborted) return;
    if (this.beforeSend) {
      const hook = this.beforeSend;
      this.beforeSend = undefined;
      try {
        hook(status);
      } catch (e) {
        // Nothing leaves unrecorded: a failed audit write (a full disk) withholds the response, and the
        // client may try again once the operator has made room.
        this.onHookFailure?.(e);
        status = 503;
        body = Buffer.from(JSON.stringify({ status: 'error', code: 'AUDIT_FAILED', msg: 'the audit log could not be written; nothing was returned' }));
        headers = { 'Content-Type': 'application/json', 'Retry-After': '30' };
      }
    }
    this.responded = true;
    headers = { ...this.common, ...headers };
    this.metrics.requests.inc({ route: this.route, status: String(status) });
    const res = this.res;
    const close = headers.Connection === 'close';
    res.cork(() => {
      res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`.trim());
      for (const [k, v] of Object.entries(headers)) if (k !== 'Connection') res.writeHeader(k, v);
      if (close) {
        res.end(body, true);
        return;
      }
      const total = body.byteLength;
      const start = res.getWriteOffset();
      const [ok, done] = res.tryEnd(body, total);
      if (done || ok) return;
      let pending = total - (res.getWriteOffset() - start);
      this.metrics.httpBytesPending += pending;
      const settle = () => {
        this.metrics.httpBytesPending -= pending;
        pending = 0;
      };
      this.onAbort(settle);
      res.onWritable((offset) => {
        const [ok2, done2] = res.tryEnd(body.subarray(offset - start), total);
        const left = done2 ? 0 : total - (res.getWriteOffset() - start);
        this.metrics.httpBytesPending += left - pending;
        pending = left;
        return ok2;
      });
    });
  }
}

function tooLarge(limit: number, found: number): HttpError {
  return new HttpError(413, 'BODY_TOO_LARGE', `request body: expected at most ${limit} bytes, found ${found} or more`);
}
