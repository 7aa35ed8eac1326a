/**
 * Test helpers for the generator: generate into a temporary folder, read the
 * files back with plain code (no generator module), and a point-in-polygon
 * of our own, so that the tests check the files, not the generator's beliefs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { generate, type GenerateOptions, type GenerateSummary } from '../../server/generate/index.js';
import { EVENT_COLUMNS } from '../../server/store/schema.js';

export interface EventRow {
  msisdn: string;
  datetime: string;
  cell_id: string;
  event_type: string;
  outgoing: string;
  duration: string;
  msisdn_counterpart: string;
  recharge_amount: string;
}

export const COLUMNS = EVENT_COLUMNS;

const made: string[] = [];

/** Generates into a fresh temporary folder. */
export async function generateTmp(options: Omit<GenerateOptions, 'out'>): Promise<{ dir: string; summary: GenerateSummary }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-gen-'));
  made.push(dir);
  const summary = await generate({ ...options, out: dir });
  return { dir, summary };
}

/** Removes every folder made by generateTmp (call from afterAll). */
export function cleanup(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Every file of a folder, relative path -> bytes. */
export function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (sub: string) => {
    for (const e of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, e.name);
      if (e.isDirectory()) walk(rel);
      else out.set(rel, fs.readFileSync(path.join(dir, rel)));
    }
  };
  walk('');
  return out;
}

/** Parses a generated CSV (no quoting needed: values hold no commas). */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

/** Event rows of one events file (.csv or .csv.gz). */
export function readEventsCsv(file: string): EventRow[] {
  const raw = fs.readFileSync(file);
  const text = file.endsWith('.gz') ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const { header, rows } = parseCsv(text);
  if (header.join(',') !== COLUMNS.join(',')) throw new Error(`unexpected header ${header.join(',')}`);
  return rows.map((r) => Object.fromEntries(COLUMNS.map((c, i) => [c, r[i] ?? ''])) as unknown as EventRow);
}

/** All events of a CSV dataset, files in name order. */
export function readDatasetEvents(dir: string): EventRow[] {
  const files = fs.readdirSync(path.join(dir, 'events')).sort();
  return files.flatMap((f) => readEventsCsv(path.join(dir, 'events', f)));
}

export interface CellRow {
  cell_id: string;
  site_id: string;
  lon: number;
  lat: number;
  valid_from: string;
  valid_to: string;
}

export function readCells(dir: string): CellRow[] {
  const { header, rows } = parseCsv(fs.readFileSync(path.join(dir, 'cells.csv'), 'utf8'));
  expectHeader(header, ['cell_id', 'site_id', 'lon', 'lat', 'valid_from', 'valid_to']);
  return rows.map(([cell_id, site_id, lon, lat, valid_from, valid_to]) => ({
    cell_id: cell_id!,
    site_id: site_id!,
    lon: Number(lon),
    lat: Number(lat),
    valid_from: valid_from!,
    valid_to: valid_to!,
  }));
}

function expectHeader(found: string[], expected: string[]): void {
  if (found.join(',') !== expected.join(',')) throw new Error(`header ${found.join(',')}, expected ${expected.join(',')}`);
}

type Ring = [number, number][];
export type Geometry = { type: 'Polygon'; coordinates: Ring[] } | { type: 'MultiPolygon'; coordinates: Ring[][] };
export interface Feature {
  properties: Record<string, string | number>;
  geometry: Geometry;
}

export function readLevel(dir: string, level: number): Feature[] {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'regions', `admin${level}.geojson`), 'utf8'));
  return json.features as Feature[];
}

/** Polygons of a geometry as lists of rings (outer first). */
export function polygonsOf(g: Geometry): Ring[][] {
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
}

/** Even-odd crossing test over every ring: holes and multipolygons come out right by themselves. */
export function contains(g: Geometry, x: number, y: number): boolean {
  let inside = false;
  for (const polygon of polygonsOf(g)) {
    for (const ring of polygon) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i]!;
        const [xj, yj] = ring[j]!;
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
  }
  return inside;
}

/** The p-code of the feature containing the point, or null. */
export function locate(features: Feature[], level: number, x: number, y: number): string | null {
  const f = features.find((f) => contains(f.geometry, x, y));
  return f ? String(f.properties[`ADM${level}_PCODE`]) : null;
}

/** A deterministic stream of numbers in [0, 1) for sampling points in tests. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function bboxOf(g: Geometry): [number, number, number, number] {
  const pts = polygonsOf(g).flatMap((p) => p[0]!);
  return [
    Math.min(...pts.map((p) => p[0])),
    Math.min(...pts.map((p) => p[1])),
    Math.max(...pts.map((p) => p[0])),
    Math.max(...pts.map((p) => p[1])),
  ];
}
