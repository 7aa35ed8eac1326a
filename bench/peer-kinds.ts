/**
 * The main kinds as the peers (DuckDB, Polars) compute them, shared by the bench's parent
 * and its engine processes (bench/duckdb.ts, bench/peer.ts): each kind's name (as in
 * bench/kinds.ts), its SQL file in bench/duckdb/, the shape of its rows, and the integer
 * parameters every query is filled with.
 */
import type { Row } from '../server/privacy/redact.js';

/** The engine a bench process runs, and what it is started with (bench/peer.ts's argument). */
export type EngineName = 'opalite' | 'duckdb-file' | 'duckdb-sorted' | 'polars' | 'export' | 'duckdb-persist';

export interface PeerConfig {
  engine: EngineName;
  store: string;
  /** Where the Parquet files (and the DuckDB database file) of this size are kept. */
  peers: string;
  params: Params;
  threads: number;
  duckdbMemory: string;
}

/** Published rows' threshold (docs/QUERIES.md: keep > k); every engine uses the same. */
export const K = 15;
export const UNIT = 'admin3';

export type Shape = 'region' | 'od' | 'region-hour';

export interface PeerKind {
  /** The name bench/kinds.ts gives the kind's spec. */
  name: string;
  /** bench/duckdb/<file>.sql; also the Polars query's key in bench/polars.ts. */
  file: string;
  /** Peer rows are arrays: [region, value], [from, to, value] or [region, hour, value]. */
  shape: Shape;
}

export const PEER_KINDS: PeerKind[] = [
  { name: 'spatial_aggregate daily last', file: 'spatial_aggregate_daily_last', shape: 'region' },
  { name: 'spatial_aggregate daily most-common', file: 'spatial_aggregate_daily_most_common', shape: 'region' },
  { name: 'spatial_aggregate modal 7 days', file: 'spatial_aggregate_modal_7_days', shape: 'region' },
  { name: 'flows daily last', file: 'flows_daily_last', shape: 'od' },
  { name: 'unique_subscriber_counts', file: 'unique_subscriber_counts', shape: 'region' },
  { name: 'location_event_counts hourly', file: 'location_event_counts_hourly', shape: 'region-hour' },
  { name: 'consecutive_trips_od_matrix', file: 'consecutive_trips_od_matrix', shape: 'od' },
  { name: 'trips_od_matrix', file: 'trips_od_matrix', shape: 'od' },
  { name: 'joined_spatial_aggregate radius_of_gyration avg', file: 'joined_spatial_aggregate_radius_of_gyration_avg', shape: 'region' },
  { name: 'total_network_objects hourly', file: 'total_network_objects_hourly', shape: 'region-hour' },
];

/**
 * The integers the queries are written with (days since 1970 in the dataset's local time,
 * as the store's t is local seconds since 1970). bench/kinds.ts's specs use the same days:
 * daily kinds on the second day, flows between the first and the last, windows
 * [first, last), the modal location over the first seven days.
 */
export interface Params {
  d0: number;
  d1: number;
  d_last: number;
  week_end: number;
  k: number;
  /** Cells in the store: the day * cells + cell join key's stride. */
  cells: number;
  /** The first day's first second: order keys count seconds from it. */
  t0: number;
  /** Bits of the global row number rn in an order key ((t - t0) << rn_bits | rn). */
  rn_bits: number;
  /** Bits of a whole order key (seconds of the store's days above rn): counts go above them. */
  k_bits: number;
  [name: string]: number;
}

export const dayNum = (d: string) => Date.UTC(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10)) / 86_400_000;
export const dayIso = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10);

export function params(days: readonly string[], cells: number, rows: number): Params {
  const D = days.map(dayNum);
  const d0 = D[0]!;
  const dLast = D.at(-1)!;
  const rnBits = Math.max(1, Math.ceil(Math.log2(rows + 1)));
  const tBits = Math.ceil(Math.log2((dLast - d0 + 1) * 86_400));
  // A count goes above the key: keep 14 bits for it (a subscriber's events in one region a day).
  if (rnBits + tBits > 63 - 14) throw new Error(`order keys need ${rnBits + tBits} bits: too many rows or days for one BIGINT`);
  return { d0, d1: D[1]!, d_last: dLast, week_end: D.slice(0, 7).at(-1)! + 1, k: K, cells, t0: d0 * 86_400, rn_bits: rnBits, k_bits: rnBits + tBits };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A peer's row (region indexes, hour numbers) as Opalite's published row. */
export function toRow(shape: Shape, pcods: readonly string[], r: readonly number[]): Row {
  switch (shape) {
    case 'region':
      return { pcod: pcods[r[0]!]!, value: r[1]! };
    case 'od':
      return { pcod_from: pcods[r[0]!]!, pcod_to: pcods[r[1]!]!, value: r[2]! };
    case 'region-hour': {
      const h = r[1]!;
      return { pcod: pcods[r[0]!]!, date: dayIso(Math.floor(h / 24)), hour: h % 24, value: r[2]! };
    }
  }
}

/** Opalite's total_network_objects rows name the period as one `datetime`; the peers give an hour number. */
export function normalise(row: Row): Row {
  if (typeof row.datetime === 'string' && !('hour' in row)) {
    const { datetime, ...rest } = row;
    return { ...rest, date: datetime.slice(0, 10), hour: Number(datetime.slice(11, 13)) };
  }
  return row;
}

const keyOf = (r: Row) => Object.entries(r).filter(([c]) => c !== 'value').sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, v]) => `${c}=${v}`).join(',');

/** null when the rows are equal (keys exactly, values to 1e-9 relative), else what differs. */
export function compareRows(a: readonly Row[], b: readonly Row[], peer: string): string | null {
  const ma = new Map(a.map((r) => [keyOf(normalise(r)), r.value as number]));
  const mb = new Map(b.map((r) => [keyOf(normalise(r)), r.value as number]));
  const diffs: string[] = [];
  for (const [k, v] of ma) {
    const w = mb.get(k);
    if (w === undefined) diffs.push(`${k}: Opalite ${v}, ${peer} none`);
    else if (!(v === w || Math.abs(v - w) <= 1e-9 * Math.max(Math.abs(v), Math.abs(w)))) diffs.push(`${k}: Opalite ${v}, ${peer} ${w}`);
  }
  for (const [k, w] of mb) if (!ma.has(k)) diffs.push(`${k}: Opalite none, ${peer} ${w}`);
  if (ma.size !== a.length || mb.size !== b.length) diffs.push(`duplicate keys (Opalite ${a.length} rows/${ma.size} keys, ${peer} ${b.length}/${mb.size})`);
  return diffs.length ? `${diffs.length} differences (Opalite ${a.length} rows, ${peer} ${b.length}): ${diffs.slice(0, 5).join('; ')}` : null;
}

/** A query file without its comment lines, its {{placeholders}} filled; an unknown placeholder is an error, not an empty string. */
export function fill(sql: string, values: Record<string, string | number>, file: string): string {
  // Whole-line comments go first: they explain the placeholders, they are not filled.
  return sql.replace(/^\s*--.*\n/gm, '').replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`${file}: expected a value for {{${name}}}, found none`);
    return String(values[name]);
  });
}
