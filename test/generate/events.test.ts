import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, generateTmp, readDatasetEvents, type EventRow } from './helpers.js';
import type { GenerateSummary } from '../../server/generate/index.js';

afterAll(cleanup);

let events: EventRow[] = [];
let summary: GenerateSummary;
let dir = '';
const SUBSCRIBERS = 1000;
const DAYS = 7;

beforeAll(async () => {
  ({ dir, summary } = await generateTmp({ subscribers: SUBSCRIBERS, days: DAYS, seed: 2 }));
  events = readDatasetEvents(dir);
});

const ON_NET = /^22507\d{8}$/;
const OFF_NET = /^22505\d{8}$/;
const key = (e: EventRow) => [e.datetime, e.event_type, e.msisdn, e.msisdn_counterpart, e.duration].join('|');
const hour = (e: EventRow) => Number(e.datetime.slice(11, 13));

describe('generate: events', () => {
  it('reports what it wrote', () => {
    expect(summary.events).toBe(events.length);
    expect(summary.files).toEqual([path.join('events', 'events.csv')]);
    expect(summary.bytes).toBe(fs.statSync(path.join(dir, 'events', 'events.csv')).size);
    // A few events per subscriber-day on average.
    expect(events.length / SUBSCRIBERS / DAYS).toBeGreaterThan(2);
    expect(events.length / SUBSCRIBERS / DAYS).toBeLessThan(20);
  });

  it('writes local datetimes YYYY-MM-DD HH:MM:SS within the period, in time order', () => {
    const format = /^2016-01-0[1-7] ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;
    const bad = events.filter((e, i) => !format.test(e.datetime) || (i > 0 && e.datetime < events[i - 1]!.datetime));
    expect(bad.slice(0, 3)).toEqual([]);
  });

  it('gives each event type its fields and leaves the others empty', () => {
    const types = new Set(events.map((e) => e.event_type));
    expect([...types].sort()).toEqual(['calls', 'mds', 'sms', 'topups']);
    const party = /^(true|false)$/;
    const number = /^225(07|05)\d{8}$/;
    const positive = (v: string) => /^[1-9]\d*$/.test(v);
    const ok: Record<string, (e: EventRow) => boolean> = {
      calls: (e) => party.test(e.outgoing) && positive(e.duration) && number.test(e.msisdn_counterpart) && e.recharge_amount === '',
      sms: (e) => party.test(e.outgoing) && e.duration === '' && number.test(e.msisdn_counterpart) && e.recharge_amount === '',
      mds: (e) => e.outgoing === '' && positive(e.duration) && e.msisdn_counterpart === '' && e.recharge_amount === '',
      topups: (e) => e.outgoing === '' && e.duration === '' && e.msisdn_counterpart === '' && positive(e.recharge_amount),
    };
    const bad = events.filter(
      (e) => !ON_NET.test(e.msisdn) || !ok[e.event_type]!(e) || (e.event_type !== 'topups' && e.cell_id === ''),
    );
    expect(bad.slice(0, 3)).toEqual([]);
    // Some top-ups have no cell (made by USSD), most events have one.
    expect(events.some((e) => e.event_type === 'topups' && e.cell_id === '')).toBe(true);
  });

  it('writes on-network calls and sms as two rows: outgoing for the caller, incoming for the callee', () => {
    const incoming = new Map<string, EventRow[]>();
    for (const e of events) if (e.outgoing === 'false') incoming.set(key(e), [...(incoming.get(key(e)) ?? []), e]);
    let pairs = 0;
    const missing: string[] = [];
    for (const e of events) {
      if (e.outgoing !== 'true' || !ON_NET.test(e.msisdn_counterpart)) continue;
      const swapped = { ...e, msisdn: e.msisdn_counterpart, msisdn_counterpart: e.msisdn };
      if (incoming.has(key(swapped))) pairs++;
      else missing.push(key(e));
    }
    // And every incoming on-network row has its caller.
    const outgoingKeys = new Set(events.filter((e) => e.outgoing === 'true').map(key));
    for (const e of events) {
      if (e.outgoing !== 'false' || !ON_NET.test(e.msisdn_counterpart)) continue;
      if (!outgoingKeys.has(key({ ...e, msisdn: e.msisdn_counterpart, msisdn_counterpart: e.msisdn }))) missing.push(key(e));
    }
    expect(missing.slice(0, 3)).toEqual([]);
    expect(pairs).toBeGreaterThan(1000);
  });

  it('has off-network counterparts, with a single row', () => {
    const offNet = events.filter((e) => OFF_NET.test(e.msisdn_counterpart));
    expect(offNet.length).toBeGreaterThan(100);
    expect(offNet.some((e) => e.outgoing === 'true')).toBe(true);
    expect(offNet.some((e) => e.outgoing === 'false')).toBe(true);
    const parties = new Set(events.map((e) => e.msisdn));
    expect(offNet.filter((e) => parties.has(e.msisdn_counterpart))).toEqual([]);
  });

  it('has unique subscriber numbers, at most one per subscriber', () => {
    const parties = new Set(events.map((e) => e.msisdn));
    expect(parties.size).toBeLessThanOrEqual(SUBSCRIBERS);
    expect(parties.size).toBeGreaterThan(SUBSCRIBERS * 0.8);
  });

  it('is quiet at night and busy by day', () => {
    const night = events.filter((e) => hour(e) >= 1 && hour(e) < 5).length;
    const midday = events.filter((e) => hour(e) >= 11 && hour(e) < 15).length;
    expect(midday).toBeGreaterThan(8 * night);
  });

  it('has heavy-tailed activity: the top 10% of subscribers make a large share of the events', () => {
    const perSubscriber = new Map<string, number>();
    for (const e of events) perSubscriber.set(e.msisdn, (perSubscriber.get(e.msisdn) ?? 0) + 1);
    const counts = [...perSubscriber.values()].sort((a, b) => b - a);
    const top = counts.slice(0, Math.ceil(counts.length / 10)).reduce((s, c) => s + c, 0);
    expect(top / events.length).toBeGreaterThan(0.3);
    expect(counts.at(-1)!).toBeLessThan(counts[0]! / 20);
  });

  it('locates subscribers at one place at night and elsewhere on weekday working hours', () => {
    // Share of subscribers whose most frequent night cell site differs from their most frequent weekday-noon site.
    const mode = (rows: EventRow[]) => {
      const n = new Map<string, number>();
      for (const r of rows) n.set(r.cell_id.slice(0, 6), (n.get(r.cell_id.slice(0, 6)) ?? 0) + 1);
      return [...n.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    };
    const bySubscriber = new Map<string, EventRow[]>();
    for (const e of events) if (e.cell_id) bySubscriber.set(e.msisdn, [...(bySubscriber.get(e.msisdn) ?? []), e]);
    let both = 0;
    let differ = 0;
    let nightStable = 0;
    let nightTotal = 0;
    for (const rows of bySubscriber.values()) {
      const night = rows.filter((r) => hour(r) < 6 || hour(r) >= 23);
      // 2016-01-04 .. 2016-01-07 are Monday to Thursday.
      const work = rows.filter((r) => r.datetime >= '2016-01-04' && hour(r) >= 10 && hour(r) < 16);
      const home = mode(night);
      if (home) {
        nightStable += night.filter((r) => r.cell_id.startsWith(home)).length;
        nightTotal += night.length;
      }
      if (night.length >= 3 && work.length >= 3) {
        both++;
        if (mode(night) !== mode(work)) differ++;
      }
    }
    expect(nightStable / nightTotal).toBeGreaterThan(0.85);
    expect(differ / both).toBeGreaterThan(0.4);
  });
});
