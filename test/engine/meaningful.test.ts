import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NULL_U32, SECONDS_PER_DAY, TYPE_CALLS, TYPE_SMS } from '../../kernels/shared/constants.js';
import { Engine, type QueryResult } from '../../server/engine/engine.js';
import type { CoordLocator, RefMetricEvent } from '../reference/metrics.js';
import {
  clusterSites, labeller, refDistanceKm, refMeaningfulAggregate, refMeaningfulClusters, refMeaningfulOD, weekdayName, type MeaningfulSpec,
} from '../reference/meaningful.js';
import { Heap } from '../../server/wasm/memory.js';
import { ScoreTable } from '../../server/engine/meaningful-kernels.js';
import { ALL_HOURS, instantiate } from '../../server/engine/wasm.js';
import { buildFixture, FIRST_DAY, type Fixture } from './fixtures.js';

const K = 15;
const date = (d: number) => new Date((FIRST_DAY + d) * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
const CALLS_SMS = [TYPE_CALLS, TYPE_SMS];

// FlowKit's default scores and labels (LabelEventScore's defaults; rings left unclosed as there).
const HOUR_SCORES = [-1, -1, -1, -1, -1, -1, -1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, -1, -1, -1];
const DOW_SCORES = { monday: 1, tuesday: 1, wednesday: 1, thursday: 0, friday: -1, saturday: -1, sunday: -1 };
const FLOWKIT_LABELS = {
  evening: {
    type: 'MultiPolygon',
    coordinates: [[[[0.000001, 0.5], [0.000001, 1], [1, 1], [1, 0.5]]], [[[0.000001, -1], [0.000001, -0.5], [1, -0.5], [1, -1]]]],
  },
  day: { type: 'Polygon', coordinates: [[[-1, -0.5], [-1, 0.5], [0, 0.5], [0, -0.5]]] },
};

/** Region of a point by arithmetic: the fixture's squares [x, x+1) x [y, y+1), x, y in {0, 1}. */
function regionAt(lon: number, lat: number): number {
  if (!(lon >= 0 && lon < 2 && lat >= 0 && lat < 2)) return -1;
  return Math.floor(lon) + 2 * Math.floor(lat);
}

function coordsOf(fx: Fixture): CoordLocator {
  return (cell, day) => {
    if (cell >= fx.nCells) return -1;
    const v = fx.versions.filter((x) => x.cell === cell && (x.from === null || day >= x.from) && (x.to === null || day <= x.to)).at(-1);
    return v ? { lon: v.lon, lat: v.lat } : -2;
  };
}

const base = (extra: object = {}) => ({
  aggregation_unit: 'admin1',
  labels: FLOWKIT_LABELS,
  tower_hour_of_day_scores: HOUR_SCORES,
  tower_day_of_week_scores: DOW_SCORES,
  tower_cluster_radius: 1.0,
  tower_cluster_call_threshold: 0,
  ...extra,
});

/** Expected rows of an aggregate from a reference map, redacted (value > k), by region. */
function aggregateRows(ref: Map<number, number>, label: string) {
  return [...ref.entries()].filter(([, v]) => v > K).sort(([a], [b]) => a - b).map(([r, value]) => ({ label, pcod: `R${r}`, value }));
}

function odRows(ref: Map<string, number>, a: string, b: string) {
  return [...ref.entries()]
    .filter(([, v]) => v > K)
    .map(([k, value]) => [...k.split(',').map(Number), value] as [number, number, number])
    .sort((x, y) => x[0] - y[0] || x[1] - y[1])
    .map(([f, t, value]) => ({ label_from: a, label_to: b, pcod_from: `R${f}`, pcod_to: `R${t}`, value }));
}

function expectRowsClose(actual: QueryResult['rows'], expected: Record<string, string | number>[]) {
  expect(actual.map(({ value: _v, ...rest }) => rest)).toEqual(expected.map(({ value: _v, ...rest }) => rest));
  actual.forEach((r, i) => expect(r.value as number).toBeCloseTo(expected[i]!.value as number, 9));
}

describe('meaningful locations: clustering and labelling definitions', () => {
  const params = (radiusKm: number, callThreshold = 0) => ({ radiusKm, callThreshold });
  const labels = Object.entries(FLOWKIT_LABELS) as Parameters<typeof labeller>[0];
  // Two sites 1 km apart near the equator: 1 km of longitude at latitude 0.5 is 1 / (111.19508 cos 0.5°) degrees
  // (2 pi 6371.0088 / 360 km a degree of the great circle; along a parallel the haversine differs from it by < 1e-9).
  const dLon = 1 / ((2 * Math.PI * 6371.0088) / 360 * Math.cos((0.5 * Math.PI) / 180));
  const a = { lon: 0.25, lat: 0.5, days: 3, events: 4, sumHour: 2, sumDow: -3 }; // score (0.5, -0.75)
  const b = { lon: 0.25 + dLon, lat: 0.5, days: 1, events: 2, sumHour: -2, sumDow: -2 }; // score (-1, -1)

  it('two sites 1 km apart cluster together with radius 2 km, apart with radius 0.5 km', () => {
    expect(refDistanceKm(a.lon, a.lat, b.lon, b.lat)).toBeCloseTo(1, 6);
    const label = labeller(labels);
    const together = clusterSites([b, a], params(2), label);
    expect(together).toHaveLength(1);
    // Call-day-weighted centroid, mean of the two site scores (not of their events).
    expect(together[0]!.lon).toBeCloseTo((3 * a.lon + 1 * b.lon) / 4, 12);
    expect(together[0]!.lat).toBeCloseTo(0.5, 12);
    expect(together[0]!).toMatchObject({ callDays: 4, scoreHour: -0.25, scoreDow: -0.875, label: 'unknown' });
    const apart = clusterSites([b, a], params(0.5), label);
    expect(apart.map((c) => [c.lon, c.callDays, c.scoreHour, c.scoreDow])).toEqual([
      [a.lon, 3, 0.5, -0.75],
      [b.lon, 1, -1, -1],
    ]);
    // (0.5, -0.75) lies inside FlowKit's second evening square; (-1, -1) in no label.
    expect(apart.map((c) => c.label)).toEqual(['evening', 'unknown']);
    // The call threshold drops clusters with fewer call days.
    expect(clusterSites([b, a], params(0.5, 2), label).map((c) => c.callDays)).toEqual([3]);
    expect(clusterSites([b, a], params(2, 5), label)).toEqual([]);
  });

  it('ties in call days go to the smaller longitude first, whatever the input order', () => {
    const label = labeller(labels);
    const s = (lon: number) => ({ lon, lat: 0, days: 2, events: 1, sumHour: 0, sumDow: 0 });
    // 0 and 1.5 km: with radius 1 km, the cluster led by the westmost site takes 0.9 km, not 1.5 km.
    const k = 360 / (2 * Math.PI * 6371.0088); // degrees of longitude per km on the equator
    const sites = [s(1.5 * k), s(0.9 * k), s(0)];
    const out = clusterSites(sites, params(1), label);
    const again = clusterSites([...sites].reverse(), params(1), label);
    expect(out).toEqual(again);
    expect(out.map((c) => c.callDays)).toEqual([4, 2]);
  });

  it('a label polygon hit exactly: the score point inside a small square is labelled, just outside is not', () => {
    const label = labeller([
      ['a', { type: 'Polygon', coordinates: [[[0.2, 0.2], [0.3, 0.2], [0.3, 0.3], [0.2, 0.3]]] }],
      ['b', { type: 'MultiPolygon', coordinates: [[[[-0.3, -0.3], [-0.2, -0.3], [-0.2, -0.2], [-0.3, -0.2], [-0.3, -0.3]]]] }],
    ]);
    expect(label(0.25, 0.25)).toBe('a');
    expect(label(-0.25, -0.25)).toBe('b');
    expect(label(0.31, 0.25)).toBe('unknown');
    expect(label(0, 0)).toBe('unknown');
    expect(weekdayName(FIRST_DAY)).toBe('friday'); // 2016-01-01
    expect(refDistanceKm(0, 0, 1, 0)).toBeCloseTo((2 * Math.PI * 6371.0088) / 360, 9); // a degree of the equator
  });
});

describe('meaningful locations: the score table kernel', () => {
  it('counts call days, events and score sums per (subscriber, position), growing from 8 slots, with drops', () => {
    const heap = new Heap();
    const k = instantiate(heap.memory);
    const table = new ScoreTable(k, heap, 8);
    const hour = heap.put(Float64Array.from({ length: 24 }, (_, h) => h / 100));
    const dow = heap.put(Float64Array.from([1, 2, 3, 4, 5, 6, 7]));
    const loc = heap.put(Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -2])); // cell 10: no valid version
    const drops = heap.put(new Uint32Array(4));
    const expected = new Map<string, { events: number; days: number; sumHour: number; sumDow: number }>();
    // Two days (day 0 a Friday: dow index 4), 40 subscribers x 10 cells: 400 keys, far past 8 slots.
    for (const d of [0, 1]) {
      const sub: number[] = [];
      const t: number[] = [];
      const cell: number[] = [];
      for (let h = 0; h < 24; h++) {
        for (let s = 0; s < 40; s++) {
          const c = (s + h) % 11;
          sub.push(s);
          t.push((FIRST_DAY + d) * SECONDS_PER_DAY + h * 3600);
          cell.push(c === 10 && s % 2 ? NULL_U32 : c);
          if (c === 10) continue;
          const key = `${s},${c}`;
          const e = expected.get(key) ?? { events: 0, days: 0, sumHour: 0, sumDow: 0 };
          if (!expected.has(key) || (e as { last?: number }).last !== d) e.days++;
          (e as { last?: number }).last = d;
          e.events++;
          e.sumHour += h / 100;
          e.sumDow += d === 0 ? 5 : 6;
          expected.set(key, e);
        }
      }
      const ev = { n: sub.length, sub: heap.put(Uint32Array.from(sub)), t: heap.put(Uint32Array.from(t)), cell: heap.put(Uint32Array.from(cell)), kind: heap.put(new Uint8Array(sub.length)) };
      const f = { typeMask: 1, tStart: FIRST_DAY * SECONDS_PER_DAY, tEnd: (FIRST_DAY + 2) * SECONDS_PER_DAY, hourMask: ALL_HOURS };
      table.accumulate(ev, { loc, nCells: 11 }, f, 40, { hour, dow }, drops);
    }
    const e = table.entries();
    expect(e.sub.length).toBe(expected.size);
    for (let i = 0; i < e.sub.length; i++) {
      const x = expected.get(`${e.sub[i]},${e.loc[i]}`)!;
      expect([e.events[i], e.days[i]]).toEqual([x.events, x.days]);
      expect(e.sumHour[i]).toBeCloseTo(x.sumHour, 12);
      expect(e.sumDow[i]).toBe(x.sumDow);
    }
    const d = heap.u32(drops, 4);
    expect(d[1]! + d[2]!).toBe(2 * [...Array(24).keys()].reduce((n, h) => n + [...Array(40).keys()].filter((s) => (s + h) % 11 === 10).length, 0));
    expect(d[1]).toBeGreaterThan(0);
    expect(d[2]).toBeGreaterThan(0);
  });
});

function fixtureSuite(name: string, threads: number) {
  describe(`meaningful locations on the fixture (${name})`, () => {
    let dir: string;
    let fx: Fixture;
    let engine: Engine;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-meaningful-'));
      fx = buildFixture(dir, { subs: 600, days: 4, seed: 23 });
      engine = Engine.open(dir, { partitions: 5, threads });
    });
    afterAll(async () => {
      await engine.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const range = (a: number, b: number) => ({ types: CALLS_SMS, start: (FIRST_DAY + a) * SECONDS_PER_DAY, end: (FIRST_DAY + b) * SECONDS_PER_DAY });

    for (const radius of [1, 60]) {
      it(`meaningful_locations_aggregate matches the reference for every label (radius ${radius} km)`, async () => {
        const extra = { tower_cluster_radius: radius, tower_cluster_call_threshold: 2 };
        const clusters = refMeaningfulClusters(fx.events, range(0, 4), coordsOf(fx), base(extra) as MeaningfulSpec);
        let rows = 0;
        for (const label of ['day', 'evening', 'unknown']) {
          const r = await engine.run({ query_kind: 'meaningful_locations_aggregate', start_date: date(0), end_date: date(4), label, ...base(extra) });
          const ref = refMeaningfulAggregate(clusters, label, regionAt);
          expect(r.columns).toEqual(['label', 'pcod', 'value']);
          expectRowsClose(r.rows, aggregateRows(ref, label));
          expect(r.withheld, label).toBe([...ref.values()].filter((v) => v > 0 && v <= K).length);
          rows += r.rows.length;
        }
        expect(rows).toBeGreaterThan(2);
      });
    }

    it('meaningful_locations_between_label_od_matrix matches the reference', async () => {
      const extra = { tower_cluster_radius: 60 };
      const clusters = refMeaningfulClusters(fx.events, range(0, 4), coordsOf(fx), base(extra) as MeaningfulSpec);
      let rows = 0;
      for (const [a, b] of [['day', 'evening'], ['unknown', 'day'], ['day', 'day']] as const) {
        const r = await engine.run({ query_kind: 'meaningful_locations_between_label_od_matrix', start_date: date(0), end_date: date(4), label_a: a, label_b: b, ...base(extra) });
        const ref = refMeaningfulOD(clusters, a, clusters, b, regionAt);
        expect(r.columns).toEqual(['label_from', 'label_to', 'pcod_from', 'pcod_to', 'value']);
        expectRowsClose(r.rows, odRows(ref, a, b));
        expect(r.withheld).toBe([...ref.values()].filter((v) => v > 0 && v <= K).length);
        rows += r.rows.length;
      }
      expect(rows).toBeGreaterThan(0);
    });

    it('meaningful_locations_between_dates_od_matrix matches the reference', async () => {
      const extra = { tower_cluster_radius: 60, event_types: ['calls', 'sms', 'mds'] };
      const p = base(extra) as MeaningfulSpec;
      const types = [0, 1, 2];
      const a = refMeaningfulClusters(fx.events, { ...range(0, 2), types }, coordsOf(fx), p);
      const b = refMeaningfulClusters(fx.events, { ...range(2, 4), types }, coordsOf(fx), p);
      let rows = 0;
      for (const label of ['day', 'unknown']) {
        const r = await engine.run({
          query_kind: 'meaningful_locations_between_dates_od_matrix',
          start_date_a: date(0), end_date_a: date(2), start_date_b: date(2), end_date_b: date(4), label, ...base(extra),
        });
        const ref = refMeaningfulOD(a, label, b, label, regionAt);
        expectRowsClose(r.rows, odRows(ref, label, label));
        expect(r.withheld).toBe([...ref.values()].filter((v) => v > 0 && v <= K).length);
        rows += r.rows.length;
      }
      expect(rows).toBeGreaterThan(0);
    });
  });
}

fixtureSuite('in process', 0);
fixtureSuite('worker pool', 2);

describe('meaningful locations: hand-computed cases and the redaction boundary', () => {
  let dir: string;
  let engine: Engine;
  // Cells (fixture): C0 at (0.25, 0.5) and C1 at (0.75, 0.5), 55.6 km apart, both in R0;
  // C6 at (1.25, 1.5) in R3. Day 0 (2016-01-01) is a Friday, day 1 a Saturday.
  const at = (d: number, hour: number) => (FIRST_DAY + d) * SECONDS_PER_DAY + hour * 3600;
  const events: RefMetricEvent[] = [];
  const ev = (sub: number, t: number, cell: number) => events.push({ sub, t, cell, kind: TYPE_CALLS, peer: NULL_U32, recharge: NaN });
  for (let s = 0; s < 16; s++) {
    ev(s, at(0, 10), 0); // hour score 1, Friday -1
    ev(s, at(0, 11), 0);
    ev(s, at(1, 22), 1); // hour score -1, Saturday -1
  }
  for (let s = 16; s < 31; s++) ev(s, at(0, 10), 6);
  const LABELS = {
    work: { type: 'Polygon', coordinates: [[[0.5, -1.5], [1.5, -1.5], [1.5, -0.5], [0.5, -0.5]]] },
    home: { type: 'Polygon', coordinates: [[[-1.5, -1.5], [-0.5, -1.5], [-0.5, -0.5], [-1.5, -0.5]]] },
    mixed: { type: 'Polygon', coordinates: [[[-0.25, -1.5], [0.25, -1.5], [0.25, -0.5], [-0.25, -0.5]]] },
  };
  const spec = (extra: object) => ({
    query_kind: 'meaningful_locations_aggregate', start_date: date(0), end_date: date(3), ...base({ labels: LABELS }), ...extra,
  });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-meaningful-hand-'));
    buildFixture(dir, { subs: 31, days: 3, seed: 1, events });
    engine = Engine.open(dir, { partitions: 3, threads: 0 });
  });
  afterAll(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('cells 55.6 km apart cluster together with radius 60 km (score (0, -1): mixed) and apart with 50 km', async () => {
    const together = await engine.run(spec({ label: 'mixed', tower_cluster_radius: 60 }));
    expect(together.rows).toEqual([{ label: 'mixed', pcod: 'R0', value: 16 }]);
    expect((await engine.run(spec({ label: 'work', tower_cluster_radius: 60 }))).rows).toEqual([]);
    const work = await engine.run(spec({ label: 'work', tower_cluster_radius: 50 }));
    // 16 in R0 kept, 15 in R3 withheld: the redaction boundary.
    expect(work.rows).toEqual([{ label: 'work', pcod: 'R0', value: 16 }]);
    expect(work.withheld).toBe(1);
    expect((await engine.run(spec({ label: 'home', tower_cluster_radius: 50 }))).rows).toEqual([{ label: 'home', pcod: 'R0', value: 16 }]);
    // Call days: the work site has 1 (two events, one day), so a threshold of 2 drops it; merged, the cluster has 2.
    expect((await engine.run(spec({ label: 'work', tower_cluster_radius: 50, tower_cluster_call_threshold: 2 }))).rows).toEqual([]);
    expect((await engine.run(spec({ label: 'mixed', tower_cluster_radius: 60, tower_cluster_call_threshold: 2 }))).rows).toEqual([{ label: 'mixed', pcod: 'R0', value: 16 }]);
  });

  it('a subscriber with two clusters of the label counts 1/2 in each region (FlowKit sum(1./n_clusters))', async () => {
    // Relabel: one label covering both site scores, radius 50: each of the 16 has two 'any' clusters in R0.
    const any = { type: 'Polygon', coordinates: [[[-1.5, -1.5], [1.5, -1.5], [1.5, -0.5], [-1.5, -0.5]]] };
    const r = await engine.run(spec({ label: 'any', tower_cluster_radius: 50, labels: { any } }));
    expect(r.rows).toEqual([{ label: 'any', pcod: 'R0', value: 16 }]);
  });

  it('OD between labels and between dates; 15 withheld, 16 kept', async () => {
    const od = await engine.run({ ...spec({ tower_cluster_radius: 50 }), query_kind: 'meaningful_locations_between_label_od_matrix', label_a: 'work', label_b: 'home' });
    expect(od.rows).toEqual([{ label_from: 'work', label_to: 'home', pcod_from: 'R0', pcod_to: 'R0', value: 16 }]);
    const { start_date: _s, end_date: _e, ...rest } = spec({ tower_cluster_radius: 50 });
    const dates = await engine.run({
      ...rest, query_kind: 'meaningful_locations_between_dates_od_matrix', label: 'work',
      start_date_a: date(0), end_date_a: date(1), start_date_b: date(0), end_date_b: date(2),
    });
    expect(dates.rows).toEqual([{ label_from: 'work', label_to: 'work', pcod_from: 'R0', pcod_to: 'R0', value: 16 }]);
    expect(dates.withheld).toBe(1); // R3 -> R3: 15
  });

  it('refuses units other than admin levels, and a label named unknown (reserved, as in FlowKit)', async () => {
    await expect(engine.run(spec({ label: 'work', aggregation_unit: 'cell' }))).rejects.toThrow(/admin units only/);
    await expect(engine.run(spec({ label: 'work', labels: { ...LABELS, unknown: LABELS.home } }))).rejects.toThrow(/reserved/);
  });
});

