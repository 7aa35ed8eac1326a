/**
 * The operator's radio network: sites (masts) placed with a density that
 * follows population, 1-3 cells per site, and a cell table with the awkward
 * cases real ones have: cells moved mid-period (two versions of the same
 * cell_id), cells retired or commissioned mid-period, a cell on a stilt
 * village in the lake (inside a hole: unlocated at every level) and one on an
 * offshore platform (in no polygon at all).
 */
import type { Calendar } from './calendar.js';
import type { Country } from './country.js';
import { bbox, distDeg, inMultiPolygon, round6 } from './geometry.js';
import type { Census } from './population.js';
import { Rng } from './prng.js';

/** People served by one site, on average. */
const PEOPLE_PER_SITE = 8000;
/** Nearest other sites kept per site, for small moves around the current place. */
export const NEIGHBOURS = 6;
/** Day index standing for "no bound". */
const OPEN = 1 << 30;

export interface CellVersion {
  cell: number;
  lon: number;
  lat: number;
  /** Inclusive day indices of the period; -OPEN / OPEN when unbounded (written empty). */
  from: number;
  to: number;
}

export interface Network {
  siteCount: number;
  siteLon: Float64Array;
  siteLat: Float64Array;
  /** Logical admin3 of each site (the lake village's admin3 for the lake site, the nearest coast's for the platform). */
  siteAdmin3: Int32Array;
  /** People living around each site: how likely it is to be someone's home. */
  siteHomeWeight: Float64Array;
  /** Cells of site s are siteCellStart[s] .. siteCellStart[s+1]-1. */
  siteCellStart: Int32Array;
  /** Nearest NEIGHBOURS sites of each site, row-major. */
  siteNeighbours: Int32Array;
  cellCount: number;
  cellSite: Int32Array;
  cellIds: string[];
  siteIds: string[];
  /** Rows of cells.csv, sorted by cell then start. */
  versions: CellVersion[];
  /** Day range each cell carries traffic, inclusive. */
  cellFirstDay: Int32Array;
  cellLastDay: Int32Array;
  lakeSite: number;
  offshoreSite: number;
}

export function buildNetwork(seed: string, country: Country, census: Census, calendar: Calendar): Network {
  const rng = Rng.derive(seed, 'network');
  const lon: number[] = [];
  const lat: number[] = [];
  const admin3: number[] = [];
  const weight: number[] = [];
  const cellsPerSite: number[] = [];

  country.admin3.forEach((r, i) => {
    const n = Math.max(1, Math.round(r.population / PEOPLE_PER_SITE));
    const city = census.cities[census.nearestCity[i]!]!;
    const [x0, y0, x1, y1] = bbox(r.polygons);
    for (let k = 0; k < n; k++) {
      let x = NaN;
      let y = NaN;
      // Urban people cluster around the city centre, the others spread evenly.
      const nearCity = rng.chance(census.urbanShare[i]!);
      for (let tries = 0; tries < 200; tries++) {
        const tx = nearCity && tries < 50 ? city.x + rng.normal() * 0.08 : rng.range(x0, x1);
        const ty = nearCity && tries < 50 ? city.y + rng.normal() * 0.08 : rng.range(y0, y1);
        if (inMultiPolygon(tx, ty, r.polygons)) {
          x = tx;
          y = ty;
          break;
        }
      }
      if (Number.isNaN(x)) continue;
      lon.push(round6(x));
      lat.push(round6(y));
      admin3.push(i);
      weight.push(r.population / n);
      const urban = census.urbanShare[i]! > 0.5;
      cellsPerSite.push(urban ? (rng.chance(0.7) ? 3 : 2) : 1 + Math.min(2, Math.floor(rng.next() * 2.6)));
    }
  });
  const meanWeight = weight.reduce((s, w) => s + w, 0) / weight.length;
  // The stilt village in the lake: people live there; the platform: only workers.
  const lakeSite = lon.length;
  lon.push(country.lake.x);
  lat.push(country.lake.y);
  admin3.push(country.lake.admin3);
  weight.push(meanWeight);
  cellsPerSite.push(1);
  const offshoreSite = lon.length;
  lon.push(country.offshore[0]);
  lat.push(country.offshore[1]);
  admin3.push(nearestAdmin3(country, country.offshore[0], country.offshore[1]));
  weight.push(0);
  cellsPerSite.push(1);

  const siteCount = lon.length;
  const siteCellStart = new Int32Array(siteCount + 1);
  for (let s = 0; s < siteCount; s++) siteCellStart[s + 1] = siteCellStart[s]! + cellsPerSite[s]!;
  const cellCount = siteCellStart[siteCount]!;
  const cellSite = new Int32Array(cellCount);
  const siteIds: string[] = [];
  const cellIds: string[] = [];
  for (let s = 0; s < siteCount; s++) {
    const number = String(s + 1).padStart(5, '0');
    siteIds.push(`S${number}`);
    for (let c = siteCellStart[s]!; c < siteCellStart[s + 1]!; c++) {
      cellSite[c] = s;
      cellIds.push(`C${number}-${c - siteCellStart[s]! + 1}`);
    }
  }

  const { versions, first, last } = versionCells(rng, calendar, lon, lat, siteCellStart, cellSite, [lakeSite, offshoreSite]);
  return {
    siteCount,
    siteLon: Float64Array.from(lon),
    siteLat: Float64Array.from(lat),
    siteAdmin3: Int32Array.from(admin3),
    siteHomeWeight: Float64Array.from(weight),
    siteCellStart,
    siteNeighbours: nearestSites(lon, lat),
    cellCount,
    cellSite,
    cellIds,
    siteIds,
    versions,
    cellFirstDay: first,
    cellLastDay: last,
    lakeSite,
    offshoreSite,
  };
}

/**
 * A few cells move (two versions), a few retire before the end, a few start
 * after the beginning. Only sites with two or more cells lose or gain one, so
 * that every site always has a working cell. Needs at least three days.
 */
function versionCells(
  rng: Rng,
  calendar: Calendar,
  lon: number[],
  lat: number[],
  siteCellStart: Int32Array,
  cellSite: Int32Array,
  specialSites: number[],
): { versions: CellVersion[]; first: Int32Array; last: Int32Array } {
  const cellCount = cellSite.length;
  const first = new Int32Array(cellCount).fill(-OPEN);
  const last = new Int32Array(cellCount).fill(OPEN);
  const versions: CellVersion[] = [];
  const moved = new Map<number, number>();
  const days = calendar.days;
  if (days >= 3) {
    const perKind = Math.max(3, Math.round(cellCount * 0.004));
    const multi = [...Array(siteCellStart.length - 1).keys()].filter(
      (s) => siteCellStart[s + 1]! - siteCellStart[s]! >= 2 && !specialSites.includes(s),
    );
    rng.shuffle(multi);
    // The last cell of a multi-cell site retires or arrives; a whole other site's first cell moves.
    for (const s of multi.slice(0, perKind)) last[siteCellStart[s + 1]! - 1] = rng.int(days - 1);
    for (const s of multi.slice(perKind, 2 * perKind)) first[siteCellStart[s + 1]! - 1] = 1 + rng.int(days - 1);
    for (const s of multi.slice(2 * perKind, 3 * perKind)) moved.set(siteCellStart[s]!, 1 + rng.int(days - 1));
  }
  for (let c = 0; c < cellCount; c++) {
    const s = cellSite[c]!;
    const change = moved.get(c);
    if (change === undefined) {
      versions.push({ cell: c, lon: lon[s]!, lat: lat[s]!, from: first[c]!, to: last[c]! });
    } else {
      // Re-sited 1-3 km away: same cell_id, new position from the change day on.
      const a = rng.next() * 2 * Math.PI;
      const d = rng.range(0.01, 0.03);
      versions.push({ cell: c, lon: lon[s]!, lat: lat[s]!, from: -OPEN, to: change - 1 });
      versions.push({ cell: c, lon: round6(lon[s]! + d * Math.cos(a)), lat: round6(lat[s]! + d * Math.sin(a)), from: change, to: OPEN });
    }
  }
  return { versions, first, last };
}

/** Brute-force k nearest sites (insertion into a k-list); fine for the few thousand sites of one country. */
function nearestSites(lon: number[], lat: number[]): Int32Array {
  const n = lon.length;
  const out = new Int32Array(n * NEIGHBOURS);
  const bestD = new Float64Array(NEIGHBOURS);
  const best = new Int32Array(NEIGHBOURS);
  for (let s = 0; s < n; s++) {
    bestD.fill(Infinity);
    best.fill(s);
    for (let t = 0; t < n; t++) {
      if (t === s) continue;
      const d = distDeg(lon[s]!, lat[s]!, lon[t]!, lat[t]!);
      if (d >= bestD[NEIGHBOURS - 1]!) continue;
      let k = NEIGHBOURS - 1;
      while (k > 0 && bestD[k - 1]! > d) {
        bestD[k] = bestD[k - 1]!;
        best[k] = best[k - 1]!;
        k--;
      }
      bestD[k] = d;
      best[k] = t;
    }
    out.set(best, s * NEIGHBOURS);
  }
  return out;
}

function nearestAdmin3(country: Country, x: number, y: number): number {
  let best = 0;
  country.admin3.forEach((r, i) => {
    const b = country.admin3[best]!;
    if (distDeg(x, y, r.x, r.y) < distDeg(x, y, b.x, b.y)) best = i;
  });
  return best;
}

/** YYYY-MM-DD of a bound, or '' when unbounded. */
export function boundText(calendar: Calendar, day: number): string {
  return Math.abs(day) >= OPEN ? '' : calendar.date(day);
}
