/**
 * Administrative boundaries: `DATASET/regions/adminN.geojson`, one file per
 * level, coarse (admin1) to fine (docs/DATA.md, regions). Loading checks everything
 * later stages rely on, and names the file and feature of anything wrong.
 */

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Errors } from '../errors.js';
import { describe, readPolygons, type MultiPolygonCoords } from './geojson.js';
import { areaKm2, bboxOf } from './geometry.js';
import { readProperties } from './properties.js';

export interface Region {
  /** P-code, unique within its level. */
  pcod: string;
  /** English name; the p-code when the file gives none. */
  name: string;
  /** P-code of the enclosing region one level up, when the file gives it. */
  parent?: string;
  /** Census population, when the file gives it. */
  population?: number;
  /** Spherical area from the geometry, km², holes subtracted. */
  areaKm2: number;
  /** Polygons -> rings (outer first, then holes) -> [lon, lat]; every ring closed. */
  polygons: MultiPolygonCoords;
  /** [minLon, minLat, maxLon, maxLat]. */
  bbox: [number, number, number, number];
}

export interface RegionLevel {
  /** N of adminN. */
  level: number;
  /** Aggregation unit name: `admin1`. */
  unit: string;
  /** In file order: regions[i] is feature i of the file. */
  regions: Region[];
  /** File the level was read from, for messages. */
  file: string;
}

const LEVEL_FILE = /^admin(\d+)\.geojson$/i;

/** Parses one level from already-read JSON text; `file` is used for messages only. */
export function parseRegionLevel(text: string, file: string, level: number): RegionLevel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw Errors.fileUnreadable(file, `expected GeoJSON, found invalid JSON (${(err as Error).message})`);
  }
  const fc = json as { type?: unknown; features?: unknown };
  if (json === null || typeof json !== 'object' || fc.type !== 'FeatureCollection') {
    throw Errors.notFeatureCollection(file, describe(json));
  }
  if (!Array.isArray(fc.features)) {
    throw Errors.notFeatureCollection(file, `a FeatureCollection whose features are ${describe(fc.features)}`);
  }
  const regions: Region[] = [];
  const seen = new Map<string, number>();
  fc.features.forEach((feature: unknown, i: number) => {
    if (feature === null || typeof feature !== 'object' || (feature as { type?: unknown }).type !== 'Feature') {
      throw Errors.badRegion(file, i, `expected a Feature, found ${describe(feature)}`);
    }
    const { geometry, properties } = feature as { geometry?: unknown; properties?: unknown };
    const props = readProperties(file, i, level, properties);
    const first = seen.get(props.pcod);
    if (first !== undefined) throw Errors.duplicatePcode(file, i, props.pcod, first);
    seen.set(props.pcod, i);
    const polygons = readPolygons(file, i, geometry);
    regions.push({ ...props, areaKm2: areaKm2(polygons), polygons, bbox: bboxOf(polygons) });
  });
  return { level, unit: `admin${level}`, regions, file };
}

/** Reads and checks one `adminN.geojson` file. */
export async function loadRegionLevel(file: string, level: number): Promise<RegionLevel> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw Errors.missingFile(file, 'a GeoJSON boundary file');
    throw Errors.fileUnreadable(file, e.message);
  }
  return parseRegionLevel(text, file, level);
}

/**
 * Every `regions/admin*.geojson` of a dataset, sorted by level, with the
 * hierarchy checked. A dataset without a regions folder has no levels (its
 * queries can still use the `cell` and `lon-lat` units).
 */
export async function loadRegionLevels(datasetDir: string): Promise<RegionLevel[]> {
  const dir = join(datasetDir, 'regions');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw Errors.fileUnreadable(dir, (err as Error).message);
  }
  const files = names
    .map((name) => ({ name, m: LEVEL_FILE.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map((f) => ({ file: join(dir, f.name), level: Number(f.m[1]) }))
    .sort((a, b) => a.level - b.level);
  for (let i = 1; i < files.length; i++) {
    if (files[i].level === files[i - 1].level) {
      const why = `expected one file for level ${files[i].level}, found also ${files[i - 1].file}`;
      throw Errors.fileUnreadable(files[i].file, why);
    }
  }
  const levels = await Promise.all(files.map((f) => loadRegionLevel(f.file, f.level)));
  validateHierarchy(levels);
  return levels;
}

/**
 * Checks that every parent p-code given at level N names a region of level
 * N-1. Regions without a parent are accepted, and so is a level whose parent
 * level is absent (admin1 and admin3 without admin2): nothing to check against.
 */
export function validateHierarchy(levels: readonly RegionLevel[]): void {
  const byLevel = new Map(levels.map((l) => [l.level, l]));
  for (const level of levels) {
    const up = byLevel.get(level.level - 1);
    if (!up) continue;
    const parents = new Set(up.regions.map((r) => r.pcod));
    level.regions.forEach((r, i) => {
      if (r.parent !== undefined && !parents.has(r.parent)) {
        throw Errors.unknownParent(level.file, i, r.parent, up.file);
      }
    });
  }
}
