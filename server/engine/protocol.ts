/**
 * The protocol between the planner (main thread) and whoever runs a partition
 * (the main thread itself, or a pool worker): plain data only, so it crosses a
 * thread as is. A task is one subscriber partition's share of a query: a small
 * tree of per-subscriber location steps feeding one aggregate step.
 */
import type { Ptr } from '../wasm/memory.js';
import type { MeaningfulParams } from './meaningful-kernels.js';
import type { SampleRule } from './sample.js';

/** Which events qualify (kernels' KernelFilter), plus the days the window touches. */
export interface WindowFilter {
  typeMask: number;
  tStart: number;
  tEnd: number;
  hourMask: number;
  /** Day numbers (days since 1970) to scan, ascending; only days the store holds. */
  days: number[];
}

/** A per-subscriber location vector: i32 per partition-local subscriber, -1 = absent. */
export type LocStep =
  | { op: 'last'; unit: string; filter: WindowFilter }
  | { op: 'most-common'; unit: string; filter: WindowFilter }
  | { op: 'most-days'; unit: string; filter: WindowFilter }
  /** Most frequent location over the inputs; ties go to the location of the latest input (by position). */
  | { op: 'modal'; inputs: LocStep[] }
  /** The location with more than half of the visits over the inputs (FlowKit's majority_location). */
  | { op: 'majority'; inputs: LocStep[]; minTotal: number }
  /** preferred, else fallback if visited on at least `threshold` of the weight inputs (coalesced_location). */
  | { op: 'coalesce'; preferred: LocStep; fallback: LocStep; weights: LocStep[]; threshold: number }
  /** The input's subscribers that the sample keeps (sample.ts); the others become absent. */
  | { op: 'sample'; input: LocStep; rule: SampleRule };

/** A per-subscriber metric: f64 per partition-local subscriber, NaN = absent. */
export type MetricStep =
  | { op: 'radius-of-gyration'; filter: WindowFilter }
  | { op: 'event-count'; filter: WindowFilter; dirMask: number }
  | { op: 'nocturnal'; filter: WindowFilter; dirMask: number; nightMask: number }
  | { op: 'unique-location-count'; unit: string; filter: WindowFilter }
  | { op: 'active-periods'; filter: WindowFilter; periodSeconds: number }
  | { op: 'degree'; filter: WindowFilter; dirMask: number }
  | { op: 'pareto'; filter: WindowFilter; dirMask: number; proportion: number }
  /** A statistic over events of the km from the subscriber's reference location (a lon-lat step) to the event's cell. */
  | { op: 'displacement'; filter: WindowFilter; statistic: string; reference: LocStep }
  /** A statistic over each subscriber's top-up amounts (statistic code of metric-kernels' STATISTIC). */
  | { op: 'topup'; filter: WindowFilter; statistic: string }
  /** The input's subscribers that the sample keeps (sample.ts); the others become absent. */
  | { op: 'sample'; input: MetricStep; rule: SampleRule };

/**
 * FlowKit's mobility_classification (mobility-classification.ts): per reference period,
 * in chronological order, the subscribers' coalesced location, and the location steps
 * whose located subscribers are present in that period even without a location (the
 * preferred majority's inputs when it keeps unlocatable subscribers; none otherwise).
 */
export interface MobilityStep {
  periods: { location: LocStep; presence: LocStep[] }[];
  stayLengthThreshold: number;
}

/** One end of an OD count: a location per subscriber, or the set of locations they visited in a window. */
export type PairSide = { kind: 'location'; step: LocStep } | { kind: 'set'; unit: string; filter: WindowFilter };

/** What a partition returns to be merged with the other partitions. */
/** (second, cell) keys of a cell-seconds step: t * CELL_KEY_SPAN + cell, exact in a double for t < 2^32. */
export const CELL_KEY_SPAN = 2 ** 21;

export type AggStep =
  /** Subscribers per location: u32[nLocs]. */
  | { op: 'count-by-location'; input: LocStep; nLocs: number }
  /**
   * Subscribers per (from, to): u32[nFrom * nTo]; with `margins` (an outer join), then
   * subscribers per from location (u32[nFrom], when margins.from) and per to location
   * (u32[nTo], when margins.to), whichever side they have.
   */
  | { op: 'count-pairs'; from: LocStep; to: LocStep; nFrom: number; nTo: number; margins?: { from: boolean; to: boolean } }
  /** As count-pairs where a side is a set of locations per subscriber (unique_locations): every (a, b) of a subscriber counts once. */
  | { op: 'set-pairs'; from: PairSide; to: PairSide; nFrom: number; nTo: number }
  /**
   * For units too fine for a dense matrix (cells, positions): each subscriber's
   * (from, to) combinations as keys from * nTo + to (f64, exact below 2^53),
   * concatenated across partitions and counted on the main thread.
   */
  | { op: 'sparse-pairs'; from: PairSide; to: PairSide; nTo: number }
  /** Subscribers per location with at least one qualifying located event: u32[nLocs]. */
  | { op: 'unique-by-location'; unit: string; filter: WindowFilter; nLocs: number; /** Under DP: count each subscriber in at most its `clip` most-visited locations (ties: the lower location index). */ clip?: number }
  /** Subscribers with first time at A before last time at B, A != B: u32[nLocs * nLocs]. */
  | { op: 'trips'; unit: string; filter: WindowFilter; nLocs: number }
  /** Distinct subscribers with a consecutive event pair (A then B): u32[nLocs * nLocs]. */
  | { op: 'consecutive-trips'; unit: string; filter: WindowFilter; nLocs: number }
  /**
   * trips or consecutive-trips at units too fine for a dense matrix (cells, positions):
   * each subscriber's distinct (from, to) pairs as keys from * nLocs + to (f64, exact
   * below 2^53), concatenated across partitions and counted on the main thread.
   */
  | { op: 'sparse-trips'; trips: 'trips' | 'consecutive'; unit: string; filter: WindowFilter; nLocs: number }
  /** Events, then distinct subscribers, per (location, bucket): u32[2 * nLocs * nBuckets]. */
  | { op: 'events-by-bucket'; unit: string; filter: WindowFilter; dirMask: number; bucketSeconds: number; bucketBase: number; nBuckets: number; nLocs: number }
  /** Counts over each subscriber's set of unique locations, optionally against a reference location: u32[nLocs]. */
  | { op: 'unique-set'; mode: 'unmoving' | 'unmoving-at-reference' | 'active-at-reference'; unit: string; filter: WindowFilter; reference: LocStep | null; nLocs: number }
  /**
   * Which cells carried located qualifying events in each time slot of each day of the
   * window: one bitset of slotsPerDay x nCells bits per day in filter.days, concatenated;
   * merged across partitions by OR (distinct cells are not per subscriber).
   */
  | { op: 'cell-bits'; unit: string; filter: WindowFilter; slotsPerDay: number }
  /**
   * total_by second: each (second, cell) with a located qualifying event, as keys
   * t * CELL_KEY_SPAN + cell in `values` (a day of second slots is too many bits to OR).
   */
  | { op: 'cell-seconds'; unit: string; filter: WindowFilter }
  /** The sample keys (sample.ts) of the subscribers present in a location or metric vector: values, concatenated. */
  | { op: 'sample-keys'; of: { loc: LocStep } | { metric: MetricStep }; rule: SampleRule }
  /**
   * Subscribers per (key, label slot): key = from, or from * nTo + to when `to` is given;
   * slot = the mobility label code, or LABEL_SLOTS - 1 for subscribers without a label,
   * counted only if `unlabelled` (labelled.ts). Dense: counts u32[nFrom * nTo * LABEL_SLOTS];
   * otherwise each subscriber's key * LABEL_SLOTS + slot as values, counted on the main thread.
   */
  | { op: 'labelled'; from: LocStep; to: LocStep | null; nFrom: number; nTo: number; labels: MobilityStep; unlabelled: boolean; dense: boolean }
  /** Two count steps side by side: their counts concatenated (a, then b). */
  | { op: 'both'; a: AggStep; b: AggStep }
  /** (location, metric value) of every subscriber with both: pairs, concatenated across partitions. */
  | { op: 'metric-by-location'; locations: LocStep; metric: MetricStep }
  /** (0, metric value) of every subscriber with a value: pairs, for histograms. */
  | { op: 'metric-values'; metric: MetricStep }
  /**
   * Meaningful locations: each subscriber's labelled Hartigan clusters over window a
   * (and b), as (group 0, values) records. Without b, one record of 3 values
   * (lon, lat, 1 / n) per cluster labelled a.label, n = the subscriber's clusters of
   * that label; with b, one record of 5 values (lon a, lat a, lon b, lat b,
   * 1 / (n_a * n_b)) per pair of a subscriber's clusters labelled a.label (window a)
   * and b.label (window b). Centroids are placed in regions on the main thread.
   */
  | { op: 'meaningful'; params: MeaningfulParams; a: MeaningfulWindow; b: MeaningfulWindow | null };

/** One side of a meaningful-locations step: the window's events and the label kept. */
export interface MeaningfulWindow {
  filter: WindowFilter;
  label: string;
}

/** Where one day's share of a partition lives in the shared memory. */
export interface DayRange {
  day: number;
  n: number;
  sub: Ptr;
  t: Ptr;
  cell: Ptr;
  kind: Ptr;
  /** Optional columns, present when the query needs them. */
  peer?: Ptr;
  recharge?: Ptr;
  duration?: Ptr;
}

export interface PartitionTask {
  kind: 'partition';
  memory: WebAssembly.Memory;
  /** Partition-local subscribers: vectors have this many entries. */
  nSubs: number;
  /** This partition's rows of every loaded day, by day number. */
  days: Record<number, DayRange>;
  /** Location tables: unit -> day number -> i32[nCells]. */
  tables: Record<string, Record<number, Ptr>>;
  /** Cell coordinates per day (f64[nCells] each, NaN = no valid version), for distance metrics. */
  coords: Record<number, { lon: Ptr; lat: Ptr }>;
  nCells: number;
  /** Positions of the lon-lat unit's locations (f64 each): reference points for distances. */
  lonLat: { lon: Ptr; lat: Ptr; n: number };
  /** Largest (subscriber, location) bitmap a distinct count may use; beyond it, a hash table of pairs. */
  maxBitmapBytes: number;
  /** Global subscriber index per partition-local one (u32[nSubs]): self-contact checks. */
  globalOf: Ptr;
  step: AggStep;
  /** Scratch block the task may use, [arena, arena + arenaBytes). */
  arena: Ptr;
  arenaBytes: number;
}

/**
 * A task as posted to a pool worker: without its memory when the worker was given the
 * engine's memory at start (the worker puts it back), with it otherwise.
 */
export type PostedTask = Omit<PartitionTask, 'memory'> & { memory?: WebAssembly.Memory };

/** A partition's partial aggregate: counts to sum or pairs to concatenate, and events dropped, by reason. */
export interface PartialResult {
  counts?: Uint32Array;
  /** Cell bitsets: OR-merged. */
  bits?: Uint8Array;
  /** (group, value) pairs: metric steps. */
  groups?: Int32Array;
  values?: Float64Array;
  /** [malformed, no cell, unknown cell or no valid version, outside every region]. */
  drops: [number, number, number, number];
}

export interface TaskFailure {
  error: { name: string; code: string; message: string };
}
