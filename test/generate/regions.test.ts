import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bboxOf,
  cleanup,
  contains,
  generateTmp,
  lcg,
  locate,
  polygonsOf,
  readLevel,
  type Feature,
} from './helpers.js';

afterAll(cleanup);

let levels: Feature[][] = [];

beforeAll(async () => {
  const { dir } = await generateTmp({ subscribers: 50, days: 1, seed: 42 });
  levels = [1, 2, 3].map((l) => readLevel(dir, l));
});

/** Up to `count` points inside a feature (rejection sampling in its bounding box). */
function pointsInside(f: Feature, count: number, next: () => number): [number, number][] {
  const [x0, y0, x1, y1] = bboxOf(f.geometry);
  const out: [number, number][] = [];
  for (let tries = 0; out.length < count && tries < count * 200; tries++) {
    const x = x0 + (x1 - x0) * next();
    const y = y0 + (y1 - y0) * next();
    if (contains(f.geometry, x, y)) out.push([x, y]);
  }
  return out;
}

describe('generate: regions', () => {
  it('has 4-6 admin1, 15-25 admin2 and 60-120 admin3 with COD-AB p-codes', () => {
    const [a1, a2, a3] = levels;
    expect(a1!.length).toBeGreaterThanOrEqual(4);
    expect(a1!.length).toBeLessThanOrEqual(6);
    expect(a2!.length).toBeGreaterThanOrEqual(15);
    expect(a2!.length).toBeLessThanOrEqual(25);
    expect(a3!.length).toBeGreaterThanOrEqual(60);
    expect(a3!.length).toBeLessThanOrEqual(120);
    for (const f of a1!) expect(f.properties['ADM1_PCODE']).toMatch(/^XX\d{2}$/);
    for (const f of a2!) {
      expect(f.properties['ADM2_PCODE']).toMatch(/^XX\d{4}$/);
      expect(String(f.properties['ADM2_PCODE']).startsWith(String(f.properties['ADM1_PCODE']))).toBe(true);
    }
    for (const f of a3!) {
      expect(f.properties['ADM3_PCODE']).toMatch(/^XX\d{6}$/);
      expect(String(f.properties['ADM3_PCODE']).startsWith(String(f.properties['ADM2_PCODE']))).toBe(true);
      expect(typeof f.properties['ADM3_EN']).toBe('string');
    }
    const codes = levels.flatMap((l, k) => l.map((f) => f.properties[`ADM${k + 1}_PCODE`]));
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('nests: points of every admin3 lie in its admin2 and admin1 and in no other admin3', () => {
    const [a1, a2, a3] = levels;
    const next = lcg(5);
    for (const f of a3!) {
      const points = pointsInside(f, 8, next);
      expect(points.length).toBeGreaterThan(0);
      for (const [x, y] of points) {
        expect(locate(a2!, 2, x, y)).toBe(f.properties['ADM2_PCODE']);
        expect(locate(a1!, 1, x, y)).toBe(f.properties['ADM1_PCODE']);
        expect(a3!.filter((g) => contains(g.geometry, x, y))).toHaveLength(1);
      }
    }
  });

  it('has no gaps: a point in the country is in exactly one unit of every level', () => {
    const next = lcg(9);
    const [x0, y0, x1, y1] = bboxOf(levels[0]![0]!.geometry);
    let inside = 0;
    for (let k = 0; k < 1500; k++) {
      const x = x0 - 1 + (x1 - x0 + 2) * next();
      const y = y0 - 1 + (y1 - y0 + 2) * next();
      const counts = levels.map((l) => l.filter((f) => contains(f.geometry, x, y)).length);
      expect(counts[0]).toBeLessThanOrEqual(1);
      expect(counts[1]).toBe(counts[0]);
      expect(counts[2]).toBe(counts[0]);
      inside += counts[0]!;
    }
    expect(inside).toBeGreaterThan(50);
  });

  it('shares borders vertex for vertex: every vertex of a region is a vertex of one of its children', () => {
    for (const [parentLevel, childLevel] of [
      [0, 1],
      [1, 2],
    ] as const) {
      const key = `ADM${parentLevel + 1}_PCODE`;
      for (const parent of levels[parentLevel]!) {
        const children = levels[childLevel]!.filter((c) => c.properties[key] === parent.properties[key]);
        const childVertices = new Set(
          children.flatMap((c) => polygonsOf(c.geometry).flatMap((p) => p.flatMap((r) => r.map((v) => v.join(','))))),
        );
        for (const polygon of polygonsOf(parent.geometry)) {
          for (const ring of polygon) for (const v of ring) expect(childVertices.has(v.join(','))).toBe(true);
        }
      }
    }
  });

  it('regression: bent borders never cross each other (cells not star-shaped around their centre)', () => {
    type P = [number, number];
    const seen = new Set<string>();
    const segments: [P, P][] = [];
    for (const f of levels[2]!) {
      for (const polygon of polygonsOf(f.geometry)) {
        for (const ring of polygon) {
          for (let i = 0; i + 1 < ring.length; i++) {
            const [p, q] = [ring[i]!, ring[i + 1]!];
            const key = [p.join(), q.join()].sort().join('|');
            if (!seen.has(key)) segments.push([p, q]);
            seen.add(key);
          }
        }
      }
    }
    const side = (o: P, a: P, b: P) => Math.sign((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]));
    const crossings: string[] = [];
    for (let i = 0; i < segments.length; i++) {
      const [p, q] = segments[i]!;
      for (let j = i + 1; j < segments.length; j++) {
        const [r, s] = segments[j]!;
        if (Math.max(p[0], q[0]) < Math.min(r[0], s[0]) || Math.max(r[0], s[0]) < Math.min(p[0], q[0])) continue;
        if (Math.max(p[1], q[1]) < Math.min(r[1], s[1]) || Math.max(r[1], s[1]) < Math.min(p[1], q[1])) continue;
        if (side(p, q, r) * side(p, q, s) < 0 && side(r, s, p) * side(r, s, q) < 0) crossings.push(`${p} ${q} x ${r} ${s}`);
      }
    }
    expect(segments.length).toBeGreaterThan(2000);
    expect(crossings).toEqual([]);
  });

  it('has a MultiPolygon (the island) and a hole (the lake) at every level', () => {
    for (const level of levels) {
      expect(level.some((f) => f.geometry.type === 'MultiPolygon')).toBe(true);
      expect(level.some((f) => polygonsOf(f.geometry).some((p) => p.length > 1))).toBe(true);
    }
  });

  it('writes closed rings, counter-clockwise outside and clockwise holes, with 6 decimals at most', () => {
    const area2 = (r: [number, number][]) => r.slice(1).reduce((s, q, i) => s + r[i]![0] * q[1] - q[0] * r[i]![1], 0);
    const problems: string[] = [];
    for (const level of levels) {
      for (const f of level) {
        const name = JSON.stringify(f.properties);
        for (const polygon of polygonsOf(f.geometry)) {
          polygon.forEach((ring, k) => {
            if (ring[0]!.join() !== ring.at(-1)!.join()) problems.push(`${name}: open ring`);
            if (area2(ring) > 0 !== (k === 0)) problems.push(`${name}: ring ${k} wound the wrong way`);
            for (const [x, y] of ring) {
              if (Math.round(x * 1e6) / 1e6 !== x || Math.round(y * 1e6) / 1e6 !== y) problems.push(`${name}: ${x},${y} not rounded`);
              if (!(x > -9 && x < -2 && y > 4 && y < 11)) problems.push(`${name}: ${x},${y} out of area`);
            }
          });
        }
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('carries a census population that adds up from admin3 to admin1', () => {
    const [a1, a2, a3] = levels;
    for (const f of a3!) expect(f.properties['population']).toBeGreaterThan(0);
    for (const p of a2!) {
      const sum = a3!.filter((c) => c.properties['ADM2_PCODE'] === p.properties['ADM2_PCODE']);
      expect(sum.reduce((s, c) => s + Number(c.properties['population']), 0)).toBe(p.properties['population']);
    }
    for (const p of a1!) {
      const sum = a2!.filter((c) => c.properties['ADM1_PCODE'] === p.properties['ADM1_PCODE']);
      expect(sum.reduce((s, c) => s + Number(c.properties['population']), 0)).toBe(p.properties['population']);
    }
    // Cities make density uneven: the densest admin3 has many times the people of the median one.
    const pops = a3!.map((f) => Number(f.properties['population'])).sort((a, b) => a - b);
    expect(pops.at(-1)! / pops[pops.length >> 1]!).toBeGreaterThan(4);
  });
});
