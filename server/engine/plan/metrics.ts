/**
 * Per-subscriber metric steps (MetricStep) from the metric kinds of
 * spec/metrics.ts, one planner per kind in a registry the compiler checks
 * against METRIC_KINDS; and the aggregates over a metric:
 * joined_spatial_aggregate and histogram_aggregate.
 */
import { SpecError } from '../../errors.js';
import type { Row } from '../../privacy/redact.js';
import { directionMask, nightMaskOf, type StatisticName } from '../metric-kernels.js';
import type { MetricStep } from '../protocol.js';
import type { EventFilter, MetricKind, MetricSpec, SpecOf } from '../spec.js';
import { locationStep } from './locations.js';
import { concat, datedWindow, localSeconds, type Merged, notYet, type PlanContext, type Planners, RATIO_STEPS, sampled, windowFilter } from './plan.js';
import { labelled } from './rows.js';

type MetricPlanners = { readonly [K in MetricKind]: (ctx: PlanContext, s: SpecOf<K>, path: string) => MetricStep };

const PERIOD_SECONDS = { days: 86400, hours: 3600, minutes: 60 } as const;

/** The spec's [start_date, end_date) window and event filter (every windowed metric has them). */
const windowed = (ctx: PlanContext, s: { start_date: string; end_date: string; event_types: EventFilter['event_types']; hours?: EventFilter['hours'] }, path: string) => datedWindow(ctx, s, path);

const METRIC_PLANNERS: MetricPlanners = {
  radius_of_gyration: (ctx, s, path) => ({ op: 'radius-of-gyration', filter: windowed(ctx, s, path) }),
  event_count: (ctx, s, path) => ({ op: 'event-count', filter: windowed(ctx, s, path), dirMask: directionMask(s.direction) }),
  nocturnal_events: (ctx, s, path) => ({ op: 'nocturnal', filter: windowed(ctx, s, path), dirMask: directionMask('both'), nightMask: nightMaskOf(s.night_hours.start_hour, s.night_hours.end_hour) }),
  unique_location_counts: (ctx, s, path) => ({ op: 'unique-location-count', unit: s.aggregation_unit, filter: windowed(ctx, s, path) }),
  total_active_periods(ctx, s, path) {
    const periodSeconds = s.period_length * PERIOD_SECONDS[s.period_unit];
    const t0 = localSeconds(s.start_date, `${path}.start_date`);
    return { op: 'active-periods', periodSeconds, filter: windowFilter(ctx, s, t0, t0 + s.total_periods * periodSeconds) };
  },
  subscriber_degree: (ctx, s, path) => ({ op: 'degree', filter: windowed(ctx, s, path), dirMask: directionMask(s.direction) }),
  pareto_interactions: (ctx, s, path) => ({ op: 'pareto', filter: windowed(ctx, s, path), dirMask: directionMask('both'), proportion: s.proportion }),
  displacement(ctx, s, path) {
    const ref = locationStep(ctx, s.reference_location, `${path}.reference_location`);
    if (ref.unit !== 'lon-lat') {
      throw new SpecError(
        'BAD_VALUE',
        `${path}.reference_location.aggregation_unit: expected lon-lat (distances are measured from a point, as in FlowKit), found ${JSON.stringify(ref.unit)}`,
        `${path}.reference_location.aggregation_unit`,
      );
    }
    return { op: 'displacement', filter: windowed(ctx, s, path), statistic: s.statistic, reference: ref.step };
  },
  topup_amount(ctx, s, path) {
    // Top-ups are their own event type; the spec takes no event_types here.
    const filter = datedWindow(ctx, { ...s, event_types: ['topups'] }, path);
    return { op: 'topup', filter, statistic: s.statistic };
  },
  topup_balance: (_ctx, s, path) => {
    throw notYet(s.query_kind, `${path}.query_kind`);
  },
  handset: (_ctx, _s, path) => {
    throw new SpecError('NOT_IMPLEMENTED', `${path}.query_kind: handset needs device (TAC) data, which the data contract (docs/DATA.md) does not carry`, `${path}.query_kind`);
  },
};

/** A per-subscriber metric step; kinds without a kernel yet are refused. */
export function metricStep(ctx: PlanContext, s: MetricSpec, path: string): MetricStep {
  if ('sampling' in s && s.sampling) {
    const input = metricStep(ctx, { ...s, sampling: null } as MetricSpec, path);
    return { op: 'sample', input, rule: sampled(ctx, s.sampling, { metric: input }, `${path}.sampling`) };
  }
  return (METRIC_PLANNERS[s.query_kind] as (ctx: PlanContext, s: MetricSpec, path: string) => MetricStep)(ctx, s, path);
}

/**
 * Bin edges: explicit edges, or n equal-width bins over the range (the given one,
 * else the values' own min and max, as FlowKit does). Null when there is nothing to bin.
 */
function histogramEdges(
  bins: { n_bins: number } | { bin_list: number[] },
  range: { lower_bound: number; upper_bound: number } | null,
  values: Float64Array,
): Float64Array | null {
  if ('bin_list' in bins) return Float64Array.from(bins.bin_list);
  let lo = range?.lower_bound ?? Infinity;
  let hi = range?.upper_bound ?? -Infinity;
  if (!range) {
    for (const v of values) {
      if (Number.isNaN(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(lo <= hi)) return null;
  if (lo === hi) hi = lo + 1;
  const n = bins.n_bins;
  return Float64Array.from({ length: n + 1 }, (_, i) => (i === n ? hi : lo + ((hi - lo) * i) / n));
}

export const METRIC_AGGREGATE_PLANNERS: Planners<'joined_spatial_aggregate' | 'histogram_aggregate'> = {
  joined_spatial_aggregate(spec, ctx) {
    if (spec.method === 'distr') {
      // distr is FlowKit's method for categorical metrics only (handset), and docs/DATA.md has no device column.
      throw new SpecError('NOT_IMPLEMENTED', `method: 'distr' applies to the categorical handset metric, which needs device (TAC) data the data contract (docs/DATA.md) does not carry`, 'method');
    }
    const { step: locations, unit } = locationStep(ctx, spec.locations, 'locations');
    const space = ctx.units.space(unit);
    const metric = metricStep(ctx, spec.metric, 'metric');
    const method = spec.method as StatisticName;
    return {
      kind: spec.query_kind,
      step: { op: 'metric-by-location', locations, metric },
      shape: (m, tools) => {
        const groups = concat(Int32Array, m.groups);
        const values = concat(Float64Array, m.values);
        const stat = tools.groupStatistic(groups, values, space.size, method);
        const located = new Float64Array(space.size);
        for (const g of groups) located[g]++;
        const rows: Row[] = [];
        const support: number[] = [];
        for (let i = 0; i < space.size; i++) {
          if (located[i] === 0) continue;
          rows.push({ ...labelled(space, i), value: Number.isNaN(stat[i]!) ? null : stat[i]! });
          support.push(located[i]!);
        }
        // A location is kept only if more than k subscribers are located there (docs/QUERIES.md).
        return { columns: [...space.columns, 'value'], rows, support, rule: 'value', scaled: false };
      },
      // Under DP only the average, of values clipped to the metric's range (DpRatio).
      ...(method === 'avg'
        ? {
            dp: {
              cells: 1,
              ratio: {
                metric: spec.metric.query_kind,
                vectors: (m: Merged, [lo, hi]: readonly [number, number]) => {
                  const sums = new Float64Array(space.size);
                  const counts = new Float64Array(space.size);
                  for (let part = 0; part < m.groups.length; part++) {
                    const groups = m.groups[part]!;
                    const values = m.values[part]!;
                    for (let i = 0; i < groups.length; i++) {
                      const v = values[i]!;
                      if (Number.isNaN(v)) continue;
                      // Clipped, then on a grid of (hi - lo) / RATIO_STEPS: the sums are integers in grid units, so that the
                      // discrete Gaussian's integer noise does not leave their fractional part (one subscriber's digits) exact.
                      sums[groups[i]!] += Math.round(((v < lo ? lo : v > hi ? hi : v) * RATIO_STEPS) / (hi - lo));
                      counts[groups[i]!]++;
                    }
                  }
                  return { columns: [...space.columns, 'value'], labels: Array.from({ length: space.size }, (_, i) => labelled(space, i)), sums, counts };
                },
              },
            },
          }
        : {}),
    };
  },
  histogram_aggregate(spec, ctx) {
    const metric = metricStep(ctx, spec.metric, 'metric');
    const bins = spec.bins;
    const range = spec.range;
    return {
      kind: spec.query_kind,
      step: { op: 'metric-values', metric },
      shape: (m, tools) => {
        const values = concat(Float64Array, m.values);
        const edges = histogramEdges(bins, range, values);
        const counts = edges ? tools.histogram(values, edges) : new Uint32Array(0);
        const rows: Row[] = [];
        for (let b = 0; b < counts.length; b++) rows.push({ value: counts[b]!, lower_edge: edges![b]!, upper_edge: edges![b + 1]! });
        return { columns: ['value', 'lower_edge', 'upper_edge'], rows, support: Array.from(counts), rule: 'all' };
      },
      // One value per subscriber, so one bin: with edges that do not come from the data (a list, or a stated
      // range), the bins are a fixed domain and the histogram is released under DP with one cell per subscriber.
      ...('bin_list' in bins || range !== null ? { dp: { cells: 1 } } : {}),
    };
  },
};
