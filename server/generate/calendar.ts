/**
 * The generated period: day indices 0..days-1 from a start date. Dates are
 * civil dates in the dataset's timezone (Africa/Abidjan, UTC+0 without DST),
 * so UTC arithmetic on them is exact and no day has 23 or 25 hours.
 */

const DAY_MS = 86_400_000;

export class Calendar {
  /** Milliseconds since the epoch of the first day's midnight (UTC). */
  private readonly startMs: number;

  constructor(
    /** First day, YYYY-MM-DD (already validated). */
    readonly start: string,
    /** Number of days, >= 1. */
    readonly days: number,
  ) {
    this.startMs = Date.parse(`${start}T00:00:00Z`);
  }

  /** YYYY-MM-DD of day index `day` (may be outside the period). */
  date(day: number): string {
    return new Date(this.startMs + day * DAY_MS).toISOString().slice(0, 10);
  }

  /** Day of the week, 0 = Sunday ... 6 = Saturday. */
  weekday(day: number): number {
    return new Date(this.startMs + day * DAY_MS).getUTCDay();
  }

  /** Last day of the period, YYYY-MM-DD. */
  get end(): string {
    return this.date(this.days - 1);
  }
}

/** True when `text` is a real calendar date written YYYY-MM-DD. */
export function isIsoDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === text;
}
