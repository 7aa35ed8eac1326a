import { describe, expect, it } from 'vitest';
import { buildMesh } from '../../server/generate/mesh.js';

type P = [number, number];
const side = (o: P, a: P, b: P) => Math.sign((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]));

describe('generate: mesh', () => {
  // Seeds whose bent edges crossed before untangling: a jittered cell that is
  // not star-shaped around its centre makes neighbouring diamonds overlap.
  it.each(['abc', '42', 'x'])('regression: no two mesh edges cross (seed %s)', (seed) => {
    const mesh = buildMesh(seed);
    const segments = mesh.edges.flatMap((e, id) => {
      const pts = [mesh.vertices[e.a]!, ...e.inner, mesh.vertices[e.b]!];
      return pts.slice(1).map((q, k) => ({ id, p: pts[k]!, q }));
    });
    const crossings: string[] = [];
    for (let i = 0; i < segments.length; i++) {
      const { id, p, q } = segments[i]!;
      for (let j = i + 1; j < segments.length; j++) {
        const { p: r, q: s } = segments[j]!;
        if (Math.max(p[0], q[0]) < Math.min(r[0], s[0]) || Math.max(r[0], s[0]) < Math.min(p[0], q[0])) continue;
        if (Math.max(p[1], q[1]) < Math.min(r[1], s[1]) || Math.max(r[1], s[1]) < Math.min(p[1], q[1])) continue;
        if (side(p, q, r) * side(p, q, s) < 0 && side(r, s, p) * side(r, s, q) < 0) crossings.push(`edge ${id} x edge ${segments[j]!.id}`);
      }
    }
    expect(crossings).toEqual([]);
    // Untangling straightens only the offenders: nearly every edge keeps its bends.
    expect(mesh.edges.filter((e) => e.inner.length > 0).length).toBeGreaterThan(mesh.edges.length * 0.95);
  });

  it('joins exactly three edges at every inner vertex (brick layout), so unions never pinch', () => {
    const degree = new Map<number, number>();
    for (const e of buildMesh('1').edges) for (const v of [e.a, e.b]) degree.set(v, (degree.get(v) ?? 0) + 1);
    expect(Math.max(...degree.values())).toBe(3);
  });
});
