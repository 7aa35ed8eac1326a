/**
 * The contract between a file reader and the ingest pipeline.
 *
 * A reader knows one file format (CSV, Parquet, Arrow) and nothing about CDR
 * semantics: it yields batches of raw column values, and the pipeline
 * (normalise.ts) validates and types them, so every format goes through the
 * same checks and gives the same store.
 */
import { EVENT_COLUMNS, type EventColumn } from '../store/schema.js';

/**
 * A raw value as a file format gives it: CSV gives strings (empty string for
 * an empty field), Parquet and Arrow give typed values. Dates from typed
 * formats arrive as Date (a timestamp) or string; the normaliser accepts both.
 */
export type RawValue = string | number | bigint | boolean | Date | null | undefined;

/** A batch of rows from one file, column-major, same length in every present column. */
export interface RawBatch {
  /** Number of rows in this batch. */
  length: number;
  /** Present canonical columns; a column the file lacks is absent. */
  columns: Partial<Record<EventColumn, RawValue[]>>;
  /**
   * Where each row came from, for error reports: the 1-based line number in a
   * text file (header is line 1), or the 1-based row number in a binary file.
   */
  lines: Int32Array | number[];
  /**
   * Rows the reader could not split into columns (a CSV row with the wrong
   * number of fields...), with their line and what was wrong; not in `length`.
   */
  badRows?: { line: number; reason: string }[];
  /** The file's own column names, in file order (for messages: what was found). */
  header?: readonly string[];
}

/** What a reader yields: batches, in file order. */
export type BatchSource = AsyncIterable<RawBatch>;

/**
 * Lower-cased header names accepted for each canonical column (docs/DATA.md:
 * FlowKit's names and common aliases). Unknown columns are ignored.
 */
export const COLUMN_ALIASES: Record<EventColumn, readonly string[]> = {
  msisdn: ['msisdn', 'subscriber', 'subscriber_id', 'imsi', 'imei', 'msisdn_hash', 'caller'],
  datetime: ['datetime', 'timestamp', 'time', 'date_time', 'event_time', 'start_time'],
  cell_id: ['cell_id', 'location_id', 'cell', 'cellid', 'tower_id', 'site_cell_id'],
  event_type: ['event_type', 'type', 'event', 'record_type'],
  outgoing: ['outgoing', 'is_outgoing', 'direction_out'],
  duration: ['duration', 'call_duration', 'duration_s', 'duration_sec'],
  msisdn_counterpart: ['msisdn_counterpart', 'counterpart', 'counterpart_msisdn', 'other_msisdn', 'callee'],
  recharge_amount: ['recharge_amount', 'amount', 'topup_amount', 'recharge'],
};

/**
 * Maps a file's header (in file order) to canonical columns: result[i] is the
 * canonical name of header i, or undefined when the column is ignored. The first
 * header matching a canonical column wins.
 */
export function mapHeader(header: readonly string[]): (EventColumn | undefined)[] {
  const taken = new Set<EventColumn>();
  return header.map((raw) => {
    const name = raw.trim().toLowerCase().replace(/^\uFEFF/, '');
    for (const column of EVENT_COLUMNS) {
      if (!taken.has(column) && COLUMN_ALIASES[column].includes(name)) {
        taken.add(column);
        return column;
      }
    }
    return undefined;
  });
}
