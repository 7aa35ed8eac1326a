/**
 * The OPAL indicator catalog (issue #6, item 1): indicator definitions as data,
 * read by the indicator computation here and, later, by the service and the
 * dashboard. Each definition names its category, unit, description, rounding
 * class, and the FlowKit query specs it is computed from, as functions of
 * (period, aggregation unit). Periods are calendar periods (day, ISO week
 * starting Monday, month, year) clipped to the days the store holds.
 */

export type Category = 'residents' | 'relocations' | 'presence' | 'movements';
export type TemporalResolution = 'day' | 'week' | 'month' | 'year';
export type SpatialResolution = 'admin1' | 'admin2' | 'admin3';

/** How a published value is rounded (disclosure.ts): people counts, flows, densities, differences. */
export type RoundingClass = 'people' | 'relocations' | 'density' | 'difference';

export const TEMPORAL_RESOLUTIONS: readonly TemporalResolution[] = ['day', 'week', 'month', 'year'];
export const SPATIAL_RESOLUTIONS: readonly SpatialResolution[] = ['admin1', 'admin2', 'admin3'];

/** A calendar period clipped to the store's days. Dates are local 'YYYY-MM-DD'; `end` is exclusive. */
export interface Period {
  resolution: TemporalResolution;
  /** e.g. '2016-01-04' (day), '2016-W01' (week), '2016-01' (month), '2016' (year). */
  key: string;
  /** First day of the calendar period (unclipped). */
  start: string;
  /** Day after the calendar period's last day (unclipped, exclusive). */
  end: string;
  /** The store's days inside the period, in order (the clip). */
  days: string[];
  /** The store's day before the period's first stored day, if any (for day-to-day OD). */
  dayBefore: string | null;
  /** The previous period of the same resolution, clipped, when the store holds any day of it. */
  previous: Period | null;
}

/** One FlowKit query spec an indicator uses, with the role it plays. */
export interface SpecUse {
  role: string;
  spec: Record<string, unknown>;
}

export interface IndicatorDefinition {
  /** `category.name`, e.g. residents.count. */
  id: string;
  category: Category;
  name: string;
  /** Unit of the published value. */
  unit: string;
  /** Region values (one per region) or an origin-destination matrix. */
  shape: 'region' | 'od';
  rounding: RoundingClass;
  /** Whether it can be scaled from subscribers to people (scale.ts). */
  scalable: boolean;
  /** A difference of two published values: thresholded as such (disclosure.ts, differencing check). */
  difference?: { minuend: string; subtrahend: string };
  description: string;
  /** The FlowKit query specs it is computed from, as functions of (period, unit). */
  specs(period: Period, unit: string): SpecUse[];
  spatial: readonly SpatialResolution[];
  temporal: readonly TemporalResolution[];
}

// ---------------------------------------------------------------- dates

const DAY_MS = 86_400_000;

/** Whether the store's days of `p` reach its last calendar day (`end` is exclusive). */
export function periodComplete(p: Period): boolean {
  const last = p.days.at(-1);
  return last !== undefined && dayNumber(last) === dayNumber(p.end) - 1;
}

export function dayNumber(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

export function dateOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(date: string, n: number): string {
  return dateOf(dayNumber(date) + n);
}

/** ISO week-numbering year and week of a date. */
function isoWeek(date: string): { year: number; week: number; monday: string } {
  const d = dayNumber(date);
  const dow = (new Date(d * DAY_MS).getUTCDay() + 6) % 7; // Monday = 0
  const monday = d - dow;
  const thursday = monday + 3;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  const jan1 = dayNumber(`${year}-01-01`);
  const week = Math.floor((thursday - jan1) / 7) + 1;
  return { year, week, monday: dateOf(monday) };
}

/** The calendar period of a resolution containing a date: key, start, end (exclusive). */
export function calendarPeriod(date: string, resolution: TemporalResolution): { key: string; start: string; end: string } {
  switch (resolution) {
    case 'day':
      return { key: date, start: date, end: addDays(date, 1) };
    case 'week': {
      const w = isoWeek(date);
      return { key: `${w.year}-W${String(w.week).padStart(2, '0')}`, start: w.monday, end: addDays(w.monday, 7) };
    }
    case 'month': {
      const [y, m] = date.split('-').map(Number) as [number, number];
      const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
      return { key: date.slice(0, 7), start: `${date.slice(0, 7)}-01`, end: next };
    }
    case 'year': {
      const y = Number(date.slice(0, 4));
      return { key: String(y), start: `${y}-01-01`, end: `${y + 1}-01-01` };
    }
  }
}

/**
 * The calendar days [from, to) that an indicator of the period holding `date`
 * reads: the period and the one before it (arrivals, departures and
 * relocations compare homes with the previous period; trips start from the day
 * before the first), or, when scaled, every day before the period's end (the
 * scaling baseline is the store's first period): from is then null. A live
 * subscription is refreshed when a stored day in this range changes.
 */
export function daysRead(resolution: TemporalResolution, date: string, scaled: boolean): { from: string | null; to: string } {
  const cal = calendarPeriod(date, resolution);
  return { from: scaled ? null : calendarPeriod(addDays(cal.start, -1), resolution).start, to: cal.end };
}

/** Every period of a resolution that holds at least one of the store's days, in order, clipped. */
export function periodsOf(storeDays: readonly string[], resolution: TemporalResolution): Period[] {
  const days = [...storeDays].sort();
  const out: Period[] = [];
  for (const day of days) {
    const cal = calendarPeriod(day, resolution);
    let p = out.at(-1);
    if (!p || p.key !== cal.key) {
      const i = days.indexOf(day);
      p = { resolution, ...cal, days: [], dayBefore: i > 0 ? days[i - 1]! : null, previous: out.at(-1) ?? null };
      // Only a calendar-adjacent previous period counts as "previous".
      if (p.previous && p.previous.end !== p.start) p.previous = null;
      out.push(p);
    }
    p.days.push(day);
  }
  return out;
}

/** The clipped period of a resolution containing `date` (a date or a period key's first day). */
export function periodOf(storeDays: readonly string[], resolution: TemporalResolution, date: string): Period {
  const key = calendarPeriod(date, resolution).key;
  const p = periodsOf(storeDays, resolution).find((x) => x.key === key);
  if (!p) throw new RangeError(`no stored day in the ${resolution} of ${date}`);
  return p;
}

// ---------------------------------------------------------------- FlowKit specs

/** A daily location: the subscriber's last location of the day (FlowKit's daily_location, method last). */
export function dailyLast(date: string, unit: string): Record<string, unknown> {
  return { query_kind: 'daily_location', date, method: 'last', aggregation_unit: unit };
}

/** The home of a period: the modal location of the daily `last` locations over the period's days. */
export function homeOf(period: Period, unit: string): Record<string, unknown> {
  return { query_kind: 'modal_location', locations: period.days.map((d) => dailyLast(d, unit)) };
}

/** Residents per region: spatial_aggregate of the period's home (modal_location). */
export function residentsSpec(period: Period, unit: string): Record<string, unknown> {
  return { query_kind: 'spatial_aggregate', locations: homeOf(period, unit) };
}

/** The home-to-home OD between the previous period and this one (flows of the two modal locations). */
export function relocationSpec(period: Period, unit: string): Record<string, unknown> | null {
  if (!period.previous) return null;
  return { query_kind: 'flows', from_location: homeOf(period.previous, unit), to_location: homeOf(period, unit), join_type: 'inner' };
}

/** The day pairs whose daily-location OD the period's trips sum: (day before, day) for each stored day. */
export function dayPairs(period: Period): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let prev = period.dayBefore;
  for (const d of period.days) {
    // Only consecutive calendar days make a daily trip.
    if (prev !== null && addDays(prev, 1) === d) out.push([prev, d]);
    prev = d;
  }
  return out;
}

/** The daily-location OD of consecutive days: flows of day d-1's and day d's `last` locations. */
export function dailyOdSpecs(period: Period, unit: string): Record<string, unknown>[] {
  return dayPairs(period).map(([a, b]) => ({ query_kind: 'flows', from_location: dailyLast(a, unit), to_location: dailyLast(b, unit), join_type: 'inner' }));
}

/** Unique subscribers with an event in the region over the period. */
export function presenceSpec(period: Period, unit: string): Record<string, unknown> {
  return { query_kind: 'unique_subscriber_counts', start_date: period.days[0], end_date: addDays(period.days.at(-1)!, 1), aggregation_unit: unit };
}

const all = { spatial: SPATIAL_RESOLUTIONS, temporal: TEMPORAL_RESOLUTIONS } as const;
const residents = (p: Period, u: string): SpecUse[] => [{ role: 'residents', spec: residentsSpec(p, u) }];
const relocations = (p: Period, u: string): SpecUse[] => {
  const s = relocationSpec(p, u);
  return s ? [{ role: 'home-to-home OD (previous period -> period)', spec: s }] : [];
};
const dailyOd = (p: Period, u: string): SpecUse[] => dailyOdSpecs(p, u).map((spec) => ({ role: 'daily-location OD (consecutive days)', spec }));

export const CATALOG: readonly IndicatorDefinition[] = [
  {
    id: 'residents.count',
    category: 'residents',
    name: 'count',
    unit: 'subscribers (people when scaled)',
    shape: 'region',
    rounding: 'people',
    scalable: true,
    description:
      "Subscribers whose home is the region: the home is the modal location of the subscriber's daily last-of-day locations over the period's days (spatial_aggregate of modal_location of daily_location method last; ties go to the location seen on the latest day).",
    specs: residents,
    ...all,
  },
  {
    id: 'residents.arrived',
    category: 'residents',
    name: 'arrived',
    unit: 'subscribers',
    shape: 'region',
    rounding: 'relocations',
    scalable: false,
    description:
      'Subscribers whose home moved into the region since the previous period: the off-diagonal column sum, by destination, of the home-to-home OD (flows of the two periods\' modal locations), summed from the unredacted OD, then thresholded.',
    specs: relocations,
    ...all,
  },
  {
    id: 'residents.departed',
    category: 'residents',
    name: 'departed',
    unit: 'subscribers',
    shape: 'region',
    rounding: 'relocations',
    scalable: false,
    description:
      'Subscribers whose home moved out of the region since the previous period: the off-diagonal row sum, by origin, of the home-to-home OD, summed from the unredacted OD, then thresholded.',
    specs: relocations,
    ...all,
  },
  {
    id: 'residents.delta_arrived',
    category: 'residents',
    name: 'delta_arrived',
    unit: 'subscribers',
    shape: 'region',
    rounding: 'difference',
    scalable: false,
    difference: { minuend: 'residents.arrived', subtrahend: 'residents.departed' },
    description: 'Net home moves: arrived minus departed. A difference of two published values, itself thresholded (|value| > k) and published only where both terms are.',
    specs: relocations,
    ...all,
  },
  {
    id: 'residents.per_km2',
    category: 'residents',
    name: 'per_km2',
    unit: 'subscribers per km² (people per km² when scaled)',
    shape: 'region',
    rounding: 'density',
    scalable: true,
    description: "Residents divided by the region's area (km², holes subtracted), computed from the published (thresholded, rounded) residents count.",
    specs: residents,
    ...all,
  },
  {
    id: 'relocations.od',
    category: 'relocations',
    name: 'od',
    unit: 'subscribers',
    shape: 'od',
    rounding: 'relocations',
    scalable: false,
    description: "The home-to-home OD matrix between the previous period and this one (flows from the previous period's modal location to this period's), off-diagonal pairs only.",
    specs: relocations,
    ...all,
  },
  {
    id: 'presence.count',
    category: 'presence',
    name: 'count',
    unit: 'subscribers (people when scaled)',
    shape: 'region',
    rounding: 'people',
    scalable: true,
    description: 'Unique subscribers with at least one event located in the region during the period (unique_subscriber_counts over the period).',
    specs: (p, u) => [{ role: 'presence', spec: presenceSpec(p, u) }],
    ...all,
  },
  {
    id: 'presence.trips_in',
    category: 'presence',
    name: 'trips_in',
    unit: 'subscriber-days',
    shape: 'region',
    rounding: 'relocations',
    scalable: false,
    description:
      "Trips into the region: for each stored day of the period and the day before it, the daily-location OD (flows of the two days' last locations), off-diagonal, summed by destination over the period's day pairs from the UNREDACTED OD; the threshold applies to the sum (FlowKit #4866).",
    specs: dailyOd,
    ...all,
  },
  {
    id: 'presence.trips_out',
    category: 'presence',
    name: 'trips_out',
    unit: 'subscriber-days',
    shape: 'region',
    rounding: 'relocations',
    scalable: false,
    description: 'Trips out of the region: as trips_in, summed by origin.',
    specs: dailyOd,
    ...all,
  },
  {
    id: 'presence.per_km2',
    category: 'presence',
    name: 'per_km2',
    unit: 'subscribers per km² (people per km² when scaled)',
    shape: 'region',
    rounding: 'density',
    scalable: true,
    description: "Presence divided by the region's area, from the published presence count.",
    specs: (p, u) => [{ role: 'presence', spec: presenceSpec(p, u) }],
    ...all,
  },
  {
    id: 'movements.od',
    category: 'movements',
    name: 'od',
    unit: 'subscriber-days',
    shape: 'od',
    rounding: 'relocations',
    scalable: false,
    description:
      "Travellers between regions: the daily-location OD of consecutive days (day before -> day, last locations), off-diagonal, summed per pair over the period's day pairs from the unredacted OD, then thresholded.",
    specs: dailyOd,
    ...all,
  },
];

export function definition(id: string): IndicatorDefinition {
  const d = CATALOG.find((x) => x.id === id);
  if (!d) throw new RangeError(`unknown indicator ${JSON.stringify(id)}; known: ${CATALOG.map((x) => x.id).join(', ')}`);
  return d;
}
