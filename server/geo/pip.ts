/**
 * Point in region: which region of a level contains each cell tower.
 *
 * Rule: even-odd (crossing number) over all rings of a polygon, so holes are
 * honoured without relying on ring orientation; a region contains a point when
 * any of its polygons does.
 *
 * Boundary rule (deterministic, half-open): an edge counts when exactly one of
 * its endpoints lies strictly north of the point, and when its crossing lies
 * strictly east of the point (see crossesRight). In effect a point on a border
 * belongs to the region east of it, or north of it on an east-west border: an
 * axis-aligned square [0,1]x[0,1] contains its west and south sides and
 * corner (0,0), not its east and north sides. Two regions sharing an edge get
 * the same crossing from it, so a border point is in exactly one of them.
 *
 * Overlapping regions (bad data): the first region in file order wins, in the
 * brute force and in the grid index alike.
 */

import { buildGridIndex, locate, type GridIndex, type GridOptions } from './grid.js';
import { crossesRight, packLevel } from './packed.js';
import type { Region, RegionLevel } from './regions.js';

/** Even-odd test of one polygon (rings: outer first, then holes; each closed). */
export function pointInPolygon(rings: readonly number[][][], lon: number, lat: number): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0; i + 1 < ring.length; i++) {
      const a = ring[i];
      const b = ring[i + 1];
      if (crossesRight(a[0], a[1], b[0], b[1], lon, lat)) inside = !inside;
    }
  }
  return inside;
}

/** Reference test, plain brute force over the region's polygons. */
export function pointInRegion(region: Region, lon: number, lat: number): boolean {
  const [minX, minY, maxX, maxY] = region.bbox;
  if (!(lon >= minX && lon <= maxX && lat >= minY && lat <= maxY)) return false;
  return region.polygons.some((rings) => pointInPolygon(rings, lon, lat));
}

/** Reference assignment: first region containing each point, -1 for none. O(points x vertices). */
export function assignPointsBrute(level: RegionLevel, lon: Float64Array, lat: Float64Array): Int32Array {
  const out = new Int32Array(lon.length).fill(-1);
  for (let i = 0; i < lon.length; i++) {
    out[i] = level.regions.findIndex((r) => pointInRegion(r, lon[i], lat[i]));
  }
  return out;
}

// A level's index is built on first use and kept as long as the level object
// lives; levels are treated as immutable once loaded.
const indexes = new WeakMap<RegionLevel, GridIndex>();

/** The grid index of a level, built once and cached (options apply to the first build only). */
export function levelIndex(level: RegionLevel, opts?: GridOptions): GridIndex {
  let ix = indexes.get(level);
  if (!ix) {
    ix = buildGridIndex(packLevel(level), opts);
    indexes.set(level, ix);
  }
  return ix;
}

/**
 * For each point (lon[i], lat[i]) in WGS84 degrees, the index in
 * `level.regions` of the region containing it, or -1 when none does (NaN
 * coordinates included). Same answers as assignPointsBrute, via the grid index.
 */
export function assignPoints(level: RegionLevel, lon: Float64Array, lat: Float64Array): Int32Array {
  if (lon.length !== lat.length) {
    throw new RangeError(`assignPoints: expected lon and lat of equal length, found ${lon.length} and ${lat.length}`);
  }
  return locate(levelIndex(level), lon, lat);
}
