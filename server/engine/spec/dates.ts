/**
 * Dates and windows. FlowKit's ISODateTime takes what Python's
 * datetime.fromisoformat parses ("2016-01-01", "2016-01-01T00:00:00",
 * "2016-01-01 00:00:00"); a bare date is local midnight in the dataset's
 * timezone. Normal form: 'YYYY-MM-DD' at midnight, else 'YYYY-MM-DD HH:MM:SS',
 * so that every spelling of one instant hashes the same.
 */
import { Issues } from './errors.js';
import type { Fields, Reader } from './read.js';

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

const EXPECTED_DATE_TIME = 'a date YYYY-MM-DD or a local date-time YYYY-MM-DD HH:MM:SS';
const EXPECTED_DAY = 'a date YYYY-MM-DD';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

type Parsed = { ok: true; value: string; midnight: boolean } | { ok: false; expected: string };

function parseIso(raw: string): Parsed {
  const m = ISO.exec(raw);
  if (!m) return { ok: false, expected: EXPECTED_DATE_TIME };
  const [, y, mo, d, hh = '0', mm = '0', ss = '0', frac = '0', tz] = m;
  if (tz !== undefined) {
    // A timezone would need the dataset's own zone to mean anything; FlowKit's
    // windows are local, so only local times are taken.
    return { ok: false, expected: "a local date-time without a timezone (times are in the dataset's timezone)" };
  }
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, expected: 'a real calendar date (YYYY-MM-DD)' };
  }
  const [h, min, s] = [Number(hh), Number(mm), Number(ss)];
  if (h > 23 || min > 59 || s > 59) return { ok: false, expected: 'a real time of day (HH:MM:SS)' };
  if (Number(frac) !== 0) return { ok: false, expected: 'a time in whole seconds' };
  const date = `${y}-${mo}-${d}`;
  const midnight = h === 0 && min === 0 && s === 0;
  return { ok: true, value: midnight ? date : `${date} ${pad(h)}:${pad(min)}:${pad(s)}`, midnight };
}

/** A date or a local date-time, in normal form. */
export const dateTime: Reader<string> = (value, path, env) => {
  const p: Parsed = typeof value === 'string' ? parseIso(value) : { ok: false, expected: EXPECTED_DATE_TIME };
  if (p.ok) return p.value;
  env.errors.push(Issues.expected(path, p.expected, value));
  return undefined;
};

/** A whole day (daily_location's date covers [date, date + 1 day)); "2016-01-01T00:00:00" is accepted. */
export const day: Reader<string> = (value, path, env) => {
  const v = dateTime(value, path, env);
  if (v === undefined || v.length === 10) return v;
  env.errors.push(Issues.expected(path, `${EXPECTED_DAY} (a whole day)`, value));
  return undefined;
};

/** Sortable key of a normal-form instant. */
export function instantKey(v: string): string {
  return v.length === 10 ? `${v} 00:00:00` : v;
}

export function addDays(date: string, n: number): string {
  const t = Date.parse(`${date.slice(0, 10)}T00:00:00Z`) + n * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** Length of [start, end) in days (fractional when times are given). */
export function spanDays(start: string, end: string): number {
  const t = (v: string) => Date.parse(`${instantKey(v).replace(' ', 'T')}Z`);
  return (t(end) - t(start)) / 86_400_000;
}

export interface Window {
  start_date: string;
  end_date: string;
}

/**
 * A half-open window [start, end): end must come after start, and when the
 * store's days are known the window must overlap them (as flowmachine refuses
 * dates it has no data for).
 */
export function readWindow(
  f: Fields,
  startKey = 'start_date',
  endKey = 'end_date',
): { start: string | undefined; end: string | undefined } {
  const start = f.req(startKey, EXPECTED_DATE_TIME, dateTime);
  const end = f.req(endKey, EXPECTED_DATE_TIME, dateTime);
  if (start === undefined || end === undefined) return { start, end };
  if (instantKey(end) <= instantKey(start)) {
    f.fail(Issues.emptyWindow(f.at(endKey), start, end));
    return { start, end };
  }
  const days = f.env.ctx.days;
  const overlaps = (d: NonNullable<typeof days>) =>
    instantKey(start) < instantKey(addDays(d.last, 1)) && instantKey(end) > instantKey(d.first);
  if (days && !overlaps(days)) {
    f.fail(Issues.outsideData(f.at(startKey), `[${start}, ${end})`, days.first, days.last));
  }
  return { start, end };
}

/** A whole day within the store's days, when known. */
export function readDay(f: Fields, key: string): string | undefined {
  const d = f.req(key, EXPECTED_DAY, day);
  const days = f.env.ctx.days;
  if (d !== undefined && days && (d < days.first || d > days.last)) {
    f.fail(Issues.outsideData(f.at(key), d, days.first, days.last));
  }
  return d;
}

/** A start instant (total_active_periods) that must not lie after the store's last day. */
export function readStart(f: Fields, key: string): string | undefined {
  const s = f.req(key, EXPECTED_DATE_TIME, dateTime);
  const days = f.env.ctx.days;
  if (s !== undefined && days && instantKey(s) >= instantKey(addDays(days.last, 1))) {
    f.fail(Issues.outsideData(f.at(key), s, days.first, days.last));
  }
  return s;
}
