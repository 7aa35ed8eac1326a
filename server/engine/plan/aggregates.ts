/**
 * Aggregates that count subscribers per location from location steps or
 * windows: spatial_aggregate, unique_subscriber_counts, location_event_counts,
 * the unmoving and reference-location counts, unique_visitor_counts, and
 * geography (no kernel).
 */
import { SECONDS_PER_DAY } from '../../../kernels/shared/constants.js';
import { SpecError } from '../../errors.js';
import type { Row } from '../../privacy/redact.js';
import { dayToDate } from '../../util/datetime.js';
import { ROWS_PER_CHECK } from '../../util/slices.js';
import { directionMask } from '../metric-kernels.js';
import { locationStep, uniqueLocations } from './locations.js';
import type { SpecOf } from '../spec.js';
import { datedWindow, MAX_PAIR_CELLS, type Plan, type PlanContext, type Planners } from './plan.js';
import { byLocation, labelled } from './rows.js';

const INTERVAL_SECONDS = { day: 86400, hour: 3600, min: 60 } as const;

type Kinds = 'spatial_aggregate' | 'unique_subscriber_counts' | 'location_event_counts' | 'unmoving_counts' | 'unmoving_at_reference_location_counts' | 'active_at_reference_location_counts' | 'unique_visitor_counts' | 'geography';

const unmoving = (spec: SpecOf<'unmoving_counts' | 'unmoving_at_reference_location_counts' | 'active_at_reference_location_counts'>, ctx: PlanContext): Plan => {
  const unique = spec.query_kind === 'active_at_reference_location_counts' ? spec.unique_locations : spec.locations;
  const path = spec.query_kind === 'active_at_reference_location_counts' ? 'unique_locations' : 'locations';
  const u = uniqueLocations(ctx, unique, path);
  const space = ctx.units.space(u.unit);
  const reference = spec.query_kind === 'unmoving_counts' ? null : locationStep(ctx, spec.reference_locations, 'reference_locations').step;
  const mode = spec.query_kind === 'unmoving_counts' ? 'unmoving' : spec.query_kind === 'active_at_reference_location_counts' ? 'active-at-reference' : 'unmoving-at-reference';
  return {
    kind: spec.query_kind,
    step: { op: 'unique-set', mode, unit: u.unit, filter: u.filter, reference, nLocs: space.size },
    shape: (m) => byLocation(space, m.counts),
  };
};

export const AGGREGATE_PLANNERS: Planners<Kinds> = {
  spatial_aggregate(spec, ctx) {
    const { step, unit } = locationStep(ctx, spec.locations, 'locations');
    const space = ctx.units.space(unit);
    return {
      kind: spec.query_kind,
      step: { op: 'count-by-location', input: step, nLocs: space.size },
      shape: (m, _t, o) => byLocation(space, m.counts, '', o?.dense),
      // One location per subscriber: one cell.
      dp: { cells: 1 },
    };
  },
  unique_subscriber_counts(spec, ctx) {
    const unit = spec.aggregation_unit;
    const space = ctx.units.space(unit);
    const filter = datedWindow(ctx, spec, '');
    return {
      kind: spec.query_kind,
      step: { op: 'unique-by-location', unit, filter, nLocs: space.size },
      shape: (m, _t, o) => byLocation(space, m.counts, '', o?.dense),
      // A subscriber is counted in every region they were seen in; under DP the engine clips that to the
      // most-visited few (clipRegions: docs/PRIVACY.md), and cells is the unclipped worst case.
      dp: { cells: space.size, clipRegions: true },
    };
  },
  location_event_counts(spec, ctx) {
    const space = ctx.units.space(spec.aggregation_unit);
    const filter = datedWindow(ctx, spec, '');
    const bucketSeconds = INTERVAL_SECONDS[spec.interval];
    const bucketBase = Math.floor(filter.tStart / bucketSeconds) * bucketSeconds;
    const nBuckets = Math.max(1, Math.ceil((filter.tEnd - bucketBase) / bucketSeconds));
    if (space.size * nBuckets > MAX_PAIR_CELLS) {
      throw new SpecError('TOO_LARGE', `interval: ${nBuckets} ${spec.interval} buckets x ${space.size} locations is more than this engine holds at once; narrow the window or coarsen the unit`, 'interval');
    }
    // Buckets the hours filter leaves empty are not part of any series.
    const eligible = (b: number) => spec.interval === 'day' || ((filter.hourMask >>> Math.floor(((bucketBase + b * bucketSeconds) % SECONDS_PER_DAY) / 3600)) & 1) === 1;
    return {
      kind: spec.query_kind,
      step: { op: 'events-by-bucket', unit: spec.aggregation_unit, filter, dirMask: directionMask(spec.direction), bucketSeconds, bucketBase, nBuckets, nLocs: space.size },
      *shape({ counts }) {
        const cells = space.size * nBuckets;
        const rows: Row[] = [];
        const support: number[] = [];
        const group: number[] = [];
        // Each bucket's time columns once, not once per location (a date string per row dominated big results).
        const dates = Array.from({ length: nBuckets }, (_, b) => dayToDate(Math.floor((bucketBase + b * bucketSeconds) / SECONDS_PER_DAY)));
        const hours = Array.from({ length: nBuckets }, (_, b) => Math.floor(((bucketBase + b * bucketSeconds) % SECONDS_PER_DAY) / 3600));
        const mins = Array.from({ length: nBuckets }, (_, b) => Math.floor(((bucketBase + b * bucketSeconds) % 3600) / 60));
        const eligibleBuckets = Array.from({ length: nBuckets }, (_, b) => b).filter(eligible);
        const columns = space.columns;
        let made = 0;
        for (let l = 0; l < space.size; l++) {
          let seen = false;
          for (let b = 0; b < nBuckets; b++) seen ||= counts[l * nBuckets + b]! > 0;
          if (!seen) continue; // a location without any event is absent, as in FlowKit
          const label = space.label(l);
          for (const b of eligibleBuckets) {
            // Built property by property in one order (one hidden class): spreading two objects per row
            // made a million-row result cost seconds of allocation and GC.
            const row: Row = {};
            for (const c of columns) row[c] = label[c]!;
            row.date = dates[b]!;
            if (spec.interval !== 'day') row.hour = hours[b]!;
            if (spec.interval === 'min') row.min = mins[b]!;
            row.value = counts[l * nBuckets + b]!;
            rows.push(row);
            support.push(counts[cells + l * nBuckets + b]!);
            group.push(l);
          }
          made += eligibleBuckets.length;
          if (made >= ROWS_PER_CHECK) {
            made = 0;
            yield;
          }
        }
        const timeColumns = spec.interval === 'day' ? ['date'] : spec.interval === 'hour' ? ['date', 'hour'] : ['date', 'hour', 'min'];
        return { columns: [...space.columns, ...timeColumns, 'value'], rows, support, group, rule: 'series' };
      },
    };
  },
  unmoving_counts: unmoving,
  unmoving_at_reference_location_counts: unmoving,
  active_at_reference_location_counts: unmoving,
  unique_visitor_counts(spec, ctx) {
    const usc = spec.unique_subscriber_counts;
    const aarlc = spec.active_at_reference_location_counts;
    const space = ctx.units.space(usc.aggregation_unit);
    const u = uniqueLocations(ctx, aarlc.unique_locations, 'active_at_reference_location_counts.unique_locations');
    const reference = locationStep(ctx, aarlc.reference_locations, 'active_at_reference_location_counts.reference_locations').step;
    const uscFilter = datedWindow(ctx, usc, 'unique_subscriber_counts');
    return {
      kind: spec.query_kind,
      step: {
        op: 'both',
        a: { op: 'unique-by-location', unit: usc.aggregation_unit, filter: uscFilter, nLocs: space.size },
        b: { op: 'unique-set', mode: 'active-at-reference', unit: u.unit, filter: u.filter, reference, nLocs: space.size },
      },
      // Visitors = subscribers seen minus active residents; the difference is itself thresholded.
      shape: ({ counts }) => {
        const diff = new Float64Array(space.size);
        for (let i = 0; i < space.size; i++) diff[i] = Math.max(0, counts[i]! - counts[space.size + i]!);
        return byLocation(space, diff);
      },
    };
  },
  geography(spec, ctx) {
    const space = ctx.units.space(spec.aggregation_unit);
    // Geometry is public infrastructure: no kernel, no people, nothing to redact.
    return {
      kind: spec.query_kind,
      step: null,
      shape: () => {
        const rows: Row[] = [];
        for (let i = 0; i < space.size; i++) rows.push(labelled(space, i));
        return { columns: [...space.columns], rows, support: rows.map(() => 0), rule: 'none' };
      },
    };
  },
};
