/**
 * What the page can show: the OPAL indicators of the service's catalog, and a
 * few raw FlowKit aggregates (streamed with progressive partial frames), each
 * for a unit and a calendar period. Periods are the indicator layer's own
 * (server/indicators/catalog.ts, bundled), so the page and the service agree on
 * what "2016-W14" covers. Everything is filtered by the token's tier: units,
 * time resolutions and kinds it may not see are never offered.
 */
import { CATALOG, calendarPeriod, periodComplete, periodsOf, type Period } from '../indicators/catalog.js';
import { type CatalogEntry, type Limits, unitOrder } from '../service/wire.js';

export interface Source {
  kind: 'indicator' | 'aggregate';
  id: string;
  category: string;
  label: string;
  description: string;
  /** What a value counts, as the catalog says ("subscribers (people when scaled)"). */
  measureUnit: string;
  shape: 'region' | 'od';
  /** Whether it can be scaled from subscribers to people. */
  scalable: boolean;
  spatial: string[];
  temporal: string[];
  /** Aggregates only: the FlowKit spec for a period (null when it needs a previous period that is not stored). */
  spec?: (p: Period, unit: string) => Record<string, unknown> | null;
}

const window = (p: { start: string; end: string }) => ({ start_date: p.start, end_date: p.end });
const modal = (p: { start: string; end: string }, unit: string) => ({ query_kind: 'most_frequent_location', ...window(p), aggregation_unit: unit });
const ADMIN = ['admin1', 'admin2', 'admin3'];
const PERIODS = ['day', 'week', 'month', 'year'];

/** Raw FlowKit aggregates over a calendar period: what an analyst would send to FlowKit itself. */
const AGGREGATES: Source[] = [
  {
    kind: 'aggregate',
    id: 'unique_subscriber_counts',
    category: 'FlowKit aggregates',
    label: 'unique_subscriber_counts',
    description: 'Distinct subscribers with an event in the region during the period (FlowKit unique_subscriber_counts).',
    measureUnit: 'subscribers',
    shape: 'region',
    scalable: false,
    spatial: ADMIN,
    temporal: PERIODS,
    spec: (p, unit) => ({ query_kind: 'unique_subscriber_counts', ...window(p), aggregation_unit: unit }),
  },
  {
    kind: 'aggregate',
    id: 'spatial_aggregate',
    category: 'FlowKit aggregates',
    label: 'spatial_aggregate of most_frequent_location',
    description: 'Subscribers by the region they were seen in most often during the period (FlowKit spatial_aggregate).',
    measureUnit: 'subscribers',
    shape: 'region',
    scalable: false,
    spatial: ADMIN,
    temporal: PERIODS,
    spec: (p, unit) => ({ query_kind: 'spatial_aggregate', locations: modal(p, unit) }),
  },
  {
    kind: 'aggregate',
    id: 'flows',
    category: 'FlowKit aggregates',
    label: 'flows between most_frequent_locations',
    description: "Subscribers by the region seen most in the previous period and in this one (FlowKit flows); the diagonal is those who stayed.",
    measureUnit: 'subscribers',
    shape: 'od',
    scalable: false,
    spatial: ADMIN,
    temporal: PERIODS,
    spec: (p, unit) => {
      // The first stored period has no previous one to have come from.
      if (!p.previous) return null;
      const prev = calendarPeriod(new Date(Date.parse(`${p.start}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10), p.resolution);
      return { query_kind: 'flows', from_location: modal(prev, unit), to_location: modal(p, unit) };
    },
  },
];

/** The service's indicators, then the aggregates the tier may run. */
export function sourcesFor(catalog: readonly CatalogEntry[], limits: Limits): Source[] {
  const indicators: Source[] = catalog.map((c) => ({
    kind: 'indicator',
    id: c.id,
    category: c.category,
    label: c.id.split('.').slice(1).join('.'),
    description: `${c.description} Unit: ${c.unit}.`,
    measureUnit: c.unit,
    shape: c.shape,
    scalable: CATALOG.find((d) => d.id === c.id)?.scalable ?? false,
    spatial: c.spatial,
    temporal: c.temporal,
  }));
  const may = (kind: string) => limits.kinds.includes('*') || limits.kinds.includes(kind);
  return [...indicators, ...AGGREGATES.filter((a) => may(a.id))];
}

export const TIME_RANK = ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'];

/** The source's units the tier may see, coarse to fine. */
export function unitsFor(source: Source, limits: Limits): string[] {
  return unitOrder(limits.units.filter((u) => source.spatial.includes(u)));
}

/** The source's time resolutions no finer than the tier's. */
export function resolutionsFor(source: Source, limits: Limits): string[] {
  const finest = TIME_RANK.indexOf(limits.temporal);
  return source.temporal.filter((t) => TIME_RANK.indexOf(t) >= finest);
}

const DAY_MS = 86_400_000;

/**
 * The periods of a resolution over the stored days that the tier's window
 * allows (history and freshness, as the service checks them: on the
 * calendar period's bounds), oldest first.
 */
export function periodsFor(days: readonly string[], resolution: string, limits: Limits): Period[] {
  const last = days.at(-1);
  if (!last) return [];
  const dataEnd = Date.parse(`${last}T00:00:00Z`) + DAY_MS;
  const ms = (d: string) => Date.parse(`${d}T00:00:00Z`);
  return periodsOf(days, resolution as Period['resolution']).filter(
    (p) =>
      (limits.freshnessDays === null || limits.freshnessDays <= 0 || ms(p.end) <= dataEnd - limits.freshnessDays * DAY_MS) &&
      (limits.historyDays === null || ms(p.start) >= dataEnd - limits.historyDays * DAY_MS),
  );
}

/**
 * The period a page opens on: the latest complete one. Under differential
 * privacy a period still filling is withheld whole until its last day is
 * stored (docs/PRIVACY.md), so opening on it would show a hatched map; under
 * threshold redaction it is published but compares a part of a week or month
 * with a whole one. The latest period when none is complete.
 */
export function openingPeriod(periods: readonly Period[]): Period | undefined {
  for (let i = periods.length - 1; i >= 0; i--) if (periodComplete(periods[i]!)) return periods[i];
  return periods.at(-1);
}

export type { Period };
