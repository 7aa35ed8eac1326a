/** Hand-made and seeded random boundaries for the geo tests. */

import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRegionLevel, type RegionLevel } from '../../server/geo/regions.js';
import { rng as prng } from '../util/rng.js';

export type Ring = number[][];

/** Axis-aligned rectangle ring, counter-clockwise, closed. */
export function rect(x0: number, y0: number, x1: number, y1: number): Ring {
  return [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
    [x0, y0],
  ];
}

export function feature(properties: Record<string, unknown> | null, geometry: unknown) {
  return { type: 'Feature', properties, geometry };
}

export const polygon = (...rings: Ring[]) => ({ type: 'Polygon', coordinates: rings });
export const multiPolygon = (...polys: Ring[][]) => ({ type: 'MultiPolygon', coordinates: polys });

export function collection(...features: unknown[]) {
  return { type: 'FeatureCollection', features };
}

/** A level straight from GeoJSON objects, through the real parser. */
export function levelOf(fc: unknown, level = 1, file = `admin${level}.geojson`): RegionLevel {
  return parseRegionLevel(JSON.stringify(fc), file, level);
}

/** Writes `regions/adminN.geojson` files into a fresh dataset folder; returns the folder. */
export async function datasetWith(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'opalite-geo-'));
  await mkdir(join(dir, 'regions'));
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, 'regions', name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

export { prng };

/** Star-shaped ring around (cx, cy): `k` vertices at sorted random angles, radii in [rMin, rMax]. */
export function star(rand: () => number, cx: number, cy: number, rMin: number, rMax: number, k: number): Ring {
  const angles = Array.from({ length: k }, () => rand() * 2 * Math.PI).sort((a, b) => a - b);
  const ring = angles.map((a) => {
    const r = rMin + rand() * (rMax - rMin);
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });
  ring.push([...ring[0]]);
  return ring;
}

/**
 * `n` random regions inside [x0, x1] x [y0, y1]: star-shaped polygons, some
 * with a star-shaped hole, some with an island (MultiPolygon). They overlap,
 * which exercises the first-region-wins rule.
 */
export function randomLevel(seed: number, n: number, box = [-5, 4, 5, 12], vertices = [5, 80]): RegionLevel {
  const rand = prng(seed);
  const [x0, y0, x1, y1] = box;
  const k = () => vertices[0] + Math.floor(rand() * (vertices[1] - vertices[0]));
  const features = [];
  for (let i = 0; i < n; i++) {
    const cx = x0 + rand() * (x1 - x0);
    const cy = y0 + rand() * (y1 - y0);
    const r = 0.2 + rand() * 0.8;
    const outer = star(rand, cx, cy, 0.4 * r, r, k());
    const poly: Ring[] = [outer];
    const kind = rand();
    if (kind < 0.3) poly.push(star(rand, cx, cy, 0.1 * r, 0.35 * r, k()));
    const geometry =
      kind > 0.8
        ? multiPolygon(poly, [star(rand, cx + 2.2 * r, cy, 0.2 * r, 0.6 * r, k())])
        : polygon(...poly);
    features.push(feature({ ADM1_PCODE: `R${i}` }, geometry));
  }
  return levelOf(collection(...features));
}
