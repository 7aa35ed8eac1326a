/**
 * The cell dimension: a dictionary of cell ids (the keys events store), the
 * versions of each cell from cells.csv, and each version's region at every
 * administrative level. Keys are stable across ingests: an id once seen keeps
 * its key, so stored days never need rewriting when cells.csv changes.
 */
import type { RegionLevel } from '../geo/regions.js';
import { assignPoints } from '../geo/pip.js';

export interface CellVersion {
  /** Key of the cell this version belongs to. */
  cell: number;
  site: string;
  lon: number;
  lat: number;
  /** First and last valid day (days since 1970, inclusive); null = unbounded. */
  from: number | null;
  to: number | null;
}

export interface CellTableJson {
  ids: string[];
  versions: CellVersion[];
  /** Unit name (admin1, ...) -> region index per version, -1 outside every region. */
  regions: Record<string, number[]>;
}

export class CellTable {
  readonly ids: string[];
  private readonly byId: Map<string, number>;
  versions: CellVersion[];
  regions: Record<string, Int32Array>;

  constructor(json?: CellTableJson) {
    this.ids = json ? [...json.ids] : [];
    this.byId = new Map(this.ids.map((id, i) => [id, i]));
    this.versions = json ? json.versions : [];
    this.regions = json
      ? Object.fromEntries(Object.entries(json.regions).map(([k, v]) => [k, Int32Array.from(v)]))
      : {};
  }

  get size(): number {
    return this.ids.length;
  }

  /** The key of a cell id, adding it when new (an event may name a cell cells.csv lacks). */
  indexOf(id: string): number {
    let key = this.byId.get(id);
    if (key === undefined) {
      key = this.ids.length;
      this.ids.push(id);
      this.byId.set(id, key);
    }
    return key;
  }

  keyOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  /** Replaces the versions (a new cells.csv) and recomputes their regions at every level. */
  setVersions(versions: CellVersion[], levels: readonly RegionLevel[]): void {
    this.versions = versions;
    const lon = Float64Array.from(versions, (v) => v.lon);
    const lat = Float64Array.from(versions, (v) => v.lat);
    this.regions = {};
    for (const level of levels) this.regions[level.unit] = assignPoints(level, lon, lat);
  }

  /**
   * The versions after a delivery's cells.csv (`delivered`) is laid over the
   * stored ones: for each cell the delivery names, its versions hold on the
   * days they cover, and the stored versions keep the days they do not cover
   * (cut around them); cells the delivery does not name keep every version.
   * So a delivery that lists only today's cells never takes locations away
   * from the days already stored. Sorted by cell and start, so the same table
   * delivered again gives the same versions (and dimsHash).
   */
  static overlay(stored: readonly CellVersion[], delivered: readonly CellVersion[]): CellVersion[] {
    const covered = new Map<number, [number, number][]>();
    for (const v of delivered) {
      let list = covered.get(v.cell);
      if (!list) covered.set(v.cell, (list = []));
      list.push([v.from ?? -Infinity, v.to ?? Infinity]);
    }
    const kept: CellVersion[] = [];
    for (const v of stored) {
      const cuts = covered.get(v.cell);
      if (!cuts) {
        kept.push(v);
        continue;
      }
      for (const [from, to] of uncovered(v.from ?? -Infinity, v.to ?? Infinity, cuts)) {
        kept.push({ ...v, from: from === -Infinity ? null : from, to: to === Infinity ? null : to });
      }
    }
    const out = [...kept, ...delivered];
    const start = (v: CellVersion) => v.from ?? -Infinity;
    // Stable: versions of a cell that start the same day keep their order (the later one wins in versionsOn).
    return out.map((v, i) => [v, i] as const).sort(([a, i], [b, j]) => a.cell - b.cell || start(a) - start(b) || i - j).map(([v]) => v);
  }

  /**
   * For one day, the index of the version of every cell key valid that day, -1
   * when none is. Where versions overlap, the one with the latest start wins.
   */
  versionsOn(day: number): Int32Array {
    const out = new Int32Array(this.ids.length).fill(-1);
    const start = new Float64Array(this.ids.length).fill(-Infinity);
    this.versions.forEach((v, i) => {
      if ((v.from !== null && day < v.from) || (v.to !== null && day > v.to)) return;
      const s = v.from ?? -1e9;
      if (out[v.cell] === -1 || s >= start[v.cell]!) {
        out[v.cell] = i;
        start[v.cell] = s;
      }
    });
    return out;
  }

  toJSON(): CellTableJson {
    return {
      ids: this.ids,
      versions: this.versions,
      regions: Object.fromEntries(Object.entries(this.regions).map(([k, v]) => [k, Array.from(v)])),
    };
  }
}

/** The parts of the day range [from, to] (inclusive; infinite ends allowed) that no range of `cuts` covers. */
function uncovered(from: number, to: number, cuts: readonly [number, number][]): [number, number][] {
  let parts: [number, number][] = [[from, to]];
  for (const [a, b] of cuts) {
    const next: [number, number][] = [];
    for (const [s, e] of parts) {
      if (b < s || a > e) {
        next.push([s, e]);
        continue;
      }
      if (a > s) next.push([s, a - 1]);
      if (b < e) next.push([b + 1, e]);
    }
    parts = next;
  }
  return parts;
}
