/**
 * Issue #13, item 2: temporal resolution bypass. The free tier (a month or
 * coarser) got exact daily counts: majority_location over location_visits
 * whose inputs span a month but are mostly one day repeated. The tier check
 * looked only at the hull of the inputs' windows; it now judges each window
 * on its own (403 TIER_TEMPORAL naming the path), and refuses inputs of a
 * combining kind that repeat or overlap (400 OVERLAPPING_INPUTS) for every tier.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, generateTmp } from '../generate/helpers.js';
import { type Harness, ingestWithTestKey, startHarness } from '../service/helpers.js';
import { accepted, refusedEverywhere } from './attacks.js';

let root: string;
let h: Harness;
let free: string;
let premium: string;

// A generated store of 35 days (2016-01-01 .. 2016-02-04), long enough for a month's window before free's
// test embargo of 2 days; 1,200 subscribers so that admin1's daily counts pass the threshold.
beforeAll(async () => {
  const { dir } = await generateTmp({ subscribers: 1200, days: 35, seed: 13 });
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-privacy-'));
  await ingestWithTestKey(dir, path.join(root, 'store'));
  h = await startHarness(root);
  free = await h.token('free');
  premium = await h.token('premium');
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
  cleanup();
});

const daily = (date: string, unit = 'admin1') => ({ query_kind: 'daily_location', date, method: 'last', aggregation_unit: unit });
/**
 * The attack: the inputs span 2016-01-01..2016-01-29 (28 days: "a month"), but the day asked for is
 * listed three times; a minimum total weight of 5 (the weight counted as at least 5) keeps only subscribers located that day,
 * whose majority (3 of at most 5) is their location that day.
 */
const majorityOf = (date: string, unit = 'admin1') => ({
  query_kind: 'majority_location',
  minimum_total_weight: 5,
  subscriber_location_weights: { query_kind: 'location_visits', locations: [daily('2016-01-01', unit), daily(date, unit), daily(date, unit), daily(date, unit), daily('2016-01-28', unit)] },
});
const attack = (date: string) => ({ query_kind: 'spatial_aggregate', locations: majorityOf(date) });
const month = (start: string, end: string) => ({ query_kind: 'most_frequent_location', start_date: start, end_date: end, aggregation_unit: 'admin2' });

describe('temporal resolution judged on each input (issue #13, item 2)', () => {
  it('the attack recovers a daily spatial_aggregate exactly against the engine', async () => {
    const day = '2016-01-15';
    const got = await h.engine.run(attack(day));
    const truth = await h.engine.run({ query_kind: 'spatial_aggregate', locations: daily(day) });
    expect(truth.rows.length).toBeGreaterThan(3);
    expect(got.rows).toEqual(truth.rows);
  });

  it('is refused to the free tier, naming the daily input', async () => {
    const msg = await refusedEverywhere(h, free, attack('2016-01-15'), 403, 'TIER_TEMPORAL');
    expect(msg).toContain('month or coarser, found a spec that reveals days at locations.subscriber_location_weights.locations.0.date');
  });

  it('refuses daily OD by the same trick', async () => {
    const od = { query_kind: 'flows', from_location: majorityOf('2016-01-14'), to_location: majorityOf('2016-01-15') };
    const msg = await refusedEverywhere(h, free, od, 403, 'TIER_TEMPORAL');
    expect(msg).toContain('from_location.subscriber_location_weights.locations.0.date');
  });

  it('refuses a repeated or overlapping input for every tier, even when each window is a month', async () => {
    // Premium may see days, but a repeated day still steers a pooled result: refused, naming the second copy.
    const msg = await refusedEverywhere(h, premium, attack('2016-01-15'), 400, 'OVERLAPPING_INPUTS');
    expect(msg).toMatch(/^locations\.subscriber_location_weights\.locations\.2: expected inputs of location_visits .* found 2016-01-15\.\.2016-01-16 overlapping locations\.subscriber_location_weights\.locations\.1/);
    // Month-long windows that overlap by all but a day: their combination differs from either by one day's data.
    const od = { query_kind: 'flows', from_location: month('2016-01-01', '2016-01-30'), to_location: month('2016-01-02', '2016-01-31') };
    expect(await refusedEverywhere(h, free, od, 400, 'OVERLAPPING_INPUTS')).toMatch(/^to_location: /);
  });

  it('still serves month-level specs to the free tier, and distinct days pooled to premium', async () => {
    await accepted(h, free, { query_kind: 'spatial_aggregate', locations: month('2016-01-01', '2016-02-01') });
    await accepted(h, free, { query_kind: 'flows', from_location: month('2015-12-04', '2016-01-03'), to_location: month('2016-01-03', '2016-02-02') });
    await accepted(h, free, { query_kind: 'unique_subscriber_counts', start_date: '2016-01-01', end_date: '2016-02-01', aggregation_unit: 'admin1' });
    const week = ['01', '02', '03', '04', '05', '06', '07'].map((d) => daily(`2016-01-${d}`, 'admin3'));
    await accepted(h, premium, { query_kind: 'spatial_aggregate', locations: { query_kind: 'modal_location', locations: week } });
  });
});
