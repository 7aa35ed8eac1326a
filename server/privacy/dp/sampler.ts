/**
 * Exact samplers for discrete Laplace and discrete Gaussian noise, in integer
 * and rational arithmetic (BigInt) over a keyed CSPRNG, as OpenDP does.
 * see: C. Canonne, G. Kamath, T. Steinke, "The Discrete Gaussian for
 * Differential Privacy", NeurIPS 2020 (arXiv:2004.00010), Algorithms 1-3.
 * No floating point touches a sampled value: the float parameters a caller
 * has (a scale, a variance) are turned into rationals rounded UP, so the noise
 * is never smaller than the one the privacy accounting assumed.
 */
import type { KeyedRandom } from './rng.js';

/** A positive rational n/d. */
export interface Rational {
  n: bigint;
  d: bigint;
}

/** Denominator of the rationals made from floats: 2^30 (a relative rounding of ~1e-9, always upward). */
const DENOM = 1n << 30n;

/** The smallest n / 2^30 that is >= x (x > 0, finite). */
export function rationalAtLeast(x: number): Rational {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`rationalAtLeast: expected a positive finite number, found ${x}`);
  // x * 2^30 is exact in binary floating point (a power-of-two scaling), so ceil is the true ceiling.
  const n = BigInt(Math.ceil(x * 2 ** 30));
  return { n: n > 0n ? n : 1n, d: DENOM };
}

/** Bernoulli(n/d), 0 <= n <= d. */
export function bernoulli(rng: KeyedRandom, n: bigint, d: bigint): boolean {
  return rng.below(d) < n;
}

/**
 * Bernoulli(exp(-gamma)) for a rational gamma = n/d >= 0 (CKS20 Algorithm 1):
 * for gamma in [0, 1], draw Bernoulli(gamma/k) for k = 1, 2, ... until one
 * fails; the answer is whether the failing k is odd (the alternating series
 * of exp(-gamma)). A gamma above 1 is exp(-1) once per whole unit, then the rest.
 */
export function bernoulliExpMinus(rng: KeyedRandom, n: bigint, d: bigint): boolean {
  if (n < 0n || d <= 0n) throw new RangeError(`bernoulliExpMinus: expected gamma = n/d >= 0, found ${n}/${d}`);
  while (n > d) {
    if (!bernoulliExpMinusUnit(rng, 1n, 1n)) return false;
    n -= d;
  }
  return bernoulliExpMinusUnit(rng, n, d);
}

function bernoulliExpMinusUnit(rng: KeyedRandom, n: bigint, d: bigint): boolean {
  let k = 1n;
  while (bernoulli(rng, n, d * k)) k++;
  return k % 2n === 1n;
}

/**
 * Discrete Laplace with scale num/den (CKS20 Algorithm 2, there with t = num
 * and s = den): P(x) proportional to exp(-|x| den/num) over the integers.
 * Geometric sampling: U uniform in [0, num) accepted with exp(-U/num),
 * V ~ Geometric(1 - exp(-1)), |x| = floor((U + num V) / den), a fair sign, and
 * (sign -, 0) rejected so that 0 is not counted twice.
 */
export function discreteLaplace(rng: KeyedRandom, num: bigint, den: bigint = 1n): bigint {
  if (num <= 0n || den <= 0n) throw new RangeError(`discreteLaplace: expected a positive scale num/den, found ${num}/${den}`);
  for (;;) {
    const u = rng.below(num);
    if (!bernoulliExpMinus(rng, u, num)) continue;
    let v = 0n;
    while (bernoulliExpMinus(rng, 1n, 1n)) v++;
    const y = (u + num * v) / den;
    const negative = bernoulli(rng, 1n, 2n);
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** floor(sqrt(x)) for x >= 0. */
function isqrt(x: bigint): bigint {
  if (x < 2n) return x;
  let r = BigInt(Math.floor(Math.sqrt(Number(x))));
  while (r * r > x) r--;
  while ((r + 1n) * (r + 1n) <= x) r++;
  return r;
}

/**
 * Discrete Gaussian with variance parameter sigma^2 = n/d (CKS20 Algorithm 3):
 * P(x) proportional to exp(-x^2 / (2 sigma^2)) over the integers. Rejection
 * from a discrete Laplace of scale t = floor(sigma) + 1, accepting Y with
 * probability exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2)).
 */
export function discreteGaussian(rng: KeyedRandom, n: bigint, d: bigint): bigint {
  if (n <= 0n || d <= 0n) throw new RangeError(`discreteGaussian: expected sigma^2 = n/d > 0, found ${n}/${d}`);
  const t = isqrt(n / d) + 1n;
  for (;;) {
    const y = discreteLaplace(rng, t, 1n);
    const abs = y < 0n ? -y : y;
    // gamma = (|y| - sigma^2/t)^2 / (2 sigma^2) = (|y| t d - n)^2 / (2 n d t^2)
    const diff = abs * t * d - n;
    if (bernoulliExpMinus(rng, diff * diff, 2n * n * d * t * t)) return y;
  }
}
