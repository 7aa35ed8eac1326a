/**
 * Indicator publications under DP over their life (issue #13, item 1 of the
 * second half): a period still filling is not published to DP tiers, so the
 * daily re-publications of one period cannot be averaged below the interval
 * each states; every publication is charged once to the publisher's ledger
 * against a cap per data period, and one past the cap is withheld (`budget`),
 * never noised more weakly; `opalite audit budget` shows that spending.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import { computeIndicator, type IndicatorDp, periodOf, periods, residentsSpec } from '../../server/indicators/index.js';
import { Accountant, publisherSummary } from '../../server/privacy/dp/accountant.js';
import { buildFixture } from '../engine/fixtures.js';

const SECRET = Buffer.alloc(32, 9);
const UNIT = 'admin1';
/** Integers, no resident floor: a published value is exactly count + noise. */
const EXACT = { residentFloor: 0, rounding: { people: 1, relocations: 1, density: 1, difference: 1 } };
const dpOf = (rho: number, publisher?: IndicatorDp['publisher']): IndicatorDp => ({ secret: SECRET, rho, k: 15, delta: 1e-9, ...(publisher ? { publisher } : {}) });

/** The 1% quantile of chi-square with n degrees of freedom (Wilson-Hilferty; within 2% of the table for n >= 5). */
function chi2Quantile01(n: number): number {
  const z = -2.3263;
  return n * (1 - 2 / (9 * n) + z * Math.sqrt(2 / (9 * n))) ** 3;
}

describe('indicator publications over their life', () => {
  let dir: string;
  let engine: Engine;
  let storeDays: string[];
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-dppub-'));
    buildFixture(dir, { subs: 800, days: 24, seed: 11 }); // 2016-01-01 (Friday) to 2016-01-24 (Sunday)
    engine = Engine.open(dir, { partitions: 4 });
    storeDays = engine.store.days();
  });
  afterAll(async () => {
    await engine?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives an attacker who averages the daily re-publications of a filling week nothing better than one publication', async () => {
    // The attacker reads residents.count of each ISO week every day as the store grows (the store holding its
    // first n days, n = 1..24: the week as the live service sees it that day), averages what each region's
    // publications say, and compares with the complete week's exact count. sigma^2 = 1 / (2 rho) = 10,000.
    // Criterion: the squared errors of the attacker's estimates, in units of the stated variance, sum to at least
    // the 1% quantile of chi-square(cells), the least they would sum to with ONE draw of the stated noise per cell.
    // Averaging the 7 daily re-publications of a week (each a fresh draw) would divide that sum by about 7.
    const rho = 0.00005;
    const weeks = periods(engine, 'week').filter((w) => w.days.length === 7); // 2016-W01 to W03
    expect(weeks.map((w) => w.key)).toEqual(['2016-W01', '2016-W02', '2016-W03']);
    let sum = 0;
    let cells = 0;
    let draws = 0;
    let stated = 0;
    for (const week of weeks) {
      const seen = new Map<string, number[]>();
      for (let n = 1; n <= storeDays.length; n++) {
        const days = storeDays.slice(0, n);
        if (!days.includes(week.days[0]!)) continue;
        const asSeen = periodOf(days, 'week', week.days[0]!);
        const r = await computeIndicator(engine, 'residents.count', asSeen, UNIT, { dp: dpOf(rho), disclosure: EXACT });
        if (r.privacy?.scale) stated = r.privacy.scale;
        for (const v of r.values!) {
          if (v.value === null) continue;
          if (!seen.has(v.pcod)) seen.set(v.pcod, []);
          seen.get(v.pcod)!.push(v.value);
        }
      }
      const exact = await engine.run(residentsSpec(week, UNIT)); // threshold mode: every region here is above 15
      expect(exact.rows).toHaveLength(4);
      for (const row of exact.rows) {
        const published = seen.get(String(row.pcod)) ?? [];
        if (published.length === 0) continue; // its one publication fell at or below k: nothing to average
        // Once complete, the week is the same publication every later day: the attacker averages the distinct ones.
        const distinct = [...new Set(published)];
        draws += distinct.length;
        const estimate = distinct.reduce((a, b) => a + b, 0) / distinct.length;
        sum += (estimate - Number(row.value)) ** 2 / stated ** 2;
        cells++;
      }
    }
    expect(cells).toBeGreaterThanOrEqual(8); // of 12: a publication at or below k leaves nothing to average
    // One draw per region and week over the week's whole life: the complete week's.
    expect(draws).toBe(cells);
    expect(sum).toBeGreaterThan(chi2Quantile01(cells));
  });

  it('withholds a filling period under DP with a reason, and leaves threshold mode and complete periods alone', async () => {
    const firstTen = storeDays.slice(0, 10); // through Sunday 2016-01-10: W01 complete; 2016-01 still filling
    const week = periodOf(firstTen, 'week', '2016-01-04');
    const month = periodOf(firstTen, 'month', '2016-01-01');
    const filling = await computeIndicator(engine, 'presence.count', month, UNIT, { dp: dpOf(0.5), disclosure: EXACT });
    expect(filling.values!.map((v) => [v.value, v.withheld])).toEqual([
      [null, 'incomplete'],
      [null, 'incomplete'],
      [null, 'incomplete'],
      [null, 'incomplete'],
    ]);
    expect(filling.withheld).toEqual({ incomplete: 4 });
    expect(filling.privacy).toEqual({ mode: 'dp', k: 15 });
    expect(filling.metadata.notes.join(' ')).toMatch(/month 2016-01 is still filling \(stored through 2016-01-10, ends 2016-02-01\)/);
    const od = await computeIndicator(engine, 'movements.od', month, UNIT, { dp: dpOf(0.5), disclosure: EXACT });
    expect(od.flows).toEqual([]);
    expect(od.withheld).toEqual({ incomplete: 12 });
    // The complete week is published; threshold mode publishes the filling month's exact counts.
    const done = await computeIndicator(engine, 'presence.count', week, UNIT, { dp: dpOf(0.5), disclosure: EXACT });
    expect(done.values!.every((v) => v.value !== null)).toBe(true);
    const exact = await computeIndicator(engine, 'presence.count', month, UNIT, { disclosure: EXACT });
    expect(exact.values!.every((v) => v.value !== null)).toBe(true);
    // A scaled indicator needs its baseline complete too: here the store's first week (Friday 1 to Sunday 3 January) is.
    const scaled = await computeIndicator(engine, 'residents.count', week, UNIT, { dp: dpOf(0.5), disclosure: EXACT, scale: true });
    expect(scaled.withheld.incomplete).toBeUndefined();
  });

  it("charges each publication once to the publisher's ledger, and withholds one past the cap", async () => {
    const ledgerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-publedger-'));
    try {
      const file = path.join(ledgerDir, 'budget.jsonl');
      const accountant = new Accountant(file);
      // A cap of 1.5 at rho 0.5: three publications per data period.
      const dp = dpOf(0.5, { accountant, cap: 1.5 });
      const day = periods(engine, 'day')[5]!;
      const week = periods(engine, 'week')[1]!;
      // residents.count reads one publication (residents); presence.count a second (presence); asked again, nothing new.
      const residents = await computeIndicator(engine, 'residents.count', day, UNIT, { dp, disclosure: EXACT });
      expect(residents.values!.some((v) => v.value !== null)).toBe(true);
      await computeIndicator(engine, 'presence.count', day, UNIT, { dp, disclosure: EXACT });
      await computeIndicator(engine, 'presence.count', day, UNIT, { dp, disclosure: EXACT });
      expect(accountant.publisherSpent(`day ${day.key}`)).toBe(1);
      // delta_arrived reads residents (paid) and two more (arrived, departed): 2 > the 0.5 left. Withheld, nothing charged.
      const delta = await computeIndicator(engine, 'residents.delta_arrived', day, UNIT, { dp, disclosure: EXACT });
      expect(delta.values!.map((v) => v.withheld)).toEqual(['budget', 'budget', 'budget', 'budget']);
      expect(delta.privacy).toEqual({ mode: 'dp', k: 15 });
      expect(delta.metadata.notes.join(' ')).toMatch(/publisher's budget for day 2016-01-06 \(rho 1.5 per period\)/);
      expect(accountant.publisherSpent(`day ${day.key}`)).toBe(1);
      // arrived alone fits (1.5); another data period has its own cap.
      const arrived = await computeIndicator(engine, 'residents.arrived', day, UNIT, { dp, disclosure: EXACT });
      expect(arrived.withheld.budget).toBeUndefined();
      expect(accountant.publisherSpent(`day ${day.key}`)).toBe(1.5);
      await computeIndicator(engine, 'presence.count', week, UNIT, { dp, disclosure: EXACT });
      expect(accountant.publisherSpent(`week ${week.key}`)).toBe(1);
      // Token subjects never see the publisher's spending, and a restart reads it back.
      expect(accountant.spent('(publisher)', `day ${day.key}`)).toBe(0);
      accountant.close();
      const again = new Accountant(file);
      expect(again.publisherSpent(`day ${day.key}`)).toBe(1.5);
      again.close();
      expect(publisherSummary(file)).toEqual([
        { period: `day ${day.key}`, unit: UNIT, family: 'presence', publications: 1, rho: 0.5, periodRho: 1.5 },
        { period: `day ${day.key}`, unit: UNIT, family: 'residents', publications: 1, rho: 0.5, periodRho: 1.5 },
        { period: `day ${day.key}`, unit: UNIT, family: 'residents.arrived', publications: 1, rho: 0.5, periodRho: 1.5 },
        { period: `week ${week.key}`, unit: UNIT, family: 'presence', publications: 1, rho: 0.5, periodRho: 1 },
        { period: `week ${week.key}`, unit: UNIT, family: 'residents', publications: 1, rho: 0.5, periodRho: 1 },
      ]);
    } finally {
      fs.rmSync(ledgerDir, { recursive: true, force: true });
    }
  });

  it('charges a period again when its data changed after it was published, and withholds it past the cap', async () => {
    // A correction (a day re-ingested) gives the period a new day signature, so a new noise key: a new
    // publication. Here the earlier publications are in the ledger under keys of the old data.
    const ledgerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-publedger-'));
    try {
      const file = path.join(ledgerDir, 'budget.jsonl');
      const week = periods(engine, 'week')[2]!;
      const old = (family: string) => ({ sub: '(publisher)', period: `week ${week.key}`, query_id: `before-correction-${family}`, rho: 0.5, at: '2026-12-07T00:00:00.000Z', tier: '(indicators)', publication: { family, resolution: 'week', period: week.key, unit: UNIT } });
      fs.writeFileSync(file, [old('residents'), old('presence')].map((e) => JSON.stringify(e) + '\n').join(''));
      const accountant = new Accountant(file);
      const withheld = await computeIndicator(engine, 'presence.count', week, UNIT, { dp: dpOf(0.5, { accountant, cap: 1.5 }), disclosure: EXACT });
      expect(withheld.withheld).toEqual({ budget: 4 });
      const published = await computeIndicator(engine, 'presence.count', week, UNIT, { dp: dpOf(0.5, { accountant, cap: 2 }), disclosure: EXACT });
      expect(published.withheld.budget).toBeUndefined();
      expect(accountant.publisherSpent(`week ${week.key}`)).toBe(2);
      accountant.close();
      expect(publisherSummary(file).map((r) => [r.family, r.publications, r.rho, r.periodRho])).toEqual([
        ['presence', 2, 1, 2],
        ['residents', 2, 1, 2],
      ]);
      // `opalite audit budget` prints the publisher's spending after the tokens'.
      expect(fs.existsSync('dist/server/cli/main.js'), 'run npm run build first').toBe(true);
      const out = execFileSync(process.execPath, ['dist/server/cli/main.js', 'audit', 'budget', file], { stdio: 'pipe' }).toString();
      expect(out.trim().split('\n')).toEqual([
        'subject  tier  period  queries  rho spent',
        '',
        "indicator publications (the publisher's own spending)",
        'data period    unit    publication  publications  rho spent  period total',
        `week ${week.key}  admin1  presence                2     1.0000        2.0000`,
        `week ${week.key}  admin1  residents               2     1.0000        2.0000`,
      ]);
    } finally {
      fs.rmSync(ledgerDir, { recursive: true, force: true });
    }
  });
});
