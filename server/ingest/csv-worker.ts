/**
 * A CSV parse worker: reads its own byte ranges of a file (nothing large
 * crosses threads on the way in) and returns typed batches. Its ParserIds live
 * as long as the worker, so a subscriber is handed over once per worker (an
 * all-digit id as its key, hashed on the main thread once per ingest).
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CsvEventParser, ParserIds, recycleColumns } from './csv-events.js';
import { Errors, IngestError } from '../errors.js';
import type { ChunkResult, ChunkTask, CsvWorkerInit, KnowMessage, LearnMessage, PieceTask, RecycleMessage, StreamTask } from './csv-protocol.js';
import { columnsOf, transferList } from './csv-protocol.js';
import { TimezoneOffsets } from '../util/datetime.js';
import { KeyedHash } from './hmac.js';
import { MAX_ROW_BYTES } from './readers/csv.js';

const LF = 0x0a;
const READ_AHEAD = 1 << 16;

const init = workerData as CsvWorkerInit;
const tz = new TimezoneOffsets(init.timezone);
const ids = new ParserIds(new KeyedHash(init.key), init.dates);

/** Reads `length` bytes from `position` into `buf` (a new buffer when not given); fewer at the end of the file. */
function read(fd: number, position: number, length: number, buf: Buffer<ArrayBufferLike> = Buffer.allocUnsafe(length)): Buffer<ArrayBufferLike> {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** The first byte after an LF at or after `from`, or `size` when there is none. */
function nextLineStart(fd: number, from: number, size: number): number {
  for (let at = from; at < size; at += READ_AHEAD) {
    const lf = read(fd, at, READ_AHEAD).indexOf(LF);
    if (lf >= 0) return at + lf + 1;
  }
  return size;
}

function parseChunk(task: ChunkTask): ChunkResult {
  const { id, file, start, stop, size } = task;
  const fd = fs.openSync(file, 'r');
  try {
    const p0 = start === task.dataStart ? start : nextLineStart(fd, start - 1, size);
    if (p0 >= stop) return { kind: 'parsed', id, p0, end: p0, lines: 0, parsed: null };
    const parser = new CsvEventParser(file, tz, ids, Infinity, Math.ceil((stop - p0) / 48));
    parser.useHeader(task.header);
    parser.line = 0;
    let base = p0;
    // Read straight into the row kernel's memory: no copy on the way in.
    const length = Math.min(size, stop + READ_AHEAD) - p0;
    let buf = read(fd, p0, length, ids.kernel.inputBuffer(length));
    let pos = 0;
    for (;;) {
      const eof = base + buf.length >= size;
      pos = parser.parse(buf, pos, eof, stop - base);
      if (eof || base + pos >= stop) break;
      // The row at pos runs past what was read: read on.
      const rest = buf.subarray(pos);
      if (rest.length > MAX_ROW_BYTES) throw new Error('row too long');
      buf = Buffer.concat([rest, read(fd, base + buf.length, Math.max(READ_AHEAD, rest.length))]);
      base += pos;
      pos = 0;
    }
    return { kind: 'parsed', id, p0, end: base + pos, lines: parser.line, parsed: parser.take() };
  } finally {
    fs.closeSync(fd);
  }
}

/** The stream being parsed (one at a time): its parser and the bytes of its incomplete last row. */
let stream: { parser: CsvEventParser; rest: Buffer | null; started: boolean } | null = null;

function parseStream(task: StreamTask): ChunkResult {
  if (task.first) {
    stream = { parser: new CsvEventParser(task.file, tz, ids, Infinity, 1 << 16), rest: null, started: task.header !== undefined };
    if (task.header) {
      stream.parser.useHeader(task.header);
      stream.parser.line = task.line ?? 1;
    }
  }
  const s = stream!;
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  let buf = s.rest ? Buffer.concat([s.rest, bytes]) : bytes;
  if (!s.started) {
    if (buf.length < 3 && !task.eof) {
      s.rest = Buffer.from(buf); // too short to tell whether it starts with a BOM
      return { kind: 'parsed', id: task.id, p0: 0, end: 0, lines: 0, parsed: null, header: null };
    }
    s.started = true;
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
  }
  const pos = s.parser.parse(buf, 0, task.eof);
  s.rest = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null; // a copy: the task's buffer is not kept
  if (s.rest && s.rest.length > MAX_ROW_BYTES) throw Errors.rowTooLong(task.file, s.parser.line, MAX_ROW_BYTES);
  return { kind: 'parsed', id: task.id, p0: 0, end: 0, lines: 0, parsed: s.parser.take(), header: s.parser.header };
}

function parsePiece(task: PieceTask): ChunkResult {
  const parser = new CsvEventParser(task.file, tz, ids, Infinity, Math.ceil(task.bytes.length / 48));
  parser.useHeader(task.header);
  parser.line = 0;
  // Whole rows: the piece ends at a line end (or is the end of the file).
  parser.parse(Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength), 0, true);
  return { kind: 'parsed', id: task.id, p0: 0, end: 0, lines: parser.line, parsed: parser.take() };
}

parentPort!.on('message', (task: ChunkTask | StreamTask | PieceTask | LearnMessage | RecycleMessage | KnowMessage) => {
  if (task.kind === 'learn') {
    ids.learn(task.from, task.indexes);
    return;
  }
  if (task.kind === 'know') {
    ids.know(task.keys, task.indexes);
    return;
  }
  if (task.kind === 'recycle') {
    recycleColumns(columnsOf(task.buffers));
    return;
  }
  let result: ChunkResult;
  try {
    result = task.kind === 'stream' ? parseStream(task) : task.kind === 'piece' ? parsePiece(task) : parseChunk(task);
  } catch (e) {
    result = { kind: 'failed', id: task.id, message: e instanceof Error ? e.message : String(e), code: e instanceof IngestError ? e.code : undefined };
  }
  parentPort!.postMessage(result, result.kind === 'parsed' ? transferList(result.parsed) : []);
});
