/**
 * The planar mesh that every administrative level is cut from.
 *
 * Cells are laid like bricks: each row is shifted by half a cell against the
 * rows next to it, so every mesh vertex joins exactly three edges. That is what
 * makes unions of cells trivially well-formed: a region's boundary can pass a
 * vertex only once, so it never pinches into a figure eight.
 *
 * Each vertex is jittered once and each edge is bent into a fractal polyline
 * once, by randomness tied to the edge's own endpoints; the two cells on either
 * side of an edge reuse the same polyline (one forwards, one backwards), so
 * neighbouring regions share their border vertex for vertex, at every level.
 */
import { round6, type Pt } from './geometry.js';
import { Rng } from './prng.js';

/** Extent of the mesh in degrees: somewhere plausible in West Africa. */
export const GRID = { x0: -8, y0: 5.2, width: 5, height: 4.8, cols: 12, rows: 10 } as const;

export interface MeshEdge {
  /** Vertex indices at the two ends. */
  a: number;
  b: number;
  /** Points strictly between a and b, in a -> b order. */
  inner: Pt[];
}

/** One use of an edge by a cell ring, in the ring's direction. */
export interface DirectedEdge {
  edge: number;
  forward: boolean;
}

export interface MeshCell {
  row: number;
  col: number;
  /** Counter-clockwise ring of six directed edges. */
  ring: DirectedEdge[];
  /** Mean of the six corner vertices: well inside the cell. */
  cx: number;
  cy: number;
}

export interface Mesh {
  vertices: Pt[];
  edges: MeshEdge[];
  cells: MeshCell[];
  /** Half the cell width and the row height, in degrees: the scale of a cell. */
  halfWidth: number;
  rowHeight: number;
}

/** Depth of midpoint displacement: 2^3 = 8 segments per mesh edge. */
const BEND_DEPTH = 3;
/** Perpendicular displacement as a share of the segment length. */
const BEND_AMPLITUDE = 0.22;
/** Vertex jitter as a share of the spacing. */
const JITTER = 0.22;

export function buildMesh(seed: string): Mesh {
  const halfWidth = GRID.width / GRID.cols / 2;
  const rowHeight = GRID.height / GRID.rows;
  const vertices: Pt[] = [];
  const vertexIds = new Map<string, number>();

  /** Vertex on horizontal line k (0 = south) at half-cell position X. */
  const vertex = (k: number, X: number): number => {
    const key = `${k}:${X}`;
    let id = vertexIds.get(key);
    if (id === undefined) {
      const rng = Rng.derive(seed, 'vertex', key);
      const x = GRID.x0 + X * halfWidth + rng.range(-JITTER, JITTER) * halfWidth;
      const y = GRID.y0 + k * rowHeight + rng.range(-JITTER, JITTER) * rowHeight;
      id = vertices.length;
      vertices.push([round6(x), round6(y)]);
      vertexIds.set(key, id);
    }
    return id;
  };

  // Corners of every cell first: bending an edge needs the centres of the cells on both sides.
  const corners: { row: number; col: number; v: number[]; cx: number; cy: number }[] = [];
  for (let r = 0; r < GRID.rows; r++) {
    const odd = r % 2 === 1;
    const count = odd ? GRID.cols + 1 : GRID.cols;
    for (let c = 0; c < count; c++) {
      const xl = odd ? 2 * c - 1 : 2 * c;
      const v = [vertex(r, xl), vertex(r, xl + 1), vertex(r, xl + 2), vertex(r + 1, xl + 2), vertex(r + 1, xl + 1), vertex(r + 1, xl)];
      const cx = v.reduce((s, i) => s + vertices[i]![0], 0) / 6;
      const cy = v.reduce((s, i) => s + vertices[i]![1], 0) / 6;
      corners.push({ row: r, col: c, v, cx, cy });
    }
  }
  const sides = new Map<string, Pt[]>();
  const edgeKey = (u: number, v: number) => `${Math.min(u, v)}-${Math.max(u, v)}`;
  for (const cell of corners) {
    cell.v.forEach((u, i) => {
      const key = edgeKey(u, cell.v[(i + 1) % 6]!);
      sides.set(key, [...(sides.get(key) ?? []), [cell.cx, cell.cy]]);
    });
  }

  const edges: MeshEdge[] = [];
  const edgeIds = new Map<string, number>();
  const directed = (u: number, v: number): DirectedEdge => {
    const a = Math.min(u, v);
    const b = Math.max(u, v);
    const key = edgeKey(a, b);
    let id = edgeIds.get(key);
    if (id === undefined) {
      const p = vertices[a]!;
      const q = vertices[b]!;
      const [left, right = mirror(left!, p, q)] = sides.get(key)!;
      // Where the bend may go: the diamond, or when that is not convex (rare), the larger of its halves.
      const diamond = [p, left!, q, right];
      const halves = [[p, left!, q], [p, q, right]];
      const area = (t: Pt[]) => Math.abs(cross(t[0]!, t[1]!, t[2]!));
      const region = isConvex(diamond) ? diamond : area(halves[0]!) >= area(halves[1]!) ? halves[0]! : halves[1]!;
      const rng = Rng.derive(seed, 'edge', key);
      id = edges.length;
      edges.push({ a, b, inner: bend(p, q, BEND_DEPTH, rng, region) });
      edgeIds.set(key, id);
    }
    return { edge: id, forward: u === a };
  };

  const cells: MeshCell[] = corners.map(({ row, col, v, cx, cy }) => ({
    row,
    col,
    ring: v.map((u, i) => directed(u, v[(i + 1) % 6]!)),
    cx,
    cy,
  }));
  untangle(vertices, edges);
  return { vertices, edges, cells, halfWidth, rowHeight };
}

/**
 * Straightens edges whose bends still cross another edge (possible where a
 * jittered cell is not star-shaped around its centre, so that diamonds
 * overlap), until no two edges cross. Terminates: the straight mesh is
 * planar, because jitter never reorders vertices along a line or lines.
 */
function untangle(vertices: Pt[], edges: MeshEdge[]): void {
  for (;;) {
    const segments = edges.flatMap((e, id) => {
      const pts = [vertices[e.a]!, ...e.inner, vertices[e.b]!];
      return pts.slice(1).map((q, k) => ({ id, p: pts[k]!, q }));
    });
    const tangled = new Set<number>();
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      for (let j = i + 1; j < segments.length; j++) {
        const t = segments[j]!;
        if (s.id !== t.id && properlyCross(s.p, s.q, t.p, t.q)) tangled.add(s.id).add(t.id);
      }
    }
    const bent = [...tangled].filter((id) => edges[id]!.inner.length > 0);
    if (bent.length === 0) return;
    for (const id of bent) edges[id]!.inner = [];
  }
}

/** Segments pq and rs cross at a point interior to both. */
function properlyCross(p: Pt, q: Pt, r: Pt, s: Pt): boolean {
  if (Math.max(p[0], q[0]) < Math.min(r[0], s[0]) || Math.max(r[0], s[0]) < Math.min(p[0], q[0])) return false;
  if (Math.max(p[1], q[1]) < Math.min(r[1], s[1]) || Math.max(r[1], s[1]) < Math.min(p[1], q[1])) return false;
  return Math.sign(cross(p, q, r)) * Math.sign(cross(p, q, s)) < 0 && Math.sign(cross(r, s, p)) * Math.sign(cross(r, s, q)) < 0;
}

/**
 * Midpoint displacement between p and q: the interior points of an irregular
 * border. Every point stays inside a convex region of the edge's diamond (its
 * two end vertices and the centres of the cells on either side). Diamonds of
 * different edges do not overlap, so bent borders never cross each other;
 * the region is convex, so segments between points inside it stay inside too.
 */
function bend(p: Pt, q: Pt, depth: number, rng: Rng, region: Pt[]): Pt[] {
  if (depth === 0) return [];
  const dx = q[0] - p[0];
  const dy = q[1] - p[1];
  const at = (off: number): Pt => [round6((p[0] + q[0]) / 2 - dy * off), round6((p[1] + q[1]) / 2 + dx * off)];
  // Shrink the offset until the point fits, trying the other side too (a half-diamond has only one).
  let m = at(0);
  for (let off = rng.range(-BEND_AMPLITUDE, BEND_AMPLITUDE); Math.abs(off) > 1e-3; off /= 2) {
    if (strictlyInside(at(off), region)) m = at(off);
    else if (strictlyInside(at(-off), region)) m = at(-off);
    else continue;
    break;
  }
  return [...bend(p, m, depth - 1, rng, region), m, ...bend(m, q, depth - 1, rng, region)];
}

/** Reflection of point c across the line through p and q. */
function mirror(c: Pt, p: Pt, q: Pt): Pt {
  const dx = q[0] - p[0];
  const dy = q[1] - p[1];
  const t = ((c[0] - p[0]) * dx + (c[1] - p[1]) * dy) / (dx * dx + dy * dy);
  return [2 * (p[0] + t * dx) - c[0], 2 * (p[1] + t * dy) - c[1]];
}

function cross(o: Pt, a: Pt, b: Pt): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/** True when the polygon's turns all have the same sign. */
function isConvex(poly: Pt[]): boolean {
  const signs = poly.map((_, i) => Math.sign(cross(poly[i]!, poly[(i + 1) % poly.length]!, poly[(i + 2) % poly.length]!)));
  return signs.every((s) => s === signs[0] && s !== 0);
}

/** Strictly inside a convex polygon (either winding). */
function strictlyInside(x: Pt, poly: Pt[]): boolean {
  const signs = poly.map((_, i) => Math.sign(cross(poly[i]!, poly[(i + 1) % poly.length]!, x)));
  return signs.every((s) => s === signs[0] && s !== 0);
}

/** The points of a directed edge from its start vertex, excluding its end vertex (rings chain these). */
export function edgePoints(mesh: Mesh, d: DirectedEdge): Pt[] {
  const e = mesh.edges[d.edge]!;
  return d.forward
    ? [mesh.vertices[e.a]!, ...e.inner]
    : [mesh.vertices[e.b]!, ...[...e.inner].reverse()];
}

/** Start and end vertex of a directed edge. */
export function ends(mesh: Mesh, d: DirectedEdge): [number, number] {
  const e = mesh.edges[d.edge]!;
  return d.forward ? [e.a, e.b] : [e.b, e.a];
}

/** For each edge, the cells using it (one or two). */
export function edgeCells(mesh: Mesh, cellIds: readonly number[]): number[][] {
  const out: number[][] = mesh.edges.map(() => []);
  for (const c of cellIds) for (const d of mesh.cells[c]!.ring) out[d.edge]!.push(c);
  return out;
}
