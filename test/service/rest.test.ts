/** REST, as FlowClient and plain scripts use it: run, poll, get in every format, and the other routes. */
import fs from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Harness, runToCompletion, sampleStore, specs, startHarness } from './helpers.js';

let root: string;
let h: Harness;
let premium: string;
let partner: string;

beforeAll(async () => {
  root = await sampleStore();
  h = await startHarness(root);
  premium = await h.token('premium');
  partner = await h.token('partner');
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const post = (token: string, body: string | object, headers: Record<string, string> = {}) =>
  fetch(`${h.api}/run`, {
    method: 'POST',
    headers: { ...auth(token), 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });

describe('POST /run, GET /poll, GET /get', () => {
  it('answers 202 with the id and a Location, then 202 or 303 at the poll, then the result', async () => {
    const spec = specs.flows('admin2');
    const r = await post(premium, spec);
    expect(r.status).toBe(202);
    const { query_id } = (await r.json()) as { query_id: string };
    expect(query_id).toMatch(/^[0-9a-f]{64}$/);
    expect(r.headers.get('location')).toBe(`/api/0/poll/${query_id}`);
    expect(query_id).toBe(h.engine.queryId(h.engine.parse(spec)));

    let poll: Response;
    const statuses = new Set<string>();
    const deadline = Date.now() + 20_000;
    for (;;) {
      poll = await fetch(`${h.base}${r.headers.get('location')}`, { headers: auth(premium), redirect: 'manual' });
      if (poll.status !== 202) break;
      const body = (await poll.json()) as { status: string; progress: { fraction: number } };
      expect(['queued', 'executing']).toContain(body.status);
      expect(body.progress.fraction >= 0 && body.progress.fraction < 1, JSON.stringify(body.progress)).toBe(true);
      statuses.add(body.status);
      expect(Date.now()).toBeLessThan(deadline);
    }
    expect(poll.status).toBe(303);
    expect(poll.headers.get('location')).toBe(`/api/0/get/${query_id}`);
    await poll.arrayBuffer();

    const get = await fetch(`${h.base}/api/0/get/${query_id}`, { headers: auth(premium) });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('application/json');
    const body = (await get.json()) as { query_id: string; query_result: unknown[] };
    const own = await h.engine.run(spec);
    expect(body.query_id).toBe(query_id);
    expect(body.query_result).toEqual(own.rows);
    expect(body.query_result.length).toBeGreaterThan(10);
  });

  it('gives the same id, and one run, for the same spec written differently', async () => {
    const a = specs.usc('admin1', '2016-01-02', '2016-01-09');
    const b = { aggregation_unit: 'ADMIN1', end_date: '2016-01-09T00:00:00', start_date: '2016-01-02 00:00:00', query_kind: 'unique_subscriber_counts' };
    const [ra, rb] = await Promise.all([post(premium, a), post(partner, b)]);
    const [ia, ib] = (await Promise.all([ra.json(), rb.json()])) as { query_id: string }[];
    expect(ia!.query_id).toBe(ib!.query_id);
    expect(h.server.context.jobs.get((ia as { query_id: string }).query_id)).toBeDefined();
  });

  it('serves every format: JSON, CSV, Arrow, Parquet and GeoJSON agree with the engine', async () => {
    const spec = specs.daily('admin2');
    const id = await runToCompletion(h, premium, spec);
    const own = await h.engine.run(spec);
    expect(own.rows.length).toBeGreaterThan(3);
    const get = (ext: string) => fetch(`${h.api}/get/${id}${ext}`, { headers: auth(premium) });

    const json = (await (await get('.json')).json()) as { query_result: { pcod: string; value: number }[] };
    expect(json.query_result).toEqual(own.rows);

    const csvRes = await get('.csv');
    expect(csvRes.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csvRes.headers.get('content-disposition')).toContain(`${id}.csv`);
    const lines = (await csvRes.text()).trim().split('\n');
    expect(lines[0]).toBe('pcod,value');
    expect(lines.slice(1).map((l) => l.split(','))).toEqual(own.rows.map((r) => [r.pcod, String(r.value)]));

    const arrow = tableFromIPC(new Uint8Array(await (await get('.arrow')).arrayBuffer()));
    expect(arrow.numRows).toBe(own.rows.length);
    expect(arrow.toArray().map((r) => ({ pcod: r.pcod, value: Number(r.value) }))).toEqual(own.rows);

    const parquet = Buffer.from(await (await get('.parquet')).arrayBuffer());
    expect(parquet.subarray(0, 4).toString()).toBe('PAR1');
    expect(parquet.subarray(-4).toString()).toBe('PAR1');

    const geoRes = await get('.geojson');
    expect(geoRes.headers.get('content-type')).toBe('application/geo+json');
    const geo = (await geoRes.json()) as { type: string; features: { geometry: { type: string } | null; properties: { pcod: string; value: number } }[] };
    expect(geo.type).toBe('FeatureCollection');
    expect(geo.features.map((f) => f.properties)).toEqual(own.rows);
    for (const f of geo.features) expect(f.geometry?.type).toBe('MultiPolygon');
  });

  it('joins OD results to geometry as outflows and inflows per region', async () => {
    const id = await runToCompletion(h, premium, specs.flows('admin1'));
    const geo = (await (await fetch(`${h.api}/get/${id}.geojson`, { headers: auth(premium) })).json()) as {
      features: { properties: { pcod: string; outflows: Record<string, number>; inflows: Record<string, number> } }[];
    };
    const own = await h.engine.run(specs.flows('admin1'));
    const first = own.rows[0]!;
    const feature = geo.features.find((f) => f.properties.pcod === first.pcod_from)!;
    expect(feature.properties.outflows[first.pcod_to as string]).toBe(first.value);
  });

  it('keeps every label of a labelled_flows pair in its GeoJSON', async () => {
    const spec = specs.labelledFlows('admin1');
    const own = await h.engine.run(spec);
    // The sample must publish some pair under more than one label for this to test anything.
    const labelsOf = new Map<string, Set<unknown>>();
    for (const r of own.rows) labelsOf.set(`${r.pcod_from}>${r.pcod_to}`, (labelsOf.get(`${r.pcod_from}>${r.pcod_to}`) ?? new Set()).add(r.value_label));
    expect([...labelsOf.values()].some((s) => s.size > 1)).toBe(true);
    const id = await runToCompletion(h, premium, spec);
    const geo = (await (await fetch(`${h.api}/get/${id}.geojson`, { headers: auth(premium) })).json()) as {
      features: { properties: { pcod: string; outflows: Record<string, Record<string, number>>; inflows: Record<string, Record<string, number>> } }[];
    };
    const byPcod = new Map(geo.features.map((f) => [f.properties.pcod, f.properties]));
    for (const r of own.rows) {
      expect(byPcod.get(String(r.pcod_from))!.outflows[String(r.pcod_to)]![String(r.value_label)]).toBe(r.value);
      expect(byPcod.get(String(r.pcod_to))!.inflows[String(r.pcod_from)]![String(r.value_label)]).toBe(r.value);
    }
  });

  it('streams a large body to a reader in full (tryEnd/onWritable)', async () => {
    const id = await runToCompletion(h, partner, specs.usc('lon-lat'));
    const own = await h.engine.run(specs.usc('lon-lat'));
    const res = await fetch(`${h.api}/get/${id}.geojson`, { headers: auth(partner) });
    const geo = (await res.json()) as { features: unknown[] };
    expect(geo.features).toHaveLength(own.rows.length);
    const g = await fetch(`${h.api}/geography/admin3`, { headers: auth(partner) });
    const body = await g.text();
    expect(Number(g.headers.get('content-length'))).toBe(Buffer.byteLength(body));
    expect((JSON.parse(body) as { features: unknown[] }).features).toHaveLength(89);
  });
});

describe('POST /series', () => {
  const series = (token: string, body: unknown) =>
    fetch(`${h.api}/series`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it("answers every spec's result in order, each exactly what /run and /get give for it", async () => {
    const list = [specs.usc('admin2', '2016-01-01', '2016-01-02'), specs.daily('admin1', '2016-01-05'), specs.flows('admin1'), specs.usc('admin3', '2016-01-03', '2016-01-10')];
    const r = await series(premium, { specs: list });
    expect(r.status).toBe(200);
    const { results } = (await r.json()) as { results: { query_id: string; query_result: unknown[] }[] };
    expect(results).toHaveLength(list.length);
    for (const [i, spec] of list.entries()) {
      // Computed afresh by the engine here (not the service's jobs), then compared with /get.
      const direct = await h.engine.run(spec);
      expect(results[i]!.query_id).toBe(direct.query_id);
      expect(results[i]!.query_result).toEqual(JSON.parse(JSON.stringify(direct.rows)));
      const got = await fetch(`${h.api}/get/${results[i]!.query_id}`, { headers: auth(premium) });
      expect(await got.json()).toEqual(results[i]);
    }
  });

  it('refuses a bad body, a bad spec or one beyond the tier, naming specs[i], before running any', async () => {
    const free = await h.token('free');
    const beyond = await series(free, { specs: [specs.monthly('admin1'), specs.usc('admin3')] });
    expect(beyond.status).toBe(403);
    expect(((await beyond.json()) as { msg: string }).msg).toMatch(/^specs\[1\]: tier 'free'/);
    const bad = await series(premium, { specs: [specs.usc('admin1'), { query_kind: 'unique_subscriber_counts' }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { msg: string }).msg).toMatch(/^specs\[1\]: /);
    for (const body of [{}, { specs: [] }, { specs: 'x' }, { specs: Array.from({ length: 401 }, () => specs.usc('admin1')) }]) {
      const r = await series(premium, body);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { msg: string }).msg).toMatch(/^specs: expected an array of 1 to 400 query specs/);
    }
    expect((await fetch(`${h.api}/series`, { headers: auth(premium) })).status).toBe(405);
  });
});

describe('errors', () => {
  it('answers 400 with every problem of a bad spec, each with its path', async () => {
    const r = await post(premium, {
      query_kind: 'spatial_aggregate',
      locations: { query_kind: 'daily_location', date: '2016-13-01', method: 'sideways', aggregation_unit: 'admin9' },
    });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { status: string; msg: string; errors: { path: string; code: string }[] };
    expect(body.status).toBe('error');
    expect(body.errors.map((e) => e.path).sort()).toEqual(['locations.aggregation_unit', 'locations.date', 'locations.method']);
  });

  it('answers 400 for a body that is not JSON, 413 for a body over the limit', async () => {
    expect((await post(premium, '{"query_kind": ')).status).toBe(400);
    const big = JSON.stringify({ query_kind: 'flows', padding: 'x'.repeat(h.config.limits.maxBodyBytes + 10) });
    const r = await post(premium, big);
    expect(r.status).toBe(413);
  });

  it('answers 404 for an unknown id, format or route', async () => {
    expect((await fetch(`${h.api}/poll/${'0'.repeat(64)}`, { headers: auth(premium) })).status).toBe(404);
    expect((await fetch(`${h.api}/get/${'0'.repeat(64)}`, { headers: auth(premium) })).status).toBe(404);
    expect((await fetch(`${h.api}/get/nonsense`, { headers: auth(premium) })).status).toBe(404);
    const id = await runToCompletion(h, premium, specs.usc('admin1'));
    expect((await fetch(`${h.api}/get/${id}.xlsx`, { headers: auth(premium) })).status).toBe(404);
    expect((await fetch(`${h.api}/nothing`, { headers: auth(premium) })).status).toBe(404);
  });

  it('reports a query that fails at /poll with 500 and the reason', async () => {
    // A valid spec the engine refuses when it plans it: a year of hourly buckets per cell is more than it holds
    // at once. (Sampling served here before; the service refuses it at /run now, issue #13.)
    const spec = { query_kind: 'location_event_counts', start_date: '2016-01-01', end_date: '2017-01-01', aggregation_unit: 'cell', interval: 'hour' };
    const r = await post(partner, spec);
    expect(r.status).toBe(202);
    const { query_id } = (await r.json()) as { query_id: string };
    await h.server.context.jobs.get(query_id)!.done;
    const job = h.server.context.jobs.get(query_id)!;
    const poll = await fetch(`${h.api}/poll/${query_id}`, { headers: auth(partner), redirect: 'manual' });
    expect(job.status).toBe('errored');
    expect(poll.status).toBe(500);
    expect(((await poll.json()) as { msg: string }).msg).toBe(job.error!.message);
    expect(job.error!.code).toBe('TOO_LARGE');
  });
});

describe('the other routes', () => {
  it('lists available dates per event type from the manifest', async () => {
    const r = await fetch(`${h.api}/available_dates`, { headers: auth(premium) });
    const body = (await r.json()) as { available_dates: Record<string, string[]> };
    expect(Object.keys(body.available_dates).sort()).toEqual(['calls', 'mds', 'sms', 'topups']);
    // The sample's every day, 2016-01-01 .. 2016-04-03 (data/sample/dataset.json), each with events of every type.
    const days = Array.from({ length: 94 }, (_, i) => new Date(Date.UTC(2016, 0, 1 + i)).toISOString().slice(0, 10));
    expect(days.at(-1)).toBe('2016-04-03');
    for (const type of ['calls', 'mds', 'sms', 'topups']) expect(body.available_dates[type], type).toEqual(days);
  });

  it('serves an OpenAPI 3 document naming every route, without a token', async () => {
    const doc = (await (await fetch(`${h.api}/spec/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/run', '/poll/{query_id}', '/get/{query_id}', '/geography/{aggregation_unit}', '/available_dates', '/indicators/{id}', '/indicators/{id}/series', '/series']) {
      expect(doc.paths[p]).toBeDefined();
    }
  });

  it('answers /healthz and /metrics (requests by route and status, gauges)', async () => {
    expect(await (await fetch(`${h.base}/healthz`)).json()).toMatchObject({ status: 'ok' });
    // Issue #14: /metrics answered anyone. It takes a token with the metrics:read scope (a tier alone is not enough).
    expect((await fetch(`${h.base}/metrics`)).status).toBe(401);
    const unscoped = await fetch(`${h.base}/metrics`, { headers: auth(await h.token('partner')) });
    expect(unscoped.status).toBe(403);
    expect(((await unscoped.json()) as { msg: string }).msg).toMatch(/metrics:read/);
    const scraper = await h.token('free', { sub: 'prometheus', scopes: ['metrics:read'] });
    const text = await (await fetch(`${h.base}/metrics`, { headers: auth(scraper) })).text();
    expect(text).toMatch(/opalite_http_requests_total\{route="\/api\/0\/run",status="202"\} \d+/);
    for (const g of ['opalite_queries_running', 'opalite_cache_entries', 'opalite_stream_clients', 'opalite_stream_bytes_buffered']) {
      expect(text).toMatch(new RegExp(`^${g} \\d+$`, 'm'));
    }
    // The engine's buffer pool: queries above read days from disk (misses) into resident bytes within the budget.
    const gauge = (g: string) => Number(new RegExp(`^${g} (\\d+)$`, 'm').exec(text)?.[1]);
    expect(gauge('opalite_pool_misses')).toBeGreaterThan(0);
    expect(gauge('opalite_pool_resident_bytes')).toBeGreaterThan(0);
    expect(gauge('opalite_pool_resident_bytes')).toBeLessThanOrEqual(gauge('opalite_pool_budget_bytes'));
    expect(gauge('opalite_pool_read_bytes')).toBeGreaterThanOrEqual(gauge('opalite_pool_resident_bytes') * 0.8);
    for (const g of ['opalite_pool_hits', 'opalite_pool_evictions', 'opalite_pool_resident_days']) expect(text).toMatch(new RegExp(`^${g} \\d+$`, 'm'));
  });

  it('writes every /api/0 request to the audit log, whose chain verifies', async () => {
    const { verifyAuditLog } = await import('../../server/service/audit.js');
    // A result with rows withheld, so that the audited count is not zero by default.
    const fine = specs.daily('admin3');
    const fineId = await runToCompletion(h, premium, fine);
    expect((await fetch(`${h.api}/get/${fineId}`, { headers: auth(premium) })).status).toBe(200);
    h.server.context.audit.flush();
    const lines = fs.readFileSync(h.config.audit.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.op === 'POST /api/0/run' && l.status === 400)).toBe(true);
    const got = lines.find((l) => l.op === 'GET /api/0/get' && l.status === 200 && l.detail === 'csv')!;
    expect(got.sub).toBe('test-premium');
    expect(got.tier).toBe('premium');
    // The one CSV download above: specs.daily('admin2'), whose rows and withheld rows are the engine's.
    const own = await h.engine.run(specs.daily('admin2'));
    expect([got.rows, got.withheld]).toEqual([own.rows.length, own.withheld]);
    expect(got.spec).toEqual(h.engine.parse(specs.daily('admin2')));
    const ownFine = await h.engine.run(fine);
    expect(ownFine.withheld).toBeGreaterThan(0);
    const gotFine = lines.find((l) => l.op === 'GET /api/0/get' && l.status === 200 && l.query_id === fineId)!;
    expect([gotFine.rows, gotFine.withheld]).toEqual([ownFine.rows.length, ownFine.withheld]);
    expect(verifyAuditLog(h.config.audit.file)).toMatchObject({ ok: true, entries: lines.length });
  });
});
