/**
 * What every event file writer offers, and which writer a format uses. Its files
 * have the data contract's columns in store/schema.ts's order (EVENT_COLUMNS).
 * Imports nothing at load: `opalite --help` reads FORMATS from here.
 */
import type { EventBatch } from '../batch.js';
import type { RowText } from '../text.js';

export const FORMATS = ['csv', 'csv.gz', 'parquet', 'arrow'] as const;
export type Format = (typeof FORMATS)[number];

export interface EventWriter {
  /** Appends the batch's rows, in order. The batch may be reused once this resolves. */
  write(batch: EventBatch): Promise<void>;
  /** Finishes the file; resolves with its size in bytes. */
  close(): Promise<number>;
}

export type SinkFactory = (path: string, text: RowText) => Promise<EventWriter>;

/** events.csv for one file, events-000.csv ... for several. */
export function eventFileName(format: Format, index: number, files: number): string {
  const stem = files === 1 ? 'events' : `events-${String(index).padStart(3, '0')}`;
  return `${stem}.${format}`;
}

/** Names this generator gives event files: older ones are removed before writing, so no stale file joins the dataset. */
export const EVENT_FILE_NAME = /^events(-\d{3,})?\.(csv|csv\.gz|parquet|arrow)$/;
