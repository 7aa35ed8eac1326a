/**
 * The fictional country "XX": three administrative levels cut from one mesh,
 * with a lake (a hole in one admin3, hence in its admin2 and admin1), an
 * offshore island (making a coastal admin3, its admin2 and admin1
 * MultiPolygons) and a point at sea for an offshore cell.
 */
import { blob, inRing, round6, type Polygon, type Pt, type Ring } from './geometry.js';
import { buildMesh, edgeCells, edgePoints, GRID, type Mesh } from './mesh.js';
import { NameMaker } from './names.js';
import { Rng } from './prng.js';
import { growRegions, largestComponent, readingOrder, type Node } from './regions.js';
import { assemblePolygons, traceUnion } from './union.js';

export const COUNTRY_CODE = 'XX';
const ADMIN1_COUNT = 5;
const ADMIN2_COUNT = 20;

export interface Region {
  level: 1 | 2 | 3;
  pcode: string;
  name: string;
  /** Index of the parent in the level above; -1 for admin1. */
  parent: number;
  /** Mesh cells making up the region. */
  cells: number[];
  polygons: Polygon[];
  /** Mean of the member cells' centres: a point inside the region's mainland. */
  x: number;
  y: number;
  /** Census count, filled in by population.ts. */
  population: number;
}

export interface Country {
  code: string;
  name: string;
  mesh: Mesh;
  admin1: Region[];
  admin2: Region[];
  admin3: Region[];
  /** admin3 index of every mesh cell, -1 for sea and foreign land. */
  cellAdmin3: Int32Array;
  /** Admin2 indices sharing a border with each admin2. */
  admin2Neighbours: number[][];
  /** Admin2 regions with a sea coast (the southern edge of the mesh). */
  coastalAdmin2: boolean[];
  lake: { x: number; y: number; ring: Ring; admin3: number };
  island: { ring: Ring; admin3: number };
  /** A point at sea, in no polygon: where the offshore platform's cell stands. */
  offshore: Pt;
}

export function buildCountry(seed: string): Country {
  const rng = Rng.derive(seed, 'country');
  const mesh = buildMesh(seed);
  const sharing = edgeCells(mesh, [...mesh.cells.keys()]);
  const neighbours = (c: number) => mesh.cells[c]!.ring.flatMap((d) => sharing[d.edge]!.filter((o) => o !== c));
  const land = chooseLand(mesh, neighbours, rng);
  const landSet = new Set(land);
  const landNeighbours = (c: number) => neighbours(c).filter((o) => landSet.has(o));
  const { a2Of3, a1Of2 } = groupUnits(mesh, land, landNeighbours, rng);
  const water = placeWater(mesh, land, landNeighbours, rng);
  const { admin1, admin2, admin3 } = numberRegions(mesh, land, a2Of3, a1Of2, new NameMaker(rng));

  const cellAdmin3 = new Int32Array(mesh.cells.length).fill(-1);
  admin3.forEach((r, i) => (cellAdmin3[r.cells[0]!] = i));

  // Geometry: traced unions, plus the lake's hole and the island at every level.
  for (const level of [admin1, admin2, admin3]) {
    for (const r of level) {
      const rings = traceUnion(mesh, r.cells);
      if (r.cells.includes(water.lakeCell)) rings.push(water.lake.ring);
      if (r.cells.includes(water.islandCell)) rings.push(water.island);
      r.polygons = assemblePolygons(rings);
    }
  }

  const a2OfMesh = (c: number) => admin3[cellAdmin3[c]!]!.parent;
  const admin2Neighbours = admin2.map(() => new Set<number>());
  const coastalAdmin2 = admin2.map(() => false);
  for (const c of land) {
    const r2 = a2OfMesh(c);
    for (const o of landNeighbours(c)) if (a2OfMesh(o) !== r2) admin2Neighbours[r2]!.add(a2OfMesh(o));
    if (mesh.cells[c]!.row === 0) coastalAdmin2[r2] = true;
  }

  return {
    code: COUNTRY_CODE,
    name: 'Republic of Opalia',
    mesh,
    admin1,
    admin2,
    admin3,
    cellAdmin3,
    admin2Neighbours: admin2Neighbours.map((s) => [...s].sort((a, b) => a - b)),
    coastalAdmin2,
    lake: { ...water.lake, admin3: cellAdmin3[water.lakeCell]! },
    island: { ring: water.island, admin3: cellAdmin3[water.islandCell]! },
    offshore: water.offshore,
  };
}

/** Land: the cells of a noisy ellipse, then its largest connected piece. */
function chooseLand(mesh: Mesh, neighbours: (c: number) => number[], rng: Rng): number[] {
  const ex = GRID.x0 + GRID.width / 2;
  // Centred a little south so that the southern edge (the sea coast) is long.
  const ey = GRID.y0 + GRID.height * 0.45;
  const candidates = [...mesh.cells.keys()].filter((c) => {
    const cell = mesh.cells[c]!;
    const d = ((cell.cx - ex) / (GRID.width * 0.5)) ** 2 + ((cell.cy - ey) / (GRID.height * 0.5)) ** 2;
    return d < 0.95 + rng.range(-0.2, 0.2);
  });
  return largestComponent(candidates, neighbours);
}

/** Admin2 groups of land cells (each cell is an admin3), then admin1 groups of admin2s. */
function groupUnits(
  mesh: Mesh,
  land: number[],
  landNeighbours: (c: number) => number[],
  rng: Rng,
): { a2Of3: Int32Array; a1Of2: Int32Array } {
  const a3Nodes: Node[] = land.map((c) => ({ x: mesh.cells[c]!.cx, y: mesh.cells[c]!.cy, size: 1 }));
  const landIndex = new Map(land.map((c, i) => [c, i]));
  const a3Adj = land.map((c) => landNeighbours(c).map((o) => landIndex.get(o)!));
  const a2Of3 = growRegions(a3Nodes, a3Adj, ADMIN2_COUNT, rng);
  const a2Nodes: Node[] = [...Array(ADMIN2_COUNT).keys()].map((r) => {
    const members = land.filter((_, i) => a2Of3[i] === r);
    return { ...centreOf(members, mesh), size: members.length };
  });
  const a2Adj = a2Nodes.map(() => new Set<number>());
  a3Adj.forEach((adj, i) => adj.forEach((j) => a2Of3[i] !== a2Of3[j] && a2Adj[a2Of3[i]!]!.add(a2Of3[j]!)));
  const a1Of2 = growRegions(a2Nodes, a2Adj.map((s) => [...s].sort((a, b) => a - b)), ADMIN1_COUNT, rng);
  return { a2Of3, a1Of2 };
}

/** The lake (in an inland cell, away from the coast), the island and the platform (off the south coast). */
function placeWater(mesh: Mesh, land: number[], landNeighbours: (c: number) => number[], rng: Rng) {
  const inland = land.filter((c) => landNeighbours(c).length === 6 && mesh.cells[c]!.row >= 3);
  const lakeCell = inland[rng.int(inland.length)]!;
  const lake = makeLake(mesh, lakeCell, rng);
  const south = land.filter((c) => mesh.cells[c]!.row === 0);
  const islandCell = south[rng.int(south.length)]!;
  const island = makeIsland(mesh, islandCell, rng);
  // The platform stands off the coastal cell farthest from the island, or well east of the island.
  const gap = (c: number) => Math.abs(mesh.cells[c]!.col - mesh.cells[islandCell]!.col);
  const rigCell = south.reduce((best, c) => (gap(c) > gap(best) ? c : best), islandCell);
  const offshore: Pt = [
    round6(mesh.cells[rigCell]!.cx + (rigCell === islandCell ? 0.4 : 0)),
    round6(lowestY(mesh, rigCell) - 0.35),
  ];
  return { lakeCell, lake, islandCell, island, offshore };
}

/** Regions with p-codes in reading order (north to south, west to east), parents first, and names. */
function numberRegions(mesh: Mesh, land: number[], a2Of3: Int32Array, a1Of2: Int32Array, names: NameMaker) {
  const admin1: Region[] = [];
  const admin2: Region[] = [];
  const admin3: Region[] = [];
  const cellsOf1 = (r1: number) => land.filter((_, i) => a1Of2[a2Of3[i]!] === r1);
  const cellsOf2 = (r2: number) => land.filter((_, i) => a2Of3[i] === r2);
  const a1Order = readingOrder([...Array(ADMIN1_COUNT).keys()].map((r1) => centreOf(cellsOf1(r1), mesh)), 1.2);
  for (const r1 of a1Order) {
    const i1 = admin1.length;
    admin1.push(region(1, `${COUNTRY_CODE}${pad2(i1 + 1)}`, names.next(), -1, cellsOf1(r1), mesh));
    const a2Here = [...Array(ADMIN2_COUNT).keys()].filter((r2) => a1Of2[r2] === r1);
    readingOrder(a2Here.map((r2) => centreOf(cellsOf2(r2), mesh)), 0.6).forEach((k, n2) => {
      const a2Cells = cellsOf2(a2Here[k]!);
      const i2 = admin2.length;
      const code2 = `${admin1[i1]!.pcode}${pad2(n2 + 1)}`;
      admin2.push(region(2, code2, names.next(), i1, a2Cells, mesh));
      readingOrder(a2Cells.map((c) => centreOf([c], mesh)), 0.3).forEach((k3, n3) => {
        admin3.push(region(3, `${code2}${pad2(n3 + 1)}`, names.next(), i2, [a2Cells[k3]!], mesh));
      });
    });
  }
  return { admin1, admin2, admin3 };
}

function region(level: 1 | 2 | 3, pcode: string, name: string, parent: number, cells: number[], mesh: Mesh): Region {
  const { x, y } = centreOf(cells, mesh);
  return { level, pcode, name, parent, cells, polygons: [], x, y, population: 0 };
}

/** A clockwise ring (a hole) well inside the cell: it starts at 40% of the cell's inner clearance and shrinks until it fits. */
function makeLake(mesh: Mesh, cell: number, rng: Rng): { x: number; y: number; ring: Ring } {
  const c = mesh.cells[cell]!;
  const boundary = c.ring.flatMap((d) => edgePoints(mesh, d));
  const closed = [...boundary, boundary[0]!];
  const clearance = Math.min(...boundary.map(([x, y]) => Math.hypot(x - c.cx, y - c.cy)));
  const x = round6(c.cx);
  const y = round6(c.cy);
  const noise = Array.from({ length: 20 }, () => rng.range(-1, 1));
  for (let share = 0.4; ; share *= 0.8) {
    let k = 0;
    const ring = blob(x, y, clearance * share, 20, () => noise[k++]!, true);
    if (ring.every(([px, py]) => inRing(px, py, closed))) return { x, y, ring };
  }
}

/** A counter-clockwise ring south of a coastal cell, clear of the coastline. */
function makeIsland(mesh: Mesh, cell: number, rng: Rng): Ring {
  const c = mesh.cells[cell]!;
  return blob(c.cx, lowestY(mesh, cell) - 0.2, 0.07, 24, () => rng.range(-1, 1));
}

function lowestY(mesh: Mesh, cell: number): number {
  return Math.min(...mesh.cells[cell]!.ring.flatMap((d) => edgePoints(mesh, d)).map((p) => p[1]));
}

function centreOf(cells: readonly number[], mesh: Mesh): { x: number; y: number } {
  return { x: mean(cells.map((c) => mesh.cells[c]!.cx)), y: mean(cells.map((c) => mesh.cells[c]!.cy)) };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
