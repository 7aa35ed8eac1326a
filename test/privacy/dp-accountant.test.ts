/**
 * The accountant on its own: periods of the UTC calendar, charges once per
 * query and period, all-or-none refusals, a ledger read back at start (a torn
 * last line tolerated), and `opalite audit budget` printing it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Accountant, BudgetError, ledgerSummary, periodOf } from '../../server/privacy/dp/accountant.js';

const month = { rho: 1, period: 'month' as const };

describe('periods', () => {
  it('cuts the UTC calendar into days, ISO weeks, months and years, with the next start', () => {
    const t = new Date('2026-12-31T23:59:59Z');
    expect(periodOf('day', t)).toEqual({ key: '2026-12-31', renews: new Date('2027-01-01T00:00:00Z') });
    expect(periodOf('month', t)).toEqual({ key: '2026-12', renews: new Date('2027-01-01T00:00:00Z') });
    expect(periodOf('year', t)).toEqual({ key: '2026', renews: new Date('2027-01-01T00:00:00Z') });
    // 2026-12-31 is a Thursday: ISO week 53 of 2026, which ends Sunday 2027-01-03.
    expect(periodOf('week', t)).toEqual({ key: '2026-W53', renews: new Date('2027-01-04T00:00:00Z') });
    // 2027-01-01 (Friday) is still in 2026-W53.
    expect(periodOf('week', new Date('2027-01-01T12:00:00Z')).key).toBe('2026-W53');
    expect(periodOf('week', new Date('2027-01-04T00:00:00Z')).key).toBe('2027-W01');
  });
});

describe('the accountant', () => {
  it('charges a query once per subject and period, and refuses all of a batch that does not fit', () => {
    const a = new Accountant(null);
    const now = new Date('2026-12-07T20:00:00Z');
    expect(a.charge('alice', 'premium', month, [{ queryId: 'q1', rho: 0.4 }], now)).toEqual({ spent: 0.4, remaining: 0.6, period: '2026-12', charged: true });
    expect(a.charge('alice', 'premium', month, [{ queryId: 'q1', rho: 0.4 }], now)).toMatchObject({ spent: 0.4, charged: false });
    // q1 again plus q2 and q3 (0.8 new) would pass 1: refused, nothing charged.
    expect(() => a.charge('alice', 'premium', month, [{ queryId: 'q1', rho: 0.4 }, { queryId: 'q2', rho: 0.4 }, { queryId: 'q3', rho: 0.4 }], now)).toThrow(BudgetError);
    expect(a.status('alice', month, now).spent).toBe(0.4);
    try {
      a.charge('alice', 'premium', month, [{ queryId: 'q2', rho: 0.4 }, { queryId: 'q3', rho: 0.4 }], now);
    } catch (e) {
      expect((e as BudgetError).code).toBe('PRIVACY_BUDGET');
      expect((e as BudgetError).message).toBe(
        'privacy budget of tier premium: expected a query costing at most the rho left, found rho 0.8 asked with 0.6 of 1 left for month 2026-12; it renews 2027-01-01T00:00:00.000Z',
      );
      // 24 days, 4 hours to the renewal.
      expect((e as BudgetError).retryAfter).toBe(24 * 86400 + 4 * 3600);
    }
    // Another subject, or the next month, starts afresh.
    expect(a.charge('bob', 'premium', month, [{ queryId: 'q2', rho: 0.4 }], now).spent).toBe(0.4);
    expect(a.charge('alice', 'premium', month, [{ queryId: 'q1', rho: 0.4 }], new Date('2027-01-01T00:00:00Z'))).toMatchObject({ spent: 0.4, period: '2027-01', charged: true });
  });

  it('counts a subject\'s spending under one tier against every tier it holds, whatever their periods', () => {
    // The attack: one subject with a monthly tier and a weekly one. Charged under week keys and month keys apart,
    // it spent both budgets in full (2 in all) where each tier promised at most 1 a month or a week.
    const week = { rho: 1, period: 'week' as const };
    const now = new Date('2026-12-07T20:00:00Z'); // a Monday: 2026-W50, month 2026-12
    const a = new Accountant(null);
    a.charge('alice', 'premium', month, [{ queryId: 'm1', rho: 0.75 }], now);
    expect(a.status('alice', week, now)).toMatchObject({ spent: 0.75, remaining: 0.25, period: '2026-W50' });
    expect(() => a.charge('alice', 'partner', week, [{ queryId: 'w1', rho: 0.5 }], now)).toThrow(BudgetError);
    a.charge('alice', 'partner', week, [{ queryId: 'w1', rho: 0.25 }], now);
    expect(a.status('alice', month, now).spent).toBe(1);
    // A week later the weekly tier renews; the month still holds both charges.
    const later = new Date('2026-12-14T09:00:00Z');
    expect(a.status('alice', week, later).spent).toBe(0);
    expect(() => a.charge('alice', 'premium', month, [{ queryId: 'm2', rho: 0.25 }], later)).toThrow(BudgetError);
    // The same holds after a restart: the ledger's entries are counted under every period their time falls in.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-ledger-'));
    try {
      const file = path.join(dir, 'budget.jsonl');
      const b = new Accountant(file);
      b.charge('bob', 'partner', week, [{ queryId: 'w1', rho: 0.6 }], now);
      b.close();
      const c = new Accountant(file);
      expect(c.status('bob', month, now).spent).toBe(0.6);
      expect(() => c.charge('bob', 'premium', month, [{ queryId: 'm1', rho: 0.5 }], now)).toThrow(BudgetError);
      c.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps its spending across a restart through the ledger, tolerating a torn last line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-ledger-'));
    try {
      const file = path.join(dir, 'budget.jsonl');
      const now = new Date('2026-12-07T20:00:00Z');
      const a = new Accountant(file);
      a.charge('alice', 'free', month, [{ queryId: 'q1', rho: 0.25 }, { queryId: 'q2', rho: 0.25 }], now);
      a.charge('bob', 'premium', month, [{ queryId: 'q1', rho: 0.5 }], now);
      a.close();
      fs.appendFileSync(file, '{"sub":"alice","per'); // a crash mid-write
      const b = new Accountant(file);
      expect(b.status('alice', month, now).spent).toBe(0.5);
      expect(b.charge('alice', 'free', month, [{ queryId: 'q2', rho: 0.25 }], now).charged).toBe(false);
      b.close();
      expect(ledgerSummary(file)).toEqual([
        { sub: 'alice', tier: 'free', period: '2026-12', queries: 2, rho: 0.5 },
        { sub: 'bob', tier: 'premium', period: '2026-12', queries: 1, rho: 0.5 },
      ]);
      // Damage elsewhere than the last line is reported with its line.
      fs.writeFileSync(file, 'garbage\n' + fs.readFileSync(file, 'utf8').split('\n').slice(0, 3).join('\n') + '\n');
      expect(() => new Accountant(file)).toThrow(/budget\.jsonl:1: expected a JSON ledger entry/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`opalite audit budget FILE` prints each subject\'s spending per period', () => {
    expect(fs.existsSync('dist/server/cli/main.js'), 'run npm run build first').toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-ledger-'));
    try {
      const file = path.join(dir, 'budget.jsonl');
      const a = new Accountant(file);
      a.charge('analyst@ministry', 'premium', month, [{ queryId: 'q1', rho: 0.1 }, { queryId: 'q2', rho: 0.1 }], new Date('2026-11-30T10:00:00Z'));
      a.charge('analyst@ministry', 'premium', month, [{ queryId: 'q1', rho: 0.1 }], new Date('2026-12-01T10:00:00Z'));
      a.close();
      const out = execFileSync(process.execPath, ['dist/server/cli/main.js', 'audit', 'budget', file], { stdio: 'pipe' }).toString();
      expect(out.trim().split('\n')).toEqual([
        'subject           tier     period   queries  rho spent',
        'analyst@ministry  premium  2026-11        2     0.2000',
        'analyst@ministry  premium  2026-12        1     0.1000',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
