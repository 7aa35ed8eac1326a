/**
 * Loads a store into the shared memory, in the layout the kernels scan: each
 * day's rows grouped by subscriber partition (a keyed-hash sample of the
 * subscribers, so that each partition is a random share of them) and, within a
 * partition, sorted by time with ingest-order ties. Subscriber ids become
 * partition-local indexes, so per-subscriber state is a dense vector per task.
 * Every column is checked against its checksum as it is read: a corrupt store
 * file stops the load with an error naming it, never feeds a query.
 */
import { SECONDS_PER_DAY } from '../../kernels/shared/constants.js';
import { dateToDay } from '../util/datetime.js';
import { HASH_BYTES } from '../store/schema.js';
import type { ColumnName } from '../store/layout.js';
import type { Store } from '../store/reader.js';
import type { Heap, Ptr } from '../wasm/memory.js';
import type { DayRange } from './protocol.js';
import { Units } from './units.js';
import type { Kernels } from './wasm.js';

/** A day in the shared memory: its columns (DayRange over all its rows), its date and each partition's row offsets. */
export interface LoadedDay extends DayRange {
  date: string;
  /** Row offsets of each partition, P + 1 entries. */
  offsets: Uint32Array;
}

/** Columns loaded only on demand: most queries never read them. */
export type OptionalColumn = 'peer' | 'recharge' | 'duration';
const OPTIONAL_BYTES: Record<OptionalColumn, number> = { peer: 4, recharge: 8, duration: 4 };

const CORE: readonly [ColumnName, number][] = [
  ['sub', 4],
  ['t', 4],
  ['cell', 4],
  ['kind', 1],
];

export class LoadedStore {
  readonly units: Units;
  readonly nParts: number;
  /** Partition of each global subscriber index. */
  readonly partOf: Uint8Array;
  /** Partition-local index of each global subscriber index. */
  readonly localOf: Uint32Array;
  /** Subscribers per partition. */
  readonly partSizes: number[];
  readonly days = new Map<number, LoadedDay>();
  private readonly tables = new Map<string, Map<number, Ptr>>();
  private readonly owned: Ptr[] = [];
  private readonly coordCache = new Map<number, { lon: Ptr; lat: Ptr }>();
  private globalPtr: Ptr | null = null;
  private lonLatCache: { lon: Ptr; lat: Ptr; n: number } | null = null;

  constructor(readonly store: Store, readonly heap: Heap, readonly kernels: Kernels, nParts: number) {
    if (!(Number.isInteger(nParts) && nParts >= 1 && nParts <= 256)) throw new RangeError(`expected 1..256 partitions, found ${nParts}`);
    this.nParts = nParts;
    this.units = new Units(store.dims());
    const hashes = store.subscriberHashes();
    const nSubs = hashes.length / HASH_BYTES;
    this.partOf = new Uint8Array(nSubs);
    this.localOf = new Uint32Array(nSubs);
    this.partSizes = new Array<number>(nParts).fill(0);
    for (let s = 0; s < nSubs; s++) {
      // The pseudonym is a keyed hash: its leading bytes are a uniform, secret-keyed draw.
      const p = ((hashes[s * HASH_BYTES]! << 8) | hashes[s * HASH_BYTES + 1]!) % nParts;
      this.partOf[s] = p;
      this.localOf[s] = this.partSizes[p]!++;
    }
  }

  get nSubs(): number {
    return this.partOf.length;
  }

  get nCells(): number {
    return this.store.dims().cells.size;
  }

  /** Loads every day of the store. */
  loadAll(): void {
    const partOf = this.own(this.heap.put(this.partOf.length ? this.partOf : new Uint8Array(1)));
    const localOf = this.own(this.heap.put(this.localOf.length ? this.localOf : new Uint32Array(1)));
    const maxRows = Math.max(0, ...this.store.days().map((date) => this.store.day(date).rows));
    const hist = this.heap.alloc(this.kernels.partitionHistogramBytes(this.nParts, maxRows));
    try {
      for (const date of this.store.days()) this.loadDay(date, partOf, localOf, hist);
    } finally {
      this.heap.release(hist);
    }
  }

  private loadDay(date: string, partOf: Ptr, localOf: Ptr, hist: Ptr): void {
    const { heap, kernels } = this;
    const n = this.store.day(date).rows;
    const day = dateToDay(date);
    const raw = new Map<ColumnName, Ptr>();
    const temps: Ptr[] = [];
    try {
      for (const [name, bytes] of CORE) {
        const ptr = heap.alloc(Math.max(n * bytes, 1));
        temps.push(ptr);
        this.store.readColumn(date, name, { target: heap.u8(ptr, n * bytes), verify: true });
        raw.set(name, ptr);
      }
      const perm = heap.alloc(Math.max(4 * n, 1));
      temps.push(perm);
      const offsets = heap.alloc(4 * (this.nParts + 1));
      temps.push(offsets);
      kernels.partitionDay({ n, sub: raw.get('sub')!, t: raw.get('t')! }, day * SECONDS_PER_DAY, { partOf, nSubs: this.nSubs, nParts: this.nParts }, hist, perm, offsets);
      const loaded: LoadedDay = {
        date,
        day,
        n,
        offsets: heap.u32(offsets, this.nParts + 1).slice(),
        sub: this.own(heap.alloc(Math.max(4 * n, 1))),
        t: this.own(heap.alloc(Math.max(4 * n, 1))),
        cell: this.own(heap.alloc(Math.max(4 * n, 1))),
        kind: this.own(heap.alloc(Math.max(n, 1))),
      };
      kernels.localise(raw.get('sub')!, perm, localOf, loaded.sub, n);
      kernels.gather32(raw.get('t')!, perm, loaded.t, n);
      kernels.gather32(raw.get('cell')!, perm, loaded.cell, n);
      kernels.gather8(raw.get('kind')!, perm, loaded.kind, n);
      this.days.set(day, loaded);
    } finally {
      for (const ptr of temps) heap.release(ptr);
    }
  }

  /**
   * Loads optional columns for every day, in the partitioned row order: the
   * permutation is recomputed from the stored sub and t columns (cheap, and it
   * saves keeping 4 bytes per event resident for queries that never need it).
   */
  ensureColumns(names: readonly OptionalColumn[]): void {
    const missing = names.filter((name) => [...this.days.values()].some((d) => d[name] === undefined));
    if (missing.length === 0) return;
    const { heap, kernels } = this;
    const partOf = heap.put(this.partOf.length ? this.partOf : new Uint8Array(1));
    const hist = heap.alloc(kernels.partitionHistogramBytes(this.nParts, Math.max(0, ...[...this.days.values()].map((d) => d.n))));
    try {
      for (const d of this.days.values()) {
        const n = d.n;
        const temps: Ptr[] = [];
        try {
          const sub = heap.alloc(Math.max(4 * n, 1));
          const t = heap.alloc(Math.max(4 * n, 1));
          const perm = heap.alloc(Math.max(4 * n, 1));
          const offsets = heap.alloc(4 * (this.nParts + 1));
          temps.push(sub, t, perm, offsets);
          this.store.readColumn(d.date, 'sub', { target: heap.u8(sub, 4 * n) });
          this.store.readColumn(d.date, 't', { target: heap.u8(t, 4 * n) });
          kernels.partitionDay({ n, sub, t }, d.day * SECONDS_PER_DAY, { partOf, nSubs: this.nSubs, nParts: this.nParts }, hist, perm, offsets);
          for (const name of missing) {
            if (d[name] !== undefined) continue;
            const bytes = OPTIONAL_BYTES[name];
            const raw = heap.alloc(Math.max(bytes * n, 1));
            temps.push(raw);
            this.store.readColumn(d.date, name, { target: heap.u8(raw, bytes * n), verify: true });
            const dst = this.own(heap.alloc(Math.max(bytes * n, 1)));
            if (bytes === 8) kernels.gather64(raw, perm, dst, n);
            else kernels.gather32(raw, perm, dst, n);
            d[name] = dst;
          }
        } finally {
          for (const ptr of temps) heap.release(ptr);
        }
      }
    } finally {
      heap.release(hist);
      heap.release(partOf);
    }
  }

  /** Positions of the lon-lat unit's locations, in the shared memory (built once). */
  lonLat(): { lon: Ptr; lat: Ptr; n: number } {
    if (!this.lonLatCache) {
      const space = this.units.space('lon-lat');
      const lon = new Float64Array(Math.max(space.size, 1));
      const lat = new Float64Array(Math.max(space.size, 1));
      for (let i = 0; i < space.size; i++) {
        const p = space.label(i);
        lon[i] = p.lon as number;
        lat[i] = p.lat as number;
      }
      this.lonLatCache = { lon: this.own(this.heap.put(lon)), lat: this.own(this.heap.put(lat)), n: space.size };
    }
    return this.lonLatCache;
  }

  /** Global subscriber index of each partition-local one, partition by partition: u32 per subscriber. */
  globalOf(p: number): Ptr {
    if (this.globalPtr === null) {
      const starts = this.partStarts();
      const next = starts.slice();
      const global = new Uint32Array(Math.max(this.nSubs, 1));
      for (let s = 0; s < this.nSubs; s++) global[next[this.partOf[s]!]!++] = s;
      this.globalPtr = this.own(this.heap.put(global));
    }
    return this.globalPtr + 4 * this.partStarts()[p]!;
  }

  private partStarts(): number[] {
    const starts: number[] = [];
    let at = 0;
    for (const size of this.partSizes) {
      starts.push(at);
      at += size;
    }
    return starts;
  }

  /** Partition p's rows of every loaded day. */
  ranges(p: number): Record<number, DayRange> {
    const out: Record<number, DayRange> = {};
    for (const [day, d] of this.days) {
      const start = d.offsets[p]!;
      out[day] = {
        day,
        n: d.offsets[p + 1]! - start,
        sub: d.sub + 4 * start,
        t: d.t + 4 * start,
        cell: d.cell + 4 * start,
        kind: d.kind + start,
        peer: d.peer === undefined ? undefined : d.peer + 4 * start,
        recharge: d.recharge === undefined ? undefined : d.recharge + 8 * start,
        duration: d.duration === undefined ? undefined : d.duration + 4 * start,
      };
    }
    return out;
  }

  /** The location table of a unit on a day, built once and kept in the shared memory. */
  table(unit: string, day: number): Ptr {
    let byDay = this.tables.get(unit);
    if (!byDay) {
      byDay = new Map();
      this.tables.set(unit, byDay);
    }
    let ptr = byDay.get(day);
    if (ptr === undefined) {
      const table = this.units.table(unit, day);
      ptr = this.own(this.heap.put(table.length ? table : new Int32Array(1)));
      byDay.set(day, ptr);
    }
    return ptr;
  }

  /** Cell coordinates of a day (f64 per cell key, NaN without a valid version), built once. */
  coords(day: number): { lon: Ptr; lat: Ptr } {
    let c = this.coordCache.get(day);
    if (!c) {
      const { lon, lat } = this.units.positions(day);
      c = { lon: this.own(this.heap.put(lon.length ? lon : new Float64Array(1))), lat: this.own(this.heap.put(lat.length ? lat : new Float64Array(1))) };
      this.coordCache.set(day, c);
    }
    return c;
  }

  /** Bytes of shared memory the loaded columns and tables hold. */
  residentBytes(): number {
    return this.owned.reduce((n, p) => n + this.heap.sizeOf(p), 0);
  }

  release(): void {
    for (const ptr of this.owned.splice(0)) this.heap.release(ptr);
    this.days.clear();
    this.tables.clear();
    this.coordCache.clear();
    this.globalPtr = null;
    this.lonLatCache = null;
  }

  private own(ptr: Ptr): Ptr {
    this.owned.push(ptr);
    return ptr;
  }
}
