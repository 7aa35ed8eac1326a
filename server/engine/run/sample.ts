/** The sample-keys pass a subscriber sample needs first (../sample.ts): the keys of the subscribers a step has. */
import type { AggStep } from '../protocol.js';
import { sampleKey } from '../sample.js';
import type { AggregateOps } from './run.js';

export const SAMPLE_OPS: Pick<AggregateOps, Extract<AggStep, { op: 'sample-keys' }>['op']> = {
  /** The sample keys of the subscribers present in a location (>= 0) or metric (not NaN) vector. */
  'sample-keys'(run, step) {
    const n = run.task.nSubs;
    const buffer = run.task.memory.buffer;
    const globalOf = new Uint32Array(buffer, run.task.globalOf, n).slice();
    const present: (s: number) => boolean =
      'loc' in step.of
        ? ((vec) => (s: number) => vec[s]! >= 0)(new Int32Array(buffer, run.location(step.of.loc), n))
        : ((vec) => (s: number) => !Number.isNaN(vec[s]!))(new Float64Array(buffer, run.metric(step.of.metric), n));
    const keys: number[] = [];
    for (let s = 0; s < n; s++) if (present(s)) keys.push(sampleKey(step.rule, globalOf[s]!));
    return { groups: new Int32Array(keys.length), values: Float64Array.from(keys) };
  },
};
