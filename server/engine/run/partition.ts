/**
 * Runs one partition task: evaluates its steps with the kernels and produces
 * the partition's partial result. The same function runs on the main thread
 * and in pool workers; all its scratch comes from the task's arena.
 *
 * Each step's op is run by its family's handler (locations.ts, metrics.ts,
 * counts.ts, od.ts, network.ts, meaningful.ts, labelled.ts, sample.ts); the
 * registries below are typed over the ops of protocol.ts, so an op without a
 * handler does not compile.
 */
import { Arena } from '../../wasm/arena.js';
import type { Ptr } from '../../wasm/memory.js';
import * as M from '../metric-kernels.js';
import type { AggStep, LocStep, MetricStep, PairSide, PartialResult, PartitionTask, WindowFilter } from '../protocol.js';
import { type SampleRule, sampleKey } from '../sample.js';
import { DROP_BYTES, type EventColumns, type Kernels, LocationTable } from '../wasm.js';
import { COUNT_OPS } from './counts.js';
import { LABELLED_OPS } from './labelled.js';
import { LOCATION_OPS } from './locations.js';
import { MEANINGFUL_OPS } from './meaningful.js';
import { METRIC_AGGREGATE_OPS, METRIC_OPS } from './metrics.js';
import { NETWORK_OPS } from './network.js';
import { OD_OPS } from './od.js';
import { type AggregateOps, initialCapacity, type Part, type Run } from './run.js';
import { SAMPLE_OPS } from './sample.js';

/** Every aggregate op, by family: the compiler refuses this object if an op of AggStep has no handler. */
const AGGREGATE_OPS: AggregateOps = { ...COUNT_OPS, ...OD_OPS, ...NETWORK_OPS, ...METRIC_AGGREGATE_OPS, ...MEANINGFUL_OPS, ...LABELLED_OPS, ...SAMPLE_OPS };

class PartitionRun implements Run {
  readonly arena: Arena;
  readonly drops: Ptr;
  private seq = 0;

  constructor(readonly kernels: Kernels, readonly task: PartitionTask) {
    this.arena = new Arena(task.memory, task.arena, task.arenaBytes);
    this.drops = this.arena.alloc(DROP_BYTES);
    this.u8(this.drops, DROP_BYTES).fill(0);
  }

  location(step: LocStep): Ptr {
    return (LOCATION_OPS[step.op] as (run: Run, step: LocStep) => Ptr)(this, step);
  }

  metric(step: MetricStep): Ptr {
    return (METRIC_OPS[step.op] as (run: Run, step: MetricStep) => Ptr)(this, step);
  }

  aggregate(step: AggStep): Part {
    return (AGGREGATE_OPS[step.op] as (run: Run, step: AggStep) => Part)(this, step);
  }

  u8(ptr: Ptr, n: number): Uint8Array {
    return new Uint8Array(this.task.memory.buffer, ptr, n);
  }

  vector(): Ptr {
    const n = this.task.nSubs;
    const ptr = this.arena.alloc(4 * n);
    this.u8(ptr, 4 * n).fill(0xff);
    return ptr;
  }

  metricVector(): Ptr {
    const n = this.task.nSubs;
    const ptr = this.arena.alloc(8 * n);
    new Float64Array(this.task.memory.buffer, ptr, n).fill(NaN);
    return ptr;
  }

  *ranges(unit: string, f: WindowFilter): Generator<{ ev: EventColumns; table: { loc: Ptr; nCells: number } }> {
    for (const day of f.days) {
      const range = this.task.days[day];
      if (!range || range.n === 0) continue;
      const loc = this.task.tables[unit]?.[day];
      if (loc === undefined) throw new Error(`no location table for ${unit} on day ${day}`);
      yield { ev: range, table: { loc, nCells: this.task.nCells } };
    }
  }

  *rangesOf(f: WindowFilter): Generator<EventColumns & { day: number; peer?: Ptr; recharge?: Ptr }> {
    for (const day of f.days) {
      const range = this.task.days[day];
      if (range && range.n > 0) yield range;
    }
  }

  dropUnsampled(vec: Int32Array | Float64Array, rule: SampleRule, missing: number): void {
    if (Number.isNaN(rule.maxKey)) throw new Error('sample rule not settled: its population pass did not run');
    const n = this.task.nSubs;
    const globalOf = new Uint32Array(this.task.memory.buffer, this.task.globalOf, n);
    for (let s = 0; s < n; s++) if (sampleKey(rule, globalOf[s]!) >= rule.maxKey) vec[s] = missing;
  }

  vectors(steps: LocStep[]): Ptr {
    const ptrs = steps.map((s) => this.location(s));
    const at = this.arena.alloc(4 * Math.max(ptrs.length, 1));
    new Uint32Array(this.task.memory.buffer, at, ptrs.length).set(ptrs);
    return at;
  }

  sideLists(side: PairSide): { start: Uint32Array; locs: Int32Array } {
    const n = this.task.nSubs;
    const start = new Uint32Array(n + 1);
    if (side.kind === 'location') {
      const vec = new Int32Array(this.task.memory.buffer, this.location(side.step), n).slice();
      const locs = new Int32Array(n);
      let at = 0;
      for (let s = 0; s < n; s++) {
        start[s] = at;
        if (vec[s]! >= 0) locs[at++] = vec[s]!;
      }
      start[n] = at;
      return { start, locs: locs.subarray(0, at) };
    }
    const pairs = this.uniquePairs(side.unit, side.filter);
    const k = pairs.count;
    const subs = new Uint32Array(this.task.memory.buffer, pairs.sub, k);
    const keyLocs = new Int32Array(this.task.memory.buffer, pairs.loc, k);
    for (let i = 0; i < k; i++) start[subs[i]! + 1]!++;
    for (let s = 0; s < n; s++) start[s + 1]! += start[s]!;
    const next = start.slice(0, n);
    const locs = new Int32Array(k);
    for (let i = 0; i < k; i++) locs[next[subs[i]!]!++] = keyLocs[i]!;
    return { start, locs };
  }

  uniquePairs(unit: string, f: WindowFilter): { sub: Ptr; loc: Ptr; count: number } {
    const table = this.locationTable(unit, f);
    const size = Math.max(table.size, 1);
    const pairs = { sub: this.arena.alloc(4 * size), loc: this.arena.alloc(4 * size), count: 0 };
    pairs.count = table.keys(pairs.sub, pairs.loc);
    return pairs;
  }

  locationTable(unit: string, f: WindowFilter): LocationTable {
    const table = new LocationTable(this.kernels, this.arena, initialCapacity(this.task.nSubs));
    for (const { ev, table: loc } of this.ranges(unit, f)) {
      table.count(ev, loc, f, this.task.nSubs, this.seq, this.drops);
      this.seq += ev.n;
    }
    return table;
  }

  state(bytes: number): Ptr {
    const ptr = this.arena.alloc(bytes);
    this.u8(ptr, bytes).fill(0);
    return ptr;
  }

  pairs(groupVec: Ptr, valueVec: Ptr): { groups: Int32Array; values: Float64Array } {
    const n = this.task.nSubs;
    const group = this.arena.alloc(4 * Math.max(n, 1));
    const value = this.arena.alloc(8 * Math.max(n, 1));
    const count = M.groupPairs(this.kernels, { n, group: groupVec, value: valueVec }, { group, value });
    return {
      groups: new Int32Array(this.task.memory.buffer, group, count).slice(),
      values: new Float64Array(this.task.memory.buffer, value, count).slice(),
    };
  }

  zeros(n: number): Ptr {
    const ptr = this.arena.alloc(4 * n);
    this.u8(ptr, 4 * n).fill(0);
    return ptr;
  }

  copy(ptr: Ptr, n: number): Uint32Array {
    return new Uint32Array(this.task.memory.buffer, ptr, n).slice();
  }

  dropCounts(): PartialResult['drops'] {
    const d = new Uint32Array(this.task.memory.buffer, this.drops, 4);
    return [d[0]!, d[1]!, d[2]!, d[3]!];
  }
}

export function runPartition(kernels: Kernels, task: PartitionTask): PartialResult {
  const run = new PartitionRun(kernels, task);
  return { ...run.aggregate(task.step), drops: run.dropCounts() };
}
