/**
 * Per-subscriber metrics (FlowKit's joinable metrics: radius_of_gyration.py,
 * unique_location_counts.py, subscriber_degree.py, event_count.py,
 * nocturnal_events.py, pareto_interactions.py, displacement.py,
 * total_active_periods.py, topup_amount.py, topup_balance.py, handset.py).
 * They exist only nested in joined_spatial_aggregate or histogram_aggregate.
 */
import {
  type Direction,
  type EventFilter,
  type Hours,
  hoursReader,
  readDirection,
  readEventFilter,
  readHours,
  readSampling,
  readStatistic,
  readSubscriberSubset,
  readUnit,
  type Sampling,
  type Statistic,
} from './common.js';
import { readStart, readWindow } from './dates.js';
import { Issues } from './errors.js';
import type { ReferenceLocation } from './locations.js';
import { locationMethod } from './locations.js';
import { SPEC_LIMITS } from './limits.js';
import { built, type Fields, integer, number, oneOf } from './read.js';

interface Windowed {
  start_date: string;
  end_date: string;
}
interface Sampled {
  sampling: Sampling | null;
}

export interface RadiusOfGyration extends Windowed, EventFilter, Sampled {
  query_kind: 'radius_of_gyration';
}
export interface UniqueLocationCounts extends Windowed, EventFilter, Sampled {
  query_kind: 'unique_location_counts';
  aggregation_unit: string;
}
export interface SubscriberDegree extends Windowed, EventFilter, Sampled {
  query_kind: 'subscriber_degree';
  direction: Direction;
}
export interface EventCount extends Windowed, EventFilter, Sampled {
  query_kind: 'event_count';
  direction: Direction;
}
/** FlowKit gives it night_hours and no hours filter. */
export interface NocturnalEvents extends Windowed, Omit<EventFilter, 'hours'>, Sampled {
  query_kind: 'nocturnal_events';
  night_hours: Hours;
}
export interface ParetoInteractions extends Windowed, EventFilter, Sampled {
  query_kind: 'pareto_interactions';
  proportion: number;
}
export interface Displacement extends Windowed, EventFilter, Sampled {
  query_kind: 'displacement';
  statistic: Statistic;
  reference_location: ReferenceLocation;
}
/** Periods [start_date + i * period_length, ...) for i < total_periods; FlowKit takes no sampling here. */
export interface TotalActivePeriods extends EventFilter {
  query_kind: 'total_active_periods';
  start_date: string;
  total_periods: number;
  period_length: number;
  period_unit: 'days' | 'hours' | 'minutes';
}
/** Top-ups are their own events: FlowKit takes no event_types here. */
export interface TopUpAmount extends Windowed, Omit<EventFilter, 'event_types'>, Sampled {
  query_kind: 'topup_amount';
  statistic: Statistic;
}
export interface TopUpBalance extends Windowed, Omit<EventFilter, 'event_types'>, Sampled {
  query_kind: 'topup_balance';
  statistic: Statistic;
}
/** Categorical: joined_spatial_aggregate takes distr or mode for it, histograms do not take it. */
export interface Handset extends Windowed, EventFilter, Sampled {
  query_kind: 'handset';
  characteristic: 'hnd_type' | 'brand' | 'model' | 'software_os_name' | 'software_os_vendor';
  method: 'last' | 'most-common';
}

export type MetricSpec =
  | RadiusOfGyration
  | UniqueLocationCounts
  | SubscriberDegree
  | EventCount
  | NocturnalEvents
  | ParetoInteractions
  | Displacement
  | TotalActivePeriods
  | TopUpAmount
  | TopUpBalance
  | Handset;

/** The metrics histogram_aggregate takes. */
export type NumericMetric = Exclude<MetricSpec, Handset>;

function window(f: Fields): Windowed {
  const { start, end } = readWindow(f);
  return built<Windowed>({ start_date: start, end_date: end });
}

const radiusOfGyration = (f: Fields) =>
  built<RadiusOfGyration>({
    query_kind: 'radius_of_gyration',
    ...window(f),
    ...readEventFilter(f),
    sampling: readSampling(f),
  });

const uniqueLocationCounts = (f: Fields) =>
  built<UniqueLocationCounts>({
    query_kind: 'unique_location_counts',
    ...window(f),
    aggregation_unit: readUnit(f),
    ...readEventFilter(f),
    sampling: readSampling(f),
  });

const subscriberDegree = (f: Fields) =>
  built<SubscriberDegree>({
    query_kind: 'subscriber_degree',
    ...window(f),
    direction: readDirection(f),
    ...readEventFilter(f),
    sampling: readSampling(f),
  });

const eventCount = (f: Fields) =>
  built<EventCount>({
    query_kind: 'event_count',
    ...window(f),
    direction: readDirection(f),
    ...readEventFilter(f),
    sampling: readSampling(f),
  });

/** docs/QUERIES.md: night_hours default to 20:00-04:00 (flowmachine's NocturnalEvents default). */
const DEFAULT_NIGHT: Hours = { start_hour: 20, end_hour: 4 };

function nocturnalEvents(f: Fields): NocturnalEvents {
  const { event_types, subscriber_subset } = readEventFilter(f, false);
  return built<NocturnalEvents>({
    query_kind: 'nocturnal_events',
    ...window(f),
    night_hours: f.opt('night_hours', { ...DEFAULT_NIGHT }, hoursReader('night_hours')),
    event_types,
    subscriber_subset,
    sampling: readSampling(f),
  });
}

/** docs/QUERIES.md: proportion defaults to 0.8 (flowmachine's ParetoInteractions default). */
const paretoInteractions = (f: Fields) =>
  built<ParetoInteractions>({
    query_kind: 'pareto_interactions',
    ...window(f),
    proportion: f.opt('proportion', 0.8, number({ min: 0, max: 1 })),
    ...readEventFilter(f),
    sampling: readSampling(f),
  });

const displacement = (f: Fields) =>
  built<Displacement>({
    query_kind: 'displacement',
    ...window(f),
    statistic: readStatistic(f),
    reference_location: f.nested<ReferenceLocation>('reference_location'),
    ...readEventFilter(f),
    sampling: readSampling(f),
  });

const PERIOD_UNITS = ['days', 'hours', 'minutes'] as const;

const PERIOD_DAYS = { days: 1, hours: 1 / 24, minutes: 1 / 1440 } as const;
const periodCount = integer({ min: 1, max: SPEC_LIMITS.periods });

function totalActivePeriods(f: Fields): TotalActivePeriods {
  const spec = built<TotalActivePeriods>({
    query_kind: 'total_active_periods',
    start_date: readStart(f, 'start_date'),
    total_periods: f.req('total_periods', `an integer >= 1 and <= ${SPEC_LIMITS.periods}`, periodCount),
    period_length: f.opt('period_length', 1, periodCount),
    period_unit: f.opt('period_unit', 'days' as const, oneOf(PERIOD_UNITS)),
    ...readEventFilter(f),
  });
  // Each number in bounds can still span a window far past any store (and past the kernels' 32-bit seconds).
  const { total_periods: n, period_length: len, period_unit: unit } = spec as Partial<TotalActivePeriods>;
  if (n !== undefined && len !== undefined && unit !== undefined && n * len * PERIOD_DAYS[unit] > SPEC_LIMITS.windowDays) {
    f.fail(
      Issues.described(
        f.path,
        `total_periods x period_length spanning at most ${SPEC_LIMITS.windowDays} days`,
        `${n} periods of ${len} ${unit} = ${+(n * len * PERIOD_DAYS[unit]).toFixed(2)} days`,
      ),
    );
  }
  return spec;
}

function topup<K extends 'topup_amount' | 'topup_balance'>(kind: K) {
  return (f: Fields) =>
    built<TopUpAmount | TopUpBalance>({
      query_kind: kind,
      ...window(f),
      statistic: readStatistic(f),
      hours: readHours(f),
      subscriber_subset: readSubscriberSubset(f),
      sampling: readSampling(f),
    });
}

const CHARACTERISTICS = ['hnd_type', 'brand', 'model', 'software_os_name', 'software_os_vendor'] as const;

const handset = (f: Fields) =>
  built<Handset>({
    query_kind: 'handset',
    ...window(f),
    characteristic: f.req('characteristic', `one of ${CHARACTERISTICS.join(', ')}`, oneOf(CHARACTERISTICS)),
    method: f.req('method', 'one of last, most-common', locationMethod),
    ...readEventFilter(f),
    sampling: readSampling(f),
  });

export const METRIC_PARSERS = {
  radius_of_gyration: radiusOfGyration,
  unique_location_counts: uniqueLocationCounts,
  subscriber_degree: subscriberDegree,
  event_count: eventCount,
  nocturnal_events: nocturnalEvents,
  pareto_interactions: paretoInteractions,
  displacement,
  total_active_periods: totalActivePeriods,
  topup_amount: topup('topup_amount'),
  topup_balance: topup('topup_balance'),
  handset,
} as const;
