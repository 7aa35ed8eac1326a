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
