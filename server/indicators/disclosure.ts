/**
 * Disclosure control for indicators (issue #6, item 4), in one place. Every
 * value an indicator publishes passes through here, after the engine's own
 * redaction (k = 15 on every query result):
 *
 * 1. threshold: a count of 15 (k) or fewer is withheld. Sums built from
 *    unredacted OD counts (trips_in/out, arrived/departed, movements) are
 *    thresholded here, on the sum.
 * 2. resident floor: a region with fewer than `residentFloor` resident
 *    subscribers (default 200) is withheld; for flows, a pair is withheld if
 *    either end is below the floor. The floor is applied at every level asked
 *    for (the finest level is where it bites; coarser regions are sums of finer
 *    ones and almost always pass).
 * 3. differencing: an indicator equal to the difference of two published values
 *    (e.g. arrived - departed) is itself thresholded (|d| > k) and published only
 *    where both of its terms are (FlowKit #5258).
 * 4. rounding: counts of people to the nearest 100; relocations/flows,
 *    densities and differences to the nearest 10 (configurable). A count that
 *    rounds to k or less is withheld, so no published count is ever <= k.
 *
 * One reason for everything at or below k, zero included (issue #13, item 6):
 * a count absent from its (thresholded) source is withheld as 'threshold', like
 * 1..k, never as 'missing', which would say "nobody". 'missing' is kept for
 * what does not depend on the data's counts: no previous period, no census
 * population to scale by, no area.
 */
import { DEFAULT_K } from '../privacy/redact.js';
import type { RoundingClass } from './catalog.js';

export interface DisclosureConfig {
  /** Threshold: values <= k are withheld (never below 15). */
  k: number;
  /** Minimum resident subscribers for a region to be published. */
  residentFloor: number;
  /** Rounding step per class (a step of 1 publishes integers). */
  rounding: Record<RoundingClass, number>;
  /**
   * What the threshold of a trip sum (trips_in/out, movements: subscriber-days over
   * the period's day pairs) is decided on. 'sum' (default, the rule): the
   * sum > k. 'distinct-lower-bound': a subscriber makes at most one trip per day
   * pair, so sum / pairs is a lower bound on the distinct subscribers behind it;
   * that bound must be > k (stricter: a week needs a sum > 7k).
   */
  tripSupport: 'sum' | 'distinct-lower-bound';
}

export const DEFAULT_DISCLOSURE: DisclosureConfig = {
  k: DEFAULT_K,
  residentFloor: 200,
  rounding: { people: 100, relocations: 10, density: 10, difference: 10 },
  tripSupport: 'sum',
};

export function disclosureConfig(over: Partial<Omit<DisclosureConfig, 'rounding'>> & { rounding?: Partial<DisclosureConfig['rounding']> } = {}): DisclosureConfig {
  const k = over.k ?? DEFAULT_DISCLOSURE.k;
  if (!Number.isInteger(k) || k < DEFAULT_K) throw new RangeError(`disclosure: k must be an integer >= ${DEFAULT_K}, found ${k}`);
  const residentFloor = over.residentFloor ?? DEFAULT_DISCLOSURE.residentFloor;
  if (!(residentFloor >= 0)) throw new RangeError(`disclosure: residentFloor must be >= 0, found ${residentFloor}`);
  const rounding = { ...DEFAULT_DISCLOSURE.rounding, ...over.rounding };
  for (const [c, step] of Object.entries(rounding)) {
    if (!(step > 0)) throw new RangeError(`disclosure: rounding step for ${c} must be > 0, found ${step}`);
  }
  const tripSupport = over.tripSupport ?? DEFAULT_DISCLOSURE.tripSupport;
  if (tripSupport !== 'sum' && tripSupport !== 'distinct-lower-bound') throw new RangeError(`disclosure: tripSupport must be 'sum' or 'distinct-lower-bound', found ${String(tripSupport)}`);
  return { k, residentFloor, rounding, tripSupport };
}

/** Why a value was withheld. */
/** `incomplete` and `budget` only under DP (publication.ts): a period still filling, a publication past the publisher's cap. */
export type WithheldReason = 'threshold' | 'resident-floor' | 'differencing' | 'rounded-to-threshold' | 'missing' | 'incomplete' | 'budget';

export type Disclosed = { value: number; withheld?: undefined } | { value: null; withheld: WithheldReason };

/** Rounds to the nearest multiple of `step` (half away from zero), without float noise. */
export function roundTo(x: number, step: number): number {
  const r = Math.sign(x) * Math.round(Math.abs(x) / step) * step;
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Number(r.toFixed(Math.min(decimals, 12))) + 0; // + 0 turns -0 into 0
}

/** The threshold alone: a count is published only if it is greater than k. */
export function passesThreshold(count: number | null | undefined, k: number): boolean {
  return count !== null && count !== undefined && count > k;
}

/** The resident floor: a region is publishable only with at least `floor` resident subscribers. */
export function passesFloor(residents: number | null | undefined, floor: number): boolean {
  if (floor <= 0) return true;
  return residents !== null && residents !== undefined && residents >= floor;
}

/**
 * A count of subscribers (or of people, scaled from a subscriber count) for one
 * region. The threshold and floor are decided on the unscaled subscriber count
 * (`support`), the value is rounded, and a value that rounds to k or less is withheld.
 */
export function discloseCount(cfg: DisclosureConfig, o: { value: number | null | undefined; support?: number | null; residents: number | null | undefined; rounding: RoundingClass }): Disclosed {
  // Absent: zero, or withheld upstream at k; both are at or below k.
  if (o.value === null || o.value === undefined) return { value: null, withheld: 'threshold' };
  const support = o.support === undefined ? o.value : o.support;
  if (!passesThreshold(support, cfg.k)) return { value: null, withheld: 'threshold' };
  if (!passesFloor(o.residents, cfg.residentFloor)) return { value: null, withheld: 'resident-floor' };
  const r = roundTo(o.value, cfg.rounding[o.rounding]);
  if (r <= cfg.k) return { value: null, withheld: 'rounded-to-threshold' };
  return { value: r };
}

/** A flow between two regions: thresholded, and withheld if either end is below the resident floor. */
export function discloseFlow(cfg: DisclosureConfig, o: { value: number | null | undefined; residentsFrom: number | null | undefined; residentsTo: number | null | undefined; rounding?: RoundingClass }): Disclosed {
  if (o.value === null || o.value === undefined) return { value: null, withheld: 'threshold' };
  if (!passesThreshold(o.value, cfg.k)) return { value: null, withheld: 'threshold' };
  if (!passesFloor(o.residentsFrom, cfg.residentFloor) || !passesFloor(o.residentsTo, cfg.residentFloor)) return { value: null, withheld: 'resident-floor' };
  const r = roundTo(o.value, cfg.rounding[o.rounding ?? 'relocations']);
  if (r <= cfg.k) return { value: null, withheld: 'rounded-to-threshold' };
  return { value: r };
}

/**
 * The differencing check: a value equal to a - b, where a and b are published
 * (or publishable) counts, is itself thresholded. It is computed from the
 * unrounded terms, published only if both terms pass disclosure and |a - b| > k,
 * then rounded as a difference (and withheld if it rounds to |d| <= k).
 */
export function discloseDifference(cfg: DisclosureConfig, o: { minuend: number | null | undefined; subtrahend: number | null | undefined; termsPublished: boolean; residents: number | null | undefined }): Disclosed {
  // A term absent (zero, or at or below k) is not published: the difference is withheld for that, as any other.
  if (o.minuend === null || o.minuend === undefined || o.subtrahend === null || o.subtrahend === undefined || !o.termsPublished) {
    return { value: null, withheld: 'differencing' };
  }
  const d = o.minuend - o.subtrahend;
  if (!(Math.abs(d) > cfg.k)) return { value: null, withheld: 'differencing' };
  if (!passesFloor(o.residents, cfg.residentFloor)) return { value: null, withheld: 'resident-floor' };
  const r = roundTo(d, cfg.rounding.difference);
  if (Math.abs(r) <= cfg.k) return { value: null, withheld: 'rounded-to-threshold' };
  return { value: r };
}

/**
 * A density from a published count: computed from the already-disclosed
 * (thresholded, rounded) count, so it reveals nothing the count does not; then
 * rounded to the density step. A withheld count gives a withheld density.
 */
export function discloseDensity(cfg: DisclosureConfig, publishedCount: Disclosed, areaKm2: number): Disclosed {
  if (publishedCount.value === null) return publishedCount;
  if (!(areaKm2 > 0)) return { value: null, withheld: 'missing' };
  return { value: roundTo(publishedCount.value / areaKm2, cfg.rounding.density) };
}
