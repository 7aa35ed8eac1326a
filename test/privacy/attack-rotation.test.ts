/**
 * Attack: fresh noise for free after the DP secret changes.
 *
 * The ledger charged a token once per query id and the publisher once per publication key, and neither named the
 * secret the noise is keyed by. After the operator rotates the secret (docs/PRIVACY.md warns it lets answers be
 * averaged) and restarts, the same query id (no kept result: the result cache off or evicted) and every indicator
 * publication (indicators are cached in memory only) were computed again with NEW noise, yet the ledger read them
 * as paid: a token averaged two independent draws of the same truth at the cost of one, and the publisher's
 * spending and cap did not see the second publication at all. After the fix a charge is keyed by the query id (or
 * the publication) and a fingerprint of the secret, so the new draw is paid for again, within the budget and the cap.
 *
 * Criterion: across a restart with a new secret, an answer whose values differ from one paid for before is charged
 * again (the token's `spent`, the publisher's rho for the period, both grow by one query's or publication's rho).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { publisherSummary } from '../../server/privacy/dp/accountant.js';
import { auth, dpTiers, runToCompletion, sampleStore, specs, startHarness } from '../service/helpers.js';

describe('attack: a rotated DP secret gives fresh noise without paying', () => {
  it('charges the token and the publisher again for answers drawn under a new secret', async () => {
    const root = await sampleStore();
    try {
      const t = dpTiers();
      t.premium!.privacy = { mode: 'dp', rho: 0.1, budget: { rho: 1, period: 'month' }, delta: 1e-9 };
      const ledger = path.join(root, 'ledger.jsonl');
      const secretA = path.join(root, 'secret-a.hex');
      const secretB = path.join(root, 'secret-b.hex');
      fs.writeFileSync(secretA, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
      fs.writeFileSync(secretB, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
      const start = (secret: string) =>
        startHarness(root, {
          tiers: t,
          tweak: (c) => {
            c.privacy.ledger = ledger;
            c.privacy.secretFile = secret;
            c.cache.maxBytes = 0; // no kept results: what an evicted one would be
          },
        });
      const indicator = '/indicators/residents.count?unit=admin3&resolution=week&period=2016-01-04';
      const ask = async (h: Awaited<ReturnType<typeof start>>) => {
        const token = await h.token('premium', { sub: 'rotation' });
        const id = await runToCompletion(h, token, specs.daily('admin3'));
        const got = (await (await fetch(`${h.api}/get/${id}`, { headers: auth(token) })).json()) as { query_result: { pcod: string; value: number }[]; privacy: { budget: { spent: number } } };
        const ind = (await (await fetch(`${h.api}${indicator}`, { headers: auth(token) })).json()) as { values: { pcod: string; value: number | null }[] };
        const publisher = publisherSummary(ledger).find((r) => r.period === 'week 2016-W01' && r.unit === 'admin3' && r.family === 'residents')!;
        return { id, rows: got.query_result, spent: got.privacy.budget.spent, indicator: ind.values, publisherRho: publisher.rho };
      };
      let h = await start(secretA);
      const before = await ask(h);
      await h.close();
      h = await start(secretB);
      try {
        const after = await ask(h);
        // The same query id, and new noise on the same truth: a second independent draw (the attacker averages them).
        expect(after.id).toBe(before.id);
        expect(after.rows).not.toEqual(before.rows);
        expect(after.indicator).not.toEqual(before.indicator);
        // Paid for: the token's spending grew by one query's rho (0.1), the publisher's by one publication's (0.5).
        expect(before.spent).toBeCloseTo(0.1, 12);
        expect(after.spent).toBeCloseTo(0.2, 12);
        expect(before.publisherRho).toBeCloseTo(0.5, 12);
        expect(after.publisherRho).toBeCloseTo(1.0, 12);
      } finally {
        await h.close();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);

  it('charges the publisher again when privacy.indicatorRho changes (a new noise scale is a new publication)', async () => {
    // The same class of hole: the publication's ledger key held neither the secret nor the rho, so a restart with a
    // larger indicatorRho redrew every publication with less noise at no recorded cost.
    const root = await sampleStore();
    try {
      const ledger = path.join(root, 'ledger.jsonl');
      const secret = path.join(root, 'secret.hex');
      fs.writeFileSync(secret, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
      const start = (rho: number) =>
        startHarness(root, {
          tiers: dpTiers(),
          tweak: (c) => {
            c.privacy.ledger = ledger;
            c.privacy.secretFile = secret;
            c.privacy.indicatorRho = rho;
          },
        });
      const indicator = '/indicators/residents.count?unit=admin3&resolution=week&period=2016-01-04';
      const ask = async (h: Awaited<ReturnType<typeof start>>) => {
        const token = await h.token('premium', { sub: 'rho-change' });
        const r = (await (await fetch(`${h.api}${indicator}`, { headers: auth(token) })).json()) as { values: unknown[]; privacy: { rho: number } };
        const publisher = publisherSummary(ledger).find((x) => x.period === 'week 2016-W01' && x.unit === 'admin3' && x.family === 'residents')!;
        return { values: r.values, rho: r.privacy.rho, publisherRho: publisher.rho };
      };
      let h = await start(0.5);
      const before = await ask(h);
      await h.close();
      h = await start(2);
      try {
        const after = await ask(h);
        expect([before.rho, after.rho]).toEqual([0.5, 2]);
        expect(after.values).not.toEqual(before.values);
        expect(before.publisherRho).toBeCloseTo(0.5, 12);
        expect(after.publisherRho).toBeCloseTo(2.5, 12);
      } finally {
        await h.close();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);
});
