/**
 * The service under test: the embedded sample ingested into a temporary
 * store, a key pair, and the real server on a free port of 127.0.0.1, talked
 * to as clients do (fetch, and the `ws` package with @msgpack/msgpack, not
 * the server's msgpackr, so the wire format is proven standard).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import { pino } from 'pino';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { Engine } from '../../server/engine/engine.js';
import { ingest } from '../../server/ingest/ingest.js';
import { defaultConfig, DEFAULT_TIERS, type ServiceConfig, type Tier } from '../../server/service/config.js';
import { followStore, type LiveStore } from '../../server/service/live.js';
import { createKeyPair, loadSigningKey, mintToken, type KeyPairFiles } from '../../server/service/keys.js';
import { type RunningServer, startServer } from '../../server/service/server.js';

export const SAMPLE = path.resolve('data/sample');
export const AUDIENCE = 'opalite-test';

/** Ingests a dataset into a store with the test pseudonymisation key (every test store uses the same one). */
export async function ingestWithTestKey(dataset: string, store: string): Promise<void> {
  const saved = process.env.OPALITE_PSEUDONYM_KEY;
  process.env.OPALITE_PSEUDONYM_KEY = '5a'.repeat(32);
  try {
    await ingest({ dataset, store });
  } finally {
    if (saved === undefined) delete process.env.OPALITE_PSEUDONYM_KEY;
    else process.env.OPALITE_PSEUDONYM_KEY = saved;
  }
}

/**
 * The embedded sample, ingested with the test key, in a fresh temporary folder; returns the folder (store at
 * root/store). A copy of the run's template (test/sample-template.ts), the same files an ingest writes; an ingest
 * when there is none (a file run outside the suite's configuration).
 */
export async function sampleStore(): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-service-'));
  const template = inject('sampleTemplate');
  if (template && fs.existsSync(path.join(template, 'store.json'))) fs.cpSync(template, path.join(root, 'store'), { recursive: true });
  else await ingestWithTestKey(SAMPLE, path.join(root, 'store'));
  return root;
}

/**
 * A delivery of one day of the sample's country: `subscribers` subscribers
 * (numbered from `first`, outside the sample's own) each making one call from
 * the sample's first cell, C00001-1, at 10:00.
 */
export function oneDayDelivery(dir: string, date: string, subscribers = 40, first = 0): void {
  fs.mkdirSync(path.join(dir, 'events'), { recursive: true });
  fs.cpSync(path.join(SAMPLE, 'regions'), path.join(dir, 'regions'), { recursive: true });
  fs.copyFileSync(path.join(SAMPLE, 'cells.csv'), path.join(dir, 'cells.csv'));
  fs.copyFileSync(path.join(SAMPLE, 'dataset.json'), path.join(dir, 'dataset.json'));
  const rows = ['msisdn,datetime,cell_id,event_type,outgoing'];
  for (let i = first; i < first + subscribers; i++) rows.push(`22599${String(i).padStart(8, '0')},${date} 10:00:00,C00001-1,calls,true`);
  fs.writeFileSync(path.join(dir, 'events', 'day.csv'), rows.join('\n') + '\n');
}

/**
 * Test tiers: the defaults, with free's embargo shortened to 2 days so that
 * its other limits can be tested on any day of the sample but the last two
 * (the default 30-day embargo is tested on its own: tiers.test.ts and the
 * dashboard's e2e test), and generous query budgets. They are
 * threshold-protected: the tests using them compare exact numbers with
 * the engine's; DP tiers (the default) are tested with dpTiers().
 */
export function testTiers(): Record<string, Tier> {
  const t = structuredClone(DEFAULT_TIERS);
  t.free!.freshnessDays = 2;
  t.partner!.queriesPerHour = 100_000;
  t.premium!.queriesPerHour = 100_000;
  for (const tier of Object.values(t)) tier.privacy = { mode: 'threshold' };
  return t;
}

/** The test tiers with the default DP protection of DEFAULT_TIERS. */
export function dpTiers(): Record<string, Tier> {
  const t = testTiers();
  for (const [name, tier] of Object.entries(t)) tier.privacy = structuredClone(DEFAULT_TIERS[name]!.privacy);
  return t;
}

export interface Harness {
  root: string;
  keys: KeyPairFiles;
  engine: Engine;
  server: RunningServer;
  base: string;
  api: string;
  config: ServiceConfig;
  token(tier: string, opts?: { sub?: string; ttl?: number; scopes?: string[]; aud?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startHarness(
  root: string,
  opts: { tiers?: Record<string, Tier>; tweak?: (c: ServiceConfig) => void; partitions?: number } = {},
): Promise<Harness> {
  const keyDir = fs.mkdtempSync(path.join(root, 'keys-'));
  const keys = createKeyPair(keyDir);
  const config = defaultConfig();
  config.host = '127.0.0.1';
  config.port = 0;
  config.store = path.join(root, 'store');
  config.threads = 0;
  config.partitions = opts.partitions ?? 8;
  config.audience = AUDIENCE;
  config.keys.publicKeys = [keys.publicKey];
  config.tiers = opts.tiers ?? testTiers();
  config.audit.file = path.join(keyDir, 'audit.jsonl');
  config.privacy.secretFile = path.join(keyDir, 'dp-secret.hex');
  fs.writeFileSync(config.privacy.secretFile, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  config.log.level = 'silent';
  opts.tweak?.(config);
  const engine = Engine.open(config.store, { partitions: config.partitions, threads: config.threads });
  const server = await startServer({ config, engine, log: pino({ level: 'silent' }) });
  const signing = loadSigningKey(keys.privateKey);
  return {
    root,
    keys,
    engine,
    server,
    base: server.url,
    api: `${server.url}/api/0`,
    config,
    token: (tier, o = {}) =>
      mintToken(signing, { sub: o.sub ?? `test-${tier}`, tier, aud: o.aud ?? AUDIENCE, ttl: o.ttl ?? 600, scopes: o.scopes }),
    async close() {
      await server.close({ graceMs: 5000 });
      await engine.close();
    },
  };
}

export const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

/** POST /run, then poll until 303; returns the query id. */
export async function runToCompletion(h: Harness, token: string, spec: unknown, timeoutMs = 30_000): Promise<string> {
  const r = await fetch(`${h.api}/run`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(spec), redirect: 'manual' });
  if (r.status !== 202) throw new Error(`run: ${r.status} ${await r.text()}`);
  const { query_id } = (await r.json()) as { query_id: string };
  const until = Date.now() + timeoutMs;
  for (;;) {
    const p = await fetch(`${h.api}/poll/${query_id}`, { headers: auth(token), redirect: 'manual' });
    await p.arrayBuffer();
    if (p.status === 303) return query_id;
    if (p.status !== 202) throw new Error(`poll: ${p.status}`);
    if (Date.now() > until) throw new Error('poll: timed out');
    await new Promise((r2) => setTimeout(r2, 20));
  }
}

export type Frame = Record<string, unknown> & { op: string };

/** A stream client: every frame decoded in order, with waits bounded in time. */
export class StreamClient {
  readonly frames: Frame[] = [];
  /** Bytes of each message as the server sent it (frames[i] decoded from sizes[i] bytes). */
  readonly sizes: number[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.sizes.push(data.byteLength);
      this.frames.push((isBinary ? decode(data) : { op: 'text', text: data.toString() }) as Frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => this.wake());
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<StreamClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const c = new StreamClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(msg: unknown): void {
    this.ws.send(encode(msg));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** Waits until `pred` holds of the frames so far (or the socket closes), at most `ms`. */
  async until(pred: (frames: Frame[]) => boolean, ms = 20_000): Promise<Frame[]> {
    const deadline = Date.now() + ms;
    while (!pred(this.frames)) {
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) before the condition held; frames: ${JSON.stringify(this.frames.map((f) => f.op))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; frames: ${JSON.stringify(this.frames.map((f) => [f.op, f.id, f.tier]))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.frames;
  }

  async closedWithin(ms = 10_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket still open');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A JWT signed with HS256 over a shared secret: a kind the service must refuse. */
export function hs256Token(payload: object): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${crypto.createHmac('sha256', 'secret').update(head).digest('base64url')}`;
}

export function unsignedToken(payload: object): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}

/** Specs used across the suites. */
export const specs = {
  flows: (unit: string) => ({
    query_kind: 'flows',
    from_location: { query_kind: 'most_frequent_location', start_date: '2016-01-01', end_date: '2016-01-08', aggregation_unit: unit },
    to_location: { query_kind: 'most_frequent_location', start_date: '2016-01-08', end_date: '2016-01-15', aggregation_unit: unit },
  }),
  daily: (unit: string, date = '2016-01-03') => ({
    query_kind: 'spatial_aggregate',
    locations: { query_kind: 'daily_location', date, method: 'last', aggregation_unit: unit },
  }),
  /** A month-long window that ends before free's 2-day test embargo (the sample's last day 2016-04-03). */
  monthly: (unit: string) => ({
    query_kind: 'spatial_aggregate',
    locations: { query_kind: 'most_frequent_location', start_date: '2015-12-14', end_date: '2016-01-12', aggregation_unit: unit },
  }),
  usc: (unit: string, start = '2016-01-01', end = '2016-01-15') => ({ query_kind: 'unique_subscriber_counts', start_date: start, end_date: end, aggregation_unit: unit }),
  /** labelled_flows between two three-day periods (each the majority of its daily locations), labelled over four. */
  labelledFlows: (unit: string) => {
    const day = (n: number) => ({ query_kind: 'daily_location', date: `2016-01-${String(n).padStart(2, '0')}`, method: 'last', aggregation_unit: unit });
    const weights = (from: number) => ({ query_kind: 'location_visits', locations: [from, from + 1, from + 2].map(day) });
    const majority = (from: number) => ({ query_kind: 'majority_location', subscriber_location_weights: weights(from) });
    const period = (from: number) => ({ query_kind: 'coalesced_location', preferred_location: majority(from), fallback_location: majority(from), subscriber_location_weights: weights(from), weight_threshold: 1 });
    return {
      query_kind: 'labelled_flows',
      from_location: period(1),
      to_location: period(10),
      labels: { query_kind: 'mobility_classification', locations: [period(1), period(4), period(7), period(10)], stay_length_threshold: 2 },
    };
  },
};

/**
 * A harness on a fresh copy of the sample store whose service follows that store
 * (polled every 50 ms), so an ingest into h.config.store reaches live subscribers.
 */
export async function startLiveHarness(): Promise<{ h: Harness; live: LiveStore; close(): Promise<void> }> {
  const h = await startHarness(await sampleStore());
  const live = followStore({ store: h.config.store, engine: { partitions: 8, threads: 0 }, server: h.server, log: pino({ level: 'silent' }), intervalMs: 50, graceMs: 100 });
  return {
    h,
    live,
    async close() {
      await live.close();
      await h.close();
      fs.rmSync(h.root, { recursive: true, force: true });
    },
  };
}
