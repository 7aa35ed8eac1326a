/**
 * Clipping ranges of per-subscriber metrics released under DP
 * (joined_spatial_aggregate by avg: docs/PRIVACY.md, "Contribution bounds").
 * A subscriber's value is clamped into [lower, upper] before it is summed, so
 * adding or removing one subscriber moves one region's sum by at most
 * max(|lower|, |upper|) and its count by 1. A range is a statement about the
 * population, chosen without looking at the data (a range read off the data
 * would itself be one subscriber's extreme): values outside it are clipped,
 * which biases the average of a region with many of them towards the range.
 *
 * The ranges are the operator's to change (in this table) for a country whose
 * figures differ; they are part of the answer's privacy statement.
 */

/** Per metric kind: [lower, upper] in the metric's own unit (docs/QUERIES.md). */
export const METRIC_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  /** km: most people's daily range stays within a region; 200 km covers a country's long trips. */
  radius_of_gyration: [0, 200],
  /** km from the reference location. */
  displacement: [0, 200],
  /** distinct locations in the window. */
  unique_location_counts: [0, 50],
  /** distinct counterparts. */
  subscriber_degree: [0, 100],
  /** event rows in the window. */
  event_count: [0, 500],
  /** percent of events at night. */
  nocturnal_events: [0, 100],
  /** a fraction of contacts, 0..1. */
  pareto_interactions: [0, 1],
  /** periods with an event (at most total_periods, which a spec may set high: clip at 100). */
  total_active_periods: [0, 100],
  /** top-up amount, the country's currency unit. */
  topup_amount: [0, 1000],
};

/**
 * unique_subscriber_counts (and the presence indicator) under DP count each subscriber in at most this many
 * regions, their most visited in the window (most located events; ties to the region listed first): one
 * subscriber then touches at most this many cells, the L2 sensitivity is its square root.
 */
export const REGIONS_PER_SUBSCRIBER = 3;

/** The clipping range of a metric, or undefined when the metric has none (refused under DP). */
export function metricRange(metric: string): readonly [number, number] | undefined {
  return METRIC_RANGES[metric];
}

/** The L2 sensitivity of a sum of values clipped to [lower, upper] when one subscriber is added or removed. */
export function sumSensitivity([lower, upper]: readonly [number, number]): number {
  return Math.max(Math.abs(lower), Math.abs(upper));
}
