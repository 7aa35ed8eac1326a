/**
 * What protects a token's answers, and what they cost: the one place the
 * service turns a tier's `privacy` into the engine's protection, charges the
 * accountant, and writes the `privacy` field every answer carries.
 */
import type { Protection, PrivacyInfo } from '../privacy/dp/mechanism.js';
import type { Charge } from '../privacy/dp/accountant.js';
import { secretFingerprint } from '../privacy/dp/secret.js';
import type { Principal } from './auth.js';
import { DEFAULT_INDICATOR_RHO, indicatorCap, privacyOf } from './config.js';
import type { ServiceContext } from './context.js';
import type { IndicatorDp, IndicatorResult } from '../indicators/index.js';
import type { AuditRecord } from './audit.js';

/** The delta of the (epsilon, delta) statement when a tier names none. */
const DEFAULT_DELTA = 1e-9;

/** The engine's protection for a token: DP with the tier's figures, or threshold redaction (an operator's choice). */
export function protectionFor(ctx: ServiceContext, who: Principal): Protection {
  const p = privacyOf(who.tier);
  if (p.mode === 'threshold') return { mode: 'threshold' };
  return { mode: 'dp', secret: ctx.dpSecret, rho: p.rho, k: p.k ?? ctx.engine.threshold, delta: p.delta ?? DEFAULT_DELTA };
}

/**
 * Charges the token for the queries it is about to see (each once per period;
 * all or none). Threshold tiers spend nothing: null. Throws BudgetError
 * (PRIVACY_BUDGET, 429) when the budget cannot pay.
 */
export function chargeFor(ctx: ServiceContext, who: Principal, queryIds: readonly string[]): Charge | null {
  const p = privacyOf(who.tier);
  if (p.mode !== 'dp') return null;
  // Keyed by the secret too: a new secret is a new draw for the same id, paid for again (secretFingerprint).
  const fp = secretFingerprint(ctx.dpSecret);
  return ctx.accountant.charge(who.sub, who.tierName, p.budget, queryIds.map((queryId) => ({ queryId: `${queryId}:${fp}`, rho: p.rho })));
}

/** The `privacy` of an answer: the result's own statement, with the token's budget after it. */
export function answerPrivacy(info: PrivacyInfo, charge: Charge | null): PrivacyInfo {
  return charge ? { ...info, budget: { spent: charge.spent, remaining: charge.remaining, period: charge.period } } : info;
}

/** A charge as the audit log records it (REST and stream alike): what this request cost and what is left. */
export function auditBudget(charge: Charge | null | undefined): { budget?: AuditRecord['budget'] } {
  return charge ? { budget: { charged: charge.charged, spent: charge.spent, remaining: charge.remaining, period: charge.period } } : {};
}

/**
 * How a token's indicators are computed: under a DP tier, noised once per publication
 * (period, unit) with noise shared by every token, at the service's `privacy.indicatorRho`,
 * paid by the publisher (recorded in the budget ledger against privacy.indicatorCap), never by a token
 * (docs/PRIVACY.md, "Indicators"); under a
 * threshold tier, exact counts under disclosure control.
 */
export function indicatorOptions(ctx: ServiceContext, who: Principal): IndicatorDp | undefined {
  const p = privacyOf(who.tier);
  if (p.mode !== 'dp') return undefined;
  return {
    secret: ctx.dpSecret,
    rho: ctx.config.privacy.indicatorRho ?? DEFAULT_INDICATOR_RHO,
    k: p.k ?? ctx.engine.threshold,
    delta: p.delta ?? DEFAULT_DELTA,
    publisher: { accountant: ctx.accountant, cap: indicatorCap(ctx.config) },
  };
}

/** How an indicator answer was protected: the result's DP statement, else its disclosure control's threshold. */
export function indicatorPrivacy(r: IndicatorResult): PrivacyInfo {
  return r.privacy ?? { mode: 'threshold', k: r.metadata.disclosure.k };
}
