/** The three meaningful-locations kinds: clusters per partition, placed in regions and summed here. */
import { SpecError } from '../../errors.js';
import { assignPoints } from '../../geo/pip.js';
import type { Row } from '../../privacy/redact.js';
import { meaningfulParams } from '../meaningful-kernels.js';
import type { AggStep } from '../protocol.js';
import type { QuerySpec } from '../spec.js';
import { concat, localSeconds, notYet, type Plan, type PlanContext, type Planners, windowFilter } from './plan.js';
import { checkOdSize, labelled } from './rows.js';

type MeaningfulSpec = Extract<QuerySpec, { query_kind: 'meaningful_locations_aggregate' | 'meaningful_locations_between_label_od_matrix' | 'meaningful_locations_between_dates_od_matrix' }>;

/**
 * The three meaningful-locations kinds (definitions: docs/QUERIES.md, meaningful locations). Partitions
 * return weighted cluster centroids; here each centroid is placed in the region of the
 * unit containing it (FlowKit's ST_Contains(region, cluster)), weights are summed per
 * region or region pair, and rows keep value > k on that weighted sum (FlowKit's
 * HAVING sum(...) > 15).
 */
function meaningful(ctx: PlanContext, spec: MeaningfulSpec): Plan {
  if (spec.subscriber_subset) throw notYet('subscriber_subset', 'subscriber_subset');
  const unit = spec.aggregation_unit;
  const level = ctx.regions?.find((l) => l.unit === unit);
  if (!level) {
    throw new SpecError('NOT_IMPLEMENTED', `aggregation_unit: meaningful locations aggregate to admin units only (as FlowKit), found ${JSON.stringify(unit)}`, 'aggregation_unit');
  }
  if (Object.hasOwn(spec.labels, 'unknown')) {
    throw new SpecError('BAD_VALUE', `labels.unknown: 'unknown' is reserved for clusters no label covers (as in FlowKit); name the label otherwise`, 'labels.unknown');
  }
  const space = ctx.units.space(unit);
  const params = meaningfulParams(spec);
  const window = (start: string, end: string, sp: string, ep: string) => windowFilter(ctx, spec, localSeconds(start, sp), localSeconds(end, ep));
  let step: AggStep;
  let labels: [string, string];
  if (spec.query_kind === 'meaningful_locations_aggregate') {
    const filter = window(spec.start_date, spec.end_date, 'start_date', 'end_date');
    step = { op: 'meaningful', params, a: { filter, label: spec.label }, b: null };
    labels = [spec.label, spec.label];
  } else if (spec.query_kind === 'meaningful_locations_between_label_od_matrix') {
    checkOdSize(space, 'aggregation_unit');
    const filter = window(spec.start_date, spec.end_date, 'start_date', 'end_date');
    step = { op: 'meaningful', params, a: { filter, label: spec.label_a }, b: { filter, label: spec.label_b } };
    labels = [spec.label_a, spec.label_b];
  } else {
    checkOdSize(space, 'aggregation_unit');
    const a = window(spec.start_date_a, spec.end_date_a, 'start_date_a', 'end_date_a');
    const b = window(spec.start_date_b, spec.end_date_b, 'start_date_b', 'end_date_b');
    step = { op: 'meaningful', params, a: { filter: a, label: spec.label }, b: { filter: b, label: spec.label } };
    labels = [spec.label, spec.label];
  }
  const od = step.b !== null;
  const stride = od ? 5 : 3;
  return {
    kind: spec.query_kind,
    step,
    shape: (m) => {
      const values = concat(Float64Array, m.values);
      const n = values.length / stride;
      const place = (offset: number) => {
        const lon = new Float64Array(n);
        const lat = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          lon[i] = values[i * stride + offset]!;
          lat[i] = values[i * stride + offset + 1]!;
        }
        return assignPoints(level, lon, lat);
      };
      const from = place(0);
      const to = od ? place(2) : from;
      const sums = new Float64Array(od ? space.size * space.size : space.size);
      for (let i = 0; i < n; i++) {
        // A centroid outside every region is dropped (FlowKit: a row with a null region).
        if (from[i]! < 0 || to[i]! < 0) continue;
        sums[od ? from[i]! * space.size + to[i]! : from[i]!] += values[i * stride + stride - 1]!;
      }
      const rows: Row[] = [];
      const support: number[] = [];
      for (let c = 0; c < sums.length; c++) {
        const v = sums[c]!;
        if (!(v > 0)) continue;
        if (od) {
          rows.push({ label_from: labels[0], label_to: labels[1], ...labelled(space, Math.floor(c / space.size), '_from'), ...labelled(space, c % space.size, '_to'), value: v });
        } else {
          rows.push({ label: labels[0], ...labelled(space, c), value: v });
        }
        support.push(v);
      }
      const columns = od
        ? ['label_from', 'label_to', ...space.columns.map((x) => `${x}_from`), ...space.columns.map((x) => `${x}_to`), 'value']
        : ['label', ...space.columns, 'value'];
      return { columns, rows, support, rule: 'value' };
    },
  };
}

export const MEANINGFUL_PLANNERS: Planners<MeaningfulSpec['query_kind']> = {
  meaningful_locations_aggregate: (spec, ctx) => meaningful(ctx, spec),
  meaningful_locations_between_label_od_matrix: (spec, ctx) => meaningful(ctx, spec),
  meaningful_locations_between_dates_od_matrix: (spec, ctx) => meaningful(ctx, spec),
};
