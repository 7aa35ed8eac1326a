/** total_network_objects and aggregate_network_objects: distinct cells with events per location and period. */
import { SECONDS_PER_DAY } from '../../../kernels/shared/constants.js';
import type { Row } from '../../privacy/redact.js';
import { dayToDate } from '../../util/datetime.js';
import type { StatisticName } from '../metric-kernels.js';
import { type AggStep, CELL_KEY_SPAN, type WindowFilter } from '../protocol.js';
import type { QuerySpec } from '../spec.js';
import type { UnitSpace } from '../units.js';
import { concat, datedWindow, type Merged, type PlanContext, type Planners, type ShapeTools } from './plan.js';
import { labelled } from './rows.js';

const pad = (n: number) => String(n).padStart(2, '0');

/** PostgreSQL's date_trunc of a 'YYYY-MM-DD HH:MM:SS' local time, in the same form. */
function truncate(label: string, to: string): string {
  const [y, mo, d, h, mi, s] = [label.slice(0, 4), label.slice(5, 7), label.slice(8, 10), label.slice(11, 13), label.slice(14, 16), label.slice(17, 19)];
  switch (to) {
    case 'second':
      return `${y}-${mo}-${d} ${h}:${mi}:${s}`;
    case 'minute':
      return `${y}-${mo}-${d} ${h}:${mi}:00`;
    case 'hour':
      return `${y}-${mo}-${d} ${h}:00:00`;
    case 'day':
      return `${y}-${mo}-${d} 00:00:00`;
    case 'month':
      return `${y}-${mo}-01 00:00:00`;
    case 'year':
      return `${y}-01-01 00:00:00`;
    default: // century: PostgreSQL's centuries start in years ending 01
      return `${String(Math.floor((Number(y) - 1) / 100) * 100 + 1).padStart(4, '0')}-01-01 00:00:00`;
  }
}

/** Slots per day of each total_by: whole-day periods (day, month, year) need one. */
const SLOTS_PER_DAY: Record<string, number> = { minute: 1440, hour: 24, day: 1, month: 1, year: 1 };

/** total_network_objects' counts: the periods seen and, sorted by location then period, each count > 0. */
interface PeriodCounts {
  periods: string[];
  entries: { loc: number; period: number; value: number }[];
}

/** total_network_objects: its step (cell bits per slot, or (second, cell) keys for total_by second) and its counts. */
function networkObjects(ctx: PlanContext, spec: Extract<QuerySpec, { query_kind: 'total_network_objects' }>, path = '') {
  const space = ctx.units.space(spec.aggregation_unit);
  const filter = datedWindow(ctx, spec, path.replace(/\.$/, ''));
  if (spec.total_by === 'second') return networkObjectsBySecond(ctx, spec.aggregation_unit, space, filter);
  const slotsPerDay = SLOTS_PER_DAY[spec.total_by]!;
  const slotSeconds = SECONDS_PER_DAY / slotsPerDay;
  const periods: string[] = [];
  const index = new Map<string, number>();
  const first = new Map<number, number>();
  for (const day of filter.days) {
    for (let slot = 0; slot < slotsPerDay; slot++) {
      const t = day * SECONDS_PER_DAY + slot * slotSeconds;
      const label = truncate(`${dayToDate(day)} ${pad(Math.floor((t % SECONDS_PER_DAY) / 3600))}:${pad(Math.floor((t % 3600) / 60))}:00`, spec.total_by);
      let i = index.get(label);
      if (i === undefined) index.set(label, (i = periods.push(label) - 1));
      if (slot === 0) first.set(day, i);
    }
  }
  return {
    space,
    step: { op: 'cell-bits', unit: spec.aggregation_unit, filter, slotsPerDay } as AggStep,
    counts: (m: Merged, tools: ShapeTools): PeriodCounts => {
      const totals = m.bits
        ? tools.countCells(m.bits, filter.days, spec.aggregation_unit, slotsPerDay, (d) => first.get(d)!, periods.length, space.size)
        : new Uint32Array(space.size * periods.length);
      const entries: PeriodCounts['entries'] = [];
      for (let l = 0; l < space.size; l++) {
        for (let p = 0; p < periods.length; p++) {
          const v = totals[l * periods.length + p]!;
          if (v > 0) entries.push({ loc: l, period: p, value: v });
        }
      }
      return { periods, entries };
    },
  };
}

/**
 * total_by second: the partitions' (second, cell) keys, deduplicated (a cell serves many
 * partitions' subscribers), each cell located with its day's table, counted per (location, second).
 */
function networkObjectsBySecond(ctx: PlanContext, unit: string, space: UnitSpace, filter: WindowFilter) {
  return {
    space,
    step: { op: 'cell-seconds', unit, filter } as AggStep,
    counts: (m: Merged): PeriodCounts => {
      const keys = concat(Float64Array, m.values).sort();
      const seconds: number[] = [];
      const secondIndex = new Map<number, number>();
      const perLoc: Map<number, number>[] = Array.from({ length: space.size }, () => new Map());
      let last = -1;
      for (const key of keys) {
        if (key === last) continue;
        last = key;
        const t = Math.floor(key / CELL_KEY_SPAN);
        const cell = key - t * CELL_KEY_SPAN;
        const loc = ctx.units.table(unit, Math.floor(t / SECONDS_PER_DAY))[cell]!;
        if (loc === undefined || loc < 0) continue;
        let s = secondIndex.get(t);
        if (s === undefined) secondIndex.set(t, (s = seconds.push(t) - 1));
        perLoc[loc]!.set(s, (perLoc[loc]!.get(s) ?? 0) + 1);
      }
      // Keys are sorted by time, so seconds are indexed in time order.
      const periods = seconds.map((t) => `${dayToDate(Math.floor(t / SECONDS_PER_DAY))} ${pad(Math.floor((t % SECONDS_PER_DAY) / 3600))}:${pad(Math.floor((t % 3600) / 60))}:${pad(t % 60)}`);
      const entries: PeriodCounts['entries'] = [];
      perLoc.forEach((bySecond, loc) => {
        for (const [period, value] of [...bySecond].sort((a, b) => a[0] - b[0])) entries.push({ loc, period, value });
      });
      return { periods, entries };
    },
  };
}

export const NETWORK_PLANNERS: Planners<'total_network_objects' | 'aggregate_network_objects'> = {
  total_network_objects(spec, ctx) {
    const t = networkObjects(ctx, spec);
    return {
      kind: spec.query_kind,
      step: t.step,
      shape: (m, tools) => {
        const { periods, entries } = t.counts(m, tools);
        const rows: Row[] = entries.map((e) => ({ ...labelled(t.space, e.loc), datetime: periods[e.period]!, value: e.value }));
        // Cells are infrastructure, not people: nothing to redact. Distinct cells do not grow in proportion to the
        // subscribers seen, so an estimate publishes the cells seen so far, unscaled (issue #17: scaled, the first
        // frame was +480% at 5 M events).
        return { columns: [...t.space.columns, 'datetime', 'value'], rows, support: rows.map(() => 0), rule: 'none', scaled: false };
      },
    };
  },
  aggregate_network_objects(spec, ctx) {
    const t = networkObjects(ctx, spec.total_network_objects, 'total_network_objects.');
    const by = spec.aggregate_by;
    const statistic = spec.statistic as StatisticName;
    return {
      kind: spec.query_kind,
      step: t.step,
      shape: (m, tools) => {
        const { periods, entries } = t.counts(m, tools);
        const labels: string[] = [];
        const labelIndex = new Map<string, number>();
        const aggOf = periods.map((p) => {
          const label = truncate(p, by);
          let i = labelIndex.get(label);
          if (i === undefined) labelIndex.set(label, (i = labels.push(label) - 1));
          return i;
        });
        const groups: number[] = [];
        const values: number[] = [];
        for (const e of entries) {
          groups.push(e.loc * labels.length + aggOf[e.period]!);
          values.push(e.value);
        }
        const stat = tools.groupStatistic(Int32Array.from(groups), Float64Array.from(values), t.space.size * labels.length, statistic);
        const present = new Set(groups);
        const rows: Row[] = [];
        for (const g of [...present].sort((a, b) => a - b)) {
          rows.push({ ...labelled(t.space, Math.floor(g / labels.length)), datetime: labels[g % labels.length]!, value: stat[g]! });
        }
        return { columns: [...t.space.columns, 'datetime', 'value'], rows, support: rows.map(() => 0), rule: 'none', scaled: false };
      },
    };
  },
};
