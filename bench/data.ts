/**
 * Seeded synthetic CDR columns for the kernel benchmarks, and their loading into
 * one shared Heap the way server/engine/loader.ts loads a store: each day's raw
 * columns (ingest order) through partitionDay, then localise and the gathers into
 * partition-grouped, time-sorted columns with partition-local subscribers.
 *
 * The data is shaped like the generator's (server/generate), without its cost:
 * subscribers with a home, a work place and a few other cells, a heavy-tailed
 * activity, a few contacts each; a daily rhythm; a small share of events with no
 * cell, on cells without a valid version that day, or on cells outside every
 * region. Rows of a day are in random time order, as an unsorted export would be.
 */
import { DIR_IN, DIR_OUT, DIR_UNKNOWN, NULL_U32, SECONDS_PER_DAY, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../kernels/shared/constants.js';
import { Rng, mix32 } from '../server/generate/prng.js';
import type { Heap, Ptr } from '../server/wasm/memory.js';
import type { CoordTable, PeerColumns, RechargeColumns } from '../server/engine/metric-kernels.js';
import type { CoordLocator, RefMetricEvent } from '../test/reference/metrics.js';
import type { Locator } from '../test/reference/events.js';
import type { EventColumns, Kernels, LocTable } from '../server/engine/wasm.js';

/** 2016-01-01 in days since 1970, the first day of every synthetic dataset. */
export const FIRST_DAY = 16801;

export interface SynthOptions {
  rows: number;
  days: number;
  subscribers: number;
  cells: number;
  locations: number;
  seed: string;
}

/** One day's columns in ingest order, as the store holds them (sub = global subscriber index). */
export interface RawDay {
  day: number;
  n: number;
  sub: Uint32Array;
  t: Uint32Array;
  cell: Uint32Array;
  kind: Uint8Array;
  /** Counterpart's global subscriber index, NULL_U32 none. */
  peer: Uint32Array;
  /** Top-up amount, NaN none. */
  recharge: Float64Array;
}

export interface Synthetic {
  nSubs: number;
  nCells: number;
  nLocs: number;
  days: RawDay[];
  /** Per day, cell -> location (>= 0), -2 no valid version that day, -3 outside every region. */
  locTables: Int32Array[];
  /** Per day, cell -> degrees; NaN where the cell has no valid version that day. */
  lon: Float64Array[];
  lat: Float64Array[];
}

/** Relative activity by hour of day: quiet nights, a morning and an evening peak. */
const HOURLY = [1, 0.6, 0.4, 0.3, 0.4, 0.8, 2, 4, 6, 7, 7, 7, 8, 7, 7, 7, 7, 8, 9, 9, 8, 6, 4, 2];
const AMOUNTS = [100, 200, 500, 500, 1000, 1000, 2000, 5000];

/** A seeded dataset of about `rows` events; the same options give the same columns. */
export function synthesise(o: SynthOptions): Synthetic {
  const { days: nDays, subscribers: nSubs, cells: nCells, locations: nLocs } = o;
  const geo = Rng.derive(o.seed, 'geography');
  const centres = Array.from({ length: nLocs }, () => ({ lon: geo.range(29, 31), lat: geo.range(-2.8, -1) }));
  // Cells crowd into some locations (towns) more than others.
  const locWeight = cumulative(Array.from({ length: nLocs }, () => geo.logNormal(1, 1)));
  const cellLoc = new Int32Array(nCells);
  const cellLon = new Float64Array(nCells);
  const cellLat = new Float64Array(nCells);
  for (let c = 0; c < nCells; c++) {
    const l = geo.pickCumulative(locWeight);
    cellLoc[c] = l;
    cellLon[c] = centres[l]!.lon + geo.range(-0.05, 0.05);
    cellLat[c] = centres[l]!.lat + geo.range(-0.05, 0.05);
  }
  const outside = new Uint8Array(nCells).map(() => (geo.chance(0.01) ? 1 : 0));
  const locTables: Int32Array[] = [];
  const lon: Float64Array[] = [];
  const lat: Float64Array[] = [];
  for (let d = 0; d < nDays; d++) {
    const versions = Rng.derive(o.seed, 'versions', d);
    const table = new Int32Array(nCells);
    const lo = new Float64Array(nCells);
    const la = new Float64Array(nCells);
    for (let c = 0; c < nCells; c++) {
      const invalid = versions.chance(0.01);
      table[c] = invalid ? -2 : outside[c] ? -3 : cellLoc[c]!;
      lo[c] = invalid ? NaN : cellLon[c]!;
      la[c] = invalid ? NaN : cellLat[c]!;
    }
    locTables.push(table);
    lon.push(lo);
    lat.push(la);
  }

  const people = Rng.derive(o.seed, 'subscribers');
  const activity = cumulative(Array.from({ length: nSubs }, () => people.logNormal(1, 0.9)));
  const home = new Uint32Array(nSubs);
  const work = new Uint32Array(nSubs);
  const OTHERS = 3;
  const others = new Uint32Array(nSubs * OTHERS);
  const contactStart = new Uint32Array(nSubs + 1);
  const contacts: number[] = [];
  for (let s = 0; s < nSubs; s++) {
    home[s] = people.int(nCells);
    work[s] = people.chance(0.3) ? home[s]! : people.int(nCells);
    for (let j = 0; j < OTHERS; j++) others[s * OTHERS + j] = people.int(nCells);
    const k = 1 + Math.floor(9 * people.next() ** 2);
    for (let j = 0; j < k; j++) contacts.push(people.int(nSubs));
    contactStart[s + 1] = contacts.length;
  }
  const hours = cumulative(HOURLY);

  const perDay = Math.floor(o.rows / nDays);
  const days: RawDay[] = [];
  for (let d = 0; d < nDays; d++) {
    const r = Rng.derive(o.seed, 'events', d);
    const n = d < nDays - 1 ? perDay : o.rows - perDay * (nDays - 1);
    const day = FIRST_DAY + d;
    const raw: RawDay = {
      day, n,
      sub: new Uint32Array(n), t: new Uint32Array(n), cell: new Uint32Array(n), kind: new Uint8Array(n),
      peer: new Uint32Array(n), recharge: new Float64Array(n),
    };
    for (let i = 0; i < n; i++) {
      const s = r.pickCumulative(activity);
      const hour = r.pickCumulative(hours);
      const night = hour < 7 || hour >= 20;
      const u = r.next();
      const cell = u < 0.01 ? NULL_U32
        : night
          ? u < 0.75 ? home[s]! : u < 0.95 ? others[s * OTHERS + r.int(OTHERS)]! : r.int(nCells)
          : u < 0.35 ? home[s]! : u < 0.7 ? work[s]! : u < 0.93 ? others[s * OTHERS + r.int(OTHERS)]! : r.int(nCells);
      const v = r.next();
      const type = v < 0.45 ? TYPE_CALLS : v < 0.8 ? TYPE_SMS : v < 0.95 ? TYPE_MDS : TYPE_TOPUPS;
      const talk = type === TYPE_CALLS || type === TYPE_SMS;
      const w = r.next();
      const c0 = contactStart[s]!;
      const nContacts = contactStart[s + 1]! - c0;
      raw.sub[i] = s;
      raw.t[i] = day * SECONDS_PER_DAY + hour * 3600 + r.int(3600);
      raw.cell[i] = cell;
      raw.kind[i] = type | ((talk ? (r.chance(0.5) ? DIR_OUT : DIR_IN) : DIR_UNKNOWN) << 2);
      raw.peer[i] = !talk || w < 0.02 ? NULL_U32 : w < 0.03 ? s : contacts[c0 + Math.floor(r.next() ** 2 * nContacts)]!;
      raw.recharge[i] = type !== TYPE_TOPUPS || w < 0.05 ? NaN : w < 0.9 ? AMOUNTS[r.int(AMOUNTS.length)]! : Math.round(r.range(50, 5000));
    }
    days.push(raw);
  }
  return { nSubs, nCells, nLocs, days, locTables, lon, lat };
}

/**
 * The first `count` subscribers (by global index) and all their rows, in the same
 * ingest order: a whole-history sample, so per-subscriber work per event is as in
 * the full dataset. Subscriber indexes are unchanged (they are < count).
 */
export function subsample(ds: Synthetic, count: number): Synthetic {
  const days = ds.days.map((d): RawDay => {
    const keep: number[] = [];
    for (let i = 0; i < d.n; i++) if (d.sub[i]! < count) keep.push(i);
    const pick = <T extends Uint32Array | Uint8Array | Float64Array>(a: T, make: new (n: number) => T): T => {
      const out = new make(keep.length);
      keep.forEach((row, j) => (out[j] = a[row]!));
      return out;
    };
    return {
      day: d.day, n: keep.length,
      sub: pick(d.sub, Uint32Array), t: pick(d.t, Uint32Array), cell: pick(d.cell, Uint32Array), kind: pick(d.kind, Uint8Array),
      peer: pick(d.peer, Uint32Array), recharge: pick(d.recharge, Float64Array),
    };
  });
  return { ...ds, nSubs: count, days };
}

/** Subscribers spread over partitions by a fixed hash, local indexes in global order (as the loader does with pseudonyms). */
export interface Partitioning {
  nParts: number;
  partOf: Uint8Array;
  localOf: Uint32Array;
  /** Per partition, local index -> global index. */
  globalOf: Uint32Array[];
}

export function partitioning(nSubs: number, nParts: number): Partitioning {
  const partOf = new Uint8Array(nSubs);
  const localOf = new Uint32Array(nSubs);
  const sizes = new Array<number>(nParts).fill(0);
  for (let g = 0; g < nSubs; g++) {
    const p = mix32(g ^ 0x5bd1e995) % nParts;
    partOf[g] = p;
    localOf[g] = sizes[p]!++;
  }
  const globalOf = sizes.map((size) => new Uint32Array(size));
  for (let g = 0; g < nSubs; g++) globalOf[partOf[g]!]![localOf[g]!] = g;
  return { nParts, partOf, localOf, globalOf };
}

/** A day in the heap: its raw columns (kept, for the load benchmark) and the loaded, partition-sorted ones. */
export interface HeapDay {
  day: number;
  n: number;
  raw: { sub: Ptr; t: Ptr; cell: Ptr; kind: Ptr };
  /** Row offsets of each partition, P + 1 entries. */
  offsets: Uint32Array;
  sub: Ptr;
  t: Ptr;
  cell: Ptr;
  kind: Ptr;
  peer: Ptr;
  recharge: Ptr;
  loc: LocTable;
  coords: CoordTable;
}

/** A synthetic dataset loaded into the heap as the engine's loader would, plus its reference view. */
export class HeapSet {
  readonly parts: Partitioning;
  readonly days: HeapDay[];
  /** partOf (u8 per global sub) and localOf (u32 per global sub) in the heap, as partitionDay and localise read them. */
  readonly partOfPtr: Ptr;
  readonly localOfPtr: Ptr;
  /** Per partition, u32 global index per local subscriber (ContactTable's excludeSelf reads it). */
  readonly globalOfPtr: Ptr[];
  readonly rows: number;
  private refDays: RefMetricEvent[][] | null = null;

  constructor(readonly k: Kernels, readonly heap: Heap, readonly ds: Synthetic, nParts: number) {
    this.parts = partitioning(ds.nSubs, nParts);
    this.partOfPtr = heap.put(this.parts.partOf.length ? this.parts.partOf : new Uint8Array(1));
    this.localOfPtr = heap.put(this.parts.localOf.length ? this.parts.localOf : new Uint32Array(1));
    this.globalOfPtr = this.parts.globalOf.map((g) => heap.put(g.length ? g : new Uint32Array(1)));
    const hist = heap.alloc(k.partitionHistogramBytes(nParts, Math.max(0, ...ds.days.map((d) => d.n))));
    this.days = ds.days.map((d, i) => this.load(d, i, hist));
    heap.release(hist);
    this.rows = this.days.reduce((n, d) => n + d.n, 0);
  }

  get nSubs(): number {
    return this.ds.nSubs;
  }
  get nLocs(): number {
    return this.ds.nLocs;
  }
  get nParts(): number {
    return this.parts.nParts;
  }
  nLocal(p: number): number {
    return this.parts.globalOf[p]!.length;
  }

  /** Partition p's rows of a day. */
  range(d: HeapDay, p: number): EventColumns {
    const start = d.offsets[p]!;
    return { n: d.offsets[p + 1]! - start, sub: d.sub + 4 * start, t: d.t + 4 * start, cell: d.cell + 4 * start, kind: d.kind + start };
  }
  peerRange(d: HeapDay, p: number): PeerColumns {
    return { ...this.range(d, p), peer: d.peer + 4 * d.offsets[p]! };
  }
  rechargeRange(d: HeapDay, p: number): RechargeColumns {
    return { ...this.range(d, p), recharge: d.recharge + 8 * d.offsets[p]! };
  }
  /** Rows of partition p over every day. */
  partRows(p: number): number {
    return this.days.reduce((n, d) => n + d.offsets[p + 1]! - d.offsets[p]!, 0);
  }

  /** The reference's events: one array per day, ingest order (JS objects: build for a subsample only). */
  refEventsByDay(): RefMetricEvent[][] {
    this.refDays ??= this.ds.days.map((d) =>
      Array.from({ length: d.n }, (_, i): RefMetricEvent => ({
        sub: d.sub[i]!, t: d.t[i]!, cell: d.cell[i]!, kind: d.kind[i]!, peer: d.peer[i]!, recharge: d.recharge[i]!,
      })),
    );
    return this.refDays;
  }
  /** Every day's reference events, days in date order, each in ingest order. */
  refEvents(): RefMetricEvent[] {
    return this.refEventsByDay().flat();
  }

  locator(): Locator {
    const first = this.ds.days[0]!.day;
    return (cell, day) => (cell < this.ds.nCells ? this.ds.locTables[day - first]![cell]! : -1);
  }
  coordLocator(): CoordLocator {
    const first = this.ds.days[0]!.day;
    return (cell, day) => {
      if (cell >= this.ds.nCells) return -1;
      const lon = this.ds.lon[day - first]![cell]!;
      const lat = this.ds.lat[day - first]![cell]!;
      return Number.isNaN(lon) || Number.isNaN(lat) ? -2 : { lon, lat };
    };
  }

  /** loader.ts loadDay, plus ensureColumns' peer and recharge gathers. */
  private load(d: RawDay, i: number, hist: Ptr): HeapDay {
    const { heap, k } = this;
    const n = d.n;
    const raw = { sub: heap.put(d.sub), t: heap.put(d.t), cell: heap.put(d.cell), kind: heap.put(d.kind) };
    const rawPeer = heap.put(d.peer);
    const rawRecharge = heap.put(d.recharge);
    const perm = heap.alloc(Math.max(4 * n, 1));
    const offsets = heap.alloc(4 * (this.parts.nParts + 1));
    k.partitionDay(
      { n, sub: raw.sub, t: raw.t }, d.day * SECONDS_PER_DAY, { partOf: this.partOfPtr, nSubs: this.nSubs, nParts: this.parts.nParts }, hist, perm, offsets,
    );
    const out = {
      sub: heap.alloc(Math.max(4 * n, 1)), t: heap.alloc(Math.max(4 * n, 1)), cell: heap.alloc(Math.max(4 * n, 1)), kind: heap.alloc(Math.max(n, 1)),
      peer: heap.alloc(Math.max(4 * n, 1)), recharge: heap.alloc(Math.max(8 * n, 1)),
    };
    k.localise(raw.sub, perm, this.localOfPtr, out.sub, n);
    k.gather32(raw.t, perm, out.t, n);
    k.gather32(raw.cell, perm, out.cell, n);
    k.gather8(raw.kind, perm, out.kind, n);
    k.gather32(rawPeer, perm, out.peer, n);
    k.gather64(rawRecharge, perm, out.recharge, n);
    const day: HeapDay = {
      day: d.day,
      n,
      raw,
      offsets: heap.u32(offsets, this.parts.nParts + 1).slice(),
      ...out,
      loc: { loc: heap.put(this.ds.locTables[i]!), nCells: this.ds.nCells },
      coords: { lon: heap.put(this.ds.lon[i]!), lat: heap.put(this.ds.lat[i]!), nCells: this.ds.nCells },
    };
    for (const ptr of [rawPeer, rawRecharge, perm, offsets]) heap.release(ptr);
    return day;
  }
}

function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => (out[i] = sum += w));
  return out;
}
