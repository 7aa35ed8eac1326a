/**
 * Event times become local wall-clock seconds since 1970 in the dataset's
 * timezone: the store's `t`. Kernels then find the local day and hour by plain
 * division, with no timezone rules in any hot loop.
 */

/** Offset (seconds east of UTC) of `timezone` at a UTC instant, cached per hour. */
export class TimezoneOffsets {
  private readonly cache = new Map<number, number>();
  private readonly format: Intl.DateTimeFormat | null;

  constructor(readonly timezone: string) {
    this.format =
      timezone === 'UTC' || timezone === 'Etc/UTC'
        ? null
        : new Intl.DateTimeFormat('en-US', {
            timeZone: timezone,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          });
  }

  /** Throws a RangeError for an unknown timezone name, at construction time. */
  static validate(timezone: string): void {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  }

  offsetAt(utcSeconds: number): number {
    if (!this.format) return 0;
    const hour = Math.floor(utcSeconds / 3600);
    let offset = this.cache.get(hour);
    if (offset === undefined) {
      const parts = this.format.formatToParts(new Date(hour * 3600 * 1000));
      const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
      const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
      offset = Math.round(wall / 1000 - hour * 3600);
      this.cache.set(hour, offset);
    }
    return offset;
  }

  /** Local wall-clock seconds for a UTC instant. */
  toLocal(utcSeconds: number): number {
    return utcSeconds + this.offsetAt(utcSeconds);
  }
}

function digits(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** The decimal number in bytes [from, from + count), or -1 when one is not a digit. */
function byteDigits(b: Uint8Array, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days since 1970-01-01 of a civil date, or -1 when the date does not exist. */
export function civilDays(y: number, m: number, d: number): number {
  if (m < 1 || m > 12 || d < 1) return -1;
  const monthDays = m === 2 ? (isLeap(y) ? 29 : 28) : MONTH_DAYS[m - 1]!;
  if (d > monthDays) return -1;
  // Days from 1970 to Jan 1 of y, counting leap days (valid for y >= 1970).
  const yy = y - 1;
  const leaps = Math.floor(yy / 4) - Math.floor(yy / 100) + Math.floor(yy / 400) - 477; // 477 leap days before 1970
  let days = (y - 1970) * 365 + leaps + DAYS_BEFORE_MONTH[m - 1]! + d - 1;
  if (m > 2 && isLeap(y)) days += 1;
  return days;
}

/** `YYYY-MM-DD` of a day number. */
export function dayToDate(day: number): string {
  return new Date(day * 86400 * 1000).toISOString().slice(0, 10);
}

/** Day number of `YYYY-MM-DD`, or -1 when it is not a valid date. */
export function dateToDay(date: string): number {
  if (date.length !== 10 || date[4] !== '-' || date[7] !== '-') return -1;
  const y = digits(date, 0, 4);
  const m = digits(date, 5, 2);
  const d = digits(date, 8, 2);
  if (y < 1970 || m < 0 || d < 0) return -1;
  return civilDays(y, m, d);
}

const D = 0x2d; // -
const T = 0x54;
const SPACE = 0x20;
const COLON = 0x3a;
const DOT = 0x2e;
const COMMA = 0x2c;
const Z = 0x5a;
const PLUS = 0x2b;

/** Scratch for parseDateTime: event times are ASCII, at most a few dozen characters. */
let scratch = new Uint8Array(64);

/**
 * Parses an ISO 8601 event time: `YYYY-MM-DD`, then optionally `T` or a space and
 * `HH:MM[:SS[.fff]]`, then optionally `Z` or `+HH[:MM]`/`-HH[:MM]`. Without an
 * offset the time is already local. Returns local wall-clock seconds (fractions
 * truncated), or NaN when the text is not such a time or lies outside
 * [1970, 2106).
 */
export function parseDateTime(s: string, tz: TimezoneOffsets): number {
  const n = s.length;
  if (n > scratch.length) scratch = new Uint8Array(n * 2);
  // The grammar is ASCII: any other character makes it not a time (and must not
  // reach the byte parser as its low byte).
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return NaN;
    scratch[i] = c;
  }
  return parseDateTimeBytes(scratch, 0, n, tz);
}

/**
 * parseDateTime over the ASCII bytes [start, end) of `b`, as CSV files hold
 * them: the ingest hot path parses times without making a string.
 */
export function parseDateTimeBytes(b: Uint8Array, start: number, end: number, tz: TimezoneOffsets): number {
  const n = end - start;
  if (n < 10 || b[start + 4] !== D || b[start + 7] !== D) return NaN;
  const y = byteDigits(b, start, 4);
  const mo = byteDigits(b, start + 5, 2);
  const d = byteDigits(b, start + 8, 2);
  if (y < 1970 || y >= 2106 || mo < 0 || d < 0) return NaN;
  const day = civilDays(y, mo, d);
  if (day < 0) return NaN;
  let secs = day * 86400;
  let i = start + 10;
  if (i < end && (b[i] === T || b[i] === SPACE)) {
    if (i + 6 > end || b[i + 3] !== COLON) return NaN;
    const hh = byteDigits(b, i + 1, 2);
    const mm = byteDigits(b, i + 4, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return NaN;
    secs += hh * 3600 + mm * 60;
    i += 6;
    if (i < end && b[i] === COLON) {
      if (i + 3 > end) return NaN;
      const ss = byteDigits(b, i + 1, 2);
      if (ss < 0 || ss > 60) return NaN;
      secs += Math.min(ss, 59);
      i += 3;
      if (i < end && (b[i] === DOT || b[i] === COMMA)) {
        i++;
        const first = i;
        while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
        if (i === first) return NaN;
      }
    }
  }
  if (i === end) return secs;
  let offset: number;
  if (b[i] === Z && i + 1 === end) {
    offset = 0;
  } else if (b[i] === PLUS || b[i] === D) {
    // +HH, +HHMM or +HH:MM
    const rest = end - i - 1;
    const oh = byteDigits(b, i + 1, 2);
    const om = rest === 2 ? 0 : rest === 4 ? byteDigits(b, i + 3, 2) : rest === 5 && b[i + 3] === COLON ? byteDigits(b, i + 4, 2) : -1;
    if (oh < 0 || om < 0 || oh > 18 || om > 59) return NaN;
    offset = (b[i] === PLUS ? 1 : -1) * (oh * 3600 + om * 60);
  } else {
    return NaN;
  }
  return tz.toLocal(secs - offset);
}
