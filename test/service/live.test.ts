/**
 * Live frames: a day ingested into the store of a running service reaches the
 * live subscriptions whose window it touches, without asking again.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READY_MARKER, watchDropFolder } from '../../server/service/dropfolder.js';
import type { LiveStore } from '../../server/service/live.js';
import { type Frame, type Harness, ingestWithTestKey, oneDayDelivery, startLiveHarness, StreamClient } from './helpers.js';

let h: Harness;
let live: LiveStore;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ h, live, close } = await startLiveHarness());
}, 120_000);
afterAll(() => close());

/** A delivery of one new day: 40 new subscribers calling from the sample's first cell. */
const newDay = (dir: string, date = '2016-04-04') => oneDayDelivery(dir, date);

const finals = (frames: Frame[]) => frames.filter((f) => f.op === 'final' && f.id === 'u');

describe('live frames', () => {
  it('re-sends a live subscription when a new day lands in its window', async () => {
    const c = await StreamClient.open(h.api.replace(/^http/, 'ws') + '/stream');
    try {
      c.send({ op: 'auth', token: await h.token('partner') });
      await c.until((f) => f.some((x) => x.op === 'auth'));
      const spec = { query_kind: 'unique_subscriber_counts', start_date: '2016-03-30', end_date: '2016-04-09', aggregation_unit: 'admin1' };
      c.send({ op: 'subscribe', id: 'u', spec });
      const before = finals(await c.until((f) => finals(f).length === 1))[0]!;

      const dataset = path.join(h.root, 'delivery');
      newDay(dataset);
      await ingestWithTestKey(dataset, h.config.store);

      const after = finals(await c.until((f) => finals(f).length === 2, 20_000))[1]!;
      expect(h.server.context.engine.store.days().at(-1)).toBe('2016-04-04');
      const value = (frame: Frame, pcod: string) => (frame.rows as { pcod: string; value: number }[]).find((r) => r.pcod === pcod)?.value ?? 0;
      // The region of C00001-1 gains exactly the 40 new subscribers; every other region is unchanged.
      const region = (after.rows as { pcod: string }[]).map((r) => r.pcod).find((p) => value(after, p) !== value(before, p));
      expect(region).toBeDefined();
      expect(value(after, region!) - value(before, region!)).toBe(40);
      for (const r of before.rows as { pcod: string }[]) if (r.pcod !== region) expect(value(after, r.pcod)).toBe(value(before, r.pcod));
    } finally {
      c.close();
    }
  });

  it('ingests ready deliveries from a drop folder, moves them to .done or .failed, and serves the new day', async () => {
    const drop = path.join(h.root, 'drop');
    fs.mkdirSync(drop);
    const saved = process.env.OPALITE_PSEUDONYM_KEY;
    process.env.OPALITE_PSEUDONYM_KEY = '5a'.repeat(32);
    const folder = watchDropFolder({ dir: drop, store: h.config.store, log: pino({ level: 'silent' }), intervalMs: 60_000 });
    try {
      newDay(path.join(drop, '2016-04-05'), '2016-04-05');
      newDay(path.join(drop, 'half-written'), '2016-04-06'); // no READY yet: left alone
      fs.mkdirSync(path.join(drop, 'broken'));
      fs.writeFileSync(path.join(drop, 'broken', READY_MARKER), '');
      fs.writeFileSync(path.join(drop, '2016-04-05', READY_MARKER), '');
      await folder.scan();
      expect(fs.readdirSync(path.join(drop, '.done'))).toEqual(['2016-04-05']);
      expect(fs.readdirSync(path.join(drop, '.failed'))).toEqual(['broken']);
      expect(fs.readFileSync(path.join(drop, '.failed', 'broken', 'error.txt'), 'utf8')).toMatch(/cells\.csv/);
      expect(fs.existsSync(path.join(drop, 'half-written'))).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      await live.settled();
      expect(h.server.context.engine.store.days().at(-1)).toBe('2016-04-05');
    } finally {
      await folder.close();
      if (saved === undefined) delete process.env.OPALITE_PSEUDONYM_KEY;
      else process.env.OPALITE_PSEUDONYM_KEY = saved;
    }
  });

  // Issue #14: expiry was checked only when the client sent something, so a live subscription kept receiving
  // refresh frames after its token expired. Every frame checks it; an expired socket is closed with 4001.
  it('sends nothing once the token has expired: the socket is closed with 4001, and a new day brings no refresh', async () => {
    const c = await StreamClient.open(h.api.replace(/^http/, 'ws') + '/stream');
    try {
      const token = await h.token('partner', { sub: 'short-lived', ttl: 2 });
      const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
      c.send({ op: 'auth', token });
      await c.until((f) => f.some((x) => x.op === 'auth'));
      const spec = { query_kind: 'unique_subscriber_counts', start_date: '2016-03-30', end_date: '2016-04-14', aggregation_unit: 'admin1' };
      c.send({ op: 'subscribe', id: 'u', spec });
      await c.until((f) => finals(f).length === 1);
      const closed = await c.closedWithin(exp * 1000 - Date.now() + 3000);
      expect(closed.code).toBe(4001);
      expect(closed.reason).toMatch(/^token expired at \d{4}-\d\d-\d\dT/);
      const frames = c.frames.length;

      const dataset = path.join(h.root, 'delivery-expiry');
      oneDayDelivery(dataset, '2016-04-07');
      await ingestWithTestKey(dataset, h.config.store);
      await live.settled();
      await new Promise((r) => setTimeout(r, 300));
      expect(h.server.context.engine.store.days()).toContain('2016-04-07');
      expect(c.frames.length).toBe(frames);
      expect(c.frames.some((f) => f.refresh === true)).toBe(false);
      h.server.context.audit.flush();
      const ended = fs
        .readFileSync(h.config.audit.file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { sub: string; op: string; status: unknown })
        .filter((e) => e.sub === 'short-lived' && e.op === 'stream end');
      expect(ended).toEqual([expect.objectContaining({ status: 4001 })]);
    } finally {
      c.close();
    }
  });
});
