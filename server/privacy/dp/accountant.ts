/**
 * The privacy budget: per token subject and calendar period, the zCDP rho
 * spent, against a per-tier allowance. A query is charged once per subject and
 * period: the same query id asked again (FlowKit's run, poll, get; a cached
 * result) returns the same noisy answer (its noise is keyed by the query id)
 * and so reveals nothing new, at no cost. zCDP composes by addition, so the
 * spending of a period is the sum of its charges.
 *
 * Spending survives a restart: every charge is appended to a ledger (JSON
 * lines) and fsynced before the answer leaves; the ledger is read back whole
 * at start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AuthError } from '../../errors.js';

export type BudgetPeriod = 'day' | 'week' | 'month' | 'year';
const PERIOD_KINDS: readonly BudgetPeriod[] = ['day', 'week', 'month', 'year'];

export interface Budget {
  /** rho a subject may spend per period. */
  rho: number;
  period: BudgetPeriod;
}

/** A refusal: the budget is spent (429-style, stable code PRIVACY_BUDGET). */
export class BudgetError extends AuthError {
  constructor(
    message: string,
    /** Seconds until the period renews. */
    readonly retryAfter: number,
  ) {
    super('PRIVACY_BUDGET', message);
  }
}

export interface Charge {
  /** rho spent in the period, this query included. */
  spent: number;
  remaining: number;
  /** The period's key: 2026-12 (month), 2026-W49 (week), 2026-12-07 (day), 2026 (year). */
  period: string;
  /** Whether this call charged (false: the query was charged before in this period). */
  charged: boolean;
}

interface LedgerEntry {
  sub: string;
  period: string;
  query_id: string;
  rho: number;
  at: string;
  tier: string;
  /** Set on the publisher's own spending (an indicator publication: publisher.ts); absent on a token's. */
  publication?: Publication;
}

/** What one indicator publication is: one noised vector of one family, period and unit. */
export interface Publication {
  /** The noised vector: residents, presence, relocations.od, ... (DP_PUBLICATIONS in server/indicators/compute.ts). */
  family: string;
  resolution: string;
  /** The data period's key (2016-W02, 2016-01, ...). */
  period: string;
  unit: string;
}

/**
 * The in-memory key of the publisher's spending: a token subject is a JWT `sub`, any string, so the
 * publisher's entries (marked by `publication` in the ledger) are kept apart by a key no string sub can
 * equal after the prefix a token's gets.
 */
const PUBLISHER = '\u0000publisher';
const TOKEN = (sub: string) => `t:${sub}`;

/** The period holding `now` and when the next one starts (UTC calendar). */
export function periodOf(kind: BudgetPeriod, now: Date): { key: string; renews: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  const pad = (n: number) => String(n).padStart(2, '0');
  switch (kind) {
    case 'year':
      return { key: String(y), renews: new Date(Date.UTC(y + 1, 0, 1)) };
    case 'month':
      return { key: `${y}-${pad(m + 1)}`, renews: new Date(Date.UTC(y, m + 1, 1)) };
    case 'day':
      return { key: `${y}-${pad(m + 1)}-${pad(d)}`, renews: new Date(Date.UTC(y, m, d + 1)) };
    case 'week': {
      // ISO week: Monday to Sunday; the week's year is its Thursday's.
      const day = (now.getUTCDay() + 6) % 7;
      const monday = Date.UTC(y, m, d - day);
      const thursday = new Date(monday + 3 * 86_400_000);
      const jan1 = Date.UTC(thursday.getUTCFullYear(), 0, 1);
      const week = Math.floor((thursday.getTime() - jan1) / (7 * 86_400_000)) + 1;
      return { key: `${thursday.getUTCFullYear()}-W${pad(week)}`, renews: new Date(monday + 7 * 86_400_000) };
    }
  }
}

export class Accountant {
  /** sub -> period -> query ids charged and their total. */
  private readonly spending = new Map<string, Map<string, { total: number; queries: Set<string> }>>();
  private fd: number | null = null;

  /** `file`: the ledger (created if missing); null keeps spending in memory only (tests, the CLI). */
  constructor(readonly file: string | null) {
    if (file === null) return;
    if (fs.existsSync(file)) {
      for (const e of readLedger(file)) {
        if (e.publication) this.add(PUBLISHER, e.period, e.query_id, e.rho);
        else this.addToken(e.sub, e.period, e.query_id, e.rho, e.at);
      }
    } else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
    }
    this.fd = fs.openSync(file, 'a', 0o600);
  }

  private add(sub: string, period: string, queryId: string, rho: number): void {
    let bySub = this.spending.get(sub);
    if (!bySub) this.spending.set(sub, (bySub = new Map()));
    let p = bySub.get(period);
    if (!p) bySub.set(period, (p = { total: 0, queries: new Set() }));
    if (p.queries.has(queryId)) return;
    p.queries.add(queryId);
    p.total += rho;
  }

  /**
   * A token's charge counts in every period its time falls in (its day, ISO
   * week, month and year; their keys never collide), not only in the period of
   * the tier it was made under: a subject holding tokens of a monthly tier and a
   * weekly one spends one budget, checked against each tier's allowance, instead
   * of both in full.
   */
  private addToken(sub: string, period: string, queryId: string, rho: number, at: string | undefined): void {
    const when = at === undefined ? null : new Date(at);
    if (when === null || Number.isNaN(when.getTime())) {
      this.add(TOKEN(sub), period, queryId, rho);
      return;
    }
    for (const kind of PERIOD_KINDS) this.add(TOKEN(sub), periodOf(kind, when).key, queryId, rho);
  }

  /** rho spent by `sub` in the period `key`. */
  spent(sub: string, key: string): number {
    return this.spending.get(TOKEN(sub))?.get(key)?.total ?? 0;
  }

  /** Whether `sub` was charged for `queryId` in the period `key`. */
  has(sub: string, key: string, queryId: string): boolean {
    return this.spending.get(TOKEN(sub))?.get(key)?.queries.has(queryId) ?? false;
  }

  /** rho the publisher spent on indicator publications of the data period `key` ("week 2016-W02"). */
  publisherSpent(key: string): number {
    return this.spending.get(PUBLISHER)?.get(key)?.total ?? 0;
  }

  /**
   * Charges the publisher for indicator publications not charged before (by publication key), all
   * or none: false (and nothing recorded) when a data period's new charges would take its spending
   * past `cap`. Each item names its data period (`${resolution} ${key}`): a publication of one
   * period may read another's (the scaling baseline's residents).
   */
  chargePublications(cap: number, items: readonly { period: string; key: string; rho: number; publication: Publication }[], now = new Date()): boolean {
    const fresh = new Map<string, (typeof items)[number]>();
    for (const it of items) if (!this.spending.get(PUBLISHER)?.get(it.period)?.queries.has(it.key) && !fresh.has(it.key)) fresh.set(it.key, it);
    const asked = new Map<string, number>();
    for (const it of fresh.values()) asked.set(it.period, (asked.get(it.period) ?? 0) + it.rho);
    for (const [period, rho] of asked) if (this.publisherSpent(period) + rho > cap * (1 + 1e-9)) return false;
    if (fresh.size === 0) return true;
    const at = now.toISOString();
    this.append([...fresh.values()].map((it) => ({ sub: '(publisher)', period: it.period, query_id: it.key, rho: it.rho, at, tier: '(indicators)', publication: it.publication })));
    for (const it of fresh.values()) this.add(PUBLISHER, it.period, it.key, it.rho);
    return true;
  }

  /** Appends entries to the ledger and fsyncs it (before the answer they pay for leaves). */
  private append(entries: LedgerEntry[]): void {
    if (this.fd === null) return;
    fs.writeSync(this.fd, entries.map((e) => JSON.stringify(e) + '\n').join(''));
    fs.fsyncSync(this.fd);
  }

  /**
   * Charges `sub` rho for each query id not charged in this period yet, all or
   * none: refused with BudgetError when the new charges do not fit the budget.
   */
  charge(sub: string, tier: string, budget: Budget, costs: readonly { queryId: string; rho: number }[], now = new Date()): Charge {
    const { key, renews } = periodOf(budget.period, now);
    const fresh = new Map<string, number>();
    for (const c of costs) if (!this.has(sub, key, c.queryId) && !fresh.has(c.queryId)) fresh.set(c.queryId, c.rho);
    const before = this.spent(sub, key);
    const cost = [...fresh.values()].reduce((a, r) => a + r, 0);
    // A float sum of equal charges may overshoot by an ulp: allow a relative 1e-9.
    if (before + cost > budget.rho * (1 + 1e-9)) {
      const left = Math.max(0, budget.rho - before);
      throw new BudgetError(
        `privacy budget of tier ${tier}: expected a query costing at most the rho left, found rho ${round(cost)} asked with ${round(left)} of ${budget.rho} left for ${budget.period} ${key}; it renews ${renews.toISOString()}`,
        Math.max(1, Math.ceil((renews.getTime() - now.getTime()) / 1000)),
      );
    }
    if (fresh.size > 0) {
      const at = now.toISOString();
      this.append([...fresh].map(([query_id, rho]) => ({ sub, period: key, query_id, rho, at, tier })));
      for (const [q, r] of fresh) this.addToken(sub, key, q, r, at);
    }
    const spent = this.spent(sub, key);
    return { spent, remaining: Math.max(0, budget.rho - spent), period: key, charged: fresh.size > 0 };
  }

  /** What `sub` has spent and has left now, without charging. */
  status(sub: string, budget: Budget, now = new Date()): Charge {
    const { key } = periodOf(budget.period, now);
    const spent = this.spent(sub, key);
    return { spent, remaining: Math.max(0, budget.rho - spent), period: key, charged: false };
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** A ledger's entries in order. A line torn by a crash mid-write is the last one and is skipped; anything else unreadable is damage to report. */
function readLedger(file: string): LedgerEntry[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const entries: LedgerEntry[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      entries.push(JSON.parse(line) as LedgerEntry);
    } catch {
      if (i >= lines.length - 2) return;
      throw new Error(`${file}:${i + 1}: expected a JSON ledger entry, found ${JSON.stringify(line.slice(0, 60))}`);
    }
  });
  return entries;
}

/** Spending per subject and period from a ledger file, for the oversight committee (`opalite audit budget`). */
export function ledgerSummary(file: string): { sub: string; tier: string; period: string; queries: number; rho: number }[] {
  const acc = new Map<string, { sub: string; tier: string; period: string; ids: Set<string>; rho: number }>();
  for (const e of readLedger(file)) {
    if (e.publication) continue; // the publisher's: publisherSummary
    const k = `${e.sub}\0${e.period}`;
    let a = acc.get(k);
    if (!a) acc.set(k, (a = { sub: e.sub, tier: e.tier, period: e.period, ids: new Set(), rho: 0 }));
    if (a.ids.has(e.query_id)) continue;
    a.ids.add(e.query_id);
    a.rho += e.rho;
  }
  return [...acc.values()]
    .map((a) => ({ sub: a.sub, tier: a.tier, period: a.period, queries: a.ids.size, rho: a.rho }))
    .sort((x, y) => (x.sub < y.sub ? -1 : x.sub > y.sub ? 1 : x.period < y.period ? -1 : x.period > y.period ? 1 : 0));
}

/**
 * The publisher's own spending from a ledger file (`opalite audit budget`): per data period, unit and
 * publication family, how many publications (a period's data changed after it was published: a
 * re-ingested or pruned day) and the rho they cost; `periodRho` is the whole period's, against the cap.
 */
export function publisherSummary(file: string): { period: string; unit: string; family: string; publications: number; rho: number; periodRho: number }[] {
  const acc = new Map<string, { period: string; unit: string; family: string; ids: Set<string>; rho: number }>();
  const perPeriod = new Map<string, number>();
  for (const e of readLedger(file)) {
    if (!e.publication) continue;
    const period = e.period;
    const k = `${period}\0${e.publication.unit}\0${e.publication.family}`;
    let a = acc.get(k);
    if (!a) acc.set(k, (a = { period, unit: e.publication.unit, family: e.publication.family, ids: new Set(), rho: 0 }));
    if (a.ids.has(e.query_id)) continue;
    a.ids.add(e.query_id);
    a.rho += e.rho;
    perPeriod.set(period, (perPeriod.get(period) ?? 0) + e.rho);
  }
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return [...acc.values()]
    .map((a) => ({ period: a.period, unit: a.unit, family: a.family, publications: a.ids.size, rho: a.rho, periodRho: perPeriod.get(a.period)! }))
    .sort((x, y) => cmp(x.period, y.period) || cmp(x.unit, y.unit) || cmp(x.family, y.family));
}
