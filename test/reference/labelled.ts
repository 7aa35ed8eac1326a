/**
 * Reference implementations of mobility_classification and the labelled
 * aggregates, written from FlowKit's definitions in plain TypeScript over maps,
 * for the tests to compare the engine against. They follow FlowKit's queries
 * step by step (a union of per-period rows, gaps-and-islands stay lengths, a
 * left or inner join of labels) rather than the engine's single pass.
 */

/** A reference location query's result: subscribers with a location, and those present with a NULL one. */
export interface RefLocated {
  located: ReadonlyMap<number, number>;
  unlocated: ReadonlySet<number>;
}

/** location_visits: per subscriber, per location, the number of inputs locating them there. */
export function refLocationVisits(inputs: readonly ReadonlyMap<number, number>[]): Map<number, Map<number, number>> {
  const out = new Map<number, Map<number, number>>();
  for (const input of inputs) {
    for (const [sub, loc] of input) {
      let v = out.get(sub);
      if (!v) out.set(sub, (v = new Map()));
      v.set(loc, (v.get(loc) ?? 0) + 1);
    }
  }
  return out;
}

/**
 * majority_location: the location whose weight is more than half of
 * greatest(total weight, minimum_total_weight); with include_unlocatable, every
 * other subscriber of the weights is present with a NULL location.
 */
export function refMajorityLocation(visits: ReadonlyMap<number, ReadonlyMap<number, number>>, minimumTotalWeight: number, includeUnlocatable: boolean): RefLocated {
  const located = new Map<number, number>();
  const unlocated = new Set<number>();
  for (const [sub, byLoc] of visits) {
    const total = Math.max([...byLoc.values()].reduce((a, b) => a + b, 0), minimumTotalWeight);
    for (const [loc, w] of byLoc) if (w > total / 2) located.set(sub, loc);
    if (!located.has(sub) && includeUnlocatable) unlocated.add(sub);
  }
  return { located, unlocated };
}

/**
 * coalesced_location: for every subscriber of either query, the preferred location
 * if not NULL, else the fallback location if the subscriber visited it on at least
 * weight_threshold inputs (FilteredReferenceLocation), else NULL.
 */
export function refCoalescedLocation(
  preferred: RefLocated,
  fallback: RefLocated,
  visits: ReadonlyMap<number, ReadonlyMap<number, number>>,
  weightThreshold: number,
): RefLocated {
  const filtered = new Map<number, number>();
  for (const [sub, loc] of fallback.located) if ((visits.get(sub)?.get(loc) ?? 0) >= weightThreshold) filtered.set(sub, loc);
  const located = new Map<number, number>();
  const unlocated = new Set<number>();
  for (const sub of new Set([...preferred.located.keys(), ...preferred.unlocated, ...filtered.keys()])) {
    const loc = preferred.located.get(sub) ?? filtered.get(sub);
    if (loc === undefined) unlocated.add(sub);
    else located.set(sub, loc);
  }
  return { located, unlocated };
}

/** mobility_classification (periods in chronological order): subscriber -> label, for the subscribers of the last period. */
export function refMobilityClassification(periods: readonly RefLocated[], stayLengthThreshold: number): Map<number, string> {
  // The union of every period's rows: (subscriber, location or null, ordinal).
  const rows: { sub: number; loc: number | null; ordinal: number }[] = [];
  periods.forEach((p, ordinal) => {
    for (const [sub, loc] of p.located) rows.push({ sub, loc, ordinal });
    for (const sub of p.unlocated) rows.push({ sub, loc: null, ordinal });
  });
  const rowsOf = new Map<number, typeof rows>();
  for (const r of rows) rowsOf.set(r.sub, [...(rowsOf.get(r.sub) ?? []), r]);
  const out = new Map<number, string>();
  const last = periods[periods.length - 1]!;
  for (const sub of [...last.located.keys(), ...last.unlocated]) {
    const mine = rowsOf.get(sub)!;
    let label: string;
    if (!last.located.has(sub)) label = 'unlocated';
    else if (mine.length < periods.length) label = 'irregular';
    else if (mine.some((r) => r.loc === null)) label = 'not_always_locatable';
    else label = refLongestStay(mine as { loc: number; ordinal: number }[]) < stayLengthThreshold ? 'mobile' : 'stable';
    out.set(sub, label);
  }
  return out;
}

/** FlowKit's SubscriberStayLengths max: gaps and islands, stay = ordinal - dense_rank of the ordinal among the rows at one location. */
function refLongestStay(rows: readonly { loc: number; ordinal: number }[]): number {
  const stays = new Map<string, number>();
  const byLoc = new Map<number, number[]>();
  for (const r of rows) byLoc.set(r.loc, [...(byLoc.get(r.loc) ?? []), r.ordinal]);
  for (const [loc, ordinals] of byLoc) {
    const ranked = [...new Set(ordinals)].sort((a, b) => a - b);
    for (const o of ordinals) {
      const key = `${loc},${o - (ranked.indexOf(o) + 1)}`;
      stays.set(key, (stays.get(key) ?? 0) + 1);
    }
  }
  return Math.max(...stays.values());
}

/** labelled_spatial_aggregate before redaction: `${loc},${label}` -> subscribers; unclassified subscribers get the label 'null' (a left join). */
export function refLabelledSpatialAggregate(locations: ReadonlyMap<number, number>, labels: ReadonlyMap<number, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [sub, loc] of locations) {
    const key = `${loc},${labels.get(sub) ?? 'null'}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** labelled_flows before redaction: `${from},${to},${label}` -> subscribers located at both ends and classified (inner joins). */
export function refLabelledFlows(from: ReadonlyMap<number, number>, to: ReadonlyMap<number, number>, labels: ReadonlyMap<number, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [sub, a] of from) {
    const b = to.get(sub);
    const label = labels.get(sub);
    if (b === undefined || label === undefined) continue;
    const key = `${a},${b},${label}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/**
 * FlowKit's RedactedLabelledAggregate: the entries of the groups (a location, or a
 * pair) whose every label counts more than k; `groupOf` maps an entry's key to its group.
 */
export function refRedactLabelled(counts: ReadonlyMap<string, number>, groupOf: (key: string) => string, k: number): Map<string, number> {
  const failing = new Set<string>();
  for (const [key, v] of counts) if (!(v > k)) failing.add(groupOf(key));
  return new Map([...counts].filter(([key]) => !failing.has(groupOf(key))));
}
