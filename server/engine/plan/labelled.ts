/** labelled_spatial_aggregate and labelled_flows: subscribers per location (or pair) and mobility label (../labelled.ts). */
import type { Row } from '../../privacy/redact.js';
import { LABEL_SLOTS, labelledCells, slotLabel } from '../labelled.js';
import type { AggStep } from '../protocol.js';
import type { QuerySpec } from '../spec.js';
import { locationStep, mobilityStep } from './locations.js';
import { concat, type Plan, type PlanContext, type Planners } from './plan.js';
import { labelled } from './rows.js';

type LabelledSpec = Extract<QuerySpec, { query_kind: 'labelled_spatial_aggregate' | 'labelled_flows' }>;

/** Labelled counts beyond this many (key, label) cells are returned as sparse keys rather than a dense array per partition. */
const MAX_LABELLED_CELLS = 1 << 22;

/**
 * labelled_spatial_aggregate and labelled_flows (labelled.ts): subscribers per location,
 * or (from, to) pair, and mobility label, with FlowKit's columns (value_label). Redacted
 * as FlowKit's RedactedLabelledAggregate: a location (or pair) is published only if each
 * of its labels counts more than k subscribers. Withholding one label's row alone would
 * not do: the unlabelled total (spatial_aggregate, flows) minus the published labels
 * would give it back.
 */
function labelledAggregate(ctx: PlanContext, spec: LabelledSpec): Plan {
  const flows = spec.query_kind === 'labelled_flows';
  // Every join_type publishes the inner join's rows: an outer join only adds pairs with a
  // null end, and FlowKit's redaction keeps pairs through a USING join, which never matches null.
  const from = flows ? locationStep(ctx, spec.from_location, 'from_location') : locationStep(ctx, spec.locations, 'locations');
  const to = flows ? locationStep(ctx, spec.to_location, 'to_location') : null;
  const a = ctx.units.space(from.unit);
  const b = to ? ctx.units.space(to.unit) : null;
  const nTo = b ? b.size : 1;
  const dense = a.size * nTo * LABEL_SLOTS <= MAX_LABELLED_CELLS;
  const labels = mobilityStep(ctx, spec.labels, 'labels');
  // FlowKit joins labels to locations with a left join (a null label for the unclassified), to flows with an inner one.
  const step: AggStep = { op: 'labelled', from: from.step, to: to?.step ?? null, nFrom: a.size, nTo, labels, unlabelled: !flows, dense };
  const columns = b ? [...a.columns.map((c) => `${c}_from`), ...b.columns.map((c) => `${c}_to`)] : [...a.columns];
  return {
    kind: spec.query_kind,
    step,
    shape: (m) => {
      const rows: Row[] = [];
      const support: number[] = [];
      const group: number[] = [];
      for (const { cell, count } of labelledCells(dense, m.counts, concat(Float64Array, m.values))) {
        const key = Math.floor(cell / LABEL_SLOTS);
        const place = b ? { ...labelled(a, Math.floor(key / nTo), '_from'), ...labelled(b, key % nTo, '_to') } : labelled(a, key);
        rows.push({ ...place, value_label: slotLabel(cell % LABEL_SLOTS), value: count });
        support.push(count);
        group.push(key);
      }
      return { columns: [...columns, 'value_label', 'value'], rows, support, group, rule: 'series', openGroups: true };
    },
  };
}

export const LABELLED_PLANNERS: Planners<LabelledSpec['query_kind']> = {
  labelled_spatial_aggregate: (spec, ctx) => labelledAggregate(ctx, spec),
  labelled_flows: (spec, ctx) => labelledAggregate(ctx, spec),
};
