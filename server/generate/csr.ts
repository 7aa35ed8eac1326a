/** Compressed sparse rows: items grouped by a key, as two flat arrays. */

/**
 * Groups items 0..n-1 by key(i) in [0, groups): members of group g are
 * members[start[g] .. start[g+1]-1], in increasing item order.
 */
export function groupBy(n: number, groups: number, key: (i: number) => number): [start: Int32Array, members: Int32Array] {
  const start = new Int32Array(groups + 1);
  for (let i = 0; i < n; i++) start[key(i) + 1]++;
  for (let g = 0; g < groups; g++) start[g + 1] = start[g + 1]! + start[g]!;
  const members = new Int32Array(n);
  const fill = start.slice(0, groups);
  for (let i = 0; i < n; i++) members[fill[key(i)]!++] = i;
  return [start, members];
}
