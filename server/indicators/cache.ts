/**
 * Incremental indicators: a result is kept with a signature of everything it
 * was computed from (the stored days it reads, as their immutable day folders,
 * and the cell and region tables' hash). When a new day lands, only the periods whose
 * signature changed are computed again; the others are served as they were,
 * across store versions and engine swaps.
 */
import type { Engine } from '../engine/engine.js';
import type { Period } from './catalog.js';
import { type ComputeOptions, computeIndicator, type IndicatorResult } from './compute.js';

export class IndicatorCache {
  private readonly entries = new Map<string, { signature: string; result: IndicatorResult }>();
  /** Indicators computed (not served from the cache): for operators and tests. */
  computed = 0;

  constructor(private readonly maxEntries = 512) {}

  async get(engine: Engine, id: string, p: Period, unit: string, opts: ComputeOptions = {}): Promise<IndicatorResult> {
    // The DP secret is not part of the key (it is the same for the process); its figures are.
    const dp = opts.dp && { rho: opts.dp.rho, k: opts.dp.k, delta: opts.dp.delta };
    const key = JSON.stringify([id, unit, p.resolution, p.key, { ...opts, dp }]);
    const sig = signature(engine, p, opts);
    const hit = this.entries.get(key);
    if (hit && hit.signature === sig) {
      this.entries.delete(key);
      this.entries.set(key, hit); // most recently used last
      return hit.result;
    }
    const result = await computeIndicator(engine, id, p, unit, opts);
    this.computed++;
    this.entries.set(key, { signature: sig, result });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return result;
  }
}

/**
 * The store content an indicator of period `p` depends on: the stored days from
 * its previous period (arrivals, departures, relocations) or the day before it
 * (day-to-day OD) through its last day, or from the store's first day when
 * scaled (the scaling baseline is the store's first period), plus the
 * dimension tables and the threshold.
 */
function signature(engine: Engine, p: Period, opts: ComputeOptions): string {
  const m = engine.store.manifest;
  const days = engine.store.days();
  const first = opts.scale ? days[0]! : (p.previous?.days[0] ?? p.dayBefore ?? p.days[0]!);
  const last = p.days.at(-1)!;
  const dirs = days.filter((d) => d >= first && d <= last).map((d) => m.days[d]!.dir);
  return JSON.stringify([m.dimsHash ?? m.dims, engine.threshold, dirs]);
}
