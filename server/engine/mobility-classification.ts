/**
 * FlowKit's mobility_classification (features/subscriber/mobility_classification.py):
 * from a subscriber's reference location in each of a sequence of periods
 * (chronological), the first of these that holds:
 *
 * - unlocated: present in the most recent period, but without a location there;
 * - irregular: absent from at least one period;
 * - not_always_locatable: present without a location in at least one period;
 * - mobile: the longest run of consecutive periods at one location is shorter than
 *   stay_length_threshold;
 * - stable: otherwise.
 *
 * Subscribers absent from the most recent period have no label. "Present without a
 * location" is FlowKit's NULL location: a coalesced_location whose preferred
 * majority_location keeps unlocatable subscribers (include_unlocatable) and whose
 * fallback did not apply.
 */

/** The labels, indexed by their code. */
export const MOBILITY_LABELS = ['unlocated', 'irregular', 'not_always_locatable', 'mobile', 'stable'] as const;
export type MobilityLabel = (typeof MOBILITY_LABELS)[number];

const UNLOCATED = 0;
const IRREGULAR = 1;
const NOT_ALWAYS_LOCATABLE = 2;
const MOBILE = 3;
const STABLE = 4;

/** One reference period over a partition's subscribers. */
export interface ClassifiedPeriod {
  /** i32 per subscriber: the location (>= 0), or < 0 for none. */
  loc: ArrayLike<number>;
  /** Per subscriber: 1 if present in the period (with or without a location). */
  present: ArrayLike<number>;
}

/** The label code per subscriber (an index of MOBILITY_LABELS), -1 for subscribers absent from the last period. */
export function classifyMobility(periods: readonly ClassifiedPeriod[], stayLengthThreshold: number, nSubs: number): Int32Array {
  const out = new Int32Array(nSubs).fill(-1);
  const last = periods[periods.length - 1];
  if (!last) return out;
  for (let s = 0; s < nSubs; s++) {
    if (!last.present[s]) continue;
    out[s] = last.loc[s]! < 0 ? UNLOCATED : label(periods, s, stayLengthThreshold);
  }
  return out;
}

/** The label of a subscriber located in the last period. */
function label(periods: readonly ClassifiedPeriod[], s: number, threshold: number): number {
  let absent = false;
  let unlocatable = false;
  for (const p of periods) {
    if (!p.present[s]) absent = true;
    else if (p.loc[s]! < 0) unlocatable = true;
  }
  if (absent) return IRREGULAR;
  if (unlocatable) return NOT_ALWAYS_LOCATABLE;
  // Located in every period: the longest run of one location.
  let longest = 0;
  let run = 0;
  for (let i = 0; i < periods.length; i++) {
    run = i > 0 && periods[i]!.loc[s] === periods[i - 1]!.loc[s] ? run + 1 : 1;
    if (run > longest) longest = run;
  }
  return longest < threshold ? MOBILE : STABLE;
}
