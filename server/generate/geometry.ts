/**
 * Planar helpers for building the fictional country, in lon/lat degrees.
 * Kept local to the generator: it needs only what it uses to build polygons
 * and place sites, and must not change when the ingest side's geometry does.
 */

export type Pt = [number, number];
/** A closed ring: the first point is repeated at the end (GeoJSON). */
export type Ring = Pt[];
/** Outer ring first, then holes. */
export type Polygon = Ring[];

/** Rounds to 6 decimals (~0.1 m), the precision written to every file. */
export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Twice the signed area (shoelace); > 0 for counter-clockwise rings. */
export function signedArea2(ring: Ring): number {
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const p = ring[i]!;
    const q = ring[i + 1]!;
    s += p[0] * q[1] - q[0] * p[1];
  }
  return s;
}

/** Even-odd ray casting against one ring. */
export function inRing(x: number, y: number, ring: Ring): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const xi = ring[i]![0];
    const yi = ring[i]![1];
    const xj = ring[j]![0];
    const yj = ring[j]![1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Inside the outer ring and outside every hole. */
export function inPolygon(x: number, y: number, polygon: Polygon): boolean {
  if (!inRing(x, y, polygon[0]!)) return false;
  for (let h = 1; h < polygon.length; h++) if (inRing(x, y, polygon[h]!)) return false;
  return true;
}

export function inMultiPolygon(x: number, y: number, polygons: readonly Polygon[]): boolean {
  return polygons.some((p) => inPolygon(x, y, p));
}

/** Bounding box [minX, minY, maxX, maxY] of outer rings. */
export function bbox(polygons: readonly Polygon[]): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of polygons) {
    for (const [x, y] of p[0]!) {
      if (x < x0) x0 = x;
      if (y < y0) y0 = y;
      if (x > x1) x1 = x;
      if (y > y1) y1 = y;
    }
  }
  return [x0, y0, x1, y1];
}

/** Area in km², outer rings minus holes, on a local equirectangular projection (good enough at this scale). */
export function areaKm2(polygons: readonly Polygon[]): number {
  let total = 0;
  for (const p of polygons) {
    const lat = (p[0]![0]![1] * Math.PI) / 180;
    const k = 111.32 * 111.32 * Math.cos(lat);
    for (const ring of p) total += (Math.abs(signedArea2(ring)) / 2) * k * (ring === p[0] ? 1 : -1);
  }
  return total;
}

/** Distance in degrees, with longitude shrunk by cos(lat) so that it is roughly isotropic. */
export function distDeg(ax: number, ay: number, bx: number, by: number): number {
  const dx = (ax - bx) * Math.cos((((ay + by) / 2) * Math.PI) / 180);
  const dy = ay - by;
  return Math.sqrt(dx * dx + dy * dy);
}

/** A ring of `n` points around a centre with radial noise from `noise()` in [-1, 1]; counter-clockwise unless `clockwise`. */
export function blob(cx: number, cy: number, radius: number, n: number, noise: () => number, clockwise = false): Ring {
  const ring: Ring = [];
  for (let i = 0; i < n; i++) {
    const a = ((clockwise ? -i : i) / n) * 2 * Math.PI;
    const r = radius * (1 + 0.25 * noise());
    ring.push([round6(cx + r * Math.cos(a)), round6(cy + r * Math.sin(a))]);
  }
  ring.push(ring[0]!);
  return ring;
}
