/**
 * Comparisons for indicators (issue #6, item 2), computed from PUBLISHED values
 * only (already thresholded and rounded), so they disclose nothing new:
 *
 * - diff = x - reference, rounded as a difference (to 10 by default);
 * - percent_change = 100 x (x - reference) / reference (null when the reference
 *   is 0 or withheld);
 * - abnormality = (x - median) / (1.4826 x MAD) over the values of the same
 *   indicator, region and resolution in the `lookbackDays` (default 365: the
 *   previous 12 months) before the period, published only when the history
 *   spans at least `minHistoryDays` (default 90) days. 1.4826 x MAD estimates the
 *   standard deviation of a normal series, so the score reads like a z-score.
 *   With a MAD of zero the score is undefined and withheld.
 */
import { addDays, dayNumber } from './catalog.js';
import { type DisclosureConfig, DEFAULT_DISCLOSURE, roundTo } from './disclosure.js';

export const MAD_SCALE = 1.4826;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median absolute deviation from the median (unscaled). */
export function mad(xs: readonly number[]): number {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
}

export function diff(x: number | null, reference: number | null, cfg: Pick<DisclosureConfig, 'rounding'> = DEFAULT_DISCLOSURE): number | null {
  if (x === null || reference === null) return null;
  return roundTo(x - reference, cfg.rounding.difference);
}

/** Percent change, to one decimal. */
export function percentChange(x: number | null, reference: number | null): number | null {
  if (x === null || reference === null || reference === 0) return null;
  return Math.round((1000 * (x - reference)) / reference) / 10;
}

export interface HistoryPoint {
  /** First day of the period ('YYYY-MM-DD'). */
  start: string;
  /** Published value; null when withheld. */
  value: number | null;
}

export interface AbnormalityOptions {
  /** Minimum span of history, in days before the period's start (default 90). */
  minHistoryDays?: number;
  /** History window before the period's start, in days (default 365: the previous 12 months). */
  lookbackDays?: number;
}

export type Abnormality =
  | { score: number; median: number; mad: number; n: number; historyDays: number; withheld?: undefined }
  | { score: null; withheld: 'short-history' | 'zero-mad' | 'missing'; n: number; historyDays: number; median?: number; mad?: number };

/**
 * The abnormality score of `x` at a period starting `start`, against the
 * published values of earlier periods of the same resolution. History span =
 * days from the earliest period used to `start`.
 */
export function abnormality(x: number | null, start: string, history: readonly HistoryPoint[], opts: AbnormalityOptions = {}): Abnormality {
  const minHistoryDays = opts.minHistoryDays ?? 90;
  const lookbackDays = opts.lookbackDays ?? 365;
  const from = addDays(start, -lookbackDays);
  const used = history.filter((h) => h.start >= from && h.start < start);
  const values = used.map((h) => h.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const earliest = used.length ? used.map((h) => h.start).sort()[0]! : start;
  const historyDays = dayNumber(start) - dayNumber(earliest);
  if (historyDays < minHistoryDays) return { score: null, withheld: 'short-history', n: values.length, historyDays };
  if (x === null || values.length === 0) return { score: null, withheld: 'missing', n: values.length, historyDays };
  const m = median(values);
  const d = mad(values);
  if (d === 0) return { score: null, withheld: 'zero-mad', n: values.length, historyDays, median: m, mad: d };
  return { score: Math.round((100 * (x - m)) / (MAD_SCALE * d)) / 100, median: m, mad: d, n: values.length, historyDays };
}

/** One region's comparisons. */
export interface Comparison {
  value: number | null;
  reference: number | null;
  diff: number | null;
  percent_change: number | null;
  abnormality: Abnormality;
}

/**
 * Compares a series of published values (one per period, in order, all of one
 * indicator, region and resolution) at the last period against a reference
 * value (e.g. the mean of the weeks before a crisis, or one chosen period).
 */
export function compare(series: readonly HistoryPoint[], reference: number | null, opts: AbnormalityOptions & { disclosure?: Pick<DisclosureConfig, 'rounding'> } = {}): Comparison {
  const last = series.at(-1);
  if (!last) throw new RangeError('compare: empty series');
  return {
    value: last.value,
    reference,
    diff: diff(last.value, reference, opts.disclosure),
    percent_change: percentChange(last.value, reference),
    abnormality: abnormality(last.value, last.start, series.slice(0, -1), opts),
  };
}

/** Per-region comparisons of a region indicator's series (one result per period, in order, the last compared). */
export interface RegionComparison extends Comparison {
  pcod: string;
}

/**
 * Compares the last result of a series against reference results (e.g. the
 * weeks before a crisis: their mean, published only if every one of them is
 * published for the region, is the reference) and scores its abnormality
 * against the earlier results of the series. Uses published values only.
 */
export function compareResults(
  series: readonly { period: { start: string }; values?: readonly { pcod: string; value: number | null }[] }[],
  references: readonly { values?: readonly { pcod: string; value: number | null }[] }[],
  opts: AbnormalityOptions & { disclosure?: Pick<DisclosureConfig, 'rounding'> } = {},
): RegionComparison[] {
  const last = series.at(-1);
  if (!last?.values) throw new RangeError('compareResults: expected a non-empty series of region indicators');
  const lookup = (r: { values?: readonly { pcod: string; value: number | null }[] }, pcod: string) => r.values?.find((v) => v.pcod === pcod)?.value ?? null;
  return last.values.map(({ pcod }) => {
    const refs = references.map((r) => lookup(r, pcod));
    const reference = refs.length && refs.every((v) => v !== null) ? (refs as number[]).reduce((s, v) => s + v, 0) / refs.length : null;
    const points = series.map((r) => ({ start: r.period.start, value: lookup(r, pcod) }));
    return { pcod, ...compare(points, reference, opts) };
  });
}
