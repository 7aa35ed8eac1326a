/**
 * Streaming CSV reader over bytes (RFC 4180): quoted fields with embedded
 * commas, doubled quotes and newlines; CRLF or LF; a UTF-8 BOM; blank lines
 * skipped. Format only: no CDR semantics (those live in normalise.ts).
 *
 * This is the ingest hot path, so the parser scans bytes, never builds a
 * string character by character, and decodes each field once. Memory is
 * bounded by one read chunk, the row that straddles two chunks, and one batch.
 */
import { createReadStream, fstatSync, type ReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Errors } from '../../errors.js';
import { DEFAULT_BATCH_ROWS, readError, type Progress } from './io.js';

/** A row that could not be split into the header's columns, for the ingest report. */
export interface BadRow {
  /** 1-based physical line where the row starts. */
  line: number;
  /** What was expected and what was found, e.g. "expected 8 fields, found 7". */
  reason: string;
}

/** A batch of CSV rows, column-major. Owned by the consumer: the reader never reuses it. */
export interface CsvBatch {
  /** The file's header row (same array in every batch). */
  header: string[];
  /** One array per header column, `length` strings each ('' for an empty field). */
  columns: string[][];
  /** 1-based physical line where each row starts (header is line 1). */
  lines: Int32Array;
  /** Number of good rows in this batch. */
  length: number;
  /** Rows that were not split into columns (wrong field count...), in file order. */
  badRows: BadRow[];
}

export interface CsvOptions {
  /** Rows (good + bad) per batch; default DEFAULT_BATCH_ROWS (4096). */
  batchRows?: number;
  /** Read chunk size in bytes; default 1 MiB. Small values exist for tests. */
  chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 1 << 20;
/** A row longer than this is taken for a runaway quote, not data: it would hold the whole file in memory. */
export const MAX_ROW_BYTES = 64 << 20;

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Field flags. */
export const QUOTED = 1;
/** Contains `""`, to be unescaped. */
export const ESCAPED = 2;
/** Contains a byte >= 0x80: decode as UTF-8, not through the row's latin1 text. */
export const WIDE = 4;

/** Fields of at most this many bytes go through the ShortStrings cache. */
const SHORT_MAX = 6;

/**
 * A direct-mapped cache of short ASCII field values. CDR files repeat a few
 * short values row after row (event types, true/false, cell ids, durations);
 * handing out the same string again saves an allocation per field and the GC
 * work it causes (which grows with the batch size). A miss just overwrites
 * the slot. The key is the bytes themselves, so a hit is exact.
 */
class ShortStrings {
  private static readonly BITS = 14;
  private readonly lo = new Int32Array(1 << ShortStrings.BITS);
  private readonly hi = new Int32Array(1 << ShortStrings.BITS).fill(-1);
  private readonly values: string[] = new Array<string>(1 << ShortStrings.BITS).fill('');

  /** The field bytes [s, e), e - s <= SHORT_MAX, all < 0x80; `text` holds them from offset `base`. */
  get(buf: Buffer, text: string, base: number, s: number, e: number): string {
    // Up to 6 bytes, plus the length, packed exactly into two int32s.
    const n = e - s;
    let lo = n;
    let hi = 0;
    for (let i = 0; i < n; i++) {
      if (i < 3) lo |= buf[s + i] << (8 * i + 3);
      else hi |= buf[s + i] << (8 * (i - 3));
    }
    const slot = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> (32 - ShortStrings.BITS);
    if (this.lo[slot] === lo && this.hi[slot] === hi) return this.values[slot];
    const v = text.slice(s - base, e - base);
    this.lo[slot] = lo;
    this.hi[slot] = hi;
    this.values[slot] = v;
    return v;
  }
}

/**
 * Buffer's own latin1 decoder, which toString('latin1', s, e) reaches after
 * argument checks that cost ~5% of the parse; on Buffer.prototype since Node 0.x.
 */
export interface Latin1Sliceable {
  latin1Slice(start: number, end: number): string;
}

/**
 * The byte-level row scanner: splits rows into field offsets (starts, ends,
 * flags) and counts physical lines; what a row becomes is a subclass's job
 * (string batches here, typed events in csv-events.ts). Feed it whole buffers
 * with `parse`; it stops when the consumer is `full`, when the buffer ends in
 * the middle of a row, or at `stopAt`, returning where to resume.
 */
export abstract class CsvScanner {
  header: string[] | null = null;
  protected ncols = 0;
  /** Physical line number of the byte at the resume position. */
  line = 1;

  // Scratch for the row being scanned: reused, grown on demand.
  protected starts = new Int32Array(64);
  protected ends = new Int32Array(64);
  protected flags = new Uint8Array(64);
  protected nfields = 0;
  /** LFs inside quoted fields of the row being scanned. */
  private newlines = 0;
  /** Why the row being scanned cannot be used even with the right field count. */
  private rowProblem: string | null = null;

  constructor(protected readonly file: string) {}

  /** True when the consumer wants its output taken before more rows are parsed. */
  abstract get full(): boolean;
  /** A row with the header's field count, scanned into starts/ends/flags. */
  protected abstract onRow(buf: Buffer, rowStart: number, rowLine: number): void;
  /** A row that cannot be split into the header's columns. */
  protected abstract onBadRow(line: number, reason: string): void;
  /** Called once the header row is known. */
  protected onHeader(): void {}

  /** Sets the header of a file whose first row was read elsewhere (a worker parsing a middle part). */
  useHeader(header: string[]): void {
    this.header = header;
    this.ncols = header.length;
    this.onHeader();
  }

  /** Field f of the scanned row as text: UTF-8 when it holds wide bytes, `""` unescaped. */
  protected fieldText(buf: Buffer, f: number): string {
    const v = buf.toString(this.flags[f]! & WIDE ? 'utf8' : 'latin1', this.starts[f], this.ends[f]);
    return this.flags[f]! & ESCAPED ? v.replaceAll('""', '"') : v;
  }

  /**
   * Parses rows of `buf` from `pos` and returns the offset to resume from: the
   * start of an incomplete last row, or the end of the row that filled the
   * batch. With `eof`,
   * the buffer is the end of the file and a last row needs no line end. No row
   * (or blank line) starting at or after `stopAt` is parsed.
   */
  parse(buf: Buffer, pos: number, eof: boolean, stopAt = Infinity): number {
    const end = buf.length;
    while (pos < end && pos < stopAt && !this.full) {
      // Blank lines are skipped but still counted.
      const b = buf[pos];
      if (b === LF) {
        pos++;
        this.line++;
        continue;
      }
      if (b === CR && (pos + 1 < end ? buf[pos + 1] === LF : eof)) {
        pos += pos + 1 < end ? 2 : 1;
        this.line++;
        continue;
      }
      if (b === CR && !eof) return pos; // need the next byte to know

      const rowLine = this.line;
      const next = this.scanRow(buf, pos, end, eof, rowLine);
      if (next < 0) return pos;
      this.commitRow(buf, pos, rowLine);
      pos = next;
    }
    return pos;
  }

  /**
   * Scans one row starting at `p` into the field scratch. Returns the offset
   * after its line end, or -1 when the row is not complete in `buf`. Advances
   * `this.line` past the row's physical lines only when it is complete.
   */
  private scanRow(buf: Buffer, p: number, end: number, eof: boolean, rowLine: number): number {
    // Locals, not `this.` loads, in the hot loop.
    let starts = this.starts;
    let ends = this.ends;
    let flags = this.flags;
    let nf = 0;
    this.newlines = 0;
    this.rowProblem = null;
    for (;;) {
      if (nf === starts.length) {
        this.grow();
        ({ starts, ends, flags } = this);
      }
      if (p < end && buf[p] === QUOTE) {
        p = this.scanQuoted(buf, p, end, eof, rowLine, nf);
        if (p < 0) return -1;
      } else {
        // Hot loop: an unquoted field. A quote inside it is kept as data.
        const start = p;
        let hi = 0;
        let b = 0;
        while (p < end && (b = buf[p]) !== COMMA && b !== LF) {
          hi |= b;
          p++;
        }
        starts[nf] = start;
        ends[nf] = p;
        flags[nf] = hi & 0x80 ? WIDE : 0;
      }
      nf++;
      // Here p is at a comma, a line end, or the end of the buffer.
      if (p < end && buf[p] === COMMA) {
        p++;
        continue;
      }
      if (p >= end && !eof) return -1;
      // A CRLF line end left its CR in an unquoted last field.
      const last = nf - 1;
      if (!(flags[last] & QUOTED) && ends[last] > starts[last] && buf[ends[last] - 1] === CR) ends[last]--;
      this.nfields = nf;
      this.line += 1 + this.newlines;
      return p < end ? p + 1 : p;
    }
  }

  /**
   * Scans the quoted field opening at `p` into scratch slot `f`. Returns the
   * offset of the comma or LF that ends it (or of the end of the buffer), or -1
   * when the field is not complete in `buf`.
   */
  private scanQuoted(buf: Buffer, p: number, end: number, eof: boolean, rowLine: number, f: number): number {
    let flags = QUOTED;
    let q = p + 1;
    for (;;) {
      if (q >= end) {
        if (eof) throw Errors.unterminatedQuote(this.file, rowLine);
        return -1;
      }
      const b = buf[q];
      if (b === QUOTE) {
        if (q + 1 >= end && !eof) return -1; // `""` or the closing quote? Need the next byte.
        if (q + 1 < end && buf[q + 1] === QUOTE) {
          flags |= ESCAPED;
          q += 2;
          continue;
        }
        break;
      }
      if (b === LF) this.newlines++;
      else if (b >= 0x80) flags |= WIDE;
      q++;
    }
    this.starts[f] = p + 1;
    this.ends[f] = q;
    this.flags[f] = flags;
    p = q + 1;
    if (p >= end || buf[p] === COMMA || buf[p] === LF) return p;
    if (buf[p] === CR) {
      if (p + 1 >= end) return eof ? p + 1 : -1;
      if (buf[p + 1] === LF) return p + 1;
    }
    // `"a"b`: RFC 4180 gives it no meaning; report the row rather than guess.
    this.rowProblem ??= `field ${f + 1}: expected a comma or a line end after the closing quote`;
    while (p < end && buf[p] !== COMMA && buf[p] !== LF) p++;
    return p < end || eof ? p : -1;
  }

  /** Takes the scanned row as the header, or hands it to the subclass. */
  private commitRow(buf: Buffer, rowStart: number, rowLine: number): void {
    const nf = this.nfields;
    if (this.header === null) {
      const header: string[] = [];
      for (let f = 0; f < nf; f++) header.push(buf.toString('utf8', this.starts[f], this.ends[f]).replaceAll('""', '"'));
      if (header.length > 0 && header[0]!.charCodeAt(0) === 0xfeff) {
        header[0] = header[0]!.slice(1); // BOM inside a quoted first name
      }
      this.useHeader(header);
      return;
    }
    if (nf !== this.ncols) {
      this.onBadRow(rowLine, `expected ${this.ncols} fields, found ${nf}`);
      return;
    }
    if (this.rowProblem !== null) {
      this.onBadRow(rowLine, this.rowProblem);
      return;
    }
    this.onRow(buf, rowStart, rowLine);
  }

  private grow(): void {
    const n = this.starts.length * 2;
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    const flags = new Uint8Array(n);
    starts.set(this.starts);
    ends.set(this.ends);
    flags.set(this.flags);
    this.starts = starts;
    this.ends = ends;
    this.flags = flags;
  }
}

/** The scanner's string consumer: column-major batches of field strings. */
export class CsvParser extends CsvScanner {
  private readonly short = new ShortStrings();
  private columns: string[][] = [];
  private lines: Int32Array;
  private length = 0;
  private badRows: BadRow[] = [];

  constructor(
    file: string,
    private readonly batchRows = DEFAULT_BATCH_ROWS,
  ) {
    super(file);
    if (!(batchRows >= 1)) throw new RangeError(`batchRows must be >= 1, got ${batchRows}`);
    this.lines = new Int32Array(batchRows);
  }

  /** Physical line number where parsing resumes (the start of the pending row). */
  get lineNumber(): number {
    return this.line;
  }

  /** True when the current batch holds batchRows rows (good and bad) and must be taken. */
  get full(): boolean {
    return this.length + this.badRows.length >= this.batchRows;
  }

  /** Hands the current batch over and starts a new one; null when it is empty. */
  take(): CsvBatch | null {
    if (this.length === 0 && this.badRows.length === 0) return null;
    const batch: CsvBatch = {
      header: this.header!,
      columns: this.columns,
      lines: this.lines.subarray(0, this.length),
      length: this.length,
      badRows: this.badRows,
    };
    if (this.length < this.batchRows) for (const c of this.columns) c.length = this.length;
    this.columns = this.newColumns();
    this.lines = new Int32Array(this.batchRows);
    this.length = 0;
    this.badRows = [];
    return batch;
  }

  protected override onHeader(): void {
    this.columns = this.newColumns();
  }

  protected onBadRow(line: number, reason: string): void {
    this.badRows.push({ line, reason });
  }

  /** Decodes the scanned row into the batch. */
  protected onRow(buf: Buffer, rowStart: number, rowLine: number): void {
    const nf = this.nfields;
    const columns = this.columns;
    const row = this.length++;
    // One native latin1 decode per row, not per field; fields are slices of it. V8 copies
    // slices under 13 chars and makes longer ones views (SlicedString) of the row text, so
    // a long value the consumer keeps (a cache keyed by raw MSISDN) keeps ~100 bytes of
    // row alive with it - never a whole read chunk, which is why there is no chunk text.
    const text = (buf as unknown as Latin1Sliceable).latin1Slice(rowStart, this.ends[nf - 1]!);
    for (let f = 0; f < nf; f++) columns[f]![row] = this.field(buf, text, rowStart, f);
    this.lines[row] = rowLine;
  }

  /** Sized up front: growing by push() costs copies and garbage on the hot path. */
  private newColumns(): string[][] {
    return this.header!.map(() => new Array<string>(this.batchRows));
  }

  private field(buf: Buffer, text: string, base: number, f: number): string {
    const s = this.starts[f];
    const e = this.ends[f];
    const flags = this.flags[f];
    let v: string;
    if (flags & WIDE) v = buf.toString('utf8', s, e);
    else if (e - s <= SHORT_MAX) v = this.short.get(buf, text, base, s, e);
    else v = text.slice(s - base, e - base);
    return flags & ESCAPED ? v.replaceAll('""', '"') : v;
  }

}

/** Batches from a stream of byte chunks; `name` is the file named in errors. */
export function csvBatchesFromChunks(chunks: AsyncIterable<Buffer | Uint8Array>, name: string, opts: CsvOptions = {}): AsyncGenerator<CsvBatch> {
  const parser = new CsvParser(name, opts.batchRows);
  return scanChunks(chunks, name, parser, () => parser.take());
}

/**
 * Feeds a stream of byte chunks through `scanner`, yielding `take()` each time
 * the scanner is full and once at the end. A UTF-8 BOM is skipped when `atStart`
 * (the chunks begin at the start of the file).
 */
export async function* scanChunks<T>(
  chunks: AsyncIterable<Buffer | Uint8Array>,
  name: string,
  scanner: CsvScanner,
  take: () => T | null,
  atStart = true,
): AsyncGenerator<T> {
  let rest: Buffer | null = null;
  let first = atStart;
  for await (const chunk of chunks) {
    let buf: Buffer = rest ? Buffer.concat([rest, chunk]) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (first) {
      if (buf.length < 3) {
        rest = buf; // too short to tell whether it starts with a BOM
        continue;
      }
      first = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    let pos = 0;
    for (;;) {
      pos = scanner.parse(buf, pos, false);
      if (!scanner.full) break;
      yield take()!;
    }
    rest = pos < buf.length ? buf.subarray(pos) : null;
    if (rest && rest.length > MAX_ROW_BYTES) throw Errors.rowTooLong(name, scanner.line, MAX_ROW_BYTES);
  }
  if (rest) {
    if (first && rest.length >= 3 && rest[0] === 0xef && rest[1] === 0xbb && rest[2] === 0xbf) rest = rest.subarray(3);
    let pos = 0;
    for (;;) {
      pos = scanner.parse(rest, pos, true);
      if (!scanner.full) break;
      yield take()!;
    }
  }
  const last = take();
  if (last) yield last;
}

/** A CSV file as batches, with progress. */
export class CsvReader implements AsyncIterable<CsvBatch>, Progress {
  /** Bytes read from disk so far (compressed bytes for .gz). */
  bytesRead = 0;
  bytesTotal = 0;
  /** The header row, once the first batch was read (null before, or for an empty file). */
  header: string[] | null = null;

  constructor(
    readonly file: string,
    private readonly opts: CsvOptions = {},
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<CsvBatch> {
    const file = this.file;
    const src = createReadStream(file, { highWaterMark: this.opts.chunkBytes ?? DEFAULT_CHUNK_BYTES });
    src.once('open', (fd) => (this.bytesTotal = fstatSync(fd).size));
    // pipeline() forwards a read error of the file to the gunzip stream we iterate.
    const bytes: AsyncIterable<Buffer> = /\.gz$/i.test(file) ? pipeline(src, createGunzip(), () => {}) : src;
    const counted = countBytes(bytes, src, this);
    try {
      for await (const batch of csvBatchesFromChunks(counted, file, this.opts)) {
        this.header = batch.header;
        yield batch;
      }
      this.bytesRead = src.bytesRead;
    } catch (e) {
      throw readError(file, e);
    } finally {
      src.destroy();
    }
  }
}

async function* countBytes(chunks: AsyncIterable<Buffer>, src: ReadStream, into: { bytesRead: number }): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    into.bytesRead = src.bytesRead;
    yield chunk;
  }
}

/**
 * Reads a .csv or .csv.gz file as column-major batches of strings. Rows with
 * the wrong number of fields are in `badRows`, never dropped silently; an
 * unterminated quote is an IngestError naming the file and line.
 */
export function csvBatches(file: string, opts?: CsvOptions): CsvReader {
  return new CsvReader(file, opts);
}
