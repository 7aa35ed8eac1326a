/**
 * The plausible event dates of a delivery (issue #14): a row dated 1999 or
 * 2099 is a broken clock or a bad export, not an event, and a day that far
 * out would also move what retention counts from. Rows outside
 * [earliest, latest] (local dates, inclusive) are rejected one by one, with
 * their line, in the ingest report.
 *
 * Defaults: latest is tomorrow by the ingesting machine's clock (a day of
 * slack for timezones and clock skew: no event comes from the future);
 * earliest is a year before the store's oldest day, or twenty years before
 * today for an empty store. An operator loading older history says so with
 * `--earliest` (and `--latest`).
 */
import { IngestError } from '../errors.js';
import { dateToDay, dayToDate } from '../util/datetime.js';

export interface PlausibleDates {
  earliest: string;
  latest: string;
  /** The same as local seconds [from, to), what the row checks compare `t` with. */
  from: number;
  to: number;
  /** The [field, reason] a row outside them is reported with. */
  failure: readonly [string, string];
}

export interface DateOptions {
  /** First and last plausible dates, YYYY-MM-DD; defaults as above. */
  earliest?: string;
  latest?: string;
  /** Today's date, YYYY-MM-DD (tests); default: the clock's, in UTC. */
  today?: string;
}

const YEAR = 366;
const MAX_T = 2 ** 32 - 1;

/** Rows are accepted from any date: the store's own bounds (tests and readers that check nothing). */
export const ANY_DATE: PlausibleDates = { earliest: '1970-01-01', latest: '2106-02-06', from: 0, to: MAX_T, failure: ['datetime', 'outside [1970, 2106)'] };

export function plausibleDates(opts: DateOptions, storedDays: readonly string[]): PlausibleDates {
  const today = opts.today ? day('today', opts.today) : Math.floor(Date.now() / 86_400_000);
  const latest = opts.latest ? day('--latest', opts.latest) : today + 1;
  const earliest = opts.earliest
    ? day('--earliest', opts.earliest)
    : storedDays.length > 0
      ? dateToDay(storedDays[0]!) - YEAR
      : today - 20 * 365 - 5;
  if (earliest > latest) {
    throw new IngestError('BAD_OPTION', `--earliest ${dayToDate(earliest)} and --latest ${dayToDate(latest)}: expected earliest on or before latest`);
  }
  const first = dayToDate(Math.max(0, earliest));
  const last = dayToDate(latest);
  return {
    earliest: first,
    latest: last,
    from: Math.max(0, earliest) * 86_400,
    to: Math.min(MAX_T, (latest + 1) * 86_400),
    failure: ['datetime', `outside the plausible dates [${first}, ${last}] (--earliest, --latest)`],
  };
}

function day(option: string, date: string): number {
  const d = dateToDay(date);
  if (d < 0) throw new IngestError('BAD_OPTION', `${option}: expected a date YYYY-MM-DD, found ${JSON.stringify(date)}`);
  return d;
}
