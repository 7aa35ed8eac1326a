/**
 * From what the service sent to what the page shows. A "picture" is one
 * unit's published values (a withheld region has null, never zero; a region
 * absent from a redacted FlowKit result is withheld too) and, for
 * origin-destination results, the published flows with each region's total
 * in and out. Comparisons are computed from published values only, with the
 * indicator layer's own functions (server/indicators/compare.ts, bundled).
 */
import { abnormality, diff, percentChange, type Abnormality } from '../indicators/compare.js';
import type { FlowValue, IndicatorResult, Row } from '../service/wire.js';
import { type Privacy, readPrivacy } from './privacy.js';

export type ComparisonKind = 'value' | 'diff' | 'percent_change' | 'abnormality';

export interface Picture {
  unit: string;
  /** Published values by region; null or absent = withheld. For OD results: each region's total inflow. */
  values: Map<string, number | null>;
  /** Why a region is withheld, when the service said. */
  reasons: Map<string, string>;
  /** OD results: the published pairs (off-diagonal), and totals per region. */
  flows: FlowValue[] | null;
  totals: Map<string, { in: number; out: number }> | null;
  /** What a region absent from `values` means: withheld (redacted), or for flows none published into it. */
  missing: string;
  /** The protection the service reported for these values, when it did (see privacy.ts). */
  privacy: Privacy | null;
}

/**
 * Why a value is not shown, in words, from the service's reason code
 * (server/indicators/disclosure.ts) and its disclosure settings, when it sent them.
 */
export function reasonText(code: string, d: { k?: number; residentFloor?: number } = {}): string {
  const k = d.k ?? 15;
  switch (code) {
    case 'threshold':
      return `${k} or fewer subscribers`;
    case 'resident-floor':
      return `fewer than ${d.residentFloor ?? 200} resident subscribers`;
    case 'rounded-to-threshold':
      return `rounds to ${k} or fewer`;
    case 'differencing':
      return 'a difference of withheld or small values';
    case 'missing':
      return 'no data for this period';
    case 'incomplete':
      return 'period not complete yet (published once complete)';
    case 'budget':
      return "publisher's privacy budget for this period spent";
    default:
      return code;
  }
}

/** Why an abnormality score is not shown, in words. */
export function abnormalityText(a: Abnormality, minHistoryDays = 90): string {
  switch (a.withheld) {
    case 'short-history':
      return `needs ${minHistoryDays} days of history (has ${a.historyDays})`;
    case 'zero-mad':
      return 'no variation in its history';
    case 'missing':
      return 'no published value';
    default:
      return '';
  }
}

function odPicture(unit: string, pairs: FlowValue[], privacy: Privacy | null): Picture {
  const flows = pairs.filter((f) => f.pcod_from !== f.pcod_to);
  const totals = new Map<string, { in: number; out: number }>();
  const at = (p: string) => totals.get(p) ?? (totals.set(p, { in: 0, out: 0 }), totals.get(p)!);
  for (const f of flows) {
    at(f.pcod_from).out += f.value;
    at(f.pcod_to).in += f.value;
  }
  return { unit, values: new Map([...totals].map(([p, t]) => [p, t.in])), reasons: new Map(), flows, totals, missing: 'no published flow in', privacy };
}

export function pictureOfIndicator(r: IndicatorResult, privacyFromFrame?: unknown): Picture {
  const privacy = readPrivacy(r.privacy ?? privacyFromFrame);
  if (r.flows) return odPicture(r.aggregation_unit, r.flows, privacy);
  const values = new Map<string, number | null>();
  const reasons = new Map<string, string>();
  const d = r.metadata?.disclosure ?? {};
  for (const v of r.values ?? []) {
    values.set(v.pcod, v.value);
    if (v.value === null) reasons.set(v.pcod, reasonText(v.withheld ?? 'withheld', d));
  }
  return { unit: r.aggregation_unit, values, reasons, flows: null, totals: null, missing: 'withheld', privacy };
}

/** A FlowKit result's rows ({pcod, value} or {pcod_from, pcod_to, value}) at `unit`. */
export function pictureOfRows(unit: string, rows: readonly Row[], od: boolean, rawPrivacy?: unknown): Picture {
  const privacy = readPrivacy(rawPrivacy);
  if (od) {
    return odPicture(unit, rows.map((r) => ({ pcod_from: String(r.pcod_from), pcod_to: String(r.pcod_to), value: Number(r.value) })), privacy);
  }
  const values = new Map<string, number | null>();
  for (const r of rows) if (typeof r.pcod === 'string') values.set(r.pcod, r.value === null ? null : Number(r.value));
  // A region absent from a redacted FlowKit result had k or fewer subscribers (or none).
  const missing = privacy ? `${privacy.k} or fewer subscribers` : 'too few subscribers (redacted)';
  return { unit, values, reasons: new Map(), flows: null, totals: null, missing, privacy };
}

/** What the regions of a flows map are coloured by: the published flows out of each, into each, or in − out. */
export type FlowMeasure = 'out' | 'in' | 'net';

/**
 * An OD picture's regions valued by `measure`. A region with no published flow on that side is not shown (it may
 * have flows of k or fewer, withheld), not drawn as 0; net is shown wherever the region has any published flow.
 */
export function flowPicture(p: Picture, measure: FlowMeasure): Picture {
  const values = new Map<string, number | null>();
  for (const [pcod, t] of p.totals ?? []) {
    const v = measure === 'out' ? t.out : measure === 'in' ? t.in : t.in - t.out;
    if (measure === 'net' || v > 0) values.set(pcod, v);
  }
  return { ...p, values, missing: measure === 'net' ? 'no published flow' : `no published flow ${measure}` };
}

/** A picture of an earlier period, for comparisons. */
export interface SeriesPoint {
  /** First day of the calendar period. */
  start: string;
  key: string;
  picture: Picture;
}

/** One region as shown: its published value, what the comparison makes of it, and why it is not shown. */
export interface Shown {
  value: number | null;
  shown: number | null;
  reference: number | null;
  abnormality: Abnormality | null;
  /** Why `shown` is null ("withheld", or the comparison's reason: no reference, short history...). */
  why: string | null;
}

const valueOf = (p: Picture | undefined, pcod: string) => p?.values.get(pcod) ?? null;

/**
 * The comparison for each region of `pcods` at the period starting `start`:
 * the reference of diff and percent change is the previous period; the
 * abnormality is scored against the `history` (earlier periods of the series).
 */
export function compareRegions(
  pcods: readonly string[],
  current: Picture,
  start: string,
  kind: ComparisonKind,
  previous: Picture | undefined,
  history: readonly SeriesPoint[],
): Map<string, Shown> {
  const out = new Map<string, Shown>();
  for (const pcod of pcods) {
    const value = valueOf(current, pcod);
    const withheld = value === null ? current.reasons.get(pcod) ?? current.missing : null;
    if (kind === 'value') {
      out.set(pcod, { value, shown: value, reference: null, abnormality: null, why: withheld });
      continue;
    }
    if (kind === 'abnormality') {
      const a = abnormality(value, start, history.map((h) => ({ start: h.start, value: valueOf(h.picture, pcod) })));
      out.set(pcod, { value, shown: a.score, reference: a.median ?? null, abnormality: a, why: withheld ?? (a.score === null ? abnormalityText(a) : null) });
      continue;
    }
    const reference = valueOf(previous, pcod);
    const shown = kind === 'diff' ? diff(value, reference) : percentChange(value, reference);
    out.set(pcod, { value, shown, reference, abnormality: null, why: withheld ?? (shown === null ? (previous ? 'no published reference' : 'no previous period') : null) });
  }
  return out;
}
