/**
 * What a token may see: the tier check of a parsed spec. It also applies the
 * refusals every tier shares (refusals.ts: sampling, extremes, overlapping
 * inputs). Every aggregation unit anywhere in the spec must be one the tier
 * allows, every window anywhere in it (each input's own, however deep) and the
 * finest time resolution it reveals must not be finer than the tier's, its top-level kind
 * must be allowed, its dates must lie inside the tier's history and freshness
 * window, and the token's scopes (when it has any) must grant it. A refusal
 * is a 403 AuthError whose message names the limit.
 */
import { Errors } from '../errors.js';
import { type AnySpec, childrenOf, finestTemporal, leafWindows, type QuerySpec, TEMPORAL_RESOLUTIONS, type Temporal, unitsOf } from '../engine/spec.js';
import { checkServiceSpec } from './refusals.js';
import { requireScopes, type Principal } from './auth.js';
import { type Action, queryScopeList, requireClaims } from './flowkit-claims.js';
import type { Tier } from './config.js';
import { unitOrder, unitRank } from './wire.js';

/** What the check needs to know of the store. */
export interface TierContext {
  /** The store's aggregation units. */
  units: readonly string[];
  /** The store's last day (YYYY-MM-DD), for history and freshness; undefined for an empty store. */
  lastDay: string | undefined;
}

/** The units of the store a tier may see, coarse to fine. */
export function allowedUnits(tier: Tier, storeUnits: readonly string[]): string[] {
  return unitOrder(tier.units.includes('*') ? storeUnits : storeUnits.filter((u) => tier.units.includes(u)));
}

const rank = (t: Temporal) => TEMPORAL_RESOLUTIONS.indexOf(t);

const DAY_MS = 86_400_000;
const instantMs = (v: string) => Date.parse(`${v.length === 10 ? v : v.replace(' ', 'T')}Z`);
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const WINDOW_FIELDS = [
  ['start_date', 'end_date'],
  ['start_date_a', 'end_date_a'],
  ['start_date_b', 'end_date_b'],
] as const;

const PERIOD_MS = { days: DAY_MS, hours: 3_600_000, minutes: 60_000 } as const;

/** The hull [start, end) in ms of every window anywhere in the spec, or undefined when it states none. */
export function specWindow(spec: AnySpec): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  const note = (s: number, e: number) => {
    lo = Math.min(lo, s);
    hi = Math.max(hi, e);
  };
  const visit = (s: AnySpec) => {
    const f = s as unknown as Record<string, unknown>;
    for (const [a, b] of WINDOW_FIELDS) {
      if (typeof f[a] === 'string' && typeof f[b] === 'string') note(instantMs(f[a] as string), instantMs(f[b] as string));
    }
    if (typeof f.date === 'string') note(instantMs(f.date), instantMs(f.date) + DAY_MS);
    if (s.query_kind === 'total_active_periods') {
      const start = instantMs(s.start_date);
      note(start, start + s.total_periods * s.period_length * PERIOD_MS[s.period_unit]);
    }
    childrenOf(s).forEach(visit);
  };
  visit(spec);
  return lo <= hi ? [lo, hi] : undefined;
}

/** FlowKit-style scopes a spec needs: unit:top-level kind:kind, for every unit and every kind in the tree. */
export function requiredScopes(spec: QuerySpec): string[] {
  const kinds = new Set<string>();
  const visit = (s: AnySpec) => {
    kinds.add(s.query_kind);
    childrenOf(s).forEach(visit);
  };
  visit(spec);
  const units = unitsOf(spec);
  return (units.length ? units : ['nonspatial']).flatMap((u) => [...kinds].map((k) => `${u}:${spec.query_kind}:${k}`));
}

function checkUnit(p: Principal, unit: string, ctx: TierContext, where: string): void {
  const allowed = allowedUnits(p.tier, ctx.units);
  if (!allowed.includes(unit)) {
    throw Errors.tierBeyond(
      'TIER_UNIT',
      p.tierName,
      `expected aggregation units ${allowed.join(', ') || '(none)'}, found ${unit} in ${where}`,
    );
  }
}

/**
 * Throws a 403 unless the principal's tier (and scopes) allow the spec, a 400 for
 * what no tier is served (refusals.ts). `actions`: what FlowAuth's claims must
 * grant, as FlowAPI asks: run to run, run and get_result to poll, get_result to fetch.
 */
export function checkSpec(spec: QuerySpec, p: Principal, ctx: TierContext, actions: readonly Action[] = ['run']): void {
  const t = p.tier;
  if (!t.kinds.includes('*') && !t.kinds.includes(spec.query_kind)) {
    throw Errors.tierBeyond('TIER_KIND', p.tierName, `expected a query kind of ${t.kinds.join(', ')}, found ${spec.query_kind}`);
  }
  for (const u of unitsOf(spec)) checkUnit(p, u, ctx, 'the spec');
  // Each window on its own, named by its path: pooling thirty days does not make one of them a month.
  for (const w of leafWindows(spec)) {
    if (rank(w.resolution) < rank(t.temporal)) {
      throw Errors.tierBeyond(
        'TIER_TEMPORAL',
        p.tierName,
        `expected a time resolution of ${t.temporal} or coarser, found a spec that reveals ${w.resolution}s at ${w.path} (${w.start}..${w.end}; ` +
          'each window is judged on its own, not on the span of the inputs it is pooled with)',
      );
    }
  }
  checkServiceSpec(spec);
  const finest = finestTemporal(spec);
  if (rank(finest) < rank(t.temporal)) {
    throw Errors.tierBeyond(
      'TIER_TEMPORAL',
      p.tierName,
      `expected a time resolution of ${t.temporal} or coarser, found a spec that reveals ${finest}s ` +
        '(a window shorter than a ' + t.temporal + ', a time bucket, an hour filter or a bound that is not midnight)',
    );
  }
  const w = specWindow(spec);
  if (w && ctx.lastDay) checkWindow(p, w, ctx.lastDay);
  requireScopes(p, requiredScopes(spec));
  requireClaims(p.claims ?? null, actions, queryScopeList(spec));
}

function checkWindow(p: Principal, [start, end]: [number, number], lastDay: string): void {
  const t = p.tier;
  const dataEnd = instantMs(lastDay) + DAY_MS;
  if (t.freshnessDays !== undefined && t.freshnessDays > 0) {
    const limit = dataEnd - t.freshnessDays * DAY_MS;
    if (end > limit) {
      throw Errors.tierBeyond(
        'TIER_FRESHNESS',
        p.tierName,
        `expected dates before ${dayOf(limit)} (data older than ${t.freshnessDays} days before the last day ${lastDay}), ` +
          `found a spec reaching ${dayOf(end - 1)}`,
      );
    }
  }
  if (t.historyDays !== undefined) {
    const limit = dataEnd - t.historyDays * DAY_MS;
    if (start < limit) {
      throw Errors.tierBeyond(
        'TIER_HISTORY',
        p.tierName,
        `expected dates from ${dayOf(limit)} on (the last ${t.historyDays} days up to ${lastDay}), found a spec starting ${dayOf(start)}`,
      );
    }
  }
}

/**
 * An indicator is published at its own resolution: the unit, the period's
 * temporal resolution and its window are checked, not the daily queries it is
 * computed from (a monthly indicator built from daily locations reveals months).
 */
export function checkIndicator(unit: string, resolution: Temporal, window: [number, number], p: Principal, ctx: TierContext): void {
  checkUnit(p, unit, ctx, 'the indicator request');
  if (rank(resolution) < rank(p.tier.temporal)) {
    throw Errors.tierBeyond('TIER_TEMPORAL', p.tierName, `expected a time resolution of ${p.tier.temporal} or coarser, found ${resolution}`);
  }
  if (ctx.lastDay) checkWindow(p, window, ctx.lastDay);
  requireScopes(p, [`${unit}:indicators:indicators`]);
  requireClaims(p.claims ?? null, ['get_result'], [`indicators.aggregation_unit.${unit}`]);
}

/** /geography/<unit>: the unit must be allowed (and granted by a scope, when the token has scopes). */
export function checkGeography(unit: string, p: Principal, ctx: TierContext): void {
  checkUnit(p, unit, ctx, 'the geography request');
  requireScopes(p, [`${unit}:geography:geography`]);
  requireClaims(p.claims ?? null, ['get_result'], [`geography.aggregation_unit.${unit}`]);
}

/** Every format but JSON is a download. */
export function checkDownload(format: string, p: Principal): void {
  if (format !== 'json' && !p.tier.download) {
    throw Errors.tierBeyond('TIER_DOWNLOAD', p.tierName, `expected JSON (browsing only: this tier may not download), found a request for ${format}`);
  }
}

/**
 * The units a stream subscription's frames come in, coarse to fine: every unit
 * of the store from the coarsest up to the spec's finest, that the tier allows.
 * Empty when the tier allows none of them.
 */
export function frameUnits(spec: QuerySpec, p: Principal, ctx: TierContext): string[] {
  const used = unitsOf(spec);
  if (used.length === 0) return [];
  const finest = Math.max(...used.map(unitRank));
  return allowedUnits(p.tier, ctx.units).filter((u) => unitRank(u) <= finest);
}
