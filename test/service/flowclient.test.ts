/**
 * FlowKit's own client against the real service (issue #15): FlowClient's requests
 * replayed exactly (flowclient-replay.ts: the calls and reads of connection.py,
 * client.py and api_query.py; flowclient-specs.ts: the JSON of its spec helpers),
 * including a query still running when FlowClient first polls it, held there
 * deterministically by gating the engine's partition tasks.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../server/engine/engine.js';
import {
  APIQuery,
  Connection,
  FileNotFound,
  FlowclientConnectionError,
  getAvailableDates,
  getGeography,
  getStatus,
  runQuery,
} from './flowclient-replay.js';
import { everyAggregateHelper, spatialAggregateSpec, dailyLocationSpec, uniqueSubscriberCountsSpec } from './flowclient-specs.js';
import { DEFAULT_DP } from '../../server/service/config.js';
import { dpTiers, type Harness, sampleStore, startHarness } from './helpers.js';

let root: string;
let h: Harness;
let premium: string;

beforeAll(async () => {
  root = await sampleStore();
  // One query at a time, so that a second one waits in the queue while the first is held.
  h = await startHarness(root, { partitions: 8, tweak: (c) => (c.limits.maxConcurrentQueries = 1) });
  premium = await h.token('premium');
});
afterAll(async () => {
  gate?.release();
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/**
 * Holds the engine's partition tasks: the first `allow` batches run, the others wait
 * until release(). The in-process executor runs two lanes of single-partition batches
 * over 8 partitions, so a held query shows 8 - allow parts eligible, 2 of them running.
 */
interface Gate {
  release(): void;
}
let gate: Gate | undefined;
function hold(engine: Engine, allow: number): Gate {
  const e = engine as unknown as { runBatch: (...args: unknown[]) => Promise<unknown> };
  const original = e.runBatch;
  let started = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  e.runBatch = async function (this: unknown, ...args: unknown[]) {
    if (started++ >= allow) await opened;
    return original.apply(this, args);
  };
  return {
    release() {
      e.runBatch = original;
      open();
    },
  };
}

async function pollBody(id: string): Promise<{ status: number; body: Record<string, unknown>; location: string | null }> {
  const r = await fetch(`${h.api}/poll/${id}`, { headers: { Authorization: `Bearer ${premium}` }, redirect: 'manual' });
  return { status: r.status, body: (await r.json()) as Record<string, unknown>, location: r.headers.get('location') };
}

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("FlowAPI's run/poll/get contract", () => {
  it('a running query polls 202 {status, msg, progress: {eligible, queued, running}}, a queued one too, then 303 with Location', async () => {
    gate = hold(h.engine, 3);
    const spec = uniqueSubscriberCountsSpec('2016-01-02', '2016-01-09', 'admin2');
    const run = await fetch(`${h.api}/run`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${premium}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(spec),
      redirect: 'manual',
    });
    expect(run.status).toBe(202);
    const ran = (await run.json()) as { query_id: string; progress: Record<string, number> };
    expect(run.headers.get('location')).toBe(`/api/0/poll/${ran.query_id}`);
    // Nothing of it has run yet: all 8 partition tasks eligible and waiting.
    expect(ran.progress).toEqual({ eligible: 8, queued: 8, running: 0 });

    // Held after 3 of 8 tasks: 5 eligible, 2 running (two lanes), 3 waiting.
    const held = await until(() => pollBody(ran.query_id), (p) => (p.body.progress as { eligible: number }).eligible === 5);
    expect(held.status).toBe(202);
    expect(held.body.status).toBe('executing');
    expect(typeof held.body.msg).toBe('string');
    const { fraction, ...progress } = held.body.progress as Record<string, number>;
    expect(progress).toEqual({ eligible: 5, queued: 3, running: 2 });
    expect(fraction).toBeGreaterThan(0);
    expect(fraction).toBeLessThan(1);

    // A second query waits behind it (one at a time here): every part queued.
    const other = await fetch(`${h.api}/run`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${premium}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(spatialAggregateSpec(dailyLocationSpec('2016-01-05', 'admin2', 'last'))),
    });
    const { query_id: queuedId } = (await other.json()) as { query_id: string };
    const queued = await pollBody(queuedId);
    expect(queued.status).toBe(202);
    expect(queued.body.status).toBe('queued');
    expect(queued.body.progress).toMatchObject({ eligible: 8, queued: 8, running: 0 });

    // /get of an unfinished query: 202, as FlowAPI answers, not a result.
    const early = await fetch(`${h.api}/get/${ran.query_id}`, { headers: { Authorization: `Bearer ${premium}` } });
    expect(early.status).toBe(202);
    await early.arrayBuffer();

    gate.release();
    const done = await until(() => pollBody(ran.query_id), (p) => p.status === 303);
    expect(done.location).toBe(`/api/0/get/${ran.query_id}`);
    expect(done.body.status).toBe('completed');
    await until(() => pollBody(queuedId), (p) => p.status === 303);
  });

  it('a finished query run again answers 202 with progress all 0', async () => {
    const spec = spatialAggregateSpec(dailyLocationSpec('2016-01-05', 'admin2', 'last'));
    const r = await fetch(`${h.api}/run`, { method: 'POST', headers: { Authorization: `Bearer ${premium}`, 'Content-Type': 'application/json' }, body: JSON.stringify(spec) });
    expect(r.status).toBe(202);
    expect(((await r.json()) as { progress: unknown }).progress).toEqual({ eligible: 0, queued: 0, running: 0 });
  });
});

describe('FlowClient, replayed from its source', () => {
  it('APIQuery.run / status / wait_until_ready / get_result on a query still running when first polled', async () => {
    gate = hold(h.engine, 2);
    const spec = uniqueSubscriberCountsSpec('2016-01-03', '2016-01-10', 'admin2');
    const c = new Connection(h.base, premium);
    const q = new APIQuery(c, spec);
    expect(await q.status()).toBe('not_running');
    await q.run();
    expect(q.queryId).toBe(h.engine.queryId(h.engine.parse(spec)));
    await until(() => pollBody(q.queryId!), (p) => (p.body.progress as { running: number }).running === 2);
    expect(await q.status()).toBe('executing');
    const waiting = q.waitUntilReady(20);
    await new Promise((r) => setTimeout(r, 100));
    gate.release();
    await waiting;
    // FlowClient polled at least once before it was ready, and read eligible going down to the end.
    expect(q.progressSeen.length).toBeGreaterThan(0);
    expect(q.progressSeen[0]).toMatchObject({ eligible: 6, queued: 4, running: 2 });
    expect(await q.status()).toBe('completed');
    const rows = await q.getResult(20);
    expect(rows).toEqual((await h.engine.run(spec)).rows);
    // The calls FlowClient made, in order: run, then polls (202s, then 303), then get.
    expect(c.sent[0]).toEqual({ method: 'POST', route: 'run', status: 202 });
    expect(c.sent.at(-1)).toEqual({ method: 'GET', route: `get/${q.queryId}`, status: 200 });
    expect(c.sent.filter((s) => s.route.startsWith('poll/') && s.status === 202).length).toBeGreaterThan(1);
  });

  for (const [name, spec] of everyAggregateHelper()) {
    it(`${name}: the helper's spec runs unchanged and returns the engine's rows`, async () => {
      const c = new Connection(h.base, premium);
      const q = new APIQuery(c, spec);
      const rows = await q.getResult(10); // never run: get_result runs it, as FlowClient does
      const expected = (await h.engine.run(spec)).rows;
      expect(rows).toEqual(JSON.parse(JSON.stringify(expected)));
      expect(rows.length, 'published rows').toBeGreaterThan(0);
    });
  }

  it("Opalite's tokens carry the identity claim FlowClient's Connection reads (update_token: jwt.decode(token)['identity'])", () => {
    const payload = JSON.parse(Buffer.from(premium.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(payload.identity).toBe(payload.sub);
    expect(payload.identity).toBe('test-premium');
  });

  it('get_available_dates, get_geography and the errors FlowClient reads msg from', async () => {
    const c = new Connection(h.base, premium);
    const dates = await getAvailableDates(c, ['calls']);
    expect(Object.keys(dates)).toEqual(['calls']);
    expect(dates.calls![0]).toBe('2016-01-01');
    expect(dates.calls!.at(-1)).toBe('2016-04-03'); // the sample's last day (data/sample/dataset.json)
    const geo = await getGeography(c, 'admin2');
    expect(geo.type).toBe('FeatureCollection');
    // An unknown id: FlowClient's get_status says not_running (404 -> FileNotFoundError).
    expect(await getStatus(c, '0'.repeat(64))).toBe('not_running');
    await expect(new APIQuery(c, spatialAggregateSpec(dailyLocationSpec('2016-01-03', 'admin9', 'last'))).run()).rejects.toThrow(
      /status code 400\. Error message: '.*admin9/,
    );
    const bad = new Connection(h.base, 'not-a-token');
    await expect(runQuery(bad, uniqueSubscriberCountsSpec('2016-01-01', '2016-01-02', 'admin1'))).rejects.toBeInstanceOf(FlowclientConnectionError);
    await expect(getStatus(c, 'f'.repeat(64))).resolves.toBe('not_running');
    expect(FileNotFound).toBeDefined();
  });
});

describe('subscriber_subset given as a query id (issue #15)', () => {
  it("is refused with 400 naming the field and why, for an earlier query's id too, and never echoes the value", async () => {
    const c = new Connection(h.base, premium);
    // The id an attacker holds: an earlier query's (aggregates are the only queries a token can run).
    const earlier = new APIQuery(c, uniqueSubscriberCountsSpec('2016-01-01', '2016-01-02', 'admin1'));
    await earlier.run();
    for (const id of [earlier.queryId!, '254700000001']) {
      const spec = spatialAggregateSpec({ ...dailyLocationSpec('2016-01-03', 'admin2', 'last'), subscriber_subset: id });
      const r = await fetch(`${h.api}/run`, { method: 'POST', headers: { Authorization: `Bearer ${premium}`, 'Content-Type': 'application/json' }, body: JSON.stringify(spec) });
      expect(r.status).toBe(400);
      const text = await r.text();
      expect(text).toMatch(/locations\.subscriber_subset: expected null \(all subscribers\), found the id of another query/);
      expect(text).toContain('SUBSCRIBER_SUBSET_ID');
      expect(text).not.toContain(id);
      // FlowClient surfaces it as its error with the msg.
      await expect(new APIQuery(c, spec).run()).rejects.toThrow(/status code 400\. Error message: '.*subscriber_subset/);
    }
  });
});

describe('FlowClient against a DP tier, the default (issue #15)', () => {
  let dp: Harness;
  let token: string;
  beforeAll(async () => {
    const tiers = dpTiers();
    // The default DP protection (rho 0.1 a query), with a month's budget for every helper below.
    tiers.premium!.privacy = { ...DEFAULT_DP, budget: { rho: 10, period: 'month' } };
    dp = await startHarness(root, { tiers });
    token = await dp.token('premium');
  });
  afterAll(async () => {
    await dp?.close();
  });

  /**
   * docs/PRIVACY.md: the kinds a DP tier releases (counts; histogram_aggregate with fixed bins; joined_spatial_aggregate
   * by avg, as a ratio of noised sums and counts); FlowClient's other helpers are refused there with a msg FlowClient shows.
   */
  const DP_KINDS = ['spatial_aggregate', 'flows', 'inflows', 'outflows', 'unique_subscriber_counts', 'histogram_aggregate', 'joined_spatial_aggregate'];
  const key = (row: Record<string, unknown>) => JSON.stringify(Object.entries(row).filter(([k]) => k !== 'value'));

  for (const [name, spec] of everyAggregateHelper()) {
    if (!DP_KINDS.includes(spec.query_kind as string)) {
      it(`${name}: refused under DP, and FlowClient raises its own error with the msg`, async () => {
        const c = new Connection(dp.base, token);
        await expect(new APIQuery(c, spec).getResult(10)).rejects.toThrow(
          new RegExp(`status code 400\\. Error message: 'query_kind: expected a kind released under differential privacy .*found ${spec.query_kind}`),
        );
      });
      continue;
    }
    it(`${name}: FlowClient's calls work unchanged; the answer carries the privacy block and noised values within its interval`, async () => {
      const c = new Connection(dp.base, token);
      const q = new APIQuery(c, spec);
      const rows = (await q.getResult(10)) as Record<string, number | string>[];
      // The same calls as under a threshold tier: run, polls, get; FlowClient reads query_result and ignores the rest.
      expect(c.sent[0]).toEqual({ method: 'POST', route: 'run', status: 202 });
      expect(c.sent.at(-1)).toEqual({ method: 'GET', route: `get/${q.queryId}`, status: 200 });
      const raw = (await (await fetch(`${dp.api}/get/${q.queryId}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as Record<string, any>;
      expect(raw.query_result).toEqual(rows);
      expect(raw.privacy).toMatchObject({ mode: 'dp', k: 15, rho: DEFAULT_DP.rho, delta: DEFAULT_DP.delta, mechanism: 'discrete_gaussian' });
      if (spec.query_kind === 'joined_spatial_aggregate') {
        // An average of the metric clipped to a stated range, from noised sums and counts: no interval is stated per value.
        expect(raw.privacy.ratio).toMatchObject({ metric: 'radius_of_gyration' });
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) expect(Number.isFinite(row.value)).toBe(true);
        return;
      }
      const half = raw.privacy.interval95 as number;
      expect(half).toBeGreaterThan(0);
      // What differs from the threshold answer: each value is noised (a whole number above k), so a row near k may
      // be published or withheld where the exact count is not. Against the exact counts, every value is within 3
      // times the stated 95% half-width (5.9 standard deviations: a miss once in ~10^8 values).
      const exact = new Map((JSON.parse(JSON.stringify((await dp.engine.run(spec)).rows)) as Record<string, number>[]).map((r) => [key(r), r.value!]));
      expect(rows.length).toBeGreaterThan(0);
      let compared = 0;
      for (const row of rows) {
        const value = row.value as number;
        expect(Number.isInteger(value)).toBe(true);
        const truth = exact.get(key(row));
        if (truth === undefined) {
          // Withheld by the exact rule (at most k): published only because the noise lifted it.
          expect(value).toBeLessThanOrEqual(15 + 3 * half);
          continue;
        }
        expect(Math.abs(value - truth), `${key(row)}: ${value} against ${truth}`).toBeLessThanOrEqual(3 * half);
        compared++;
      }
      // Rows the exact answer publishes and the noised one withholds are near k too.
      const published = new Set(rows.map(key));
      for (const [k, truth] of exact) if (!published.has(k)) expect(truth).toBeLessThanOrEqual(15 + 3 * half);
      expect(compared).toBeGreaterThan(0);
    });
  }
});
