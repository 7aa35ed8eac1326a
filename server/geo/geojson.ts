/**
 * Reads the geometry of one boundary feature into the multipolygon layout the
 * rest of server/geo uses (polygons -> rings -> [lon, lat]), checking it on the
 * way so that later stages (area, point-in-polygon, packing) can trust it.
 */

import { Errors } from '../errors.js';

/** Polygons -> rings (first is the outer ring, the rest holes) -> [lon, lat] in WGS84 degrees. */
export type MultiPolygonCoords = number[][][][];

/** Short description of a JSON value for "found ..." in messages; never dumps large values. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') {
    const type = (value as { type?: unknown }).type;
    return typeof type === 'string' ? `an object of type '${type}'` : 'an object without a type';
  }
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '...' : value}'`;
  return String(value);
}

/**
 * Validates a Polygon or MultiPolygon geometry and returns its coordinates
 * with every ring closed (last position equal to the first; an unclosed ring
 * is closed rather than rejected, as GIS tools commonly write them).
 * `feature` is the 0-based index of the feature in the file, for messages.
 */
export function readPolygons(file: string, feature: number, geometry: unknown): MultiPolygonCoords {
  const fail = (why: string) => Errors.badGeometry(file, feature, why);
  if (geometry === null || typeof geometry !== 'object' || Array.isArray(geometry)) {
    throw fail(`expected a Polygon or MultiPolygon geometry, found ${describe(geometry)}`);
  }
  const { type, coordinates } = geometry as { type?: unknown; coordinates?: unknown };
  if (type !== 'Polygon' && type !== 'MultiPolygon') {
    throw fail(`expected a Polygon or MultiPolygon geometry, found ${describe(geometry)}`);
  }
  if (!Array.isArray(coordinates)) {
    throw fail(`expected ${type} coordinates to be an array, found ${describe(coordinates)}`);
  }
  if (type === 'Polygon') return [readPolygon(coordinates, '', fail)];
  if (coordinates.length === 0) throw fail('expected a MultiPolygon with at least one polygon, found none');
  return coordinates.map((poly, p) => readPolygon(poly, `polygon ${p}: `, fail));
}

function readPolygon(rings: unknown, at: string, fail: (why: string) => Error): number[][][] {
  if (!Array.isArray(rings)) throw fail(`${at}expected an array of rings, found ${describe(rings)}`);
  if (rings.length === 0) throw fail(`${at}expected at least one ring (the outer ring), found none`);
  return rings.map((ring, r) => readRing(ring, `${at}ring ${r}`, fail));
}

function readRing(ring: unknown, at: string, fail: (why: string) => Error): number[][] {
  if (!Array.isArray(ring)) throw fail(`${at}: expected an array of positions, found ${describe(ring)}`);
  const out: number[][] = new Array(ring.length);
  for (let i = 0; i < ring.length; i++) {
    const pos = ring[i] as unknown;
    if (!Array.isArray(pos) || pos.length < 2) {
      throw fail(`${at}, position ${i}: expected [lon, lat], found ${describe(pos)}`);
    }
    const [lon, lat] = pos as unknown[];
    if (typeof lon !== 'number' || typeof lat !== 'number' || !Number.isFinite(lon) || !Number.isFinite(lat)) {
      throw fail(`${at}, position ${i}: expected numeric [lon, lat], found [${describe(lon)}, ${describe(lat)}]`);
    }
    // Projected coordinates (UTM metres) are the usual mistake here; say so
    // rather than silently putting every tower outside every region.
    if (lon < -180 || lon > 180 || lat < -90 || lat > 90) {
      throw fail(
        `${at}, position ${i}: expected WGS84 degrees (lon in [-180, 180], lat in [-90, 90]), found [${lon}, ${lat}]`,
      );
    }
    out[i] = [lon, lat];
  }
  const n = out.length;
  if (n > 0 && (out[0][0] !== out[n - 1][0] || out[0][1] !== out[n - 1][1])) out.push([out[0][0], out[0][1]]);
  if (out.length < 4) {
    throw fail(`${at}: expected a closed ring of at least 4 positions, found ${ring.length}`);
  }
  return out;
}
