/**
 * FlowKit's meaningful locations aggregates (query_schemas/meaningful_locations.py):
 * clusters of a subscriber's cells, scored by hour of day and day of week and
 * labelled by the region of score space (a GeoJSON polygon) they fall in.
 */
import { type EventFilter, readEventFilter, readUnit } from './common.js';
import { readWindow } from './dates.js';
import { Issues } from './errors.js';
import { SPEC_LIMITS } from './limits.js';
import { built, type Fields, integer, isRecord, joinPath, listOf, number, object, oneOf, type Reader, text } from './read.js';

/** A polygon in (hour-of-day score, day-of-week score) space, both in [-1, 1]. */
export interface LabelShape {
  type: 'Polygon' | 'MultiPolygon';
  coordinates: number[][][] | number[][][][];
}

export type DayOfWeek = 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday' | 'sunday';

interface Scoring extends Omit<EventFilter, 'hours'> {
  aggregation_unit: string;
  labels: Record<string, LabelShape>;
  /** 24 scores in [-1, 1], the first for 00:00-01:00. */
  tower_hour_of_day_scores: number[];
  tower_day_of_week_scores: Partial<Record<DayOfWeek, number>>;
  /** km. */
  tower_cluster_radius: number;
  tower_cluster_call_threshold: number;
}

export interface MeaningfulLocationsAggregate extends Scoring {
  query_kind: 'meaningful_locations_aggregate';
  start_date: string;
  end_date: string;
  /** A key of labels, or 'unknown' for clusters no label covers. */
  label: string;
}

export interface MeaningfulLocationsBetweenLabelODMatrix extends Scoring {
  query_kind: 'meaningful_locations_between_label_od_matrix';
  start_date: string;
  end_date: string;
  label_a: string;
  label_b: string;
}

export interface MeaningfulLocationsBetweenDatesODMatrix extends Scoring {
  query_kind: 'meaningful_locations_between_dates_od_matrix';
  start_date_a: string;
  end_date_a: string;
  start_date_b: string;
  end_date_b: string;
  label: string;
}

const DAYS: readonly DayOfWeek[] = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const score = number({ min: -1, max: 1 });

/** [x, y] or [x, y, z]: checked exactly so that nesting depth stays bounded. */
const position: Reader<number[]> = (value, path, env) => {
  if (Array.isArray(value) && (value.length === 2 || value.length === 3)) {
    return listOf(number(), 'numbers')(value, path, env);
  }
  env.errors.push(Issues.expected(path, 'a position [x, y]', value));
  return undefined;
};
const ring = listOf(position, 'positions', { min: 3, max: SPEC_LIMITS.positions });
const polygon = listOf(ring, 'rings', { min: 1, max: SPEC_LIMITS.rings });
const multiPolygon = listOf(polygon, 'polygons', { min: 1, max: SPEC_LIMITS.polygons });

const shapeType = oneOf(['Polygon', 'MultiPolygon'] as const);

const labelShape: Reader<LabelShape> = object('label shape', 'a GeoJSON Polygon or MultiPolygon', (g) => {
  const type = g.req('type', 'Polygon or MultiPolygon', shapeType);
  const coords: Reader<LabelShape['coordinates']> = type === 'MultiPolygon' ? multiPolygon : polygon;
  const coordinates = g.req('coordinates', `the coordinates of a ${type ?? 'Polygon'}`, coords);
  return type && coordinates ? { type, coordinates } : undefined;
});

const labels: Reader<Record<string, LabelShape>> = (value, path, env) => {
  if (!isRecord(value) || Object.keys(value).length === 0) {
    env.errors.push(Issues.expected(path, 'an object mapping label names to GeoJSON polygons', value));
    return undefined;
  }
  const count = Object.keys(value).length;
  if (count > SPEC_LIMITS.labels) {
    env.errors.push(Issues.described(path, `an object of at most ${SPEC_LIMITS.labels} labels`, `${count}`));
    return undefined;
  }
  const entries = Object.entries(value).map(([name, shape]) => [name, labelShape(shape, joinPath(path, name), env)]);
  const ok = (e: (typeof entries)[number]): e is [string, LabelShape] => e[1] !== undefined;
  // fromEntries defines own properties, so a label named __proto__ stays a label.
  return entries.every(ok) ? Object.fromEntries(entries) : undefined;
};

const dayOfWeekScores: Reader<Partial<Record<DayOfWeek, number>>> = (value, path, env) => {
  if (!isRecord(value)) {
    env.errors.push(Issues.expected(path, `an object mapping ${DAYS.join(', ')} to scores in [-1, 1]`, value));
    return undefined;
  }
  const out: Partial<Record<DayOfWeek, number>> = {};
  let ok = true;
  for (const [d, v] of Object.entries(value)) {
    const p = joinPath(path, d);
    if (!DAYS.includes(d as DayOfWeek)) {
      env.errors.push(Issues.expected(p, `a day of the week (${DAYS.join(', ')})`, d));
      ok = false;
      continue;
    }
    const s = score(v, p, env);
    if (s === undefined) ok = false;
    else out[d as DayOfWeek] = s;
  }
  return ok ? out : undefined;
};

/** The fields the three kinds share; FlowKit gives them no hours filter. */
function scoring(f: Fields) {
  const { event_types, subscriber_subset } = readEventFilter(f, false);
  return {
    aggregation_unit: readUnit(f),
    labels: f.req('labels', 'an object of label names to GeoJSON polygons', labels),
    tower_hour_of_day_scores: f.req(
      'tower_hour_of_day_scores',
      'a list of 24 scores in [-1, 1]',
      listOf(score, 'scores in [-1, 1]', { length: 24 }),
    ),
    tower_day_of_week_scores: f.req('tower_day_of_week_scores', 'an object of day-of-week scores', dayOfWeekScores),
    tower_cluster_radius: f.opt('tower_cluster_radius', 1.0, number({ min: 0 })),
    tower_cluster_call_threshold: f.opt('tower_cluster_call_threshold', 0, integer({ min: 0, max: SPEC_LIMITS.int32 })),
    event_types,
    subscriber_subset,
  };
}

const label = text('a label name');

function aggregate(f: Fields): MeaningfulLocationsAggregate {
  const { start, end } = readWindow(f);
  return built<MeaningfulLocationsAggregate>({
    query_kind: 'meaningful_locations_aggregate',
    start_date: start,
    end_date: end,
    label: f.req('label', 'a label name', label),
    ...scoring(f),
  });
}

function betweenLabels(f: Fields): MeaningfulLocationsBetweenLabelODMatrix {
  const { start, end } = readWindow(f);
  return built<MeaningfulLocationsBetweenLabelODMatrix>({
    query_kind: 'meaningful_locations_between_label_od_matrix',
    start_date: start,
    end_date: end,
    label_a: f.req('label_a', 'a label name', label),
    label_b: f.req('label_b', 'a label name', label),
    ...scoring(f),
  });
}

function betweenDates(f: Fields): MeaningfulLocationsBetweenDatesODMatrix {
  const a = readWindow(f, 'start_date_a', 'end_date_a');
  const b = readWindow(f, 'start_date_b', 'end_date_b');
  return built<MeaningfulLocationsBetweenDatesODMatrix>({
    query_kind: 'meaningful_locations_between_dates_od_matrix',
    start_date_a: a.start,
    end_date_a: a.end,
    start_date_b: b.start,
    end_date_b: b.end,
    label: f.req('label', 'a label name', label),
    ...scoring(f),
  });
}

export const MEANINGFUL_PARSERS = {
  meaningful_locations_aggregate: aggregate,
  meaningful_locations_between_label_od_matrix: betweenLabels,
  meaningful_locations_between_dates_od_matrix: betweenDates,
} as const;
