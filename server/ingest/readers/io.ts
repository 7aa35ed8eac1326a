/** What every reader shares: progress counters and turning failures into IngestErrors. */
import { Errors, OpaliteError } from '../../errors.js';

export interface BinaryReaderOptions {
  /** Most rows per batch; default 4096. */
  batchRows?: number;
}

/**
 * Rows per batch unless asked otherwise. Small on purpose: a batch's strings
 * live until the batch is consumed, and past ~8k rows they outlive V8's young
 * generation, which halves CSV throughput (GC copying).
 */
export const DEFAULT_BATCH_ROWS = 4096;

/** Progress of a reader, for a progress bar. */
export interface Progress {
  /** Bytes of the file read so far (compressed bytes for .gz). */
  readonly bytesRead: number;
  /** Size of the file in bytes; 0 until reading starts. */
  readonly bytesTotal: number;
}

/**
 * Turns any failure while reading `file` into an IngestError naming it;
 * IngestErrors pass through, and so do the store's own errors and a full
 * disk met while writing what was read (the ingest report, a staged day):
 * those are not the file's fault, and say which file they were writing.
 * `format` prefixes a decoder's own message ("gzip: ...", "parquet: ...")
 * so the report says which layer failed.
 */
export function readError(file: string, e: unknown, format?: string): Error {
  if (e instanceof OpaliteError) return e;
  const err = e as NodeJS.ErrnoException | undefined;
  if (err?.code === 'ENOSPC' || err?.code === 'EDQUOT') return err as Error;
  if (err?.code === 'ENOENT') return Errors.missingFile(file, 'a data file');
  if (err?.code === 'EISDIR') return Errors.fileUnreadable(file, 'expected a file, found a directory');
  if (typeof err?.code === 'string' && err.code.startsWith('Z_')) format = 'gzip';
  // Some decoders (parquetjs-lite) throw plain strings.
  const message = e instanceof Error ? e.message : String(e);
  return Errors.fileUnreadable(file, format ? `${format}: ${message}` : message);
}
