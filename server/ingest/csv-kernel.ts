/**
 * The host side of the CSV row kernel (kernels/csv.ts), one per parsing
 * thread: the kernel module on a memory of its own, the state block, the
 * subscriber table and memo it reads, the input buffer and the scratch
 * columns it writes. The parser (csv-events.ts) decides what happens at each
 * stop; this file owns the memory: placing bytes, growing tables, copying
 * out rows.
 */
import { NULL_U32 } from '../../kernels/shared/constants.js';
import * as L from '../../kernels/shared/csv-layout.js';
import { Heap, type Ptr } from '../wasm/memory.js';
import { loadKernelModuleLazily } from '../wasm/module.js';
import { KernelError } from '../errors.js';

interface RawCsvKernel {
  csvStateBytes(): number;
  csvInit(st: Ptr): void;
  csvRows(st: Ptr, buf: Ptr, pos: number, end: number, stopAt: number, maxRows: number): number;
  csvMemoBytes(capacity: number): number;
  csvMemoInsert(st: Ptr, tag: number, buf: Ptr, start: number, end: number, value: number): number;
  csvMemoRehash(st: Ptr, table: Ptr, capacity: number): number;
  csvSubsBytes(capacity: number): number;
  csvSubscriber(st: Ptr, hi: number, lo: number): number;
  csvOtherSubscriber(st: Ptr): number;
  csvSubsRehash(st: Ptr, table: Ptr, capacity: number): number;
  csvLearn(st: Ptr, from: number, to: number): number;
  csvKnow(st: Ptr, keys: Ptr, indexes: Ptr, n: number): number;
}

/** Rows a call may add: the scratch columns' size. */
export const SCRATCH_ROWS = 1 << 15;

/** The columns rows are parsed into (plain typed arrays, one value a row). */
export interface RowColumns {
  /**
   * Subscribers: a store index, or LOCAL_TAG | a parser-local id (see ParserIds)
   * when the parser's thread did not know its store index yet (IdMap.onLearn,
   * merge.ts); peer NULL_U32 when none.
   */
  sub: Uint32Array;
  peer: Uint32Array;
  /** Parser-local cell ids, NULL_U32 when the row has no cell. */
  cell: Uint32Array;
  t: Uint32Array;
  kind: Uint8Array;
  duration: Uint32Array;
  recharge: Float64Array;
}

/** What one call did. */
export interface RowsResult {
  /** Where reading resumes. */
  pos: number;
  stop: number;
  lines: number;
  added: number;
}

export class CsvKernel {
  private readonly heap = new Heap({ initialPages: 256 });
  private readonly raw: RawCsvKernel;
  private readonly st: Ptr;
  private readonly scratch: Record<keyof RowColumns, Ptr>;
  private input: Ptr = 0;
  private inputBytes = 0;
  /** The memory's buffer when the input was last placed: a view of it at `input` needs no copy. */
  private placedIn: ArrayBufferLike | null = null;

  constructor() {
    const instance = new WebAssembly.Instance(loadKernelModuleLazily(), { env: { memory: this.heap.memory } });
    this.raw = instance.exports as unknown as RawCsvKernel;
    if (typeof this.raw.csvRows !== 'function') throw new KernelError('MODULE_STALE', 'the kernel module has no csvRows: run npm run build:kernels');
    this.st = this.heap.alloc(this.raw.csvStateBytes());
    this.raw.csvInit(this.st);
    this.scratch = {
      sub: this.heap.alloc(4 * SCRATCH_ROWS),
      peer: this.heap.alloc(4 * SCRATCH_ROWS),
      cell: this.heap.alloc(4 * SCRATCH_ROWS),
      t: this.heap.alloc(4 * SCRATCH_ROWS),
      kind: this.heap.alloc(SCRATCH_ROWS),
      duration: this.heap.alloc(4 * SCRATCH_ROWS),
      recharge: this.heap.alloc(8 * SCRATCH_ROWS),
    };
    const subs = 1 << 12;
    this.setWord(L.CSV_SUBS_TABLE, this.zeroed(this.raw.csvSubsBytes(subs)));
    this.setWord(L.CSV_SUBS_CAPACITY, subs);
    this.setWord(L.CSV_SUBS_KEYS, this.heap.alloc(8 * subs));
    this.setWord(L.CSV_SUBS_KEYS_CAPACITY, subs);
    this.setWord(L.CSV_STORE_MAP, this.heap.alloc(4 * subs));
    const memo = 1 << 10;
    this.setWord(L.CSV_MEMO_TABLE, this.zeroed(this.raw.csvMemoBytes(memo)));
    this.setWord(L.CSV_MEMO_CAPACITY, memo);
  }

  private word(at: number): number {
    return this.heap.i32(this.st + at, 1)[0]!;
  }

  private setWord(at: number, value: number): void {
    this.heap.i32(this.st + at, 1)[0] = value;
  }

  private zeroed(bytes: number): Ptr {
    const ptr = this.heap.alloc(bytes);
    this.heap.u8(ptr, bytes).fill(0);
    return ptr;
  }

  /** A buffer of `length` bytes in the kernel's memory, to read input into (valid until the next inputBuffer or place). */
  inputBuffer(length: number): Buffer {
    if (length + L.CSV_SLACK > this.inputBytes) {
      if (this.input) this.heap.release(this.input);
      this.inputBytes = Math.max(length + L.CSV_SLACK, 2 * this.inputBytes);
      this.input = this.heap.alloc(this.inputBytes);
    }
    const buf = Buffer.from(this.heap.memory.buffer, this.input, length);
    this.placedIn = buf.buffer;
    return buf;
  }

  /**
   * Puts `buf`'s bytes where the kernel reads them and returns their offset: no
   * copy when `buf` is a view of the input region (from inputBuffer, or an
   * earlier place), whose bytes the kernel and the caller see alike.
   */
  place(buf: Uint8Array): Ptr {
    if (buf.buffer === this.placedIn && buf.byteOffset === this.input && buf.length + L.CSV_SLACK <= this.inputBytes) return this.input;
    this.inputBuffer(buf.length).set(buf);
    return this.input;
  }

  /** Rows whose local seconds are outside [from, to) are left to the host (see CSV_T_FROM). */
  setTimes(from: number, to: number): void {
    this.setWord(L.CSV_T_FROM, from | 0);
    this.setWord(L.CSV_T_TO, to | 0);
  }

  /** The fields per row and each canonical column's field index (-1 when absent), for the calls that follow. */
  setColumns(ncols: number, columns: Int32Array): void {
    this.setWord(L.CSV_NCOLS, ncols);
    for (let c = 0; c < 8; c++) this.setWord(L.CSV_COL + 4 * c, columns[c]!);
  }

  /**
   * Reads rows of the placed buffer [pos, end) into `out` from row `n`, at most
   * `maxRows` (<= SCRATCH_ROWS) of them, none starting at or after `stopAt`.
   */
  rows(base: Ptr, pos: number, end: number, stopAt: number, maxRows: number, out: RowColumns, n: number): RowsResult {
    const s = this.scratch;
    this.setWord(L.CSV_N, 0);
    this.setWord(L.CSV_OUT_SUB, s.sub);
    this.setWord(L.CSV_OUT_PEER, s.peer);
    this.setWord(L.CSV_OUT_CELL, s.cell);
    this.setWord(L.CSV_OUT_T, s.t);
    this.setWord(L.CSV_OUT_KIND, s.kind);
    this.setWord(L.CSV_OUT_DURATION, s.duration);
    this.setWord(L.CSV_OUT_RECHARGE, s.recharge);
    const next = this.raw.csvRows(this.st, base, pos, end, Math.min(stopAt, 0xffffffff), Math.min(maxRows, SCRATCH_ROWS)) >>> 0;
    const added = this.word(L.CSV_ADDED);
    if (added > 0) {
      const h = this.heap;
      out.sub.set(h.u32(s.sub, added), n);
      out.peer.set(h.u32(s.peer, added), n);
      out.cell.set(h.u32(s.cell, added), n);
      out.t.set(h.u32(s.t, added), n);
      out.kind.set(h.u8(s.kind, added), n);
      out.duration.set(h.u32(s.duration, added), n);
      out.recharge.set(h.f64(s.recharge, added), n);
    }
    return { pos: next, stop: this.word(L.CSV_STOP), lines: this.word(L.CSV_LINES), added };
  }

  /** The memo miss of the last call: its tag and the field's trimmed bytes [start, end). */
  miss(): { tag: number; start: number; end: number } {
    return { tag: this.word(L.CSV_MISS_TAG), start: this.word(L.CSV_MISS_START), end: this.word(L.CSV_MISS_END) };
  }

  /** Records the value of field bytes [start, end) of the placed buffer under `tag`. */
  remember(tag: number, base: Ptr, start: number, end: number, value: number): void {
    if (this.raw.csvMemoInsert(this.st, tag, base, start, end, value) === 0) return;
    const capacity = 2 * this.word(L.CSV_MEMO_CAPACITY);
    const old = this.word(L.CSV_MEMO_TABLE);
    const table = this.heap.alloc(this.raw.csvMemoBytes(capacity));
    this.check(this.raw.csvMemoRehash(this.st, table, capacity), 'memo rehash');
    this.heap.release(old);
    this.check(this.raw.csvMemoInsert(this.st, tag, base, start, end, value), 'memo insert');
  }

  /**
   * The all-digit subscriber with digit key [hi, lo] (see digitsKey) as a row
   * carries it (storeIndexOf); a new local id when first seen.
   */
  subscriber(hi: number, lo: number): number {
    let value = this.raw.csvSubscriber(this.st, hi, lo) >>> 0;
    if (value === NULL_U32) {
      this.growSubscribers();
      value = this.raw.csvSubscriber(this.st, hi, lo) >>> 0;
    }
    if (value === NULL_U32) throw new KernelError('BAD_ARGUMENT', `no subscriber id for key [${hi}, ${lo}]`);
    return value;
  }

  /** A new local id for a subscriber that is not all digits. */
  otherSubscriber(): number {
    let id = this.raw.csvOtherSubscriber(this.st);
    if (id === -1) {
      this.growSubscribers();
      id = this.raw.csvOtherSubscriber(this.st);
    }
    return id;
  }

  /** Local ids handed out so far. */
  get subscriberCount(): number {
    return this.word(L.CSV_SUBS_COUNT);
  }

  /** The keys of local ids [from, to), an i32 pair each (a copy). */
  subscriberKeys(from: number, to: number): Int32Array {
    return this.heap.i32(this.word(L.CSV_SUBS_KEYS) + 8 * from, 2 * (to - from)).slice();
  }

  /** Doubles the subscriber table and the key list (a call stopped with CSV_STOP_CAPACITY, or a lookup found no room). */
  growSubscribers(): void {
    const capacity = 2 * this.word(L.CSV_SUBS_CAPACITY);
    const oldTable = this.word(L.CSV_SUBS_TABLE);
    const table = this.heap.alloc(this.raw.csvSubsBytes(capacity));
    this.check(this.raw.csvSubsRehash(this.st, table, capacity), 'subscriber rehash');
    this.heap.release(oldTable);
    this.regrow(L.CSV_SUBS_KEYS, 8 * this.word(L.CSV_SUBS_COUNT), 8 * capacity);
    this.setWord(L.CSV_SUBS_KEYS_CAPACITY, capacity);
    this.regrow(L.CSV_STORE_MAP, 4 * this.word(L.CSV_STORE_MAPPED), 4 * capacity);
  }

  /** Moves the array whose offset is state word `at` to a new one of `bytes`, keeping its first `used` bytes. */
  private regrow(at: number, used: number, bytes: number): void {
    const old = this.word(at);
    const grown = this.heap.alloc(bytes);
    this.heap.u8(grown, used).set(this.heap.u8(old, used));
    this.heap.release(old);
    this.setWord(at, grown);
  }

  /** Writes the store indexes of local ids [from, from + indexes.length) into the store map; `from` is where the map ends. */
  learn(from: number, indexes: Uint32Array): void {
    const mapped = this.word(L.CSV_STORE_MAPPED);
    const to = from + indexes.length;
    if (from !== mapped || to > this.subscriberCount) throw new KernelError('BAD_ARGUMENT', `store indexes for local ids [${from}, ${to}) do not follow the ${mapped} known of ${this.subscriberCount}`);
    this.heap.u32(this.word(L.CSV_STORE_MAP) + 4 * from, indexes.length).set(indexes);
    this.check(this.raw.csvLearn(this.st, from, to), 'learn');
  }

  /** Store indexes of all-digit subscribers another parser met first (digit keys [hi, lo] in `keys`): see csvKnow. */
  know(keys: Int32Array, indexes: Uint32Array): void {
    const n = indexes.length;
    const at = this.heap.alloc(12 * n);
    try {
      this.heap.i32(at, 2 * n).set(keys.subarray(0, 2 * n));
      this.heap.u32(at + 8 * n, n).set(indexes);
      let status = this.raw.csvKnow(this.st, at, at + 8 * n, n);
      while (status === 1) {
        this.growSubscribers();
        status = this.raw.csvKnow(this.st, at, at + 8 * n, n);
      }
      this.check(status, 'know');
    } finally {
      this.heap.release(at);
    }
  }

  /** A local id from otherSubscriber as a row carries it: its store index once learnt, else LOCAL_TAG | the id. */
  storeIndexOf(local: number): number {
    if (local < this.word(L.CSV_STORE_MAPPED)) return this.heap.u32(this.word(L.CSV_STORE_MAP) + 4 * local, 1)[0]!;
    return (local | L.CSV_LOCAL_TAG) >>> 0;
  }

  private check(status: number, what: string): void {
    if (status !== 0) throw new KernelError('BAD_ARGUMENT', `CSV kernel ${what} failed with status ${status}`);
  }
}
