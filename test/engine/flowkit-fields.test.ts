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
import { refUniqueLocations, type RefFilter } from '../../server/engine/reference.js';
import { refCellsByPeriod, refConsecutiveTripsOD, refTripsOD } from '../../server/engine/reference-od.js';
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
