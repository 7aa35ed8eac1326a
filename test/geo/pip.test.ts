import { describe, expect, it } from 'vitest';
import { buildGridIndex, locate } from '../../server/geo/grid.js';
import { packLevel } from '../../server/geo/packed.js';
import { assignPoints, assignPointsBrute, pointInRegion } from '../../server/geo/pip.js';
import type { RegionLevel } from '../../server/geo/regions.js';
import { collection, feature, levelOf, multiPolygon, polygon, prng, randomLevel, rect } from './fixtures.js';

const f64 = (xs: number[]) => Float64Array.from(xs);

/** Asserts grid and brute force agree on every point, and returns the grid's answer. */
function assignBoth(level: RegionLevel, pts: number[][]): number[] {
  const lon = f64(pts.map((p) => p[0]));
  const lat = f64(pts.map((p) => p[1]));
  const grid = assignPoints(level, lon, lat);
  expect(Array.from(grid)).toEqual(Array.from(assignPointsBrute(level, lon, lat)));
  return Array.from(grid);
}

// Region 0: square [0,4]^2 with a hole [1,3]^2. Region 1: square [10,11]^2 plus island [13,14]^2.
// Region 2 fills region 0's hole exactly (a lake island, or an enclave).
const level = levelOf(
  collection(
    feature({ ADM1_PCODE: 'DONUT' }, polygon(rect(0, 0, 4, 4), rect(1, 1, 3, 3))),
    feature({ ADM1_PCODE: 'ARCHI' }, multiPolygon([rect(10, 10, 11, 11)], [rect(13, 10, 14, 11)])),
    feature({ ADM1_PCODE: 'ENCLAVE' }, polygon(rect(1, 1, 3, 3))),
  ),
);

describe('pointInRegion and assignPoints', () => {
  it('honours holes: a point in the hole is not in the ring region', () => {
    const donut = level.regions[0];
    expect(pointInRegion(donut, 0.5, 0.5)).toBe(true);
    expect(pointInRegion(donut, 2, 2)).toBe(false);
    expect(pointInRegion(level.regions[2], 2, 2)).toBe(true);
    expect(assignBoth(level, [[0.5, 0.5], [3.5, 2], [2, 2]])).toEqual([0, 0, 2]);
  });

  it('without the enclave, a point in the hole is in no region', () => {
    const donutOnly = levelOf(collection(feature({ ADM1_PCODE: 'D' }, polygon(rect(0, 0, 4, 4), rect(1, 1, 3, 3)))));
    expect(assignBoth(donutOnly, [[2, 2], [0.5, 2]])).toEqual([-1, 0]);
  });

  it('finds points on either polygon of a MultiPolygon, not between them', () => {
    expect(assignBoth(level, [[10.5, 10.5], [13.5, 10.5], [12, 10.5]])).toEqual([1, 1, -1]);
  });

  it('returns -1 for points in no polygon, far away, or NaN', () => {
    expect(assignBoth(level, [[-1, -1], [100, 50], [5, 5], [NaN, 1], [1, NaN]])).toEqual([-1, -1, -1, -1, -1]);
  });

  it('applies the half-open boundary rule: west and south sides in, east and north sides out', () => {
    const sq = levelOf(collection(feature({ ADM1_PCODE: 'S' }, polygon(rect(0, 0, 1, 1)))));
    const pts = [
      [0, 0.5], // west side
      [0.5, 0], // south side
      [0, 0], // south-west corner
      [1, 0.5], // east side
      [0.5, 1], // north side
      [1, 1], // north-east corner
      [1, 0], // south-east corner
      [0, 1], // north-west corner
    ];
    expect(assignBoth(sq, pts)).toEqual([0, 0, 0, -1, -1, -1, -1, -1]);
  });

  it('puts a point on a border shared by two regions in exactly one of them', () => {
    // Two triangles sharing a sloped diagonal, and two squares sharing a side.
    const tri = levelOf(
      collection(
        feature({ ADM1_PCODE: 'LOW' }, polygon([[0, 0], [3, 0], [3, 1], [0, 0]])),
        feature({ ADM1_PCODE: 'HIGH' }, polygon([[0, 0], [3, 1], [0, 1], [0, 0]])),
        feature({ ADM1_PCODE: 'W' }, polygon(rect(5, 0, 6, 1))),
        feature({ ADM1_PCODE: 'E' }, polygon(rect(6, 0, 7, 1))),
      ),
    );
    const rand = prng(7);
    const pts: number[][] = [];
    for (let i = 0; i < 500; i++) {
      const t = 0.001 + 0.998 * rand();
      pts.push([3 * t, t], [6, t], [5 + 2 * t, 0.5]);
    }
    const lon = f64(pts.map((p) => p[0]));
    const lat = f64(pts.map((p) => p[1]));
    for (let i = 0; i < pts.length; i++) {
      const inside = tri.regions.filter((r) => pointInRegion(r, lon[i], lat[i])).length;
      expect(inside, `point ${pts[i]}`).toBe(1);
    }
    // On the shared vertical side the region to the east wins.
    expect(assignBoth(tri, [[6, 0.5]])).toEqual([3]);
  });

  it('gives overlapping regions to the first in file order', () => {
    const overlap = levelOf(
      collection(
        feature({ ADM1_PCODE: 'A' }, polygon(rect(0, 0, 2, 2))),
        feature({ ADM1_PCODE: 'B' }, polygon(rect(1, 1, 3, 3))),
        feature({ ADM1_PCODE: 'C' }, polygon(rect(-10, -10, 10, 10))),
      ),
    );
    expect(assignBoth(overlap, [[1.5, 1.5], [2.5, 2.5], [0.5, 0.5], [5, 5]])).toEqual([0, 1, 0, 2]);
  });

  it('handles an empty level and mismatched inputs', () => {
    const empty = levelOf(collection());
    expect(Array.from(assignPoints(empty, f64([0, 1]), f64([0, 1])))).toEqual([-1, -1]);
    expect(() => assignPoints(level, f64([0]), f64([]))).toThrow(/equal length/);
  });
});

describe('grid index agrees exactly with brute force', () => {
  const random = randomLevel(20240501, 300);

  /** 20,000 uniform points plus points on vertices, near edges, and on grid lines of the index. */
  function testPoints(lvl: RegionLevel, seed: number, box = [-7, 2, 7, 14]): { lon: Float64Array; lat: Float64Array } {
    const rand = prng(seed);
    const [x0, y0, x1, y1] = box;
    const pts: number[][] = [];
    for (let i = 0; i < 20_000; i++) pts.push([x0 + rand() * (x1 - x0), y0 + rand() * (y1 - y0)]);
    for (const region of lvl.regions) {
      const ring = region.polygons[0][0];
      const i = Math.floor(rand() * (ring.length - 1));
      const [a, b] = [ring[i], ring[i + 1]];
      const t = rand();
      pts.push(a, [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])], [(a[0] + b[0]) / 2, a[1]]);
    }
    const ix = buildGridIndex(packLevel(lvl));
    for (let i = 0; i < 2_000; i++) {
      const gx = ix.minX + Math.floor(rand() * ix.nx) / ix.invW;
      const gy = ix.minY + Math.floor(rand() * ix.ny) / ix.invH;
      pts.push([gx, y0 + rand() * (y1 - y0)], [x0 + rand() * (x1 - x0), gy], [gx, gy]);
    }
    return { lon: f64(pts.map((p) => p[0])), lat: f64(pts.map((p) => p[1])) };
  }

  it('on 300 random star-shaped regions with holes and islands', () => {
    const { lon, lat } = testPoints(random, 99);
    const brute = assignPointsBrute(random, lon, lat);
    const grid = assignPoints(random, lon, lat);
    expect(Array.from(grid)).toEqual(Array.from(brute));
    // The sample must exercise all outcomes, or the test proves little.
    expect(brute.filter((r) => r === -1).length).toBeGreaterThan(1000);
    expect(new Set(brute).size).toBeGreaterThan(250);
  });

  it.each([1, 7, 500, 20_000, 400_000])('at any grid size (%i cells)', (cells) => {
    const { lon, lat } = testPoints(random, cells);
    const brute = assignPointsBrute(random, lon, lat);
    const grid = locate(buildGridIndex(packLevel(random), { cells }), lon, lat);
    expect(Array.from(grid)).toEqual(Array.from(brute));
  });

  it('with vertices and points on or a hair off the grid lines (degenerate cases)', () => {
    // Cell lines fall on integers: bbox [0,16]^2 (set by the last region) and 16 x 16 cells.
    const rand = prng(11);
    const hair = [0, 0, 0, 1e-10, -1e-10, 3e-15, -3e-15, 1e-9, -1e-9];
    const snap = (v: number) => Math.round(v) + hair[Math.floor(rand() * hair.length)];
    const features = [];
    for (let i = 0; i < 60; i++) {
      const [cx, cy, r] = [3 + rand() * 10, 3 + rand() * 10, 0.5 + rand() * 2.5];
      const k = 3 + Math.floor(rand() * 12);
      // Star-ish, snapped to the lattice: may self-intersect, which is fine for
      // even-odd and makes a harsher test.
      const ring = Array.from({ length: k }, (_, j) => {
        const a = (2 * Math.PI * (j + rand())) / k;
        return [snap(cx + r * Math.cos(a)), snap(cy + r * Math.sin(a))];
      });
      features.push(feature({ ADM1_PCODE: `P${i}` }, polygon(ring)));
    }
    features.push(feature({ ADM1_PCODE: 'ALL' }, polygon(rect(0, 0, 16, 16))));
    const lattice = levelOf(collection(...features));
    const pts: number[][] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = rand() < 0.5 ? snap(rand() * 16) : rand() * 16;
      const y = rand() < 0.5 ? snap(rand() * 16) : rand() * 16;
      pts.push([x, y]);
    }
    const lon = f64(pts.map((p) => p[0]));
    const lat = f64(pts.map((p) => p[1]));
    const brute = Array.from(assignPointsBrute(lattice, lon, lat));
    for (const cells of [256, 1024, 64]) {
      const ix = buildGridIndex(packLevel(lattice), { cells });
      expect(Array.from(locate(ix, lon, lat)), `${cells} cells`).toEqual(brute);
    }
    expect(buildGridIndex(packLevel(lattice), { cells: 256 }).nx).toBe(16);
  });

  it('on regions far from the origin and tiny compared with the grid', () => {
    const far = randomLevel(5, 100, [165, -60, 177, -50], [3, 40]);
    const { lon, lat } = testPoints(far, 3, [163, -61, 180, -49]);
    expect(Array.from(assignPoints(far, lon, lat))).toEqual(Array.from(assignPointsBrute(far, lon, lat)));
  });
});
