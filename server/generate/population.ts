/**
 * Census population: a rural density over the whole country plus a few cities
 * whose people spread over the admin3 units around them, so that density
 * falls off with distance from the city centres.
 */
import type { Country } from './country.js';
import { areaKm2, distDeg } from './geometry.js';
import { Rng } from './prng.js';

export interface City {
  name: string;
  x: number;
  y: number;
  population: number;
  /** admin3 index of the city centre. */
  admin3: number;
}

export interface Census {
  cities: City[];
  /** People per admin3 unit (integers). */
  admin3: Float64Array;
  /** Share of each admin3's people that live there because of a city, in [0, 1]. */
  urbanShare: Float64Array;
  /** Nearest city of each admin3 (index into cities). */
  nearestCity: Int32Array;
}

const CITY_SIGMA_DEG = 0.25;
const MIN_CITY_SPACING_DEG = 1.0;

/** Fills `population` on every region of the country and returns the census. */
export function buildCensus(seed: string, country: Country): Census {
  const rng = Rng.derive(seed, 'census');
  const a3 = country.admin3;

  // Cities: a capital and a few regional towns, spaced apart.
  const sizes = [2_500_000, 900_000, 650_000, 450_000, 300_000];
  const cities: City[] = [];
  const order = rng.shuffle([...a3.keys()]);
  for (const i of order) {
    if (cities.length === sizes.length) break;
    const r = a3[i]!;
    if (i === country.lake.admin3) continue;
    if (cities.some((c) => distDeg(c.x, c.y, r.x, r.y) < MIN_CITY_SPACING_DEG)) continue;
    const population = Math.round(sizes[cities.length]! * rng.range(0.85, 1.15));
    cities.push({ name: r.name, x: r.x, y: r.y, population, admin3: i });
  }

  const people = new Float64Array(a3.length);
  const urban = new Float64Array(a3.length);
  a3.forEach((r, i) => (people[i] = areaKm2(r.polygons) * rng.range(20, 60)));
  for (const city of cities) {
    const kernel = a3.map((r) => Math.exp(-(distDeg(city.x, city.y, r.x, r.y) ** 2) / (2 * CITY_SIGMA_DEG ** 2)));
    const total = kernel.reduce((s, k) => s + k, 0);
    kernel.forEach((k, i) => (urban[i] = urban[i]! + (city.population * k) / total));
  }
  const nearestCity = new Int32Array(a3.length);
  const urbanShare = new Float64Array(a3.length);
  a3.forEach((r, i) => {
    const total = Math.round(people[i]! + urban[i]!);
    people[i] = total;
    urbanShare[i] = urban[i]! / total;
    r.population = total;
    let best = 0;
    cities.forEach((c, k) => {
      if (distDeg(c.x, c.y, r.x, r.y) < distDeg(cities[best]!.x, cities[best]!.y, r.x, r.y)) best = k;
    });
    nearestCity[i] = best;
  });
  for (const r of country.admin2) r.population = 0;
  for (const r of country.admin1) r.population = 0;
  for (const r of a3) country.admin2[r.parent]!.population += r.population;
  for (const r of country.admin2) country.admin1[r.parent]!.population += r.population;
  return { cities, admin3: people, urbanShare, nearestCity };
}
