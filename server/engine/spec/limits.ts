/**
 * The bound on every size a query spec can ask for. A spec is untrusted input:
 * without these, one number could make the engine allocate gigabytes or hold
 * the event loop for seconds (issue #14: histogram n_bins of 2,000,000 blocked
 * the service for 27 s; 4,294,967,295 failed allocating, a 500). Each is far
 * above what a real query needs and is refused as a SpecError naming the field.
 */
export const SPEC_LIMITS = {
  /** Levels of JSON nesting (objects and lists) in a whole spec; real ones stay under 20. */
  depth: 64,
  /** Specs in one list (modal_location's daily locations: a year of days fits twice over). */
  nestedSpecs: 1000,
  /** histogram_aggregate's n_bins; a bin_list has at most one edge more. */
  bins: 10_000,
  /** total_active_periods' total_periods and period_length. */
  periods: 100_000,
  /** The window total_active_periods spans (total_periods x period_length), in days: ten years. */
  windowDays: 3660,
  /** Entries of an event_types list (four types; repeats are taken as FlowKit takes them). */
  eventTypes: 64,
  /** Problems reported for one spec: the rest are counted, so that a 400 body stays small. */
  issues: 50,
  /** Integer thresholds the kernels take as 32-bit integers. */
  int32: 2 ** 31 - 1,
  /** meaningful_locations' labels, polygons in a label, rings in a polygon, positions in a ring. */
  labels: 100,
  polygons: 100,
  rings: 100,
  positions: 100_000,
} as const;

/**
 * The path of the first value nested deeper than `max` levels (the spec itself
 * is level 1), or undefined. Iterative, so that the check itself cannot
 * overflow the stack it protects; it stops at the first offender.
 */
export function tooDeep(value: unknown, max: number): string | undefined {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 1, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return path;
    for (const [k, child] of Object.entries(v)) {
      if (child !== null && typeof child === 'object') stack.push({ v: child, depth: depth + 1, path: path === '' ? k : `${path}.${k}` });
    }
  }
  return undefined;
}
