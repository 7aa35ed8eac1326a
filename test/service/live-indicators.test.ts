/**
 * Live indicator subscriptions: a day ingested into the store of a running
 * service re-sends, under the same id, the indicator subscriptions of a live
 * tier whose period (or the period before it) the day falls in; a
 * subscription without a period follows the latest; other subscriptions and
 * non-live tiers get nothing new. Raw specs likewise, by their window; every
 * refresh is audited.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Frame, type Harness, ingestWithTestKey, oneDayDelivery, runToCompletion, specs, startLiveHarness, StreamClient } from './helpers.js';

let h: Harness;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ h, close } = await startLiveHarness());
}, 120_000);
afterAll(() => close());

interface Indicator {
  period: { key: string; last_day: string; days: number };
  values: { pcod: string; value: number | null }[];
}

const finalsOf = (c: StreamClient, id: string) => c.frames.filter((f) => f.op === 'final' && f.id === id);
const indicatorOf = (f: Frame) => f.indicator as Indicator;

async function connect(tier: string): Promise<StreamClient> {
  const c = await StreamClient.open(h.api.replace(/^http/, 'ws') + '/stream');
  c.send({ op: 'auth', token: await h.token(tier) });
  await c.until((f) => f.some((x) => x.op === 'auth'));
  return c;
}

/** Unique subscribers per admin1 region over [start, end), as the raw FlowKit query counts them (redacted at 15). */
async function rawPresence(start: string, end: string): Promise<Map<string, number>> {
  const token = await h.token('partner');
  const id = await runToCompletion(h, token, specs.usc('admin1', start, end));
  const body = (await (await fetch(`${h.api}/get/${id}`, { headers: auth(token) })).json()) as { query_result: { pcod: string; value: number }[] };
  return new Map(body.query_result.map((r) => [r.pcod, r.value]));
}

async function deliver(date: string, subscribers: number, first: number): Promise<void> {
  const dataset = path.join(h.root, `delivery-${date}-${first}`);
  oneDayDelivery(dataset, date, subscribers, first);
  await ingestWithTestKey(dataset, h.config.store);
}

describe('live indicator subscriptions', () => {
  it('re-sends an indicator whose period gains or changes a day, follows the latest period, and leaves the rest alone', async () => {
    const partner = await connect('partner');
    const premium = await connect('premium');
    try {
      // The sample ends on Sunday 2016-04-03, a whole week: the period that gains the next day is April (stored 1-3 April).
      const current = { id: 'presence.count', unit: 'admin1', resolution: 'month', period: '2016-04-01' };
      const earlier = { id: 'presence.count', unit: 'admin1', resolution: 'month', period: '2016-03-01' }; // 2016-03 reads February and March: not touched by 4 April
      partner.send({ op: 'subscribe', id: 'w2', indicator: current });
      partner.send({ op: 'subscribe', id: 'w1', indicator: earlier });
      partner.send({ op: 'subscribe', id: 'latest', indicator: { id: 'presence.count', unit: 'admin1', resolution: 'day' } });
      premium.send({ op: 'subscribe', id: 'w2', indicator: current });
      // Raw specs alike: a window holding 4 April, and one ending before it.
      partner.send({ op: 'subscribe', id: 'raw-in', spec: specs.usc('admin1', '2016-04-02', '2016-04-09') });
      partner.send({ op: 'subscribe', id: 'raw-out', spec: specs.usc('admin1', '2016-03-21', '2016-04-04') });
      await partner.until(() => ['w2', 'w1', 'latest', 'raw-in', 'raw-out'].every((id) => finalsOf(partner, id).length === 1));
      await premium.until(() => finalsOf(premium, 'w2').length === 1);
      expect(indicatorOf(finalsOf(partner, 'w2')[0]!).period).toMatchObject({ key: '2016-04', last_day: '2016-04-03', days: 3 });
      expect(indicatorOf(finalsOf(partner, 'latest')[0]!).period.key).toBe('2016-04-03');
      const rawBefore = await rawPresence('2016-04-01', '2016-04-04');

      // A new day: 40 new subscribers in the region of cell C00001-1.
      await deliver('2016-04-04', 40, 0);
      await partner.until(() => finalsOf(partner, 'w2').length === 2 && finalsOf(partner, 'latest').length === 2, 20_000);
      const w2 = finalsOf(partner, 'w2')[1]!;
      expect(w2).toMatchObject({ refresh: true, tier: 'admin1', last: true });
      expect(indicatorOf(w2).period).toMatchObject({ key: '2016-04', last_day: '2016-04-04', days: 4 });
      // The refreshed values are those of the new store: the raw unique counts over the grown month, rounded to 100.
      const rawAfter = await rawPresence('2016-04-01', '2016-04-05');
      const grown = [...rawAfter].filter(([pcod, v]) => v !== rawBefore.get(pcod));
      expect(grown.map(([pcod, v]) => v - (rawBefore.get(pcod) ?? 0))).toEqual([40]);
      const published = indicatorOf(w2).values.filter((v) => v.value !== null);
      expect(published.length).toBeGreaterThan(0);
      for (const v of published) expect(v.value).toBe(Math.round(rawAfter.get(v.pcod)! / 100) * 100);
      // And the same as asking the REST route afresh.
      const rest = (await (await fetch(`${h.api}/indicators/presence.count?unit=admin1&resolution=month&period=2016-04-01`, { headers: auth(await h.token('partner')) })).json()) as Indicator;
      expect(indicatorOf(w2).values).toEqual(rest.values);
      // Without a period: the new latest period, a day that did not exist before.
      expect(finalsOf(partner, 'latest')[1]).toMatchObject({ refresh: true });
      expect(indicatorOf(finalsOf(partner, 'latest')[1]!).period).toMatchObject({ key: '2016-04-04', days: 1 });

      await partner.until(() => finalsOf(partner, 'raw-in').length === 2);
      expect(finalsOf(partner, 'raw-in')[1]).toMatchObject({ refresh: true, last: true });

      // Nothing for the month or the window the day is outside of, nor for the non-live tier (given time to arrive, were they sent).
      await new Promise((r) => setTimeout(r, 500));
      expect(finalsOf(partner, 'w1')).toHaveLength(1);
      expect(finalsOf(partner, 'raw-out')).toHaveLength(1);
      expect(finalsOf(premium, 'w2')).toHaveLength(1);
      // Each refresh is in the audit log as such.
      h.server.context.audit.flush();
      const refreshes = fs
        .readFileSync(h.config.audit.file, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"stream refresh"') && l.includes('"accepted"'))
        .map((l) => (JSON.parse(l) as { detail: string }).detail.split(':')[0]);
      expect(refreshes.sort()).toEqual(['latest', 'raw-in', 'w2']);

      // The same day delivered again with other content replaces it: the month is re-sent once more.
      partner.send({ op: 'unsubscribe', id: 'latest' });
      await partner.until((f) => f.some((x) => x.op === 'unsubscribed' && x.id === 'latest'));
      await deliver('2016-04-04', 60, 1000);
      await partner.until(() => finalsOf(partner, 'w2').length === 3, 20_000);
      const rawReplaced = await rawPresence('2016-04-01', '2016-04-05');
      for (const v of indicatorOf(finalsOf(partner, 'w2')[2]!).values) {
        if (v.value !== null) expect(v.value).toBe(Math.round(rawReplaced.get(v.pcod)! / 100) * 100);
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(finalsOf(partner, 'latest')).toHaveLength(2); // unsubscribed: nothing more
      expect(finalsOf(partner, 'w1')).toHaveLength(1);
      expect(finalsOf(premium, 'w2')).toHaveLength(1);
      // Every indicator final that left is audited with its counts, as a raw final is.
      h.server.context.audit.flush();
      const audited = fs
        .readFileSync(h.config.audit.file, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"stream final"'))
        .map((l) => JSON.parse(l) as { sub: string; detail: string; rows: number })
        .filter((e) => e.sub === 'test-partner' && e.detail.startsWith('w2 '));
      expect(audited.map((e) => e.detail)).toEqual(Array(3).fill('w2 admin1 presence.count 2016-04'));
      expect(audited.map((e) => e.rows)).toEqual(finalsOf(partner, 'w2').map((f) => indicatorOf(f).values.length));
    } finally {
      partner.close();
      premium.close();
    }
  });
});
