/**
 * Builds day partitions in a staging folder while rows stream in. Each day
 * keeps one fixed-size chunk per column in memory and appends it to its column
 * files when full, so memory is bounded by (open days x chunk), not by the
 * input. Checksums are computed as chunks are written.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NULL_U32, SECONDS_PER_DAY, TYPE_MASK } from '../../kernels/shared/constants.js';
import { dayToDate } from '../util/datetime.js';
import type { EventColumns, EventSink } from './schema.js';
import { diskFullError, storeFs, withPath } from './fsutil.js';
import { COLUMNS, columnFile, type ColumnName } from './layout.js';
import type { DayEntry } from './manifest.js';

const CHUNK_ROWS = 1 << 16;

type Chunk = Uint32Array | Uint8Array | Float64Array;

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
    fs.mkdirSync(this.dir, { recursive: true });
    this.chunks = Object.fromEntries(COLUMNS.map((c) => [c.name, allocChunk(c.type)])) as StagedDay['chunks'];
  }

  append(sub: number, t: number, cell: number, kind: number, duration: number, peer: number, recharge: number): void {
    const i = this.n;
    const c = this.chunks;
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

  /** Rows [from, to) of `rows`, as many append() calls would add them, copied a chunk at a time. */
  appendRange(rows: EventColumns, from: number, to: number): void {
    const c = this.chunks;
    while (from < to) {
      const k = Math.min(to - from, CHUNK_ROWS - this.n);
      const end = from + k;
      const at = this.n;
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
        let off = 0;
        while (off < view.length) off += storeFs.writeSync(fd, view, off);
      } catch (e) {
        throw diskFullError(withPath(e, file), 'ingest');
      }
      this.hashes.get(col.name)!.update(view);
      this.bytes.set(col.name, this.bytes.get(col.name)! + view.length);
    }
    this.n = 0;
  }

  /** Flushes, fsyncs and closes; drops all-null optional columns. */
  finish(): Omit<DayEntry, 'dir'> {
    this.flush();
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
    return { rows: this.rows, columns, types: [...this.types], unlocated: this.unlocated };
  }

  abort(): void {
    for (const fd of this.fds.values()) storeFs.closeSync(fd);
    this.fds.clear();
  }
}

/** A set of days being built for one ingest; routes each row to its local day. */
export class DayStaging implements EventSink {
  private readonly days = new Map<number, StagedDay>();

  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  append(sub: number, t: number, cell: number, kind: number, duration: number, peer: number, recharge: number): void {
    const day = Math.floor(t / SECONDS_PER_DAY);
    let staged = this.days.get(day);
    if (staged === undefined) {
      staged = new StagedDay(this.root, dayToDate(day));
      this.days.set(day, staged);
    }
    staged.append(sub, t, cell, kind, duration, peer, recharge);
  }

  /**
   * Appends rows given as columns, in order: exactly what one append() per row
   * would do, with each run of rows of one day copied in bulk (the CSV ingest
   * merges batches of thousands of rows; a call per row was most of its main thread).
   */
  appendColumns(rows: EventColumns): void {
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
      staged.appendRange(rows, i, j);
      i = j;
    }
  }

  get rows(): number {
    let n = 0;
    for (const d of this.days.values()) n += d.rows;
    return n;
  }

  /** Finishes every day: date -> (staging folder, entry without its final dir). On failure nothing stays open. */
  finish(): Map<string, { staged: string; entry: Omit<DayEntry, 'dir'> }> {
    const out = new Map<string, { staged: string; entry: Omit<DayEntry, 'dir'> }>();
    try {
      for (const day of [...this.days.keys()].sort((a, b) => a - b)) {
        const staged = this.days.get(day)!;
        out.set(staged.date, { staged: staged.dir, entry: staged.finish() });
      }
    } catch (e) {
      this.abort();
      throw e;
    }
    return out;
  }

  abort(): void {
    for (const d of this.days.values()) d.abort();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
