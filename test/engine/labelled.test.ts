/**
 * mobility_classification and the labelled aggregates (labelled_spatial_aggregate,
 * labelled_flows): the classification by hand for every label, the engine against
 * the plain reference (test/reference/labelled.ts) on seeded data full of ties, in
 * process and through the pool, FlowKit's redaction at 15/16, and spec errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECONDS_PER_DAY, TYPE_CALLS, TYPE_SMS } from '../../kernels/shared/constants.js';
import { Engine } from '../../server/engine/engine.js';
import { classifyMobility, MOBILITY_LABELS } from '../../server/engine/mobility-classification.js';
import { type RefFilter, refLastLocation, refMostCommon } from '../reference/events.js';
import {
  type RefLocated,
  refCoalescedLocation,
  refLabelledFlows,
  refLabelledSpatialAggregate,
  refLocationVisits,
  refMajorityLocation,
  refMobilityClassification,
  refRedactLabelled,
} from '../reference/labelled.js';
import { tableFromIPC } from 'apache-arrow';
import { SpecError } from '../../server/errors.js';
import { serialise } from '../../server/format/formats.js';
import { buildFixture, FIRST_DAY, type Fixture } from './fixtures.js';

const K = 15;
const date = (d: number) => new Date((FIRST_DAY + d) * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
const dayFilter = (d: number): RefFilter => ({ types: [TYPE_CALLS, TYPE_SMS], start: (FIRST_DAY + d) * SECONDS_PER_DAY, end: (FIRST_DAY + d + 1) * SECONDS_PER_DAY });

type Json = Record<string, unknown>;
const daily = (d: number, method = 'last'): Json => ({ query_kind: 'daily_location', date: date(d), method, aggregation_unit: 'admin1' });
const visits = (inputs: Json[]): Json => ({ query_kind: 'location_visits', locations: inputs });
const majority = (weights: Json, includeUnlocatable: boolean): Json => ({
  query_kind: 'majority_location',
  subscriber_location_weights: weights,
  minimum_total_weight: 0,
  include_unlocatable: includeUnlocatable,
});

/**
 * Period p covers days 2p and 2p + 1: the preferred location is the majority of the
 * two daily locations (a subscriber seen at two places is present without a location),
 * the fallback the second day's, kept only if visited on both days (so never, when the
 * preferred failed: it exercises the filter).
 */
function period(p: number, methods: [string, string] = ['last', 'last'], includeUnlocatable = true): Json {
  const weights = visits([daily(2 * p, methods[0]), daily(2 * p + 1, methods[1])]);
  return {
    query_kind: 'coalesced_location',
    preferred_location: majority(weights, includeUnlocatable),
    fallback_location: majority(visits([daily(2 * p + 1, methods[1])]), false),
    subscriber_location_weights: weights,
    weight_threshold: 2,
  };
}
const classification = (periods: Json[], stay_length_threshold: number): Json => ({ query_kind: 'mobility_classification', locations: periods, stay_length_threshold });

describe('classifyMobility by hand', () => {
  // Five subscribers, three periods; -1 = absent, -2 = present without a location.
  const grid = [
    [0, 0, -2], // unlocated: no location in the last period, whatever came before
    [-1, 1, 1], // irregular: absent once
    [-2, 1, 1], // not_always_locatable
    [0, 1, 0], // mobile: longest stay 1
    [2, 2, 3], // stable at threshold 2: a stay of 2
    [2, 3, -1], // absent from the last period: no label
    [-1, -2, 3], // irregular before not_always_locatable
    [4, 4, 4], // stable
  ];
  const periods = [0, 1, 2].map((p) => ({
    loc: Int32Array.from(grid, (row) => row[p]!),
    present: Uint8Array.from(grid, (row) => (row[p] === -1 ? 0 : 1)),
  }));
  const names = (codes: Int32Array) => Array.from(codes, (c) => (c < 0 ? null : MOBILITY_LABELS[c]));

  it('labels every case, first criterion first', () => {
    expect(names(classifyMobility(periods, 2, grid.length))).toEqual([
      'unlocated', 'irregular', 'not_always_locatable', 'mobile', 'stable', null, 'irregular', 'stable',
    ]);
  });

  it('a stay of exactly the threshold is stable, one shorter mobile', () => {
    expect(names(classifyMobility(periods, 3, grid.length)).slice(3, 8)).toEqual(['mobile', 'mobile', null, 'irregular', 'stable']);
    expect(names(classifyMobility(periods, 1, grid.length)).slice(3, 5)).toEqual(['stable', 'stable']);
  });

  it('the reference agrees on the same grid', () => {
    const refPeriods: RefLocated[] = [0, 1, 2].map((p) => ({
      located: new Map(grid.flatMap((row, s) => (row[p]! >= 0 ? [[s, row[p]!] as [number, number]] : []))),
      unlocated: new Set(grid.flatMap((row, s) => (row[p] === -2 ? [s] : []))),
    }));
    for (const threshold of [1, 2, 3]) {
      const ref = refMobilityClassification(refPeriods, threshold);
      const engine = names(classifyMobility(periods, threshold, grid.length));
      expect(grid.map((_, s) => ref.get(s) ?? null), `threshold ${threshold}`).toEqual(engine);
    }
  });

  it('gaps break a stay (FlowKit counts consecutive periods only)', () => {
    const p = [[0], [0], [1], [0], [0], [0]].map((v) => ({ loc: Int32Array.from(v), present: Uint8Array.of(1) }));
    expect(names(classifyMobility(p, 4, 1))).toEqual(['mobile']);
    expect(names(classifyMobility(p, 3, 1))).toEqual(['stable']);
  });
});

/** Engine rows of a labelled_spatial_aggregate from reference counts, FlowKit-redacted, in the engine's order. */
function expectedSpatial(counts: Map<string, number>): { rows: object[]; withheld: number } {
  const kept = refRedactLabelled(counts, (key) => key.split(',')[0]!, K);
  const order = (label: string) => (label === 'null' ? MOBILITY_LABELS.length : MOBILITY_LABELS.indexOf(label as never));
  const rows = [...kept]
    .map(([key, value]) => ({ loc: Number(key.split(',')[0]), label: key.split(',')[1]!, value }))
    .sort((a, b) => a.loc - b.loc || order(a.label) - order(b.label))
    .map(({ loc, label, value }) => ({ pcod: `R${loc}`, value_label: label === 'null' ? null : label, value }));
  return { rows, withheld: counts.size - kept.size };
}

function expectedFlows(counts: Map<string, number>): { rows: object[]; withheld: number } {
  const kept = refRedactLabelled(counts, (key) => key.split(',').slice(0, 2).join(','), K);
  const rows = [...kept]
    .map(([key, value]) => {
      const [a, b, label] = key.split(',') as [string, string, string];
      return { a: Number(a), b: Number(b), label, value };
    })
    .sort((x, y) => x.a - y.a || x.b - y.b || MOBILITY_LABELS.indexOf(x.label as never) - MOBILITY_LABELS.indexOf(y.label as never))
    .map(({ a, b, label, value }) => ({ pcod_from: `R${a}`, pcod_to: `R${b}`, value_label: label, value }));
  return { rows, withheld: counts.size - kept.size };
}

function suite(name: string, threads: number) {
  describe(`labelled aggregates against the reference (${name})`, () => {
    let dir: string;
    let fx: Fixture;
    let engine: Engine;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-labelled-'));
      fx = buildFixture(dir, { subs: 6000, days: 6, seed: 29, eventsPerSub: 4 });
      engine = Engine.open(dir, { partitions: 5, threads });
    });
    afterAll(async () => {
      await engine.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** The reference coalesced location of period p (see `period`). */
    const refPeriod = (p: number, methods: [string, string] = ['last', 'last']): RefLocated => {
      const dailyRef = (d: number, method: string) => (method === 'last' ? refLastLocation : refMostCommon)(fx.events, dayFilter(d), fx.locator).locations;
      const weights = refLocationVisits([dailyRef(2 * p, methods[0]), dailyRef(2 * p + 1, methods[1])]);
      const preferred = refMajorityLocation(weights, 0, true);
      const fallback = refMajorityLocation(refLocationVisits([dailyRef(2 * p + 1, methods[1])]), 0, false);
      return refCoalescedLocation(preferred, fallback, weights, 2);
    };

    it('labelled_spatial_aggregate, with a null label for the unclassified, matches the reference', async () => {
      const methods: [string, string] = ['most-common', 'last'];
      const labels = refMobilityClassification([refPeriod(0, methods), refPeriod(1), refPeriod(2)], 3);
      expect(new Set(labels.values())).toEqual(new Set(MOBILITY_LABELS));
      const located = refPeriod(1).located;
      const counts = refLabelledSpatialAggregate(located, labels);
      const expected = expectedSpatial(counts);
      expect(expected.rows.length).toBeGreaterThan(8);
      expect(expected.withheld).toBeGreaterThan(0);
      const r = await engine.run({
        query_kind: 'labelled_spatial_aggregate',
        locations: period(1),
        labels: classification([period(0, methods), period(1), period(2)], 3),
      });
      expect(r.columns).toEqual(['pcod', 'value_label', 'value']);
      expect(r.rows).toEqual(expected.rows);
      expect(r.withheld).toBe(expected.withheld);
    });

    it('labelled_flows (inner joins) matches the reference', async () => {
      const labels = refMobilityClassification([refPeriod(0), refPeriod(1), refPeriod(2)], 2);
      // Subscribers located at both ends but absent from the last period have no label: the inner join drops them.
      const counts = refLabelledFlows(refPeriod(0).located, refPeriod(1).located, labels);
      const expected = expectedFlows(counts);
      expect(expected.rows.length).toBeGreaterThan(15);
      expect(expected.withheld).toBeGreaterThan(0);
      const r = await engine.run({
        query_kind: 'labelled_flows',
        from_location: period(0),
        to_location: period(1),
        labels: classification([period(0), period(1), period(2)], 2),
      });
      expect(r.columns).toEqual(['pcod_from', 'pcod_to', 'value_label', 'value']);
      expect(r.rows).toEqual(expected.rows);
      expect(r.withheld).toBe(expected.withheld);
    });
  });
}

suite('in process', 0);
suite('worker pool', 2);

describe('labelled aggregates by hand, and redaction at 15/16', () => {
  // Cells 0, 2, 4, 6 lie in R0, R1, R2, R3. Per subscriber group: its cell on each of
  // six days (null: no event), periods being days (0, 1), (2, 3), (4, 5). A period whose
  // two days differ is present without a location ("N").
  const A = 0;
  const B = 2;
  const C = 4;
  const D = 6;
  const groups: { name: string; size: number; days: (number | null)[] }[] = [
    { name: 'unlocated', size: 16, days: [A, A, A, A, A, C] }, // A A N
    { name: 'irregular', size: 16, days: [null, null, A, A, A, A] }, // - A A
    { name: 'not_always_locatable', size: 16, days: [A, C, A, A, A, A] }, // N A A
    { name: 'mobile', size: 16, days: [A, A, B, B, A, A] }, // A B A
    { name: 'stable', size: 16, days: [A, A, A, A, A, A] }, // A A A
    { name: 'unclassified', size: 16, days: [A, A, A, A, null, null] }, // A A -
    { name: 'stable at D', size: 15, days: [D, D, D, D, D, D] }, // D D D
    { name: 'mobile at D', size: 16, days: [D, D, D, D, C, C] }, // D D C: a stay of 2 < 3
  ];
  const call = TYPE_CALLS | (1 << 2);
  let next = 0;
  const events = groups.flatMap((g) =>
    Array.from({ length: g.size }, () => next++).flatMap((sub) =>
      g.days.flatMap((cell, d) => (cell === null ? [] : [{ sub, t: (FIRST_DAY + d) * SECONDS_PER_DAY + 9 * 3600, cell, kind: call }])),
    ),
  );
  let dir: string;
  let engine: Engine;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-labelled-k-'));
    buildFixture(dir, { subs: next, days: 6, seed: 2, events });
    engine = Engine.open(dir, { partitions: 3 });
  });
  afterAll(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const labels = classification([period(0), period(1), period(2)], 3);

  it('labelled_spatial_aggregate: every label at R0 published; R3 (15 stable, 16 mobile) withheld whole', async () => {
    const r = await engine.run({ query_kind: 'labelled_spatial_aggregate', locations: period(1), labels });
    expect(r.rows).toEqual([
      { pcod: 'R0', value_label: 'unlocated', value: 16 },
      { pcod: 'R0', value_label: 'irregular', value: 16 },
      { pcod: 'R0', value_label: 'not_always_locatable', value: 16 },
      { pcod: 'R0', value_label: 'stable', value: 16 },
      { pcod: 'R0', value_label: null, value: 16 },
      { pcod: 'R1', value_label: 'mobile', value: 16 },
    ]);
    expect(r.withheld).toBe(2);
  });

  it('without include_unlocatable no one is present without a location: those periods count as absences', async () => {
    const strict = (p: number) => period(p, ['last', 'last'], false);
    const r = await engine.run({
      query_kind: 'labelled_spatial_aggregate',
      locations: period(1),
      labels: classification([strict(0), strict(1), strict(2)], 3),
    });
    // "A A N" leaves the last period (no label); "N A A" misses the first (irregular).
    expect(r.rows).toEqual([
      { pcod: 'R0', value_label: 'irregular', value: 32 },
      { pcod: 'R0', value_label: 'stable', value: 16 },
      { pcod: 'R0', value_label: null, value: 32 },
      { pcod: 'R1', value_label: 'mobile', value: 16 },
    ]);
    expect(r.withheld).toBe(2);
  });

  it('the output formats carry value_label, a null label as an empty CSV field and an Arrow null', async () => {
    const r = await engine.run({ query_kind: 'labelled_spatial_aggregate', locations: period(1), labels });
    const csv = (await serialise(r, 'csv')) as string;
    expect(csv.split('\n').slice(0, 2)).toEqual(['pcod,value_label,value', 'R0,unlocated,16']);
    expect(csv).toContain('\nR0,,16\n');
    const json = JSON.parse((await serialise(r, 'json')) as string) as { query_result: object[] };
    expect(json.query_result).toContainEqual({ pcod: 'R0', value_label: null, value: 16 });
    const table = tableFromIPC((await serialise(r, 'arrow')) as Uint8Array);
    expect(table.getChild('value_label')!.toArray()).toEqual(['unlocated', 'irregular', 'not_always_locatable', 'stable', null, 'mobile']);
    expect(Array.from(table.getChild('value')!.toArray() as Float64Array)).toEqual([16, 16, 16, 16, 16, 16]);
  });

  it('labelled_flows: only classified subscribers located at both ends; the pair with a label of 15 withheld whole', async () => {
    const r = await engine.run({ query_kind: 'labelled_flows', from_location: period(0), to_location: period(1), labels });
    expect(r.rows).toEqual([
      { pcod_from: 'R0', pcod_to: 'R0', value_label: 'unlocated', value: 16 },
      { pcod_from: 'R0', pcod_to: 'R0', value_label: 'stable', value: 16 },
      { pcod_from: 'R0', pcod_to: 'R1', value_label: 'mobile', value: 16 },
    ]);
    expect(r.withheld).toBe(2);
  });

  it('an outer join_type publishes the same pairs: those it adds have a null end, which FlowKit redaction drops', async () => {
    const inner = await engine.run({ query_kind: 'labelled_flows', from_location: period(0), to_location: period(1), labels });
    for (const join_type of ['left', 'right outer', 'full outer']) {
      const r = await engine.run({ query_kind: 'labelled_flows', from_location: period(0), to_location: period(1), labels, join_type });
      expect(r.rows, join_type).toEqual(inner.rows);
    }
  });

  it('at the cell unit the same counts come from sparse keys', async () => {
    const atCells = (p: number) => JSON.parse(JSON.stringify(period(p)).replaceAll('"admin1"', '"cell"')) as Json;
    const r = await engine.run({ query_kind: 'labelled_flows', from_location: atCells(0), to_location: atCells(1), labels });
    expect(r.rows).toEqual([
      { location_id_from: 'C0', location_id_to: 'C0', value_label: 'unlocated', value: 16 },
      { location_id_from: 'C0', location_id_to: 'C0', value_label: 'stable', value: 16 },
      { location_id_from: 'C0', location_id_to: 'C2', value_label: 'mobile', value: 16 },
    ]);
    expect(r.withheld).toBe(2);
  });

  it('bad parameters are refused with the field named, before any kernel runs', async () => {
    const refusal = async (spec: Json) => {
      try {
        await engine.run(spec);
      } catch (e) {
        expect(e).toBeInstanceOf(SpecError);
        return e as SpecError;
      }
      throw new Error('expected a SpecError');
    };
    const sampled = await refusal({
      query_kind: 'labelled_spatial_aggregate',
      locations: period(1),
      labels: { ...labels, sampling: { sampling_method: 'random_ids', size: 5, seed: 0.5 } },
    });
    expect(sampled.message).toMatch(/^labels\.sampling: sampling is not supported yet/);
    const sample = { sampling_method: 'random_ids', size: 5, seed: 0.5 };
    const periodSampled = await refusal({
      query_kind: 'labelled_spatial_aggregate',
      locations: period(1),
      labels: classification([period(0), { ...period(1), sampling: sample }, period(2)], 3),
    });
    expect(periodSampled.message).toMatch(/^labels\.locations\.1\.sampling: sampling is not supported yet/);
  });
});
