/**
 * Scaling from subscribers to people (issue #6, item 3), where the regions
 * carry a census `population`:
 *
 *   people = subscribers x population / resident subscribers of the region
 *
 * The factor (population / resident subscribers, the inverse of the operator's
 * market share among residents) is stated in the output's metadata rounded to
 * two significant figures, so the exact resident subscriber count, and with it
 * the market share, cannot be read back from it. Bounds come from a Poisson
 * interval on the subscriber count (normal approximation, x +- z sqrt(x),
 * z = 1.96 for 95%), scaled by the same factor; the factor's own uncertainty is
 * not propagated. Disclosure decisions stay on the unscaled subscriber count.
 */

export interface ScaleFactor {
  /** population / resident subscribers, to two significant figures (null when not scalable). */
  factor: number | null;
  method: string;
}

export interface Scaled {
  value: number;
  lower: number;
  upper: number;
  factor: number;
}

export const Z95 = 1.959964;

export function significant(x: number, digits = 2): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  return Number(x.toPrecision(digits));
}

/** The factor of one region, or null when it has no population or no resident subscribers. */
export function scaleFactor(population: number | undefined, residentSubscribers: number | null | undefined): number | null {
  if (population === undefined || !(population > 0)) return null;
  if (residentSubscribers === null || residentSubscribers === undefined || !(residentSubscribers > 0)) return null;
  return population / residentSubscribers;
}

/** Poisson interval (normal approximation) on a subscriber count, clipped at 0. */
export function poissonInterval(count: number, z = Z95): { lower: number; upper: number } {
  const half = z * Math.sqrt(Math.max(count, 0));
  return { lower: Math.max(0, count - half), upper: count + half };
}

/** A subscriber count scaled to people, with bounds. */
export function scale(subscribers: number, factor: number, z = Z95): Scaled {
  const { lower, upper } = poissonInterval(subscribers, z);
  return { value: subscribers * factor, lower: lower * factor, upper: upper * factor, factor };
}

export const SCALE_METHOD =
  'people = subscribers x population / resident subscribers of the region (census population from the region file); bounds: 95% Poisson interval on the subscriber count (x +- 1.96 sqrt(x)), scaled; factor shown to 2 significant figures';
