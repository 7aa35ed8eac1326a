/**
 * Builds day partitions in a staging folder while rows stream in. Each day
 * keeps one fixed-size chunk per column in memory and appends it to its column
 * files when full, so memory is bounded by (open days x chunk), not by the
 * input. Checksums are computed as chunks are written.
 *
 * Each row also gets its sequence number in the whole ingest (a staging-only
 * column beside the day, never committed): when a day is finished its fully
 * duplicated rows are found (duplicates.ts) and named by it, so the ingest can
 * tell which file and row each came from, and optionally dropped.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NULL_U32, SECONDS_PER_DAY, TYPE_MASK } from '../../kernels/shared/constants.js';
import { dayToDate } from '../util/datetime.js';
import type { EventRows, EventSink } from './schema.js';
import { diskFullError, storeFs, withPath } from './fsutil.js';
import { COLUMNS, columnFile, type ColumnName } from './layout.js';
import { findDuplicates, type DayRows } from './duplicates.js';
import type { DayEntry } from './manifest.js';

const CHUNK_ROWS = 1 << 16;

type Chunk = Uint32Array | Uint8Array | Float64Array;

/** A finished day's duplicated rows, by their sequence numbers in the ingest (DayStaging): `rows[k]` repeats `of[k]`. */
export interface DaySeqDuplicates {
  rows: Uint32Array;
  of: Uint32Array;
}

function allocChunk(type: string): Chunk {
  if (type === 'u8') return new Uint8Array(CHUNK_ROWS);
  if (type === 'f64') return new Float64Array(CHUNK_ROWS);
  return new Uint32Array(CHUNK_ROWS);
}

function someNotNull(a: Uint32Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (a[i] !== NULL_U32) return true;
  return false;
}

class StagedDay {
  readonly dir: string;
  /** The rows' sequence numbers, a u32 each (staging only: beside the day's folder, not in it). */
  private readonly seqFile: string;
  private seqFd: number | null = null;
  private readonly seq = new Uint32Array(CHUNK_ROWS);
  rows = 0;
  unlocated = 0;
  readonly types = [0, 0, 0, 0];
  private n = 0;
  private readonly chunks: { sub: Uint32Array; t: Uint32Array; cell: Uint32Array; kind: Uint8Array; duration: Uint32Array; peer: Uint32Array; recharge: Float64Array } & Record<ColumnName, Chunk>;
  private readonly fds = new Map<ColumnName, number>();
  private readonly hashes = new Map<ColumnName, crypto.Hash>();
  private readonly bytes = new Map<ColumnName, number>();
  /**
   * Optional columns with at least one non-null value; the others are not kept.
   * Plain flags: three Set.add calls a row cost ~1 s of the ingest's main thread at 20M events.
   */
  private readonly present: Partial<Record<ColumnName, boolean>> = { duration: false, peer: false, recharge: false };

  constructor(root: string, readonly date: string) {
    this.dir = path.join(root, date);
    this.seqFile = `${this.dir}.seq`;
    fs.mkdirSync(this.dir, { recursive: true });
    this.chunks = Object.fromEntries(COLUMNS.map((c) => [c.name, allocChunk(c.type)])) as StagedDay['chunks'];
  }

  append(seq: number, sub: number, t: number, cell: number, kind: number, duration: number, peer: number, recharge: number): void {
    const i = this.n;
    const c = this.chunks;
    this.seq[i] = seq;
    c.sub[i] = sub;
    c.t[i] = t;
    c.cell[i] = cell;
    c.kind[i] = kind;
    c.duration[i] = duration;
    c.peer[i] = peer;
    c.recharge[i] = recharge;
    if (duration !== NULL_U32) this.present.duration = true;
    if (peer !== NULL_U32) this.present.peer = true;
    if (recharge === recharge) this.present.recharge = true;
    if (cell === NULL_U32) this.unlocated++;
    this.types[kind & TYPE_MASK]!++;
    this.rows++;
    if (++this.n === CHUNK_ROWS) this.flush();
  }

  /** Rows [from, to) of `rows`, as many append() calls would add them, copied a chunk at a time; row i has sequence number seq0 + i. */
  appendRange(rows: EventRows, from: number, to: number, seq0: number): void {
    const c = this.chunks;
    while (from < to) {
      const k = Math.min(to - from, CHUNK_ROWS - this.n);
      const end = from + k;
      const at = this.n;
      for (let i = 0; i < k; i++) this.seq[at + i] = seq0 + from + i;
      c.sub.set(rows.sub.subarray(from, end), at);
      c.t.set(rows.t.subarray(from, end), at);
      c.cell.set(rows.cell.subarray(from, end), at);
      c.kind.set(rows.kind.subarray(from, end), at);
      c.duration.set(rows.duration.subarray(from, end), at);
      c.peer.set(rows.peer.subarray(from, end), at);
      c.recharge.set(rows.recharge.subarray(from, end), at);
      const { cell, kind, duration, peer, recharge } = rows;
      const types = this.types;
      let unlocated = 0;
      for (let i = from; i < end; i++) {
        if (cell[i] === NULL_U32) unlocated++;
        types[kind[i]! & TYPE_MASK]!++;
      }
      this.unlocated += unlocated;
      // Each flag is looked for only until it is found: most ranges settle it in their first rows.
      const present = this.present;
      if (!present.duration) present.duration = someNotNull(duration, from, end);
      if (!present.peer) present.peer = someNotNull(peer, from, end);
      if (!present.recharge) for (let i = from; i < end && !present.recharge; i++) present.recharge = recharge[i] === recharge[i];
      this.rows += k;
      this.n += k;
      from = end;
      if (this.n === CHUNK_ROWS) this.flush();
    }
  }

  private flush(): void {
    if (this.n === 0) return;
    try {
      this.seqFd ??= storeFs.openSync(this.seqFile, 'w');
      writeAll(this.seqFd, new Uint8Array(this.seq.buffer, 0, this.n * 4));
    } catch (e) {
      throw diskFullError(withPath(e, this.seqFile), 'ingest');
    }
    for (const col of COLUMNS) {
      const file = path.join(this.dir, columnFile(col));
      let fd = this.fds.get(col.name);
      const chunk = this.chunks[col.name];
      const view = new Uint8Array(chunk.buffer, 0, this.n * col.bytes);
      try {
        if (fd === undefined) {
          fd = storeFs.openSync(file, 'w');
          this.fds.set(col.name, fd);
          this.hashes.set(col.name, crypto.createHash('sha256'));
          this.bytes.set(col.name, 0);
        }
        writeAll(fd, view);
      } catch (e) {
        throw diskFullError(withPath(e, file), 'ingest');
      }
      this.hashes.get(col.name)!.update(view);
      this.bytes.set(col.name, this.bytes.get(col.name)! + view.length);
    }
    this.n = 0;
  }

  /**
   * Flushes, finds the fully duplicated rows (dropping them when `drop`),
   * fsyncs and closes; drops all-null optional columns.
   */
  finish(drop: boolean): { entry: Omit<DayEntry, 'dir'>; duplicates: DaySeqDuplicates } {
    this.flush();
    const file = (name: ColumnName) => path.join(this.dir, columnFile(COLUMNS.find((c) => c.name === name)!));
    const read = <T extends Chunk>(name: ColumnName, make: (b: ArrayBuffer) => T): T => {
      const b = fs.readFileSync(file(name));
      return make(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    };
    const u32 = (name: ColumnName) => read(name, (b) => new Uint32Array(b));
    const sub = u32('sub');
    const t = u32('t');
    let rest: Omit<DayRows, 'length' | 'sub' | 't'> | null = null;
    const others = () =>
      (rest ??= { cell: u32('cell'), kind: read('kind', (b) => new Uint8Array(b)), duration: u32('duration'), peer: u32('peer'), recharge: read('recharge', (b) => new Float64Array(b)) });
    const found = findDuplicates(sub, t, others);
    const duplicates: DaySeqDuplicates = { rows: new Uint32Array(found.rows.length), of: new Uint32Array(found.rows.length) };
    if (found.rows.length > 0) {
      const b = fs.readFileSync(this.seqFile);
      const seq = new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
      for (let k = 0; k < found.rows.length; k++) {
        duplicates.rows[k] = seq[found.rows[k]!]!;
        duplicates.of[k] = seq[found.of[k]!]!;
      }
      if (drop) this.rewriteWithout(found.rows, { length: sub.length, sub, t, ...others() });
    }
    if (this.seqFd !== null) storeFs.closeSync(this.seqFd);
    this.seqFd = null;
    fs.rmSync(this.seqFile, { force: true });

    const columns: DayEntry['columns'] = {};
    for (const col of COLUMNS) {
      const fd = this.fds.get(col.name)!;
      const file = path.join(this.dir, columnFile(col));
      try {
        // A delayed-allocation filesystem may only find out at fsync that the disk is full.
        storeFs.fsyncSync(fd);
      } catch (e) {
        throw diskFullError(withPath(e, file), 'ingest');
      }
      this.fds.delete(col.name);
      storeFs.closeSync(fd);
      if (!col.required && !this.present[col.name]) {
        fs.rmSync(file);
        continue;
      }
      columns[col.name] = { bytes: this.bytes.get(col.name)!, sha256: this.hashes.get(col.name)!.digest('hex') };
    }
    return { entry: { rows: this.rows, columns, types: [...this.types], unlocated: this.unlocated }, duplicates };
  }

  /**
   * Writes the day again without rows `drop` (ascending): each column file,
   * its checksum and bytes, and the day's counts, as if those rows had never
   * been appended. Only a day with duplicates pays for it.
   */
  private rewriteWithout(drop: Uint32Array, day: DayRows): void {
    const keep = new Uint8Array(day.length).fill(1);
    for (const i of drop) keep[i] = 0;
    const kept = day.length - drop.length;
    this.rows = 0;
    this.unlocated = 0;
    this.types.fill(0);
    this.present.duration = this.present.peer = this.present.recharge = false;
    for (const col of COLUMNS) {
      const from = day[col.name];
      const to = new (from.constructor as new (n: number) => Chunk)(kept);
      for (let i = 0, k = 0; i < day.length; i++) if (keep[i]) to[k++] = from[i]!;
      const file = path.join(this.dir, columnFile(col));
      const old = this.fds.get(col.name)!;
      storeFs.closeSync(old);
      this.fds.delete(col.name);
      const view = new Uint8Array(to.buffer, 0, kept * col.bytes);
      try {
        const fd = storeFs.openSync(file, 'w');
        this.fds.set(col.name, fd);
        writeAll(fd, view);
      } catch (e) {
        throw diskFullError(withPath(e, file), 'ingest');
      }
      this.hashes.set(col.name, crypto.createHash('sha256').update(view));
      this.bytes.set(col.name, view.length);
      if (col.name === 'kind') for (const k of to as Uint8Array) this.types[k & TYPE_MASK]!++;
      if (col.name === 'cell') for (const c of to as Uint32Array) if (c === NULL_U32) this.unlocated++;
      if (col.name === 'duration' || col.name === 'peer') this.present[col.name] = someNotNull(to as Uint32Array, 0, kept);
      if (col.name === 'recharge') this.present.recharge = (to as Float64Array).some((x) => x === x);
    }
    this.rows = kept;
  }

  abort(): void {
    for (const fd of this.fds.values()) storeFs.closeSync(fd);
    this.fds.clear();
    if (this.seqFd !== null) storeFs.closeSync(this.seqFd);
    this.seqFd = null;
  }
}

/** A set of days being built for one ingest; routes each row to its local day. */
export class DayStaging implements EventSink {
  private readonly days = new Map<number, StagedDay>();
  /** The next row's sequence number: rows are numbered in the order they arrive, across days. */
  private seq = 0;
  /** The first sequence number of each source (beginSource), ascending. */
  private readonly sources: number[] = [];

  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  /** The rows appended from now on come from the next source (an event file): duplicates are reported by source and row. */
  beginSource(): void {
    this.sources.push(this.seq);
  }

  append(sub: number, t: number, cell: number, kind: number, duration: number, peer: number, recharge: number): void {
    const day = Math.floor(t / SECONDS_PER_DAY);
    let staged = this.days.get(day);
    if (staged === undefined) {
      staged = new StagedDay(this.root, dayToDate(day));
      this.days.set(day, staged);
    }
    staged.append(this.seq++, sub, t, cell, kind, duration, peer, recharge);
  }

  /**
   * Appends rows given as columns, in order: exactly what one append() per row
   * would do, with each run of rows of one day copied in bulk (the CSV ingest
   * merges batches of thousands of rows; a call per row was most of its main thread).
   */
  appendColumns(rows: EventRows): void {
    const t = rows.t;
    for (let i = 0; i < rows.length; ) {
      const day = Math.floor(t[i]! / SECONDS_PER_DAY);
      const first = day * SECONDS_PER_DAY;
      const next = first + SECONDS_PER_DAY;
      let j = i + 1;
      while (j < rows.length && t[j]! >= first && t[j]! < next) j++;
      let staged = this.days.get(day);
      if (staged === undefined) {
        staged = new StagedDay(this.root, dayToDate(day));
        this.days.set(day, staged);
      }
      staged.appendRange(rows, i, j, this.seq);
      i = j;
    }
    this.seq += rows.length;
  }

  get rows(): number {
    let n = 0;
    for (const d of this.days.values()) n += d.rows;
    return n;
  }

  /**
   * Finishes every day: date -> (staging folder, entry without its final dir).
   * The fully duplicated rows are left in `duplicates`, by source (beginSource),
   * and dropped from the days when `dropDuplicates`. On failure nothing stays open.
   */
  finish(o: { dropDuplicates?: boolean } = {}): Map<string, { staged: string; entry: Omit<DayEntry, 'dir'> }> {
    const days = new Map<string, { staged: string; entry: Omit<DayEntry, 'dir'> }>();
    const duplicates: SourceDuplicates[] = (this.duplicates = this.sources.map(() => ({ count: 0, examples: [] })));
    if (duplicates.length === 0) duplicates.push({ count: 0, examples: [] }); // rows appended without a source: source 0
    try {
      for (const day of [...this.days.keys()].sort((a, b) => a - b)) {
        const staged = this.days.get(day)!;
        const done = staged.finish(o.dropDuplicates ?? false);
        days.set(staged.date, { staged: staged.dir, entry: done.entry });
        for (let k = 0; k < done.duplicates.rows.length; k++) {
          const row = this.sourceRow(done.duplicates.rows[k]!);
          const d = duplicates[row.source]!;
          d.count++;
          addExample(d.examples, { row: row.row, of: this.sourceRow(done.duplicates.of[k]!) });
        }
      }
    } catch (e) {
      this.abort();
      throw e;
    }
    return days;
  }

  /** After finish(): each source's fully duplicated rows (source 0 holds them all when no source was begun). */
  duplicates: SourceDuplicates[] = [];

  /** Source and row within it (0-based, among the rows appended from it) of sequence number `seq`. */
  private sourceRow(seq: number): { source: number; row: number } {
    let lo = 0;
    let hi = this.sources.length - 1;
    // The last source starting at or before seq (several may start at the same number: empty ones).
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.sources[mid]! <= seq) lo = mid;
      else hi = mid - 1;
    }
    return { source: Math.max(lo, 0), row: seq - (this.sources[lo] ?? 0) };
  }

  abort(): void {
    for (const d of this.days.values()) d.abort();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

function writeAll(fd: number, view: Uint8Array): void {
  let off = 0;
  while (off < view.length) off += storeFs.writeSync(fd, view, off);
}

/** How many duplicated rows of a source are named, the earliest first. */
export const DUPLICATE_EXAMPLES = 5;

/** One source's fully duplicated rows: how many, and the first few (row within the source, and the row it repeats). */
export interface SourceDuplicates {
  count: number;
  examples: { row: number; of: { source: number; row: number } }[];
}

/** Keeps the DUPLICATE_EXAMPLES earliest rows, sorted. */
function addExample(list: SourceDuplicates['examples'], e: SourceDuplicates['examples'][number]): void {
  if (list.length === DUPLICATE_EXAMPLES && e.row >= list.at(-1)!.row) return;
  let i = list.length;
  while (i > 0 && list[i - 1]!.row > e.row) i--;
  list.splice(i, 0, e);
  if (list.length > DUPLICATE_EXAMPLES) list.pop();
}
