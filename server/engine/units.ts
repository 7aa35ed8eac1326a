/**
 * Aggregation units (docs/DATA.md): admin1..adminN, lon-lat and cell. For a unit
 * and a day, the location table maps every cell key to a location index, or
 * to a negative drop code saying why an event there cannot be located. The
 * kernels only ever see these tables, so version selection by date and the
 * tower-to-region join happen once per (unit, day), not per event.
 */
import { SpecError } from '../errors.js';
import type { Dimensions } from '../store/reader.js';

/** Drop codes, as the kernels count them (index into the drop counters). */
export const DROP_NO_CELL = -1;
export const DROP_NO_VERSION = -2;
export const DROP_OUTSIDE = -3;

export interface Dropped {
  /** Events without a cell id. */
  noCell: number;
  /** Events whose cell id is unknown or has no version valid on the event's date. */
  unknownCell: number;
  /** Events whose cell lies outside every region of the unit. */
  outsideRegion: number;
}

export type LocationLabel = Record<string, string | number>;

/** The locations of one unit: how many, and the FlowKit columns naming each. */
export interface UnitSpace {
  unit: string;
  size: number;
  /** FlowKit's column names for a location of this unit. */
  columns: readonly string[];
  label(index: number): LocationLabel;
}

export class Units {
  private readonly spaces = new Map<string, UnitSpace>();
  private readonly lonLatOfVersion: Int32Array;
  private readonly versionCache = new Map<number, Int32Array>();

  constructor(private readonly dims: Dimensions) {
    const { cells, regions } = dims;
    for (const level of regions) {
      this.spaces.set(level.unit, {
        unit: level.unit,
        size: level.regions.length,
        columns: ['pcod'],
        label: (i) => ({ pcod: level.regions[i]!.pcod }),
      });
    }
    this.spaces.set('cell', {
      unit: 'cell',
      size: cells.size,
      columns: ['location_id'],
      label: (i) => ({ location_id: cells.ids[i]! }),
    });
    // lon-lat: one location per distinct position of any cell version.
    const byPosition = new Map<string, number>();
    const positions: [number, number][] = [];
    this.lonLatOfVersion = Int32Array.from(cells.versions, (v) => {
      const k = `${v.lon},${v.lat}`;
      let i = byPosition.get(k);
      if (i === undefined) {
        i = positions.length;
        byPosition.set(k, i);
        positions.push([v.lon, v.lat]);
      }
      return i;
    });
    this.spaces.set('lon-lat', {
      unit: 'lon-lat',
      size: positions.length,
      columns: ['lon', 'lat'],
      label: (i) => ({ lon: positions[i]![0], lat: positions[i]![1] }),
    });
  }

  names(): string[] {
    return [...this.spaces.keys()];
  }

  space(unit: string): UnitSpace {
    const s = this.spaces.get(unit);
    if (!s) throw new SpecError('UNKNOWN_UNIT', `aggregation_unit: expected one of ${this.names().join(', ')}, found ${JSON.stringify(unit)}`, 'aggregation_unit');
    return s;
  }

  /** Per cell key, the version valid on `day` (days since 1970), -1 for none. Cached per day. */
  versionsOn(day: number): Int32Array {
    let v = this.versionCache.get(day);
    if (!v) {
      v = this.dims.cells.versionsOn(day);
      this.versionCache.set(day, v);
    }
    return v;
  }

  /** The location table of `unit` on `day`: cell key -> location index, or a drop code. */
  table(unit: string, day: number, out?: Int32Array): Int32Array {
    this.space(unit);
    const versions = this.versionsOn(day);
    const table = out ?? new Int32Array(versions.length);
    const regionOf = this.dims.cells.regions[unit];
    for (let key = 0; key < versions.length; key++) {
      const v = versions[key]!;
      if (v < 0) table[key] = DROP_NO_VERSION;
      else if (unit === 'cell') table[key] = key;
      else if (unit === 'lon-lat') table[key] = this.lonLatOfVersion[v]!;
      else table[key] = regionOf![v]! >= 0 ? regionOf![v]! : DROP_OUTSIDE;
    }
    return table;
  }

  /** Longitude and latitude of each cell key's version on `day` (NaN for none): for distances. */
  positions(day: number): { lon: Float64Array; lat: Float64Array } {
    const versions = this.versionsOn(day);
    const lon = new Float64Array(versions.length).fill(NaN);
    const lat = new Float64Array(versions.length).fill(NaN);
    for (let key = 0; key < versions.length; key++) {
      const v = versions[key]!;
      if (v >= 0) {
        lon[key] = this.dims.cells.versions[v]!.lon;
        lat[key] = this.dims.cells.versions[v]!.lat;
      }
    }
    return { lon, lat };
  }
}
