/**
 * The engine's binding of the kernel module (dist/kernels/opalite.wasm, loaded by
 * wasm/module.ts): instantiates it on a shared memory, and wraps each export in a typed function.
 * This is the only place that turns a kernel status code into a KernelError.
 *
 * The module imports only `env.memory` and holds no data of its own, so the one
 * compiled Module can be instantiated any number of times on the same memory
 * (one instance per worker thread); instances share nothing but that memory.
 */
import { STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK } from '../../kernels/shared/constants.js';
import { KernelError } from '../errors.js';
import type { Allocator } from '../wasm/arena.js';
import { GrowingTable } from '../wasm/growing.js';
import type { Ptr } from '../wasm/memory.js';
import { loadKernelModule } from '../wasm/module.js';

/** The module's exports as asc declares them in dist/kernels/opalite.d.ts (npm run build:kernels, raw bindings). */
type ModuleExports = Awaited<ReturnType<typeof import('../../dist/kernels/opalite.js').instantiate>>;

/**
 * The query kernels the engine calls, with the signatures asc generates from their
 * AssemblyScript (u32 and usize are numbers): a kernel's signature is written once, in
 * kernels/, and a change there that the host does not follow fails the build here.
 */
export type RawKernels = Pick<ModuleExports, (typeof EXPORTS)[number]>;

const EXPORTS = [
  'partitionDay', 'partitionHistogramBytes', 'gather8', 'gather32', 'gather64', 'localise',
  'tableBytes', 'tableClear', 'tableRehash', 'tableUsed', 'tableConsumed',
  'lastLocation', 'countLocations', 'pickMostCommon', 'pickMostDays', 'tableKeys', 'tableEvents',
  'countByLocation', 'countPairs', 'countEventsByBucket', 'markSubLocations', 'countSubLocations', 'gatherLocated', 'mostCommonScratchBytes', 'mostCommonBySub', 'modalLocation', 'majorityLocation', 'coalesceLocation',
  'eventCountBytes', 'countEvents', 'finishEventCount', 'nocturnalBytes', 'countNocturnal', 'finishNocturnal',
  'activePeriodsBytes', 'countActivePeriods', 'finishActivePeriods',
  'gyrationBytes', 'gyrationSums', 'gyrationCentroids', 'gyrationSpread', 'finishGyration',
  'displacementValues', 'topupValues', 'countPerSub',
  'contactTableBytes', 'contactTableClear', 'contactTableRehash', 'contactTableUsed', 'contactTableConsumed', 'countContacts', 'finishDegree',
  'paretoScratchBytes', 'finishPareto',
  'groupStatsBytes', 'groupOffsetsBytes', 'groupSums', 'groupSpread', 'groupFinish', 'groupOrder', 'groupFinishOrdered', 'groupPairs', 'histogram',
  'visitTableBytes', 'visitTableClear', 'visitTableRehash', 'visitTableUsed', 'visitTableConsumed', 'countVisits', 'tripsScratchBytes', 'countTrips',
  'countConsecutivePairs', 'countConsecutiveTrips', 'unmovingCounts', 'unmovingAtReferenceCounts', 'activeAtReferenceCounts',
  'keySetBytes', 'keySetClear', 'keySetRehash', 'keySetUsed', 'keySetConsumed', 'countEventsAndSubscribersByBucket',
  'cellBitsBytes', 'markCellsByPeriod', 'orBits', 'countCellsByPeriod',
  'meaningfulTableBytes', 'meaningfulTableClear', 'meaningfulTableRehash', 'meaningfulTableUsed', 'meaningfulTableConsumed',
  'meaningfulAccumulate', 'meaningfulEntries',
] as const satisfies readonly (keyof ModuleExports)[];

/** One (day, partition) range of loaded columns: sub u32 (local), t u32, cell u32, kind u8. */
export interface EventColumns {
  n: number;
  sub: Ptr;
  t: Ptr;
  cell: Ptr;
  kind: Ptr;
}

/** Which events qualify: type bits, the half-open window [tStart, tEnd) in local seconds, hour bits. */
export interface KernelFilter {
  typeMask: number;
  tStart: number;
  tEnd: number;
  hourMask: number;
}

/** A day's cell -> location table (i32[nCells]: location >= 0, -2 unknown / no valid version, -3 outside). */
export interface LocTable {
  loc: Ptr;
  nCells: number;
}

/** Drop counters of located kernels: u32[4], [1] no cell, [2] unknown / no valid version, [3] outside. */
export const DROP_BYTES = 16;

/** All 24 hours. */
export const ALL_HOURS = 0xffffff;

/**
 * The spec's hours rule as a mask: s <= e keeps hours [s, e); s > e wraps past
 * midnight, keeping [0, e) and [s, 24). Hours are integers in 0..24.
 */
export function hourMaskOf(startHour: number, endHour: number): number {
  for (const [name, h] of [['start_hour', startHour], ['end_hour', endHour]] as const) {
    if (!(Number.isInteger(h) && h >= 0 && h <= 24)) throw new RangeError(`expected ${name} an integer in 0..24, found ${h}`);
  }
  const upTo = (h: number) => (h >= 24 ? ALL_HOURS : (1 << h) - 1); // bits [0, h)
  return startHour <= endHour ? upTo(endHour) & ~upTo(startHour) : (upTo(endHour) | (ALL_HOURS & ~upTo(startHour))) >>> 0;
}

/** Type bits from event type codes (TYPE_CALLS ...). */
export function typeMaskOf(types: readonly number[]): number {
  return types.reduce((mask, type) => mask | (1 << type), 0);
}

const errors = {
  badArgument: (kernel: string, expected: string) =>
    new KernelError('BAD_ARGUMENT', `${kernel}: expected ${expected}; the kernel rejected its arguments`),
  capacity: (kernel: string, expected: string) =>
    new KernelError('CAPACITY', `${kernel}: expected ${expected}; the table is too small`),
  badStatus: (kernel: string, status: number) =>
    new KernelError('BAD_STATUS', `${kernel}: expected a status code ${STATUS_OK}-${STATUS_BAD_ARGUMENT}, found ${status}`),
  staleModule: (missing: readonly string[]) =>
    new KernelError('MODULE_STALE', `kernel module: expected exports ${missing.join(', ')}, found none (rebuild with npm run build:kernels)`),
  badLocTable: (kernel: string, count: number) =>
    new KernelError(
      'BAD_ARGUMENT',
      `${kernel}: expected location codes >= -3 in the cell table, found ${count} events on cells with other negative codes`,
    ),
};

/** Window bounds cross into wasm as u32: 2^32 would silently wrap to 0. */
export function checkFilter(kernel: string, f: KernelFilter): void {
  for (const [name, v] of [['tStart', f.tStart], ['tEnd', f.tEnd]] as const) {
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw errors.badArgument(kernel, `${name} an integer in [0, 2^32), found ${v}`);
  }
}

/** Throws the KernelError for a status other than OK; `expected` says what the kernel checks. */
export function check(kernel: string, status: number, expected: string): void {
  if (status === STATUS_OK) return;
  if (status === STATUS_BAD_ARGUMENT) throw errors.badArgument(kernel, expected);
  if (status === STATUS_CAPACITY) throw errors.capacity(kernel, expected);
  throw errors.badStatus(kernel, status);
}

/** Kernels count events with malformed location codes in drops[0] rather than writing out of bounds. */
export function checkDrops(kernel: string, memory: WebAssembly.Memory, drops: Ptr): void {
  const malformed = new Uint32Array(memory.buffer, drops, 1)[0];
  if (malformed !== 0) throw errors.badLocTable(kernel, malformed);
}

/** Typed wrappers of one instance's exports. */
export class Kernels {
  /** The raw exports, for the typed wrappers of each family (wrappers check statuses; callers use those). */
  readonly raw: RawKernels;

  constructor(readonly memory: WebAssembly.Memory, module: WebAssembly.Module = loadKernelModule()) {
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    // The module is a build artifact: a stale one fails here, not mid-query.
    const missing = EXPORTS.filter((name) => typeof instance.exports[name] !== 'function');
    if (missing.length > 0) throw errors.staleModule(missing);
    this.raw = instance.exports as unknown as RawKernels;
  }

  /** Scratch bytes partitionDay needs for nParts partitions and days of up to maxRows rows. */
  partitionHistogramBytes(nParts: number, maxRows: number): number {
    return this.raw.partitionHistogramBytes(nParts, maxRows) >>> 0;
  }

  /**
   * A day's raw rows (global sub, t) -> perm (u32[n]: rows by partition, then t, then
   * row) and offsets (u32[nParts + 1]). partOf: u8 per global subscriber.
   */
  partitionDay(
    rows: { n: number; sub: Ptr; t: Ptr },
    dayStart: number,
    parts: { partOf: Ptr; nSubs: number; nParts: number },
    hist: Ptr,
    perm: Ptr,
    offsets: Ptr,
  ): void {
    const status = this.raw.partitionDay(rows.n, rows.sub, rows.t, dayStart, parts.partOf, parts.nSubs, parts.nParts, hist, perm, offsets);
    check('partitionDay', status, `nParts in 1..256, every sub < ${parts.nSubs} with partOf < ${parts.nParts}, and t in [${dayStart}, ${dayStart + 86400})`);
  }

  gather8(src: Ptr, perm: Ptr, dst: Ptr, n: number): void {
    this.raw.gather8(src, perm, dst, n);
  }
  gather32(src: Ptr, perm: Ptr, dst: Ptr, n: number): void {
    this.raw.gather32(src, perm, dst, n);
  }
  gather64(src: Ptr, perm: Ptr, dst: Ptr, n: number): void {
    this.raw.gather64(src, perm, dst, n);
  }
  /** dst[i] = localOf[subSrc[perm[i]]]. */
  localise(subSrc: Ptr, perm: Ptr, localOf: Ptr, dst: Ptr, n: number): void {
    this.raw.localise(subSrc, perm, localOf, dst, n);
  }

  /** outLoc[sub] = location of the sub's latest located qualifying event among these rows. */
  lastLocation(ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, outLoc: Ptr, drops: Ptr): void {
    checkFilter('lastLocation', f);
    const status = this.raw.lastLocation(ev.n, ev.sub, ev.t, ev.cell, ev.kind, loc.loc, loc.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, outLoc, drops);
    check('lastLocation', status, `every sub < ${nSubs}`);
    checkDrops('lastLocation', this.memory, drops);
  }

  /**
   * Adds the rows to a location table; returns the rows consumed: ev.n, or fewer
   * when the table reached its load limit (the caller grows it and resumes there).
   */
  countLocations(ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, seqBase: number, table: Ptr, capacity: number, drops: Ptr): number {
    checkFilter('countLocations', f);
    if (!(Number.isSafeInteger(seqBase) && seqBase >= 0)) throw errors.badArgument('countLocations', `seqBase an integer in [0, 2^53), found ${seqBase}`);
    const status = this.raw.countLocations(ev.n, ev.sub, ev.t, ev.cell, ev.kind, loc.loc, loc.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, seqBase, table, capacity, drops);
    checkDrops('countLocations', this.memory, drops);
    if (status === STATUS_CAPACITY) return this.raw.tableConsumed(table) >>> 0;
    check('countLocations', status, `a table cleared for ${capacity} slots and every sub < ${nSubs}`);
    return ev.n;
  }

  pickMostCommon(table: Ptr, capacity: number, nSubs: number, outLoc: Ptr): void {
    check('pickMostCommon', this.raw.pickMostCommon(table, capacity, nSubs, outLoc), `a table of ${capacity} slots with subs < ${nSubs} and outLoc all -1`);
  }
  pickMostDays(table: Ptr, capacity: number, nSubs: number, outLoc: Ptr): void {
    check('pickMostDays', this.raw.pickMostDays(table, capacity, nSubs, outLoc), `a table of ${capacity} slots with subs < ${nSubs} and outLoc all -1`);
  }
  /** Writes each pair's located qualifying events (u32) in the slot order of tableKeys; returns their number. */
  tableEvents(table: Ptr, capacity: number, outEvents: Ptr): number {
    const count = this.raw.tableEvents(table, capacity, outEvents);
    if (count < 0) throw errors.badArgument('tableEvents', `a table cleared for ${capacity} slots`);
    return count;
  }
  /** Writes the table's (sub, loc) pairs in slot order; returns their number (tableUsed). */
  tableKeys(table: Ptr, capacity: number, outSub: Ptr, outLoc: Ptr): number {
    const count = this.raw.tableKeys(table, capacity, outSub, outLoc);
    if (count < 0) throw errors.badArgument('tableKeys', `a table cleared for ${capacity} slots`);
    return count;
  }

  tableBytes(capacity: number): number {
    return this.raw.tableBytes(capacity) >>> 0;
  }
  tableClear(table: Ptr, capacity: number): void {
    check('tableClear', this.raw.tableClear(table, capacity), `a capacity that is a power of two in [8, 2^26], found ${capacity}`);
  }
  tableRehash(src: Ptr, srcCapacity: number, dst: Ptr, dstCapacity: number): void {
    check('tableRehash', this.raw.tableRehash(src, srcCapacity, dst, dstCapacity), `room in ${dstCapacity} slots for the ${this.tableUsed(src)} entries of a table of ${srcCapacity}`);
  }
  tableUsed(table: Ptr): number {
    return this.raw.tableUsed(table) >>> 0;
  }

  /** out[loc] += subscribers whose location (i32 per sub, -1 = none) is loc. */
  countByLocation(locVec: Ptr, nSubs: number, nLocs: number, out: Ptr): void {
    check('countByLocation', this.raw.countByLocation(locVec, nSubs, nLocs, out), `locations < ${nLocs}`);
  }

  /** outLoc = modal location over k vectors (their pointers as u32[k] at `inputs`); scratch holds 8k bytes. */
  modalLocation(inputs: Ptr, k: number, nSubs: number, scratch: Ptr, outLoc: Ptr): void {
    check('modalLocation', this.raw.modalLocation(inputs, k, nSubs, scratch, outLoc), `1 <= k <= 4096 location vectors, found ${k}`);
  }

  /** bits |= (sub, loc) for each located qualifying event: distinct pairs as a bitmap of nSubs * nLocs bits. */
  markSubLocations(ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, nLocs: number, bits: Ptr, drops: Ptr): void {
    checkFilter('markSubLocations', f);
    const status = this.raw.markSubLocations(ev.n, ev.sub, ev.t, ev.cell, ev.kind, loc.loc, loc.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, nLocs, bits, drops);
    check('markSubLocations', status, `every sub < ${nSubs} and location < ${nLocs}`);
    checkDrops('markSubLocations', this.memory, drops);
  }

  /** out[loc] += subscribers with the bit (sub, loc) set. */
  countSubLocations(bits: Ptr, nSubs: number, nLocs: number, out: Ptr): void {
    check('countSubLocations', this.raw.countSubLocations(bits, nSubs, nLocs, out), 'a bitmap of nSubs * nLocs bits');
  }

  /** Appends the located qualifying events of these rows as (sub, loc) pairs; returns how many. */
  /** Appends the located qualifying events as (sub, loc), and their times if `out.t` is given; returns how many. */
  gatherLocated(ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, out: { sub: Ptr; loc: Ptr; t?: Ptr }, drops: Ptr): number {
    checkFilter('gatherLocated', f);
    const m = this.raw.gatherLocated(ev.n, ev.sub, ev.t, ev.cell, ev.kind, loc.loc, loc.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, nSubs, out.sub, out.loc, out.t ?? 0, drops);
    if (m < 0) check('gatherLocated', 2, `every sub < ${nSubs}`);
    checkDrops('gatherLocated', this.memory, drops);
    return m;
  }

  mostCommonScratchBytes(nSubs: number, nEvents: number): number {
    return this.raw.mostCommonScratchBytes(nSubs, nEvents) >>> 0;
  }

  /** outLoc[sub] = most common location of the gathered (sub, loc) events (chronological), ties to the latest. */
  mostCommonBySub(nEvents: number, pairs: { sub: Ptr; loc: Ptr }, nSubs: number, scratch: Ptr, outLoc: Ptr): void {
    check('mostCommonBySub', this.raw.mostCommonBySub(nEvents, pairs.sub, pairs.loc, nSubs, scratch, outLoc), `every sub < ${nSubs}`);
  }

  /** outLoc = the location with more than half of max(a sub's visits over k vectors, minTotal), or -1. */
  majorityLocation(inputs: Ptr, k: number, nSubs: number, minTotal: number, scratch: Ptr, outLoc: Ptr): void {
    check('majorityLocation', this.raw.majorityLocation(inputs, k, nSubs, minTotal, scratch, outLoc), `1 <= k <= 4096 location vectors, found ${k}`);
  }

  /** outLoc = preferred, else fallback when visited on at least `threshold` of the k vectors, else -1. */
  coalesceLocation(preferred: Ptr, fallback: Ptr, inputs: Ptr, k: number, nSubs: number, threshold: number, outLoc: Ptr): void {
    check('coalesceLocation', this.raw.coalesceLocation(preferred, fallback, inputs, k, nSubs, Math.max(0, threshold) >>> 0, outLoc), `k <= 4096 location vectors, found ${k}`);
  }

  /** out[from * nTo + to] += subscribers located in both vectors. */
  countPairs(fromVec: Ptr, toVec: Ptr, nSubs: number, nFrom: number, nTo: number, out: Ptr): void {
    check('countPairs', this.raw.countPairs(fromVec, toVec, nSubs, nFrom, nTo, out), `from locations < ${nFrom} and to locations < ${nTo}`);
  }

  /** out[loc * nBuckets + bucket] += located qualifying events whose direction bit is in dirMask. */
  countEventsByBucket(
    ev: Omit<EventColumns, 'sub'>,
    loc: LocTable,
    f: KernelFilter,
    dirMask: number,
    buckets: { seconds: number; base: number; count: number },
    nLocs: number,
    out: Ptr,
    drops: Ptr,
  ): void {
    checkFilter('countEventsByBucket', f);
    const status = this.raw.countEventsByBucket(
      ev.n, ev.t, ev.cell, ev.kind, loc.loc, loc.nCells, f.typeMask, f.tStart, f.tEnd, f.hourMask, dirMask,
      buckets.seconds, buckets.base, buckets.count, nLocs, out, drops,
    );
    check('countEventsByBucket', status, `bucket seconds > 0, [tStart, tEnd) within the ${buckets.count} buckets from ${buckets.base}, and locations < ${nLocs}`);
    checkDrops('countEventsByBucket', this.memory, drops);
  }
}

/** Instantiates the kernel module on `memory`; call once per thread, all on the same memory. */
export function instantiate(memory: WebAssembly.Memory, module?: WebAssembly.Module): Kernels {
  return new Kernels(memory, module ?? loadKernelModule());
}

/**
 * A (subscriber, location) table in the heap that grows itself: when a counting
 * call stops at the load limit, the table is rehashed into one twice the size
 * and the call resumes at the row where it stopped, so no row counts twice.
 */
export class LocationTable extends GrowingTable {
  constructor(private readonly kernels: Kernels, heap: Allocator, initialCapacity = 1024) {
    super(heap, { bytes: (c) => kernels.tableBytes(c), clear: (p, c) => kernels.tableClear(p, c), rehash: (s, sc, d, dc) => kernels.tableRehash(s, sc, d, dc) }, initialCapacity);
  }

  get size(): number {
    return this.kernels.tableUsed(this.ptr);
  }

  /** Adds one range of rows; seqBase must exceed every sequence number of earlier calls. */
  count(ev: EventColumns, loc: LocTable, f: KernelFilter, nSubs: number, seqBase: number, drops: Ptr): void {
    this.rows(ev.n, (done) => {
      const rest: EventColumns = {
        n: ev.n - done,
        sub: ev.sub + 4 * done,
        t: ev.t + 4 * done,
        cell: ev.cell + 4 * done,
        kind: ev.kind + done,
      };
      return this.kernels.countLocations(rest, loc, f, nSubs, seqBase + done, this.ptr, this.cap, drops);
    });
  }

  pickMostCommon(nSubs: number, outLoc: Ptr): void {
    this.kernels.pickMostCommon(this.ptr, this.cap, nSubs, outLoc);
  }
  pickMostDays(nSubs: number, outLoc: Ptr): void {
    this.kernels.pickMostDays(this.ptr, this.cap, nSubs, outLoc);
  }
  /** Writes the (sub, loc) pairs (u32 and i32 arrays of `size`); returns the count. */
  keys(outSub: Ptr, outLoc: Ptr): number {
    return this.kernels.tableKeys(this.ptr, this.cap, outSub, outLoc);
  }
  /** Writes each pair's events (u32 array of `size`, in the order of keys); returns the count. */
  events(outEvents: Ptr): number {
    return this.kernels.tableEvents(this.ptr, this.cap, outEvents);
  }
}
