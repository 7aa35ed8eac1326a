/**
 * Union of mesh cells into polygons, by boundary tracing: an edge used by two
 * member cells is interior and dropped; the remaining directed edges chain
 * into rings. Cells are counter-clockwise, so outer boundaries come out
 * counter-clockwise and enclosed gaps clockwise, as GeoJSON (RFC 7946) wants.
 * Because every level is traced from the same edge polylines, a region's
 * border is its children's borders, vertex for vertex.
 */
import { inRing, signedArea2, type Polygon, type Ring } from './geometry.js';
import { edgePoints, ends, type DirectedEdge, type Mesh } from './mesh.js';

/** Rings bounding the union of `cellIds`: outer rings CCW, enclosed holes CW. */
export function traceUnion(mesh: Mesh, cellIds: readonly number[]): Ring[] {
  const uses = new Map<number, DirectedEdge | null>();
  for (const c of cellIds) {
    for (const d of mesh.cells[c]!.ring) uses.set(d.edge, uses.has(d.edge) ? null : d);
  }
  const fromVertex = new Map<number, DirectedEdge>();
  for (const d of uses.values()) if (d) fromVertex.set(ends(mesh, d)[0], d);

  const rings: Ring[] = [];
  while (fromVertex.size > 0) {
    const [start] = fromVertex.keys() as IterableIterator<number>;
    const ring: Ring = [];
    let v = start!;
    for (;;) {
      const d = fromVertex.get(v);
      if (!d) break;
      fromVertex.delete(v);
      ring.push(...edgePoints(mesh, d));
      v = ends(mesh, d)[1];
    }
    ring.push(ring[0]!);
    rings.push(ring);
  }
  return rings;
}

/**
 * Sorts rings into polygons: counter-clockwise rings are outer boundaries,
 * clockwise ones holes of the outer ring that contains them. Order is stable:
 * polygons by the first appearance of their outer ring.
 */
export function assemblePolygons(rings: readonly Ring[]): Polygon[] {
  const outers = rings.filter((r) => signedArea2(r) > 0);
  const holes = rings.filter((r) => signedArea2(r) < 0);
  const polygons: Polygon[] = outers.map((r) => [r]);
  for (const hole of holes) {
    const [x, y] = hole[0]!;
    const owner = polygons.find((p) => inRing(x, y, p[0]!));
    if (owner) owner.push(hole);
  }
  return polygons;
}
