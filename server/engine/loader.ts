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
import { SpecError } from '../errors.js';
import { ALIGN, type Heap, type Ptr } from '../wasm/memory.js';
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
const OPTIONAL = Object.keys(OPTIONAL_BYTES) as OptionalColumn[];

/** The columns every kernel reads (the subscriber, the time filter, the type filter, the location): one block per day. */
const CORE: readonly [ColumnName, number][] = [
  ['sub', 4],
  ['t', 4],
  ['cell', 4],
  ['kind', 1],
];

/** Bytes the Heap hands out for `n` rows of `bytes` bytes (its rounding), so a day's need is known before it is read. */
function blockBytes(n: number, bytes: number): number {
  return Math.max(ALIGN, Math.ceil((n * bytes) / ALIGN) * ALIGN);
}

/** What a resident day holds and who is reading it. */
interface Resident {
  day: LoadedDay;
  /** Heap bytes of its column blocks. */
  bytes: number;
  /** Running steps reading it: a pinned day is never evicted. */
  pins: number;
}

/** The buffer pool's counters, since the engine opened (a new store version starts at zero). */
export interface PoolStats {
  /** Heap bytes of the resident day columns now. */
  residentBytes: number;
  /** The most resident bytes ever held at once. */
  peakBytes: number;
  /** The budget resident bytes never pass. */
  budgetBytes: number;
  /** Day blocks (a day's core columns, or one optional column of a day) found resident when a step asked. */
  hits: number;
  /** Day blocks read from disk when a step asked. */
  misses: number;
  /** Days evicted to make room. */
  evictions: number;
  /** Days resident now. */
  days: number;
  /** Bytes read from the store's column files. */
  bytesRead: number;
}

/** The default budget of resident day columns: 3 GiB leaves room in a wasm32 memory for task scratch and tables. */
export const DEFAULT_RESIDENT_BYTES = 3 * 2 ** 30;

export class LoadedStore {
  readonly units: Units;
  readonly nParts: number;
  /** Partition of each global subscriber index. */
  readonly partOf: Uint8Array;
  /** Partition-local index of each global subscriber index. */
  readonly localOf: Uint32Array;
  /** Subscribers per partition. */
  readonly partSizes: number[];
  /** Every day the store holds (day number -> date), ascending: what a plan may ask for. */
  readonly storeDays = new Map<number, string>();
  /** Resident days, least recently used first (a Map keeps insertion order: a use moves a day to the end). */
  private readonly resident = new Map<number, Resident>();
  /** Steps waiting for pinned days of other steps to be released before theirs fit the budget. */
  private waiters: (() => void)[] = [];
  private residentTotal = 0;
  private peak = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private readonly tables = new Map<string, Map<number, Ptr>>();
  private readonly owned: Ptr[] = [];
  private readonly coordCache = new Map<number, { lon: Ptr; lat: Ptr }>();
  private globalPtr: Ptr | null = null;
  private lonLatCache: { lon: Ptr; lat: Ptr; n: number } | null = null;
  private partOfPtr: Ptr | null = null;
  private localOfPtr: Ptr | null = null;

  constructor(
    readonly store: Store,
    readonly heap: Heap,
    readonly kernels: Kernels,
    nParts: number,
    /** Resident day columns never pass this many bytes (DEFAULT_RESIDENT_BYTES; Infinity: no eviction). */
    readonly budget: number = DEFAULT_RESIDENT_BYTES,
  ) {
    if (!(Number.isInteger(nParts) && nParts >= 1 && nParts <= 256)) throw new RangeError(`expected 1..256 partitions, found ${nParts}`);
    if (!(budget > 0)) throw new RangeError(`expected a positive resident byte budget, found ${budget}`);
    this.nParts = nParts;
    this.units = new Units(store.dims());
    for (const date of store.days()) this.storeDays.set(dateToDay(date), date);
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

  /** Day numbers the store holds, ascending. */
  dayNumbers(): number[] {
    return [...this.storeDays.keys()];
  }

  /** A resident day (tests and benches look; steps get theirs from acquire). */
  residentDay(day: number): LoadedDay | undefined {
    return this.resident.get(day)?.day;
  }

  /** Loads every day of the store with its core columns (the whole store resident, as before the pool; benches). */
  async loadAll(): Promise<void> {
    (await this.acquire(this.dayNumbers(), []))();
  }

  /**
   * Makes `days` resident with their core columns and `optional` columns, pinned until the
   * returned release is called: a step's tasks read them meanwhile, and no other step's
   * load evicts them. Days not resident are read from disk one at a time, least recently
   * used unpinned days evicted first to keep resident bytes within the budget. When other
   * steps' pins leave too little room, this waits for their release (a step pins all its
   * days or none, so waiting never deadlocks). A step whose days alone pass the budget is
   * refused before anything is read.
   */
  async acquire(days: readonly number[], optional: readonly OptionalColumn[]): Promise<() => void> {
    const wanted = [...new Set(days)].filter((d) => this.storeDays.has(d)).sort((a, b) => a - b);
    const need = wanted.reduce((n, d) => n + this.needOf(d, optional), 0);
    if (need > this.budget) {
      const first = this.storeDays.get(wanted[0]!);
      const last = this.storeDays.get(wanted.at(-1)!);
      throw new SpecError(
        'OVER_BUDGET',
        `query window: expected its day columns to fit the resident budget of ${mib(this.budget)} (residentBytes; opalite query --resident-bytes), found ${wanted.length} day(s) ${first}..${last} needing ${mib(need)}; narrow the window or raise the budget`,
      );
    }
    for (;;) {
      // Room is what unpinned days (and free budget) give; this step's own resident days stay, as they are.
      let footprint = 0;
      for (const d of wanted) {
        const r = this.resident.get(d);
        footprint += r ? r.bytes + this.missingBytes(r, optional) : this.needOf(d, optional);
      }
      const pinnedElsewhere = [...this.resident].reduce((n, [d, r]) => n + (r.pins > 0 && !wanted.includes(d) ? r.bytes : 0), 0);
      if (pinnedElsewhere + footprint <= this.budget) break;
      // Optional columns another query left on this step's days may be what does not fit: drop those days (read again below).
      let dropped = false;
      for (const d of wanted) {
        const r = this.resident.get(d);
        if (r && r.pins === 0 && OPTIONAL.some((name) => r.day[name] !== undefined && !optional.includes(name))) {
          this.evict(d, r);
          dropped = true;
        }
      }
      if (!dropped) await new Promise<void>((wake) => this.waiters.push(wake));
    }
    const pinned: Resident[] = [];
    const release = () => {
      for (const r of pinned.splice(0)) r.pins--;
      // Every waiter checks again; those that still do not fit wait again.
      for (const wake of this.waiters.splice(0)) wake();
    };
    try {
      // Pin what is resident first, so that loading the others never evicts it.
      for (const d of wanted) {
        const r = this.resident.get(d);
        if (!r) continue;
        r.pins++;
        pinned.push(r);
        this.touch(d, r);
      }
      for (const d of wanted) {
        let r = this.resident.get(d);
        if (r) {
          const missing = optional.filter((name) => r!.day[name] === undefined);
          this.hits += 1 + optional.length - missing.length;
          if (missing.length === 0) continue;
          this.makeRoom(missing.reduce((n, name) => n + blockBytes(r!.day.n, OPTIONAL_BYTES[name]), 0));
          this.misses += missing.length;
          this.addColumns(r, missing);
          continue;
        }
        this.makeRoom(this.needOf(d, optional));
        this.misses += 1 + optional.length;
        r = this.loadDay(this.storeDays.get(d)!, optional);
        r.pins++;
        pinned.push(r);
      }
    } catch (e) {
      release();
      throw e;
    }
    return release;
  }

  /** Partition p's rows of `days` (resident and pinned by the caller's acquire). */
  ranges(p: number, days: readonly number[]): Record<number, DayRange> {
    const out: Record<number, DayRange> = {};
    for (const day of days) {
      const d = this.resident.get(day)?.day;
      if (!d) continue; // a day the store does not hold
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

  stats(): PoolStats {
    return {
      residentBytes: this.residentTotal,
      peakBytes: this.peak,
      budgetBytes: this.budget,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      days: this.resident.size,
      bytesRead: this.store.bytesRead,
    };
  }

  /** Evicts every unpinned day (a retired store version gives its memory back to the free list). */
  evictUnpinned(): void {
    for (const [d, r] of [...this.resident]) if (r.pins === 0) this.evict(d, r);
  }

  /** Heap bytes `day` needs resident: its core columns and `optional` ones. */
  private needOf(day: number, optional: readonly OptionalColumn[]): number {
    const n = this.store.day(this.storeDays.get(day)!).rows;
    return CORE.reduce((sum, [, b]) => sum + blockBytes(n, b), 0) + optional.reduce((sum, name) => sum + blockBytes(n, OPTIONAL_BYTES[name]), 0);
  }

  /** Heap bytes of the `optional` columns a resident day lacks. */
  private missingBytes(r: Resident, optional: readonly OptionalColumn[]): number {
    return optional.reduce((sum, name) => sum + (r.day[name] === undefined ? blockBytes(r.day.n, OPTIONAL_BYTES[name]) : 0), 0);
  }

  /** Evicts least recently used unpinned days until `bytes` more fit the budget (acquire checked they can). */
  private makeRoom(bytes: number): void {
    for (const [d, r] of this.resident) {
      if (this.residentTotal + bytes <= this.budget) return;
      if (r.pins === 0) this.evict(d, r);
    }
    if (this.residentTotal + bytes > this.budget) {
      throw new Error(`buffer pool: expected room for ${bytes} bytes within ${this.budget}, found ${this.residentTotal} pinned`);
    }
  }

  private evict(day: number, r: Resident, counted = true): void {
    const d = r.day;
    for (const ptr of [d.sub, d.t, d.cell, d.kind, d.peer, d.recharge, d.duration]) if (ptr !== undefined) this.heap.release(ptr);
    this.resident.delete(day);
    this.residentTotal -= r.bytes;
    if (counted) this.evictions++;
  }

  private touch(day: number, r: Resident): void {
    this.resident.delete(day);
    this.resident.set(day, r);
  }

  private account(r: Resident, ptr: Ptr): Ptr {
    const bytes = this.heap.sizeOf(ptr);
    r.bytes += bytes;
    this.residentTotal += bytes;
    this.peak = Math.max(this.peak, this.residentTotal);
    return ptr;
  }

  /** partOf and localOf in the shared memory, for partitionDay and localise (5 bytes a subscriber, kept). */
  private subscriberMaps(): { partOf: Ptr; localOf: Ptr } {
    if (this.partOfPtr === null) this.partOfPtr = this.own(this.heap.put(this.partOf.length ? this.partOf : new Uint8Array(1)));
    if (this.localOfPtr === null) this.localOfPtr = this.own(this.heap.put(this.localOf.length ? this.localOf : new Uint32Array(1)));
    return { partOf: this.partOfPtr, localOf: this.localOfPtr };
  }

  /**
   * Reads a day's core columns (and `optional` ones) and lays them out partition by
   * partition; the raw columns, the permutation and the histogram are scratch, freed
   * before this returns (one day's worth, beside the budget).
   */
  private loadDay(date: string, optional: readonly OptionalColumn[]): Resident {
    const { heap, kernels } = this;
    const n = this.store.day(date).rows;
    const day = dateToDay(date);
    const { partOf, localOf } = this.subscriberMaps();
    const raw = new Map<ColumnName, Ptr>();
    const temps: Ptr[] = [];
    const kept: Ptr[] = [];
    try {
      for (const [name, bytes] of CORE) {
        const ptr = heap.alloc(Math.max(n * bytes, 1));
        temps.push(ptr);
        this.store.readColumn(date, name, { target: heap.u8(ptr, n * bytes), verify: true });
        raw.set(name, ptr);
      }
      const perm = heap.alloc(Math.max(4 * n, 1));
      const offsets = heap.alloc(4 * (this.nParts + 1));
      const hist = heap.alloc(kernels.partitionHistogramBytes(this.nParts, n));
      temps.push(perm, offsets, hist);
      kernels.partitionDay({ n, sub: raw.get('sub')!, t: raw.get('t')! }, day * SECONDS_PER_DAY, { partOf, nSubs: this.nSubs, nParts: this.nParts }, hist, perm, offsets);
      const r: Resident = { day: undefined as unknown as LoadedDay, bytes: 0, pins: 0 };
      const block = (bytes: number) => {
        const ptr = heap.alloc(Math.max(bytes * n, 1));
        kept.push(ptr);
        return this.account(r, ptr);
      };
      r.day = {
        date,
        day,
        n,
        offsets: heap.u32(offsets, this.nParts + 1).slice(),
        sub: block(4),
        t: block(4),
        cell: block(4),
        kind: block(1),
      };
      kernels.localise(raw.get('sub')!, perm, localOf, r.day.sub, n);
      kernels.gather32(raw.get('t')!, perm, r.day.t, n);
      kernels.gather32(raw.get('cell')!, perm, r.day.cell, n);
      kernels.gather8(raw.get('kind')!, perm, r.day.kind, n);
      for (const name of optional) r.day[name] = this.gatherColumn(date, name, perm, n, (bytes) => block(bytes));
      this.resident.set(day, r);
      kept.length = 0;
      return r;
    } finally {
      // A failed load (a corrupt column) gives back what it took, so the budget's count stays true.
      for (const ptr of kept) {
        this.residentTotal -= heap.sizeOf(ptr);
        heap.release(ptr);
      }
      for (const ptr of temps) heap.release(ptr);
    }
  }

  /**
   * Adds optional columns to a resident day, in its partitioned row order: the
   * permutation is recomputed from the stored sub and t columns (cheap, and it
   * saves keeping 4 bytes per event resident for queries that never need it).
   */
  private addColumns(r: Resident, names: readonly OptionalColumn[]): void {
    const { heap, kernels } = this;
    const d = r.day;
    const n = d.n;
    const { partOf } = this.subscriberMaps();
    const temps: Ptr[] = [];
    try {
      const sub = heap.alloc(Math.max(4 * n, 1));
      const t = heap.alloc(Math.max(4 * n, 1));
      const perm = heap.alloc(Math.max(4 * n, 1));
      const offsets = heap.alloc(4 * (this.nParts + 1));
      const hist = heap.alloc(kernels.partitionHistogramBytes(this.nParts, n));
      temps.push(sub, t, perm, offsets, hist);
      this.store.readColumn(d.date, 'sub', { target: heap.u8(sub, 4 * n) });
      this.store.readColumn(d.date, 't', { target: heap.u8(t, 4 * n) });
      kernels.partitionDay({ n, sub, t }, d.day * SECONDS_PER_DAY, { partOf, nSubs: this.nSubs, nParts: this.nParts }, hist, perm, offsets);
      for (const name of names) {
        d[name] = this.gatherColumn(d.date, name, perm, n, (bytes) => this.account(r, heap.alloc(Math.max(bytes * n, 1))));
      }
    } finally {
      for (const ptr of temps) heap.release(ptr);
    }
  }

  /** Reads an optional column (checked) and gathers it into a block from `alloc`, in the partitioned order `perm`. */
  private gatherColumn(date: string, name: OptionalColumn, perm: Ptr, n: number, alloc: (bytes: number) => Ptr): Ptr {
    const { heap, kernels } = this;
    const bytes = OPTIONAL_BYTES[name];
    const raw = heap.alloc(Math.max(bytes * n, 1));
    try {
      this.store.readColumn(date, name, { target: heap.u8(raw, bytes * n), verify: true });
      const dst = alloc(bytes);
      if (bytes === 8) kernels.gather64(raw, perm, dst, n);
      else kernels.gather32(raw, perm, dst, n);
      return dst;
    } finally {
      heap.release(raw);
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

  /** Bytes of shared memory the resident day columns and the kept tables hold. */
  residentBytes(): number {
    return this.residentTotal + this.owned.reduce((n, p) => n + this.heap.sizeOf(p), 0);
  }

  release(): void {
    for (const [d, r] of [...this.resident]) this.evict(d, r, false);
    for (const ptr of this.owned.splice(0)) this.heap.release(ptr);
    this.tables.clear();
    this.coordCache.clear();
    this.globalPtr = null;
    this.lonLatCache = null;
    this.partOfPtr = null;
    this.localOfPtr = null;
  }

  private own(ptr: Ptr): Ptr {
    this.owned.push(ptr);
    return ptr;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
