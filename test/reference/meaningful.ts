/**
 * FlowKit's meaningful locations (flowmachine features/subscriber/meaningful_locations.py,
 * hartigan_cluster.py and its SQL aggregate, call_days.py, scores.py (EventScore,
 * LabelEventScore), features/location/meaningful_locations_aggregate.py and _od.py),
 * as definitions in plain TypeScript:
 *
 * - the clustering and labelling of one subscriber's sites (`clusterSites`); the
 *   engine's typed-array version (meaningful-kernels.ts clustersOf) follows it step
 *   by step, and the tests hold the two equal;
 * - a plain reference from raw events (`refMeaningfulClusters`) and the aggregates
 *   over clusters (`refMeaningfulAggregate`, `refMeaningfulOD`) for the tests.
 *
 * Definitions and the choices made where FlowKit leaves things open:
 * - A "site" is a distinct cell position (the lon-lat unit: FlowKit uses versioned
 *   sites; co-located sites are one position here). Only located qualifying events
 *   of the window count (FlowKit joins events to locations; unlocated ones drop).
 * - Call days of a site: distinct calendar days with such an event there (CallDays).
 * - Site score: mean over its events of score_hour[local hour] and of
 *   score_dow[day of week] (EventScore's SUM / COUNT(*)). A day of week missing from
 *   the spec's scores counts as 0 (FlowKit's CASE gives NULL there: SUM skips it,
 *   COUNT(*) still counts the event).
 * - Hartigan leader clustering (SQL aggregate hartigan): sites in order of call days,
 *   descending (FlowKit orders only by call days; ties here go to the smaller
 *   longitude, then the smaller latitude: deterministic and independent of ids).
 *   A site joins the first cluster (in creation order) whose centroid is closer than
 *   tower_cluster_radius km (strict <, as the SQL), moving the centroid to the
 *   call-day-weighted mean of lon and lat; else it starts a new cluster. Distances
 *   are great-circle on a sphere of 6371.0088 km (PostGIS uses the spheroid).
 * - Clusters with fewer than tower_cluster_call_threshold call days in total are
 *   dropped (hartigan_buffer: weight >= call_threshold kept). No buffer: a cluster
 *   is its centroid point.
 * - Cluster score: the mean over its sites of the site scores (join_to_cluster_components:
 *   SUM / COUNT(*) over the member sites, not over events).
 * - Label: the first label, in the spec's order, whose polygon contains the point
 *   (score_hour, score_dow); none: 'unknown'. FlowKit rejects overlapping labels, so
 *   the order only matters for labels FlowKit would refuse. Containment follows the
 *   geo module's even-odd rule, written again here (refInside): a point on a west or
 *   south edge is inside (PostGIS's ST_Contains excludes every edge). Unclosed rings
 *   are closed.
 * - Aggregate: every cluster of the label counts 1 / n towards the region containing
 *   its centroid, n = the subscriber's clusters of that label (FlowKit's
 *   sum(1./n_clusters)). A centroid outside every region is dropped (FlowKit's LEFT
 *   JOIN would give a row with a null region).
 * - OD: every pair (cluster a, cluster b) of a subscriber with both counts
 *   1 / (n_a * n_b) towards (region of a, region of b).
 */
import { NULL_U32 } from '../../kernels/shared/constants.js';
import { dayOf, hourOf, qualifies, type RefEvent, type RefFilter } from './events.js';
import type { CoordLocator } from './metrics.js';
import type { DayOfWeek, LabelShape } from '../../server/engine/spec/meaningful.js';

// ---------------------------------------------------------------------------
// The oracle: plain definitions from docs/QUERIES.md (meaningful locations), with
// their own distance, day of week and point-in-polygon, sharing no helper with the
// engine.

/** The fields of a meaningful-locations spec the definitions read. */
export interface MeaningfulSpec {
  tower_hour_of_day_scores: number[];
  tower_day_of_week_scores: Partial<Record<DayOfWeek, number>>;
  tower_cluster_radius: number;
  tower_cluster_call_threshold: number;
  labels: Record<string, LabelShape>;
}

/** One subscriber's site: its position, call days, events and score sums. */
export interface Site {
  lon: number;
  lat: number;
  days: number;
  events: number;
  sumHour: number;
  sumDow: number;
}

export interface Cluster {
  lon: number;
  lat: number;
  callDays: number;
  scoreHour: number;
  scoreDow: number;
  label: string;
}

/** Great-circle distance in km on a sphere of 6371.0088 km (docs/QUERIES.md), by the haversine formula. */
export function refDistanceKm(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const toRad = Math.PI / 180;
  const phi1 = lat1 * toRad;
  const phi2 = lat2 * toRad;
  const half = (a: number) => Math.sin(a / 2) * Math.sin(a / 2);
  const h = half(phi2 - phi1) + Math.cos(phi1) * Math.cos(phi2) * half((lon2 - lon1) * toRad);
  return 2 * 6371.0088 * Math.asin(Math.sqrt(Math.min(h, 1)));
}

const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

/** The English name of a day (days since 1970), from the calendar rather than arithmetic. */
export function weekdayName(day: number): (typeof WEEKDAY_NAMES)[number] {
  return WEEKDAY_NAMES[new Date(day * 86_400_000).getUTCDay()]!;
}

/**
 * Whether (x, y) is inside a polygon (rings: outer first, then holes), even-odd:
 * count the edges crossed by a ray going east. An edge counts when exactly one of
 * its ends lies strictly above the point and it passes strictly east of it, so a
 * point on a west or south edge is inside, on an east or north edge outside
 * (docs/DATA.md). Rings need not be closed.
 */
export function refInside(rings: readonly (readonly number[])[][], x: number, y: number): boolean {
  let crossings = 0;
  for (const ring of rings) {
    for (let i = 0; i < ring.length; i++) {
      let [x0, y0] = ring[i]!;
      let [x1, y1] = ring[(i + 1) % ring.length]!;
      if (y0! > y === y1! > y) continue;
      if (y0! > y1!) [x0, y0, x1, y1] = [x1, y1, x0, y0];
      const xAtY = x0! + ((y - y0!) / (y1! - y0!)) * (x1! - x0!);
      if (x < xAtY) crossings++;
    }
  }
  return crossings % 2 === 1;
}

/** A labeller: the first label, in the spec's order, containing (hour score, dow score), else 'unknown'. */
export function labeller(labels: [string, LabelShape][]): (h: number, d: number) => string {
  const polygonsOf = (shape: LabelShape) => (shape.type === 'Polygon' ? [shape.coordinates as number[][][]] : (shape.coordinates as number[][][][]));
  return (h, d) => labels.find(([, shape]) => polygonsOf(shape).some((rings) => refInside(rings, h, d)))?.[0] ?? 'unknown';
}

/** Hartigan clusters of one subscriber's sites, thresholded and labelled (see the file comment). */
export function clusterSites(sites: Site[], params: { radiusKm: number; callThreshold: number }, label: (h: number, d: number) => string): Cluster[] {
  const ordered = [...sites].sort((a, b) => b.days - a.days || a.lon - b.lon || a.lat - b.lat);
  const clusters: { lon: number; lat: number; weight: number; members: Site[] }[] = [];
  for (const s of ordered) {
    const c = clusters.find((c) => refDistanceKm(c.lon, c.lat, s.lon, s.lat) < params.radiusKm);
    if (c) {
      const w = c.weight + s.days;
      c.lon = (c.lon * c.weight + s.lon * s.days) / w;
      c.lat = (c.lat * c.weight + s.lat * s.days) / w;
      c.weight = w;
      c.members.push(s);
    } else {
      clusters.push({ lon: s.lon, lat: s.lat, weight: s.days, members: [s] });
    }
  }
  const out: Cluster[] = [];
  for (const c of clusters) {
    if (c.weight < params.callThreshold) continue;
    let h = 0;
    let d = 0;
    for (const m of c.members) {
      h += m.sumHour / m.events;
      d += m.sumDow / m.events;
    }
    h /= c.members.length;
    d /= c.members.length;
    out.push({ lon: c.lon, lat: c.lat, callDays: c.weight, scoreHour: h, scoreDow: d, label: label(h, d) });
  }
  return out;
}

/** Reference: every subscriber's labelled clusters over the window, from raw events and the spec's own fields. */
export function refMeaningfulClusters(events: readonly RefEvent[], f: RefFilter, coords: CoordLocator, spec: MeaningfulSpec): Map<number, Cluster[]> {
  const sites = new Map<number, Map<string, Site & { lastDay: number }>>();
  events
    .map((event, index) => ({ event, index }))
    .filter(({ event }) => qualifies(event, f))
    .sort((a, b) => a.event.t - b.event.t || a.index - b.index)
    .forEach(({ event }) => {
      if (event.cell === NULL_U32) return;
      const day = dayOf(event.t);
      const c = coords(event.cell, day);
      if (typeof c === 'number') return;
      let bySite = sites.get(event.sub);
      if (!bySite) sites.set(event.sub, (bySite = new Map()));
      const key = `${c.lon},${c.lat}`;
      let s = bySite.get(key);
      if (!s) bySite.set(key, (s = { lon: c.lon, lat: c.lat, days: 0, events: 0, sumHour: 0, sumDow: 0, lastDay: -1 }));
      s.events++;
      if (s.lastDay !== day) {
        s.lastDay = day;
        s.days++;
      }
      s.sumHour += spec.tower_hour_of_day_scores[hourOf(event.t)]!;
      s.sumDow += spec.tower_day_of_week_scores[weekdayName(day)] ?? 0;
    });
  const label = labeller(Object.entries(spec.labels));
  const params = { radiusKm: spec.tower_cluster_radius, callThreshold: spec.tower_cluster_call_threshold };
  const out = new Map<number, Cluster[]>();
  for (const [sub, bySite] of sites) out.set(sub, clusterSites([...bySite.values()], params, label));
  return out;
}

/** Reference aggregate: weight per region (sum over subscribers of 1 / their clusters with the label). */
export function refMeaningfulAggregate(clusters: Map<number, Cluster[]>, label: string, regionOf: (lon: number, lat: number) => number): Map<number, number> {
  const out = new Map<number, number>();
  for (const list of clusters.values()) {
    const mine = list.filter((c) => c.label === label);
    for (const c of mine) {
      const r = regionOf(c.lon, c.lat);
      if (r >= 0) out.set(r, (out.get(r) ?? 0) + 1 / mine.length);
    }
  }
  return out;
}

/** Reference OD: weight per 'a,b' region pair over subscribers with clusters labelled in both. */
export function refMeaningfulOD(
  a: Map<number, Cluster[]>, labelA: string, b: Map<number, Cluster[]>, labelB: string, regionOf: (lon: number, lat: number) => number,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [sub, listA] of a) {
    const from = listA.filter((c) => c.label === labelA);
    const to = (b.get(sub) ?? []).filter((c) => c.label === labelB);
    for (const x of from) {
      for (const y of to) {
        const ra = regionOf(x.lon, x.lat);
        const rb = regionOf(y.lon, y.lat);
        if (ra < 0 || rb < 0) continue;
        const k = `${ra},${rb}`;
        out.set(k, (out.get(k) ?? 0) + 1 / (from.length * to.length));
      }
    }
  }
  return out;
}
