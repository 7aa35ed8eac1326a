/**
 * Runs one partition task: evaluates its location steps with the kernels and
 * produces the partition's partial counts. The same function runs on the main
 * thread and in pool workers; all its scratch comes from the task's arena.
 */
import { SECONDS_PER_DAY } from '../../kernels/shared/constants.js';
import { Arena } from '../wasm/arena.js';
import { countLabelled } from './labelled.js';
import type { Ptr } from '../wasm/memory.js';
import { type ClusterList, clustersOf, labelIndex, ScoreTable } from './meaningful-kernels.js';
import * as M from './metric-kernels.js';
import * as OD from './od-kernels.js';
import { type AggStep, CELL_KEY_SPAN, type LocStep, type MetricStep, type PairSide, type PartialResult, type PartitionTask, type WindowFilter } from './protocol.js';
import type { MeaningfulParams } from './meaningful-kernels.js';
import { type SampleRule, sampleKey } from './sample.js';
import { DROP_BYTES, type EventColumns, type Kernels, LocationTable } from './wasm.js';

/** Default bound of a task's distinct-pair bitmap; larger ones use the hash table of pairs. */
export const MAX_BITMAP_BYTES = 16 << 20;

/** Bytes of a (subscriber, location) bitmap, whole 64-bit words. */
export function bitmapBytes(nSubs: number, nLocs: number): number {
  return Math.ceil((nSubs * nLocs) / 64) * 8;
}

/** The steps whose partition results are counts to sum. */
type CountStep = Exclude<AggStep, { op: 'metric-by-location' | 'metric-values' | 'cell-bits' | 'cell-seconds' | 'meaningful' | 'sparse-pairs' | 'sparse-trips' | 'sample-keys' | 'labelled' }>;

class PartitionRun {
  readonly arena: Arena;
  readonly drops: Ptr;
  private seq = 0;

  constructor(readonly kernels: Kernels, readonly task: PartitionTask) {
    this.arena = new Arena(task.memory, task.arena, task.arenaBytes);
    this.drops = this.arena.alloc(DROP_BYTES);
    this.u8(this.drops, DROP_BYTES).fill(0);
  }

  u8(ptr: Ptr, n: number): Uint8Array {
    return new Uint8Array(this.task.memory.buffer, ptr, n);
  }

  /** A fresh i32 vector per local subscriber, all -1 (absent). */
  vector(): Ptr {
    const n = this.task.nSubs;
    const ptr = this.arena.alloc(4 * n);
    this.u8(ptr, 4 * n).fill(0xff);
    return ptr;
  }

  /** The task's rows of each day in the window that this partition holds, with the unit's table. */
  *ranges(unit: string, f: WindowFilter): Generator<{ ev: EventColumns; table: { loc: Ptr; nCells: number } }> {
    for (const day of f.days) {
      const range = this.task.days[day];
      if (!range || range.n === 0) continue;
      const loc = this.task.tables[unit]?.[day];
      if (loc === undefined) throw new Error(`no location table for ${unit} on day ${day}`);
      yield { ev: range, table: { loc, nCells: this.task.nCells } };
    }
  }

  location(step: LocStep): Ptr {
    const out = this.vector();
    const n = this.task.nSubs;
    switch (step.op) {
      case 'last':
        for (const { ev, table } of this.ranges(step.unit, step.filter)) {
          this.kernels.lastLocation(ev, table, step.filter, n, out, this.drops);
        }
        return out;
      case 'most-common': {
        // Gather (sub, loc) in chronological order, then tally per subscriber: no hash table.
        let rows = 0;
        for (const { ev } of this.ranges(step.unit, step.filter)) rows += ev.n;
        const pairs = { sub: this.arena.alloc(4 * Math.max(rows, 1)), loc: this.arena.alloc(4 * Math.max(rows, 1)) };
        let m = 0;
        for (const { ev, table } of this.ranges(step.unit, step.filter)) {
          m += this.kernels.gatherLocated(ev, table, step.filter, n, { sub: pairs.sub + 4 * m, loc: pairs.loc + 4 * m }, this.drops);
        }
        const scratch = this.arena.alloc(this.kernels.mostCommonScratchBytes(n, m));
        this.kernels.mostCommonBySub(m, pairs, n, scratch, out);
        return out;
      }
      case 'most-days': {
        this.count(step.unit, step.filter).pickMostDays(n, out);
        return out;
      }
      case 'modal':
      case 'majority': {
        const k = step.inputs.length;
        const inputs = this.vectors(step.inputs);
        const scratch = this.arena.alloc(8 * k);
        if (step.op === 'modal') this.kernels.modalLocation(inputs, k, n, scratch, out);
        else this.kernels.majorityLocation(inputs, k, n, step.minTotal, scratch, out);
        return out;
      }
      case 'sample': {
        const input = this.location(step.input);
        const vec = new Int32Array(this.task.memory.buffer, input, n);
        const kept = this.sampleKept(step.rule);
        for (let s = 0; s < n; s++) if (!kept[s]) vec[s] = -1;
        return input;
      }
      case 'coalesce': {
        const preferred = this.location(step.preferred);
        const fallback = this.location(step.fallback);
        const weights = this.vectors(step.weights);
        this.kernels.coalesceLocation(preferred, fallback, weights, step.weights.length, n, step.threshold, out);
        return out;
      }
    }
  }

  /** Per local subscriber: whether the sample keeps it (its key below the rule's maxKey). */
  sampleKept(rule: SampleRule): Uint8Array {
    if (Number.isNaN(rule.maxKey)) throw new Error('sample rule not settled: its population pass did not run');
    const n = this.task.nSubs;
    const globalOf = new Uint32Array(this.task.memory.buffer, this.task.globalOf, n);
    return Uint8Array.from({ length: n }, (_, s) => (sampleKey(rule, globalOf[s]!) < rule.maxKey ? 1 : 0));
  }

  /** The sample keys of the subscribers present in a location (>= 0) or metric (not NaN) vector. */
  sampleKeys(step: Extract<AggStep, { op: 'sample-keys' }>): Omit<PartialResult, 'drops'> {
    const n = this.task.nSubs;
    const globalOf = new Uint32Array(this.task.memory.buffer, this.task.globalOf, n).slice();
    const present: (s: number) => boolean =
      'loc' in step.of
        ? ((vec) => (s: number) => vec[s]! >= 0)(new Int32Array(this.task.memory.buffer, this.location(step.of.loc), n))
        : ((vec) => (s: number) => !Number.isNaN(vec[s]!))(new Float64Array(this.task.memory.buffer, this.metric(step.of.metric), n));
    const keys: number[] = [];
    for (let s = 0; s < n; s++) if (present(s)) keys.push(sampleKey(step.rule, globalOf[s]!));
    return { groups: new Int32Array(keys.length), values: Float64Array.from(keys) };
  }

  /** Evaluates location steps and returns a u32 array of their vectors' pointers, as the dwell kernels take them. */
  vectors(steps: LocStep[]): Ptr {
    const ptrs = steps.map((s) => this.location(s));
    const at = this.arena.alloc(4 * Math.max(ptrs.length, 1));
    new Uint32Array(this.task.memory.buffer, at, ptrs.length).set(ptrs);
    return at;
  }

  /** Each subscriber's (from, to) combinations as keys from * nTo + to, for OD at fine units. */
  sparse(step: Extract<AggStep, { op: 'sparse-pairs' }>): Omit<PartialResult, 'drops'> {
    const n = this.task.nSubs;
    const [a, b] = [this.sideLists(step.from), this.sideLists(step.to)];
    let total = 0;
    for (let s = 0; s < n; s++) total += (a.start[s + 1]! - a.start[s]!) * (b.start[s + 1]! - b.start[s]!);
    const keys = new Float64Array(total);
    let at = 0;
    for (let s = 0; s < n; s++) {
      for (let i = a.start[s]!; i < a.start[s + 1]!; i++) {
        for (let j = b.start[s]!; j < b.start[s + 1]!; j++) keys[at++] = a.locs[i]! * step.nTo + b.locs[j]!;
      }
    }
    return { groups: new Int32Array(total), values: keys };
  }

  /**
   * Trips at fine units: the window's located events gathered as (sub, loc, t), grouped by
   * subscriber in chronological order, and each subscriber's distinct (from, to) pairs
   * emitted as keys from * nLocs + to (trips_od_matrix: first time at from before last time
   * at to, from != to; consecutive: one event at from directly followed by one at to).
   */
  sparseTrips(step: Extract<AggStep, { op: 'sparse-trips' }>): Omit<PartialResult, 'drops'> {
    const n = this.task.nSubs;
    let rows = 0;
    for (const { ev } of this.ranges(step.unit, step.filter)) rows += ev.n;
    const room = 4 * Math.max(rows, 1);
    const out = { sub: this.arena.alloc(room), loc: this.arena.alloc(room), t: this.arena.alloc(room) };
    let m = 0;
    for (const { ev, table } of this.ranges(step.unit, step.filter)) {
      m += this.kernels.gatherLocated(ev, table, step.filter, n, { sub: out.sub + 4 * m, loc: out.loc + 4 * m, t: out.t + 4 * m }, this.drops);
    }
    const buffer = this.task.memory.buffer;
    const subs = new Uint32Array(buffer, out.sub, m);
    const locs = new Int32Array(buffer, out.loc, m);
    const times = new Uint32Array(buffer, out.t, m);
    // Stable counting sort by subscriber: each subscriber's events stay chronological.
    const start = new Uint32Array(n + 1);
    for (let i = 0; i < m; i++) start[subs[i]! + 1]!++;
    for (let s = 0; s < n; s++) start[s + 1]! += start[s]!;
    const next = start.slice(0, n);
    const order = new Uint32Array(m);
    for (let i = 0; i < m; i++) order[next[subs[i]!]!++] = i;
    const keys: number[] = [];
    const pairs = new Set<number>();
    const visits = new Map<number, { first: number; last: number }>();
    for (let s = 0; s < n; s++) {
      if (step.trips === 'consecutive') {
        pairs.clear();
        for (let j = start[s]! + 1; j < start[s + 1]!; j++) pairs.add(locs[order[j - 1]!]! * step.nLocs + locs[order[j]!]!);
        for (const key of pairs) keys.push(key);
        continue;
      }
      visits.clear();
      for (let j = start[s]!; j < start[s + 1]!; j++) {
        const e = order[j]!;
        const v = visits.get(locs[e]!);
        if (v) v.last = times[e]!; // chronological: the latest so far
        else visits.set(locs[e]!, { first: times[e]!, last: times[e]! });
      }
      for (const [a, va] of visits) {
        for (const [b, vb] of visits) if (a !== b && va.first < vb.last) keys.push(a * step.nLocs + b);
      }
    }
    return { groups: new Int32Array(keys.length), values: Float64Array.from(keys) };
  }

  /** One OD side as per-subscriber location lists (CSR: start has nSubs + 1 offsets into locs). */
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

  /**
   * unique_subscriber_counts under DP: each subscriber counted in at most `clip` locations, its most visited
   * (most located qualifying events; ties to the lower location index), so one subscriber touches at most
   * `clip` cells (docs/PRIVACY.md).
   */
  clippedUnique(unit: string, f: WindowFilter, nLocs: number, clip: number): Uint32Array {
    const table = this.count(unit, f);
    const size = Math.max(table.size, 1);
    const subPtr = this.arena.alloc(4 * size);
    const locPtr = this.arena.alloc(4 * size);
    const evPtr = this.arena.alloc(4 * size);
    const k = table.keys(subPtr, locPtr);
    table.events(evPtr);
    const subs = new Uint32Array(this.task.memory.buffer, subPtr, k);
    const locs = new Int32Array(this.task.memory.buffer, locPtr, k);
    const events = new Uint32Array(this.task.memory.buffer, evPtr, k);
    // Pairs by subscriber, then most events first, then lower location: each subscriber's first `clip` are kept.
    const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => subs[a]! - subs[b]! || events[b]! - events[a]! || locs[a]! - locs[b]!);
    const counts = new Uint32Array(nLocs);
    let run = 0;
    for (let i = 0; i < k; i++) {
      const at = order[i]!;
      run = i > 0 && subs[order[i - 1]!] === subs[at] ? run + 1 : 0;
      if (run < clip) counts[locs[at]!]++;
    }
    return counts;
  }

  /** The distinct (subscriber, location) pairs of a window's located qualifying events, as u32/i32 arrays in the arena. */
  uniquePairs(unit: string, f: WindowFilter): { sub: Ptr; loc: Ptr; count: number } {
    const table = this.count(unit, f);
    const size = Math.max(table.size, 1);
    const pairs = { sub: this.arena.alloc(4 * size), loc: this.arena.alloc(4 * size), count: 0 };
    pairs.count = table.keys(pairs.sub, pairs.loc);
    return pairs;
  }

  /** A (subscriber, location) table over the window's located qualifying events. */
  count(unit: string, f: WindowFilter): LocationTable {
    const table = new LocationTable(this.kernels, this.arena, initialCapacity(this.task.nSubs));
    for (const { ev, table: loc } of this.ranges(unit, f)) {
      table.count(ev, loc, f, this.task.nSubs, this.seq, this.drops);
      this.seq += ev.n;
    }
    return table;
  }

  /** Per-subscriber state for a counting metric: zeroed scratch of `bytes`. */
  state(bytes: number): Ptr {
    const ptr = this.arena.alloc(bytes);
    this.u8(ptr, bytes).fill(0);
    return ptr;
  }

  /** A metric vector: f64 per local subscriber, NaN where the subscriber has no value. */
  metric(step: MetricStep): Ptr {
    const k = this.kernels;
    const n = this.task.nSubs;
    if (step.op === 'sample') {
      const input = this.metric(step.input);
      const vec = new Float64Array(this.task.memory.buffer, input, n);
      const kept = this.sampleKept(step.rule);
      for (let s = 0; s < n; s++) if (!kept[s]) vec[s] = NaN;
      return input;
    }
    const out = this.arena.alloc(8 * n);
    new Float64Array(this.task.memory.buffer, out, n).fill(NaN);
    const f = step.filter;
    const rows = () => this.rangesOf(f);
    switch (step.op) {
      case 'radius-of-gyration': {
        const state = this.state(M.gyrationBytes(k, n));
        const coords = (day: number) => ({ ...this.task.coords[day]!, nCells: this.task.nCells });
        for (const ev of rows()) M.gyrationSums(k, ev, coords(ev.day), f, n, state, this.drops);
        M.gyrationCentroids(k, state, n);
        for (const ev of rows()) M.gyrationSpread(k, ev, coords(ev.day), f, n, state);
        M.finishGyration(k, state, n, out);
        return out;
      }
      case 'event-count': {
        const state = this.state(M.eventCountBytes(k, n));
        for (const ev of rows()) M.countEvents(k, ev, f, step.dirMask, n, state);
        M.finishEventCount(k, state, n, out);
        return out;
      }
      case 'nocturnal': {
        const state = this.state(M.nocturnalBytes(k, n));
        for (const ev of rows()) M.countNocturnal(k, ev, f, step.dirMask, step.nightMask, n, state);
        M.finishNocturnal(k, state, n, out);
        return out;
      }
      case 'active-periods': {
        const state = this.state(M.activePeriodsBytes(k, n));
        for (const ev of rows()) M.countActivePeriods(k, ev, f, step.periodSeconds, n, state);
        M.finishActivePeriods(k, state, n, out);
        return out;
      }
      case 'degree':
      case 'pareto': {
        const contacts = new M.ContactTable(k, this.arena, initialCapacity(n));
        for (const ev of rows()) contacts.count({ ...ev, peer: ev.peer! }, f, step.dirMask, step.op === 'degree', this.task.globalOf, n);
        if (step.op === 'degree') contacts.degree(n, out);
        else contacts.pareto(n, step.proportion, out);
        return out;
      }
      case 'displacement': {
        // Reference points per subscriber from their lon-lat location (NaN: none).
        const refLoc = new Int32Array(this.task.memory.buffer, this.location(step.reference), n).slice();
        const { lon: lonPtr, lat: latPtr, n: nPoints } = this.task.lonLat;
        const pointLon = new Float64Array(this.task.memory.buffer, lonPtr, nPoints);
        const pointLat = new Float64Array(this.task.memory.buffer, latPtr, nPoints);
        const ref = { lon: this.arena.alloc(8 * Math.max(n, 1)), lat: this.arena.alloc(8 * Math.max(n, 1)) };
        const refLon = new Float64Array(this.task.memory.buffer, ref.lon, n);
        const refLat = new Float64Array(this.task.memory.buffer, ref.lat, n);
        for (let i = 0; i < n; i++) {
          refLon[i] = refLoc[i]! >= 0 ? pointLon[refLoc[i]!]! : NaN;
          refLat[i] = refLoc[i]! >= 0 ? pointLat[refLoc[i]!]! : NaN;
        }
        let total = 0;
        for (const ev of rows()) total += ev.n;
        const subs = this.arena.alloc(4 * Math.max(total, 1));
        const values = this.arena.alloc(8 * Math.max(total, 1));
        let at = 0;
        for (const ev of rows()) {
          const coords = { ...this.task.coords[ev.day]!, nCells: this.task.nCells };
          at += M.displacementValues(k, ev, coords, f, ref, n, { sub: subs + 4 * at, value: values + 8 * at }, this.drops);
        }
        M.groupStatistic(k, this.arena, { n: at, group: subs, value: values }, n, step.statistic as M.StatisticName, out);
        return out;
      }
      case 'topup': {
        let total = 0;
        for (const ev of rows()) total += ev.n;
        const subs = this.arena.alloc(4 * Math.max(total, 1));
        const values = this.arena.alloc(8 * Math.max(total, 1));
        let at = 0;
        for (const ev of rows()) at += M.topupValues(k, { ...ev, recharge: ev.recharge! }, f, n, { sub: subs + 4 * at, value: values + 8 * at });
        M.groupStatistic(k, this.arena, { n: at, group: subs, value: values }, n, step.statistic as M.StatisticName, out);
        return out;
      }
      case 'unique-location-count': {
        const pairs = this.uniquePairs(step.unit, f);
        M.countPerSub(k, pairs.count, pairs.sub, n, out);
        return out;
      }
    }
  }

  /** The task's rows of each day in the window, without a location table. */
  *rangesOf(f: WindowFilter): Generator<EventColumns & { day: number; peer?: Ptr; recharge?: Ptr }> {
    for (const day of f.days) {
      const range = this.task.days[day];
      if (range && range.n > 0) yield range;
    }
  }

  /** Compacts (group, value) vectors to the pairs with both, copied out of shared memory. */
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

  aggregate(step: AggStep): Omit<PartialResult, 'drops'> {
    switch (step.op) {
      case 'cell-bits': {
        const k = this.kernels;
        const nCells = Math.max(this.task.nCells, 1);
        const perDay = OD.cellBitsBytes(k, step.slotsPerDay, nCells);
        const f = step.filter;
        const bits = this.arena.alloc(perDay * Math.max(f.days.length, 1));
        this.u8(bits, perDay * f.days.length).fill(0);
        const slotSeconds = SECONDS_PER_DAY / step.slotsPerDay;
        f.days.forEach((day, i) => {
          const range = this.task.days[day];
          const loc = this.task.tables[step.unit]?.[day];
          if (!range || range.n === 0 || loc === undefined) return;
          const dayStart = day * SECONDS_PER_DAY;
          // The kernel's slots cover one day: clip the window to it.
          const clipped = { ...f, tStart: Math.max(f.tStart, dayStart), tEnd: Math.min(f.tEnd, dayStart + SECONDS_PER_DAY) };
          OD.markCellsByPeriod(k, range, { loc, nCells: this.task.nCells }, clipped, { seconds: slotSeconds, base: dayStart, count: step.slotsPerDay }, bits + i * perDay, this.drops);
        });
        return { bits: this.u8(bits, perDay * f.days.length).slice() };
      }
      case 'cell-seconds': {
        // An hour of one-second slots at a time through the cell-bits kernel, its set bits read back as keys.
        const k = this.kernels;
        const nCells = Math.max(this.task.nCells, 1);
        if (nCells > CELL_KEY_SPAN) throw new RangeError(`total_by second: expected at most ${CELL_KEY_SPAN} cells, found ${nCells}`);
        const bytes = OD.cellBitsBytes(k, 3600, nCells);
        const bits = this.arena.alloc(bytes);
        const keys: number[] = [];
        const f = step.filter;
        for (const day of f.days) {
          const range = this.task.days[day];
          const loc = this.task.tables[step.unit]?.[day];
          if (!range || range.n === 0 || loc === undefined) continue;
          for (let h = 0; h < 24; h++) {
            const base = day * SECONDS_PER_DAY + h * 3600;
            const clipped = { ...f, tStart: Math.max(f.tStart, base), tEnd: Math.min(f.tEnd, base + 3600) };
            if (clipped.tStart >= clipped.tEnd) continue;
            const view = this.u8(bits, bytes);
            view.fill(0);
            OD.markCellsByPeriod(k, range, { loc, nCells: this.task.nCells }, clipped, { seconds: 1, base, count: 3600 }, bits, this.drops);
            for (let i = 0; i < bytes; i++) {
              const byte = view[i]!;
              if (byte === 0) continue;
              for (let b = 0; b < 8; b++) {
                if ((byte & (1 << b)) === 0) continue;
                const bit = i * 8 + b;
                keys.push((base + Math.floor(bit / nCells)) * CELL_KEY_SPAN + (bit % nCells));
              }
            }
          }
        }
        return { groups: new Int32Array(keys.length), values: Float64Array.from(keys) };
      }
      case 'metric-by-location': {
        const loc = this.location(step.locations);
        return this.pairs(loc, this.metric(step.metric));
      }
      case 'metric-values': {
        const zeros = this.zeros(this.task.nSubs);
        return this.pairs(zeros, this.metric(step.metric));
      }
      case 'sparse-pairs':
        return this.sparse(step);
      case 'sparse-trips':
        return this.sparseTrips(step);
      case 'sample-keys':
        return this.sampleKeys(step);
      case 'labelled':
        return countLabelled(step, (s) => new Int32Array(this.task.memory.buffer, this.location(s), this.task.nSubs).slice(), this.task.nSubs);
      case 'meaningful': {
        const a = this.clusters(step.params, step.a.filter);
        const la = labelIndex(step.params, step.a.label);
        const values: number[] = [];
        if (!step.b) {
          // Per subscriber (a run of equal subs): its clusters of the label, 1 / n each.
          for (let i = 0; i < a.count; ) {
            let j = i;
            let n = 0;
            for (; j < a.count && a.sub[j] === a.sub[i]; j++) if (a.label[j] === la) n++;
            for (let c = i; c < j; c++) if (a.label[c] === la) values.push(a.lon[c]!, a.lat[c]!, 1 / n);
            i = j;
          }
        } else {
          // Same window on both sides (between labels): cluster once.
          const b = JSON.stringify(step.b.filter) === JSON.stringify(step.a.filter) ? a : this.clusters(step.params, step.b.filter);
          const lb = labelIndex(step.params, step.b.label);
          // Merge join of the two lists by subscriber (both ascending).
          let j = 0;
          for (let i = 0; i < a.count; ) {
            let iEnd = i;
            while (iEnd < a.count && a.sub[iEnd] === a.sub[i]) iEnd++;
            while (j < b.count && b.sub[j]! < a.sub[i]!) j++;
            let jEnd = j;
            while (jEnd < b.count && b.sub[jEnd] === a.sub[i]) jEnd++;
            let na = 0;
            let nb = 0;
            for (let x = i; x < iEnd; x++) if (a.label[x] === la) na++;
            for (let y = j; y < jEnd; y++) if (b.label[y] === lb) nb++;
            for (let x = i; x < iEnd; x++) {
              if (a.label[x] !== la) continue;
              for (let y = j; y < jEnd; y++) if (b.label[y] === lb) values.push(a.lon[x]!, a.lat[x]!, b.lon[y]!, b.lat[y]!, 1 / (na * nb));
            }
            i = iEnd;
          }
        }
        const stride = step.b ? 5 : 3;
        return { groups: new Int32Array(values.length / stride), values: Float64Array.from(values) };
      }
      default:
        return { counts: this.counts(step) };
    }
  }

  counts(step: CountStep): Uint32Array {
    switch (step.op) {
      case 'count-by-location': {
        const vec = this.location(step.input);
        const out = this.zeros(step.nLocs);
        this.kernels.countByLocation(vec, this.task.nSubs, step.nLocs, out);
        return this.copy(out, step.nLocs);
      }
      case 'count-pairs': {
        const from = this.location(step.from);
        const to = this.location(step.to);
        const cells = step.nFrom * step.nTo;
        const out = this.zeros(cells);
        this.kernels.countPairs(from, to, this.task.nSubs, step.nFrom, step.nTo, out);
        if (!step.margins) return this.copy(out, cells);
        // An outer join also needs each side's subscribers per location: the pairs' row (or
        // column) sums leave out those the other side does not locate.
        const pairsCounts = this.copy(out, cells);
        const sides: Uint32Array[] = [pairsCounts];
        for (const [on, vec, n] of [[step.margins.from, from, step.nFrom], [step.margins.to, to, step.nTo]] as const) {
          if (!on) continue;
          const m = this.zeros(n);
          this.kernels.countByLocation(vec, this.task.nSubs, n, m);
          sides.push(this.copy(m, n));
        }
        const all = new Uint32Array(sides.reduce((n, a) => n + a.length, 0));
        let at = 0;
        for (const a of sides) {
          all.set(a, at);
          at += a.length;
        }
        return all;
      }
      case 'set-pairs': {
        // Each side as (subscriber -> locations) lists; every combination of a subscriber counts once.
        const n = this.task.nSubs;
        const [a, b] = [this.sideLists(step.from), this.sideLists(step.to)];
        const out = new Uint32Array(step.nFrom * step.nTo);
        for (let s = 0; s < n; s++) {
          for (let i = a.start[s]!; i < a.start[s + 1]!; i++) {
            const row = a.locs[i]! * step.nTo;
            for (let j = b.start[s]!; j < b.start[s + 1]!; j++) out[row + b.locs[j]!]!++;
          }
        }
        return out;
      }
      case 'trips': {
        const visits = new OD.VisitTable(this.kernels, this.arena, initialCapacity(this.task.nSubs));
        for (const { ev, table } of this.ranges(step.unit, step.filter)) visits.count(ev, table, step.filter, this.task.nSubs, this.drops);
        const out = this.zeros(step.nLocs * step.nLocs);
        visits.trips(this.task.nSubs, step.nLocs, out);
        return this.copy(out, step.nLocs * step.nLocs);
      }
      case 'consecutive-trips': {
        const set = new OD.KeySet(this.kernels, this.arena, initialCapacity(this.task.nSubs));
        const prev = this.vector();
        for (const { ev, table } of this.ranges(step.unit, step.filter)) {
          set.consecutivePairs(ev, table, step.filter, this.task.nSubs, step.nLocs, prev, this.drops);
        }
        const out = this.zeros(step.nLocs * step.nLocs);
        set.consecutiveTrips(step.nLocs, out);
        return this.copy(out, step.nLocs * step.nLocs);
      }
      case 'events-by-bucket': {
        const cells = step.nLocs * step.nBuckets;
        const out = this.zeros(2 * cells);
        const set = new OD.KeySet(this.kernels, this.arena, initialCapacity(this.task.nSubs));
        const buckets = { seconds: step.bucketSeconds, base: step.bucketBase, count: step.nBuckets };
        for (const { ev, table } of this.ranges(step.unit, step.filter)) {
          set.eventsAndSubscribers(ev, table, step.filter, step.dirMask, buckets, step.nLocs, this.task.nSubs, out, out + 4 * cells, this.drops);
        }
        return this.copy(out, 2 * cells);
      }
      case 'unique-set': {
        const reference = step.reference ? this.location(step.reference) : 0;
        const keys = this.uniquePairs(step.unit, step.filter);
        const scratch = this.arena.alloc(4 * Math.max(this.task.nSubs, 1));
        const out = this.zeros(step.nLocs);
        const n = this.task.nSubs;
        if (step.mode === 'unmoving') OD.unmovingCounts(this.kernels, keys, n, step.nLocs, scratch, out);
        else if (step.mode === 'unmoving-at-reference') OD.unmovingAtReferenceCounts(this.kernels, keys, reference, n, step.nLocs, scratch, out);
        else OD.activeAtReferenceCounts(this.kernels, keys, reference, n, step.nLocs, scratch, out);
        return this.copy(out, step.nLocs);
      }
      case 'both': {
        const a = this.counts(step.a as CountStep);
        const b = this.counts(step.b as CountStep);
        const out = new Uint32Array(a.length + b.length);
        out.set(a);
        out.set(b, a.length);
        return out;
      }
      case 'unique-by-location': {
        const n = this.task.nSubs;
        if (step.clip !== undefined) return this.clippedUnique(step.unit, step.filter, step.nLocs, step.clip);
        if (bitmapBytes(n, step.nLocs) <= this.task.maxBitmapBytes) {
          // Few locations: one bit per (subscriber, location) beats a hash table of pairs.
          const bytes = bitmapBytes(n, step.nLocs);
          const bits = this.arena.alloc(bytes);
          this.u8(bits, bytes).fill(0);
          for (const { ev, table } of this.ranges(step.unit, step.filter)) {
            this.kernels.markSubLocations(ev, table, step.filter, n, step.nLocs, bits, this.drops);
          }
          const out = this.zeros(step.nLocs);
          this.kernels.countSubLocations(bits, n, step.nLocs, out);
          return this.copy(out, step.nLocs);
        }
        const pairs = this.uniquePairs(step.unit, step.filter);
        const out = this.zeros(step.nLocs);
        this.kernels.countByLocation(pairs.loc, pairs.count, step.nLocs, out);
        return this.copy(out, step.nLocs);
      }
    }
  }

  /** Each local subscriber's labelled clusters over the window (kernel pass, then clustering). */
  clusters(params: MeaningfulParams, f: WindowFilter): ClusterList {
    const scores = this.arena.alloc(8 * 31);
    const f64 = new Float64Array(this.task.memory.buffer, scores, 31);
    f64.set(params.hourScores, 0);
    f64.set(params.dowScores, 24);
    const table = new ScoreTable(this.kernels, this.arena, initialCapacity(this.task.nSubs));
    for (const { ev, table: loc } of this.ranges('lon-lat', f)) {
      table.accumulate(ev, loc, f, this.task.nSubs, { hour: scores, dow: scores + 8 * 24 }, this.drops);
    }
    const { lon, lat, n } = this.task.lonLat;
    const points = { lon: new Float64Array(this.task.memory.buffer, lon, n), lat: new Float64Array(this.task.memory.buffer, lat, n) };
    return clustersOf(table.entries(), points, params, this.task.nSubs);
  }

  zeros(n: number): Ptr {
    const ptr = this.arena.alloc(4 * n);
    this.u8(ptr, 4 * n).fill(0);
    return ptr;
  }

  /** Results leave shared memory as a private copy: the arena is reused after the task. */
  copy(ptr: Ptr, n: number): Uint32Array {
    return new Uint32Array(this.task.memory.buffer, ptr, n).slice();
  }

  dropCounts(): PartialResult['drops'] {
    const d = new Uint32Array(this.task.memory.buffer, this.drops, 4);
    return [d[0]!, d[1]!, d[2]!, d[3]!];
  }
}

/** Start small: the table doubles itself when a partition's subscribers visit many places. */
function initialCapacity(nSubs: number): number {
  let cap = 1024;
  while (cap < nSubs * 2 && cap < 1 << 24) cap *= 2;
  return cap;
}

export function runPartition(kernels: Kernels, task: PartitionTask): PartialResult {
  const run = new PartitionRun(kernels, task);
  return { ...run.aggregate(task.step), drops: run.dropCounts() };
}
