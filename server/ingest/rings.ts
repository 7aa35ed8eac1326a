/**
 * Rings that cross themselves (a bow-tie): point in polygon still answers,
 * but not what the map means, so the ingest counts them (issue #14). Each
 * ring's edges go into a grid of about one edge per cell, and only edges
 * sharing a cell are compared: close to linear in the ring's vertices.
 */
import type { RegionLevel } from '../geo/regions.js';

type Pt = readonly number[];

/** How many regions of `level` have a ring that crosses itself. */
export function selfIntersectingRegions(level: RegionLevel): number {
  let n = 0;
  for (const region of level.regions) {
    if (region.polygons.some((polygon) => polygon.some((ring) => crossesItself(ring as Pt[])))) n++;
  }
  return n;
}

/** Whether two non-adjacent edges of a closed ring (first point repeated last) touch or cross. */
export function crossesItself(ring: readonly Pt[]): boolean {
  const m = ring.length - 1; // edges
  if (m < 4) return false;
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const [x, y] of ring) {
    minX = Math.min(minX, x!); maxX = Math.max(maxX, x!);
    minY = Math.min(minY, y!); maxY = Math.max(maxY, y!);
  }
  const side = Math.max(1, Math.ceil(Math.sqrt(m)));
  const w = (maxX - minX) / side || 1;
  const h = (maxY - minY) / side || 1;
  const cellX = (x: number) => Math.min(side - 1, Math.floor((x - minX) / w));
  const cellY = (y: number) => Math.min(side - 1, Math.floor((y - minY) / h));
  const grid = new Map<number, number[]>();
  for (let i = 0; i < m; i++) {
    const a = ring[i]!, b = ring[i + 1]!;
    const x0 = cellX(Math.min(a[0]!, b[0]!)), x1 = cellX(Math.max(a[0]!, b[0]!));
    const y0 = cellY(Math.min(a[1]!, b[1]!)), y1 = cellY(Math.max(a[1]!, b[1]!));
    for (let cx = x0; cx <= x1; cx++) {
      for (let cy = y0; cy <= y1; cy++) {
        const key = cx * side + cy;
        const list = grid.get(key);
        if (list) {
          for (const j of list) if (!adjacent(i, j, m) && segmentsTouch(a, b, ring[j]!, ring[j + 1]!)) return true;
          list.push(i);
        } else {
          grid.set(key, [i]);
        }
      }
    }
  }
  return false;
}

function adjacent(i: number, j: number, m: number): boolean {
  const d = Math.abs(i - j);
  return d <= 1 || d === m - 1;
}

function orient(p: Pt, q: Pt, r: Pt): number {
  const v = (q[0]! - p[0]!) * (r[1]! - p[1]!) - (q[1]! - p[1]!) * (r[0]! - p[0]!);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function onSegment(p: Pt, q: Pt, r: Pt): boolean {
  return Math.min(p[0]!, r[0]!) <= q[0]! && q[0]! <= Math.max(p[0]!, r[0]!) && Math.min(p[1]!, r[1]!) <= q[1]! && q[1]! <= Math.max(p[1]!, r[1]!);
}

/** Segments [a, b] and [c, d] share a point (orientation test, collinear overlaps included). */
function segmentsTouch(a: Pt, b: Pt, c: Pt, d: Pt): boolean {
  const o1 = orient(a, b, c), o2 = orient(a, b, d), o3 = orient(c, d, a), o4 = orient(c, d, b);
  if (o1 !== o2 && o3 !== o4) return true;
  return (o1 === 0 && onSegment(a, c, b)) || (o2 === 0 && onSegment(a, d, b)) || (o3 === 0 && onSegment(c, a, d)) || (o4 === 0 && onSegment(c, b, d));
}
