/**
 * The optional fields FlowKit's schemas take and FlowClient's helpers send, checked
 * against the plain references: `hours` (HoursField, missing=None, allow_none=True)
 * on unique_subscriber_counts, trips_od_matrix, consecutive_trips_od_matrix and
 * total_network_objects. null means every hour and changes nothing, not even the
 * query id; a value filters events by local clock hour exactly as the reference does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECONDS_PER_DAY, TYPE_CALLS, TYPE_SMS } from '../../kernels/shared/constants.js';
import { Engine } from '../../server/engine/engine.js';
import { refLastLocation, refUniqueLocations, type RefFilter } from '../reference/events.js';
import { refCellsByPeriod, refConsecutiveTripsOD, refTripsOD } from '../reference/od.js';
import { buildFixture, FIRST_DAY, type Fixture } from './fixtures.js';

const K = 15;
const date = (d: number) => new Date((FIRST_DAY + d) * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
const CALLS_SMS = [TYPE_CALLS, TYPE_SMS];
const HOURS = { start_hour: 8, end_hour: 17 };
const NIGHT = { start_hour: 20, end_hour: 4 };

let dir: string;
let fx: Fixture;
let engine: Engine;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-flowkit-fields-'));
  fx = buildFixture(dir, { subs: 600, days: 3, seed: 5 });
  engine = Engine.open(dir, { partitions: 4, threads: 0 });
});
afterAll(async () => {
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const range = (hours?: { start_hour: number; end_hour: number }): RefFilter => ({
  types: CALLS_SMS,
  start: FIRST_DAY * SECONDS_PER_DAY,
  end: (FIRST_DAY + 3) * SECONDS_PER_DAY,
  hours: hours && { start: hours.start_hour, end: hours.end_hour },
});
const windowed = (kind: string, extra: object = {}) => ({ query_kind: kind, start_date: date(0), end_date: date(3), aggregation_unit: 'admin1', ...extra });

function perRegion(counts: Map<number, number>) {
  return [...counts].filter(([, v]) => v > K).sort(([a], [b]) => a - b).map(([r, value]) => ({ pcod: `R${r}`, value }));
}
function perPair(counts: Map<string, number>) {
  return [...counts]
    .map(([k, value]) => [...k.split(',').map(Number), value] as [number, number, number])
    .filter(([, , v]) => v > K)
    .sort((x, y) => x[0] - y[0] || x[1] - y[1])
    .map(([a, b, value]) => ({ pcod_from: `R${a}`, pcod_to: `R${b}`, value }));
}

describe('hours on the windowed counts (FlowKit HoursField)', () => {
  for (const kind of ['unique_subscriber_counts', 'trips_od_matrix', 'consecutive_trips_od_matrix', 'total_network_objects']) {
    it(`${kind}: hours null is the default (same spec, same query id)`, () => {
      const plain = engine.parse(windowed(kind));
      const nulled = engine.parse(windowed(kind, { hours: null }));
      expect(nulled).toEqual(plain);
      expect(engine.queryId(nulled)).toBe(engine.queryId(plain));
    });
  }

  for (const hours of [HOURS, NIGHT]) {
    const label = `${hours.start_hour}-${hours.end_hour}`;
    it(`unique_subscriber_counts with hours ${label} matches the reference`, async () => {
      const r = await engine.run(windowed('unique_subscriber_counts', { hours }));
      const counts = new Map<number, number>();
      for (const [, loc] of refUniqueLocations(fx.events, range(hours), fx.locator).pairs) counts.set(loc, (counts.get(loc) ?? 0) + 1);
      const all = await engine.run(windowed('unique_subscriber_counts'));
      expect(r.rows).toEqual(perRegion(counts));
      expect(r.rows).not.toEqual(all.rows); // the filter changed something on this fixture
    });

    it(`trips_od_matrix and consecutive_trips_od_matrix with hours ${label} match the reference`, async () => {
      for (const [kind, ref] of [
        ['trips_od_matrix', refTripsOD],
        ['consecutive_trips_od_matrix', refConsecutiveTripsOD],
      ] as const) {
        const r = await engine.run(windowed(kind, { hours }));
        const expected = perPair(ref(fx.events, range(hours), fx.locator).counts);
        expect(expected.length, kind).toBeGreaterThan(0);
        expect(r.rows, kind).toEqual(expected);
      }
    });
  }

  it('total_network_objects by day with hours 8-17 matches the reference', async () => {
    const r = await engine.run(windowed('total_network_objects', { hours: HOURS, total_by: 'day' }));
    const f = range(HOURS);
    const dayOf = (t: number) => Math.floor((t - f.start) / SECONDS_PER_DAY);
    const expected = [...refCellsByPeriod(fx.events, f, fx.locator, dayOf).counts]
      .map(([k, value]) => [...k.split(',').map(Number), value] as [number, number, number])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const got = r.rows.map((x) => [x.pcod, x.datetime, x.value]);
    expect(got).toEqual(expected.map(([loc, d, value]) => [`R${loc}`, `${date(d)} 00:00:00`, value]));
  });

  it('aggregate_network_objects takes hours: null and refuses a value there, naming the field', () => {
    const tno = windowed('total_network_objects');
    expect(() => engine.parse({ query_kind: 'aggregate_network_objects', total_network_objects: tno, statistic: 'avg', aggregate_by: 'day', hours: null })).not.toThrow();
    expect(() => engine.parse({ query_kind: 'aggregate_network_objects', total_network_objects: tno, statistic: 'avg', aggregate_by: 'day', hours: HOURS })).toThrow(
      /hours: expected null \(set hours on total_network_objects\)/,
    );
  });

  it('a bad hours value is refused with its path', () => {
    expect(() => engine.parse(windowed('unique_subscriber_counts', { hours: { start_hour: 25, end_hour: 3 } }))).toThrow(/hours\.start_hour/);
  });
});

describe('join_type on flows, inflows and outflows (FlowKit Flows: loc1 JOIN loc2 USING (subscriber))', () => {
  const daily = (d: number) => ({ query_kind: 'daily_location', date: date(d), method: 'last', aggregation_unit: 'admin1' });
  const dayRange = (d: number): RefFilter => ({ types: CALLS_SMS, start: (FIRST_DAY + d) * SECONDS_PER_DAY, end: (FIRST_DAY + d + 1) * SECONDS_PER_DAY });
  // Day 0's last locations against day 1's hours-filtered ones, so that many subscribers are at one end only.
  const toSpec = { ...daily(1), hours: { start_hour: 20, end_hour: 24 } };
  const toRange: RefFilter = { ...dayRange(1), hours: { start: 20, end: 24 } };
  const key = (r: Record<string, unknown>) => JSON.stringify(r);
  const sorted = (rows: Record<string, unknown>[]) => [...rows].map(key).sort();

  /** The joined (from, to) pairs, null for a missing end, counted per pair: FlowKit's count(*) GROUP BY, by hand. */
  function joined(how: 'inner' | 'left' | 'right' | 'full outer'): Map<string, number> {
    const a = refLastLocation(fx.events, dayRange(0), fx.locator).locations;
    const b = refLastLocation(fx.events, toRange, fx.locator).locations;
    const subs = new Set<number>();
    for (const s of a.keys()) if (how !== 'right' || b.has(s)) subs.add(s);
    for (const s of b.keys()) if (how === 'right' || how === 'full outer' || a.has(s)) subs.add(s);
    const counts = new Map<string, number>();
    for (const s of subs) {
      if (how === 'inner' && !(a.has(s) && b.has(s))) continue;
      if (how === 'left' && !a.has(s)) continue;
      const k = JSON.stringify([a.has(s) ? `R${a.get(s)}` : null, b.has(s) ? `R${b.get(s)}` : null]);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return counts;
  }
  const flowRows = (counts: Map<string, number>) =>
    [...counts].filter(([, v]) => v > K).map(([k, value]) => {
      const [f, t] = JSON.parse(k) as [string | null, string | null];
      return { pcod_from: f, pcod_to: t, value };
    });
  const endRows = (counts: Map<string, number>, end: 0 | 1, column: string) => {
    const sums = new Map<string | null, number>();
    for (const [k, v] of counts) {
      const e = (JSON.parse(k) as (string | null)[])[end]!;
      sums.set(e, (sums.get(e) ?? 0) + v);
    }
    return [...sums].filter(([, v]) => v > K).map(([e, value]) => ({ [column]: e, value }));
  };

  for (const how of ['left', 'right', 'full outer'] as const) {
    it(`${how}: flows, inflows and outflows match the join computed by hand, null ends included`, async () => {
      const counts = joined(how);
      const spec = (kind: string) => ({ query_kind: kind, from_location: daily(0), to_location: toSpec, join_type: how });
      const flows = await engine.run(spec('flows'));
      const expected = flowRows(counts);
      expect(sorted(flows.rows)).toEqual(sorted(expected));
      // The join added published rows with a null end, on the side(s) it keeps.
      const nullFrom = expected.some((r) => r.pcod_from === null);
      const nullTo = expected.some((r) => r.pcod_to === null);
      expect([nullFrom, nullTo]).toEqual([how !== 'left', how !== 'right']);
      expect(sorted((await engine.run(spec('inflows'))).rows)).toEqual(sorted(endRows(counts, 1, 'pcod_to')));
      expect(sorted((await engine.run(spec('outflows'))).rows)).toEqual(sorted(endRows(counts, 0, 'pcod_from')));
    });
  }

  it("'left outer' and 'right outer' are FlowKit's synonyms of left and right", async () => {
    const run = (join_type: string) => engine.run({ query_kind: 'flows', from_location: daily(0), to_location: toSpec, join_type });
    expect((await run('left outer')).rows).toEqual((await run('left')).rows);
    expect((await run('right outer')).rows).toEqual((await run('right')).rows);
  });

  it('inner stays the default and its rows are the outer joins\' non-null pairs', async () => {
    const inner = await engine.run({ query_kind: 'flows', from_location: daily(0), to_location: toSpec });
    expect(sorted(inner.rows)).toEqual(sorted(flowRows(joined('inner'))));
    const full = await engine.run({ query_kind: 'flows', from_location: daily(0), to_location: toSpec, join_type: 'full outer' });
    expect(sorted(full.rows.filter((r) => r.pcod_from !== null && r.pcod_to !== null))).toEqual(sorted(inner.rows));
  });

  it('an outer join with unique_locations at an end is refused as not yet, naming join_type', async () => {
    const unique = { query_kind: 'unique_locations', start_date: date(0), end_date: date(1), aggregation_unit: 'admin1' };
    await expect(engine.run({ query_kind: 'flows', from_location: unique, to_location: daily(1), join_type: 'left' })).rejects.toThrow(/join_type: "left" is not supported yet/);
  });
});

describe("total_by: 'second' (FlowKit's TotalBy takes second)", () => {
  const label = (t: number) => `${new Date(t * 1000).toISOString().slice(0, 10)} ${new Date(t * 1000).toISOString().slice(11, 19)}`;

  it('total_network_objects by second matches the reference: distinct cells per location and second', async () => {
    const f = range();
    const r = await engine.run(windowed('total_network_objects', { total_by: 'second' }));
    const ref = [...refCellsByPeriod(fx.events, f, fx.locator, (t) => t).counts]
      .map(([k, value]) => [...k.split(',').map(Number), value] as [number, number, number])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(ref.length).toBeGreaterThan(100);
    expect(ref.some(([, , v]) => v > 1)).toBe(true); // some seconds see several cells of one region
    expect(r.rows.map((x) => [x.pcod, x.datetime, x.value])).toEqual(ref.map(([loc, t, v]) => [`R${loc}`, label(t), v]));
  });

  it('aggregate_network_objects over seconds (max by hour) matches the reference, and the hours filter applies', async () => {
    const f = range(HOURS);
    const tno = windowed('total_network_objects', { total_by: 'second', hours: HOURS });
    const r = await engine.run({ query_kind: 'aggregate_network_objects', total_network_objects: tno, statistic: 'max', aggregate_by: 'hour' });
    const byHour = new Map<string, number>();
    for (const [k, v] of refCellsByPeriod(fx.events, f, fx.locator, (t) => t).counts) {
      const [loc, t] = k.split(',').map(Number) as [number, number];
      const key = `R${loc}|${label(t - (t % 3600))}`;
      byHour.set(key, Math.max(byHour.get(key) ?? 0, v));
    }
    const expected = [...byHour].map(([k, value]) => ({ pcod: k.split('|')[0], datetime: k.split('|')[1], value })).sort((a, b) => (a.pcod! < b.pcod! ? -1 : a.pcod! > b.pcod! ? 1 : a.datetime! < b.datetime! ? -1 : 1));
    expect(expected.every((e) => Number(e.datetime!.slice(11, 13)) >= 8 && Number(e.datetime!.slice(11, 13)) < 17)).toBe(true);
    expect(r.rows).toEqual(expected);
  });
});

describe('the same through the worker pool', () => {
  it('outer-join flows and total_by second give the in-process rows', async () => {
    const pooled = Engine.open(dir, { partitions: 4, threads: 1 });
    try {
      const daily = (d: number) => ({ query_kind: 'daily_location', date: date(d), method: 'last', aggregation_unit: 'admin1' });
      for (const spec of [
        { query_kind: 'flows', from_location: daily(0), to_location: { ...daily(1), hours: NIGHT }, join_type: 'full outer' },
        { query_kind: 'outflows', from_location: daily(0), to_location: { ...daily(1), hours: NIGHT }, join_type: 'right' },
        windowed('total_network_objects', { total_by: 'second' }),
      ]) {
        expect((await pooled.run(spec)).rows).toEqual((await engine.run(spec)).rows);
      }
    } finally {
      await pooled.close();
    }
  });
});
