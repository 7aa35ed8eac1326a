/**
 * What a partition task's steps run on (partition.ts's PartitionRun is the one
 * implementation): the task's rows and tables in the shared memory, its arena,
 * and the evaluation of nested steps. Each family's ops (locations.ts,
 * metrics.ts, counts.ts, od.ts, network.ts, meaningful.ts, labelled.ts,
 * sample.ts) take it, so they need not know the class, and the registry types
 * below make the compiler name an op a family forgot.
 */
import type { Arena } from '../../wasm/arena.js';
import type { Ptr } from '../../wasm/memory.js';
import type { AggStep, LocStep, MetricStep, PairSide, PartialResult, PartitionTask, WindowFilter } from '../protocol.js';
import type { SampleRule } from '../sample.js';
import type { EventColumns, Kernels, LocationTable } from '../wasm.js';

/** A partition's partial aggregate without its drop counters (the run adds them). */
export type Part = Omit<PartialResult, 'drops'>;

/** One handler per op of a step union: `{ [op]: (run, step of that op) => R }`. */
export type OpsOf<S extends { op: string }, R> = { readonly [O in S['op']]: (run: Run, step: Extract<S, { op: O }>) => R };

export type LocationOps = OpsOf<LocStep, Ptr>;
export type MetricOps = OpsOf<MetricStep, Ptr>;
export type AggregateOps = OpsOf<AggStep, Part>;

export interface Run {
  readonly kernels: Kernels;
  readonly task: PartitionTask;
  readonly arena: Arena;
  /** The task's drop counters (DROP_BYTES), summed by every kernel that drops events. */
  readonly drops: Ptr;
  u8(ptr: Ptr, n: number): Uint8Array;
  /** A fresh i32 vector per local subscriber, all -1 (absent). */
  vector(): Ptr;
  /** A fresh f64 vector per local subscriber, all NaN (no value). */
  metricVector(): Ptr;
  /** The task's rows of each day in the window that this partition holds, with the unit's table. */
  ranges(unit: string, f: WindowFilter): Generator<{ ev: EventColumns; table: { loc: Ptr; nCells: number } }>;
  /** The task's rows of each day in the window, without a location table. */
  rangesOf(f: WindowFilter): Generator<EventColumns & { day: number; peer?: Ptr; recharge?: Ptr }>;
  /** Evaluates a location step: its i32 vector. */
  location(step: LocStep): Ptr;
  /** Evaluates a metric step: its f64 vector. */
  metric(step: MetricStep): Ptr;
  /** Evaluates an aggregate step: the partition's partial result. */
  aggregate(step: AggStep): Part;
  /** Evaluates location steps and returns a u32 array of their vectors' pointers, as the dwell kernels take them. */
  vectors(steps: LocStep[]): Ptr;
  /** Sets `missing` (a location's -1, a metric's NaN) in `vec` for every local subscriber the sample leaves out (its key at or above the rule's maxKey). */
  dropUnsampled(vec: Int32Array | Float64Array, rule: SampleRule, missing: number): void;
  /** One OD side as per-subscriber location lists (CSR: start has nSubs + 1 offsets into locs). */
  sideLists(side: PairSide): { start: Uint32Array; locs: Int32Array };
  /** The distinct (subscriber, location) pairs of a window's located qualifying events, as u32/i32 arrays in the arena. */
  uniquePairs(unit: string, f: WindowFilter): { sub: Ptr; loc: Ptr; count: number };
  /** A (subscriber, location) table over the window's located qualifying events. */
  locationTable(unit: string, f: WindowFilter): LocationTable;
  /** Per-subscriber state for a counting metric: zeroed scratch of `bytes`. */
  state(bytes: number): Ptr;
  /** Compacts (group, value) vectors to the pairs with both, copied out of shared memory. */
  pairs(groupVec: Ptr, valueVec: Ptr): { groups: Int32Array; values: Float64Array };
  /** n zeroed u32 in the arena. */
  zeros(n: number): Ptr;
  /** Results leave shared memory as a private copy: the arena is reused after the task. */
  copy(ptr: Ptr, n: number): Uint32Array;
}

/** Start small: a table doubles itself when a partition's subscribers visit many places. */
export function initialCapacity(nSubs: number): number {
  let cap = 1024;
  while (cap < nSubs * 2 && cap < 1 << 24) cap *= 2;
  return cap;
}
