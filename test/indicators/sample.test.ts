/**
 * Indicators on the embedded sample's displacement scenario: on Monday
 * 2016-02-08 (the first day of 2016-W06), 243 of the 650 subscribers living in
 * admin2 XX0405 move home to neighbouring admin2 regions; the sample runs
 * 2016-01-01 .. 2016-04-03 (data/sample/README.md). Ingested once into a temp store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import { ingest } from '../../server/ingest/ingest.js';
import { CATALOG, type Period } from '../../server/indicators/catalog.js';
import { abnormality } from '../../server/indicators/compare.js';
import { compareResults } from '../../server/indicators/compare.js';
import { computeIndicator, type IndicatorResult, period, periods, regionsOf, residents, thresholdedOdSums } from '../../server/indicators/compute.js';
import { relocationSpec } from '../../server/indicators/catalog.js';

const SAMPLE = path.resolve('data/sample');
const STRUCK = 'XX0405';
const DISASTER = '2016-02-08';
const dataset = JSON.parse(fs.readFileSync(path.join(SAMPLE, 'dataset.json'), 'utf8')) as { generator: { disaster: { residents: number; displaced: number } } };
const SHARE = dataset.generator.disaster.displaced / dataset.generator.disaster.residents; // 243 / 650 = 0.374

let root: string;
let engine: Engine;
/** A floor the sample's admin2 regions can meet (3,000 subscribers over 20 regions). */
const FLOOR = 100;
const disclosure = { residentFloor: FLOOR };

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-indicators-'));
  process.env.OPALITE_PSEUDONYM_KEY = '12'.repeat(32);
  await ingest({ dataset: SAMPLE, store: path.join(root, 'store') });
  engine = Engine.open(path.join(root, 'store'), { partitions: 4, threads: 0 });
});
afterAll(async () => {
  await engine?.close();
  delete process.env.OPALITE_PSEUDONYM_KEY;
  fs.rmSync(root, { recursive: true, force: true });
});

/** Admin2 regions sharing a boundary vertex with `pcod` (the levels share vertices exactly). */
function neighbours(pcod: string): Set<string> {
  const regions = regionsOf(engine, 'admin2');
  const key = (c: readonly number[]) => `${c[0]},${c[1]}`;
  const vertices = (r: (typeof regions)[number]) => new Set(r.polygons.flatMap((poly) => poly.flatMap((ring) => ring.map(key))));
  const mine = vertices(regions.find((r) => r.pcod === pcod)!);
  return new Set(regions.filter((r) => r.pcod !== pcod && [...vertices(r)].some((v) => mine.has(v))).map((r) => r.pcod));
}

const valueOf = (r: IndicatorResult, pcod: string) => r.values!.find((v) => v.pcod === pcod)?.value ?? null;
/** The week before the disaster (2016-W05, Feb 1-7) and the week it opens (2016-W06, Feb 8-14). */
const weekBefore = () => period(engine, 'week', '2016-02-01');
const weekOf = () => period(engine, 'week', DISASTER);

describe('residents on the displacement scenario', () => {
  it('the weeks of the sample: W53 (3 days), W01..W13 whole; the disaster opens W06', () => {
    // By hand: 2016-01-01 is a Friday, so ISO 2015-W53 holds Jan 1-3 and 2016-W01 starts Monday Jan 4; 2016-W13
    // starts Monday Mar 28 and the sample ends on its Sunday, Apr 3.
    const weeks = periods(engine, 'week');
    const full = Array.from({ length: 13 }, (_, i) => [`2016-W${String(i + 1).padStart(2, '0')}`, 7]);
    expect(weeks.map((w) => [w.key, w.days.length])).toEqual([['2015-W53', 3], ...full]);
    expect(weekOf().key).toBe('2016-W06');
    expect(weekOf().days[0]).toBe(DISASTER);
    expect(periods(engine, 'month').map((m) => [m.key, m.days.length])).toEqual([
      ['2016-01', 31],
      ['2016-02', 29],
      ['2016-03', 31],
      ['2016-04', 3],
    ]);
  });

  it('residents of XX0405 fall from the disaster week on by about the share moved', async () => {
    const w0 = weekBefore();
    const w2 = weekOf();
    const [jan, feb] = periods(engine, 'month') as [Period, Period];
    // The engine-redacted subscriber counts (no rounding) measure the drop.
    const before = (await residents(engine, w0, 'admin2')).get(STRUCK)!;
    const after = (await residents(engine, w2, 'admin2')).get(STRUCK)!;
    const drop = (before - after) / before;
    console.log(`XX0405 residents by week: ${before}, ${after}; drop ${(100 * drop).toFixed(1)}% vs scenario ${(100 * SHARE).toFixed(1)}%`);
    // By month: February's home is the new one for the displaced (22 of its 29 days come after the move).
    const monthDrop = 1 - (await residents(engine, feb, 'admin2')).get(STRUCK)! / (await residents(engine, jan, 'admin2')).get(STRUCK)!;
    expect(Math.abs(monthDrop - SHARE)).toBeLessThan(0.08);
    // Sampling error accepted: +-0.08 on the share. The drop is a binomial share of
    // ~650 residents (sd sqrt(.374 x .626 / 650) = 0.019), plus home misassignment
    // of rarely active subscribers (few days with events, a modal location picked
    // from 1-3 daily locations, some served by a neighbouring site).
    expect(Math.abs(drop - SHARE)).toBeLessThan(0.08);

    // The published indicator (rounded to 10 here) shows the same fall.
    const pub = await Promise.all([w0, w2].map((w) => computeIndicator(engine, 'residents.count', w, 'admin2', { disclosure: { ...disclosure, rounding: { people: 10 } } })));
    const [a, b] = pub.map((r) => valueOf(r, STRUCK)!);
    expect(Math.abs((a - b) / a - SHARE)).toBeLessThan(0.09);
    // Rounded to the default 100, the published values are multiples of 100.
    const def = await computeIndicator(engine, 'residents.count', w2, 'admin2', { disclosure });
    expect(valueOf(def, STRUCK)! % 100).toBe(0);
  });

  it('by day: residents of XX0405 fall on the disaster day', async () => {
    const before = (await residents(engine, period(engine, 'day', '2016-02-07'), 'admin2')).get(STRUCK)!;
    const after = (await residents(engine, period(engine, 'day', DISASTER), 'admin2')).get(STRUCK)!;
    console.log(`XX0405 residents (daily last location): 2016-02-07 ${before}, 2016-02-08 ${after}`);
    expect(after).toBeLessThan(before * (1 - SHARE / 2));
  });
});

describe('relocations on the displacement scenario', () => {
  it('flows from XX0405 to its neighbours appear after the disaster, not before', async () => {
    const near = neighbours(STRUCK);
    expect(near.size).toBeGreaterThan(0);
    const w1 = weekBefore();
    const w2 = weekOf();
    const outOf = async (p: Period) => {
      const r = await computeIndicator(engine, 'relocations.od', p, 'admin2', { disclosure });
      return r.flows!.filter((f) => f.pcod_from === STRUCK);
    };
    const beforeFlows = await outOf(w1); // W04 -> W05: nobody has moved yet
    const afterFlows = await outOf(w2); // W05 -> W06: the move
    const total = (fs: { value: number }[]) => fs.reduce((s, f) => s + f.value, 0);
    console.log('relocations out of XX0405, W04->W05:', beforeFlows, 'W05->W06:', afterFlows);
    expect(afterFlows.length).toBeGreaterThan(0);
    for (const f of afterFlows) expect(near.has(f.pcod_to), `${f.pcod_to} neighbours ${STRUCK}`).toBe(true);
    expect(total(afterFlows)).toBeGreaterThan(total(beforeFlows) + 100);
    // Departures from XX0405 in the week after match the flows.
    const dep = await computeIndicator(engine, 'residents.departed', w2, 'admin2', { disclosure });
    expect(valueOf(dep, STRUCK)).toBeGreaterThanOrEqual(total(afterFlows));
  });

  it('by day: the disaster day relocations go from XX0405 to neighbours', async () => {
    const near = neighbours(STRUCK);
    const r = await computeIndicator(engine, 'relocations.od', period(engine, 'day', DISASTER), 'admin2', { disclosure });
    const out = r.flows!.filter((f) => f.pcod_from === STRUCK);
    expect(out.reduce((s, f) => s + f.value, 0)).toBeGreaterThan(SHARE * 650 * 0.5);
    for (const f of out) expect(near.has(f.pcod_to)).toBe(true);
  });
});

describe('disclosure of every indicator on the sample', () => {
  it('no value <= 15, no region below the resident floor, every count rounded', async () => {
    const checked = { values: 0, flows: 0 };
    for (const resolution of ['month', 'week', 'day'] as const) {
      // Every month; the weeks and days around the disaster (the rest of the 94 days add time, not cases).
      const ps = periods(engine, resolution);
      const around = { month: ['2016-01', '2016-03'], week: ['2016-W04', '2016-W07'], day: ['2016-02-07', '2016-02-09'] }[resolution];
      for (const p of ps.filter((x) => x.key >= around[0] && x.key <= around[1])) {
        for (const unit of ['admin1', 'admin2', 'admin3']) {
          const res = await residents(engine, p, unit);
          for (const def of CATALOG) {
            const r = await computeIndicator(engine, def.id, p, unit, { disclosure });
            const step = def.rounding === 'people' ? 100 : 10;
            for (const v of r.values ?? []) {
              if (v.value === null) continue;
              checked.values++;
              if (def.rounding !== 'density') {
                expect(Math.abs(v.value), `${def.id} ${unit} ${p.key} ${v.pcod}`).toBeGreaterThan(15);
              }
              expect(Math.abs(v.value) % step, `${def.id} ${v.pcod} rounded to ${step}`).toBe(0);
              expect(res.get(v.pcod) ?? 0, `${def.id} ${v.pcod} above the floor`).toBeGreaterThanOrEqual(FLOOR);
            }
            for (const f of r.flows ?? []) {
              checked.flows++;
              expect(f.value).toBeGreaterThan(15);
              expect(f.value % 10).toBe(0);
              expect(f.pcod_from).not.toBe(f.pcod_to);
              expect(res.get(f.pcod_from) ?? 0).toBeGreaterThanOrEqual(FLOOR);
              expect(res.get(f.pcod_to) ?? 0).toBeGreaterThanOrEqual(FLOOR);
            }
          }
        }
      }
    }
    console.log('published values checked:', checked);
    expect(checked.values).toBeGreaterThan(100);
    expect(checked.flows).toBeGreaterThan(5);
  });

  it('the default floor (200) withholds the small admin2 regions', async () => {
    const w = periods(engine, 'week')[0]!;
    const res = await residents(engine, w, 'admin2');
    const r = await computeIndicator(engine, 'residents.count', w, 'admin2');
    for (const v of r.values!) {
      if ((res.get(v.pcod) ?? 0) < 200) expect(v.value).toBeNull();
      else expect(v.value).not.toBeNull();
    }
    expect(r.withheld['resident-floor'] ?? 0).toBeGreaterThan(0);
  });
});

describe('trips, movements, presence, scaling and abnormality on the sample', () => {
  it('trips_in/out are the thresholded sums of the unredacted daily OD, not sums of redacted flows', async () => {
    const w = periods(engine, 'week')[1]!;
    const none = { residentFloor: 0, rounding: { people: 1, relocations: 1, density: 1, difference: 1 } };
    const tin = await computeIndicator(engine, 'presence.trips_in', w, 'admin2', { disclosure: none });
    const mov = await computeIndicator(engine, 'movements.od', w, 'admin2', { disclosure: none });
    // Summing the engine's redacted daily flows gives less (or equal) everywhere, less somewhere.
    const redactedSum = new Map<string, number>();
    for (const s of tin.metadata.specs) {
      const r = await engine.run(s.spec);
      for (const row of r.rows) if (row.pcod_from !== row.pcod_to) redactedSum.set(String(row.pcod_to), (redactedSum.get(String(row.pcod_to)) ?? 0) + Number(row.value));
    }
    let more = 0;
    for (const v of tin.values!) {
      if (v.value === null) continue;
      expect(v.value).toBeGreaterThanOrEqual(redactedSum.get(v.pcod) ?? 0);
      if (v.value > (redactedSum.get(v.pcod) ?? 0)) more++;
    }
    expect(more).toBeGreaterThan(0);
    // The stricter trip support: a sum must exceed k x 7 day pairs.
    const strict = await computeIndicator(engine, 'movements.od', w, 'admin2', { disclosure: { ...none, tripSupport: 'distinct-lower-bound' } });
    expect(strict.flows!.length).toBeLessThan(mov.flows!.length);
    for (const f of strict.flows!) expect(f.value).toBeGreaterThan(15 * 7);
    // Movements into a region never exceed trips_in (pairs below k are withheld).
    for (const v of tin.values!) {
      const into = mov.flows!.filter((f) => f.pcod_to === v.pcod).reduce((s, f) => s + f.value, 0);
      if (v.value !== null) expect(into).toBeLessThanOrEqual(v.value);
    }
  });

  it('presence and residents scale to people with bounds and the factor in metadata', async () => {
    // The baseline is the store's first week; W06 is after the move.
    const w0 = periods(engine, 'week')[0]!;
    const w2 = weekOf();
    const r0 = await computeIndicator(engine, 'residents.count', w0, 'admin2', { disclosure, scale: true });
    const r2 = await computeIndicator(engine, 'residents.count', w2, 'admin2', { disclosure, scale: true });
    const struck = regionsOf(engine, 'admin2').find((r) => r.pcod === STRUCK)!;
    expect(r0.metadata.scaling!.factors[STRUCK]).toBeGreaterThan(1);
    expect(r0.unit).toBe('people');
    // No factor is stated (or used) for a region that could not be published itself.
    const base = await residents(engine, w0, 'admin2');
    for (const [pcod, f] of Object.entries(r0.metadata.scaling!.factors)) {
      if ((base.get(pcod) ?? 0) < FLOOR) expect(f, pcod).toBeNull();
      else expect(f, pcod).not.toBeNull();
    }
    const v0 = r0.values!.find((v) => v.pcod === STRUCK)!;
    // At the baseline the scaled residents are the census population, rounded.
    expect(Math.abs(v0.value! - struck.population!)).toBeLessThanOrEqual(50);
    expect(v0.lower!).toBeLessThan(v0.value!);
    expect(v0.upper!).toBeGreaterThan(v0.value!);
    const v2 = r2.values!.find((v) => v.pcod === STRUCK)!;
    expect(v2.value! / v0.value!).toBeLessThan(1 - SHARE + 0.08);
    const pres = await computeIndicator(engine, 'presence.per_km2', w0, 'admin2', { disclosure, scale: true });
    expect(pres.values!.find((v) => v.pcod === STRUCK)!.value).toBeGreaterThan(0);
  });

  /** XX0405's daily residents (admin2, rounded to 10) on the days before the disaster and on `days`. */
  async function dailyStruck(days: string[]) {
    const pre = periods(engine, 'day').filter((p) => p.start < DISASTER);
    const out = [];
    for (const p of [...pre, ...days.map((d) => period(engine, 'day', d))]) {
      const r = await computeIndicator(engine, 'residents.count', p, 'admin2', { disclosure: { ...disclosure, rounding: { people: 10 } } });
      out.push({ start: p.start, value: valueOf(r, STRUCK) });
    }
    return out;
  }

  it('abnormality needs 90 days of history: 2016-03-31 has them, the day before has not', async () => {
    const series = await dailyStruck(['2016-03-30', '2016-03-31']);
    const pre = series.filter((s) => s.start < DISASTER);
    const [d30, d31] = series.slice(-2) as [(typeof series)[number], (typeof series)[number]];
    // By hand: 2016-01-01 to 2016-03-30 is 31 + 29 + 29 = 89 days; to 2016-03-31, 90.
    expect(abnormality(d30.value, d30.start, pre)).toMatchObject({ withheld: 'short-history', historyDays: 89 });
    const score = abnormality(d31.value, d31.start, pre);
    console.log('XX0405 daily residents before the disaster:', pre.map((s) => s.value).join(' '), '; 2016-03-31:', d31.value, score);
    expect(score.historyDays).toBe(90);
    // After the move the struck region scores strongly negative against the 38 days before it.
    expect(score.score).not.toBeNull();
    expect(score.score!).toBeLessThan(-3);
  });

  it('abnormality (history floor lowered) is high in XX0405 and its neighbours, near zero elsewhere', async () => {
    const exact = { residentFloor: FLOOR, rounding: { people: 1 } };
    // A week after the disaster, against the 38 days before it (history 45 days: the floor is lowered to 5).
    const pre = [];
    for (const p of periods(engine, 'day').filter((x) => x.start < DISASTER)) pre.push(await computeIndicator(engine, 'residents.count', p, 'admin2', { disclosure: exact }));
    const last = await computeIndicator(engine, 'residents.count', period(engine, 'day', '2016-02-15'), 'admin2', { disclosure: exact });
    const scores = compareResults([...pre, last], pre, { minHistoryDays: 5 });
    const struck = scores.find((s) => s.pcod === STRUCK)!;
    expect(struck.abnormality.score!).toBeLessThan(-5);
    expect(struck.percent_change!).toBeLessThan(-25);
    const near = neighbours(STRUCK);
    const others = scores.filter((s) => s.pcod !== STRUCK && !near.has(s.pcod) && s.abnormality.score !== null).map((s) => Math.abs(s.abnormality.score!));
    const nearScores = scores.filter((s) => near.has(s.pcod) && s.abnormality.score !== null).map((s) => s.abnormality.score!);
    console.log('abnormality, 2016-02-15 vs the 38 days before the disaster: XX0405', struck.abnormality.score, 'neighbours', nearScores, 'others |score|', others);
    expect(others.length).toBeGreaterThan(3);
    // Elsewhere the day-to-day noise of a few hundred residents: median |score| small.
    others.sort((a, b) => a - b);
    expect(others[others.length >> 1]!).toBeLessThan(2);
    expect(Math.max(...nearScores)).toBeGreaterThan(2);
  });

  it('the internal OD sums agree with the engine\'s own flows above the threshold', async () => {
    const w = weekOf();
    const spec = relocationSpec(w, 'admin2')!;
    const od = await thresholdedOdSums(engine, [spec], 'admin2', 15);
    const r = await engine.run(spec);
    const published = new Map(r.rows.filter((x) => x.pcod_from !== x.pcod_to).map((x) => [`${x.pcod_from}\t${x.pcod_to}`, Number(x.value)]));
    expect(new Map(od.pairs)).toEqual(published);
    for (const v of [...od.pairs.values(), ...od.inflow.values(), ...od.outflow.values()]) expect(v).toBeGreaterThan(15);
    await expect(thresholdedOdSums(engine, [spec], 'admin2', 10)).rejects.toThrow(/below/);
  });
});
