/**
 * The exact samplers against their laws: chi-square goodness of fit at fixed
 * seeds (so a run is reproducible), variances, determinism of the keyed
 * stream and independence of streams with different labels.
 */
import { describe, expect, it } from 'vitest';
import { KeyedRandom } from '../../server/privacy/dp/rng.js';
import { bernoulliExpMinus, discreteGaussian, discreteLaplace, rationalAtLeast } from '../../server/privacy/dp/sampler.js';

const SECRET = Buffer.alloc(32, 7);

/** Upper 0.1% point of chi-square with df degrees of freedom (Wilson-Hilferty; z = 3.09). */
function chi2Critical(df: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + 3.09 * Math.sqrt(a)) ** 3;
}

/** Chi-square statistic of integer samples against pmf over [lo, hi], the tails pooled into the end bins. */
function chiSquare(samples: number[], pmf: (x: number) => number, lo: number, hi: number): { stat: number; df: number } {
  const observed = new Map<number, number>();
  for (const s of samples) {
    const x = Math.min(hi, Math.max(lo, s));
    observed.set(x, (observed.get(x) ?? 0) + 1);
  }
  let stat = 0;
  let below = 0;
  for (let x = -10_000; x < lo; x++) below += pmf(x);
  let above = 0;
  for (let x = hi + 1; x <= 10_000; x++) above += pmf(x);
  for (let x = lo; x <= hi; x++) {
    const p = pmf(x) + (x === lo ? below : 0) + (x === hi ? above : 0);
    const expected = p * samples.length;
    const o = observed.get(x) ?? 0;
    stat += (o - expected) ** 2 / expected;
  }
  return { stat, df: hi - lo };
}

function normalised(weight: (x: number) => number): (x: number) => number {
  let z = 0;
  for (let x = -10_000; x <= 10_000; x++) z += weight(x);
  return (x) => weight(x) / z;
}

describe('Bernoulli(exp(-gamma))', () => {
  for (const [n, d] of [
    [1n, 3n],
    [1n, 1n],
    [5n, 2n],
  ] as const) {
    it(`matches exp(-${n}/${d}) (chi-square, 20000 draws)`, () => {
      const rng = new KeyedRandom(SECRET, 'bernoulli', `${n}/${d}`);
      const N = 20_000;
      let ones = 0;
      for (let i = 0; i < N; i++) if (bernoulliExpMinus(rng, n, d)) ones++;
      const p = Math.exp(-Number(n) / Number(d));
      const stat = (ones - N * p) ** 2 / (N * p) + (N - ones - N * (1 - p)) ** 2 / (N * (1 - p));
      expect(stat).toBeLessThan(chi2Critical(1));
    });
  }

  it('is certain at gamma = 0', () => {
    const rng = new KeyedRandom(SECRET, 'zero');
    for (let i = 0; i < 100; i++) expect(bernoulliExpMinus(rng, 0n, 5n)).toBe(true);
  });
});

describe('discrete Laplace', () => {
  for (const [s, t] of [
    [1n, 1n],
    [7n, 2n],
  ] as const) {
    const b = Number(s) / Number(t);
    it(`scale ${s}/${t}: chi-square against (1 - e^-1/b) / (1 + e^-1/b) e^(-|x|/b), and variance`, () => {
      const rng = new KeyedRandom(SECRET, 'laplace', `${s}/${t}`);
      const samples = Array.from({ length: 20_000 }, () => Number(discreteLaplace(rng, s, t)));
      const q = Math.exp(-1 / b);
      const pmf = (x: number) => ((1 - q) / (1 + q)) * q ** Math.abs(x);
      const span = Math.ceil(4 * b);
      const { stat, df } = chiSquare(samples, pmf, -span, span);
      expect(stat).toBeLessThan(chi2Critical(df));
      // Variance 2q / (1 - q)^2; the sample variance of 20000 draws is within 6% of it.
      const variance = samples.reduce((a, x) => a + x * x, 0) / samples.length;
      expect(Math.abs(variance / ((2 * q) / (1 - q) ** 2) - 1)).toBeLessThan(0.06);
    });
  }
});

describe('discrete Gaussian', () => {
  for (const sigma2 of [0.5, 4, 30.25]) {
    it(`sigma^2 = ${sigma2}: chi-square against exp(-x^2 / 2 sigma^2), and variance`, () => {
      const { n, d } = rationalAtLeast(sigma2);
      const rng = new KeyedRandom(SECRET, 'gauss', String(sigma2));
      const samples = Array.from({ length: 20_000 }, () => Number(discreteGaussian(rng, n, d)));
      const pmf = normalised((x) => Math.exp(-(x * x) / (2 * sigma2)));
      const span = Math.max(2, Math.ceil(3 * Math.sqrt(sigma2)));
      const { stat, df } = chiSquare(samples, pmf, -span, span);
      expect(stat).toBeLessThan(chi2Critical(df));
      let variance = 0;
      for (let x = -2000; x <= 2000; x++) variance += x * x * pmf(x);
      const sampleVar = samples.reduce((a, x) => a + x * x, 0) / samples.length;
      expect(Math.abs(sampleVar / variance - 1)).toBeLessThan(0.06);
      // Symmetric: the mean is within 4 standard errors of 0.
      const mean = samples.reduce((a, x) => a + x, 0) / samples.length;
      expect(Math.abs(mean)).toBeLessThan(4 * Math.sqrt(variance / samples.length));
    });
  }
});

describe('the keyed stream', () => {
  it('replays the same noise for the same secret and labels', () => {
    const draw = (...labels: string[]) => {
      const rng = new KeyedRandom(SECRET, ...labels);
      return Array.from({ length: 50 }, () => discreteGaussian(rng, 9n, 1n));
    };
    expect(draw('query-a', 'row-1')).toEqual(draw('query-a', 'row-1'));
    expect(draw('query-a', 'row-1')).not.toEqual(draw('query-b', 'row-1'));
    // Labels are length-prefixed: ('ab', 'c') is not ('a', 'bc').
    expect(draw('ab', 'c')).not.toEqual(draw('a', 'bc'));
    // Another secret, another stream.
    const other = new KeyedRandom(Buffer.alloc(32, 8), 'query-a', 'row-1');
    expect(Array.from({ length: 50 }, () => discreteGaussian(other, 9n, 1n))).not.toEqual(draw('query-a', 'row-1'));
  });

  it('gives uncorrelated noise to different query ids (correlation of 4000 pairs within 4 standard errors of 0)', () => {
    const N = 4000;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < N; i++) {
      const x = Number(discreteGaussian(new KeyedRandom(SECRET, 'q1', String(i)), 25n, 1n));
      const y = Number(discreteGaussian(new KeyedRandom(SECRET, 'q2', String(i)), 25n, 1n));
      sxy += x * y;
      sxx += x * x;
      syy += y * y;
    }
    const r = sxy / Math.sqrt(sxx * syy);
    expect(Math.abs(r)).toBeLessThan(4 / Math.sqrt(N));
  });

  it('draws uniform integers below n without bias (chi-square over n = 6)', () => {
    const rng = new KeyedRandom(SECRET, 'uniform');
    const counts = new Array<number>(6).fill(0);
    const N = 12_000;
    for (let i = 0; i < N; i++) counts[Number(rng.below(6n))]!++;
    const stat = counts.reduce((a, o) => a + (o - N / 6) ** 2 / (N / 6), 0);
    expect(stat).toBeLessThan(chi2Critical(5));
  });

  it('refuses a short secret', () => {
    expect(() => new KeyedRandom(Buffer.alloc(16), 'x')).toThrow(/at least 32 bytes/);
  });
});

describe('rationalAtLeast', () => {
  it('never rounds a variance down', () => {
    for (const x of [0.1, 1 / 3, 2.5, 1234.5678, 1e-6]) {
      const { n, d } = rationalAtLeast(x);
      expect(Number(n) / Number(d)).toBeGreaterThanOrEqual(x);
      expect(Number(n) / Number(d) - x).toBeLessThan(1e-8 * Math.max(1, x) + 1e-9);
    }
  });
});

describe('the goodness-of-fit test itself', () => {
  it('has the power to reject a law 20% off in variance (so the passes above mean something)', () => {
    const rng = new KeyedRandom(SECRET, 'power');
    const samples = Array.from({ length: 20_000 }, () => Number(discreteGaussian(rng, 4n, 1n)));
    const wrong = normalised((x) => Math.exp(-(x * x) / (2 * 4.8)));
    const { stat, df } = chiSquare(samples, wrong, -6, 6);
    expect(stat).toBeGreaterThan(chi2Critical(df));
  });
});
