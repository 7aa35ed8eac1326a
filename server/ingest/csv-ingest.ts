/**
 * CSV event files into the store. A plain .csv is cut into byte ranges that
 * worker threads parse at the same time (each finds its first line start
 * itself); the main thread merges their batches in file order, so the store
 * is byte for byte what one sequential pass gives. A range boundary that
 * falls inside a quoted field with a line break shows up as a worker that
 * started somewhere other than where the previous range ended; from there,
 * as after any worker failure, the main thread reads the rest of the file
 * itself, which also reports errors with their exact line. A .csv.gz cannot
 * be cut: it is gunzipped here and parsed as one stream on one worker, so
 * parsing and merging still overlap. With fewer than two threads, everything
 * is parsed here, with the same parser.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Errors, IngestError } from '../errors.js';
import { CsvEventParser, ParserIds, presentColumns, recycleColumns, type ParsedEvents } from './csv-events.js';
import type { ChunkResult, ChunkTask, CsvWorkerInit, KnowMessage, LearnMessage, PieceTask, RecycleMessage, StreamTask } from './csv-protocol.js';
import { columnBuffers, columnsOf } from './csv-protocol.js';
import { ANY_DATE, type PlausibleDates } from './dates.js';
import type { TimezoneOffsets } from '../util/datetime.js';
import { KeyedHash } from './hmac.js';
import { EventMerger, IdMap, type MergeTarget } from './merge.js';
import { CsvScanner, MAX_ROW_BYTES, scanChunks } from './readers/csv.js';
import { readError } from './readers/io.js';

export interface CsvIngestOptions {
  /** Parse workers for plain .csv files; 0 or 1 parses on the main thread. Default: the machine's parallelism. */
  threads?: number;
  /** Bytes per range a worker parses (and, up to 4 MiB, per piece of a gzipped stream); default 8 MiB. Small values exist for tests. */
  chunkBytes?: number;
}

export interface CsvFileTarget extends Omit<MergeTarget, 'file'> {
  /** Called after each merged batch with the bytes of the file read so far. */
  onBytes?: (bytesRead: number) => void;
  signal?: AbortSignal;
}

const DEFAULT_CHUNK_BYTES = 8 << 20;
const QUOTE = 0x22;
const LF = 0x0a;
/** Rows per batch on the main thread: small enough to merge while the batch is in cache. */
const MAIN_BATCH_ROWS = 1 << 14;

/** The parse worker's script, or null where there is none (then everything is parsed on the main thread). */
function workerFile(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const file of [path.join(here, 'csv-worker.js'), path.join(here, '..', '..', 'dist', 'server', 'ingest', 'csv-worker.js')]) {
    if (fs.existsSync(file)) return file;
  }
  return null;
}

const workerScript = workerFile();

/** Parses the header row only. */
class HeaderScanner extends CsvScanner {
  get full(): boolean {
    return this.header !== null;
  }
  protected onRow(): void {}
  protected onBadRow(): void {}
}

/** The pool of parse workers, each with the map of its local ids. */
class CsvWorkers {
  readonly workers: Worker[];
  readonly maps: IdMap[];
  private readonly waiting = new Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  constructor(threads: number, file: string, init: CsvWorkerInit) {
    this.workers = Array.from({ length: threads }, () => new Worker(file, { workerData: init }));
    this.maps = this.workers.map(() => new IdMap());
    this.workers.forEach((w, k) => {
      this.maps[k]!.onLearn = (from, view) => {
        // A view would be cloned with the whole map under it: send a copy of just these, moved.
        const indexes = view.slice();
        w.postMessage({ kind: 'learn', from, indexes } satisfies LearnMessage, [indexes.buffer]);
      };
      this.maps[k]!.onNewToStore = (keys, indexes) => {
        // The other workers learn them before they meet them, where they can: one message each, copies.
        this.workers.forEach((other, j) => j !== k && other.postMessage({ kind: 'know', keys, indexes } satisfies KnowMessage));
      };
      this.maps[k]!.onMerged = (p) => {
        const buffers = columnBuffers(p);
        w.postMessage({ kind: 'recycle', buffers } satisfies RecycleMessage, buffers);
      };
    });
    for (const w of this.workers) {
      w.on('message', (r: ChunkResult) => {
        const waiter = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        waiter?.resolve(r);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => code !== 0 && this.fail(new Error(`a CSV parse worker exited with code ${code}`)));
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /** Runs a task on worker `worker` (a chunk: `task.id % threads`); worker by worker, tasks run in the order given. */
  run(task: ChunkTask | StreamTask | PieceTask, worker = task.id % this.workers.length): Promise<ChunkResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.set(task.id, { resolve, reject });
      if (task.kind !== 'chunk') this.workers[worker]!.postMessage(task, [task.bytes.buffer as ArrayBuffer]);
      else this.workers[worker]!.postMessage(task);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** CSV ingest for one dataset: the main thread's parser ids and the worker pool outlive a file. */
export class CsvIngest {
  private mainIds: ParserIds | null = null;
  private readonly mainMap = new IdMap();
  private pool: CsvWorkers | null = null;
  private readonly threads: number;
  private readonly chunkBytes: number;

  constructor(
    private readonly key: Buffer,
    private readonly tz: TimezoneOffsets,
    opts: CsvIngestOptions = {},
    private readonly dates: PlausibleDates = ANY_DATE,
  ) {
    this.threads = workerScript ? (opts.threads ?? os.availableParallelism()) : 0;
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  }

  /** Starts the parse workers now when any of `files` (the CSV files to come) will use them. */
  warmUp(files: readonly string[]): void {
    if (this.threads >= 2 && files.length > 0) this.workerPool();
  }

  private workerPool(): CsvWorkers {
    this.pool ??= new CsvWorkers(this.threads, workerScript!, { key: this.key, timezone: this.tz.timezone, dates: this.dates });
    return this.pool;
  }

  async file(file: string, target: CsvFileTarget): Promise<void> {
    const size = fs.statSync(file).size;
    if (this.threads < 2) return this.sequential(file, target, 0, null, 1);
    if (!/\.gz$/i.test(file) && size > this.chunkBytes) return this.parallel(file, size, target);
    return this.streamed(file, target);
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }

  /**
   * Parses `file` on the main thread from byte `from`: the whole file (header
   * included) when `header` is null, else the rows after it, lines counted from `line`.
   */
  private async sequential(file: string, target: CsvFileTarget, from: number, header: string[] | null, line: number): Promise<void> {
    if (!this.mainIds) {
      const ids = new ParserIds(new KeyedHash(this.key), this.dates);
      this.mainMap.onLearn = (from, indexes) => ids.learn(from, indexes);
      this.mainMap.onMerged = (p) => recycleColumns(columnsOf(columnBuffers(p)));
      this.mainIds = ids;
    }
    const parser = new CsvEventParser(file, this.tz, this.mainIds, MAIN_BATCH_ROWS);
    if (header) parser.useHeader(header);
    parser.line = line;
    const src = fs.createReadStream(file, { start: from, highWaterMark: 1 << 20 });
    const bytes: AsyncIterable<Buffer> = /\.gz$/i.test(file) ? pipeline(src, createGunzip(), () => {}) : src;
    let merger: EventMerger | null = null;
    try {
      for await (const batch of scanChunks(bytes, file, parser, () => parser.take(), from === 0)) {
        if (target.signal?.aborted) throw abortError();
        merger ??= new EventMerger({ file, ...target }, parser.header ?? []);
        merger.merge(batch, this.mainMap, 0);
        target.onBytes?.(from + src.bytesRead);
      }
    } catch (e) {
      throw readError(file, e);
    } finally {
      src.destroy();
    }
  }

  /**
   * A file that is not cut by byte ranges (gzipped, or small): read (and
   * gunzipped, on libuv's threads) here. While no quote has been seen, the
   * stream is cut at its last line end into pieces that the workers parse side
   * by side (every line end is a row end when there are no quotes); from the
   * first quote on, the rest is parsed as one stream on one worker. The main
   * thread merges in order while the workers parse.
   */
  private async streamed(file: string, target: CsvFileTarget): Promise<void> {
    const pool = this.workerPool();
    const workers = pool.workers.length;
    // Pieces of about a block each (4 MiB: fewer, larger messages and parsers than at 1 MiB; smaller in tests, through chunkBytes).
    const block = Math.max(64, Math.min(this.chunkBytes, 1 << 22));
    const src = fs.createReadStream(file, { highWaterMark: block });
    const bytes: AsyncIterable<Buffer> = /\.gz$/i.test(file) ? pipeline(src, createGunzip({ chunkSize: block }), () => {}) : src;
    const pending: { result: Promise<ChunkResult>; worker: number; piece: boolean }[] = [];
    const headerScanner = new HeaderScanner(file);
    let header: string[] | null = null;
    let merger: EventMerger | null = null;
    let line = 1; // the file's line where the next piece starts
    let carry: Buffer | null = null; // bytes not yet sent: before the header's end, or after the last line end
    let streaming = false; // a quote was seen: the rest goes to worker 0 as one stream
    let id = 0;
    const send = (task: StreamTask | PieceTask, worker: number) => {
      const result = pool.run(task, worker);
      result.catch(() => {}); // awaited in order below
      pending.push({ result, worker, piece: task.kind === 'piece' });
      id++;
    };
    const mergeNext = async () => {
      const { result, worker, piece } = pending.shift()!;
      const r = await result;
      if (r.kind === 'failed') throw r.code ? new IngestError(r.code, r.message) : new Error(r.message);
      if (r.parsed) {
        merger ??= new EventMerger({ file, ...target }, header ?? r.header ?? []);
        merger.merge(r.parsed, pool.maps[worker]!, piece ? line : 0);
      }
      if (piece) line += r.lines;
      target.onBytes?.(src.bytesRead);
    };
    const stream = (chunk: Uint8Array, eof: boolean) => {
      const first = !streaming;
      streaming = true;
      send({ kind: 'stream', id, file, bytes: new Uint8Array(chunk), first, eof, ...(first && header ? { header, line } : {}) }, 0);
    };
    /**
     * Sends what can be sent of `data` (unsent bytes before it are in `carry`).
     * Returns true, keeping everything in `carry`, at the first quote: the
     * caller merges what was sent (so `line` is exact) and streams from there.
     */
    const feed = (data: Buffer, eof: boolean): boolean => {
      if (!streaming && header !== null && data.indexOf(QUOTE) < 0) {
        // The usual block: the carried partial row and the block's whole rows become one piece, copied once.
        const cut = eof ? data.length : data.lastIndexOf(LF) + 1;
        const head = carry?.length ?? 0;
        if (cut > 0 || (eof && head > 0)) {
          const piece = new Uint8Array(head + cut);
          if (carry) piece.set(carry);
          piece.set(data.subarray(0, cut), head);
          send({ kind: 'piece', id, file, header, bytes: piece }, id % workers);
          carry = cut < data.length ? Buffer.from(data.subarray(cut)) : null;
        } else {
          carry = carry ? Buffer.concat([carry, data]) : Buffer.from(data);
        }
        if (carry && carry.length > MAX_ROW_BYTES) throw Errors.rowTooLong(file, line, MAX_ROW_BYTES);
        return false;
      }
      let buf = carry ? Buffer.concat([carry, data]) : data;
      carry = null;
      if (streaming) {
        stream(buf, eof);
        return false;
      }
      if (header === null) {
        if (line === 1 && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
        const start = headerScanner.parse(buf, 0, eof);
        if (headerScanner.header === null) {
          if (eof) return false;
          if (buf.length > MAX_ROW_BYTES) throw Errors.rowTooLong(file, 1, MAX_ROW_BYTES);
          headerScanner.line = 1; // parsed again from the start with more bytes
          carry = Buffer.from(buf);
          return false;
        }
        header = headerScanner.header;
        line = headerScanner.line;
        buf = buf.subarray(start);
      }
      if (buf.indexOf(QUOTE) >= 0) {
        carry = Buffer.from(buf);
        return true;
      }
      const cut = eof ? buf.length : buf.lastIndexOf(LF) + 1;
      if (cut > 0) send({ kind: 'piece', id, file, header, bytes: new Uint8Array(buf.subarray(0, cut)) }, id % workers);
      if (cut < buf.length) carry = Buffer.from(buf.subarray(cut));
      if (carry && carry.length > MAX_ROW_BYTES) throw Errors.rowTooLong(file, line, MAX_ROW_BYTES);
      return false;
    };
    const feedOrStream = async (data: Buffer, eof: boolean) => {
      if (!feed(data, eof)) return;
      while (pending.length > 0) await mergeNext();
      const rest = carry!;
      carry = null;
      stream(rest, eof);
    };
    try {
      for await (const chunk of bytes) {
        if (target.signal?.aborted) throw abortError();
        await feedOrStream(chunk, false);
        // A few pieces in flight: the workers parse while this thread merges.
        while (pending.length > 2 * workers) await mergeNext();
      }
      await feedOrStream(Buffer.alloc(0), true);
      while (pending.length > 0) await mergeNext();
    } catch (e) {
      await this.close(); // a worker's stream is abandoned mid-file
      throw readError(file, e);
    } finally {
      src.destroy();
    }
  }

  private async parallel(file: string, size: number, target: CsvFileTarget): Promise<void> {
    const { header, dataStart, line: firstLine } = readHeader(file, size);
    if (!header || dataStart >= size) return this.sequential(file, target, 0, null, 1);
    const merger = new EventMerger({ file, ...target }, header);
    const pool = this.workerPool();
    const count = Math.ceil((size - dataStart) / this.chunkBytes);
    const inFlight = 2 * pool.workers.length;
    const pending: Promise<ChunkResult>[] = [];
    const dispatch = (k: number) => {
      const start = dataStart + k * this.chunkBytes;
      const task: ChunkTask = { kind: 'chunk', id: k, file, header, dataStart, start, stop: Math.min(size, start + this.chunkBytes), size };
      pending[k] = pool.run(task);
      pending[k]!.catch(() => {}); // awaited in order below; a rejection before then is not unhandled
    };
    for (let k = 0; k < Math.min(count, inFlight); k++) dispatch(k);

    let expected = dataStart;
    let line = firstLine;
    for (let k = 0; k < count; k++) {
      if (target.signal?.aborted) throw abortError();
      let r: ChunkResult;
      try {
        r = await pending[k]!;
      } catch {
        r = { kind: 'failed', id: k, message: 'worker failed' };
      }
      delete pending[k];
      if (r.kind === 'failed' || r.p0 !== expected) {
        // Not where the previous range ended (a quoted line break), or not parsed: read on here, in order.
        await this.close();
        return this.sequential(file, target, expected, header, line);
      }
      if (k + inFlight < count) dispatch(k + inFlight);
      if (r.parsed) merger.merge(r.parsed as ParsedEvents, pool.maps[k % pool.workers.length]!, line);
      line += r.lines;
      expected = r.end;
      target.onBytes?.(expected);
    }
  }
}

function abortError(): IngestError {
  return new IngestError('ABORTED', 'ingest interrupted; the store is unchanged');
}

/** The header row of a CSV file, the byte offset after it, and the line number there. */
function readHeader(file: string, size: number): { header: string[] | null; dataStart: number; line: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const scanner = new HeaderScanner(file);
    for (let length = 1 << 16; ; length *= 2) {
      const buf = Buffer.allocUnsafe(Math.min(length, size));
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const bom = n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
      const eof = n >= size;
      const pos = scanner.parse(buf.subarray(bom, n), 0, eof);
      if (scanner.header) return { header: scanner.header, dataStart: bom + pos, line: scanner.line };
      if (eof || length > MAX_ROW_BYTES) return { header: null, dataStart: 0, line: 1 };
      scanner.line = 1;
    }
  } finally {
    fs.closeSync(fd);
  }
}
