/**
 * Issue #13's plain differencing attack, rerun against DP answers. Two stores
 * differ in one planted subscriber, seen on one day only (2016-01-15, at the
 * sample's first cell). The attacker asks unique_subscriber_counts over two
 * windows one day apart and subtracts them; knowing everyone else exactly (the
 * worst case), they say "present" when the difference in the cell's region
 * exceeds the other subscribers' difference by more than 1/2.
 *
 * Criterion: over T trials (T server secrets), the attacker's advantage
 * (true-positive rate minus false-positive rate) is within 4 standard errors
 * of the best any test can do against this noise, 2 Phi(1 / (2 sqrt(2) sigma)) - 1
 * (the difference of two answers carries two independent noises of
 * parameter sigma^2 = regions / rho), which at rho = 0.1 is about 0.04: no
 * better than chance within 0.04 + 4 SE. Under threshold redaction the same
 * attack succeeds every time (advantage 1), which shows the test has the
 * power to see a leak.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import { finalSigma2 } from '../../server/privacy/dp/mechanism.js';
import { ingestWithTestKey, oneDayDelivery, SAMPLE } from '../service/helpers.js';

const RHO = 0.1;
const TRIALS = 150;
const window = (end: string) => ({ query_kind: 'unique_subscriber_counts', start_date: '2016-01-08', end_date: end, aggregation_unit: 'admin1' });

/** Phi, the standard normal CDF (Abramowitz and Stegun 7.1.26 through erf; error < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

describe('plain differencing of two windows one day apart', () => {
  let root: string;
  const engines: Record<'without' | 'with', Engine> = {} as never;
  let region: string;
  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-attack-'));
    for (const [name, subscribers] of [['without', 40], ['with', 41]] as const) {
      const store = path.join(root, name);
      await ingestWithTestKey(SAMPLE, store);
      const day = path.join(root, `${name}-day`);
      // 40 (or 41: the planted one) subscribers seen on 2016-01-15 only, at the sample's first cell.
      oneDayDelivery(day, '2016-01-15', subscribers, 900_000);
      await ingestWithTestKey(day, store);
      // No result cache: every trial runs the query again under its own secret.
      engines[name] = Engine.open(store, { partitions: 8, cacheEntries: 0 });
    }
    // The region of the planted subscriber: the one whose exact difference grows by one.
    const diff = async (e: Engine) => {
      const a = await e.run(window('2016-01-15'));
      const b = await e.run(window('2016-01-16'));
      const before = new Map(a.rows.map((r) => [String(r.pcod), Number(r.value)]));
      return new Map(b.rows.map((r) => [String(r.pcod), Number(r.value) - (before.get(String(r.pcod)) ?? 0)]));
    };
    const d0 = await diff(engines.without);
    const d1 = await diff(engines.with);
    const grew = [...d1].filter(([pcod, v]) => v !== (d0.get(pcod) ?? 0));
    expect(grew).toEqual([[grew[0]![0], (d0.get(grew[0]![0]) ?? 0) + 1]]);
    region = grew[0]![0];
  }, 120_000);
  afterAll(async () => {
    for (const e of Object.values(engines)) await e.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('finds the planted subscriber every time under threshold redaction (the leak the issue reports)', async () => {
    const seen = async (e: Engine) => {
      const a = await e.run(window('2016-01-15'));
      const b = await e.run(window('2016-01-16'));
      const v = (r: typeof a, pcod: string) => Number(r.rows.find((x) => x.pcod === pcod)?.value ?? 0);
      return v(b, region) - v(a, region);
    };
    expect((await seen(engines.with)) - (await seen(engines.without))).toBe(1);
  });

  it(`gives the attacker no more than the noise allows under DP (rho ${RHO} per query, ${TRIALS} trials)`, async () => {
    const exactWithout = await (async () => {
      const a = await engines.without.run(window('2016-01-15'));
      const b = await engines.without.run(window('2016-01-16'));
      const v = (r: typeof a) => Number(r.rows.find((x) => x.pcod === region)?.value ?? 0);
      return v(b) - v(a);
    })();
    const guesses = { without: 0, with: 0 };
    for (let t = 0; t < TRIALS; t++) {
      const secret = createHash('sha256').update(`trial ${t}`).digest();
      for (const name of ['without', 'with'] as const) {
        // k far below any value: the attacker sees every noisy cell (thresholding would only hide more).
        const protection = { mode: 'dp' as const, secret, rho: RHO, k: -1e12, delta: 1e-9 };
        const a = await engines[name].run(window('2016-01-15'), { protection });
        const b = await engines[name].run(window('2016-01-16'), { protection });
        const v = (r: typeof a) => Number(r.rows.find((x) => x.pcod === region)!.value);
        if (v(b) - v(a) > exactWithout + 0.5) guesses[name]++;
      }
    }
    const advantage = (guesses.with - guesses.without) / TRIALS;
    const regions = engines.with.loaded.units.space('admin1').size;
    const sigma = Math.sqrt(finalSigma2(RHO, regions));
    const best = 2 * phi(1 / (2 * Math.SQRT2 * sigma)) - 1;
    const se = Math.sqrt((2 * 0.25) / TRIALS);
    expect(best).toBeLessThan(0.1);
    expect(advantage).toBeLessThan(best + 4 * se);
  }, 120_000);
});
