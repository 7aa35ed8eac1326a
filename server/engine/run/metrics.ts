/**
 * Per-subscriber metric steps (MetricStep): an f64 vector per partition, NaN =
 * no value; and the aggregates over them (joined_spatial_aggregate's
 * metric-by-location, histogram_aggregate's metric-values).
 */
import * as M from '../metric-kernels.js';
import type { AggStep, WindowFilter } from '../protocol.js';
import { type AggregateOps, initialCapacity, type MetricOps, type Run } from './run.js';

export const METRIC_OPS: MetricOps = {
  'radius-of-gyration'(run, step) {
    const [k, n, f] = [run.kernels, run.task.nSubs, step.filter];
    const out = run.metricVector();
    const state = run.state(M.gyrationBytes(k, n));
    const coords = (day: number) => ({ ...run.task.coords[day]!, nCells: run.task.nCells });
    for (const ev of run.rangesOf(f)) M.gyrationSums(k, ev, coords(ev.day), f, n, state, run.drops);
    M.gyrationCentroids(k, state, n);
    for (const ev of run.rangesOf(f)) M.gyrationSpread(k, ev, coords(ev.day), f, n, state);
    M.finishGyration(k, state, n, out);
    return out;
  },
  'event-count'(run, step) {
    const [k, n, f] = [run.kernels, run.task.nSubs, step.filter];
    const out = run.metricVector();
    const state = run.state(M.eventCountBytes(k, n));
    for (const ev of run.rangesOf(f)) M.countEvents(k, ev, f, step.dirMask, n, state);
    M.finishEventCount(k, state, n, out);
    return out;
  },
  nocturnal(run, step) {
    const [k, n, f] = [run.kernels, run.task.nSubs, step.filter];
    const out = run.metricVector();
    const state = run.state(M.nocturnalBytes(k, n));
    for (const ev of run.rangesOf(f)) M.countNocturnal(k, ev, f, step.dirMask, step.nightMask, n, state);
    M.finishNocturnal(k, state, n, out);
    return out;
  },
  'active-periods'(run, step) {
    const [k, n, f] = [run.kernels, run.task.nSubs, step.filter];
    const out = run.metricVector();
    const state = run.state(M.activePeriodsBytes(k, n));
    for (const ev of run.rangesOf(f)) M.countActivePeriods(k, ev, f, step.periodSeconds, n, state);
    M.finishActivePeriods(k, state, n, out);
    return out;
  },
  degree(run, step) {
    const out = run.metricVector();
    contacts(run, step, true).degree(run.task.nSubs, out);
    return out;
  },
  pareto(run, step) {
    const out = run.metricVector();
    contacts(run, step, false).pareto(run.task.nSubs, step.proportion, out);
    return out;
  },
  displacement(run, step) {
    const [k, n, f] = [run.kernels, run.task.nSubs, step.filter];
    const out = run.metricVector();
    const buffer = run.task.memory.buffer;
    // Reference points per subscriber from their lon-lat location (NaN: none).
    const refLoc = new Int32Array(buffer, run.location(step.reference), n).slice();
    const { lon: lonPtr, lat: latPtr, n: nPoints } = run.task.lonLat;
    const pointLon = new Float64Array(buffer, lonPtr, nPoints);
    const pointLat = new Float64Array(buffer, latPtr, nPoints);
    const ref = { lon: run.arena.alloc(8 * Math.max(n, 1)), lat: run.arena.alloc(8 * Math.max(n, 1)) };
    const refLon = new Float64Array(buffer, ref.lon, n);
    const refLat = new Float64Array(buffer, ref.lat, n);
    for (let i = 0; i < n; i++) {
      refLon[i] = refLoc[i]! >= 0 ? pointLon[refLoc[i]!]! : NaN;
      refLat[i] = refLoc[i]! >= 0 ? pointLat[refLoc[i]!]! : NaN;
    }
    let total = 0;
    for (const ev of run.rangesOf(f)) total += ev.n;
    const subs = run.arena.alloc(4 * Math.max(total, 1));
    const values = run.arena.alloc(8 * Math.max(total, 1));
    let at = 0;
    for (const ev of run.rangesOf(f)) {
      const coords = { ...run.task.coords[ev.day]!, nCells: run.task.nCells };
      at += M.displacementValues(k, ev, coords, f, ref, n, { sub: subs + 4 * at, value: values + 8 * at }, run.drops);
    }
    M.groupStatistic(k, run.arena, { n: at, group: subs, value: values }, n, step.statistic as M.StatisticName, out);
    return out;
  },
  topup(run, step) {
    const [k, n, f] = [run.kernels, run.task.nSubs, step.filter];
    const out = run.metricVector();
    let total = 0;
    for (const ev of run.rangesOf(f)) total += ev.n;
    const subs = run.arena.alloc(4 * Math.max(total, 1));
    const values = run.arena.alloc(8 * Math.max(total, 1));
    let at = 0;
    for (const ev of run.rangesOf(f)) at += M.topupValues(k, { ...ev, recharge: ev.recharge! }, f, n, { sub: subs + 4 * at, value: values + 8 * at });
    M.groupStatistic(k, run.arena, { n: at, group: subs, value: values }, n, step.statistic as M.StatisticName, out);
    return out;
  },
  'unique-location-count'(run, step) {
    const out = run.metricVector();
    const pairs = run.uniquePairs(step.unit, step.filter);
    M.countPerSub(run.kernels, pairs.count, pairs.sub, run.task.nSubs, out);
    return out;
  },
  sample(run, step) {
    const input = run.metric(step.input);
    run.dropUnsampled(new Float64Array(run.task.memory.buffer, input, run.task.nSubs), step.rule, NaN);
    return input;
  },
};

/** subscriber_degree and pareto_interactions: the (subscriber, counterpart) table of the window. */
function contacts(run: Run, step: { filter: WindowFilter; dirMask: number }, excludeSelf: boolean): M.ContactTable {
  const n = run.task.nSubs;
  const table = new M.ContactTable(run.kernels, run.arena, initialCapacity(n));
  for (const ev of run.rangesOf(step.filter)) table.count({ ...ev, peer: ev.peer! }, step.filter, step.dirMask, excludeSelf, run.task.globalOf, n);
  return table;
}

type MetricAggregate = Extract<AggStep, { op: 'metric-by-location' | 'metric-values' }>;

export const METRIC_AGGREGATE_OPS: Pick<AggregateOps, MetricAggregate['op']> = {
  'metric-by-location'(run, step) {
    const loc = run.location(step.locations);
    return run.pairs(loc, run.metric(step.metric));
  },
  'metric-values'(run, step) {
    const zeros = run.zeros(run.task.nSubs);
    return run.pairs(zeros, run.metric(step.metric));
  },
};
