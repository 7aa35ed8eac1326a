/**
 * The wire contract between the service and the page (docs/SERVICE.md): the
 * stream's frames, the tier limits sent with the auth answer, the REST bodies
 * the dashboard reads, and the order of units. One module that both compile:
 * the service under tsconfig.json and the dashboard under its own (DOM, no Node
 * types), so it imports nothing.
 */

/** What the token's tier may see: `limits` of the stream's auth answer. */
export interface Limits {
  /** Units of this store the tier may see, coarse to fine. */
  units: string[];
  /** The finest time resolution it may see (second ... year). */
  temporal: string;
  kinds: string[];
  download: boolean;
  live: boolean;
  historyDays: number | null;
  freshnessDays: number | null;
}

export type Row = Record<string, string | number | null>;

export interface RegionValue {
  pcod: string;
  name?: string;
  value: number | null;
  withheld?: string;
}

export interface FlowValue {
  pcod_from: string;
  pcod_to: string;
  value: number;
}

/** An OPAL indicator for one unit and period (GET /indicators/<id>, or a stream final's `indicator`). */
export interface IndicatorResult {
  indicator: string;
  unit: string;
  aggregation_unit: string;
  period: { resolution: string; key: string; start: string; end: string; first_day: string; last_day: string };
  values?: RegionValue[];
  flows?: FlowValue[];
  withheld: Record<string, number>;
  /** `disclosure`: the k and resident floor the values were withheld by (read defensively: older services lack it). */
  metadata: { definition: string; specs: { role: string; spec: unknown }[]; notes: string[]; disclosure?: { k?: number; residentFloor?: number } };
  /** The protection of the values (privacy.ts reads it; optional). */
  privacy?: unknown;
}

export type Frame =
  | { op: 'auth'; ok: boolean; sub: string; tier: string; limits: Limits }
  | { op: 'partial'; id: string; tier: string | null; fraction: number; rows: Row[]; refresh?: boolean; privacy?: unknown }
  /** `refresh`: sent again by a live tier's subscription after an ingest changed a day it reads. */
  | { op: 'final'; id: string; tier: string | null; rows?: Row[]; withheld?: number; query_id?: string; indicator?: IndicatorResult; last: boolean; refresh?: boolean; privacy?: unknown }
  | { op: 'error'; id: string | null; code: string; message: string }
  | { op: 'unsubscribed'; id: string };

/** One entry of GET /indicators. */
export interface CatalogEntry {
  id: string;
  category: string;
  unit: string;
  shape: 'region' | 'od';
  description: string;
  spatial: string[];
  temporal: string[];
}

export interface GeoFeature {
  type: 'Feature';
  geometry: { type: 'MultiPolygon' | 'Polygon'; coordinates: unknown } | null;
  properties: { pcod: string; name: string; centroid_lon: number; centroid_lat: number };
}

export interface Geography {
  type: 'FeatureCollection';
  features: GeoFeature[];
}

/** Coarse to fine: admin1 .. adminN, then lon-lat (positions), then cell. */
export function unitRank(unit: string): number {
  const m = /^admin(\d+)$/.exec(unit);
  if (m) return Number(m[1]);
  return unit === 'lon-lat' ? 1000 : unit === 'cell' ? 1001 : 2000;
}

/** `units` coarse to fine (unitRank), ties by name. */
export function unitOrder(units: readonly string[]): string[] {
  return [...units].sort((a, b) => unitRank(a) - unitRank(b) || a.localeCompare(b));
}
