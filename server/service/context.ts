/** What the REST routes and the stream share: one engine, one job table, one audit log. */
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import type { AuditLog } from './audit.js';
import type { BodyCache } from './cache.js';
import type { Verifier } from './auth.js';
import type { ServiceConfig } from './config.js';
import type { Jobs } from './jobs.js';
import type { PrometheusMetrics } from './prometheus.js';
import type { RateLimiter } from './ratelimit.js';
import type { TierContext } from './tiers.js';
import type { IndicatorCache } from '../indicators/cache.js';
import type { Accountant } from '../privacy/dp/accountant.js';

export interface ServiceContext {
  readonly config: ServiceConfig;
  /** Replaced when a new store version is taken up (server.onStoreVersion). */
  engine: Engine;
  readonly jobs: Jobs;
  readonly verifier: Verifier;
  readonly limiter: RateLimiter;
  readonly audit: AuditLog;
  readonly metrics: PrometheusMetrics;
  readonly log: Logger;
  /** Serialised results and geographies. */
  readonly bodies: BodyCache;
  /** OPAL indicators, kept across store versions while the days they read are unchanged. */
  readonly indicators: IndicatorCache;
  /** Per-token privacy budgets (docs/PRIVACY.md). */
  readonly accountant: Accountant;
  /** The DP noise secret (never logged, never sent). */
  readonly dpSecret: Buffer;
  /** True once close() began: new queries are refused with 503. */
  closing: boolean;
}

/** The store facts the tier check needs, from the engine in use. */
export function tierContext(ctx: ServiceContext): TierContext {
  const days = ctx.engine.store.days();
  return { units: ctx.engine.loaded.units.names(), lastDay: days.at(-1) };
}
