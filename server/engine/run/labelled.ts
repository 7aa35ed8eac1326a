/** labelled_spatial_aggregate and labelled_flows: subscribers per location (or pair) and mobility label (../labelled.ts). */
import { countLabelled } from '../labelled.js';
import type { AggStep } from '../protocol.js';
import type { AggregateOps } from './run.js';

export const LABELLED_OPS: Pick<AggregateOps, Extract<AggStep, { op: 'labelled' }>['op']> = {
  labelled: (run, step) => countLabelled(step, (s) => new Int32Array(run.task.memory.buffer, run.location(s), run.task.nSubs).slice(), run.task.nSubs),
};
