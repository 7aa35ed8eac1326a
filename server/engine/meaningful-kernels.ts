/**
 * Typed wrappers of the meaningful-locations kernels (kernels/meaningful.ts): a
 * per-(subscriber, position) table of call days, events and score sums that grows
 * itself, and the step from its entries to each subscriber's labelled clusters.
 *
 * The per-event pass is the kernel; the clustering runs here in TypeScript over the
 * table's entries (a few per subscriber), following the definitions of docs/QUERIES.md
 * (meaningful locations) that the tests' reference (test/reference/meaningful.ts) writes
 * out on its own. The parameters the planner reads from a spec are here too.
 */
import { STATUS_CAPACITY } from '../../kernels/shared/constants.js';
import type { Allocator } from '../wasm/arena.js';
import { GrowingTable } from '../wasm/growing.js';
import type { Ptr } from '../wasm/memory.js';
import { haversineKm } from '../geo/geometry.js';
import { pointInPolygon } from '../geo/pip.js';
import type { DayOfWeek, LabelShape } from './spec/meaningful.js';
import { type EventColumns, type KernelFilter, type Kernels, type LocTable, check, checkDrops, checkFilter } from './wasm.js';

/** The order of MeaningfulParams.dowScores: Monday first, as the kernel numbers days of the week. */
export const DAYS_OF_WEEK: readonly DayOfWeek[] = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

/** A meaningful-locations step's parameters, read from its spec once by the planner (meaningfulParams). */
export interface MeaningfulParams {
  /** 24 scores, hour 0 first. */
  hourScores: number[];
  /** 7 scores, Monday first (a day missing from the spec: 0). */
  dowScores: number[];
  radiusKm: number;
  callThreshold: number;
  /** Labels in the spec's order. */
  labels: [string, LabelShape][];
}

/** The fields of a meaningful-locations spec the parameters come from. */
export interface ScoringSpec {
  tower_hour_of_day_scores: number[];
  tower_day_of_week_scores: Partial<Record<DayOfWeek, number>>;
  tower_cluster_radius: number;
  tower_cluster_call_threshold: number;
  labels: Record<string, LabelShape>;
}

/** The planner's params from a validated spec. */
export function meaningfulParams(spec: ScoringSpec): MeaningfulParams {
  return {
    hourScores: [...spec.tower_hour_of_day_scores],
    dowScores: DAYS_OF_WEEK.map((d) => spec.tower_day_of_week_scores[d] ?? 0),
    radiusKm: spec.tower_cluster_radius,
    callThreshold: spec.tower_cluster_call_threshold,
    labels: Object.entries(spec.labels),
  };
}

function closed(ring: number[][]): number[][] {
  const a = ring[0]!;
  const b = ring[ring.length - 1]!;
  return a[0] === b[0] && a[1] === b[1] ? ring : [...ring, a];
}

/** Polygons of a label shape, rings closed. */
export function labelPolygons(shape: LabelShape): number[][][][] {
  const polys = shape.type === 'Polygon' ? [shape.coordinates as number[][][]] : (shape.coordinates as number[][][][]);
  return polys.map((rings) => rings.map(closed));
}

/** The per-(subscriber, position) table of call days, events and score sums, growing itself (wasm/growing.ts). */
export class ScoreTable extends GrowingTable {
  constructor(private readonly k: Kernels, heap: Allocator, initialCapacity = 1024) {
    super(heap, {
      bytes: (c) => k.raw.meaningfulTableBytes(c) >>> 0,
      clear: (p, c) => check('meaningfulTableClear', k.raw.meaningfulTableClear(p, c), `a capacity that is a power of two in [8, 2^26], found ${c}`),
      rehash: (src, sc, dst, dc) => check('meaningfulTableRehash', k.raw.meaningfulTableRehash(src, sc, dst, dc), `room in ${dc} slots for ${k.raw.meaningfulTableUsed(src) >>> 0} entries`),
    }, initialCapacity);
  }

  get size(): number {
    return this.k.raw.meaningfulTableUsed(this.ptr) >>> 0;
  }

  /** Adds one day's rows (days in increasing order across calls); the table grows as needed. */
  accumulate(ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, scores: { hour: Ptr; dow: Ptr }, drops: Ptr): void {
    checkFilter('meaningfulAccumulate', f);
    this.rows(ev.n, (done) => {
      const status = this.k.raw.meaningfulAccumulate(
        ev.n - done, ev.sub + 4 * done, ev.t + 4 * done, ev.cell + 4 * done, ev.kind + done, loc.loc, loc.nCells,
        f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, scores.hour, scores.dow, this.ptr, this.cap, drops,
      );
      checkDrops('meaningfulAccumulate', this.k.memory, drops);
      if (status === STATUS_CAPACITY) return this.k.raw.meaningfulTableConsumed(this.ptr) >>> 0;
      check('meaningfulAccumulate', status, `a table cleared for ${this.cap} slots and every sub < ${nSubs}`);
      return ev.n - done;
    });
  }

  /** The entries, copied out of shared memory. */
  entries(): { sub: Uint32Array; loc: Int32Array; events: Uint32Array; days: Uint32Array; sumHour: Float64Array; sumDow: Float64Array } {
    const n = Math.max(this.size, 1);
    const p = [4, 4, 4, 4, 8, 8].map((b) => this.heap.alloc(b * n));
    const count = this.k.raw.meaningfulEntries(this.ptr, this.cap, p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!);
    if (count < 0) throw new Error(`meaningfulEntries: expected a table cleared for ${this.cap} slots`);
    const buf = this.k.memory.buffer;
    const out = {
      sub: new Uint32Array(buf, p[0]!, count).slice(),
      loc: new Int32Array(buf, p[1]!, count).slice(),
      events: new Uint32Array(buf, p[2]!, count).slice(),
      days: new Uint32Array(buf, p[3]!, count).slice(),
      sumHour: new Float64Array(buf, p[4]!, count).slice(),
      sumDow: new Float64Array(buf, p[5]!, count).slice(),
    };
    for (const ptr of p.reverse()) this.heap.release(ptr);
    return out;
  }
}

/** Labelled clusters of a partition, grouped by subscriber (ascending), each subscriber's in creation order. */
export interface ClusterList {
  count: number;
  sub: Uint32Array;
  lon: Float64Array;
  lat: Float64Array;
  /** Index into the spec's labels, or -1 for 'unknown'. */
  label: Int32Array;
}

/** The label index of a label name for ClusterList.label: -1 'unknown', -2 a name no cluster can have. */
export function labelIndex(params: MeaningfulParams, name: string): number {
  if (name === 'unknown') return -1;
  const i = params.labels.findIndex(([n]) => n === name);
  return i >= 0 ? i : -2;
}

/**
 * Each local subscriber's labelled clusters from a table's entries; `points` are the
 * lon-lat unit's positions (the table's locations index them). The same definitions
 * as the reference's clusterSites (test/reference/meaningful.ts; the tests hold them equal), over typed
 * arrays: entries grouped by subscriber with a counting sort, each subscriber's sites
 * ordered by call days descending, then longitude, then latitude.
 */
export function clustersOf(
  entries: ReturnType<ScoreTable['entries']>,
  points: { lon: Float64Array; lat: Float64Array },
  params: MeaningfulParams,
  nSubs: number,
): ClusterList {
  const n = entries.sub.length;
  const start = new Uint32Array(nSubs + 1);
  for (let i = 0; i < n; i++) start[entries.sub[i]! + 1]++;
  for (let s = 0; s < nSubs; s++) start[s + 1] += start[s]!;
  const order = new Uint32Array(n);
  const fill = start.slice(0, nSubs);
  for (let i = 0; i < n; i++) order[fill[entries.sub[i]!]!++] = i;
  const lonOf = (i: number) => points.lon[entries.loc[i]!]!;
  const latOf = (i: number) => points.lat[entries.loc[i]!]!;
  const before = (a: number, b: number) => {
    const da = entries.days[a]!;
    const db = entries.days[b]!;
    if (da !== db) return da > db;
    const la = lonOf(a);
    const lb = lonOf(b);
    return la !== lb ? la < lb : latOf(a) < latOf(b);
  };
  const out: ClusterList = { count: 0, sub: new Uint32Array(n), lon: new Float64Array(n), lat: new Float64Array(n), label: new Int32Array(n) };
  const shapes = params.labels.map(([, shape]) => labelPolygons(shape));
  const labelOf = (h: number, d: number) => shapes.findIndex((polys) => polys.some((rings) => pointInPolygon(rings, h, d)));
  let maxGroup = 0;
  for (let s = 0; s < nSubs; s++) maxGroup = Math.max(maxGroup, start[s + 1]! - start[s]!);
  const cLon = new Float64Array(maxGroup);
  const cLat = new Float64Array(maxGroup);
  const cW = new Float64Array(maxGroup);
  const cH = new Float64Array(maxGroup);
  const cD = new Float64Array(maxGroup);
  const cN = new Float64Array(maxGroup);
  for (let s = 0; s < nSubs; s++) {
    const lo = start[s]!;
    const hi = start[s + 1]!;
    if (lo === hi) continue;
    // Insertion sort: a subscriber has a handful of sites.
    for (let i = lo + 1; i < hi; i++) {
      const v = order[i]!;
      let j = i - 1;
      while (j >= lo && before(v, order[j]!)) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = v;
    }
    let k = 0;
    for (let i = lo; i < hi; i++) {
      const e = order[i]!;
      const lon = lonOf(e);
      const lat = latOf(e);
      const days = entries.days[e]!;
      let c = 0;
      while (c < k && !(haversineKm(cLon[c]!, cLat[c]!, lon, lat) < params.radiusKm)) c++;
      if (c < k) {
        const w = cW[c]! + days;
        cLon[c] = (cLon[c]! * cW[c]! + lon * days) / w;
        cLat[c] = (cLat[c]! * cW[c]! + lat * days) / w;
        cW[c] = w;
      } else {
        cLon[c] = lon;
        cLat[c] = lat;
        cW[c] = days;
        cH[c] = 0;
        cD[c] = 0;
        cN[c] = 0;
        k++;
      }
      cH[c] += entries.sumHour[e]! / entries.events[e]!;
      cD[c] += entries.sumDow[e]! / entries.events[e]!;
      cN[c]++;
    }
    for (let c = 0; c < k; c++) {
      if (cW[c]! < params.callThreshold) continue;
      const at = out.count++;
      out.sub[at] = s;
      out.lon[at] = cLon[c]!;
      out.lat[at] = cLat[c]!;
      out.label[at] = labelOf(cH[c]! / cN[c]!, cD[c]! / cN[c]!);
    }
  }
  return out;
}
