/**
 * The on-disk layout of an Opalite store. One folder:
 *
 *   store.json                 the manifest: the only mutable file, replaced atomically
 *   days/YYYY-MM-DD.gN/        one immutable folder per local calendar day, generation N
 *     sub.u32 t.u32 cell.u32 kind.u8 [duration.u32] [peer.u32] [recharge.f64]
 *   dims/gN/                   dimension tables of generation N
 *     cells.json               cell dictionary, versions and region assignment
 *     regions.json             administrative levels (normalised GeoJSON)
 *     subscribers.bin          32-byte keyed hash per subscriber index
 *   reports/                   ingest reports (bad rows: file, line, field, reason)
 *   .readers/PID-vN.json       a reader's lease on version N's folders (lease.ts)
 *
 * Columns are raw little-endian arrays, one file each, so that a day loads with
 * one read straight into shared memory that the kernels see. Rows keep ingest
 * order within a day (the spec's tie rule for `last` depends on it). A column
 * that is null on every row of a day is not written.
 *
 * Writers never modify a referenced file: they stage new folders, rename them
 * into place, then replace store.json. A reader that holds a manifest keeps a
 * consistent view; a crash before the manifest rename leaves the old store, and
 * unreferenced folders are removed the next time a writer opens the store.
 */
import path from 'node:path';

export const STORE_FORMAT = 'opalite-store/1';
export const MANIFEST_FILE = 'store.json';

export type ColumnType = 'u32' | 'u8' | 'f64';

export interface ColumnSpec {
  name: ColumnName;
  type: ColumnType;
  bytes: number;
  /** Whether every day has it; optional columns are omitted when all null. */
  required: boolean;
}

export type ColumnName = 'sub' | 't' | 'cell' | 'kind' | 'duration' | 'peer' | 'recharge';

/**
 * sub: subscriber index into subscribers.bin; t: local wall-clock seconds since
 * 1970 (the dataset's timezone; day = floor(t / 86400)); cell: index into the cell
 * dictionary, NULL_U32 for none; kind: event type | direction << 2; duration:
 * seconds, NULL_U32 for none; peer: counterpart's subscriber index, NULL_U32 for
 * none; recharge: top-up amount, NaN for none.
 */
export const COLUMNS: readonly ColumnSpec[] = [
  { name: 'sub', type: 'u32', bytes: 4, required: true },
  { name: 't', type: 'u32', bytes: 4, required: true },
  { name: 'cell', type: 'u32', bytes: 4, required: true },
  { name: 'kind', type: 'u8', bytes: 1, required: true },
  { name: 'duration', type: 'u32', bytes: 4, required: false },
  { name: 'peer', type: 'u32', bytes: 4, required: false },
  { name: 'recharge', type: 'f64', bytes: 8, required: false },
];

export function columnFile(column: ColumnSpec): string {
  return `${column.name}.${column.type}`;
}

export function dayDirName(date: string, generation: number): string {
  return `${date}.g${generation}`;
}

export function dimsDirName(generation: number): string {
  return `g${generation}`;
}

/** Prefix of an ingest's report while it is written (reports/.pending-ID.csv), renamed at commit. */
export const PENDING_REPORT = '.pending-';

export const paths = {
  manifest: (store: string) => path.join(store, MANIFEST_FILE),
  days: (store: string) => path.join(store, 'days'),
  dims: (store: string) => path.join(store, 'dims'),
  reports: (store: string) => path.join(store, 'reports'),
  lock: (store: string) => path.join(store, '.lock'),
  staging: (store: string) => path.join(store, '.staging'),
};
