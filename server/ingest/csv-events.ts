/**
 * CSV event rows straight from bytes to typed store values: the ingest hot
 * path. Ordinary rows are read by the CSV row kernel (kernels/csv.ts, in
 * WebAssembly), which stops at any row it cannot prove ordinary; those are
 * read here. The scanner (readers/csv.ts) splits a row into field offsets and
 * this validates it in the same pass, with no string per field: times and
 * numbers are parsed from bytes, event types and directions are looked up by
 * their bytes, and subscriber and cell ids go to byte-keyed dictionaries.
 * Anything unusual (quoted with `""`, non-ASCII, not a plain number) falls
 * back to the shared string rules of fields.ts, so the result is exactly that
 * of the typed-file path, and the kernel's memo of field values is filled by
 * those same rules.
 *
 * Ids get parser-local numbers (ParserIds), first-seen order among good rows.
 * A parser's output (ParsedEvents) names only the ids new since its last
 * output; its rows carry the store index of every id the main thread has
 * told its thread of (IdMap.onLearn, merge.ts), and the main thread maps the
 * rest, in one pass per batch - the same code whether the parser ran on a
 * worker or not. An all-digit subscriber id
 * (an MSISDN) is handed over as its digits key, not hashed here: the store's
 * dictionary HMACs it once, on the main thread, the first time any parser
 * names it. Other ids are hashed here, once per parser.
 */
import { NULL_U32, DIR_SHIFT } from '../../kernels/shared/constants.js';
import { CSV_STOP_AT, CSV_STOP_CAPACITY, CSV_STOP_END, CSV_STOP_MISS, CSV_STOP_SLOW, CSV_TAG_CELL, CSV_TAG_TYPE } from '../../kernels/shared/csv-layout.js';
import { ByteStringIndex, digitsKey } from '../util/string-index.js';
import { CsvKernel, SCRATCH_ROWS, type RowColumns } from './csv-kernel.js';
import { parseDateTime, parseDateTimeBytes, type TimezoneOffsets } from '../util/datetime.js';
import { ANY_DATE, type PlausibleDates } from './dates.js';
import { directionOf, durationOf, eventTypeOf, FAILURE_IMPLAUSIBLE, FAILURES, rechargeOf, rowFailure, timeCode, TIME_IMPLAUSIBLE, TIME_MISSING, TYPE_EMPTY } from './fields.js';
import type { KeyedHash } from './hmac.js';
import { HASH_BYTES } from '../store/schema.js';
import { CsvScanner, ESCAPED, WIDE, type Latin1Sliceable } from './readers/csv.js';
import { mapHeader } from './source.js';
import type { EventColumn } from '../store/schema.js';


/** A rejected row: its line in the parser's numbering (a worker's chunk counts from 0), the field and why. */
export interface Reject {
  line: number;
  field: string;
  reason: string;
}

/** One batch of parsed rows, all typed arrays (transferable between threads). */
export interface ParsedEvents extends RowColumns {
  /** Rows read, good and rejected. */
  rows: number;
  /** Good rows: the length of every column. */
  length: number;
  /**
   * The subscriber ids first seen in this batch, in id order, two int32 each:
   * an all-digit id's digitsKey [hi, lo] (hi is never 0), or [0, 0] for an id
   * whose pseudonym is the next one in newSubscribers.
   */
  newSubscriberKeys: Int32Array;
  /** Pseudonyms of the new ids that are not all digits, in id order, HASH_BYTES each. */
  newSubscribers: Uint8Array;
  /** Cell ids (trimmed text) first seen in this batch, in id order. */
  newCells: string[];
  /** Rejected rows in line order. */
  rejects: Reject[];
  /**
   * Ids first seen in this batch (subscribers, counterparts, cells) whose bytes
   * are not UTF-8: decoded with U+FFFD, so two such ids may become one.
   */
  nonUtf8Ids: number;
}

/**
 * The ids one parser has seen, across all the files of an ingest: its
 * subscribers (raw bytes -> local id, with their pseudonyms) and cells. Local
 * subscriber ids come from this thread's CSV row kernel, which keeps the
 * all-digit ones (by digit key) and the one sequence of ids for rows read
 * there and here alike; ids that are not all digits are kept here by their bytes.
 */
export class ParserIds {
  /** This thread's CSV row kernel: its subscriber table, id sequence and field memo. */
  readonly kernel = new CsvKernel();
  /** Any id that is not all digits, by its bytes; byteIds maps its index to the subscriber id. */
  private readonly bytes = new ByteStringIndex(1 << 10);
  private readonly byteIds: number[] = [];
  /** Pseudonyms of the ids that are not all digits, in id order. */
  private hashes = new Uint8Array(HASH_BYTES << 8);
  private hashCount = 0;
  private readonly cells = new ByteStringIndex(1 << 12);
  private readonly cellText: string[] = [];
  /** Ids below these were already handed over in an earlier batch. */
  private subscribersSent = 0;
  private hashesSent = 0;
  private cellsSent = 0;
  private readonly key = new Int32Array(2);
  /** New ids since the last takeNew() that were not UTF-8 (counted once per id, per thread: no cost per row). */
  private nonUtf8 = 0;

  /** `dates`: the rows this thread's parsers accept; the kernel takes only those, the others are reported here. */
  constructor(
    private readonly keyed: KeyedHash,
    readonly dates: PlausibleDates = ANY_DATE,
  ) {
    this.kernel.setTimes(dates.from, dates.to);
  }

  /**
   * The subscriber whose canonical bytes are [start, end) of `buf`, as a row
   * carries it (its store index, or LOCAL_TAG | its local id: see the kernel's
   * store map); a new id that is not all digits is hashed.
   */
  subscriber(buf: Uint8Array, start: number, end: number): number {
    if (digitsKey(buf, start, end, this.key)) return this.kernel.subscriber(this.key[0]!, this.key[1]!);
    return this.kernel.storeIndexOf(this.otherId(buf, start, end));
  }

  /** The local id of a subscriber id that is not all digits. */
  private otherId(buf: Uint8Array, start: number, end: number): number {
    const b = this.bytes.add(buf, start, end);
    if (b < this.byteIds.length) return this.byteIds[b]!;
    const id = this.kernel.otherSubscriber();
    this.byteIds.push(id);
    if (hasReplacement(buf, start, end)) this.nonUtf8++;
    if ((this.hashCount + 1) * HASH_BYTES > this.hashes.length) {
      const grown = new Uint8Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.keyed.digestInto(buf, start, end, this.hashes, this.hashCount++ * HASH_BYTES);
    return id;
  }

  /** Tells the kernel the store indexes of local ids [from, from + indexes.length): later rows carry them (see IdMap.onLearn). */
  learn(from: number, indexes: Uint32Array): void {
    this.kernel.learn(from, indexes);
  }

  /** Tells the kernel store indexes of all-digit subscribers another parser met first (see csvKnow). */
  know(keys: Int32Array, indexes: Uint32Array): void {
    this.kernel.know(keys, indexes);
  }

  /** The local id of a cell whose canonical bytes (ASCII, or UTF-8 of the decoded text) are [start, end) of `buf`. */
  cell(buf: Buffer, start: number, end: number): number {
    const before = this.cells.size;
    const id = this.cells.add(buf, start, end);
    if (id === before) {
      const text = buf.toString('utf8', start, end);
      if (text.includes('\uFFFD')) this.nonUtf8++;
      this.cellText.push(text);
    }
    return id;
  }

  /** The subscribers (keys and pseudonyms) and cells first seen since the last call. */
  takeNew(): { newSubscriberKeys: Int32Array; newSubscribers: Uint8Array; newCells: string[]; nonUtf8Ids: number } {
    const count = this.kernel.subscriberCount;
    const newSubscriberKeys = this.kernel.subscriberKeys(this.subscribersSent, count);
    const newSubscribers = this.hashes.slice(this.hashesSent * HASH_BYTES, this.hashCount * HASH_BYTES);
    const newCells = this.cellText.slice(this.cellsSent);
    this.subscribersSent = count;
    this.hashesSent = this.hashCount;
    this.cellsSent = this.cells.size;
    const nonUtf8Ids = this.nonUtf8;
    this.nonUtf8 = 0;
    return { newSubscriberKeys, newSubscribers, newCells, nonUtf8Ids };
  }
}

/**
 * A memo of short plain fields (at most MEMO_MAX bytes) -> a number, for
 * fields with few distinct values: event types, directions, cell ids. The key
 * is the bytes and length packed exactly into three int32s, so a hit needs no
 * byte comparison. Open addressing, so values that share a hash slot do not
 * evict each other (a direct-mapped memo thrashed on ~20% of a file's cells).
 * It grows with the distinct values up to MEMO_MAX_SLOTS, then starts afresh,
 * so a file of endless distinct values costs bounded memory.
 */
class ShortFieldMemo {
  /** Quadruples [w0, w1, w2, value]; w0 = 0 (length 0) marks an empty slot. */
  private table: Float64Array;
  private mask: number;
  private count = 0;

  constructor(
    bits: number,
    private readonly miss: (buf: Buffer, s: number, e: number) => number,
  ) {
    this.table = new Float64Array(4 << bits);
    this.mask = (1 << bits) - 1;
  }

  /** The value of plain ASCII bytes [s, e), 0 < e - s <= MEMO_MAX. */
  get(buf: Buffer, s: number, e: number): number {
    const n = e - s;
    let w0 = n;
    let w1 = 0;
    let w2 = 0;
    for (let i = 0; i < n; i++) {
      const b = buf[s + i]!;
      if (i < 3) w0 |= b << (8 * i + 8);
      else if (i < 7) w1 |= b << (8 * (i - 3));
      else w2 |= b << (8 * (i - 7));
    }
    const table = this.table;
    const mask = this.mask;
    for (let slot = memoHash(w0, w1, w2) & mask; ; slot = (slot + 1) & mask) {
      const k = 4 * slot;
      const key = table[k]!;
      if (key === w0 && table[k + 1] === w1 && table[k + 2] === w2) return table[k + 3]!;
      if (key === 0) {
        const v = this.miss(buf, s, e);
        table[k] = w0;
        table[k + 1] = w1;
        table[k + 2] = w2;
        table[k + 3] = v;
        if (++this.count * 2 > mask + 1) this.grow();
        return v;
      }
    }
  }

  private grow(): void {
    const old = this.table;
    const slots = (this.mask + 1) * 2;
    this.table = new Float64Array(4 * Math.min(slots, MEMO_MAX_SLOTS));
    this.mask = Math.min(slots, MEMO_MAX_SLOTS) - 1;
    this.count = 0;
    if (slots > MEMO_MAX_SLOTS) return; // endless distinct values: start afresh
    for (let k = 0; k < old.length; k += 4) {
      if (old[k] === 0) continue;
      let slot = memoHash(old[k]!, old[k + 1]!, old[k + 2]!) & this.mask;
      while (this.table[4 * slot] !== 0) slot = (slot + 1) & this.mask;
      this.table.set(old.subarray(k, k + 4), 4 * slot);
      this.count++;
    }
  }
}

const MEMO_MAX_SLOTS = 1 << 20;

function memoHash(w0: number, w1: number, w2: number): number {
  return Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2, 0x85ebca6b), 0xc2b2ae35) >>> 8;
}

/**
 * Columns of batches this thread handed over, given back once merged
 * (recycleColumns): a parser takes a set instead of making (and zero-filling)
 * new columns, and the main thread collects no garbage for them.
 */
const spareColumns: RowColumns[] = [];
const MAX_SPARE = 4;

/** Keeps a merged batch's columns (whole buffers) for this thread's next parser. */
export function recycleColumns(columns: RowColumns): void {
  if (spareColumns.length < MAX_SPARE && columns.sub.length > 0) spareColumns.push(columns);
}

function takeSpareColumns(rows: number): RowColumns | null {
  const i = spareColumns.findIndex((c) => c.sub.length >= rows);
  return i < 0 ? null : spareColumns.splice(i, 1)[0]!;
}

/** After this many rows in a row that the kernel sends back, SLOW_STRETCH rows are read here before it is tried again. */
const SLOW_RUN = 8;
const SLOW_STRETCH = 4096;

/** Up to this many bytes go through a ShortFieldMemo (3 bytes above the length in the first word, 4 in each other). */
const MEMO_MAX = 11;
const PLAIN_MASK = WIDE | ESCAPED;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

function isSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/**
 * `Number(text)` for plain decimals ([-]digits[.digits], at most 15 digits),
 * exactly: both the digits and the power of ten are exact doubles, and one
 * division rounds correctly. NaN for anything else (the caller falls back).
 */
function decimalBytes(b: Uint8Array, s: number, e: number): number {
  let i = s;
  const neg = b[i] === 0x2d;
  if (neg) i++;
  let m = 0;
  let digits = 0;
  let scale = -1;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (scale >= 0) scale++;
    } else if (c === 0x2e && scale < 0) {
      scale = 0;
    } else {
      return NaN;
    }
  }
  if (digits === 0 || digits > 15 || scale === 0) return NaN;
  const v = scale > 0 ? m / POW10[scale]! : m;
  return neg ? -v : v;
}

/** The canonical columns the event parser reads, in the contract's order. */
const PARSED: readonly EventColumn[] = ['msisdn', 'datetime', 'cell_id', 'event_type', 'outgoing', 'duration', 'msisdn_counterpart', 'recharge_amount'];

/** The canonical columns a header provides, in header order. */
export function presentColumns(header: readonly string[]): EventColumn[] {
  return mapHeader(header).filter((c): c is EventColumn => c !== undefined);
}

/** CSV rows to ParsedEvents batches. One per file; `ids` is shared by the files one thread parses. */
export class CsvEventParser extends CsvScanner {
  /** Field index of each PARSED column, -1 when the file lacks it. */
  private col = new Int32Array(PARSED.length).fill(-1);
  /** The canonical columns present, in header order (for the missing-column message). */
  present: EventColumn[] = [];
  private readonly types = new ShortFieldMemo(5, (b, s, e) => eventTypeOf(b.toString('latin1', s, e)));
  private readonly directions = new ShortFieldMemo(5, (b, s, e) => directionOf(b.toString('latin1', s, e)));
  /** A file has thousands of cells: the memo answers every row after a cell's first without touching the dictionary. */
  private readonly cellMemo = new ShortFieldMemo(12, (b, s, e) => this.ids.cell(b, s, e));
  private cap: number;
  private n = 0;
  private rows = 0;
  private sub!: Uint32Array;
  private peer!: Uint32Array;
  private cell!: Uint32Array;
  private t!: Uint32Array;
  private kind!: Uint8Array;
  private duration!: Uint32Array;
  private recharge!: Float64Array;
  private rejects: Reject[] = [];
  /** Canonical bytes of the row's subscriber, cell and peer ids when they had to be decoded (quoted, non-ASCII). */
  private readonly scratch = [Buffer.alloc(256), Buffer.alloc(256), Buffer.alloc(256)];

  constructor(
    file: string,
    private readonly tz: TimezoneOffsets,
    private readonly ids: ParserIds,
    /** Rows (good and rejected) per batch before `full`; Infinity for one batch per call (a worker's chunk). */
    private readonly batchRows = 1 << 16,
    /** Column capacity to start with (and after handing columns over). */
    private readonly capacity = Math.min(batchRows, 1 << 16),
  ) {
    super(file);
    this.cap = capacity;
    this.allocate();
  }

  get full(): boolean {
    return this.rows >= this.batchRows || this.rows >= this.pauseAt;
  }

  /**
   * Whether rows go to the CSV row kernel first (see kernels/csv.ts): it takes
   * the ordinary ones and stops at any other, which this parser then reads.
   * Off only to check the two paths against each other.
   */
  useKernel = true;
  /** Rows the kernel read (the others were read here): what a file costs depends on it. */
  kernelRows = 0;
  /** Rows after which `full` holds while a run of rows the kernel cannot take is read here. */
  private pauseAt = Infinity;

  override parse(buf: Buffer, pos: number, eof: boolean, stopAt = Infinity): number {
    if (!this.useKernel) return super.parse(buf, pos, eof, stopAt);
    while (this.header === null) {
      // The header row, and any blank lines before it, are read here.
      if (pos >= buf.length || pos >= stopAt || this.full) return pos;
      const next = super.parse(buf, pos, eof, pos + 1);
      if (next === pos) return pos;
      pos = next;
    }
    const kernel = this.ids.kernel;
    const base = kernel.place(buf);
    kernel.setColumns(this.ncols, this.col);
    const end = buf.length;
    let slow = 0; // rows in a row the kernel sent here
    while (pos < end && pos < stopAt && !this.full) {
      if (slow >= SLOW_RUN) {
        // A file the kernel cannot read (quoted throughout, say): read a stretch here before trying it again.
        this.pauseAt = this.rows + SLOW_STRETCH;
        const next = super.parse(buf, pos, eof, stopAt);
        const paused = this.rows >= this.pauseAt;
        this.pauseAt = Infinity;
        if (!paused || this.full) return next;
        pos = next;
        slow = 0;
        continue;
      }
      const want = Math.min(SCRATCH_ROWS, this.batchRows - this.rows);
      this.reserve(want);
      const r = kernel.rows(base, pos, end, stopAt, want, this.columns(), this.n);
      this.n += r.added;
      this.rows += r.added;
      this.kernelRows += r.added;
      this.line += r.lines;
      pos = r.pos;
      if (r.added > 0) slow = 0;
      switch (r.stop) {
        case CSV_STOP_END:
          // No line end after pos: the file's last row, or one that goes on in the next buffer.
          return pos < end ? super.parse(buf, pos, eof, stopAt) : pos;
        case CSV_STOP_AT:
          return pos;
        case CSV_STOP_CAPACITY:
          kernel.growSubscribers();
          break;
        case CSV_STOP_MISS:
          this.remember(buf, base);
          break;
        case CSV_STOP_SLOW: {
          const next = super.parse(buf, pos, eof, pos + 1);
          if (next === pos) return pos; // the row goes on in the next buffer
          pos = next;
          slow++;
          break;
        }
        // CSV_STOP_FULL: the batch is full, or the columns grow at the top of the loop.
      }
    }
    return pos;
  }

  /** Puts the value of the field the kernel missed in its memo: computed by the rules of fields.ts, as for rows read here. */
  private remember(buf: Buffer, base: number): void {
    const kernel = this.ids.kernel;
    const { tag, start, end } = kernel.miss();
    const text = () => (buf as unknown as Latin1Sliceable).latin1Slice(start, end);
    const value = tag === CSV_TAG_CELL ? this.ids.cell(buf, start, end) : tag === CSV_TAG_TYPE ? eventTypeOf(text()) : directionOf(text());
    kernel.remember(tag, base, start, end, value);
  }

  private columns(): RowColumns {
    return { sub: this.sub, peer: this.peer, cell: this.cell, t: this.t, kind: this.kind, duration: this.duration, recharge: this.recharge };
  }

  protected override onHeader(): void {
    const mapping = mapHeader(this.header!);
    this.present = presentColumns(this.header!);
    mapping.forEach((c, i) => {
      if (c) this.col[PARSED.indexOf(c)] = i;
    });
  }

  /** Hands over the rows parsed so far (and the ids they introduced); null when there are none. */
  take(): ParsedEvents | null {
    if (this.rows === 0) return null;
    const n = this.n;
    // Columns at least half full are handed over as they are (moved, not copied, to the main thread), and new ones made.
    const handOver = 2 * n >= this.cap;
    const part = <T extends Uint32Array | Uint8Array | Float64Array>(a: T): T => (handOver ? a.subarray(0, n) : a.slice(0, n)) as T;
    const out: ParsedEvents = {
      rows: this.rows,
      length: n,
      sub: part(this.sub),
      peer: part(this.peer),
      cell: part(this.cell),
      t: part(this.t),
      kind: part(this.kind),
      duration: part(this.duration),
      recharge: part(this.recharge),
      ...this.ids.takeNew(),
      rejects: this.rejects,
    };
    this.n = 0;
    if (handOver) {
      this.cap = 0;
      this.allocate();
    }
    this.rows = 0;
    this.rejects = [];
    return out;
  }

  /** Room in the columns for `rows` more rows. */
  private reserve(rows: number): void {
    if (this.n + rows <= this.cap) return;
    this.cap = Math.max(2 * this.cap, this.n + rows, this.capacity);
    this.allocate();
  }

  private allocate(): void {
    if (this.n === 0 && this.cap > 0) {
      const spare = takeSpareColumns(this.cap);
      if (spare) {
        ({ sub: this.sub, peer: this.peer, cell: this.cell, t: this.t, kind: this.kind, duration: this.duration, recharge: this.recharge } = spare);
        this.cap = spare.sub.length;
        return;
      }
    }
    const cap = this.cap;
    const grow = <T extends Uint32Array | Uint8Array | Float64Array>(old: T | undefined, make: (n: number) => T): T => {
      const a = make(cap);
      if (old) a.set(old.subarray(0, this.n) as never);
      return a;
    };
    this.sub = grow(this.sub, (k) => new Uint32Array(k));
    this.peer = grow(this.peer, (k) => new Uint32Array(k));
    this.cell = grow(this.cell, (k) => new Uint32Array(k));
    this.t = grow(this.t, (k) => new Uint32Array(k));
    this.kind = grow(this.kind, (k) => new Uint8Array(k));
    this.duration = grow(this.duration, (k) => new Uint32Array(k));
    this.recharge = grow(this.recharge, (k) => new Float64Array(k));
  }

  protected onBadRow(line: number, reason: string): void {
    this.rows++;
    this.rejects.push({ line, field: 'row', reason });
  }

  /**
   * Trimmed, decoded text of field f; '' when the column is absent. Only for
   * the unusual fields: plain ones are read from bytes.
   */
  private text(buf: Buffer, f: number): string {
    return f < 0 ? '' : this.fieldText(buf, f).trim();
  }

  /**
   * The canonical bytes of an id field, left in keyBuf[keyStart, keyEnd): the
   * trimmed bytes themselves when plain, else the UTF-8 of the decoded,
   * trimmed text in a scratch buffer (what pseudonym() would hash). Empty
   * when the column is absent. Fields, not a returned tuple: no allocation per row.
   */
  private keyBuf: Buffer = Buffer.alloc(0);
  private keyStart = 0;
  private keyEnd = 0;

  private idBytes(buf: Buffer, f: number, scratch: 0 | 1 | 2): void {
    if (f < 0) {
      this.keyStart = this.keyEnd = 0;
      return;
    }
    let s = this.starts[f]!;
    let e = this.ends[f]!;
    if ((this.flags[f]! & PLAIN_MASK) === 0) {
      while (s < e && isSpace(buf[s]!)) s++;
      while (e > s && isSpace(buf[e - 1]!)) e--;
      this.keyBuf = buf;
      this.keyStart = s;
      this.keyEnd = e;
      return;
    }
    const text = this.text(buf, f);
    if (this.scratch[scratch]!.length < text.length * 3) this.scratch[scratch] = Buffer.alloc(text.length * 3);
    this.keyBuf = this.scratch[scratch]!;
    this.keyStart = 0;
    this.keyEnd = this.keyBuf.write(text, 0, 'utf8');
  }

  protected onRow(buf: Buffer, _rowStart: number, rowLine: number): void {
    const col = this.col;
    const flags = this.flags;
    const starts = this.starts;
    const ends = this.ends;

    this.idBytes(buf, col[0]!, 0);
    const mb = this.keyBuf;
    const ms = this.keyStart;
    const me = this.keyEnd;

    // datetime
    let t: number;
    let f = col[1]!;
    if (f >= 0 && (flags[f]! & PLAIN_MASK) === 0) {
      let s = starts[f]!;
      let e = ends[f]!;
      while (s < e && isSpace(buf[s]!)) s++;
      while (e > s && isSpace(buf[e - 1]!)) e--;
      t = s === e ? TIME_MISSING : parseDateTimeBytes(buf, s, e, this.tz);
    } else {
      const text = this.text(buf, f);
      t = text === '' ? TIME_MISSING : parseDateTime(text, this.tz);
    }
    if (t !== TIME_MISSING) t = timeCode(t); // timeCode would call the missing marker (-1) out of range
    const dates = this.ids.dates;
    if (t >= 0 && (t < dates.from || t >= dates.to)) t = TIME_IMPLAUSIBLE;

    const type = this.memoField(buf, col[3]!, this.types, TYPE_EMPTY, eventTypeOf);
    const dir = this.memoField(buf, col[4]!, this.directions, directionOf(''), directionOf);

    // duration: whole seconds when plain digits
    let duration: number;
    f = col[5]!;
    if (f >= 0 && (flags[f]! & PLAIN_MASK) === 0) {
      let s = starts[f]!;
      let e = ends[f]!;
      while (s < e && isSpace(buf[s]!)) s++;
      while (e > s && isSpace(buf[e - 1]!)) e--;
      duration = s === e ? NULL_U32 : e - s <= 9 ? digitsBytes(buf, s, e) : -1;
      if (duration < 0) duration = durationOf(buf.toString('latin1', s, e));
    } else {
      duration = f < 0 ? NULL_U32 : durationOf(this.text(buf, f));
    }

    let recharge: number;
    f = col[7]!;
    if (f >= 0 && (flags[f]! & PLAIN_MASK) === 0) {
      let s = starts[f]!;
      let e = ends[f]!;
      while (s < e && isSpace(buf[s]!)) s++;
      while (e > s && isSpace(buf[e - 1]!)) e--;
      recharge = s === e ? NaN : decimalBytes(buf, s, e);
      if (recharge !== recharge && s !== e) recharge = rechargeOf(buf.toString('latin1', s, e));
    } else {
      recharge = f < 0 ? NaN : rechargeOf(this.text(buf, f));
    }

    this.rows++;
    const failure = rowFailure(ms === me, t, type, dir, duration, recharge);
    if (failure !== 0) {
      const [field, reason] = failure === FAILURE_IMPLAUSIBLE ? dates.failure : FAILURES[failure]!;
      this.rejects.push({ line: rowLine, field, reason });
      return;
    }

    // Ids last: a rejected row must not add subscribers (or cells).
    this.idBytes(buf, col[2]!, 1);
    const { keyBuf, keyStart, keyEnd } = this;
    const cell =
      keyStart === keyEnd ? NULL_U32 : keyBuf === buf && keyEnd - keyStart <= MEMO_MAX ? this.cellMemo.get(buf, keyStart, keyEnd) : this.ids.cell(keyBuf, keyStart, keyEnd);
    this.reserve(1);
    const i = this.n++;
    this.sub[i] = this.ids.subscriber(mb, ms, me);
    this.idBytes(buf, col[6]!, 2);
    this.peer[i] = this.keyStart === this.keyEnd ? NULL_U32 : this.ids.subscriber(this.keyBuf, this.keyStart, this.keyEnd);
    this.cell[i] = cell;
    this.t[i] = t;
    this.kind[i] = type | (dir << DIR_SHIFT);
    this.duration[i] = duration;
    this.recharge[i] = recharge;
  }

  /** A low-cardinality field's code: from the memo when plain and short, else by `parse` on its text. */
  private memoField(buf: Buffer, f: number, memo: ShortFieldMemo, empty: number, parse: (text: string) => number): number {
    if (f < 0) return empty;
    if ((this.flags[f]! & PLAIN_MASK) !== 0) return parse(this.text(buf, f));
    let s = this.starts[f]!;
    let e = this.ends[f]!;
    while (s < e && isSpace(buf[s]!)) s++;
    while (e > s && isSpace(buf[e - 1]!)) e--;
    return e - s <= MEMO_MAX && e > s ? memo.get(buf, s, e) : parse(buf.toString('latin1', s, e));
  }
}

/** The value of ASCII digits [s, e) (at most 9), or -1 when one is not a digit. */
function digitsBytes(b: Uint8Array, s: number, e: number): number {
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}


/** Whether bytes [s, e) hold U+FFFD (EF BF BD): what decoding puts where an id's bytes were not UTF-8. */
function hasReplacement(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i + 2 < e; i++) if (b[i] === 0xef && b[i + 1] === 0xbf && b[i + 2] === 0xbd) return true;
  return false;
}
