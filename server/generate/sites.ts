/**
 * Drawing sites: where people live (by population), where in a region they
 * work or visit, and which sites are close to a given one.
 */
import type { Country } from './country.js';
import { NEIGHBOURS, type Network } from './network.js';
import { groupBy } from './csr.js';
import { AliasTable, cumulate, type Rng } from './prng.js';

export class SiteSampler {
  private readonly homes: AliasTable;
  /** Sites of each admin2 (CSR) with cumulative home weights, for weighted draws within a region. */
  private readonly a2Start: Int32Array;
  private readonly a2Sites: Int32Array;
  private readonly a2Cumulative: Float64Array[];
  /** Sites of each admin3 (CSR). */
  private readonly a3Start: Int32Array;
  private readonly a3Sites: Int32Array;

  constructor(
    country: Country,
    private readonly network: Network,
  ) {
    this.homes = new AliasTable(network.siteHomeWeight);
    const a3Of = network.siteAdmin3;
    const a2Of = (s: number) => country.admin3[a3Of[s]!]!.parent;
    [this.a3Start, this.a3Sites] = groupBy(network.siteCount, country.admin3.length, (s) => a3Of[s]!);
    [this.a2Start, this.a2Sites] = groupBy(network.siteCount, country.admin2.length, a2Of);
    this.a2Cumulative = country.admin2.map((_, g) =>
      cumulate(Array.from(this.a2Sites.subarray(this.a2Start[g]!, this.a2Start[g + 1]!), (s) => network.siteHomeWeight[s]! + 1e-9)),
    );
  }

  /** A site drawn by population: someone's home. */
  anyHome(rng: Rng): number {
    return this.homes.sample(rng);
  }

  /** A site of admin2 `g`, drawn by population. */
  inAdmin2(rng: Rng, g: number): number {
    return this.a2Sites[this.a2Start[g]! + rng.pickCumulative(this.a2Cumulative[g]!)]!;
  }

  /** Any site of admin3 `a` (uniform: sites are already denser where people are). */
  inAdmin3(rng: Rng, a: number): number {
    const n = this.a3Start[a + 1]! - this.a3Start[a]!;
    return n > 0 ? this.a3Sites[this.a3Start[a]! + rng.int(n)]! : this.anyHome(rng);
  }

  /** The k-th nearest other site of `site`, k in [0, NEIGHBOURS). */
  neighbour(site: number, k: number): number {
    return this.network.siteNeighbours[site * NEIGHBOURS + k]!;
  }
}
