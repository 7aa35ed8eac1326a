/**
 * Queries per hour per token subject: a sliding window. Each subject keeps
 * the times of its queries in the last hour (at most its limit of them), so
 * memory is bounded by the limit, and a refusal says exactly when the oldest
 * query leaves the window (Retry-After).
 */
import { Errors } from '../errors.js';
import type { Principal } from './auth.js';

const HOUR_MS = 3_600_000;

export class RateLimiter {
  private readonly seen = new Map<string, number[]>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly windowMs = HOUR_MS,
  ) {}

  /**
   * Counts `cost` queries for the principal (a /series request costs one per spec or period, so that one
   * request of 400 specs is not cheaper than 400 requests), or throws 429 RATE_LIMITED with the seconds to
   * wait until the hour's budget has room for the whole cost. Nothing is counted when refused.
   */
  take(p: Principal, cost = 1): void {
    const limit = p.tier.queriesPerHour;
    const t = this.now();
    // One window per subject and tier: a subject's tokens of another tier count apart.
    const key = `${p.tierName}\u0000${p.sub}`;
    let times = this.seen.get(key);
    if (!times) this.seen.set(key, (times = []));
    while (times.length > 0 && times[0]! <= t - this.windowMs) times.shift();
    if (cost > limit) {
      throw Object.assign(Errors.rateLimited(p.tierName, limit, Math.ceil(this.windowMs / 1000), { cost, left: limit - times.length }), { retryAfter: Math.ceil(this.windowMs / 1000) });
    }
    if (times.length + cost > limit) {
      // The whole cost fits once enough of the oldest queries have left the window.
      const oldest = times[times.length + cost - limit - 1]!;
      const retryAfter = Math.max(1, Math.ceil((oldest + this.windowMs - t) / 1000));
      throw Object.assign(Errors.rateLimited(p.tierName, limit, retryAfter, cost > 1 ? { cost, left: limit - times.length } : undefined), { retryAfter });
    }
    for (let i = 0; i < cost; i++) times.push(t);
  }

  /** Forgets subjects with no query in the window (called now and then). */
  sweep(): void {
    const t = this.now();
    for (const [key, times] of this.seen) if (times.length === 0 || times.at(-1)! <= t - this.windowMs) this.seen.delete(key);
  }

  get subjects(): number {
    return this.seen.size;
  }
}

/** The Retry-After seconds of a RATE_LIMITED error. */
export function retryAfterOf(e: unknown): number | undefined {
  const v = (e as { retryAfter?: unknown })?.retryAfter;
  return typeof v === 'number' ? v : undefined;
}
