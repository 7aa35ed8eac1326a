/**
 * Which periods an indicator series covers: the stored periods of a resolution
 * from the one holding `from` to the one holding `to`. A bound left out means
 * "as far as the caller may see": periods the `allowed` test refuses are left
 * out at that end (and, for `from`, at most `max` of the latest are kept); a
 * bound given is taken as asked, so a refused period inside it is the
 * caller's to report. More than `max` periods is an error naming the bound.
 */
import { calendarPeriod, type Period, type TemporalResolution } from './catalog.js';

export class SeriesRangeError extends RangeError {
  constructor(
    readonly code: 'BAD_PERIOD' | 'TOO_MANY_PERIODS',
    message: string,
  ) {
    super(message);
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface SeriesRange {
  from?: string;
  to?: string;
  /** Whether the caller may see a period (the tier's window). */
  allowed: (p: Period) => boolean;
  max: number;
}

export function seriesPeriods(all: readonly Period[], resolution: TemporalResolution, r: SeriesRange): Period[] {
  const start = (field: 'from' | 'to', v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!DATE.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) {
      throw new SeriesRangeError('BAD_PERIOD', `${field}: expected a date YYYY-MM-DD (a day of the ${field === 'from' ? 'first' : 'last'} period), found ${JSON.stringify(v.slice(0, 40))}`);
    }
    return calendarPeriod(v, resolution).start;
  };
  const from = start('from', r.from);
  const to = start('to', r.to);
  if (from !== undefined && to !== undefined && from > to) {
    throw new SeriesRangeError('BAD_PERIOD', `from: expected a date no later than to's ${resolution}, found ${r.from} after ${r.to}`);
  }
  let ps = all.filter((p) => (from === undefined || p.start >= from) && (to === undefined || p.start <= to));
  if (to === undefined) {
    let n = ps.length;
    while (n > 0 && !r.allowed(ps[n - 1]!)) n--;
    ps = ps.slice(0, n);
  }
  if (from === undefined) {
    let i = 0;
    while (i < ps.length && !r.allowed(ps[i]!)) i++;
    ps = ps.slice(Math.max(i, ps.length - r.max));
  }
  if (ps.length > r.max) {
    throw new SeriesRangeError(
      'TOO_MANY_PERIODS',
      `from, to: expected at most ${r.max} periods, found ${ps.length} ${resolution}s from ${ps[0]!.key} to ${ps.at(-1)!.key} (narrow the range or choose a coarser resolution)`,
    );
  }
  return ps;
}
