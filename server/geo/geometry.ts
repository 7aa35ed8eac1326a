/**
 * Measures on region geometry: area (for densities), bounding box (for the
 * spatial index), centroid (anchor of flow arcs) and great-circle distance
 * (radius of gyration, displacement: docs/QUERIES.md).
 */

import { area } from '@turf/area';
import type { MultiPolygonCoords } from './geojson.js';

/** Mean Earth radius (IUGG), km; the radius FlowKit and turf use. */
export const EARTH_RADIUS_KM = 6371.0088;

const RAD = Math.PI / 180;

/**
 * Spherical area in km² of a multipolygon, holes subtracted (turf's
 * Chamberlain–Duquette ring area on a sphere of EARTH_RADIUS_KM).
 * see: https://trs.jpl.nasa.gov/handle/2014/41271 (Chamberlain & Duquette 2007)
 */
export function areaKm2(polygons: MultiPolygonCoords): number {
  return area({ type: 'MultiPolygon', coordinates: polygons }) / 1e6;
}

/**
 * [minLon, minLat, maxLon, maxLat] over every position, holes included: they
 * should lie inside their outer ring, but bad data may not.
 */
export function bboxOf(polygons: MultiPolygonCoords): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const poly of polygons) {
    for (const ring of poly) {
      for (const [x, y] of ring) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  return [minX, minY, maxX, maxY];
}

/**
 * Planar signed area (degrees²) and area-weighted centroid of one polygon,
 * holes subtracted. Coordinates are taken relative to the first vertex so the
 * shoelace sums do not lose precision to large absolute longitudes.
 */
export function polygonMoments(rings: number[][][]): { area: number; lon: number; lat: number } {
  const [ox, oy] = rings[0][0];
  let a = 0;
  let cx = 0;
  let cy = 0;
  rings.forEach((ring, r) => {
    let ra = 0;
    let rx = 0;
    let ry = 0;
    for (let i = 0; i + 1 < ring.length; i++) {
      const x0 = ring[i][0] - ox;
      const y0 = ring[i][1] - oy;
      const x1 = ring[i + 1][0] - ox;
      const y1 = ring[i + 1][1] - oy;
      const cross = x0 * y1 - x1 * y0;
      ra += cross;
      rx += (x0 + x1) * cross;
      ry += (y0 + y1) * cross;
    }
    // Orientation differs between producers (RFC 7946 says CCW outer rings,
    // shapefiles say CW): force outer rings positive and holes negative.
    const sign = (r === 0) === ra >= 0 ? 1 : -1;
    a += (sign * ra) / 2;
    cx += (sign * rx) / 6;
    cy += (sign * ry) / 6;
  });
  if (a === 0) return { area: 0, lon: ox, lat: oy };
  return { area: a, lon: ox + cx / a, lat: oy + cy / a };
}

/**
 * Centroid [lon, lat] of a region: the area-weighted centroid of its largest
 * polygon, so that a mainland region with small islands is anchored on the
 * mainland. Planar in degrees, which is close enough for drawing arcs at the
 * scale of administrative regions; not guaranteed to lie inside a concave
 * polygon. Regions crossing the antimeridian are not handled.
 */
export function centroid(region: { polygons: MultiPolygonCoords }): [number, number] {
  let best = { area: -1, lon: NaN, lat: NaN };
  for (const poly of region.polygons) {
    const m = polygonMoments(poly);
    if (m.area > best.area) best = m;
  }
  return [best.lon, best.lat];
}

/** Great-circle distance in km between two WGS84 points (degrees), haversine on a sphere of EARTH_RADIUS_KM. */
export function haversineKm(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  // min() guards asin against s creeping over 1 by rounding for antipodal points.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(s)));
}
