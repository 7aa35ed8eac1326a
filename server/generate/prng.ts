/**
 * Seeded randomness for the generator. Everything random in a generated
 * dataset comes from here, never from Math.random, so that the same options
 * give byte-identical files.
 *
 * Streams are named: `Rng.derive(seed, 'subscribers')` and
 * `Rng.derive(seed, 'day', 3)` are independent of each other, so adding a draw
 * to one stage does not shift the numbers of every later stage.
 */

/** FNV-1a over a string's UTF-16 code units; 32-bit unsigned. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Murmur3's finaliser: a bijective 32-bit mix with good avalanche. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128-bit state,
 * passes PractRand, and runs on 32-bit integer ops that V8 keeps unboxed.
 * see: https://pracrand.sourceforge.net/RNG_engines.txt
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Second value of the last Box-Muller pair, NaN when none is cached. */
  private spare = NaN;

  constructor(s0: number, s1: number, s2: number, s3: number) {
    this.a = s0 | 0;
    this.b = s1 | 0;
    this.c = s2 | 0;
    this.d = s3 | 0;
    // Warm up so that similar seeds give unrelated streams.
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** An independent stream named by the user's seed and a path of labels or numbers. */
  static derive(seed: string, ...path: (string | number)[]): Rng {
    const h = hashString(`${seed}/${path.join('/')}`);
    return new Rng(mix32(h ^ 0x1234567), mix32(h ^ 0x89abcdef), mix32(h + 0x3c6ef372), h);
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    const u = 1 - this.next(); // (0, 1]: log stays finite
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and log-scale sigma: heavy right tail. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Poisson count: inversion for small means, a rounded normal for large ones. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 64) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Index drawn from cumulative weights (ascending, last = total) by binary search. */
  pickCumulative(cumulative: ArrayLike<number>): number {
    const n = cumulative.length;
    const x = this.next() * cumulative[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

/** Running sums of weights, for `Rng.pickCumulative`. */
export function cumulate(weights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i]!;
    out[i] = sum;
  }
  return out;
}

/**
 * Walker's alias table (Vose's construction): O(1) draws from a fixed discrete
 * distribution, for picking the subscriber of each of millions of events.
 * see: M. D. Vose, "A linear algorithm for generating random numbers with a given distribution", 1991
 */
export class AliasTable {
  readonly size: number;
  /** Interleaved [probability, alias] per entry: one cache line per draw, not two. */
  private readonly table: Float64Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.size = n;
    this.table = new Float64Array(2 * n);
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i]!;
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / total;
      if (scaled[i]! < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns]!;
      const l = large[--nl]!;
      this.table[2 * s] = scaled[s]!;
      this.table[2 * s + 1] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      if (scaled[l]! < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    // Leftovers are 1 up to rounding error.
    while (nl > 0) this.table[2 * large[--nl]!] = 1;
    while (ns > 0) this.table[2 * small[--ns]!] = 1;
  }

  /** One draw. */
  sample(rng: Rng): number {
    const i = Math.floor(rng.next() * this.size);
    return rng.next() < this.table[2 * i]! ? i : this.table[2 * i + 1]!;
  }
}

/**
 * Inverse of the standard normal CDF, by Acklam's rational approximation
 * (relative error < 1.2e-9): for building quantile tables once.
 * see: P. J. Acklam, "An algorithm for computing the inverse normal cumulative distribution function", 2003
 */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * A continuous distribution tabulated at 4096 quantiles, rounded to integers
 * and clamped: one random number and one load per draw, where sampling a
 * log-normal directly costs a log, a sqrt, a cosine and an exp.
 */
export class QuantileTable {
  private readonly values: Int32Array;

  constructor(quantile: (p: number) => number, min: number, max: number) {
    this.values = new Int32Array(4096);
    for (let k = 0; k < 4096; k++) {
      this.values[k] = Math.min(max, Math.max(min, Math.round(quantile((k + 0.5) / 4096))));
    }
  }

  static logNormal(median: number, sigma: number, min: number, max: number): QuantileTable {
    return new QuantileTable((p) => median * Math.exp(sigma * normalQuantile(p)), min, max);
  }

  draw(rng: Rng): number {
    return this.values[rng.u32() >>> 20]!;
  }
}
