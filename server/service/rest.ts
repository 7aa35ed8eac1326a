/**
 * FlowKit's REST routes under /api/0 (docs/SERVICE.md): run, poll, get,
 * geography, available_dates, the OpenAPI document; plus /healthz and
 * /metrics (metrics:read scope) for operators. Every /api/0 request, refused or not, is written
 * to the audit log before its response leaves.
 *
 * Access: every route but the OpenAPI document needs a token. A query's
 * tier check runs at /run and again at /poll and /get against the job's
 * spec: query ids are content hashes anyone can compute, so holding an id
 * grants nothing the token could not have asked for itself.
 */
import { readFile } from 'node:fs/promises';
import { type Engine, protectionKey, type QueryResult } from '../engine/engine.js';
import type { Charge } from '../privacy/dp/accountant.js';
import { answerPrivacy, auditBudget, chargeFor, indicatorOptions, indicatorPrivacy, protectionFor } from './protection.js';
import { EVENT_TYPES, outputUnit, type QuerySpec, type Temporal } from '../engine/spec.js';
import { SpecError } from '../errors.js';
import { type Format, FORMATS, serialiseSliced } from '../format/formats.js';
import { summarise } from '../store/summary.js';
import { bearerOf, requireScopes, type Principal } from './auth.js';
import { tierContext, type ServiceContext } from './context.js';
import { type Action, requireClaims } from './flowkit-claims.js';
import { geographyOf, resultGeoJson } from './geojson.js';
import { corsHeaders, preflight } from './cors.js';
import { Exchange, HttpError } from './http.js';
import { type Job, pollProgress } from './jobs.js';
import { openApiDocument } from './openapi.js';
import { checkDownload, checkGeography, checkIndicator, checkSpec } from './tiers.js';
import { CATALOG, type IndicatorResult, period, periods, type Period, SeriesRangeError, seriesPeriods, type TemporalResolution } from '../indicators/index.js';
import type { TemplatedApp } from './uws.js';

export const API = '/api/0';
const VERSION = '0.1.0';

type RestFormat = Format | 'geojson';
const REST_FORMATS: readonly RestFormat[] = [...FORMATS, 'geojson'];
const CONTENT_TYPE: Record<RestFormat, string> = {
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  geojson: 'application/geo+json',
  parquet: 'application/vnd.apache.parquet',
  arrow: 'application/vnd.apache.arrow.file',
};
const QUERY_ID = /^[0-9a-f]{64}$/;
/** The most periods one series request may ask for: a year of days, with room. */
export const MAX_SERIES_PERIODS = 400;

/** A period's calendar window [start, end) in ms, as the tier check reads it. */
const periodWindow = (p: Period): [number, number] => [Date.parse(`${p.start}T00:00:00Z`), Date.parse(`${p.end}T00:00:00Z`)];

/** What a handler learnt, for the audit entry. */
interface Audited {
  who?: Principal;
  spec?: QuerySpec;
  queryId?: string;
  rows?: number;
  withheld?: number;
  detail?: string;
  /** The privacy budget after this request (DP tiers): what the oversight committee reads. */
  charge?: Charge | null;
}

type Handler = (ex: Exchange, a: Audited) => Promise<void> | void;

export function registerRest(app: TemplatedApp, ctx: ServiceContext, inflight: { count: number; idle?: () => void }): void {
  const route = (method: 'get' | 'post' | 'options' | 'any', pattern: string, name: string, handler: Handler, opts: { audit?: boolean; params?: number } = {}) => {
    app[method](pattern, (res, req) => {
      const params = Array.from({ length: opts.params ?? 0 }, (_, i) => req.getParameter(i));
      const ex = new Exchange(res, req, name, ctx.metrics, params);
      ex.common = corsHeaders(ex.origin, ctx.config.cors.origins);
      if (method === 'post') ex.readBody(ctx.config.limits.maxBodyBytes);
      const a: Audited = {};
      const record = (status: number | string) => {
        if (opts.audit === false) return;
        ctx.audit.append({
          sub: a.who?.sub ?? null,
          tier: a.who?.tierName ?? null,
          op: `${ex.method.toUpperCase()} ${name}`,
          status,
          ...(a.spec ? { spec: a.spec } : {}),
          ...(a.queryId ? { query_id: a.queryId } : {}),
          ...(a.rows !== undefined ? { rows: a.rows, withheld: a.withheld } : {}),
          ...(a.detail ? { detail: a.detail } : {}),
          ...auditBudget(a.charge),
        });
      };
      ex.beforeSend = record;
      ex.onHookFailure = (err) => ctx.log.error({ err }, 'audit write failed; response withheld');
      inflight.count++;
      Promise.resolve()
        .then(() => handler(ex, a))
        .catch((e: unknown) => {
          if (!(e instanceof HttpError || e instanceof SpecError)) a.detail ??= (e as { code?: string })?.code;
          ex.fail(e, (err) => ctx.log.error({ err, route: name }, 'request failed'));
        })
        .finally(() => {
          try {
            if (!ex.responded) record('aborted');
          } catch (err) {
            ctx.log.error({ err }, 'audit write failed');
          }
          if (--inflight.count === 0) inflight.idle?.();
        });
    });
  };

  const principal = async (ex: Exchange, a: Audited) => {
    a.who = await ctx.verifier.verify(bearerOf(ex.authorization));
    return a.who;
  };

  /** The job of a path's id, checked against the caller's tier (and FlowAuth claims for `actions`, as FlowAPI's poll and get ask). */
  const jobFor = (a: Audited, who: Principal, id: string, actions: readonly Action[]): Job => {
    if (!QUERY_ID.test(id)) throw new HttpError(404, 'UNKNOWN_QUERY', `query id: expected 64 hex digits, found ${JSON.stringify(id.slice(0, 80))}`);
    a.queryId = id;
    const job = ctx.jobs.get(id);
    if (!job) throw new HttpError(404, 'UNKNOWN_QUERY', `query ${id}: no such query (never run, or forgotten: run it again)`);
    a.spec = job.spec;
    checkSpec(job.spec, who, tierContext(ctx), actions);
    // Ids are public hashes: a token reads only answers protected as its own tier's are (no cheaper noise, no exact values).
    if (job.protection !== protectionKey(protectionFor(ctx, who))) {
      throw new HttpError(404, 'UNKNOWN_QUERY', `query ${id}: no such query under this token's protection (run it with this token)`);
    }
    return job;
  };

  const unfinished = (ex: Exchange, job: Job) => {
    if (job.status === 'errored') {
      ex.json(500, { status: 'errored', code: job.error!.code, msg: job.error!.message });
      return true;
    }
    if (job.status !== 'completed') {
      // FlowAPI's shape (query_endpoints.py poll_query), which FlowClient reads; `fraction` is Opalite's own extra.
      ex.json(202, { status: job.status, msg: `query ${job.id} is ${job.status}`, progress: { ...pollProgress(job), fraction: job.fraction } });
      return true;
    }
    return false;
  };

  route('post', `${API}/run`, '/api/0/run', async (ex, a) => {
    const who = await principal(ex, a);
    if (ctx.closing) throw new HttpError(503, 'SHUTTING_DOWN', 'the service is shutting down; run the query again on its next start');
    const body = await ex.body();
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new SpecError('BAD_JSON', `request body: expected a JSON query spec, found text that does not parse (${(e as Error).message})`);
    }
    const spec = ctx.engine.parse(json);
    a.spec = spec;
    checkSpec(spec, who, tierContext(ctx));
    const protection = protectionFor(ctx, who);
    ctx.engine.assertReleasable(spec, protection);
    ctx.limiter.take(who);
    // The budget pays before anything runs; the same query again is free (it gets the same answer).
    a.charge = chargeFor(ctx, who, [ctx.engine.queryId(spec, protection)]);
    const job = ctx.jobs.submit(json, spec, protection);
    a.queryId = job.id;
    a.detail = job.status;
    ex.json(202, { query_id: job.id, progress: pollProgress(job) }, { Location: `${API}/poll/${job.id}` });
  });

  // Several FlowKit specs in one request (a raw aggregate over a range of periods, for the dashboard's graph and
  // comparisons): each parsed and tier-checked as /run would (a refusal names specs[i]), run one after another through
  // the same jobs (so each result is also at /get/<query_id>), answered with /get's JSON of each, in order. Each spec
  // costs one unit of the rate limit (issue #13: 400 specs for one unit made the limit moot); running them in turn
  // keeps one request to one execution slot.
  route('post', `${API}/series`, '/api/0/series', async (ex, a) => {
    const who = await principal(ex, a);
    if (ctx.closing) throw new HttpError(503, 'SHUTTING_DOWN', 'the service is shutting down; ask again on its next start');
    const body = await ex.body();
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new SpecError('BAD_JSON', `request body: expected JSON {"specs": [query spec, ...]}, found text that does not parse (${(e as Error).message})`);
    }
    const list = (json as { specs?: unknown } | null)?.specs;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SERIES_PERIODS) {
      throw new SpecError('BAD_SERIES', `specs: expected an array of 1 to ${MAX_SERIES_PERIODS} query specs, found ${Array.isArray(list) ? `${list.length} specs` : JSON.stringify(list)?.slice(0, 40) ?? 'nothing'}`);
    }
    const tc = tierContext(ctx);
    const protection = protectionFor(ctx, who);
    const parsed = list.map((one, i) => {
      try {
        const spec = ctx.engine.parse(one);
        checkSpec(spec, who, tc, ['run', 'get_result']); // runs and answers with the results
        ctx.engine.assertReleasable(spec, protection);
        return { json: one, spec };
      } catch (e) {
        if (e instanceof Error) e.message = `specs[${i}]: ${e.message}`;
        throw e;
      }
    });
    a.detail = `${parsed.length} specs`;
    ctx.limiter.take(who, parsed.length); // one unit per spec, as many /run requests would cost
    // Every spec is a query of its own for the budget: all paid at once, or none.
    const charge = (a.charge = chargeFor(ctx, who, parsed.map((p) => ctx.engine.queryId(p.spec, protection))));
    const results: { query_id: string; query_result: QueryResult['rows']; privacy: QueryResult['privacy'] }[] = [];
    let withheld = 0;
    for (const [i, p] of parsed.entries()) {
      if (ex.aborted) return;
      const job = ctx.jobs.submit(p.json, p.spec, protection);
      const result = await job.done;
      if (!result) throw new HttpError(500, job.error!.code, `specs[${i}]: ${job.error!.message}`);
      results.push({ query_id: result.query_id, query_result: result.rows, privacy: answerPrivacy(result.privacy, charge) });
      withheld += result.withheld;
    }
    a.rows = results.reduce((n, r) => n + r.query_result.length, 0);
    a.withheld = withheld;
    ex.json(200, { results });
  });

  route(
    'get',
    `${API}/poll/:id`,
    '/api/0/poll',
    async (ex, a) => {
      const who = await principal(ex, a);
      const job = jobFor(a, who, ex.params[0]!, ['run', 'get_result']);
      if (unfinished(ex, job)) return;
      ex.seeOther(`${API}/get/${job.id}`, { status: 'completed', msg: `query ${job.id} is ready` });
    },
    { params: 1 },
  );

  route(
    'get',
    `${API}/get/:id`,
    '/api/0/get',
    async (ex, a) => {
      const who = await principal(ex, a);
      const m = /^([^.]*)(?:\.(.+))?$/.exec(ex.params[0]!)!;
      const format = (m[2] ?? 'json') as RestFormat;
      if (!REST_FORMATS.includes(format)) {
        throw new HttpError(404, 'UNKNOWN_FORMAT', `format: expected one of .${REST_FORMATS.join(', .')}, found .${m[2]}`);
      }
      a.detail = format;
      const job = jobFor(a, who, m[1]!, ['get_result']);
      checkDownload(format, who);
      if (unfinished(ex, job)) return;
      const result = job.result!;
      // Whoever reads an answer pays for it once (a token reading another's query id included).
      a.charge = chargeFor(ctx, who, [job.id]);
      const privacy = answerPrivacy(result.privacy, a.charge);
      // FlowKit's JSON with the answer's protection beside query_result (FlowClient ignores extra keys); per token (its budget).
      const body =
        format === 'json'
          ? Buffer.from(JSON.stringify({ query_id: result.query_id, query_result: result.rows, privacy }))
          : await ctx.bodies.through(`${job.id}.${format}`, async () => {
              if (format === 'geojson') return Buffer.from(JSON.stringify(resultGeoJson(result, outputUnit(job.spec), ctx.engine)));
              return serialiseSliced(result, format);
            });
      a.rows = result.rows.length;
      a.withheld = result.withheld;
      const headers: Record<string, string> = { 'Content-Type': CONTENT_TYPE[format], 'X-Opalite-Privacy': JSON.stringify(privacy) };
      if (format !== 'json') headers['Content-Disposition'] = `attachment; filename="${job.id}.${format}"`;
      ex.send(200, body, headers);
    },
    { params: 1 },
  );

  route(
    'get',
    `${API}/geography/:unit`,
    '/api/0/geography',
    async (ex, a) => {
      const who = await principal(ex, a);
      const unit = pathParam(ex.params[0]!, 'geography unit');
      a.detail = unit;
      const tc = tierContext(ctx);
      if (!tc.units.includes(unit)) {
        throw new HttpError(404, 'UNKNOWN_UNIT', `geography: expected an aggregation unit of this store (${tc.units.join(', ')}), found ${JSON.stringify(unit)}`);
      }
      checkGeography(unit, who, tc);
      const body = await ctx.bodies.through(`geography.${unit}`, () => Buffer.from(JSON.stringify(geographyOf(ctx.engine, unit))));
      ex.send(200, body, { 'Content-Type': CONTENT_TYPE.geojson });
    },
    { params: 1 },
  );

  // OPAL indicators: the catalog, and one indicator for a unit and period, tier-checked at its published resolution.
  route('get', `${API}/indicators`, '/api/0/indicators', async (ex, a) => {
    await principal(ex, a);
    ex.json(200, {
      indicators: CATALOG.map((d) => ({ id: d.id, category: d.category, unit: d.unit, shape: d.shape, description: d.description, spatial: d.spatial, temporal: d.temporal })),
    });
  });
  /** The indicator of the path and its unit and resolution, checked against the catalog and the store (400/404 naming the field). */
  const indicatorAsked = (ex: Exchange, a: Audited) => {
    const id = pathParam(ex.params[0]!, 'indicator');
    const known = CATALOG.find((d) => d.id === id);
    if (!known) throw new HttpError(404, 'UNKNOWN_INDICATOR', `indicator: expected one of ${CATALOG.map((d) => d.id).join(', ')}, found ${JSON.stringify(id.slice(0, 80))}`);
    const unit = ex.queryParam('unit') ?? 'admin1';
    const resolution = (ex.queryParam('resolution') ?? 'month') as TemporalResolution;
    a.detail = `${id} ${unit} ${resolution}`;
    const tc = tierContext(ctx);
    if (!tc.units.includes(unit) || !(known.spatial as readonly string[]).includes(unit)) {
      const units = tc.units.filter((u) => (known.spatial as readonly string[]).includes(u));
      throw new HttpError(400, 'UNKNOWN_UNIT', `unit: expected one of ${units.join(', ')} (the store's units this indicator is published at), found ${JSON.stringify(unit)}`);
    }
    if (!(known.temporal as readonly string[]).includes(resolution)) {
      throw new HttpError(400, 'BAD_RESOLUTION', `resolution: expected one of ${known.temporal.join(', ')}, found ${JSON.stringify(resolution)}`);
    }
    return { id, unit, resolution, tc, scale: ex.queryParam('scale') === 'true' };
  };
  const auditIndicators = (a: Audited, results: readonly IndicatorResult[]) => {
    a.rows = results.reduce((n, r) => n + (r.values ?? r.flows ?? []).length, 0);
    a.withheld = results.reduce((n, r) => n + Object.values(r.withheld).reduce((m, v) => m + (v ?? 0), 0), 0);
  };

  route(
    'get',
    `${API}/indicators/:id`,
    '/api/0/indicators/id',
    async (ex, a) => {
      const who = await principal(ex, a);
      const { id, unit, resolution, tc, scale } = indicatorAsked(ex, a);
      const date = ex.queryParam('period') ?? ctx.engine.store.days().at(-1) ?? '';
      a.detail += ` ${date}`;
      let p: Period;
      try {
        p = period(ctx.engine, resolution, date);
      } catch (e) {
        throw new HttpError(400, 'BAD_PERIOD', `period: ${(e as Error).message}`);
      }
      checkIndicator(unit, resolution as Temporal, periodWindow(p), who, tc);
      ctx.limiter.take(who);
      const result = await ctx.indicators.get(ctx.engine, id, p, unit, { scale, dp: indicatorOptions(ctx, who) });
      auditIndicators(a, [result]);
      ex.json(200, { ...result, privacy: indicatorPrivacy(result) });
    },
    { params: 1 },
  );

  // An indicator over a range of periods in one request: each period checked and computed exactly as the route above
  // (the same results, from the same cache), one unit of the rate limit per period, at most MAX_SERIES_PERIODS periods.
  route(
    'get',
    `${API}/indicators/:id/series`,
    '/api/0/indicators/id/series',
    async (ex, a) => {
      const who = await principal(ex, a);
      const { id, unit, resolution, tc, scale } = indicatorAsked(ex, a);
      const engine = ctx.engine; // one store version for the whole series, even if a new one is taken up meanwhile
      // The unit, resolution and scopes first, whatever the periods (no window: lastDay unset).
      checkIndicator(unit, resolution as Temporal, [0, 0], who, { ...tc, lastDay: undefined });
      const allowed = (p: Period) => {
        try {
          checkIndicator(unit, resolution as Temporal, periodWindow(p), who, tc);
          return true;
        } catch {
          return false;
        }
      };
      let ps: Period[];
      try {
        ps = seriesPeriods(periods(engine, resolution), resolution, { from: ex.queryParam('from'), to: ex.queryParam('to'), allowed, max: MAX_SERIES_PERIODS });
      } catch (e) {
        if (e instanceof SeriesRangeError) throw new HttpError(400, e.code, e.message);
        throw e;
      }
      a.detail += ` ${ps[0]?.key ?? '-'}..${ps.at(-1)?.key ?? '-'} (${ps.length} periods)`;
      for (const p of ps) {
        try {
          checkIndicator(unit, resolution as Temporal, periodWindow(p), who, tc);
        } catch (e) {
          if (e instanceof Error) e.message = `period ${p.key}: ${e.message}`;
          throw e;
        }
      }
      ctx.limiter.take(who, ps.length); // one unit per period, as many single-period requests would cost
      const results: IndicatorResult[] = [];
      for (const p of ps) {
        if (ex.aborted) return;
        results.push(await ctx.indicators.get(engine, id, p, unit, { scale, dp: indicatorOptions(ctx, who) }));
      }
      auditIndicators(a, results);
      ex.json(200, { indicator: id, aggregation_unit: unit, resolution, periods: results.map((r) => ({ ...r, privacy: indicatorPrivacy(r) })) });
    },
    { params: 1 },
  );

  route('get', `${API}/available_dates`, '/api/0/available_dates', async (ex, a) => {
    const who = await principal(ex, a);
    requireScopes(who, ['get_available_dates']);
    requireClaims(who.claims ?? null, ['get_result'], ['available_dates']);
    ex.json(200, { available_dates: availableDates(ctx.engine) });
  });

  route('get', `${API}/audit`, '/api/0/audit', async (ex, a) => {
    const who = await principal(ex, a);
    requireScopes(who, ['audit:read']);
    if (who.scopes === null) throw new HttpError(403, 'SCOPE_MISSING', 'audit: expected a token with the scope audit:read, found a token without scopes');
    const from = Math.max(1, Number(ex.queryParam('from') ?? 1) || 1);
    ctx.audit.flush();
    ex.send(200, await readAuditFrom(ctx.audit.file, from), { 'Content-Type': 'application/x-ndjson' });
  });

  const openapi = Buffer.from(
    JSON.stringify(openApiDocument({ version: VERSION, units: tierContext(ctx).units, tiers: Object.keys(ctx.config.tiers), maxSeriesPeriods: MAX_SERIES_PERIODS })),
  );
  route('get', `${API}/spec/openapi.json`, '/api/0/spec/openapi.json', (ex) => ex.send(200, openapi, { 'Content-Type': 'application/json' }));

  // Unhealthy while closing, or while the audit log cannot be written (requests are refused then).
  route(
    'get',
    '/healthz',
    '/healthz',
    (ex) => {
      const status = ctx.closing ? 'closing' : ctx.audit.healthy ? 'ok' : 'audit log failing';
      ex.json(status === 'ok' ? 200 : 503, { status, store_version: ctx.engine.version });
    },
    { audit: false },
  );
  // Operator metrics name routes, volumes and failures: only for a token that carries the metrics:read scope
  // explicitly (a scraper's long-lived token: opalite token --scope metrics:read). Not audited: scrapes are periodic.
  route(
    'get',
    '/metrics',
    '/metrics',
    async (ex, a) => {
      const who = await principal(ex, a);
      requireScopes(who, ['metrics:read']);
      if (who.scopes === null) throw new HttpError(403, 'SCOPE_MISSING', 'metrics: expected a token with the scope metrics:read, found a token without scopes');
      ex.text(200, ctx.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
    },
    { audit: false },
  );

  // CORS preflights: not audited, as they carry no token and return nothing but what a page may send.
  route(
    'options',
    '/*',
    'preflight',
    (ex) => {
      const answer = preflight(ex.origin, ex.requestMethod, ex.requestHeaders, ctx.config.cors.origins);
      if (!answer.ok) throw new HttpError(403, 'CORS_REFUSED', `preflight: ${answer.why}`);
      ex.send(204, new Uint8Array(0), answer.headers);
    },
    { audit: false },
  );

  // A known route asked with another method is 405 with the method it takes, not 404.
  const methodOf: [RegExp, string][] = [
    [new RegExp(`^${API}/(run|series)$`), 'POST'],
    [new RegExp(`^${API}/(poll|get|geography|indicators)(/.*)?$`), 'GET'],
    [new RegExp(`^(${API}/(available_dates|audit|spec/openapi\\.json)|/healthz|/metrics)$`), 'GET'],
  ];
  route('any', '/*', 'other', (ex, a) => {
    a.detail = ex.url.slice(0, 200);
    const allowed = methodOf.find(([re]) => re.test(ex.url))?.[1];
    if (allowed && allowed !== ex.method.toUpperCase()) {
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${ex.method.toUpperCase()} ${ex.url.slice(0, 200)}: expected ${allowed}`, { Allow: allowed });
    }
    throw new HttpError(404, 'NOT_FOUND', `${ex.method.toUpperCase()} ${ex.url.slice(0, 200)}: no such route (see ${API}/spec/openapi.json)`);
  });
}

/** A percent-encoded path segment, decoded; a malformed encoding (a client's mistake, or a probe) is a 400, not a URIError. */
function pathParam(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'BAD_PATH', `${what}: expected percent-encoded UTF-8, found ${JSON.stringify(raw.slice(0, 80))}`);
  }
}

const datesOf = new WeakMap<Engine, Record<string, string[]>>();

/** Days with at least one event of each type (the manifest's counts), once per engine: a store version never changes. */
export function availableDates(engine: Engine): Record<string, string[]> {
  let dates = datesOf.get(engine);
  if (!dates) {
    const days = summarise(engine.store).days;
    dates = Object.fromEntries(EVENT_TYPES.map((t) => [t, days.filter((d) => d[t] > 0).map((d) => d.date)]));
    datesOf.set(engine, dates);
  }
  return dates;
}

async function readAuditFrom(file: string, from: number): Promise<Buffer> {
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  return Buffer.from(lines.slice(from - 1).map((l) => l + '\n').join(''));
}
