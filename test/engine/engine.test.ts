import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SECONDS_PER_DAY, TYPE_CALLS, TYPE_SMS } from '../../kernels/shared/constants.js';
import { Engine } from '../../server/engine/engine.js';
import { unitFeatures } from '../../server/engine/geography.js';
import {
  type RefFilter,
  locateEvents,
  refFlows,
  refLastLocation,
  refModalLocation,
  refMostCommon,
  refSpatialAggregate,
  refUniqueLocations,
  refVisitedMostDays,
} from '../reference/events.js';
import { type CoordLocator, refDisplacement, refParetoInteractions, refSubscriberDegree, refTopupAmount, refEventCount, refHistogram, refJoinedAggregate, refRadiusOfGyration, refStatistic, refUniqueLocationCounts } from '../reference/metrics.js';
import { refCellsByPeriod, refActiveAtReferenceCounts, refConsecutiveTripsOD, refEventsAndSubscribersByBucket, refTripsOD, refUnmovingAtReferenceCounts, refUnmovingCounts } from '../reference/od.js';
import { SpecError } from '../../server/errors.js';
import { refSample } from '../reference/sample.js';
import type { Sampling } from '../../server/engine/spec/common.js';
import { buildFixture, FIRST_DAY, type Fixture } from './fixtures.js';

const K = 15;
const date = (d: number) => new Date((FIRST_DAY + d) * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
const CALLS_SMS = [TYPE_CALLS, TYPE_SMS];
const dayFilter = (d: number, hours?: RefFilter['hours']): RefFilter => ({
  types: CALLS_SMS,
  start: (FIRST_DAY + d) * SECONDS_PER_DAY,
  end: (FIRST_DAY + d + 1) * SECONDS_PER_DAY,
  hours,
});

/** Reference rows of a count per region, redacted: keep > k. */
function expectedRows(counts: Map<number, number>): { pcod: string; value: number }[] {
  return [...counts.entries()]
    .filter(([, v]) => v > K)
    .sort(([a], [b]) => a - b)
    .map(([r, value]) => ({ pcod: `R${r}`, value }));
}


const daily = (d: number, method = 'last', extra: object = {}) => ({
  query_kind: 'daily_location',
  date: date(d),
  method,
  aggregation_unit: 'admin1',
  ...extra,
});

function suite(name: string, threads: number, maxBitmapBytes?: number) {
  describe(`engine (${name})`, () => {
    let dir: string;
    let fx: Fixture;
    let engine: Engine;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-engine-'));
      fx = buildFixture(dir, { subs: 600, days: 4, seed: 11 });
      engine = Engine.open(dir, { partitions: 5, threads, maxBitmapBytes });
    });
    afterAll(async () => {
      await engine.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    for (const d of [0, 2]) {
      it(`spatial_aggregate of daily_location last on day ${d} matches the reference`, async () => {
        const r = await engine.run({ query_kind: 'spatial_aggregate', locations: daily(d) });
        const ref = refLastLocation(fx.events, dayFilter(d), fx.locator);
        expect(r.rows.length).toBeGreaterThan(1);
        expect(r.rows).toEqual(expectedRows(refSpatialAggregate(ref.locations)));
        expect(r.columns).toEqual(['pcod', 'value']);
        expect(r.dropped).toEqual({ noCell: ref.drops.noCell, unknownCell: ref.drops.unknown, outsideRegion: ref.drops.outside });
        expect(r.withheld).toBe([...refSpatialAggregate(ref.locations).values()].filter((v) => v <= K).length);
        expect(r.fraction).toBe(1);
      });
    }

    it('most-common with hours wrapping midnight and every event type matches the reference', async () => {
      const hours = { start: 20, end: 4 };
      const r = await engine.run({
        query_kind: 'spatial_aggregate',
        locations: daily(1, 'most-common', { hours: { start_hour: 20, end_hour: 4 }, event_types: ['calls', 'sms', 'mds'] }),
      });
      const ref = refMostCommon(fx.events, { ...dayFilter(1, hours), types: [0, 1, 2] }, fx.locator);
      expect(r.rows).toEqual(expectedRows(refSpatialAggregate(ref.locations)));
    });

    it('most_frequent_location and visited_most_days over a range match the reference', async () => {
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 3) * SECONDS_PER_DAY, types: CALLS_SMS };
      for (const [kind, ref] of [
        ['most_frequent_location', refMostCommon],
        ['visited_most_days', refVisitedMostDays],
      ] as const) {
        const r = await engine.run({
          query_kind: 'spatial_aggregate',
          locations: { query_kind: kind, start_date: date(0), end_date: date(3), aggregation_unit: 'admin1' },
        });
        expect(r.rows, kind).toEqual(expectedRows(refSpatialAggregate(ref(fx.events, range, fx.locator).locations)));
      }
    });

    it('modal_location over four days matches the reference, whatever the order of its inputs', async () => {
      const days = [3, 0, 2, 1];
      const r = await engine.run({ query_kind: 'spatial_aggregate', locations: { query_kind: 'modal_location', locations: days.map((d) => daily(d)) } });
      const modal = refModalLocation([0, 1, 2, 3].map((d) => refLastLocation(fx.events, dayFilter(d), fx.locator).locations));
      expect(r.rows).toEqual(expectedRows(refSpatialAggregate(modal)));
    });

    it('majority_location and coalesced_location over location_visits match the reference', async () => {
      const daily4 = [0, 1, 2, 3].map((d) => refLastLocation(fx.events, dayFilter(d), fx.locator).locations);
      const visits = (sub: number) => {
        const v = new Map<number, number>();
        for (const m of daily4) if (m.has(sub)) v.set(m.get(sub)!, (v.get(m.get(sub)!) ?? 0) + 1);
        return v;
      };
      const majority = (minTotal: number) => {
        const out = new Map<number, number>();
        for (let sub = 0; sub < 600; sub++) {
          const v = visits(sub);
          // FlowKit: more than half of greatest(total weight, minimum_total_weight).
          const bar = Math.max([...v.values()].reduce((a, b) => a + b, 0), minTotal);
          for (const [loc, n] of v) if (2 * n > bar) out.set(sub, loc);
        }
        return out;
      };
      const weights = { query_kind: 'location_visits', locations: [2, 0, 3, 1].map((d) => daily(d)) };
      const spec = (minimum_total_weight: number) => ({ query_kind: 'majority_location', subscriber_location_weights: weights, minimum_total_weight });
      for (const min of [0, 3, 4.5, 6]) {
        const r = await engine.run({ query_kind: 'spatial_aggregate', locations: spec(min) });
        expect(r.rows, `minimum ${min}`).toEqual(expectedRows(refSpatialAggregate(majority(min))));
      }
      // Preferred: majority with at least 4 visits; fallback: plain majority, kept when visited on 2 or more days.
      const preferred = majority(4);
      const fallback = majority(0);
      const coalesced = new Map<number, number>();
      for (let sub = 0; sub < 600; sub++) {
        if (preferred.has(sub)) coalesced.set(sub, preferred.get(sub)!);
        else if (fallback.has(sub) && (visits(sub).get(fallback.get(sub)!) ?? 0) >= 2) coalesced.set(sub, fallback.get(sub)!);
      }
      const r = await engine.run({
        query_kind: 'spatial_aggregate',
        locations: { query_kind: 'coalesced_location', preferred_location: spec(4), fallback_location: spec(0), subscriber_location_weights: weights, weight_threshold: 2 },
      });
      expect(r.rows.length).toBeGreaterThan(1);
      expect(r.rows).toEqual(expectedRows(refSpatialAggregate(coalesced)));
    });

    it('flows between two days, and in/outflows summed before redaction, match the reference', async () => {
      const spec = { from_location: daily(0), to_location: daily(3, 'most-common') };
      const from = refLastLocation(fx.events, dayFilter(0), fx.locator).locations;
      const to = refMostCommon(fx.events, dayFilter(3), fx.locator).locations;
      const pairs = refFlows(from, to);
      const flows = await engine.run({ query_kind: 'flows', ...spec });
      const expected = [...pairs.entries()]
        .map(([k, value]) => {
          const [a, b] = k.split(',').map(Number) as [number, number];
          return { a, b, value };
        })
        .filter((x) => x.value > K)
        .sort((x, y) => x.a - y.a || x.b - y.b)
        .map(({ a, b, value }) => ({ pcod_from: `R${a}`, pcod_to: `R${b}`, value }));
      expect(expected.length).toBeGreaterThan(3);
      expect(flows.rows).toEqual(expected);
      expect(flows.columns).toEqual(['pcod_from', 'pcod_to', 'value']);
      // Rows are built column by column (not by spreads): each row's keys are the columns, in their order.
      for (const row of flows.rows) expect(Object.keys(row)).toEqual(flows.columns);

      const inflows = await engine.run({ query_kind: 'inflows', ...spec });
      const sums = new Map<number, number>();
      for (const [k, v] of pairs) {
        const b = Number(k.split(',')[1]);
        sums.set(b, (sums.get(b) ?? 0) + v);
      }
      expect(inflows.rows).toEqual(expectedRows(sums).map(({ pcod, value }) => ({ pcod_to: pcod, value })));
    });

    it('flows from unique_locations (a set per subscriber) to a daily location match the reference', async () => {
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 2) * SECONDS_PER_DAY, types: CALLS_SMS };
      const sets = new Map<number, Set<number>>();
      for (const [sub, loc] of refUniqueLocations(fx.events, range, fx.locator).pairs) sets.set(sub, (sets.get(sub) ?? new Set()).add(loc));
      const to = refLastLocation(fx.events, dayFilter(3), fx.locator).locations;
      const counts = new Map<string, number>();
      for (const [sub, locs] of sets) {
        const b = to.get(sub);
        if (b === undefined) continue;
        for (const a of locs) counts.set(`${a},${b}`, (counts.get(`${a},${b}`) ?? 0) + 1);
      }
      const expected = [...counts.entries()]
        .map(([k, value]) => [...k.split(',').map(Number), value] as [number, number, number])
        .filter(([, , v]) => v > K)
        .sort((x, y) => x[0] - y[0] || x[1] - y[1])
        .map(([a, b, value]) => ({ pcod_from: `R${a}`, pcod_to: `R${b}`, value }));
      expect(expected.length).toBeGreaterThan(3);
      const r = await engine.run({
        query_kind: 'flows',
        from_location: { query_kind: 'unique_locations', start_date: date(0), end_date: date(2), aggregation_unit: 'admin1' },
        to_location: daily(3),
      });
      expect(r.rows).toEqual(expected);
    });

    it('flows and outflows at the cell unit (counted sparsely) match the reference', async () => {
      const cellLocator = (cell: number, day: number) => (fx.locator(cell, day) === -2 ? -2 : cell);
      const from = refLastLocation(fx.events, dayFilter(0), cellLocator).locations;
      // The fixture's subscribers pick a new home each day: pair a day's last location with its most common one.
      const to = refMostCommon(fx.events, dayFilter(0), cellLocator).locations;
      const pairsRef = refFlows(from, to);
      const expected = [...pairsRef.entries()]
        .map(([k, value]) => [...k.split(',').map(Number), value] as [number, number, number])
        .filter(([, , v]) => v > K)
        .sort((x, y) => x[0] - y[0] || x[1] - y[1])
        .map(([a, b, value]) => ({ location_id_from: `C${a}`, location_id_to: `C${b}`, value }));
      expect(expected.length).toBeGreaterThan(3);
      const cellDaily = (d: number) => ({ ...daily(d), aggregation_unit: 'cell' });
      const toSpec = { ...cellDaily(0), method: 'most-common' };
      const r = await engine.run({ query_kind: 'flows', from_location: cellDaily(0), to_location: toSpec });
      expect(r.columns).toEqual(['location_id_from', 'location_id_to', 'value']);
      expect(r.rows).toEqual(expected);
      const sums = new Map<number, number>();
      for (const [k, v] of pairsRef) sums.set(Number(k.split(',')[0]), (sums.get(Number(k.split(',')[0])) ?? 0) + v);
      const out = await engine.run({ query_kind: 'outflows', from_location: cellDaily(0), to_location: toSpec });
      expect(out.rows).toEqual([...sums.entries()].filter(([, v]) => v > K).sort(([x], [y]) => x - y).map(([c, value]) => ({ location_id_from: `C${c}`, value })));
    });

    it('sumThenRedact sums unredacted flows of several specs, then redacts the off-diagonal pairs and their in/out sums', async () => {
      const lasts = [0, 1, 2].map((d) => refLastLocation(fx.events, dayFilter(d), fx.locator).locations);
      const sums = new Map<string, number>();
      for (const [from, to] of [[0, 1], [1, 2]] as const) {
        for (const [k, v] of refFlows(lasts[from]!, lasts[to]!)) sums.set(k, (sums.get(k) ?? 0) + v);
      }
      const pairsRef = [...sums.entries()].map(([k, v]) => [...k.split(',').map(Number), v] as [number, number, number]).filter(([a, b]) => a !== b);
      const bySide = (side: 0 | 1) => {
        const m = new Map<number, number>();
        for (const p of pairsRef) m.set(p[side], (m.get(p[side]) ?? 0) + p[2]);
        return [...m.entries()].sort(([x], [y]) => x - y);
      };
      const flows = (a: number, b: number) => ({ query_kind: 'flows', from_location: daily(a), to_location: daily(b) });
      const r = await engine.sumThenRedact([flows(0, 1), flows(1, 2)]);
      const kept = pairsRef.filter(([, , v]) => v > K).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      expect(kept.length).toBeGreaterThan(3);
      expect(r.pairs).toEqual(kept.map(([a, b, value]) => ({ pcod_from: `R${a}`, pcod_to: `R${b}`, value })));
      expect(r.inflows).toEqual(bySide(1).filter(([, v]) => v > K).map(([l, value]) => ({ pcod_to: `R${l}`, value })));
      expect(r.outflows).toEqual(bySide(0).filter(([, v]) => v > K).map(([l, value]) => ({ pcod_from: `R${l}`, value })));
      expect(r.withheld.pairs.length).toBe(pairsRef.filter(([, , v]) => v > 0 && v <= K).length);
      expect(r.withheld.pairs.every((row) => row.value === null)).toBe(true);
      await expect(engine.sumThenRedact([flows(0, 1)], { k: 10 })).rejects.toThrow(/threshold/);
      await expect(engine.sumThenRedact([{ query_kind: 'spatial_aggregate', locations: daily(0) }])).rejects.toThrow(/flows/);
    });

    it('sampling: spatial_aggregate of sampled daily locations and a joined aggregate of a sampled metric match the reference, for every method', async () => {
      const located = refLastLocation(fx.events, dayFilter(0), fx.locator).locations;
      const samplings: Sampling[] = [
        { sampling_method: 'random_ids', size: 300, seed: 0.25, estimate_count: true },
        { sampling_method: 'random_ids', fraction: 0.5, seed: -0.5, estimate_count: true },
        { sampling_method: 'bernoulli', fraction: 0.4, seed: 7, estimate_count: true },
        { sampling_method: 'bernoulli', size: 200, seed: 7, estimate_count: false },
        { sampling_method: 'system', fraction: 0.5, seed: 3, estimate_count: true },
        { sampling_method: 'system_rows', size: 250, estimate_count: true },
      ];
      for (const sampling of samplings) {
        const kept = refSample(located.keys(), sampling);
        const counts = new Map<number, number>();
        for (const [g, loc] of located) if (kept.has(g)) counts.set(loc, (counts.get(loc) ?? 0) + 1);
        const r = await engine.run({ query_kind: 'spatial_aggregate', locations: daily(0, 'last', { sampling }) });
        expect({ sampling, rows: r.rows }).toEqual({ sampling, rows: expectedRows(counts) });
        expect(kept.size, JSON.stringify(sampling)).toBeLessThan(located.size);
        if (sampling.size && sampling.sampling_method !== 'bernoulli') expect(kept.size).toBe(sampling.size);
      }
      // A sampled metric: only kept subscribers contribute their event counts.
      const sampling: Sampling = { sampling_method: 'random_ids', size: 250, seed: 0.75, estimate_count: true };
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 2) * SECONDS_PER_DAY, types: CALLS_SMS };
      const events = refEventCount(fx.events, range);
      const keptEvents = new Map([...events].filter(([g]) => refSample(events.keys(), sampling).has(g)));
      const expected = refJoinedAggregate(located, keptEvents, 'avg');
      const support = new Map<number, number>();
      for (const [g, loc] of located) if (keptEvents.has(g)) support.set(loc, (support.get(loc) ?? 0) + 1);
      const r = await engine.run({
        query_kind: 'joined_spatial_aggregate', locations: daily(0), method: 'avg',
        metric: { query_kind: 'event_count', start_date: date(0), end_date: date(2), direction: 'both', sampling },
      });
      const rows = [...expected].filter(([loc]) => support.get(loc)! > K).sort(([a], [b]) => a - b);
      expect(r.rows.map((x) => x.pcod)).toEqual(rows.map(([loc]) => `R${loc}`));
      r.rows.forEach((x, i) => expect(x.value as number).toBeCloseTo(rows[i]![1], 9));
      // Sets of locations (unique_locations) refuse sampling, naming the field.
      await expect(engine.run({
        query_kind: 'unmoving_counts',
        locations: { query_kind: 'unique_locations', start_date: date(0), end_date: date(1), aggregation_unit: 'admin1', sampling },
      })).rejects.toThrow(/locations\.sampling.*not yet on unique_locations/);
    });

    it('unique_subscriber_counts matches the reference', async () => {
      const r = await engine.run({ query_kind: 'unique_subscriber_counts', start_date: date(1), end_date: date(3), aggregation_unit: 'admin1' });
      const { pairs } = refUniqueLocations(fx.events, { types: CALLS_SMS, start: (FIRST_DAY + 1) * SECONDS_PER_DAY, end: (FIRST_DAY + 3) * SECONDS_PER_DAY }, fx.locator);
      const counts = new Map<number, number>();
      for (const [, loc] of pairs) counts.set(loc, (counts.get(loc) ?? 0) + 1);
      expect(r.rows).toEqual(expectedRows(counts));
    });

    it('joined_spatial_aggregate of radius_of_gyration, event_count and unique_location_counts matches the reference, statistic by statistic', async () => {
      const coords: CoordLocator = (cell, day) => {
        const v = fx.versions.filter((x) => x.cell === cell && (x.from === null || day >= x.from) && (x.to === null || day <= x.to)).at(-1);
        if (cell >= fx.nCells) return -1;
        return v ? { lon: v.lon, lat: v.lat } : -2;
      };
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 4) * SECONDS_PER_DAY, types: CALLS_SMS };
      const window = { start_date: date(0), end_date: date(4) };
      const homes = refMostCommon(fx.events, range, fx.locator).locations;
      const metrics: [object, Map<number, number>][] = [
        [{ query_kind: 'radius_of_gyration', ...window }, refRadiusOfGyration(fx.events, range, coords).values],
        [{ query_kind: 'event_count', ...window, direction: 'out' }, refEventCount(fx.events, { ...range, directions: [1] })],
        [{ query_kind: 'unique_location_counts', ...window, aggregation_unit: 'admin1' }, refUniqueLocationCounts(fx.events, range, fx.locator).values],
      ];
      metrics.push(
        [{ query_kind: 'subscriber_degree', ...window, direction: 'both' }, refSubscriberDegree(fx.events, range)],
        [{ query_kind: 'pareto_interactions', ...window, proportion: 0.8 }, refParetoInteractions(fx.events, range, 0.8)],
        [{ query_kind: 'topup_amount', ...window, statistic: 'avg' }, refTopupAmount(fx.events, { ...range, types: [3] }, 'avg')],
      );
      // displacement from each subscriber's last lon-lat position on day 0.
      const lastPlace = new Map<number, { lon: number; lat: number }>();
      // At the lon-lat unit every positioned cell is its own location (the fixture's cells never share a position).
      const day0 = refLastLocation(fx.events, dayFilter(0), (cell, day) => (typeof coords(cell, day) === 'object' ? cell : -2)).locations;
      for (const [sub, cell] of day0) lastPlace.set(sub, coords(cell, FIRST_DAY) as { lon: number; lat: number });
      metrics.push([
        { query_kind: 'displacement', ...window, statistic: 'max', reference_location: { ...daily(0), aggregation_unit: 'lon-lat' } },
        refDisplacement(fx.events, range, coords, lastPlace, 'max').values,
      ]);
      for (const [metric, ref] of metrics) {
        for (const method of ['avg', 'median', 'max', 'stddev'] as const) {
          const r = await engine.run({
            query_kind: 'joined_spatial_aggregate',
            locations: { query_kind: 'most_frequent_location', ...window, aggregation_unit: 'admin1' },
            metric,
            method,
          });
          const expected = refJoinedAggregate(homes, ref, method);
          const located = new Map<number, number>();
          for (const [sub, loc] of homes) if (ref.has(sub) && !Number.isNaN(ref.get(sub)!)) located.set(loc, (located.get(loc) ?? 0) + 1);
          const rows = [...expected.entries()].filter(([loc]) => located.get(loc)! > K).sort(([a], [b]) => a - b);
          expect(rows.length, `${JSON.stringify(metric)} ${method}`).toBeGreaterThan(1);
          expect(r.rows.map((x) => x.pcod)).toEqual(rows.map(([loc]) => `R${loc}`));
          r.rows.forEach((row, i) => expect(row.value as number).toBeCloseTo(rows[i]![1], 9));
        }
      }
    });

    it('histogram_aggregate of event_count matches the reference, and withholds a histogram with a small bin', async () => {
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 2) * SECONDS_PER_DAY, types: CALLS_SMS };
      const values = [...refEventCount(fx.events, range).values()];
      const metric = { query_kind: 'event_count', start_date: date(0), end_date: date(2) };
      const edges = [0, 2, 4, 100];
      const r = await engine.run({ query_kind: 'histogram_aggregate', metric, bins: { bin_list: edges } });
      const counts = refHistogram(values, edges);
      expect(counts.every((c) => c > K)).toBe(true);
      expect(r.rows).toEqual(counts.map((value, b) => ({ value, lower_edge: edges[b], upper_edge: edges[b + 1] })));
      const fine = await engine.run({ query_kind: 'histogram_aggregate', metric, bins: { bin_list: [0, 2, 4, 9, 10, 100] } });
      const fineCounts = refHistogram(values, [0, 2, 4, 9, 10, 100]);
      expect(fineCounts.some((c) => c <= K)).toBe(true);
      expect(fine.rows).toEqual([]);
      expect(fine.withheld).toBe(5);
      expect(refStatistic([1, 2, 3], 'median')).toBe(2);
    });

    it('geography lists every region of the unit with its geometry, unredacted', async () => {
      const r = await engine.run({ query_kind: 'geography', aggregation_unit: 'admin1' });
      expect(r.rows).toEqual([{ pcod: 'R0' }, { pcod: 'R1' }, { pcod: 'R2' }, { pcod: 'R3' }]);
      expect(r.withheld).toBe(0);
      const fc = unitFeatures(engine.store.dims(), 'admin1');
      expect(fc.features.map((f) => f.properties.pcod)).toEqual(['R0', 'R1', 'R2', 'R3']);
      expect(fc.features[3]!.properties.centroid_lon).toBeCloseTo(1.5, 6);
      expect(fc.features[3]!.properties.centroid_lat).toBeCloseTo(1.5, 6);
      const cells = unitFeatures(engine.store.dims(), 'cell');
      expect(cells.features.find((f) => f.properties.location_id === 'C3')!.geometry.coordinates).toEqual([0.5, 1.5]);
    });

    it('trips_od_matrix and consecutive_trips_od_matrix match the reference', async () => {
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 2) * SECONDS_PER_DAY, types: CALLS_SMS };
      for (const [kind, ref] of [
        ['trips_od_matrix', refTripsOD],
        ['consecutive_trips_od_matrix', refConsecutiveTripsOD],
      ] as const) {
        const r = await engine.run({ query_kind: kind, start_date: date(0), end_date: date(2), aggregation_unit: 'admin1' });
        const expected = [...ref(fx.events, range, fx.locator).counts.entries()]
          .map(([k, value]) => [...k.split(',').map(Number), value] as [number, number, number])
          .filter(([, , v]) => v > K)
          .sort((x, y) => x[0] - y[0] || x[1] - y[1])
          .map(([a, b, value]) => ({ pcod_from: `R${a}`, pcod_to: `R${b}`, value }));
        expect(expected.length, kind).toBeGreaterThan(3);
        expect(r.rows, kind).toEqual(expected);
      }
    });

    it('trips_od_matrix and consecutive_trips_od_matrix at the cell unit (counted sparsely) match the reference', async () => {
      const cellLocator = (cell: number, day: number) => (fx.locator(cell, day) === -2 ? -2 : cell);
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 3) * SECONDS_PER_DAY, types: CALLS_SMS };
      for (const [kind, ref] of [
        ['trips_od_matrix', refTripsOD],
        ['consecutive_trips_od_matrix', refConsecutiveTripsOD],
      ] as const) {
        const r = await engine.run({ query_kind: kind, start_date: date(0), end_date: date(3), aggregation_unit: 'cell' });
        const counts = ref(fx.events, range, cellLocator).counts;
        const expected = [...counts.entries()]
          .map(([k, value]) => [...k.split(',').map(Number), value] as [number, number, number])
          .filter(([, , v]) => v > K)
          .sort((x, y) => x[0] - y[0] || x[1] - y[1])
          .map(([a, b, value]) => ({ location_id_from: `C${a}`, location_id_to: `C${b}`, value }));
        expect(expected.length, kind).toBeGreaterThan(3);
        expect(r.columns, kind).toEqual(['location_id_from', 'location_id_to', 'value']);
        expect(r.rows, kind).toEqual(expected);
        expect(r.withheld, kind).toBe([...counts.values()].filter((v) => v <= K).length);
      }
    });

    it('location_event_counts by day keeps whole series above k, and by hour withholds series with a thin bucket', async () => {
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 3) * SECONDS_PER_DAY, types: CALLS_SMS, directions: [1] };
      for (const interval of ['day', 'hour'] as const) {
        const seconds = interval === 'day' ? SECONDS_PER_DAY : 3600;
        const r = await engine.run({ query_kind: 'location_event_counts', start_date: date(0), end_date: date(3), aggregation_unit: 'admin1', interval, direction: 'out' });
        const ref = refEventsAndSubscribersByBucket(fx.events, range, fx.locator, seconds, range.start);
        const nBuckets = (3 * SECONDS_PER_DAY) / seconds;
        const expected: object[] = [];
        for (let l = 0; l < 4; l++) {
          const buckets = Array.from({ length: nBuckets }, (_, b) => ({ b, events: ref.events.get(`${l},${b}`) ?? 0, subs: ref.subscribers.get(`${l},${b}`) ?? 0 }));
          if (!buckets.every((x) => x.subs > K)) continue;
          for (const { b, events } of buckets) {
            const t = range.start + b * seconds;
            expected.push({ pcod: `R${l}`, date: new Date(t * 1000).toISOString().slice(0, 10), ...(interval === 'hour' ? { hour: (t % SECONDS_PER_DAY) / 3600 } : {}), value: events });
          }
        }
        if (interval === 'day') expect(expected.length).toBe(12);
        else expect(expected.length).toBe(0);
        expect(r.rows, interval).toEqual(expected);
        expect(r.withheld, interval).toBe(4 * nBuckets - expected.length);
      }
    });

    it('unmoving, reference-location and unique visitor counts match the reference', async () => {
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 2) * SECONDS_PER_DAY, types: CALLS_SMS };
      const unique = { query_kind: 'unique_locations', start_date: date(0), end_date: date(2), aggregation_unit: 'admin1' };
      const pairs = refUniqueLocations(fx.events, range, fx.locator).pairs;
      const reference = refLastLocation(fx.events, dayFilter(0), fx.locator).locations;
      const unmoving = await engine.run({ query_kind: 'unmoving_counts', locations: unique });
      expect(unmoving.rows).toEqual(expectedRows(refUnmovingCounts(pairs)));
      const at = await engine.run({ query_kind: 'unmoving_at_reference_location_counts', locations: unique, reference_locations: daily(0) });
      expect(at.rows).toEqual(expectedRows(refUnmovingAtReferenceCounts(pairs, reference)));
      const active = refActiveAtReferenceCounts(pairs, reference);
      const aarlc = { query_kind: 'active_at_reference_location_counts', unique_locations: unique, reference_locations: daily(0) };
      expect((await engine.run(aarlc)).rows).toEqual(expectedRows(active));
      const usc = { query_kind: 'unique_subscriber_counts', start_date: date(2), end_date: date(4), aggregation_unit: 'admin1' };
      const visitors = await engine.run({ query_kind: 'unique_visitor_counts', active_at_reference_location_counts: aarlc, unique_subscriber_counts: usc });
      const seen = new Map<number, number>();
      for (const [, loc] of refUniqueLocations(fx.events, { types: CALLS_SMS, start: (FIRST_DAY + 2) * SECONDS_PER_DAY, end: (FIRST_DAY + 4) * SECONDS_PER_DAY }, fx.locator).pairs) {
        seen.set(loc, (seen.get(loc) ?? 0) + 1);
      }
      const diff = new Map([...seen].map(([loc, n]) => [loc, Math.max(0, n - (active.get(loc) ?? 0))] as [number, number]));
      expect(visitors.rows.length).toBeGreaterThan(0);
      expect(visitors.rows).toEqual(expectedRows(diff));
    });

    it('total_network_objects by hour and aggregate_network_objects (avg by day) match the reference, unredacted', async () => {
      const range = { start: FIRST_DAY * SECONDS_PER_DAY, end: (FIRST_DAY + 2) * SECONDS_PER_DAY, types: CALLS_SMS };
      const tno = { query_kind: 'total_network_objects', start_date: date(0), end_date: date(2), aggregation_unit: 'admin1', total_by: 'hour' };
      const r = await engine.run(tno);
      const hourOf = (t: number) => Math.floor((t - range.start) / 3600);
      const ref = refCellsByPeriod(fx.events, range, fx.locator, hourOf).counts;
      const label = (h: number) => {
        const t = range.start + h * 3600;
        return `${new Date(t * 1000).toISOString().slice(0, 10)} ${String(h % 24).padStart(2, '0')}:00:00`;
      };
      const expected = [...ref.entries()]
        .map(([k, value]) => [...k.split(',').map(Number), value] as [number, number, number])
        .sort((a, b) => a[0] - b[0] || a[1] - b[1])
        .map(([l, h, value]) => ({ pcod: `R${l}`, datetime: label(h), value }));
      expect(expected.length).toBeGreaterThan(100);
      expect(r.rows).toEqual(expected);
      expect(r.withheld).toBe(0);

      const agg = await engine.run({ query_kind: 'aggregate_network_objects', total_network_objects: tno, statistic: 'avg', aggregate_by: 'day' });
      const byDay = new Map<string, number[]>();
      for (const row of expected) {
        const key = `${row.pcod}|${row.datetime.slice(0, 10)} 00:00:00`;
        byDay.set(key, [...(byDay.get(key) ?? []), row.value]);
      }
      const expectedAgg = [...byDay.entries()].map(([k, v]) => ({ pcod: k.split('|')[0], datetime: k.split('|')[1], value: v.reduce((a, b) => a + b, 0) / v.length }));
      expect(agg.rows.map((x) => [x.pcod, x.datetime])).toEqual(expectedAgg.map((x) => [x.pcod, x.datetime]));
      agg.rows.forEach((row, i) => expect(row.value as number).toBeCloseTo(expectedAgg[i]!.value, 9));
    });

    it('reports progressive estimates: fractions increase, each redacted on its own counts', async () => {
      const partials: { fraction: number; rows: number }[] = [];
      const final = await engine.run({ query_kind: 'spatial_aggregate', locations: daily(1, 'most-common') }, {
        onPartial: (p) => partials.push({ fraction: p.fraction, rows: p.rows.length }),
      });
      expect(partials.length).toBe(4);
      for (let i = 1; i < partials.length; i++) expect(partials[i]!.fraction).toBeGreaterThan(partials[i - 1]!.fraction);
      expect(partials.at(-1)!.fraction).toBeLessThan(1);
      expect(final.fraction).toBe(1);
    });

    it('shapes no estimate while nobody wants one, and still reports progress (issue #14: a REST run shaped sixteen on the event loop)', async () => {
      const finish = vi.spyOn(engine as unknown as { finish: () => unknown }, 'finish');
      const partials: number[] = [];
      const progress: number[] = [];
      // A spec no other test runs (a cached result would shape nothing at all).
      const spec = { query_kind: 'spatial_aggregate', locations: daily(2, 'most-common', { aggregation_unit: 'cell', event_types: ['calls'] }) };
      const final = await engine.run(spec, { onPartial: (p) => partials.push(p.fraction), partialWanted: () => false, onProgress: (f) => progress.push(f) });
      const calls = finish.mock.calls.length;
      finish.mockRestore();
      expect(partials).toEqual([]);
      expect(calls).toBe(1); // the final result only
      // Five partitions: progress after each but the last, increasing, below 1.
      expect(progress.length).toBe(4);
      for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThan(progress[i - 1]!);
      expect(progress.at(-1)!).toBeLessThan(1);
      expect(final.fraction).toBe(1);
    });

    it('returns the cached result for the same spec and a clear error for a bad one', async () => {
      const a = await engine.run({ query_kind: 'spatial_aggregate', locations: daily(0) });
      const b = await engine.run({ query_kind: 'spatial_aggregate', locations: { ...daily(0), event_types: ['sms', 'calls'] } });
      expect(b).toBe(a);
      // distr is for the categorical handset metric only, and the data contract has no device data.
      const handset = { query_kind: 'handset', start_date: date(0), end_date: date(1), characteristic: 'brand', method: 'last' };
      await expect(engine.run({ query_kind: 'joined_spatial_aggregate', locations: daily(0), metric: handset, method: 'distr' }))
        .rejects.toThrow(/distr.*handset.*DATA\.md/);
      await expect(engine.run({ query_kind: 'joined_spatial_aggregate', locations: daily(0), metric: handset, method: 'mode' }))
        .rejects.toThrow(/metric\.query_kind: handset needs device \(TAC\) data/);
      await expect(engine.run({ query_kind: 'spatial_aggregate', locations: { ...daily(0), aggregation_unit: 'admin9' } })).rejects.toThrow(/admin9/);
      await expect(engine.run({ query_kind: 'daily_location', date: date(0), method: 'last', aggregation_unit: 'admin1' })).rejects.toBeInstanceOf(SpecError);
    });
  });
}

suite('in process', 0);
suite('worker pool', 2);
// Distinct counts through hash tables of pairs, as at units too fine for a bitmap.
suite('in process, no bitmaps', 0, 0);

describe('loading a store', () => {
  it('refuses a query over a corrupt column with an error naming the file; other days still serve', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-corrupt-'));
    try {
      buildFixture(dir, { subs: 40, days: 2, seed: 5 });
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'store.json'), 'utf8')) as { days: Record<string, { dir: string }> };
      const file = path.join(dir, m.days[date(1)]!.dir, 'cell.u32');
      const bytes = fs.readFileSync(file);
      bytes[0] ^= 0xff;
      fs.writeFileSync(file, bytes);
      // Days are read when a query needs them, so the open succeeds and the day's first query fails.
      const engine = Engine.open(dir);
      try {
        const spec = (d: number) => ({ query_kind: 'spatial_aggregate', locations: { ...daily(d), aggregation_unit: 'admin1' } });
        await expect(engine.run(spec(1))).rejects.toThrow(/cell\.u32.*checksum mismatch/);
        // The failed load gave back what it took: only day 0 is resident after a query of it.
        await engine.run(spec(0));
        const stats = engine.poolStats();
        expect(stats.days).toBe(1);
        // sub, t and cell at 4 bytes an event, kind at 1, each block rounded up to 16 bytes.
        const n = engine.store.day(date(0)).rows;
        const up = (b: number) => Math.max(16, Math.ceil(b / 16) * 16);
        expect(stats.residentBytes).toBe(3 * up(4 * n) + up(n));
        await expect(engine.run(spec(1))).rejects.toThrow(/cell\.u32.*checksum mismatch/);
      } finally {
        await engine.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the result cache', () => {
  it('keeps at most cacheEntries results, dropping the least recently used', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-cache-'));
    buildFixture(dir, { subs: 50, days: 3, seed: 3 });
    const engine = Engine.open(dir, { partitions: 2, cacheEntries: 2 });
    try {
      const [a, b, c] = [0, 1, 2].map((d) => ({ query_kind: 'spatial_aggregate', locations: daily(d) }));
      const ra = await engine.run(a);
      const rb = await engine.run(b);
      expect(await engine.run(a)).toBe(ra); // a is now the most recent: [b, a]
      const rc = await engine.run(c); // evicts b: [a, c]
      expect(await engine.run(a)).toBe(ra); // [c, a]
      expect(await engine.run(b)).not.toBe(rb); // b was evicted, computed again; evicts c: [a, b]
      expect(await engine.run(c)).not.toBe(rc);
    } finally {
      await engine.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('redaction at the boundary', () => {
  // Group A (15 subscribers) and group B (16) move through the same pattern in different
  // regions, so every kind yields a row of 15 (withheld) and a row of 16 (kept).
  const t = (day: number, hour: number) => (FIRST_DAY + day) * SECONDS_PER_DAY + hour * 3600;
  const call = TYPE_CALLS | (1 << 2);
  const events = Array.from({ length: 31 }, (_, s) => {
    const a = s < 15;
    const [home, away] = a ? [0, 6] : [2, 4]; // A: R0 and R3, B: R1 and R2
    const rows = [
      { sub: s, t: t(0, 9), cell: home, kind: call },
      { sub: s, t: t(0, 12), cell: away, kind: call },
      { sub: s, t: t(1, 9), cell: home, kind: call },
    ];
    if (!a) rows.push({ sub: s, t: t(1, 15), cell: home, kind: call });
    return rows;
  }).flat();
  let dir: string;
  let engine: Engine;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-k-'));
    buildFixture(dir, { subs: 31, days: 2, seed: 1, events });
    engine = Engine.open(dir, { partitions: 3 });
  });
  afterAll(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const window = (from: number, to: number) => ({ start_date: date(from), end_date: date(to) });
  const unique = (from: number, to: number) => ({ query_kind: 'unique_locations', ...window(from, to), aggregation_unit: 'admin1' });
  const aarlc = { query_kind: 'active_at_reference_location_counts', unique_locations: unique(0, 2), reference_locations: daily(1) };
  const usc = { query_kind: 'unique_subscriber_counts', ...window(0, 2), aggregation_unit: 'admin1' };
  const eventCount = (from: number, to: number) => ({ query_kind: 'event_count', ...window(from, to) });

  const cases: [string, object, object[], number][] = [
    ['spatial_aggregate', { query_kind: 'spatial_aggregate', locations: daily(0) }, [{ pcod: 'R2', value: 16 }], 1],
    ['flows', { query_kind: 'flows', from_location: daily(0), to_location: daily(1) }, [{ pcod_from: 'R2', pcod_to: 'R1', value: 16 }], 1],
    ['inflows', { query_kind: 'inflows', from_location: daily(0), to_location: daily(1) }, [{ pcod_to: 'R1', value: 16 }], 1],
    ['outflows', { query_kind: 'outflows', from_location: daily(0), to_location: daily(1) }, [{ pcod_from: 'R2', value: 16 }], 1],
    ['unique_subscriber_counts', usc, [{ pcod: 'R1', value: 16 }, { pcod: 'R2', value: 16 }], 2],
    ['trips_od_matrix', { query_kind: 'trips_od_matrix', ...window(0, 2), aggregation_unit: 'admin1' },
      [{ pcod_from: 'R1', pcod_to: 'R2', value: 16 }, { pcod_from: 'R2', pcod_to: 'R1', value: 16 }], 2],
    ['consecutive_trips_od_matrix', { query_kind: 'consecutive_trips_od_matrix', ...window(0, 2), aggregation_unit: 'admin1' },
      [{ pcod_from: 'R1', pcod_to: 'R1', value: 16 }, { pcod_from: 'R1', pcod_to: 'R2', value: 16 }, { pcod_from: 'R2', pcod_to: 'R1', value: 16 }], 2],
    ['trips_od_matrix at the cell unit', { query_kind: 'trips_od_matrix', ...window(0, 2), aggregation_unit: 'cell' },
      [{ location_id_from: 'C2', location_id_to: 'C4', value: 16 }, { location_id_from: 'C4', location_id_to: 'C2', value: 16 }], 2],
    ['consecutive_trips_od_matrix at the cell unit', { query_kind: 'consecutive_trips_od_matrix', ...window(0, 2), aggregation_unit: 'cell' },
      [{ location_id_from: 'C2', location_id_to: 'C2', value: 16 }, { location_id_from: 'C2', location_id_to: 'C4', value: 16 },
        { location_id_from: 'C4', location_id_to: 'C2', value: 16 }], 2],
    ['location_event_counts', { query_kind: 'location_event_counts', ...window(0, 1), aggregation_unit: 'admin1', interval: 'day', direction: 'both' },
      [{ pcod: 'R1', date: date(0), value: 16 }, { pcod: 'R2', date: date(0), value: 16 }], 2],
    ['unmoving_counts', { query_kind: 'unmoving_counts', locations: unique(1, 2) }, [{ pcod: 'R1', value: 16 }], 1],
    ['unmoving_at_reference_location_counts', { query_kind: 'unmoving_at_reference_location_counts', locations: unique(1, 2), reference_locations: daily(1) },
      [{ pcod: 'R1', value: 16 }], 1],
    ['active_at_reference_location_counts', aarlc, [{ pcod: 'R1', value: 16 }], 1],
    ['unique_visitor_counts', { query_kind: 'unique_visitor_counts', active_at_reference_location_counts: aarlc, unique_subscriber_counts: usc },
      [{ pcod: 'R2', value: 16 }], 1],
    ['joined_spatial_aggregate', { query_kind: 'joined_spatial_aggregate', locations: daily(0), metric: eventCount(0, 2), method: 'avg' },
      [{ pcod: 'R2', value: 4 }], 1],
    ['histogram_aggregate (16 kept)', { query_kind: 'histogram_aggregate', metric: eventCount(0, 2), bins: { bin_list: [3.5, 10] } },
      [{ value: 16, lower_edge: 3.5, upper_edge: 10 }], 0],
    ['histogram_aggregate (15 withheld)', { query_kind: 'histogram_aggregate', metric: eventCount(0, 2), bins: { bin_list: [0, 3.5] } }, [], 1],
  ];
  it('sumThenRedact: a pair of 15 is withheld and one of 16 kept; summed over two specs both pass, unless each spec must pass', async () => {
    const flows = { query_kind: 'flows', from_location: daily(0), to_location: daily(1) };
    const one = await engine.sumThenRedact([flows]);
    expect(one.pairs).toEqual([{ pcod_from: 'R2', pcod_to: 'R1', value: 16 }]);
    expect(one.withheld.pairs).toEqual([{ pcod_from: 'R3', pcod_to: 'R0', value: null }]);
    expect(one.inflows).toEqual([{ pcod_to: 'R1', value: 16 }]);
    expect(one.withheld.inflows).toEqual([{ pcod_to: 'R0', value: null }]);
    expect(one.outflows).toEqual([{ pcod_from: 'R2', value: 16 }]);
    // Summing before redacting: 15 + 15 = 30 is published (FlowKit's #4866 would lose it).
    const two = await engine.sumThenRedact([flows, flows]);
    expect(two.pairs).toEqual([{ pcod_from: 'R2', pcod_to: 'R1', value: 32 }, { pcod_from: 'R3', pcod_to: 'R0', value: 30 }]);
    const bound = await engine.sumThenRedact([flows, flows], { perSpecBound: true });
    expect(bound.k).toBe(30);
    expect(bound.pairs).toEqual([{ pcod_from: 'R2', pcod_to: 'R1', value: 32 }]);
  });
  for (const [name, spec, rows, withheld] of cases) {
    it(`${name}: a row of 15 subscribers is withheld, one of 16 kept`, async () => {
      const r = await engine.run(spec);
      expect(r.rows).toEqual(rows);
      expect(r.withheld).toBe(withheld);
    });
  }
});
