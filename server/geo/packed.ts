/**
 * A region level flattened into typed arrays: the form the spatial index and
 * the point-in-polygon test run on, laid out so that a WebAssembly kernel can
 * take each array as an offset into linear memory unchanged (only Float64 and
 * Int32 columns, no objects, no per-polygon allocation).
 *
 * Hierarchy, every level a CSR ("start" arrays have one extra entry, so the
 * items of entry i are [start[i], start[i + 1])):
 *
 *   region r   -> polygons  [regionPolyStart[r], regionPolyStart[r + 1])
 *   polygon p  -> rings     [polyRingStart[p], polyRingStart[p + 1])   first ring is the outer ring
 *   ring q     -> positions [ringStart[q], ringStart[q + 1])           closed: last position == first
 *   position v -> lon = coords[2v], lat = coords[2v + 1]
 *
 * Polygons are numbered in region order, then in their order within the
 * region, so "lowest polygon index" means "first region in file order".
 * Edge v of a ring joins positions v and v + 1, for v in [ringStart[q], ringStart[q + 1] - 1).
 */

import type { RegionLevel } from './regions.js';

export interface PackedLevel {
  nRegions: number;
  nPolys: number;
  nRings: number;
  nPositions: number;
  /** 2 * nPositions: lon, lat interleaved, WGS84 degrees. */
  coords: Float64Array;
  /** nRings + 1: first position of each ring. */
  ringStart: Int32Array;
  /** nPolys + 1: first ring of each polygon. */
  polyRingStart: Int32Array;
  /** nRegions + 1: first polygon of each region. */
  regionPolyStart: Int32Array;
  /** nPolys: index of the region each polygon belongs to. */
  polyRegion: Int32Array;
  /** 4 * nPolys: minLon, minLat, maxLon, maxLat of each polygon. */
  polyBbox: Float64Array;
  /** 4: minLon, minLat, maxLon, maxLat of the whole level (zeros when the level has no polygon). */
  bbox: Float64Array;
}

export function packLevel(level: RegionLevel): PackedLevel {
  let nPolys = 0;
  let nRings = 0;
  let nPositions = 0;
  for (const region of level.regions) {
    for (const poly of region.polygons) {
      nPolys++;
      for (const ring of poly) {
        nRings++;
        nPositions += ring.length;
      }
    }
  }
  const nRegions = level.regions.length;
  const coords = new Float64Array(2 * nPositions);
  const ringStart = new Int32Array(nRings + 1);
  const polyRingStart = new Int32Array(nPolys + 1);
  const regionPolyStart = new Int32Array(nRegions + 1);
  const polyRegion = new Int32Array(nPolys);
  const polyBbox = new Float64Array(4 * nPolys);
  const bbox = new Float64Array([Infinity, Infinity, -Infinity, -Infinity]);

  let p = 0;
  let q = 0;
  let v = 0;
  level.regions.forEach((region, r) => {
    regionPolyStart[r] = p;
    for (const poly of region.polygons) {
      polyRingStart[p] = q;
      polyRegion[p] = r;
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (const ring of poly) {
        ringStart[q++] = v;
        for (const [x, y] of ring) {
          coords[2 * v] = x;
          coords[2 * v + 1] = y;
          v++;
          if (x < minX) minX = x;
          if (x > maxX) maxX = x;
          if (y < minY) minY = y;
          if (y > maxY) maxY = y;
        }
      }
      polyBbox.set([minX, minY, maxX, maxY], 4 * p);
      if (minX < bbox[0]) bbox[0] = minX;
      if (minY < bbox[1]) bbox[1] = minY;
      if (maxX > bbox[2]) bbox[2] = maxX;
      if (maxY > bbox[3]) bbox[3] = maxY;
      p++;
    }
  });
  regionPolyStart[nRegions] = p;
  polyRingStart[nPolys] = q;
  ringStart[nRings] = v;
  if (nPolys === 0) bbox.fill(0);
  return {
    nRegions,
    nPolys,
    nRings,
    nPositions,
    coords,
    ringStart,
    polyRingStart,
    regionPolyStart,
    polyRegion,
    polyBbox,
    bbox,
  };
}

/**
 * The crossing test for one edge: does the ray from (x, y) towards +lon cross
 * the edge (x0, y0)-(x1, y1)? Half-open in y (an edge counts when exactly one
 * endpoint lies strictly above y), strict in x (a point exactly on the edge
 * does not count it). The intersection is computed from the lower endpoint,
 * so that an edge shared by two neighbours, which walk it in opposite
 * directions, gives both the same answer and a border point lands in exactly
 * one of them.
 * see: https://wrfranklin.org/Research/Short_Notes/pnpoly.html (W. R. Franklin, PNPOLY)
 */
export function crossesRight(x0: number, y0: number, x1: number, y1: number, x: number, y: number): boolean {
  if (y0 > y === y1 > y) return false;
  return y0 < y1 ? x < ((x1 - x0) * (y - y0)) / (y1 - y0) + x0 : x < ((x0 - x1) * (y - y1)) / (y0 - y1) + x1;
}

/** Even-odd point-in-polygon over all rings of packed polygon `p` (holes included). */
export function pointInPackedPolygon(pk: PackedLevel, p: number, x: number, y: number): boolean {
  const { coords, ringStart, polyRingStart } = pk;
  let inside = false;
  for (let q = polyRingStart[p]; q < polyRingStart[p + 1]; q++) {
    const end = ringStart[q + 1] - 1;
    for (let v = ringStart[q]; v < end; v++) {
      if (crossesRight(coords[2 * v], coords[2 * v + 1], coords[2 * v + 2], coords[2 * v + 3], x, y)) inside = !inside;
    }
  }
  return inside;
}
