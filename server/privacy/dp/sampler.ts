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

/**
 * n/d in lowest terms (both divided by their gcd): the same rational, so the same law. The mechanism's
 * sigma^2 are mostly integers (cells / rho for rho = 0.1, 0.05, ...), and in lowest terms their samplers'
 * every rational fits a Number, so they draw without BigInt (DiscreteGaussianSampler).
 */
export function lowestTerms({ n, d }: Rational): Rational {
  let a = n;
  let b = d;
  while (b !== 0n) [a, b] = [b, a % b];
  return { n: n / a, d: d / a };
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

// ---------------------------------------------------------------------------
// The fast path: the same algorithms, the same stream bytes read in the same
// order and the same draws as the BigInt functions above (test/privacy/
// dp-sampler-fast.test.ts checks it draw by draw), in Number arithmetic where
// every intermediate provably stays below 2^53. Only the Gaussian's acceptance
// test has rationals beyond 2^53 (its denominator 2 n d t^2 is ~2^72 for
// sigma^2 = 40); it uses a few BigInt operations per draw, and compares the
// uniform it draws there by its top 48 bits first, reading (skipping) the
// remaining bytes without building them unless the top bits tie.

const SAFE = 2 ** 53;
const SAFE_BIG = 1n << 53n;

/** bernoulliExpMinusUnit in Number arithmetic: n <= d, both integers, d * k < 2^53 checked at each k. */
function expUnitN(rng: KeyedRandom, n: number, d: number): boolean {
  let k = 1;
  for (;;) {
    const dk = d * k;
    const hit = dk < SAFE ? rng.belowNumber(dk) < n : rng.below(BigInt(d) * BigInt(k)) < BigInt(n);
    if (!hit) break;
    k++;
  }
  return k % 2 === 1;
}

/** bernoulliExpMinus in Number arithmetic (n, d integers below 2^53). */
function expN(rng: KeyedRandom, n: number, d: number): boolean {
  while (n > d) {
    if (!expUnitN(rng, 1, 1)) return false;
    n -= d;
  }
  return expUnitN(rng, n, d);
}

/** discreteLaplace(rng, t, 1n) in Number arithmetic, for t < 2^26 (so u + t v stays far below 2^53). */
function laplaceN(rng: KeyedRandom, t: number): number {
  for (;;) {
    const u = rng.belowNumber(t);
    if (!expN(rng, u, t)) continue;
    let v = 0;
    while (expUnitN(rng, 1, 1)) v++;
    const y = u + t * v;
    const negative = rng.belowNumber(2) < 1;
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

/** Bits of a positive BigInt. */
function bitLengthBig(x: bigint): number {
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

/** What rng.below(m) needs to know of an m >= 2^53, computed once per m (the samplers reuse a few m's). */
export interface BigBound {
  m: bigint;
  topMask: number;
  /** Bytes after the first 6 (at least 1). */
  rest: number;
  shift: bigint;
  /** floor(m / 2^shift). */
  mTop: number;
}

/** Exported for the tests of the fast path. */
export function bigBound(m: bigint): BigBound {
  const bits = bitLengthBig(m - 1n);
  const bytes = Math.ceil(bits / 8);
  const rest = bytes - 6;
  const shift = BigInt(8 * rest);
  return { m, topMask: (1 << (bits - 8 * (bytes - 1))) - 1, rest, shift, mTop: Number(m >> shift) };
}

/** rng.below(m) < r for BigInts 0 <= r <= m, m >= 2^53: the same bytes read, the same answer. */
export function belowLess(rng: KeyedRandom, b: BigBound, r: bigint): boolean {
  // m >= 2^53 has at least 7 bytes: the first 6 are a Number, then `rest` more.
  const { m, topMask, rest, mTop } = b;
  const rTop = Number(r >> b.shift);
  for (;;) {
    let top = rng.byte() & topMask;
    for (let i = 1; i < 6; i++) top = top * 256 + rng.byte();
    // v lies in [top 2^s, (top + 1) 2^s): against x, top < floor(x / 2^s) means v < x, top > it means v > x.
    if (top !== mTop && top !== rTop) {
      rng.skip(rest);
      if (top > mTop) continue; // v >= m: rejected, as below() would
      return top < rTop;
    }
    let v = BigInt(top);
    for (let i = 0; i < rest; i++) v = (v << 8n) | BigInt(rng.byte());
    if (v < m) return v < r;
  }
}

/**
 * bernoulliExpMinus(rng, n, d) for BigInt n >= 0 and a d >= 2^53, reading the
 * stream as it does; `bounds[k - 1]` caches bigBound(k d).
 */
export function expBig(rng: KeyedRandom, n: bigint, d: bigint, bounds: BigBound[] = []): boolean {
  if (n > d) {
    // The reference subtracts d while n > d: q times with remainder r in (0, d], one unit test each.
    let q = n / d;
    let r = n - q * d;
    if (r === 0n) {
      q -= 1n;
      r = d;
    }
    for (let i = Number(q); i > 0; i--) if (!expUnitN(rng, 1, 1)) return false;
    n = r;
  }
  let k = 1;
  for (;;) {
    const b = bounds[k - 1] ?? (bounds[k - 1] = bigBound(d * BigInt(k)));
    if (!belowLess(rng, b, n)) break;
    k++;
  }
  return k % 2 === 1;
}

/**
 * A discrete Gaussian sampler for one sigma^2 = n/d, drawing exactly what
 * discreteGaussian(rng, n, d) draws from the same stream, as a Number. Falls
 * back to the BigInt reference when n, d or t are too large for the fast path.
 */
export class DiscreteGaussianSampler {
  private readonly fast: boolean;
  /** Every rational of the acceptance test below 2^53 (sigma^2 in lowest terms with a small denominator): no BigInt at all. */
  private readonly small: boolean;
  private readonly nN: number;
  private readonly tdN: number;
  private readonly denominatorN: number;
  private readonly t: number;
  private readonly td: bigint;
  private readonly denominator: bigint;
  private readonly bounds: BigBound[] = [];

  constructor(
    private readonly n: bigint,
    private readonly d: bigint,
  ) {
    if (n <= 0n || d <= 0n) throw new RangeError(`discreteGaussian: expected sigma^2 = n/d > 0, found ${n}/${d}`);
    const t = isqrt(n / d) + 1n;
    this.denominator = 2n * n * d * t * t;
    // The acceptance test's denominator is at least 2^53 for the d = 2^30 of rationalAtLeast; a smaller one takes the reference path.
    this.fast = t < 1n << 26n && this.denominator >= SAFE_BIG;
    this.small = t < 1n << 26n && this.denominator < SAFE_BIG;
    this.t = Number(t);
    this.td = t * d;
    this.nN = Number(n);
    this.tdN = Number(this.td);
    this.denominatorN = Number(this.denominator);
  }

  draw(rng: KeyedRandom): number {
    if (this.small) {
      for (;;) {
        const y = laplaceN(rng, this.t);
        // |y| t d - n and its square below 2^53 (so exact), else the same test in BigInt.
        const diff = (y < 0 ? -y : y) * this.tdN - this.nN;
        const sq = diff * diff;
        if (sq < SAFE) {
          if (expN(rng, sq, this.denominatorN)) return y;
          continue;
        }
        const big = BigInt(y < 0 ? -y : y) * this.td - this.n;
        if (bernoulliExpMinus(rng, big * big, this.denominator)) return y;
      }
    }
    if (!this.fast) return Number(discreteGaussian(rng, this.n, this.d));
    for (;;) {
      const y = laplaceN(rng, this.t);
      const diff = BigInt(y < 0 ? -y : y) * this.td - this.n;
      if (expBig(rng, diff * diff, this.denominator, this.bounds)) return y;
    }
  }
}
