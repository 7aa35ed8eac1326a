/**
 * Per-subscriber locations (FlowKit's daily_location.py, modal_location.py,
 * most_frequent_location.py, visited_most_days.py, unique_locations.py,
 * location_visits.py, majority_location.py, coalesced_location.py,
 * mobility_classification.py). They exist only nested inside an aggregate.
 */
import {
  checkSameUnit,
  checkSameUnitList,
  type EventFilter,
  readEventFilter,
  readSampling,
  readUnit,
  type Sampling,
} from './common.js';
import { readDay, readWindow } from './dates.js';
import { canonicalJson } from './hash.js';
import { SPEC_LIMITS } from './limits.js';
import { boolean, built, type Fields, integer, number, oneOf } from './read.js';

interface Sampled {
  sampling: Sampling | null;
}

export interface DailyLocation extends EventFilter, Sampled {
  query_kind: 'daily_location';
  /** The day [date, date + 1 day). */
  date: string;
  method: 'last' | 'most-common';
  aggregation_unit: string;
}

/** Locations over a window [start_date, end_date). */
interface WindowedLocation<K extends string> extends EventFilter, Sampled {
  query_kind: K;
  start_date: string;
  end_date: string;
  aggregation_unit: string;
}

export type MostFrequentLocation = WindowedLocation<'most_frequent_location'>;
export type VisitedMostDays = WindowedLocation<'visited_most_days'>;
/** The set of distinct locations per subscriber (not one location). */
export type UniqueLocations = WindowedLocation<'unique_locations'>;

export interface ModalLocation extends Sampled {
  query_kind: 'modal_location';
  /** Non-empty, one unit; in canonical order (the mode does not depend on it). */
  locations: DailyLocation[];
}

export interface LocationVisits extends Sampled {
  query_kind: 'location_visits';
  /** Non-empty, one unit; in canonical order (counts do not depend on it). */
  locations: (DailyLocation | ModalLocation)[];
}

export interface MajorityLocation extends Sampled {
  query_kind: 'majority_location';
  subscriber_location_weights: LocationVisits;
  minimum_total_weight: number;
  include_unlocatable: boolean;
}

export interface CoalescedLocation extends Sampled {
  query_kind: 'coalesced_location';
  preferred_location: MajorityLocation;
  fallback_location: MajorityLocation;
  subscriber_location_weights: LocationVisits;
  weight_threshold: number;
}

export interface MobilityClassification extends Sampled {
  query_kind: 'mobility_classification';
  /** Reference periods in chronological order (the order matters). */
  locations: CoalescedLocation[];
  stay_length_threshold: number;
}

/** One location per subscriber: FlowKit's ReferenceLocationSchema. */
export type ReferenceLocation =
  | DailyLocation
  | ModalLocation
  | MostFrequentLocation
  | VisitedMostDays
  | MajorityLocation
  | CoalescedLocation;

/** What flows, inflows and outflows take at each end. */
export type FlowInput = ReferenceLocation | UniqueLocations;

export type LocationSpec = ReferenceLocation | UniqueLocations | LocationVisits | MobilityClassification;

const METHODS = ['last', 'most-common'] as const;
export const locationMethod = oneOf(METHODS, { most_common: 'most-common' });

function dailyLocation(f: Fields): DailyLocation {
  return built<DailyLocation>({
    query_kind: 'daily_location',
    date: readDay(f, 'date'),
    method: f.req('method', `one of ${METHODS.join(', ')}`, locationMethod),
    aggregation_unit: readUnit(f),
    ...readEventFilter(f),
    sampling: readSampling(f),
  });
}

function windowed<K extends string>(kind: K) {
  return (f: Fields): WindowedLocation<K> => {
    const { start, end } = readWindow(f);
    return built<WindowedLocation<K>>({
      query_kind: kind,
      start_date: start,
      end_date: end,
      aggregation_unit: readUnit(f),
      ...readEventFilter(f),
      sampling: readSampling(f),
    });
  };
}

/** Canonical order for lists whose meaning does not depend on order, so that equal specs hash equal. */
function canonicalOrder<T>(items: T[] | undefined): T[] | undefined {
  if (!items) return items;
  const keyed = items.map((item) => ({ item, key: canonicalJson(item) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.item);
}

function modalLocation(f: Fields): ModalLocation {
  const locations = f.nestedList<DailyLocation>('locations');
  checkSameUnitList(f, 'locations', locations);
  return built<ModalLocation>({
    query_kind: 'modal_location',
    locations: canonicalOrder(locations),
    sampling: readSampling(f),
  });
}

function locationVisits(f: Fields): LocationVisits {
  const locations = f.nestedList<DailyLocation | ModalLocation>('locations');
  checkSameUnitList(f, 'locations', locations);
  return built<LocationVisits>({
    query_kind: 'location_visits',
    locations: canonicalOrder(locations),
    sampling: readSampling(f),
  });
}

function majorityLocation(f: Fields): MajorityLocation {
  return built<MajorityLocation>({
    query_kind: 'majority_location',
    subscriber_location_weights: f.nested<LocationVisits>('subscriber_location_weights'),
    minimum_total_weight: f.opt('minimum_total_weight', 0, number({ min: 0 })),
    include_unlocatable: f.opt('include_unlocatable', false, boolean),
    sampling: readSampling(f),
  });
}

function coalescedLocation(f: Fields): CoalescedLocation {
  const preferred = f.nested<MajorityLocation>('preferred_location');
  const fallback = f.nested<MajorityLocation>('fallback_location');
  const weights = f.nested<LocationVisits>('subscriber_location_weights');
  checkSameUnit(f, [
    { key: 'preferred_location', spec: preferred },
    { key: 'fallback_location', spec: fallback },
    { key: 'subscriber_location_weights', spec: weights },
  ]);
  return built<CoalescedLocation>({
    query_kind: 'coalesced_location',
    preferred_location: preferred,
    fallback_location: fallback,
    subscriber_location_weights: weights,
    weight_threshold: f.req('weight_threshold', `an integer >= 0 and <= ${SPEC_LIMITS.int32}`, integer({ min: 0, max: SPEC_LIMITS.int32 })),
    sampling: readSampling(f),
  });
}

function mobilityClassification(f: Fields): MobilityClassification {
  const locations = f.nestedList<CoalescedLocation>('locations');
  checkSameUnitList(f, 'locations', locations);
  return built<MobilityClassification>({
    query_kind: 'mobility_classification',
    locations,
    stay_length_threshold: f.req('stay_length_threshold', `an integer >= 0 and <= ${SPEC_LIMITS.int32}`, integer({ min: 0, max: SPEC_LIMITS.int32 })),
    sampling: readSampling(f),
  });
}

export const LOCATION_PARSERS = {
  daily_location: dailyLocation,
  most_frequent_location: windowed('most_frequent_location'),
  modal_location: modalLocation,
  visited_most_days: windowed('visited_most_days'),
  unique_locations: windowed('unique_locations'),
  location_visits: locationVisits,
  majority_location: majorityLocation,
  coalesced_location: coalescedLocation,
  mobility_classification: mobilityClassification,
} as const;
