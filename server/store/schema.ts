/**
 * The event schema, shared by everything that writes events and everything that
 * reads them: the data contract's CDR columns (docs/DATA.md), the size of a
 * subscriber's pseudonym, and the typed rows a day of the store holds. It sits
 * on the store's floor so ingest, the generator and the engine take it from
 * below rather than from one another.
 */

/** Canonical event columns of docs/DATA.md; readers map a file's header onto these. */
export const EVENT_COLUMNS = [
  'msisdn',
  'datetime',
  'cell_id',
  'event_type',
  'outgoing',
  'duration',
  'msisdn_counterpart',
  'recharge_amount',
] as const;
export type EventColumn = (typeof EVENT_COLUMNS)[number];

/** Bytes of a subscriber's pseudonym (HMAC-SHA-256), as the store's subscriber dictionary holds it. */
export const HASH_BYTES = 32;

/** Good rows as columns of store values, `length` rows each. */
export interface EventRows {
  length: number;
  sub: Uint32Array;
  t: Uint32Array;
  cell: Uint32Array;
  kind: Uint8Array;
  duration: Uint32Array;
  peer: Uint32Array;
  recharge: Float64Array;
}

/** Where good rows go, in file order: one call per row, or columns of rows at once. */
export interface EventSink {
  append(sub: number, t: number, cell: number, kind: number, duration: number, peer: number, recharge: number): void;
  /** The same as append() for each row in order. */
  appendColumns(rows: EventRows): void;
}
