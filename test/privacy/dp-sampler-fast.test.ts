/**
 * The samplers' fast path (Number arithmetic, BigInt only where a rational
 * passes 2^53) against the BigInt reference: for the same keyed stream it
 * must give the same draws, one by one, and leave the stream at the same
 * byte, so the reference's distribution tests (dp-sampler.test.ts) and the
 * replay of a query's noise hold for it unchanged.
 */
import { describe, expect, it } from 'vitest';
import { noiseVector } from '../../server/privacy/dp/mechanism.js';
import { bitLength, KeyedRandom } from '../../server/privacy/dp/rng.js';
import { belowLess, type BigBound, bernoulliExpMinus, bigBound, discreteGaussian, expBig, DiscreteGaussianSampler, lowestTerms, rationalAtLeast } from '../../server/privacy/dp/sampler.js';

const SECRET = Buffer.alloc(32, 9);

/** Draws `count` values with the reference and the fast path from two copies of one stream; the next 16 bytes of each. */
function both(n: bigint, d: bigint, count: number, label: string) {
  const a = new KeyedRandom(SECRET, 'fast-vs-exact', label);
  const b = new KeyedRandom(SECRET, 'fast-vs-exact', label);
  const sampler = new DiscreteGaussianSampler(n, d);
  const ref: number[] = [];
  const fast: number[] = [];
  for (let i = 0; i < count; i++) {
    ref.push(Number(discreteGaussian(a, n, d)));
    fast.push(sampler.draw(b));
  }
  const tail = (r: KeyedRandom) => Array.from({ length: 16 }, () => r.byte());
  return { ref, fast, refTail: tail(a), fastTail: tail(b) };
}

describe('the fast discrete Gaussian', () => {
  // sigma^2 in lowest terms, as noiseVector passes them: integers (cells / rho) and small dyadic fractions, whose
  // acceptance test fits a Number entirely (no BigInt), and one whose squared difference passes 2^53 at times.
  for (const [n, d] of [[1n, 1n], [3n, 1n], [10n, 1n], [40n, 1n], [160n, 1n], [5n, 4n], [11n, 8n], [100000n, 1n]] as const) {
    it(`draws what the BigInt reference draws for sigma^2 = ${n}/${d} in lowest terms (3000 draws, same stream position after)`, () => {
      const r = both(n, d, 3000, `lowest ${n}/${d}`);
      expect(r.fast).toEqual(r.ref);
      expect(r.fastTail).toEqual(r.refTail);
    });
  }
  it('puts the mechanism\'s sigma^2 in lowest terms without changing them', () => {
    expect(lowestTerms(rationalAtLeast(40))).toEqual({ n: 40n, d: 1n });
    expect(lowestTerms(rationalAtLeast(2.75))).toEqual({ n: 11n, d: 4n });
    expect(lowestTerms({ n: 6n, d: 4n })).toEqual({ n: 3n, d: 2n });
    // 1/3 rounded up to n / 2^30: n = 357913942 = 2 x 178956971 (odd).
    expect(lowestTerms(rationalAtLeast(1 / 3))).toEqual({ n: 178956971n, d: 1n << 29n });
  });

  // sigma^2 as the mechanism makes them (n / 2^30): the finals' and tree nodes' of small and large cell counts,
  // tiny ones (t = 1) and one whose n is beyond 2^53 (BigInt inputs to the fast path).
  for (const sigma2 of [0.5, 1, 2.75, 10, 40, 160, 1000.3, 123456.789, 1e9]) {
    it(`draws what the BigInt reference draws for sigma^2 = ${sigma2} (3000 draws, same stream position after)`, () => {
      const { n, d } = rationalAtLeast(sigma2);
      const r = both(n, d, 3000, String(sigma2));
      expect(r.fast).toEqual(r.ref);
      expect(r.fastTail).toEqual(r.refTail);
    });
  }

  it('takes the reference path, with the same draws, for rationals the fast path does not cover', () => {
    // d not a large power of two: the acceptance denominator 2 n d t^2 is below 2^53.
    for (const [n, d] of [
      [7n, 3n],
      [25n, 1n],
      [1n << 60n, 1n], // t = 2^30 + 1: beyond the Number Laplace's bound
    ] as const) {
      const r = both(n, d, 200, `${n}/${d}`);
      expect(r.fast).toEqual(r.ref);
      expect(r.fastTail).toEqual(r.refTail);
    }
  });

  it('gives noise vectors equal to drawing each entry with the reference from the (secret, query, node) stream', () => {
    // The mechanism's sigma^2 in lowest terms (40 / 1): the same law as 40 x 2^30 / 2^30, drawn from the stream as the reference draws it.
    const { n, d } = lowestTerms(rationalAtLeast(40));
    expect([n, d]).toEqual([40n, 1n]);
    const rng = new KeyedRandom(SECRET, 'q-7', '2:1');
    const expected = Array.from({ length: 500 }, () => Number(discreteGaussian(rng, n, d)));
    expect(Array.from(noiseVector(SECRET, 'q-7', '2:1', 500, 40))).toEqual(expected);
  });

  it('refuses a non-positive variance as the reference does', () => {
    expect(() => new DiscreteGaussianSampler(0n, 1n)).toThrow(/sigma\^2 = n\/d > 0/);
  });
});

describe('below(m) < r for m beyond 2^53, decided on the top 48 bits', () => {
  const first = (label: string, count: number) => {
    const r = new KeyedRandom(SECRET, 'tie', label);
    let v = 0n;
    for (let i = 0; i < count; i++) v = (v << 8n) | BigInt(r.byte());
    return v;
  };

  it('agrees with the reference for random m and r, and when the drawn top bits tie with m or r', () => {
    const cases: Array<[string, bigint, bigint]> = [
      ['plain', (1n << 71n) + 12345n, 1n << 70n],
      ['r = m', (1n << 80n) - 3n, (1n << 80n) - 3n],
      ['r = 0', 1n << 60n, 0n],
    ];
    // m and r whose top 48 bits equal the first draw's: the comparison needs the remaining bytes.
    const v = first('tie-m', 10); // 10 bytes: m below 2^80 with the top byte's mask keeping all of it
    cases.push(['tie-m above', v + 1n, v >> 1n], ['tie-m at', v, v >> 1n], ['tie-r', (1n << 80n) - 1n, v + 1n], ['tie-r at', (1n << 80n) - 1n, v]);
    for (const [label, m, r] of cases) {
      const tieLabel = label.startsWith('tie') ? 'tie-m' : label;
      const a = new KeyedRandom(SECRET, 'tie', tieLabel);
      const b = new KeyedRandom(SECRET, 'tie', tieLabel);
      const bound = bigBound(m);
      for (let i = 0; i < 50; i++) expect(belowLess(b, bound, r), `${label} draw ${i}`).toBe(a.below(m) < r);
      expect(b.byte()).toBe(a.byte());
    }
  });
});

describe('Bernoulli(exp(-n/d)) for d beyond 2^53', () => {
  it('agrees with the reference for gamma below 1, above 1, at whole numbers (n a multiple of d) and at 0', () => {
    const d = (5n << 70n) + 3n;
    for (const n of [0n, 1n, d / 3n, d, 2n * d, 3n * d, 2n * d + 1n, (7n * d) / 2n]) {
      const a = new KeyedRandom(SECRET, 'exp-big', String(n));
      const b = new KeyedRandom(SECRET, 'exp-big', String(n));
      const bounds: BigBound[] = [];
      for (let i = 0; i < 300; i++) expect(expBig(b, n, d, bounds), `n = ${n}, draw ${i}`).toBe(bernoulliExpMinus(a, n, d));
      expect(b.byte()).toBe(a.byte());
    }
  });
});

describe('the stream in Number arithmetic', () => {
  it('belowNumber reads the bytes below() reads and returns its value, for bounds from 1 to 2^53', () => {
    const bounds = [1, 2, 3, 6, 255, 256, 257, 65_535, 65_536, 1e6, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 1e12, 2 ** 52 + 3, 2 ** 53];
    for (const m of bounds) {
      const a = new KeyedRandom(SECRET, 'below', String(m));
      const b = new KeyedRandom(SECRET, 'below', String(m));
      for (let i = 0; i < 200; i++) expect(b.belowNumber(m)).toBe(Number(a.below(BigInt(m))));
      expect(b.byte()).toBe(a.byte());
    }
  });

  it('skip(n) leaves the stream where reading n bytes would, across the 4096-byte refills', () => {
    const a = new KeyedRandom(SECRET, 'skip');
    const b = new KeyedRandom(SECRET, 'skip');
    for (const n of [0, 1, 4095, 1, 5000, 8192, 3]) {
      for (let i = 0; i < n; i++) a.byte();
      b.skip(n);
      expect(b.byte()).toBe(a.byte());
    }
  });

  it('bitLength agrees with the binary expansion', () => {
    for (const x of [0, 1, 2, 3, 255, 256, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, 2 ** 53 - 1]) {
      expect(bitLength(x)).toBe(x === 0 ? 0 : x.toString(2).length);
    }
  });
});
