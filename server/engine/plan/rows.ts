/** Rows shaped from merged counts: a location's label columns, counts per location, and (from, to) pairs. */
import type { Row } from '../../privacy/redact.js';
import { ROWS_PER_CHECK, type Sliced } from '../../util/slices.js';
import type { UnitSpace } from '../units.js';
import { MAX_PAIR_CELLS, type Shaped } from './plan.js';
import { SpecError } from '../../errors.js';

export function labelled(space: UnitSpace, index: number, suffix = ''): Row {
  const label = space.label(index);
  const row: Row = {};
  for (const c of space.columns) row[c + suffix] = label[c]!;
  return row;
}

/** Rows for every location with a count > 0 (`dense`: every location). */
export function byLocation(space: UnitSpace, counts: ArrayLike<number>, suffix = '', dense = false): Shaped {
  const rows: Row[] = [];
  const support: number[] = [];
  for (let i = 0; i < space.size; i++) {
    const v = counts[i] ?? 0;
    if (v <= 0 && !dense) continue;
    rows.push({ ...labelled(space, i, suffix), value: v });
    support.push(v);
  }
  return { columns: [...space.columns.map((c) => c + suffix), 'value'], rows, support, rule: 'value' };
}

export function* pairs(a: UnitSpace, b: UnitSpace, counts: ArrayLike<number>, dense = false): Sliced<Shaped> {
  const rows: Row[] = [];
  const support: number[] = [];
  // Rows are built by assigning the columns in order rather than by spreading two label objects: the same rows, ~20x
  // faster in V8. A dense admin3 OD is 7,921 cells, shaped for each of a DP query's 16 releases: with the object
  // spreads this was the largest cost of DP flows in a CPU profile once the sampler was fast.
  const fromKeys = a.columns.map((c) => `${c}_from`);
  const toKeys = b.columns.map((c) => `${c}_to`);
  const label = (space: UnitSpace, index: number): unknown[] => {
    const l = space.label(index);
    return space.columns.map((c) => l[c]);
  };
  const to: Array<unknown[] | undefined> = new Array(b.size);
  for (let i = 0; i < a.size; i++) {
    let from: unknown[] | null = null;
    for (let j = 0; j < b.size; j++) {
      const v = counts[i * b.size + j] ?? 0;
      if (v <= 0 && !dense) continue;
      from ??= label(a, i);
      const toValues = (to[j] ??= label(b, j));
      const row: Row = {};
      for (let c = 0; c < fromKeys.length; c++) row[fromKeys[c]!] = from[c] as Row[string];
      for (let c = 0; c < toKeys.length; c++) row[toKeys[c]!] = toValues[c] as Row[string];
      row.value = v;
      rows.push(row);
      support.push(v);
    }
    yield; // a row of the matrix: at most b.size (< 2^16) cells
  }
  return {
    columns: [...a.columns.map((c) => `${c}_from`), ...b.columns.map((c) => `${c}_to`), 'value'],
    rows,
    support,
    rule: 'value',
  };
}

/** Rows of an OD counted as keys from * b.size + to (one key per subscriber and pair): each distinct key's count. */
export function* keyedPairs(a: UnitSpace, b: UnitSpace, keys: Float64Array): Sliced<Shaped> {
  keys.sort();
  let made = 0;
  const rows: Row[] = [];
  const support: number[] = [];
  for (let i = 0; i < keys.length; ) {
    let j = i;
    while (j < keys.length && keys[j] === keys[i]) j++;
    const from = Math.floor(keys[i]! / b.size);
    rows.push({ ...labelled(a, from, '_from'), ...labelled(b, keys[i]! - from * b.size, '_to'), value: j - i });
    support.push(j - i);
    i = j;
    if (++made % ROWS_PER_CHECK === 0) yield;
  }
  return { columns: [...a.columns.map((c) => `${c}_from`), ...b.columns.map((c) => `${c}_to`), 'value'], rows, support, rule: 'value' };
}

/**
 * Whether an OD between these units is counted as a dense matrix (admin units) rather
 * than as sorted (from, to) keys: the kernels' dense matrices need u16 location ids and
 * at most MAX_PAIR_CELLS cells, and at the cell and lon-lat units an OD is sparse.
 */
export function denseOd(a: UnitSpace, b: UnitSpace): boolean {
  const fine = (u: UnitSpace) => u.unit === 'cell' || u.unit === 'lon-lat';
  return !fine(a) && !fine(b) && a.size <= 65535 && b.size <= 65535 && a.size * b.size <= MAX_PAIR_CELLS;
}

/** Dense OD matrices need nLocs^2 cells and u16 location ids in the kernels. */
export function checkOdSize(space: UnitSpace, path: string): void {
  if (space.size > 65535 || space.size * space.size > MAX_PAIR_CELLS) {
    throw new SpecError('NOT_IMPLEMENTED', `${path}: an OD matrix over ${space.size} ${space.unit} locations needs a sparse OD kernel this engine does not have yet; use an admin unit`, path);
  }
}
