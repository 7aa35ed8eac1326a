/** The messages between the CSV ingest (main thread) and its parse workers (csv-worker.ts). */
import type { ParsedEvents } from './csv-events.js';
import type { PlausibleDates } from './dates.js';
import type { RowColumns } from './csv-kernel.js';

/** Given once, as workerData. */
export interface CsvWorkerInit {
  key: Uint8Array;
  timezone: string;
  dates: PlausibleDates;
}

/**
 * Parse the rows of `file` that start in [start, stop): from the first line
 * start at or after `start` (or `start` itself when it is `dataStart`, the
 * byte after the header), to the first line start at or after `stop`.
 */
export interface ChunkTask {
  kind: 'chunk';
  id: number;
  file: string;
  header: string[];
  dataStart: number;
  start: number;
  stop: number;
  size: number;
}

/**
 * The next bytes of a file that cannot be cut (gzipped): the worker parses
 * them as one stream, keeping the incomplete last row for the next call.
 * `first` starts a new file: at its header row and line 1, or, when `header`
 * is given, at line `line` after it. `eof` ends it.
 */
export interface StreamTask {
  kind: 'stream';
  id: number;
  file: string;
  bytes: Uint8Array;
  first: boolean;
  eof: boolean;
  header?: string[];
  line?: number;
}

/**
 * Whole rows of a stream, cut at a line end where no quote was seen before:
 * parsed on their own, lines counted from 0 (like a chunk's).
 */
export interface PieceTask {
  kind: 'piece';
  id: number;
  file: string;
  header: string[];
  bytes: Uint8Array;
}

/** The store indexes of the worker's local subscriber ids [from, from + indexes.length), once the main thread has them (IdMap.onLearn). */
export interface LearnMessage {
  kind: 'learn';
  from: number;
  indexes: Uint32Array;
}

/** Store indexes of all-digit subscribers another worker met first (IdMap.onNewToStore): digit keys as [hi, lo] pairs. */
export interface KnowMessage {
  kind: 'know';
  keys: Int32Array;
  indexes: Uint32Array;
}

/** A merged batch's columns, whole buffers, moved back for the worker's next parser (recycleColumns). */
export interface RecycleMessage {
  kind: 'recycle';
  buffers: ArrayBuffer[];
}

/** The column buffers of a merged batch, in the order RecycleMessage carries them. */
export function columnBuffers(p: ParsedEvents): ArrayBuffer[] {
  return [p.sub, p.peer, p.cell, p.t, p.kind, p.duration, p.recharge].map((a) => a.buffer as ArrayBuffer);
}

/** The columns of RecycleMessage buffers. */
export function columnsOf(buffers: ArrayBuffer[]): RowColumns {
  const [sub, peer, cell, t, kind, duration, recharge] = buffers as [ArrayBuffer, ArrayBuffer, ArrayBuffer, ArrayBuffer, ArrayBuffer, ArrayBuffer, ArrayBuffer];
  return { sub: new Uint32Array(sub), peer: new Uint32Array(peer), cell: new Uint32Array(cell), t: new Uint32Array(t), kind: new Uint8Array(kind), duration: new Uint32Array(duration), recharge: new Float64Array(recharge) };
}

export type ChunkResult =
  | {
      kind: 'parsed';
      id: number;
      /** Where the worker started (the first line start it found) and stopped. */
      p0: number;
      end: number;
      /** Line ends consumed between p0 and end; reject lines count from 0 at p0. */
      lines: number;
      parsed: ParsedEvents | null;
      /** For a stream: the file's header row, once read. */
      header?: string[] | null;
    }
  /** Anything the worker could not parse (a bad quote, a read error): the main thread re-reads from there and reports it. */
  | { kind: 'failed'; id: number; message: string; /** An IngestError's code: the message is final (a stream's lines are exact). */ code?: string };

/** The transferable buffers of a batch, moved rather than copied. */
export function transferList(p: ParsedEvents | null): ArrayBuffer[] {
  if (!p) return [];
  return [p.sub, p.peer, p.cell, p.t, p.kind, p.duration, p.recharge, p.newSubscriberKeys, p.newSubscribers].map((a) => a.buffer as ArrayBuffer);
}
