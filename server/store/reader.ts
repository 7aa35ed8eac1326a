/**
 * Read access to a store: the manifest, the dimension tables and the day
 * columns. A Store holds one manifest, so it sees one consistent version even
 * while a writer commits a newer one.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Errors } from '../errors.js';
import type { RegionLevel } from '../geo/regions.js';
import { CellTable, type CellTableJson } from './cells.js';
import { COLUMNS, columnFile, type ColumnName, type ColumnSpec, paths } from './layout.js';
import { acquireLease } from './lease.js';
import { type DayEntry, type Manifest, readManifest, storedDays } from './manifest.js';

export type ColumnArray = Uint32Array | Uint8Array | Float64Array;

export interface Dimensions {
  cells: CellTable;
  regions: RegionLevel[];
}

export class Store {
  private dimsCache: Dimensions | null = null;
  /** Bytes read from day column files by readColumn: what a query cost in I/O (benches, the buffer pool's metrics). */
  bytesRead = 0;

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly releaseLease: () => void = () => {},
  ) {}

  /**
   * Opens the store's current version. With `lease` (the default) the
   * version's folders outlive later commits until release() (lease.ts): a
   * long reader (an engine) must call it when done; a process that exits
   * drops its leases. The writer opens without one.
   */
  static open(dir: string, opts: { lease?: boolean } = {}): Store {
    let manifest = readManifest(dir);
    if (opts.lease === false) return new Store(dir, manifest);
    for (;;) {
      const release = acquireLease(dir, manifest);
      const now = readManifest(dir);
      if (now.version === manifest.version) return new Store(dir, manifest, release);
      // A commit landed between reading the manifest and leasing it: its folders may be gone; lease the new one.
      release();
      manifest = now;
    }
  }

  /** Lets a writer remove this version's folders once no other reader holds them. Idempotent. */
  release(): void {
    this.releaseLease();
  }

  get version(): number {
    return this.manifest.version;
  }

  days(): string[] {
    return storedDays(this.manifest);
  }

  day(date: string): DayEntry {
    const entry = this.manifest.days[date];
    if (!entry) throw Errors.storeCorrupt(paths.manifest(this.dir), `no day ${date}`);
    return entry;
  }

  dims(): Dimensions {
    if (this.dimsCache) return this.dimsCache;
    if (this.manifest.dims === null) {
      this.dimsCache = { cells: new CellTable(), regions: [] };
      return this.dimsCache;
    }
    const dir = path.join(paths.dims(this.dir), this.manifest.dims);
    const cells = new CellTable(readJson<CellTableJson>(path.join(dir, 'cells.json')));
    const regions = readJson<RegionLevel[]>(path.join(dir, 'regions.json'));
    this.dimsCache = { cells, regions };
    return this.dimsCache;
  }

  /** The 32-byte pseudonyms of all subscribers, in index order. */
  subscriberHashes(): Buffer {
    if (this.manifest.dims === null) return Buffer.alloc(0);
    return fs.readFileSync(path.join(paths.dims(this.dir), this.manifest.dims, 'subscribers.bin'));
  }

  /**
   * Reads one column of a day into `target` (or a new array). An optional
   * column the day lacks is filled with its null value. With `verify`, the
   * bytes are checked against the manifest's checksum first.
   */
  readColumn(date: string, name: ColumnName, opts: { verify?: boolean; target?: Uint8Array } = {}): ColumnArray {
    const entry = this.day(date);
    const spec = COLUMNS.find((c) => c.name === name)!;
    const bytes = entry.rows * spec.bytes;
    const target = opts.target ?? new Uint8Array(bytes);
    if (target.byteLength < bytes) throw new RangeError(`target holds ${target.byteLength} bytes, column needs ${bytes}`);
    const meta = entry.columns[name];
    if (!meta) {
      fillNull(spec, target.subarray(0, bytes));
    } else {
      const file = path.join(this.dir, entry.dir, columnFile(spec));
      if (meta.bytes !== bytes) throw Errors.storeCorrupt(file, `expected ${bytes} bytes for ${entry.rows} rows, manifest says ${meta.bytes}`);
      readInto(file, target.subarray(0, bytes));
      this.bytesRead += bytes;
      if (opts.verify) {
        const sum = crypto.createHash('sha256').update(target.subarray(0, bytes)).digest('hex');
        if (sum !== meta.sha256) throw Errors.storeCorrupt(file, `checksum mismatch (expected ${meta.sha256.slice(0, 12)}…, found ${sum.slice(0, 12)}…)`);
      }
    }
    return typed(spec, target, bytes);
  }
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw Errors.storeCorrupt(file, (e as Error).message);
  }
}

function readInto(file: string, target: Uint8Array): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw Errors.storeCorrupt(file, (e as Error).message);
  }
  try {
    let off = 0;
    while (off < target.length) {
      const n = fs.readSync(fd, target, off, target.length - off, off);
      if (n === 0) throw Errors.storeCorrupt(file, `expected ${target.length} bytes, found ${off}`);
      off += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function fillNull(spec: ColumnSpec, bytes: Uint8Array): void {
  if (spec.type === 'f64') new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8).fill(NaN);
  else bytes.fill(0xff);
}

function typed(spec: ColumnSpec, target: Uint8Array, bytes: number): ColumnArray {
  const n = bytes / spec.bytes;
  if (spec.type === 'u8') return target.subarray(0, bytes);
  if (spec.type === 'f64') return new Float64Array(target.buffer, target.byteOffset, n);
  return new Uint32Array(target.buffer, target.byteOffset, n);
}
