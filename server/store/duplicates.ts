/**
 * Fully duplicated rows of one day: a row equal, in every stored column, to an
 * earlier row of the same day. Rows are kept in ingest order (layout.ts), so
 * duplicates are not neighbours; one pass over an open-addressing table keyed
 * by (subscriber, time) finds them, comparing the other columns only when
 * those two match. Two rows of different days always differ in `t`, so
 * looking within each day finds every duplicate of the delivery.
 */
import type { EventRows } from './schema.js';

/** A day's stored columns, `length` rows each (all of them, optional ones too: NULL_U32 / NaN where absent). */
export type DayRows = EventRows;

/** Pairs (row, the first earlier row it equals), `row` ascending. */
export interface DuplicateRows {
  rows: Uint32Array;
  of: Uint32Array;
}

/**
 * Finds every row equal to an earlier one. `rest` gives the columns other than
 * sub and t the first time two rows share both (most days never need them).
 */
export function findDuplicates(sub: Uint32Array, t: Uint32Array, rest: () => Omit<DayRows, 'length' | 'sub' | 't'>): DuplicateRows {
  const n = sub.length;
  let size = 16;
  while (size < 2 * n) size *= 2;
  const mask = size - 1;
  // Row index + 1 of each distinct row kept so far; 0 is empty.
  const table = new Uint32Array(size);
  let others: ReturnType<typeof rest> | null = null;
  let bits: Uint32Array | null = null; // recharge's bytes: equal NaNs compare equal, as the stored column does
  let rows = new Uint32Array(0);
  let of = new Uint32Array(0);
  let found = 0;
  for (let i = 0; i < n; i++) {
    const s = sub[i]!;
    const ti = t[i]!;
    let h = Math.imul(s ^ Math.imul(ti, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    h &= mask;
    let first = -1;
    for (let slot = table[h]!; slot !== 0; h = (h + 1) & mask, slot = table[h]!) {
      const j = slot - 1;
      if (sub[j] !== s || t[j] !== ti) continue;
      if (others === null) {
        others = rest();
        bits = new Uint32Array(others.recharge.buffer, others.recharge.byteOffset, 2 * n);
      }
      const o = others;
      if (o.cell[j] === o.cell[i] && o.kind[j] === o.kind[i] && o.duration[j] === o.duration[i] && o.peer[j] === o.peer[i] && bits![2 * j] === bits![2 * i] && bits![2 * j + 1] === bits![2 * i + 1]) {
        first = j;
        break;
      }
    }
    if (first < 0) {
      table[h] = i + 1;
      continue;
    }
    if (found === rows.length) {
      const grown = Math.max(16, 2 * found);
      const r = new Uint32Array(grown);
      r.set(rows);
      rows = r;
      const f = new Uint32Array(grown);
      f.set(of);
      of = f;
    }
    rows[found] = i;
    of[found++] = first;
  }
  return { rows: rows.subarray(0, found), of: of.subarray(0, found) };
}
