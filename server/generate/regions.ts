/**
 * Grouping of neighbouring units into larger regions (admin3 -> admin2 ->
 * admin1) by balanced region growing, so that every region is contiguous,
 * roughly compact and of a similar size.
 */
import type { Rng } from './prng.js';

export interface Node {
  x: number;
  y: number;
  /** Weight that balancing evens out (e.g. number of admin3 units). */
  size: number;
}

/**
 * Labels each node with a region in [0, k). `adjacency` must be connected.
 * Seeds are spread by farthest-point sampling; then the smallest region with
 * free neighbours takes the free neighbour nearest its seed.
 */
export function growRegions(nodes: readonly Node[], adjacency: readonly number[][], k: number, rng: Rng): Int32Array {
  const n = nodes.length;
  const label = new Int32Array(n).fill(-1);
  const seeds: number[] = [rng.int(n)];
  const d2 = (i: number, j: number) => (nodes[i]!.x - nodes[j]!.x) ** 2 + (nodes[i]!.y - nodes[j]!.y) ** 2;
  while (seeds.length < k) {
    let best = -1;
    let bestD = -1;
    for (let i = 0; i < n; i++) {
      const d = Math.min(...seeds.map((s) => d2(i, s))) * (0.8 + 0.4 * rng.next());
      if (d > bestD) {
        bestD = d;
        best = i;
      }
    }
    seeds.push(best);
  }
  const size = new Float64Array(k);
  seeds.forEach((s, r) => {
    label[s] = r;
    size[r] = nodes[s]!.size;
  });
  let free = n - k;
  while (free > 0) {
    const order = [...Array(k).keys()].sort((a, b) => size[a]! - size[b]! || a - b);
    let grown = false;
    for (const r of order) {
      let pick = -1;
      let pickD = Infinity;
      for (let i = 0; i < n; i++) {
        if (label[i] !== r) continue;
        for (const j of adjacency[i]!) {
          if (label[j] !== -1) continue;
          const d = d2(j, seeds[r]!);
          if (d < pickD) {
            pickD = d;
            pick = j;
          }
        }
      }
      if (pick >= 0) {
        label[pick] = r;
        size[r] = size[r]! + nodes[pick]!.size;
        free--;
        grown = true;
        break;
      }
    }
    if (!grown) throw new Error('growRegions: adjacency graph is not connected');
  }
  return label;
}

/** Node indices of the largest connected component. */
export function largestComponent(ids: readonly number[], adjacency: (i: number) => number[]): number[] {
  const inSet = new Set(ids);
  const seen = new Set<number>();
  let best: number[] = [];
  for (const start of ids) {
    if (seen.has(start)) continue;
    const comp: number[] = [];
    const stack = [start];
    seen.add(start);
    while (stack.length) {
      const i = stack.pop()!;
      comp.push(i);
      for (const j of adjacency(i)) {
        if (inSet.has(j) && !seen.has(j)) {
          seen.add(j);
          stack.push(j);
        }
      }
    }
    if (comp.length > best.length) best = comp;
  }
  return best.sort((a, b) => a - b);
}

/** Reading order, north to south then west to east, in bands of `band` degrees: stable p-code numbering. */
export function readingOrder<T extends { x: number; y: number }>(items: readonly T[], band: number): number[] {
  const key = (t: T) => [Math.floor(-t.y / band), t.x] as const;
  return [...items.keys()].sort((a, b) => {
    const ka = key(items[a]!);
    const kb = key(items[b]!);
    return ka[0] - kb[0] || ka[1] - kb[1];
  });
}
