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

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days since 1970-01-01 of a civil date, or -1 when the date does not exist. */
export function civilDays(y: number, m: number, d: number): number {
  if (m < 1 || m > 12 || d < 1) return -1;
  const monthDays = m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
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

/**
 * Parses an ISO 8601 event time: `YYYY-MM-DD`, then optionally `T` or a space and
 * `HH:MM[:SS[.fff]]`, then optionally `Z` or `+HH[:MM]`/`-HH[:MM]`. Without an
 * offset the time is already local. Returns local wall-clock seconds (fractions
 * truncated), or NaN when the text is not such a time or lies outside
 * [1970, 2106).
 */
export function parseDateTime(s: string, tz: TimezoneOffsets): number {
  const n = s.length;
  if (n < 10 || s[4] !== '-' || s[7] !== '-') return NaN;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  if (y < 1970 || y >= 2106 || mo < 0 || d < 0) return NaN;
  const day = civilDays(y, mo, d);
  if (day < 0) return NaN;
  let secs = day * 86400;
  let i = 10;
  if (i < n && (s[i] === 'T' || s[i] === ' ')) {
    if (i + 6 > n || s[i + 3] !== ':') return NaN;
    const hh = digits(s, i + 1, 2);
    const mm = digits(s, i + 4, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return NaN;
    secs += hh * 3600 + mm * 60;
    i += 6;
    if (i < n && s[i] === ':') {
      const ss = digits(s, i + 1, 2);
      if (ss < 0 || ss > 60 || i + 3 > n) return NaN;
      secs += Math.min(ss, 59);
      i += 3;
      if (i < n && (s[i] === '.' || s[i] === ',')) {
        i++;
        const start = i;
        while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
        if (i === start) return NaN;
      }
    }
  }
  if (i === n) return secs;
  let offset: number;
  if (s[i] === 'Z' && i + 1 === n) {
    offset = 0;
  } else if (s[i] === '+' || s[i] === '-') {
    const sign = s[i] === '+' ? 1 : -1;
    const rest = s.slice(i + 1);
    const m = /^(\d{2})(?::?(\d{2}))?$/.exec(rest);
    if (!m) return NaN;
    const oh = Number(m[1]);
    const om = Number(m[2] ?? '0');
    if (oh > 18 || om > 59) return NaN;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return NaN;
  }
  return tz.toLocal(secs - offset);
}
