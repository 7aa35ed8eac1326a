/**
 * What the service refuses whatever the tier (issue #13): spec features that
 * are safe in the operator's hands (the `opalite query` command line, which
 * stays exact and complete) but let a remote caller single out a subscriber.
 * Each refusal is a 400 SpecError naming the spec path and saying why.
 *
 * - sampling: FlowKit's seeded samples keep a subscriber when its hash under the
 *   seed is below the fraction, so samples of one seed are nested whatever the
 *   query, and a few fractions found by binary search isolate one subscriber
 *   (the difference of two answers is that person). The service cannot choose
 *   seeds and fractions that make every pair of answers non-differenceable (any
 *   two nested samples differ by some subscribers, and a caller may ask many),
 *   so sampling stays an analyst's tool inside the operator.
 * - extremes: a histogram whose edges come from the data publishes the smallest
 *   and largest value of a metric, each one subscriber's; a joined_spatial_aggregate
 *   by max or min publishes one subscriber's value per region. Both are refused;
 *   histograms need their edges stated (a range, or a list of edges) and at most
 *   MAX_SERVICE_BINS bins.
 * - overlapping inputs: an input repeated in a modal_location, location_visits,
 *   mobility_classification or an OD kind, or two inputs whose windows overlap,
 *   weigh the shared days twice and can steer the result with one day's data
 *   while every window looks as coarse as the tier allows.
 */
import { SpecError } from '../errors.js';
import { type AnySpec, everySpec, overlappingInputs, type QuerySpec } from '../engine/spec.js';

/** The most bins a histogram may have over the service. */
export const MAX_SERVICE_BINS = 100;

const at = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);
const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length <= 80 ? s : `${s.slice(0, 79)}…`;
};

function refused(path: string, expected: string, found: unknown, why: string): SpecError {
  return new SpecError('REFUSED_OVER_SERVICE', `${path}: expected ${expected}, found ${show(found)}: ${why}`, path);
}

/** Throws a 400 SpecError for the first feature of the spec the service never runs. */
export function checkServiceSpec(spec: QuerySpec): void {
  for (const { spec: s, path } of everySpec(spec)) {
    const f = s as unknown as Record<string, unknown>;
    if (f.sampling !== undefined && f.sampling !== null) {
      throw refused(
        at(path, 'sampling'),
        'no sampling over the service',
        f.sampling,
        'samples drawn with one seed are nested, so the difference of two answers at nearby fractions can isolate one subscriber; ' +
          "sampling is the operator's tool (opalite query), not the service's",
      );
    }
    checkExtremes(s, path);
  }
  const overlap = overlappingInputs(spec);
  if (overlap) {
    const { first, second } = overlap;
    throw new SpecError(
      'OVERLAPPING_INPUTS',
      `${second.path}: expected inputs of ${overlap.kind}${overlap.owner ? ` (${overlap.owner})` : ''} whose windows do not overlap, ` +
        `found ${second.window.join('..')} overlapping ${first.path} (${first.window.join('..')}): ` +
        'an input repeated or overlapping another weighs the shared days twice, which lets one day steer a result whose windows look coarser',
      second.path,
    );
  }
}

function checkExtremes(s: AnySpec, path: string): void {
  if (s.query_kind === 'histogram_aggregate') {
    const bins = s.bins;
    if ('n_bins' in bins) {
      if (s.range === null) {
        throw refused(
          at(path, 'range'),
          'an explicit range {lower_bound, upper_bound} (or bins as a list of edges) over the service',
          null,
          "without one the outer edges are the metric's smallest and largest values, each one subscriber's",
        );
      }
      if (bins.n_bins > MAX_SERVICE_BINS) {
        throw refused(at(path, 'bins'), `at most ${MAX_SERVICE_BINS} bins over the service`, bins.n_bins, 'narrow bins hold few subscribers each');
      }
    } else if (bins.bin_list.length - 1 > MAX_SERVICE_BINS) {
      throw refused(at(path, 'bins'), `at most ${MAX_SERVICE_BINS} bins (${MAX_SERVICE_BINS + 1} edges) over the service`, `${bins.bin_list.length} edges`, 'narrow bins hold few subscribers each');
    }
  }
  // A median of an odd count, and a mode of values that are all distinct, are one subscriber's own value too.
  if (s.query_kind === 'joined_spatial_aggregate' && ['max', 'min', 'median', 'mode'].includes(s.method)) {
    throw refused(
      at(path, 'method'),
      'a method other than max, min, median and mode over the service (avg, stddev, variance)',
      s.method,
      "a region's maximum, minimum, median or mode is one subscriber's own value, published whatever the region's count",
    );
  }
}
