/**
 * OPAL indicators under differential privacy (issue #13, "Indicators under DP"),
 * against an independent computation: each published value is the exact
 * (unredacted) count plus the discrete Gaussian noise drawn from the
 * publication's own keyed stream (family, period, unit, day signature),
 * thresholded on the NOISY value; the same publication gives the same values
 * to every caller; different periods draw independent noise whose variance is
 * the stated one; comparisons use the noised values.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import {
  compareResults,
  computeIndicator,
  dailyOdSpecs,
  daySignature,
  type IndicatorDp,
  IndicatorCache,
  type Period,
  periods,
  presenceSpec,
  residentsSpec,
} from '../../server/indicators/index.js';
import { interval95, noiseVector, stddevOf } from '../../server/privacy/dp/mechanism.js';
import { buildFixture } from '../engine/fixtures.js';

const SECRET = Buffer.alloc(32, 7);
const UNIT = 'admin1';
const REGIONS = ['R0', 'R1', 'R2', 'R3'];
/** Publish integers and no resident floor, so that a value is exactly count + noise. */
const EXACT = { residentFloor: 0, rounding: { people: 1, relocations: 1, density: 1, difference: 1 } };
const dpOf = (rho: number, k = 15): IndicatorDp => ({ secret: SECRET, rho, k, delta: 1e-9 });
const keyOf = (engine: Engine, family: string, p: Period) => JSON.stringify(['opal-indicator/v1', family, p.resolution, p.key, UNIT, daySignature(engine, p)]);

describe('indicators under differential privacy', () => {
  let dir: string;
  let engine: Engine;
  let days: Period[];
  /** Exact counts by p-code: the engine's threshold-mode run (a region at or below 15 is absent; tests use the known ones). */
  const exact = async (spec: Record<string, unknown>) => {
    const r = await engine.run(spec);
    return new Map(r.rows.map((row) => [String(row.pcod), Number(row.value)]));
  };
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-dpind-'));
    buildFixture(dir, { subs: 800, days: 24, seed: 5 });
    engine = Engine.open(dir, { partitions: 4 });
    days = periods(engine, 'day');
  });
  afterAll(async () => {
    await engine?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publishes residents as the exact count plus the publication-keyed noise, with the DP statement', async () => {
    const p = days[3]!;
    const rho = 0.5;
    const r = await computeIndicator(engine, 'residents.count', p, UNIT, { dp: dpOf(rho), disclosure: EXACT });
    const ex = await exact(residentsSpec(p, UNIT));
    expect(ex.size).toBe(4); // every region's exact count is known on this day
    // Residents: one home per subscriber, contribution bound 1: sigma^2 = 1 / (2 rho) = 1.
    const noise = noiseVector(SECRET, keyOf(engine, 'residents', p), 'final', 4, 1);
    const expected = REGIONS.map((pcod, i) => ex.get(pcod)! + noise[i]!).map((v) => (v > 15 ? v : null));
    expect(r.values!.map((v) => v.value)).toEqual(expected);
    expect(r.privacy).toMatchObject({ mode: 'dp', k: 15, rho, delta: 1e-9, mechanism: 'discrete_gaussian', interval95: interval95(1) });
    expect(r.privacy!.scale).toBeCloseTo(stddevOf(1), 12);
    // Exact mode is untouched: threshold statement, exact counts.
    const t = await computeIndicator(engine, 'residents.count', p, UNIT, { disclosure: EXACT });
    expect(t.privacy).toBeUndefined();
    expect(t.values!.map((v) => v.value)).toEqual(REGIONS.map((pcod) => ex.get(pcod)!));
  });

  it('gives the same values twice, through separate caches (any token), at no new noise', async () => {
    const p = days[5]!;
    const a = await new IndicatorCache().get(engine, 'presence.count', p, UNIT, { dp: dpOf(0.1), disclosure: EXACT });
    const b = await new IndicatorCache().get(engine, 'presence.count', p, UNIT, { dp: dpOf(0.1), disclosure: EXACT });
    const c = await computeIndicator(engine, 'presence.count', p, UNIT, { dp: dpOf(0.1), disclosure: EXACT });
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    // And they are noisy: not the exact presence everywhere (sigma^2 = 3 regions / 0.2 = 15).
    const ex = await exact(presenceSpec(p, UNIT));
    expect(a.values!.some((v) => v.value !== ex.get(v.pcod))).toBe(true);
  });

  it('draws independent noise per period, with the variance the answer states, over many cells', async () => {
    // presence: a subscriber counts in its 3 most-visited regions (of 4): contribution bound 3, sigma^2 = 3 / (2 rho).
    const rho = 0.015; // sigma^2 = 100
    const residuals: number[] = [];
    const perPeriod: number[][] = [];
    let stated = 0;
    for (const p of days) {
      const r = await computeIndicator(engine, 'presence.count', p, UNIT, { dp: dpOf(rho), disclosure: EXACT });
      // The exact counts the publication noises: clipped to 3 regions per subscriber (test/privacy/dp-kinds.test.ts checks the clip).
      const [clipped] = await engine.dpVectors(presenceSpec(p, UNIT));
      const ex = new Map(REGIONS.map((pcod, i) => [pcod, clipped!.values[i]!]));
      stated = r.privacy!.scale!;
      const row: number[] = [];
      for (const v of r.values!) {
        if (v.value === null) continue; // withheld at k on the noisy value
        const e = v.value - ex.get(v.pcod)!;
        residuals.push(e);
        row.push(e);
      }
      perPeriod.push(row);
    }
    expect(stated).toBeCloseTo(stddevOf(100), 9);
    // 96 cells: the sample variance of n normal draws has relative standard error sqrt(2 / n) ~ 0.14; accept 3 of them.
    expect(residuals.length).toBeGreaterThan(80);
    const mean = residuals.reduce((s, x) => s + x, 0) / residuals.length;
    const variance = residuals.reduce((s, x) => s + (x - mean) ** 2, 0) / (residuals.length - 1);
    expect(Math.abs(variance / 100 - 1)).toBeLessThan(3 * Math.sqrt(2 / residuals.length));
    // Mean ~ 0 (standard error 10 / sqrt(96) ~ 1).
    expect(Math.abs(mean)).toBeLessThan(3.5);
    // Independent periods: consecutive periods' noise vectors are not the same, and their correlation is small.
    let same = 0;
    for (let i = 1; i < perPeriod.length; i++) if (JSON.stringify(perPeriod[i]) === JSON.stringify(perPeriod[i - 1])) same++;
    expect(same).toBe(0);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 1; i < perPeriod.length; i++) {
      if (perPeriod[i]!.length !== 4 || perPeriod[i - 1]!.length !== 4) continue;
      xs.push(...perPeriod[i - 1]!);
      ys.push(...perPeriod[i]!);
    }
    const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
    const my = ys.reduce((s, x) => s + x, 0) / ys.length;
    const cov = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0);
    const corr = cov / Math.sqrt(xs.reduce((s, x) => s + (x - mx) ** 2, 0) * ys.reduce((s, y) => s + (y - my) ** 2, 0));
    // ~90 pairs: standard error of a null correlation ~ 0.105.
    expect(Math.abs(corr)).toBeLessThan(0.35);
  });

  it('thresholds the noisy values, not the exact ones', async () => {
    const rho = 0.02; // sigma^2 = 25 for residents
    let publishedAtOrBelowK = 0;
    let withheldAboveK = 0;
    for (const p of days) {
      const ex = await exact(residentsSpec(p, UNIT));
      // k at the median of the exact counts: about half of the regions sit near it.
      const sorted = [...ex.values()].sort((a, b) => a - b);
      if (sorted.length < 2) continue;
      const k = Math.max(15, sorted[1]!);
      const r = await computeIndicator(engine, 'residents.count', p, UNIT, { dp: dpOf(rho, k), disclosure: { ...EXACT, k } });
      const noise = noiseVector(SECRET, keyOf(engine, 'residents', p), 'final', 4, 25);
      REGIONS.forEach((pcod, i) => {
        if (!ex.has(pcod)) return; // at or below 15 in threshold mode: its exact count is not known here
        const noisy = ex.get(pcod)! + noise[i]!;
        const v = r.values!.find((x) => x.pcod === pcod)!;
        expect(v.value).toBe(noisy > k ? noisy : null);
        if (v.value === null) expect(v.withheld).toBe('threshold');
        if (v.value !== null && ex.get(pcod)! <= k) publishedAtOrBelowK++;
        if (v.value === null && ex.get(pcod)! > k) withheldAboveK++;
      });
    }
    // The decision followed the noise both ways at least once (with exact thresholding both would be 0).
    expect(publishedAtOrBelowK + withheldAboveK).toBeGreaterThan(0);
  });

  it('noises movements with the day-pair contribution bound, and thresholds the noisy pair sums', async () => {
    const week = periods(engine, 'week')[1]!;
    const rho = 0.5;
    const r = await computeIndicator(engine, 'movements.od', week, UNIT, { dp: dpOf(rho), disclosure: EXACT });
    const pairs = week.days.length; // each day of a full week has its previous day stored
    expect(pairs).toBe(7);
    // One subscriber makes at most one trip per day pair: L2 sensitivity 7, sigma^2 = 49 / (2 rho).
    expect(r.privacy!.scale).toBeCloseTo(stddevOf(49), 9);
    // The exact sums from the daily ODs (threshold-mode flows): a pair is checked where every day's count was
    // published (> 15), so that its exact sum is known; the others only for being withheld or published on the noisy value.
    const od = new Map<string, number>();
    const seen = new Map<string, number>();
    for (const spec of dailyOdSpecs(week, UNIT)) {
      const f = await engine.run(spec);
      for (const row of f.rows) {
        const key = `${row.pcod_from}\t${row.pcod_to}`;
        od.set(key, (od.get(key) ?? 0) + Number(row.value));
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
    const noise = noiseVector(SECRET, keyOf(engine, 'movements.od', week), 'final', 12, 49);
    let at = 0;
    let checked = 0;
    for (const a of REGIONS) {
      for (const b of REGIONS) {
        if (a === b) continue;
        const key = `${a}\t${b}`;
        const published = r.flows!.find((f) => f.pcod_from === a && f.pcod_to === b);
        const n = noise[at++]!;
        if (seen.get(key) !== pairs) continue;
        checked++;
        const v = od.get(key)! + n;
        expect([key, published?.value ?? null]).toEqual([key, v > 15 ? v : null]);
      }
    }
    expect(checked).toBeGreaterThan(3);
    expect(r.withheld.threshold ?? 0).toBe(12 - r.flows!.length);
  });

  it('computes diff, percent change and abnormality from the noised values', async () => {
    const rho = 0.02;
    const series = [];
    for (const p of days.slice(0, 8)) series.push(await computeIndicator(engine, 'residents.count', p, UNIT, { dp: dpOf(rho), disclosure: EXACT }));
    const exactSeries = [];
    for (const p of days.slice(0, 8)) exactSeries.push(await computeIndicator(engine, 'residents.count', p, UNIT, { disclosure: EXACT }));
    const cmp = compareResults(series, [series[0]!], { disclosure: EXACT });
    const cmpExact = compareResults(exactSeries, [exactSeries[0]!], { disclosure: EXACT });
    let differs = 0;
    for (const c of cmp) {
      const last = series.at(-1)!.values!.find((v) => v.pcod === c.pcod)!.value;
      const ref = series[0]!.values!.find((v) => v.pcod === c.pcod)!.value;
      expect(c.value).toBe(last);
      expect(c.reference).toBe(ref);
      expect(c.diff).toBe(last! - ref!);
      if (c.diff !== cmpExact.find((x) => x.pcod === c.pcod)!.diff) differs++;
    }
    // The noise shows in the comparison (sigma 5 on each term): it is not the exact one.
    expect(differs).toBeGreaterThan(0);
  });

  it('computes delta_arrived from the noisy arrived and departed publications, paying both', async () => {
    const p = periods(engine, 'week')[2]!;
    const dp = dpOf(0.5);
    const arrived = await computeIndicator(engine, 'residents.arrived', p, UNIT, { dp, disclosure: EXACT });
    const departed = await computeIndicator(engine, 'residents.departed', p, UNIT, { dp, disclosure: EXACT });
    const delta = await computeIndicator(engine, 'residents.delta_arrived', p, UNIT, { dp, disclosure: EXACT });
    for (const v of delta.values!) {
      const a = arrived.values!.find((x) => x.pcod === v.pcod)!.value;
      const d = departed.values!.find((x) => x.pcod === v.pcod)!.value;
      if (a === null || d === null) expect(v.value).toBeNull();
      else expect(v.value).toBe(Math.abs(a - d) > 15 ? a - d : null);
    }
    // Two publications: rho doubled, variance doubled (sigma^2 = 1 each).
    expect(delta.privacy).toMatchObject({ rho: 1, interval95: interval95(2) });
  });
});
