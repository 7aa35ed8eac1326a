/**
 * The geometry of an aggregation unit as GeoJSON: regions' polygons with their
 * p-code, name, parent, population and area, or the cells' points. Serves the
 * `geography` query kind and joins result rows to geometry for `.geojson`.
 */
import { centroid } from '../geo/geometry.js';
import type { Dimensions } from '../store/reader.js';
import type { LocationLabel } from './units.js';

export interface Feature {
  type: 'Feature';
  geometry: { type: 'MultiPolygon'; coordinates: number[][][][] } | { type: 'Point'; coordinates: [number, number] };
  properties: Record<string, string | number | null>;
}

export interface FeatureCollection {
  type: 'FeatureCollection';
  features: Feature[];
}

/** Every location of `unit` as a feature, in location index order. */
export function unitFeatures(dims: Dimensions, unit: string): FeatureCollection {
  const level = dims.regions.find((l) => l.unit === unit);
  if (level) {
    return {
      type: 'FeatureCollection',
      features: level.regions.map((r) => {
        const [lon, lat] = centroid(r);
        return {
          type: 'Feature',
          geometry: { type: 'MultiPolygon', coordinates: r.polygons },
          properties: {
            pcod: r.pcod,
            name: r.name,
            parent: r.parent ?? null,
            population: r.population ?? null,
            area_km2: r.areaKm2,
            centroid_lon: lon,
            centroid_lat: lat,
          },
        };
      }),
    };
  }
  // cell and lon-lat: points; a cell is drawn at its latest version.
  const seen = new Map<string, Feature>();
  for (const v of dims.cells.versions) {
    const id = unit === 'cell' ? dims.cells.ids[v.cell]! : `${v.lon},${v.lat}`;
    const properties: Feature['properties'] = unit === 'cell' ? { location_id: id, site_id: v.site } : { lon: v.lon, lat: v.lat };
    seen.set(id, { type: 'Feature', geometry: { type: 'Point', coordinates: [v.lon, v.lat] }, properties });
  }
  return { type: 'FeatureCollection', features: [...seen.values()] };
}

/** Result rows joined to the unit's geometry by their location columns (rows without geometry are kept with null geometry). */
export function joinGeometry(dims: Dimensions, unit: string, columns: readonly string[], rows: readonly Record<string, string | number | null>[]): object {
  const key = (p: LocationLabel | Record<string, unknown>) => columns.map((c) => String(p[c])).join('|');
  const byKey = new Map(unitFeatures(dims, unit).features.map((f) => [key(f.properties), f.geometry]));
  return {
    type: 'FeatureCollection',
    features: rows.map((row) => ({ type: 'Feature', geometry: byKey.get(key(row)) ?? null, properties: row })),
  };
}
