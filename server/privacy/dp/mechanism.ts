/**
 * The discrete Gaussian mechanism under zero-concentrated DP (zCDP), for
 * counts of subscribers, final and progressive.
 *
 * A release of a vector whose L2 sensitivity is D (one subscriber added or
 * removed changes it by at most D in L2 norm) with discrete Gaussian noise of
 * variance parameter sigma^2 on every entry is (D^2 / 2 sigma^2)-zCDP
 * (see: Canonne, Kamath, Steinke 2020, Theorem 14). A subscriber who can touch
 * at most `cells` cells, each by at most 1, gives D^2 = cells.
 *
 * A query's cost rho is split: FINAL_SHARE for the final answer, the rest for
 * its progressive frames, which are a continual release of running sums over
 * subscriber partitions and are published with the binary-tree mechanism
 * (see: Chan, Shi, Song, "Private and Continual Release of Statistics", 2011).
 * Each subscriber lives in one partition, so in the tree over partitions
 * (2^levels leaves) they touch one node per level; a frame after m partitions
 * is the exact prefix sum plus the noise of the dyadic nodes covering [0, m).
 * Frames never use the root, so `levels` node levels share the frames' rho;
 * every frame has at least `levels` times the final's noise variance.
 */
import { KeyedRandom } from './rng.js';
import { DiscreteGaussianSampler, lowestTerms, rationalAtLeast } from './sampler.js';

/** Share of a query's rho spent on its final answer; the rest pays for its progressive frames. */
export const FINAL_SHARE = 0.5;

/** What a DP release needs: the server's secret, the query's cost, the threshold applied to noisy values. */
export interface DpProtection {
  mode: 'dp';
  /** The server's DP secret: noise is keyed by it and the query id. */
  secret: Uint8Array;
  /** zCDP cost of one query (final and frames together). */
  rho: number;
  /** A noisy value is published only if it is greater than k (post-processing). */
  k: number;
  /** The delta of the (epsilon, delta) statement reported beside rho. */
  delta: number;
}

export interface ThresholdProtection {
  mode: 'threshold';
}

export type Protection = DpProtection | ThresholdProtection;

/** How an answer was protected: on every answer, REST and stream alike (the dashboard reads these names). */
export interface PrivacyInfo {
  mode: 'dp' | 'threshold';
  k: number;
  rho?: number;
  epsilon?: number;
  delta?: number;
  mechanism?: 'discrete_gaussian' | 'discrete_laplace';
  /** Standard deviation of the noise on each published value (before an estimate's scaling). */
  scale?: number;
  /** Half-width of the 95% interval of each published value (exact for the discrete Gaussian). */
  interval95?: number;
  /**
   * A DP average (joined_spatial_aggregate by avg): each value is (clipped sum + noise) / (count + noise), the
   * metric clipped to [lower, upper]; the standard deviations of the noise on the sum (metric units) and the count.
   */
  ratio?: { metric: string; lower: number; upper: number; sumScale: number; countScale: number };
  /** The token's budget after this answer (service answers only). */
  budget?: { spent: number; remaining: number; period: string };
}

/** epsilon of the (epsilon, delta)-DP statement a rho-zCDP mechanism satisfies (Bun and Steinke 2016, Prop. 1.3). */
export function epsilonOf(rho: number, delta: number): number {
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/** sigma^2 of the final answer's noise. */
export function finalSigma2(rho: number, cells: number): number {
  return cells / (2 * rho * FINAL_SHARE);
}

/** Node levels of the tree over P partitions that frames use (the root excluded). */
export function treeLevels(P: number): number {
  return P <= 1 ? 0 : Math.ceil(Math.log2(P));
}

/** sigma^2 of each tree node's noise. */
export function nodeSigma2(rho: number, cells: number, levels: number): number {
  return (Math.max(1, levels) * cells) / (2 * rho * (1 - FINAL_SHARE));
}

/** The dyadic nodes ("level:index", leaves at level 0) whose union is the prefix [0, m) of 2^levels leaves. */
export function prefixNodes(m: number, levels: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (let level = levels; level >= 0; level--) {
    const size = 2 ** level;
    if (m - start >= size) {
      out.push(`${level}:${start / size}`);
      start += size;
    }
  }
  return out;
}

/** n noise values for one release (`node`: 'final' or a tree node) of a query, drawn in order from its own keyed stream. */
export function noiseVector(secret: Uint8Array, queryId: string, node: string, n: number, sigma2: number): Float64Array {
  // In lowest terms: the same sigma^2 (the same law); an integer sigma^2 then samples without BigInt.
  const { n: num, d } = lowestTerms(rationalAtLeast(sigma2));
  const rng = new KeyedRandom(secret, queryId, node);
  // The fast path draws exactly what discreteGaussian(rng, num, d) would (see sampler.ts).
  const sampler = new DiscreteGaussianSampler(num, d);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = sampler.draw(rng);
  return out;
}

/** The smallest c with P(|X| <= c) >= 0.95 for X discrete Gaussian of parameter sigma^2 (computed from its pmf). */
export function interval95(sigma2: number): number {
  const span = Math.ceil(12 * Math.sqrt(sigma2)) + 2;
  const w = (x: number) => Math.exp(-(x * x) / (2 * sigma2));
  let z = w(0);
  for (let x = 1; x <= span; x++) z += 2 * w(x);
  let mass = w(0) / z;
  let c = 0;
  while (mass < 0.95) {
    c++;
    mass += (2 * w(c)) / z;
  }
  return c;
}

/** Standard deviation of a discrete Gaussian of parameter sigma^2 (from its pmf; close to sigma once sigma > 1). */
export function stddevOf(sigma2: number): number {
  const span = Math.ceil(12 * Math.sqrt(sigma2)) + 2;
  let z = 1;
  let v = 0;
  for (let x = 1; x <= span; x++) {
    const p = Math.exp(-(x * x) / (2 * sigma2));
    z += 2 * p;
    v += 2 * x * x * p;
  }
  return Math.sqrt(v / z);
}

/** The answer's privacy statement for a final release of a DP query. */
export function dpInfo(p: DpProtection, sigma2: number): PrivacyInfo {
  return {
    mode: 'dp',
    k: p.k,
    rho: p.rho,
    epsilon: epsilonOf(p.rho, p.delta),
    delta: p.delta,
    mechanism: 'discrete_gaussian',
    scale: stddevOf(sigma2),
    interval95: interval95(sigma2),
  };
}
