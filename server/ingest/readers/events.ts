/**
 * Opens an events file as a BatchSource, choosing the reader by extension
 * (docs/DATA.md: *.csv, *.csv.gz, *.parquet, *.arrow; also .arrows and .feather,
 * the other names of Arrow IPC streams and files). Every format's header goes
 * through mapHeader, so column names match case-insensitively everywhere.
 */
import { Errors } from '../../errors.js';
import { mapHeader, type BatchSource, type RawBatch } from '../source.js';
import type { EventColumn } from '../../store/schema.js';
import { arrowBatches } from './arrow.js';
import { csvBatches, type CsvBatch, type CsvOptions } from './csv.js';
import type { BinaryReaderOptions, Progress } from './io.js';
import { parquetBatches } from './parquet.js';

export type EventFormat = 'csv' | 'parquet' | 'arrow';

/** A BatchSource that also says how far it has read. */
export interface EventSource extends BatchSource, Progress {
  readonly file: string;
  readonly format: EventFormat;
}

/** The format of an events file by its name, or null when it is not one. */
export function eventFormat(file: string): EventFormat | null {
  const name = file.toLowerCase();
  if (name.endsWith('.csv') || name.endsWith('.csv.gz')) return 'csv';
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.arrow') || name.endsWith('.arrows') || name.endsWith('.feather')) return 'arrow';
  return null;
}

/** CSV batches (all columns, strings) as RawBatches of the canonical columns. */
async function* csvToRaw(batches: AsyncIterable<CsvBatch>): AsyncGenerator<RawBatch> {
  let mapping: (EventColumn | undefined)[] | null = null;
  for await (const b of batches) {
    mapping ??= mapHeader(b.header);
    const columns: RawBatch['columns'] = {};
    mapping.forEach((column, i) => {
      if (column) columns[column] = b.columns[i];
    });
    yield { length: b.length, columns, lines: b.lines, badRows: b.badRows, header: b.header };
  }
}

function source(file: string, format: EventFormat, progress: Progress, iterate: () => AsyncIterator<RawBatch>): EventSource {
  return {
    file,
    format,
    get bytesRead() {
      return progress.bytesRead;
    },
    get bytesTotal() {
      return progress.bytesTotal;
    },
    [Symbol.asyncIterator]: iterate,
  };
}

/**
 * Opens `file` for reading; nothing is read until iteration starts. Throws
 * Errors.unsupportedFormat for an unknown extension; read failures surface as
 * IngestErrors naming the file from the iteration.
 */
export function openEventSource(file: string, opts: CsvOptions & BinaryReaderOptions = {}): EventSource {
  switch (eventFormat(file)) {
    case 'csv': {
      const reader = csvBatches(file, opts);
      return source(file, 'csv', reader, () => csvToRaw(reader));
    }
    case 'parquet': {
      const reader = parquetBatches(file, opts);
      return source(file, 'parquet', reader, () => reader[Symbol.asyncIterator]());
    }
    case 'arrow': {
      const reader = arrowBatches(file, opts);
      return source(file, 'arrow', reader, () => reader[Symbol.asyncIterator]());
    }
    default:
      throw Errors.unsupportedFormat(file);
  }
}
