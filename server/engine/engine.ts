/**
 * The query engine: a store loaded into shared memory, a planner, an executor
 * and the merge of partition results. A query runs as one task per subscriber
 * partition; after each, the running total can be reported as a progressive
 * estimate. Every result, partial or final, is redacted before it leaves.
 */
import { createHash } from 'node:crypto';
import { type Row, redact, redactEstimate, thresholdFrom } from '../privacy/redact.js';
import { dpInfo, type DpProtection, finalSigma2, nodeSigma2, noiseVector, prefixNodes, type PrivacyInfo, type Protection, stddevOf, treeLevels } from '../privacy/dp/mechanism.js';
import { Store } from '../store/reader.js';
import { ARENA_FULL } from '../wasm/arena.js';
import { bitmapBytes, MAX_BITMAP_BYTES } from './run/counts.js';
import { labelledLocSteps } from './labelled.js';
import { type Executor, InProcessExecutor, PoolExecutor, type Settled } from './executor.js';
import { DEFAULT_RESIDENT_BYTES, LoadedStore, type OptionalColumn, type PoolStats } from './loader.js';
import { Heap } from '../wasm/memory.js';
import { type DpRatio, type Merged, odSumPlans, odSumShapes, type Plan, plan, type PlanContext, RATIO_STEPS, type Shaped, type ShapeTools } from './planner.js';
import { metricRange, REGIONS_PER_SUBSCRIBER } from '../privacy/dp/bounds.js';
import * as M from './metric-kernels.js';
import * as OD from './od-kernels.js';
import type { AggStep, LocStep, MetricStep, PartialResult, PartitionTask, WindowFilter } from './protocol.js';
import { parseSpec, type QuerySpec, specHash } from './spec.js';
import type { Dropped, UnitSpace } from './units.js';
import { instantiate, type Kernels } from './wasm.js';
import { KernelError, SpecError } from '../errors.js';
import { drainSliced, Slicer } from '../util/slices.js';

/** Events per subscriber partition the engine aims at when it chooses the partition count. */
export const EVENTS_PER_PARTITION = 400_000;

/**
 * Subscriber partitions for a store of `events` events: about EVENTS_PER_PARTITION
 * each, at least 16 and at most 256. A task's time, and so the first progressive
 * frame's, stays bounded as the store grows, and a partition's per-subscriber state
 * and hash tables stay small enough for the cache (with 16 partitions, 100 M events
 * ran 2-4x slower per event than 20 M: bench/SCALE.md).
 */
export function partitionsFor(events: number): number {
  return Math.min(256, Math.max(16, Math.ceil(events / EVENTS_PER_PARTITION)));
}

export interface EngineOptions {
  /** Subscriber partitions: tasks per query and steps of a progressive result (1..256; default partitionsFor(the store's events)). */
  partitions?: number;
  /** Worker threads; 0 runs tasks on the calling thread. */
  threads?: number;
  /** Redaction threshold (>= 15). */
  k?: number;
  /** Results kept for repeated specs (default 256). */
  cacheEntries?: number;
  /** A partition task running longer is stopped and its query fails (pool only; default 10 minutes). */
  taskTimeoutMs?: number;
  /** Largest distinct-pair bitmap per task (default 16 MiB); 0 always uses hash tables. */
  maxBitmapBytes?: number;
  /**
   * Bytes of day columns kept resident in the shared memory (default DEFAULT_RESIDENT_BYTES;
   * Infinity: never evict). Days are read on first use; least recently used days not being
   * read by a running query are evicted to stay within it; a query whose window alone needs
   * more is refused (OVER_BUDGET).
   */
  residentBytes?: number;
}

export interface QueryResult {
  query_id: string;
  query_kind: string;
  columns: string[];
  rows: Row[];
  /** Rows withheld by redaction. */
  withheld: number;
  /** Events that qualified but could not be located, by reason (summed over location steps); null when withheld (DP). */
  dropped: Dropped | null;
  /** Share of subscribers processed: 1 for a final result, less for a progressive estimate. */
  fraction: number;
  /** How the rows were protected (threshold redaction, or DP noise with its interval). */
  privacy: PrivacyInfo;
}

/** "Sum then redact" results: each sum published only above the threshold it was redacted at. */
export interface OdSumsResult {
  /** Off-diagonal (from, to) sums > k: FlowKit's pcod_from, pcod_to, value. */
  pairs: Row[];
  /** Off-diagonal sums by destination > k: pcod_to, value. */
  inflows: Row[];
  /** Off-diagonal sums by origin > k: pcod_from, value. */
  outflows: Row[];
  /** Rows with a positive sum that were withheld, per aggregate (which ones, never their values). */
  withheld: { pairs: Row[]; inflows: Row[]; outflows: Row[] };
  /** The threshold applied: a sum is published only if greater. */
  k: number;
}

export interface SumThenRedactOptions {
  /** Threshold, at least the engine's (default: the engine's). */
  k?: number;
  /**
   * Require every sum to exceed k x (number of specs): sum / specs, a lower bound on the
   * distinct subscribers behind a sum of per-spec subscriber counts, must itself exceed k.
   */
  perSpecBound?: boolean;
}

export interface RunOptions {
  /**
   * Called with the redacted running estimate after the first partition, then after each 1/16 of them (never after
   * the last); an estimate that redaction left without a row waits for the next partitions (execute says how).
   */
  onPartial?: (partial: QueryResult) => void;
  /** Called as the query's partition tasks start and finish (the parts FlowKit's poll answer counts). */
  onTasks?: (tasks: TaskProgress) => void;
  /**
   * Asked before each estimate is computed: an estimate costs as much to shape as the final
   * result, so none is made while nobody listens (a REST /run; a stream client that left).
   * Default: estimates whenever onPartial is given.
   */
  partialWanted?: () => boolean;
  /** Called with the share of subscribers done after each batch of partitions (cheap: no rows). */
  onProgress?: (fraction: number) => void;
  /** Threshold redaction (the default, the operator's CLI) or differential privacy (the service's tiers). */
  protection?: Protection;
}

/** A query's partition tasks: how many there are, how many are done, how many are running now. */
export interface TaskProgress {
  total: number;
  done: number;
  running: number;
}

/** What a protection adds to a query id: nothing for threshold redaction, the DP parameters otherwise. */
export function protectionKey(p: Protection | PrivacyInfo | undefined): string {
  // The regions clip is part of it: an answer computed under another clip must not share its id, hence its noise
  // (the same noise on two different truths would let their difference be read exactly).
  return p?.mode === 'dp' ? `dp:${p.rho}:${p.k}:${p.delta}:r${REGIONS_PER_SUBSCRIBER}` : '';
}

/** Noise fixed by a key (an indicator publication), not by a query id. */
export interface FixedNoise {
  secret: Uint8Array;
  key: string;
  rho: number;
}

export interface NoisyRegions {
  /** Noisy value per p-code, every region of the unit. */
  values: Map<string, number>;
  sigma2: number;
  cells: number;
}

export interface NoisyOdSums {
  /** Off-diagonal pairs `${from}\t${to}` -> noisy sum (all of them). */
  pairs?: Map<string, number>;
  inflows?: Map<string, number>;
  outflows?: Map<string, number>;
  sigma2: number;
  /** L2 sensitivity of each vector. */
  sensitivity: number;
}

export class Engine {
  /** Results by query id, least recently used first, at most `cacheEntries` of them. */
  private readonly cache = new Map<string, QueryResult>();
  /** Unredacted flows counts by query id, for sumThenRedact only; never returned. */
  private readonly pairCache = new Map<string, Float64Array>();
  /** Noisy region counts by (query id, noise key, rho): every indicator of a period reads its residents (bounded). */
  private readonly noisyCache = new Map<string, NoisyRegions>();
  private readonly cacheEntries: number;
  private readonly maxBitmapBytes: number;
  private readonly k: number;
  private readonly tools: ShapeTools;

  private constructor(
    readonly store: Store,
    readonly loaded: LoadedStore,
    private readonly heap: Heap,
    private readonly executor: Executor,
    kernels: Kernels,
    k: number,
    cacheEntries: number,
    maxBitmapBytes: number,
  ) {
    this.k = k;
    this.cacheEntries = cacheEntries;
    this.maxBitmapBytes = maxBitmapBytes;
    this.tools = shapeTools(kernels, heap, loaded);
  }

  static open(storeDir: string, opts: EngineOptions = {}): Engine {
    const k = thresholdFrom(opts.k);
    const store = Store.open(storeDir);
    const heap = new Heap();
    const kernels = instantiate(heap.memory);
    let loaded: LoadedStore;
    try {
      // Nothing is read here but the dimensions and the subscribers' partitions: each query reads its own days (LoadedStore.acquire).
      const partitions = opts.partitions ?? partitionsFor(store.days().reduce((n, date) => n + store.day(date).rows, 0));
      loaded = new LoadedStore(store, heap, kernels, partitions, opts.residentBytes ?? DEFAULT_RESIDENT_BYTES);
    } catch (e) {
      store.release();
      throw e;
    }
    const threads = opts.threads ?? 0;
    // The pool's workers start (and compile the kernels) at once, so the first query finds them ready.
    const executor = threads > 0 ? new PoolExecutor({ threads, taskTimeoutMs: opts.taskTimeoutMs, memory: heap.memory }) : new InProcessExecutor(kernels);
    return new Engine(store, loaded, heap, executor, kernels, k, opts.cacheEntries ?? 256, opts.maxBitmapBytes ?? MAX_BITMAP_BYTES);
  }

  /** The redaction threshold in force. */
  get threshold(): number {
    return this.k;
  }

  get version(): number {
    return this.store.version;
  }

  /**
   * The shared memory's allocator: bytes live, free below the frontier, the frontier, and the memory's size
   * (a WebAssembly memory never shrinks: scratch freed after a query stays resident, for the next one to reuse).
   */
  memoryStats(): { live: number; free: number; frontier: number; memory: number } {
    return this.heap.stats();
  }

  /** The buffer pool of day columns: resident bytes against the budget, hits, misses, evictions, bytes read. */
  poolStats(): PoolStats {
    return this.loaded.stats();
  }

  /**
   * Gives back the memory of every day no running query reads (the service calls it on
   * the engine of a store version it no longer serves, while that engine's queries finish).
   */
  evictUnpinned(): void {
    this.loaded.evictUnpinned();
  }

  /** Subscriber partitions: the tasks one query runs as. */
  get partitions(): number {
    return this.loaded.nParts;
  }

  /** Validates a spec against this store (units, dates); throws SpecErrors listing every problem. */
  parse(json: unknown): QuerySpec {
    const days = this.store.days();
    return parseSpec(json, {
      units: this.loaded.units.names(),
      days: days.length ? { first: days[0]!, last: days.at(-1)! } : undefined,
    });
  }

  /**
   * The spec's content hash with the store version; under DP, hashed again with
   * the parameters, so that answers with different noise never share an id.
   */
  queryId(spec: QuerySpec, protection?: string | Protection): string {
    const id = specHash(spec, this.store.version);
    const key = typeof protection === 'string' ? protection : protectionKey(protection);
    return key ? createHash('sha256').update(`${id}|${key}`).digest('hex') : id;
  }

  async run(json: unknown, opts: RunOptions = {}): Promise<QueryResult> {
    const spec = this.parse(json);
    const id = this.queryId(spec, opts.protection);
    const cached = this.cache.get(id);
    if (cached) {
      // Most recently used last: eviction takes the front.
      this.cache.delete(id);
      this.cache.set(id, cached);
      return cached;
    }
    const p = plan(spec, this.planContext());
    const protection = opts.protection;
    const result = protection?.mode === 'dp' ? await this.executeDp(id, dpPlan(p), opts, protection) : await this.execute(id, p, opts);
    this.cache.set(id, result);
    while (this.cache.size > this.cacheEntries) this.cache.delete(this.cache.keys().next().value!);
    return result;
  }

  private planContext(): PlanContext {
    return { units: this.loaded.units, nSubs: this.loaded.nSubs, days: this.loaded.dayNumbers(), regions: this.store.dims().regions };
  }

  /**
   * "Sum then redact" as one engine step: runs each flows spec (all dense, at one unit),
   * sums their UNREDACTED (from, to) counts, and only then redacts the off-diagonal pair
   * sums and their sums by destination and by origin, each at k. FlowKit's issue #4866
   * summed redacted flows, which undercounts and makes a sum depend on the threshold.
   * Unredacted counts stay inside the engine: only sums above k leave it.
   */
  async sumThenRedact(specs: readonly unknown[], opts: SumThenRedactOptions = {}): Promise<OdSumsResult> {
    const base = opts.k ?? this.k;
    if (!(base >= this.k)) throw new SpecError('BAD_THRESHOLD', `k: expected at least the engine's threshold ${this.k}, found ${base}`, 'k');
    const k = opts.perSpecBound ? base * Math.max(1, specs.length) : base;
    const { space, sums } = await this.odSums(specs);
    const shapes = odSumShapes(space, sums);
    sums.fill(0);
    const published = (which: keyof typeof shapes) => {
      const kept = redact(shapes[which], k).rows;
      const keptSet = new Set(kept);
      return { kept, withheld: shapes[which].rows.filter((r) => !keptSet.has(r)).map((r) => ({ ...r, value: null })) };
    };
    const pairs = published('pairs');
    const inflows = published('inflows');
    const outflows = published('outflows');
    return {
      pairs: pairs.kept,
      inflows: inflows.kept,
      outflows: outflows.kept,
      withheld: { pairs: pairs.withheld, inflows: inflows.withheld, outflows: outflows.withheld },
      k,
    };
  }

  /**
   * Indicators under DP (docs/PRIVACY.md): a region-per-row spec (spatial_aggregate,
   * unique_subscriber_counts) computed exactly, every region of the unit noised with
   * discrete Gaussian noise of sigma^2 = cells / (2 rho) (cells: the kind's contribution
   * bound), keyed by `key` alone, so the same publication gets the same noise whoever
   * asks. Noisy values are returned unthresholded: thresholding them is post-processing.
   */
  async noisyRegionCounts(json: unknown, noise: FixedNoise): Promise<NoisyRegions> {
    const spec = this.parse(json);
    const cacheKey = JSON.stringify([this.queryId(spec), noise.key, noise.rho]);
    const hit = this.noisyCache.get(cacheKey);
    if (hit) return hit;
    const p = dpPlan(plan(spec, this.planContext()));
    const cells = dpCells(p);
    if (!p.step) throw new SpecError('BAD_VALUE', `noisyRegionCounts: expected a spec with subscribers behind it, found ${p.kind}`, 'query_kind');
    for (const prep of p.prepare ?? []) prep.settle((await this.collect(prep.step)).merged);
    const { merged } = await this.collect(p.step);
    const shaped = await drainSliced(p.shape(merged, this.tools, { dense: true }));
    const sigma2 = cells / (2 * noise.rho);
    const v = noiseVector(noise.secret, noise.key, 'final', shaped.rows.length, sigma2);
    const values = new Map<string, number>();
    shaped.rows.forEach((row, i) => values.set(String(row.pcod), (row.value as number) + v[i]!));
    const out = { values, sigma2, cells };
    this.noisyCache.set(cacheKey, out);
    while (this.noisyCache.size > this.cacheEntries) this.noisyCache.delete(this.noisyCache.keys().next().value!);
    return out;
  }

  /**
   * "Sum then noise": the unredacted off-diagonal OD sums of flows specs (as in
   * sumThenRedact), each vector asked for noised under its own key. One subscriber
   * adds at most 1 to one pair per spec, so the L2 sensitivity of the sum (and of its
   * sums by destination or origin) is at most the sum of the specs' sqrt(cells):
   * D = number of specs for daily ODs. sigma^2 = D^2 / (2 rho). Zero cells are noised too.
   */
  async sumThenNoise(specs: readonly unknown[], noise: { secret: Uint8Array; rho: number; keys: { pairs?: string; inflows?: string; outflows?: string } }): Promise<NoisyOdSums> {
    const { plans, space, sums } = await this.odSums(specs);
    const n = space.size;
    let d = 0;
    for (const plan of plans) d += Math.sqrt(dpCells(plan));
    const sigma2 = Math.max(1, d * d) / (2 * noise.rho);
    const pcods = Array.from({ length: n }, (_, i) => String((space.label(i) as Record<string, unknown>).pcod));
    const out: NoisyOdSums = { sigma2, sensitivity: d };
    if (noise.keys.pairs) {
      const v = noiseVector(noise.secret, noise.keys.pairs, 'final', n * (n - 1), sigma2);
      out.pairs = new Map();
      let at = 0;
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b) out.pairs.set(`${pcods[a]}\t${pcods[b]}`, sums[a * n + b]! + v[at++]!);
    }
    for (const side of ['inflows', 'outflows'] as const) {
      const key = noise.keys[side];
      if (!key) continue;
      const v = noiseVector(noise.secret, key, 'final', n, sigma2);
      const m = new Map<string, number>();
      for (let l = 0; l < n; l++) {
        let s = 0;
        for (let o = 0; o < n; o++) if (o !== l) s += side === 'inflows' ? sums[o * n + l]! : sums[l * n + o]!;
        m.set(pcods[l]!, s + v[l]!);
      }
      out[side] = m;
    }
    sums.fill(0);
    return out;
  }

  /** The UNREDACTED (from, to) counts of flows specs (all dense, at one unit) summed: engine-private, for sumThenRedact and sumThenNoise. */
  private async odSums(specs: readonly unknown[]): Promise<{ plans: Plan[]; space: UnitSpace; sums: Float64Array }> {
    const parsed = specs.map((s) => this.parse(s));
    const { plans, space } = odSumPlans(parsed, this.planContext());
    const sums = new Float64Array(space.size * space.size);
    for (let i = 0; i < plans.length; i++) {
      const counts = await this.pairCounts(this.queryId(parsed[i]!), plans[i]!.step!);
      for (let c = 0; c < sums.length; c++) sums[c] += counts[c]!;
    }
    return { plans, space, sums };
  }

  /** A flows step's merged (from, to) counts, UNREDACTED: engine-private, cached by query id (bounded). */
  private async pairCounts(id: string, step: AggStep): Promise<Float64Array> {
    let counts = this.pairCache.get(id);
    if (!counts) {
      counts = (await this.collect(step)).merged.counts;
      if (step.op === 'count-pairs' && counts.length === 0) counts = new Float64Array(step.nFrom * step.nTo); // no partitions
      this.pairCache.set(id, counts);
      while (this.pairCache.size > this.cacheEntries) this.pairCache.delete(this.pairCache.keys().next().value!);
    }
    return counts;
  }

  private async execute(id: string, p: Plan, opts: RunOptions): Promise<QueryResult> {
    const step = p.step;
    if (!step) return this.finish(id, p, { counts: new Float64Array(0), groups: [], values: [] }, [0, 0, 0, 0], 1);
    const P = this.loaded.nParts;
    // Samples that need their population's keys settle their rule first.
    for (const prep of p.prepare ?? []) prep.settle((await this.collect(prep.step)).merged);
    const { onPartial, partialWanted = () => true } = opts;
    // A due estimate whose every row redaction withheld (a series kind after one partition: each location has
    // some bucket of k or fewer subscribers in it) is not sent: the next merge tries again, at most MAX_PARTIALS
    // more times in a query, so the first frame a client gets carries an estimate. Supports only grow, so once
    // a frame has rows every later one has. Estimates withheld by design (open groups: labelled kinds) are sent.
    let pending = false;
    let retries = 0;
    // An estimate is shaped in slices inside the merge turn (so the merged total holds still meanwhile);
    // the pool keeps running partitions.
    const { merged, drops } = await this.collect(
      step,
      async (merged, drops, fraction, done, before) => {
        if (done < P) opts.onProgress?.(fraction);
        if (!onPartial || done >= P || !partialWanted()) return;
        if (!partialDue(done, P, before)) {
          if (!pending || retries >= MAX_PARTIALS) return;
          retries++;
        }
        let open = false;
        const partial = await this.finish(id, p, merged, drops, fraction, (shaped) => (open = shaped.openGroups === true));
        pending = partial.rows.length === 0 && partial.withheld > 0 && !open;
        if (!pending && partialWanted()) onPartial(partial);
      },
      opts.onTasks,
    );
    return this.finish(id, p, merged, drops, 1);
  }

  /**
   * Refuses, before anything runs or is charged, a spec that cannot be released
   * under `protection` (DP_UNSUPPORTED: a kind whose contribution is not bounded).
   */
  assertReleasable(spec: QuerySpec, protection: Protection | undefined): void {
    if (protection?.mode === 'dp') dpCells(plan(spec, this.planContext()));
  }

  /**
   * A differentially private run: every cell of the kind's domain noised, then
   * thresholded on the noisy value (post-processing). The final answer carries
   * its own noise; progressive frames are prefix sums over partitions (merged in
   * partition order) plus the noise of the tree nodes covering the prefix.
   * Noise is keyed by the query id, so the same query gets the same answer.
   */
  private async executeDp(id: string, p: Plan, opts: RunOptions, prot: DpProtection): Promise<QueryResult> {
    if (!p.step) return { ...(await this.finish(id, p, { counts: new Float64Array(0), groups: [], values: [] }, [0, 0, 0, 0], 1)), privacy: { mode: 'dp', k: prot.k } };
    const cells = dpCells(p);
    if (p.dp?.ratio) return this.releaseRatio(id, p, p.dp.ratio, opts, prot);
    const P = this.loaded.nParts;
    const levels = treeLevels(P);
    const noise = new Map<string, Float64Array>();
    const release = async (merged: Merged, fraction: number, nodes: string[], sigma2: number): Promise<QueryResult> => {
      const shaped = await drainSliced(p.shape(merged, this.tools, { dense: true }));
      const n = shaped.rows.length;
      const total = new Float64Array(n);
      for (const node of nodes) {
        let v = noise.get(node);
        if (!v) noise.set(node, (v = noiseVector(prot.secret, id, node, n, sigma2)));
        for (let i = 0; i < n; i++) total[i] += v[i]!;
      }
      const rows: Row[] = [];
      for (let i = 0; i < n; i++) {
        const noisy = (shaped.rows[i]!.value as number) + total[i]!;
        if (noisy <= prot.k) continue;
        // A copy by assignment, not a spread: the same row, many times faster in V8 over a dense domain's thousands of cells.
        const row: Row = {};
        const from = shaped.rows[i]!;
        for (const c in from) row[c] = from[c]!;
        row.value = fraction < 1 ? Math.round(noisy / fraction) : noisy;
        rows.push(row);
      }
      const info = dpInfo(prot, sigma2 * nodes.length);
      // An estimate's published value is scaled by 1/fraction, and so is its noise.
      if (fraction < 1) Object.assign(info, { scale: info.scale! / fraction, interval95: Math.ceil(info.interval95! / fraction) });
      return { query_id: id, query_kind: p.kind, columns: shaped.columns, rows, withheld: n - rows.length, dropped: null, fraction, privacy: info };
    };
    for (const prep of p.prepare ?? []) prep.settle((await this.collect(prep.step)).merged);
    const frameSigma2 = nodeSigma2(prot.rho, cells, levels);
    const { onPartial, partialWanted = () => true } = opts;
    const { merged } = await this.collect(
      p.step,
      async (m, _drops, _subscriberShare, done, before) => {
        // The share of PARTITIONS done, not of subscribers: the exact subscriber share S_m / N, reported on every
        // frame and poll, gave the store's subscriber count N by reducing two fractions (test/privacy/attack-fraction.test.ts).
        // Partitions are a keyed-hash sample of subscribers, so m / P estimates the same share and no subscriber moves it.
        const fraction = done / P;
        if (done < P) opts.onProgress?.(fraction);
        if (!onPartial || done >= P || levels === 0 || !partialDue(done, P, before) || !partialWanted()) return;
        // A skipped frame changes nothing: each node's noise is keyed by the query id and the node.
        const partial = await release(m, fraction, prefixNodes(done, levels), frameSigma2);
        if (partialWanted()) onPartial(partial);
      },
      opts.onTasks,
      true,
    );
    return release(merged, 1, ['final'], finalSigma2(prot.rho, cells));
  }

  /**
   * The exact vectors a DP release of `json` noises (dense, in release order) and the L2 bound on how much one
   * subscriber can change each: the operator's view (as exact as the CLI's answers), for the tests that check
   * each kind's contribution bound on neighbouring stores. Never served.
   */
  async dpVectors(json: unknown): Promise<{ name: string; values: Float64Array; bound: number }[]> {
    const p = dpPlan(plan(this.parse(json), this.planContext()));
    const cells = dpCells(p);
    if (!p.step) return [];
    for (const prep of p.prepare ?? []) prep.settle((await this.collect(prep.step)).merged);
    const { merged } = await this.collect(p.step);
    if (p.dp?.ratio) {
      const clip = metricRange(p.dp.ratio.metric)!;
      const { sums, counts } = p.dp.ratio.vectors(merged, clip);
      const d = Math.round((Math.max(Math.abs(clip[0]), Math.abs(clip[1])) * RATIO_STEPS) / (clip[1] - clip[0]));
      return [
        { name: 'sum', values: sums, bound: d },
        { name: 'count', values: counts, bound: 1 },
      ];
    }
    const shaped = await drainSliced(p.shape(merged, this.tools, { dense: true }));
    return [{ name: 'final', values: Float64Array.from(shaped.rows, (r) => Number(r.value)), bound: Math.sqrt(cells) }];
  }

  /**
   * A DP average per location (DpRatio): the clipped sums and the counts, each noised with half of the
   * query's rho (sums: L2 sensitivity RATIO_STEPS x max(|lo|, |hi|) / (hi - lo) grid units; counts: 1), and
   * their ratio published where the noisy count exceeds k, clamped to the range (post-processing). No
   * progressive frames: the whole rho pays for the final answer.
   */
  private async releaseRatio(id: string, p: Plan, ratio: DpRatio, opts: RunOptions, prot: DpProtection): Promise<QueryResult> {
    const clip = metricRange(ratio.metric)!;
    const [lo, hi] = clip;
    for (const prep of p.prepare ?? []) prep.settle((await this.collect(prep.step)).merged);
    const P = this.loaded.nParts;
    // Progress as the partitions' share (m / P), never the subscribers' (it would tell N: executeDp).
    const { merged } = await this.collect(p.step!, (_m, _d, _share, done) => (done < P ? opts.onProgress?.(done / P) : undefined), opts.onTasks);
    const { columns, labels, sums, counts } = ratio.vectors(merged, clip);
    const n = labels.length;
    const unit = (hi - lo) / RATIO_STEPS;
    const d = Math.round((Math.max(Math.abs(lo), Math.abs(hi)) * RATIO_STEPS) / (hi - lo));
    const countSigma2 = 1 / prot.rho; // rho / 2 each: 1 / (2 (rho / 2))
    const sumSigma2 = (d * d) / prot.rho;
    const nc = noiseVector(prot.secret, id, 'final:count', n, countSigma2);
    const ns = noiseVector(prot.secret, id, 'final:sum', n, sumSigma2);
    const rows: Row[] = [];
    for (let i = 0; i < n; i++) {
      const c = counts[i]! + nc[i]!;
      if (c <= prot.k) continue;
      const v = ((sums[i]! + ns[i]!) * unit) / c;
      const row: Row = {};
      const from = labels[i]!;
      for (const col in from) row[col] = from[col]!;
      row.value = v < lo ? lo : v > hi ? hi : v;
      rows.push(row);
    }
    const count = dpInfo(prot, countSigma2);
    const info: PrivacyInfo = {
      mode: 'dp',
      k: prot.k,
      rho: prot.rho,
      epsilon: count.epsilon,
      delta: prot.delta,
      mechanism: 'discrete_gaussian',
      ratio: { metric: ratio.metric, lower: lo, upper: hi, countScale: count.scale!, sumScale: stddevOf(sumSigma2) * unit },
    };
    return { query_id: id, query_kind: p.kind, columns, rows, withheld: n - rows.length, dropped: null, fraction: 1, privacy: info };
  }

  /** Runs a step on every partition and merges the results; `onMerge` sees the running total after each batch (`before` partitions were done before it). */
  private async collect(
    step: AggStep,
    onMerge?: (merged: Merged, drops: number[], fraction: number, done: number, before: number) => void | Promise<void>,
    onTasks?: (tasks: TaskProgress) => void,
    /** Merge batches in partition order (DP frames are prefix sums), holding one that finishes early. */
    inOrder = false,
  ): Promise<{ merged: Merged; drops: number[] }> {
    // The step's days, pinned until it ends: read now if not resident, never evicted while its tasks run.
    const days = stepDays(step);
    const unpin = await this.loaded.acquire(days, optionalColumns(step));
    try {
      return await this.collectResident(step, days, onMerge, onTasks, inOrder);
    } finally {
      unpin();
    }
  }

  private async collectResident(
    step: AggStep,
    days: readonly number[],
    onMerge: ((merged: Merged, drops: number[], fraction: number, done: number, before: number) => void | Promise<void>) | undefined,
    onTasks: ((tasks: TaskProgress) => void) | undefined,
    inOrder: boolean,
  ): Promise<{ merged: Merged; drops: number[] }> {
    const P = this.loaded.nParts;
    const totalSubs = Math.max(1, this.loaded.nSubs);
    const merged: Merged = { counts: new Float64Array(0), groups: [], values: [] };
    const drops = [0, 0, 0, 0];
    const groupParts: number[] = [];
    let subsDone = 0;
    let done = 0;
    let running = 0;
    const slicer = new Slicer();
    // Merges a partition's result in slices of the event loop (a partition's counts can run to millions).
    const merge = async (part: number, r: PartialResult) => {
      if (r.counts) {
        if (merged.counts.length === 0) merged.counts = new Float64Array(r.counts.length);
        for (let at = 0; at < r.counts.length; at += MERGE_SLICE) {
          addInto(merged.counts, r.counts, at, Math.min(r.counts.length, at + MERGE_SLICE));
          await slicer.tick();
        }
      }
      if (r.bits) {
        if (!merged.bits) merged.bits = new Uint8Array(r.bits.length);
        orInto(merged.bits, r.bits);
      }
      if (r.groups && r.values) {
        // In partition order, whatever order tasks finish in: float statistics then sum in one order every run.
        let at = groupParts.length;
        while (at > 0 && groupParts[at - 1]! > part) at--;
        groupParts.splice(at, 0, part);
        merged.groups.splice(at, 0, r.groups);
        merged.values.splice(at, 0, r.values);
      }
      for (let i = 0; i < 4; i++) drops[i] += r.drops[i]!;
      subsDone += this.loaded.partSizes[part]!;
      done++;
    };
    // One batch merges at a time (the lanes' merges never interleave), so `onMerge` sees whole partitions.
    let merging: Promise<void> = Promise.resolve();
    // Keep a bounded number of batches in flight: each holds an arena of scratch.
    const queue = batchesOf(P, this.executor.concurrency);
    const all = [...queue];
    const held = new Map<number, PartialResult[]>();
    let next = 0;
    const lanes = Array.from({ length: Math.min(queue.length, this.executor.concurrency * 2) }, async () => {
      // A lane runs its next batch while its last one merges: at most one result waits per lane.
      let mine: Promise<void> = Promise.resolve();
      for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
        running += batch.length;
        onTasks?.({ total: P, done, running });
        const results = await this.runBatch(batch, step, days);
        running -= batch.length;
        const index = all.indexOf(batch);
        await mine;
        mine = merging.then(async () => {
          // In DP runs, batches merge in partition order: a frame is then a prefix of the partitions.
          const ready: [number[], PartialResult[]][] = [];
          if (!inOrder) ready.push([batch, results]);
          else {
            held.set(index, results);
            for (let r = held.get(next); r !== undefined; r = held.get(next)) {
              ready.push([all[next]!, r]);
              held.delete(next++);
            }
          }
          onTasks?.({ total: P, done, running });
          for (const [b, rs] of ready) {
            const before = done;
            for (const [i, r] of rs.entries()) await merge(b[i]!, r);
            onTasks?.({ total: P, done, running });
            await onMerge?.(merged, drops, subsDone / totalSubs, done, before);
          }
        });
        merging = mine.catch(() => {}); // the failure is the lane's (await mine), not the next turn's
      }
      await mine;
    });
    await Promise.all(lanes);
    return { merged, drops };
  }

  /**
   * Runs a batch of partitions in one round trip to one thread. They run one after
   * another there, so they share one arena, sized for the largest; a partition whose
   * scratch did not fit runs again on its own with a larger one.
   */
  private async runBatch(parts: number[], step: AggStep, days: readonly number[]): Promise<PartialResult[]> {
    if (parts.length === 1) return [await this.runPartition(parts[0]!, step, days)];
    const arenaBytes = Math.max(...parts.map((part) => this.arenaEstimate(part, step, days)));
    const arena = this.heap.alloc(arenaBytes);
    let settled: Settled[];
    try {
      const shared = this.sharedOf(step, days);
      settled = await this.executor.runBatch(parts.map((part) => this.task(part, step, days, arena, arenaBytes, shared)));
    } finally {
      this.heap.release(arena);
    }
    const failed = settled.find((s): s is { error: Error } => 'error' in s && !(s.error instanceof KernelError && s.error.code === ARENA_FULL));
    if (failed) throw failed.error;
    return Promise.all(settled.map((s, i) => ('result' in s ? s.result : this.runPartition(parts[i]!, step, days))));
  }

  private arenaEstimate(part: number, step: AggStep, stepDays: readonly number[]): number {
    const days = this.loaded.ranges(part, stepDays);
    const rowsIn = (f: WindowFilter) => f.days.reduce((n, d) => n + (days[d]?.n ?? 0), 0);
    return estimateArena(step, this.loaded.partSizes[part]!, this.loaded.nCells, this.maxBitmapBytes, rowsIn);
  }

  /** Runs one partition, retrying with twice the scratch while the arena is too small. */
  private async runPartition(part: number, step: AggStep, days: readonly number[]): Promise<PartialResult> {
    let arenaBytes = this.arenaEstimate(part, step, days);
    for (;;) {
      const arena = this.heap.alloc(arenaBytes);
      try {
        return await this.executor.run(this.task(part, step, days, arena, arenaBytes));
      } catch (e) {
        if (!(e instanceof KernelError && e.code === ARENA_FULL)) throw e;
        arenaBytes *= 2;
      } finally {
        this.heap.release(arena);
      }
    }
  }

  /** What every partition's task of a step shares: the units' location tables and the cells' coordinates, for the step's days. */
  private sharedOf(step: AggStep, days: readonly number[]): Pick<PartitionTask, 'tables' | 'coords'> {
    const tables: PartitionTask['tables'] = {};
    for (const unit of unitsOfStep(step)) {
      tables[unit] = {};
      for (const day of days) tables[unit][day] = this.loaded.table(unit, day);
    }
    const coords: PartitionTask['coords'] = {};
    if (usesCoordinates(step)) for (const day of days) coords[day] = this.loaded.coords(day);
    return { tables, coords };
  }

  /** Partition `part`'s task for a step over its (pinned) days, with its scratch at `arena` (objects in `shared` cross a thread once per batch). */
  private task(part: number, step: AggStep, stepDays: readonly number[], arena: number, arenaBytes: number, shared = this.sharedOf(step, stepDays)): PartitionTask {
    const nSubs = this.loaded.partSizes[part]!;
    const days = this.loaded.ranges(part, stepDays);
    const { tables, coords } = shared;
    return {
      kind: 'partition',
      memory: this.heap.memory,
      nSubs,
      days,
      tables,
      coords,
      nCells: this.loaded.nCells,
      globalOf: this.loaded.globalOf(part),
      lonLat: this.loaded.lonLat(),
      maxBitmapBytes: this.maxBitmapBytes,
      step,
      arena,
      arenaBytes,
    };
  }

  /**
   * Shapes and redacts merged results (an estimate also coarsened and scaled), the shaping in slices
   * of the event loop: a million-row result never holds the main thread for long at a time.
   */
  private async finish(id: string, p: Plan, merged: Merged, drops: number[], fraction: number, seen?: (shaped: Shaped) => void): Promise<QueryResult> {
    const slicer = new Slicer();
    const shaped = await drainSliced(p.shape(merged, this.tools), slicer);
    seen?.(shaped);
    await slicer.tick();
    // An estimate is redacted on its own support, then coarsened and scaled (redactEstimate says how and why).
    const { rows: published, withheld } = fraction < 1 ? redactEstimate(shaped, this.k, fraction) : redact(shaped, this.k);
    return {
      query_id: id,
      query_kind: p.kind,
      columns: shaped.columns,
      rows: published,
      withheld,
      dropped: { noCell: drops[1]!, unknownCell: drops[2]!, outsideRegion: drops[3]! },
      fraction,
      privacy: { mode: 'threshold', k: this.k },
    };
  }

  async close(): Promise<void> {
    await this.executor.close();
    this.loaded.release();
    this.store.release(); // its version's folders may go now (store/lease.ts)
  }
}

/** Counts merged between two looks at the clock: ~0.1 ms of additions. */
const MERGE_SLICE = 1 << 16;

/** into[i] += from[i] for i in [start, end). */
function addInto(into: Float64Array, from: Uint32Array, start: number, end: number): void {
  for (let i = start; i < end; i++) into[i] += from[i]!;
}

/** The cells one subscriber can touch in a plan's output, or DP_UNSUPPORTED for a kind without that bound. */
function dpCells(p: Plan): number {
  if (!p.step) return 0; // geography: no people behind it
  if (p.dp?.ratio && !metricRange(p.dp.ratio.metric)) {
    throw new SpecError('DP_UNSUPPORTED', `metric.query_kind: expected a metric with a clipping range under differential privacy, found ${p.dp.ratio.metric}; see docs/PRIVACY.md`, 'metric.query_kind');
  }
  if (p.dp) return p.dp.cells;
  const od = p.kind === 'flows' || p.kind === 'inflows' || p.kind === 'outflows';
  throw new SpecError(
    'DP_UNSUPPORTED',
    `query_kind: expected a kind released under differential privacy (spatial_aggregate, flows, inflows and outflows between locations, unique_subscriber_counts, histogram_aggregate with fixed bins, joined_spatial_aggregate by avg, geography), found ${p.kind}${od ? ' between location sets or cell-level units' : p.kind === 'histogram_aggregate' ? ' with bins from the data (no range)' : p.kind === 'joined_spatial_aggregate' ? ' by a method other than avg' : ''}; see docs/PRIVACY.md`,
    'query_kind',
  );
}

/**
 * The plan a DP release runs: a unique-by-location step clipped to each subscriber's REGIONS_PER_SUBSCRIBER
 * most-visited locations, with the contribution bound that gives; other plans as they are.
 */
function dpPlan(p: Plan): Plan {
  if (!p.dp?.clipRegions || p.step?.op !== 'unique-by-location') return p;
  const clip = Math.min(REGIONS_PER_SUBSCRIBER, p.step.nLocs);
  return { ...p, step: { ...p.step, clip }, dp: { cells: clip } };
}

/** into |= from, 32 bits at a time where both allow it (a task's cell bitmaps are ~1 MB at 100 M events, one per partition). */
function orInto(into: Uint8Array, from: Uint8Array): void {
  const words = from.byteOffset % 4 === 0 && into.byteOffset % 4 === 0 ? from.length >>> 2 : 0;
  const a = new Uint32Array(into.buffer, into.byteOffset, words);
  const b = new Uint32Array(from.buffer, from.byteOffset, words);
  for (let i = 0; i < words; i++) a[i] |= b[i]!;
  for (let i = 4 * words; i < from.length; i++) into[i] |= from[i]!;
}

/** Most progressive estimates a query reports, the first partition's included. */
export const MAX_PARTIALS = 16;

/**
 * Whether the running total after `done` of `P` partitions is reported: always the
 * first (the earliest estimate), then once per 1/MAX_PARTIALS of the partitions.
 * Shaping and redacting an estimate costs as much as the final result's, so a
 * store cut into many small partitions must not pay it after each one.
 */
export function partialDue(done: number, P: number, before = done - 1): boolean {
  return before === 0 || Math.floor((done * MAX_PARTIALS) / P) > Math.floor((before * MAX_PARTIALS) / P);
}

/**
 * Partitions in batches, in order: single partitions first (the first progressive
 * frame waits for one partition only), then batches doubling to at most
 * P / (8 x threads) partitions, so a big store's hundreds of partitions cost tens of
 * round trips, and every thread still gets several batches to balance the load.
 * Toward the end batches shrink again, to at most the partitions left over twice the
 * threads (the batches in flight at once), down to single partitions: a thread that
 * finishes early then waits for at most one partition of the others, not for a
 * whole batch (guided scheduling).
 */
export function batchesOf(P: number, threads: number): number[][] {
  const t = Math.max(1, threads);
  const cap = Math.max(1, Math.floor(P / (8 * t)));
  const out: number[][] = [];
  let size = 1;
  for (let part = 0; part < P; ) {
    // Two batches of each size, so that both threads start small.
    for (let twice = 0; twice < 2 && part < P; twice++) {
      const n = Math.min(size, P - part, Math.max(1, Math.floor((P - part) / (2 * t))));
      out.push(Array.from({ length: n }, (_, i) => part + i));
      part += n;
    }
    size = Math.min(cap, size * 2);
  }
  return out;
}

/** Group statistics and histograms on the main thread, with the kernels, over merged pairs. */
function shapeTools(kernels: Kernels, heap: Heap, loaded: LoadedStore): ShapeTools {
  const put = <T extends Int32Array | Float64Array>(a: T) => heap.put(a.length ? a : (new (a.constructor as new (n: number) => T)(1)));
  return {
    groupStatistic(groups, values, nGroups, statistic) {
      const g = put(groups);
      const v = put(values);
      const out = heap.alloc(8 * Math.max(nGroups, 1));
      try {
        heap.f64(out, nGroups).fill(NaN);
        M.groupStatistic(kernels, heap, { n: groups.length, group: g, value: v }, nGroups, statistic, out);
        return heap.f64(out, nGroups).slice();
      } finally {
        for (const ptr of [out, v, g]) heap.release(ptr);
      }
    },
    countCells(bits, days, unit, slotsPerDay, firstPeriod, nPeriods, nLocs) {
      const nCells = Math.max(loaded.nCells, 1);
      const perDay = OD.cellBitsBytes(kernels, slotsPerDay, nCells);
      const out = heap.alloc(4 * Math.max(nLocs * nPeriods, 1));
      const set = new OD.KeySet(kernels, heap, 1024);
      const dayBits = heap.alloc(perDay);
      try {
        heap.u8(out, 4 * nLocs * nPeriods).fill(0);
        // Days in date order through one set: a (period, location, cell) counts once.
        days.forEach((day, i) => {
          heap.u8(dayBits, perDay).set(bits.subarray(i * perDay, (i + 1) * perDay));
          const loc = { loc: loaded.table(unit, day), nCells: loaded.nCells };
          set.cells(dayBits, slotsPerDay, loc, nLocs, { first: firstPeriod(day), count: nPeriods }, out);
        });
        return heap.u32(out, nLocs * nPeriods).slice();
      } finally {
        set.release();
        heap.release(dayBits);
        heap.release(out);
      }
    },
    histogram(values, edges) {
      const nBins = edges.length - 1;
      const v = put(values);
      const e = put(edges);
      const out = heap.alloc(4 * Math.max(nBins, 1));
      try {
        heap.u8(out, 4 * nBins).fill(0);
        M.histogram(kernels, values.length, v, e, nBins, out);
        return heap.u32(out, nBins).slice();
      } finally {
        for (const ptr of [out, e, v]) heap.release(ptr);
      }
    },
  };
}

/** The location steps an aggregate step evaluates (nested ones not expanded). */
function locSteps(step: AggStep): LocStep[] {
  switch (step.op) {
    case 'count-by-location':
      return [step.input];
    case 'count-pairs':
      return [step.from, step.to];
    case 'set-pairs':
    case 'sparse-pairs':
      return [step.from, step.to].flatMap((side) => (side.kind === 'location' ? [side.step] : []));
    case 'metric-by-location':
      return [step.locations, ...metricLocSteps(step.metric)];
    case 'unique-set':
      return step.reference ? [step.reference] : [];
    case 'both':
      return [...locSteps(step.a), ...locSteps(step.b)];
    case 'metric-values':
      return metricLocSteps(step.metric);
    case 'sample-keys':
      return 'loc' in step.of ? [step.of.loc] : metricLocSteps(step.of.metric);
    case 'labelled':
      return labelledLocSteps(step);
    default:
      return [];
  }
}

/** A metric without its sample wrappers. */
function unsampled(m: MetricStep): Exclude<MetricStep, { op: 'sample' }> {
  return m.op === 'sample' ? unsampled(m.input) : m;
}

/** The location steps a metric evaluates (displacement's reference). */
function metricLocSteps(m: MetricStep): LocStep[] {
  const inner = unsampled(m);
  return inner.op === 'displacement' ? [inner.reference] : [];
}

/** Every metric step of an aggregate step. */
function metricsOf(step: AggStep): Exclude<MetricStep, { op: 'sample' }>[] {
  if (step.op === 'metric-by-location' || step.op === 'metric-values') return [unsampled(step.metric)];
  if (step.op === 'sample-keys') return 'metric' in step.of ? [unsampled(step.of.metric)] : [];
  if (step.op === 'both') return [...metricsOf(step.a), ...metricsOf(step.b)];
  return [];
}

/** Units scanned directly by an aggregate step (not through a location step). */
function directUnits(step: AggStep): string[] {
  switch (step.op) {
    case 'unique-by-location':
    case 'trips':
    case 'consecutive-trips':
    case 'sparse-trips':
    case 'events-by-bucket':
    case 'unique-set':
    case 'cell-bits':
    case 'cell-seconds':
      return [step.unit];
    case 'both':
      return [...directUnits(step.a), ...directUnits(step.b)];
    case 'set-pairs':
    case 'sparse-pairs':
      return [step.from, step.to].flatMap((side) => (side.kind === 'set' ? [side.unit] : []));
    case 'meaningful':
      return ['lon-lat'];
    default:
      return [];
  }
}

function flatten(s: LocStep): LocStep[] {
  switch (s.op) {
    case 'modal':
    case 'majority':
      return [s, ...s.inputs.flatMap(flatten)];
    case 'coalesce':
      return [s, ...[s.preferred, s.fallback, ...s.weights].flatMap(flatten)];
    case 'sample':
      return [s, ...flatten(s.input)];
    default:
      return [s];
  }
}

function unitsOfStep(step: AggStep): Set<string> {
  const units = new Set<string>(directUnits(step));
  for (const m of metricsOf(step)) if (m.op === 'unique-location-count') units.add(m.unit);
  for (const s of locSteps(step).flatMap(flatten)) if ('unit' in s) units.add(s.unit);
  return units;
}

/**
 * The days a step reads: every window's days, wherever in the step tree a window
 * sits (location steps, metrics, pair sides, labels, meaningful windows). A walk
 * over the plain data rather than a list of fields, so a new step kind's windows
 * count without a change here.
 */
export function stepDays(step: AggStep): number[] {
  const days = new Set<number>();
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
    if (Array.isArray(node)) {
      // Arrays of numbers (sample keys, weights) hold no windows.
      if (node.length > 0 && typeof node[0] === 'object') for (const x of node) walk(x);
      return;
    }
    const o = node as Record<string, unknown>;
    if (Array.isArray(o.days) && typeof o.tStart === 'number' && typeof o.typeMask === 'number') for (const d of o.days as number[]) days.add(d);
    for (const key in o) if (key !== 'days') walk(o[key]);
  };
  walk(step);
  return [...days].sort((a, b) => a - b);
}

/** Optional columns the step's metrics read. */
function optionalColumns(step: AggStep): OptionalColumn[] {
  const ops = new Set(metricsOf(step).map((m) => m.op));
  const out: OptionalColumn[] = [];
  if (ops.has('degree') || ops.has('pareto')) out.push('peer');
  if (ops.has('topup')) out.push('recharge');
  return out;
}

function usesCoordinates(step: AggStep): boolean {
  return metricsOf(step).some((m) => m.op === 'radius-of-gyration' || m.op === 'displacement');
}

/** Bytes of the counts an aggregate step returns. */
function countBytes(step: AggStep): number {
  switch (step.op) {
    case 'count-by-location':
    case 'unique-by-location':
    case 'unique-set':
      return 4 * step.nLocs;
    case 'count-pairs':
      // An outer join's margins: each kept side's subscribers per location, after the pairs.
      return 4 * (step.nFrom * step.nTo + (step.margins?.from ? step.nFrom : 0) + (step.margins?.to ? step.nTo : 0));
    case 'set-pairs':
      return 4 * step.nFrom * step.nTo;
    case 'trips':
    case 'consecutive-trips':
      return 4 * step.nLocs * step.nLocs;
    case 'events-by-bucket':
      return 8 * step.nLocs * step.nBuckets;
    case 'both':
      return countBytes(step.a) + countBytes(step.b);
    default:
      return 0;
  }
}

/**
 * A first guess of a task's scratch: vectors and outputs exactly, hash tables at
 * their first size with room to double twice. A full arena doubles and retries.
 */
function estimateArena(step: AggStep, nSubs: number, nCells: number, maxBitmap: number, rowsIn: (f: WindowFilter) => number): number {
  let cap = 1024;
  while (cap < nSubs * 2) cap *= 2;
  const table = 3 * 32 * cap + 64;
  let bytes = (1 << 16) + countBytes(step) + 16 * cap;
  for (const s of locSteps(step).flatMap(flatten)) {
    bytes += 4 * nSubs + 64;
    if (s.op === 'most-days') bytes += table;
    // most-common gathers (sub, loc) per event, then tallies: 24 bytes an event, 4 a subscriber.
    if (s.op === 'most-common') bytes += 24 * rowsIn(s.filter) + 4 * (nSubs + 1) + 256;
    if (s.op === 'modal' || s.op === 'majority') bytes += 12 * s.inputs.length + 64;
    if (s.op === 'coalesce') bytes += 4 * s.weights.length + 64;
  }
  // Metric state (radius of gyration's is the largest: 64 bytes a subscriber), its output and the (group, value) pairs.
  if (metricsOf(step).length > 0) bytes += 96 * nSubs + 256 + table;
  // Top-up values are gathered per event before their statistic.
  if (metricsOf(step).some((m) => m.op === 'topup' || m.op === 'displacement')) bytes *= 2;
  if (directUnits(step).length > 0) bytes += table + 8 * nSubs;
  // Meaningful locations: the score table (48-byte slots) with room to double, and its entries.
  if (step.op === 'meaningful') bytes += (step.b ? 2 : 1) * (3 * 48 * cap + 64 + 32 * cap) + 256;
  // Sparse trips gather (sub, loc, t) per event of the window.
  if (step.op === 'sparse-trips') bytes += 12 * rowsIn(step.filter) + 64;
  if (step.op === 'unique-by-location') bytes += bitmapBytes(nSubs, step.nLocs) <= maxBitmap ? bitmapBytes(nSubs, step.nLocs) : 0;
  if (step.op === 'cell-seconds') bytes += Math.ceil((3600 * Math.max(nCells, 1)) / 128) * 16 + 16;
  if (step.op === 'cell-bits') bytes += (Math.ceil((step.slotsPerDay * Math.max(nCells, 1)) / 128) * 16 + 16) * Math.max(step.filter.days.length, 1);
  return bytes;
}
