/**
 * The stream, through the `ws` package and @msgpack/msgpack (not msgpackr):
 * auth, subscribe, progressive partial frames, coarse-to-fine tiers, final,
 * unsubscribe, and the errors.
 */
import fs from 'node:fs';
import { encode } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Frame, type Harness, sampleStore, specs, startHarness, StreamClient } from './helpers.js';

let root: string;
let h: Harness;
let partner: string;
let url: string;

beforeAll(async () => {
  root = await sampleStore();
  h = await startHarness(root, { partitions: 8, tweak: (c) => (c.stream.maxSubscriptions = 4) });
  partner = await h.token('partner');
  url = `${h.api.replace('http', 'ws')}/stream`;
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const of = (frames: Frame[], id: unknown) => frames.filter((f) => f.id === id);

describe('the stream', () => {
  it('authenticates with a first message, then streams partials and finals coarse to fine', async () => {
    const c = await StreamClient.open(url);
    try {
      c.send({ op: 'auth', token: partner });
      expect((await c.until((f) => f.length > 0))[0]).toMatchObject({ op: 'auth', ok: true, sub: 'test-partner', tier: 'partner' });

      const spec = specs.flows('admin3');
      c.send({ op: 'subscribe', id: 'f', spec });
      const frames = of(await c.until((f) => f.some((x) => x.op === 'final' && x.last === true)), 'f');
      expect(frames.every((f) => f.op === 'partial' || f.op === 'final')).toBe(true);
      // Coarse to fine: every admin1 frame, then every admin2 frame, then every admin3 frame.
      const tiers = frames.map((f) => f.tier as string);
      expect([...new Set(tiers)]).toEqual(['admin1', 'admin2', 'admin3']);
      expect(tiers).toEqual([...tiers].sort());
      for (const tier of ['admin1', 'admin2', 'admin3']) {
        const mine = frames.filter((f) => f.tier === tier);
        const partials = mine.slice(0, -1);
        const final = mine.at(-1)!;
        expect(final.op).toBe('final');
        expect(final.last).toBe(tier === 'admin3');
        // Progressive: one estimate per partition but the last, each over more subscribers.
        expect(partials).toHaveLength(h.config.partitions - 1);
        const fractions = partials.map((p) => p.fraction as number);
        for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThan(fractions[i - 1]!);
        expect(fractions.at(-1)).toBeLessThan(1);
        for (const p of partials) {
          // Each dropped count is published only above k (coarsened in a partial), else null (issue #13).
          expect(Object.keys(p.dropped as object).sort()).toEqual(['noCell', 'outsideRegion', 'unknownCell']);
          for (const v of Object.values(p.dropped as Record<string, number | null>)) expect(v === null || v > 15).toBe(true);
          expect(Array.isArray(p.rows)).toBe(true);
        }
      }
      const own = await h.engine.run(spec);
      const final = frames.at(-1)!;
      expect(final.rows).toEqual(own.rows);
      expect(final.withheld).toBe(own.withheld);
      expect(final.query_id).toBe(own.query_id);
      const coarse = await h.engine.run({
        ...spec,
        from_location: { ...spec.from_location, aggregation_unit: 'admin1' },
        to_location: { ...spec.to_location, aggregation_unit: 'admin1' },
      });
      expect(frames.find((f) => f.op === 'final' && f.tier === 'admin1')!.rows).toEqual(coarse.rows);
    } finally {
      c.close();
    }
  });

  it('takes the token in the upgrade (?token= or Authorization) and serves a cached result as finals only', async () => {
    for (const c of [await StreamClient.open(`${url}?token=${encodeURIComponent(partner)}`), await StreamClient.open(url, auth(partner))]) {
      try {
        await c.until((f) => f.some((x) => x.op === 'auth'));
        c.send({ op: 'subscribe', id: 7, spec: specs.flows('admin3') });
        const frames = of(await c.until((f) => f.some((x) => x.op === 'final' && x.last === true)), 7);
        expect(frames.map((f) => [f.op, f.tier])).toEqual([
          ['final', 'admin1'],
          ['final', 'admin2'],
          ['final', 'admin3'],
        ]);
      } finally {
        c.close();
      }
    }
  });

  it('stops sending a subscription once unsubscribed', async () => {
    const c = await StreamClient.open(url, auth(partner));
    try {
      c.send({ op: 'subscribe', id: 'u', spec: specs.usc('admin3', '2016-01-02', '2016-01-12') });
      c.send({ op: 'unsubscribe', id: 'u' });
      c.send({ op: 'subscribe', id: 'barrier', spec: specs.usc('admin2', '2016-01-03', '2016-01-12') });
      const frames = await c.until((f) => f.some((x) => x.id === 'barrier' && x.last === true));
      const i = frames.findIndex((f) => f.op === 'unsubscribed' && f.id === 'u');
      expect(i).toBeGreaterThanOrEqual(0);
      expect(frames.slice(i + 1).filter((f) => f.id === 'u')).toEqual([]);
      // The id is free again.
      c.send({ op: 'subscribe', id: 'u', spec: specs.usc('admin1') });
      await c.until((f) => f.filter((x) => x.id === 'u' && x.last === true).length === 1);
      c.send({ op: 'unsubscribe', id: 'nope' });
      expect((await c.until((f) => f.some((x) => x.op === 'error')))!.find((x) => x.op === 'error')).toMatchObject({ code: 'UNKNOWN_SUBSCRIPTION' });
    } finally {
      c.close();
    }
  });

  it('answers a bad spec with an error frame listing every problem', async () => {
    const c = await StreamClient.open(url, auth(partner));
    try {
      c.send({ op: 'subscribe', id: 'bad', spec: { query_kind: 'spatial_aggregate', locations: { query_kind: 'daily_location', date: 'yesterday', method: 'last' } } });
      const err = (await c.until((f) => f.some((x) => x.op === 'error'))).find((x) => x.op === 'error')!;
      expect(err).toMatchObject({ op: 'error', id: 'bad', code: 'BAD_SPEC' });
      expect((err.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(['locations.aggregation_unit', 'locations.date']);
      expect(err.message).toMatch(/2 problems/);
    } finally {
      c.close();
    }
  });

  it('refuses unknown ops, duplicate ids, too many subscriptions and undecodable messages, keeping the socket', async () => {
    const c = await StreamClient.open(url, auth(partner));
    try {
      c.send({ op: 'dance' });
      c.ws.send(Buffer.from([0xc1, 0xc1]));
      for (const id of [1, 2, 3, 4]) c.send({ op: 'subscribe', id, spec: specs.usc('admin1') });
      c.send({ op: 'subscribe', id: 4, spec: specs.usc('admin1') });
      c.send({ op: 'subscribe', id: 5, spec: specs.usc('admin1') });
      const frames = await c.until((f) => f.filter((x) => x.op === 'error').length >= 4);
      const codes = frames.filter((x) => x.op === 'error').map((x) => x.code);
      expect(codes).toEqual(['UNKNOWN_OP', 'BAD_MESSAGE', 'DUPLICATE_ID', 'TOO_MANY_SUBSCRIPTIONS']);
      expect(c.closed).toBeNull();
    } finally {
      c.close();
    }
  });

  it('closes a socket that sends text (1003) or subscribes before authenticating (1008)', async () => {
    const a = await StreamClient.open(url, auth(partner));
    a.ws.send(JSON.stringify({ op: 'subscribe' }));
    expect((await a.closedWithin()).code).toBe(1003);
    const b = await StreamClient.open(url);
    b.ws.send(encode({ op: 'subscribe', id: 1, spec: specs.usc('admin1') }));
    const err = (await b.until((f) => f.length > 0).catch(() => b.frames))[0];
    expect(err).toMatchObject({ op: 'error', code: 'TOKEN_MISSING' });
    expect((await b.closedWithin()).code).toBe(1008);
  });

  it('closes a socket that sends a message over maxPayloadLength', async () => {
    const c = await StreamClient.open(url, auth(partner));
    c.send({ op: 'subscribe', id: 'big', spec: { query_kind: 'flows', padding: 'x'.repeat(h.config.stream.maxPayloadLength + 1) } });
    expect((await c.closedWithin()).code).not.toBe(1000);
    expect(c.frames.filter((f) => f.id === 'big')).toEqual([]);
  });

  it('closes a socket that never authenticates', async () => {
    const h2 = await startHarness(root, { tweak: (c) => (c.stream.authTimeoutMs = 300) });
    try {
      const c = await StreamClient.open(`${h2.api.replace('http', 'ws')}/stream`);
      const closed = await c.closedWithin(5000);
      expect(closed.code).toBe(1008);
      expect(closed.reason).toMatch(/auth/);
    } finally {
      await h2.close();
    }
  });

  it('records subscriptions and finals in the audit log', async () => {
    // Its own subscription, at a unit where rows are withheld: each final's audit entry says what the frame carried.
    const c = await StreamClient.open(url, auth(partner));
    let finals: Frame[];
    try {
      c.send({ op: 'subscribe', id: 'audited', spec: specs.daily('admin3', '2016-01-05') });
      finals = of(await c.until((f) => f.some((x) => x.id === 'audited' && x.last === true)), 'audited').filter((f) => f.op === 'final');
    } finally {
      c.close();
    }
    expect(finals.map((f) => f.tier)).toEqual(['admin1', 'admin2', 'admin3']);
    expect((finals.at(-1)!.rows as unknown[]).length).toBeGreaterThan(0);
    expect(finals.at(-1)!.withheld).toBeGreaterThan(0);
    h.server.context.audit.flush();
    const lines = fs.readFileSync(h.config.audit.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.op === 'stream subscribe' && l.status === 'accepted' && l.sub === 'test-partner' && l.detail === 'audited: admin1 > admin2 > admin3')).toBe(true);
    const audited = lines.filter((l) => l.op === 'stream final' && l.status === 'ok' && String(l.detail).startsWith('audited '));
    expect(audited.map((l) => [l.query_id, l.rows, l.withheld])).toEqual(finals.map((f) => [f.query_id, (f.rows as unknown[]).length, f.withheld]));
    expect(lines.some((l) => l.op === 'stream subscribe' && l.status === 'BAD_SPEC')).toBe(true);
  });
});
