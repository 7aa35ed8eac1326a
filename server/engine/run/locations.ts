/** Per-subscriber location steps (LocStep): an i32 vector per partition, -1 = absent. */
import type { LocationOps } from './run.js';

export const LOCATION_OPS: LocationOps = {
  last(run, step) {
    const out = run.vector();
    for (const { ev, table } of run.ranges(step.unit, step.filter)) {
      run.kernels.lastLocation(ev, table, step.filter, run.task.nSubs, out, run.drops);
    }
    return out;
  },
  'most-common'(run, step) {
    // Gather (sub, loc) in chronological order, then tally per subscriber: no hash table.
    const out = run.vector();
    const n = run.task.nSubs;
    let rows = 0;
    for (const { ev } of run.ranges(step.unit, step.filter)) rows += ev.n;
    const pairs = { sub: run.arena.alloc(4 * Math.max(rows, 1)), loc: run.arena.alloc(4 * Math.max(rows, 1)) };
    let m = 0;
    for (const { ev, table } of run.ranges(step.unit, step.filter)) {
      m += run.kernels.gatherLocated(ev, table, step.filter, n, { sub: pairs.sub + 4 * m, loc: pairs.loc + 4 * m }, run.drops);
    }
    const scratch = run.arena.alloc(run.kernels.mostCommonScratchBytes(n, m));
    run.kernels.mostCommonBySub(m, pairs, n, scratch, out);
    return out;
  },
  'most-days'(run, step) {
    const out = run.vector();
    run.locationTable(step.unit, step.filter).pickMostDays(run.task.nSubs, out);
    return out;
  },
  modal(run, step) {
    const out = run.vector();
    const k = step.inputs.length;
    const inputs = run.vectors(step.inputs);
    run.kernels.modalLocation(inputs, k, run.task.nSubs, run.arena.alloc(8 * k), out);
    return out;
  },
  majority(run, step) {
    const out = run.vector();
    const k = step.inputs.length;
    const inputs = run.vectors(step.inputs);
    run.kernels.majorityLocation(inputs, k, run.task.nSubs, step.minTotal, run.arena.alloc(8 * k), out);
    return out;
  },
  sample(run, step) {
    const input = run.location(step.input);
    run.dropUnsampled(new Int32Array(run.task.memory.buffer, input, run.task.nSubs), step.rule, -1);
    return input;
  },
  coalesce(run, step) {
    const out = run.vector();
    const preferred = run.location(step.preferred);
    const fallback = run.location(step.fallback);
    const weights = run.vectors(step.weights);
    run.kernels.coalesceLocation(preferred, fallback, weights, step.weights.length, run.task.nSubs, step.threshold, out);
    return out;
  },
};
