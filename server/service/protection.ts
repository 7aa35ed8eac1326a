/**
 * What protects a token's answers, and what they cost: the one place the
 * service turns a tier's `privacy` into the engine's protection, charges the
 * accountant, and writes the `privacy` field every answer carries.
 */
import type { Protection, PrivacyInfo } from '../privacy/dp/mechanism.js';
import type { Charge } from '../privacy/dp/accountant.js';
import type { Principal } from './auth.js';
import { privacyOf } from './config.js';
import type { ServiceContext } from './context.js';
import type { IndicatorResult } from '../indicators/index.js';

/** The engine's protection for a token: DP with the tier's figures, or threshold redaction (an operator's choice). */
export function protectionFor(ctx: ServiceContext, who: Principal): Protection {
  const p = privacyOf(who.tier);
  if (p.mode === 'threshold') return { mode: 'threshold' };
  return { mode: 'dp', secret: ctx.dpSecret, rho: p.rho, k: p.k ?? ctx.engine.threshold, delta: p.delta ?? 1e-9 };
}

/**
 * Charges the token for the queries it is about to see (each once per period;
 * all or none). Threshold tiers spend nothing: null. Throws BudgetError
 * (PRIVACY_BUDGET, 429) when the budget cannot pay.
 */
export function chargeFor(ctx: ServiceContext, who: Principal, queryIds: readonly string[]): Charge | null {
  const p = privacyOf(who.tier);
  if (p.mode !== 'dp') return null;
  return ctx.accountant.charge(who.sub, who.tierName, p.budget, queryIds.map((queryId) => ({ queryId, rho: p.rho })));
}

/** The `privacy` of an answer: the result's own statement, with the token's budget after it. */
export function answerPrivacy(info: PrivacyInfo, charge: Charge | null): PrivacyInfo {
  return charge ? { ...info, budget: { spent: charge.spent, remaining: charge.remaining, period: charge.period } } : info;
}

/**
 * How an indicator is protected: by its disclosure control (threshold, resident
 * floor, differencing check, rounding), not by noise yet, whatever the tier
 * (docs/PRIVACY.md says so); an indicator costs no token's budget.
 */
export function indicatorPrivacy(r: IndicatorResult): PrivacyInfo {
  return { mode: 'threshold', k: r.metadata.disclosure.k };
}
