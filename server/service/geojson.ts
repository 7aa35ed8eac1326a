/**
 * GeoJSON bodies for the REST routes, on the engine's geometry
 * (server/engine/geography.ts): a unit's features for /geography/<unit>, and
 * a result's rows joined to the geometry of the unit they are in for
 * /get/<id>.geojson. OD results become one feature per region with its
 * outflows and inflows, as FlowKit's flows do (features/location/flows.py,
 * to_geojson).
 */
import type { Engine, QueryResult } from '../engine/engine.js';
import { joinGeometry, unitFeatures } from '../engine/geography.js';
import { HttpError } from './http.js';

/** /geography/<unit>: every region of an admin level, or every cell or position as a point. */
export function geographyOf(engine: Engine, unit: string): object {
  return unitFeatures(engine.store.dims(), unit);
}

/** A result's rows joined to the geometry of `unit` (the spec's output unit). */
export function resultGeoJson(result: QueryResult, unit: string | undefined, engine: Engine): object {
  const locationColumns = unit ? engine.loaded.units.space(unit).columns : [];
  const cols = new Set(result.columns);
  if (unit && cols.has('pcod_from') && cols.has('pcod_to')) return odFeatures(result, engine, unit);
  if (locationColumns.length === 0 || !locationColumns.every((c) => cols.has(c))) {
    throw new HttpError(
      400,
      'NO_GEOMETRY',
      `geojson: expected a result with the location columns of its unit (${locationColumns.join(', ') || 'none'}), found columns ${result.columns.join(', ')}`,
    );
  }
  return joinGeometry(engine.store.dims(), unit!, locationColumns, result.rows);
}

function odFeatures(result: QueryResult, engine: Engine, unit: string): object {
  const geometry = new Map(unitFeatures(engine.store.dims(), unit).features.map((f) => [String(f.properties.pcod), f.geometry]));
  type Flows = Record<string, number | Record<string, number>>;
  const regions = new Map<string, { outflows: Flows; inflows: Flows }>();
  const at = (k: string) => {
    let r = regions.get(k);
    if (!r) regions.set(k, (r = { outflows: {}, inflows: {} }));
    return r;
  };
  // labelled_flows has a row per (from, to, label): the pair's value is then an object by label, or every label but one would be lost.
  const labelled = result.columns.includes('value_label');
  const put = (flows: Flows, other: string, row: QueryResult['rows'][number]) => {
    if (!labelled) flows[other] = Number(row.value);
    else ((flows[other] ??= {}) as Record<string, number>)[String(row.value_label)] = Number(row.value);
  };
  for (const row of result.rows) {
    const from = String(row.pcod_from);
    const to = String(row.pcod_to);
    put(at(from).outflows, to, row);
    put(at(to).inflows, from, row);
  }
  return {
    type: 'FeatureCollection',
    features: [...regions].map(([pcod, flows]) => ({ type: 'Feature', geometry: geometry.get(pcod) ?? null, properties: { pcod, ...flows } })),
  };
}
