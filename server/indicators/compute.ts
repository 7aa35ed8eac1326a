/**
 * Computes an OPAL indicator for one period and one aggregation unit with the
 * query engine (issue #6, item 1). Definitions (returned as metadata too):
 *
 * - home of a period: the modal location of the subscriber's daily `last`
 *   locations over the period's stored days (modal_location of daily_location,
 *   method last; a tie goes to the location seen on the latest day).
 * - residents.count: subscribers whose home is the region (spatial_aggregate of
 *   that modal_location). residents.per_km2: the published count / area.
 * - relocations.od: the home-to-home OD between the previous period and this one
 *   (flows of the two periods' modal locations), off-diagonal pairs.
 * - residents.arrived / departed: off-diagonal sums of that OD by destination /
 *   by origin; delta_arrived = arrived - departed (differencing-checked).
 * - presence.count: unique_subscriber_counts over the period. per_km2 as above.
 * - presence.trips_in / trips_out: for each stored day d of the period whose
 *   previous calendar day is stored, the daily-location OD (flows of d-1's and
 *   d's last locations); off-diagonal sums by destination / origin, summed over
 *   the period's day pairs FROM THE UNREDACTED OD, then thresholded (FlowKit
 *   #4866 summed redacted flows and undercounted; summing redacted cells would
 *   also make the sum depend on the threshold).
 * - movements.od: the same daily-location OD, off-diagonal, summed per pair over
 *   the period's day pairs (unredacted), then thresholded. Values count
 *   subscriber-days (a subscriber travelling A -> B on two days counts twice).
 *
 * Every value then passes disclosure.ts (threshold, resident floor, differencing,
 * rounding). Unredacted counts never leave the engine: `thresholdedOdSums` asks it
 * to sum then redact (Engine.sumThenRedact) and gets only sums that pass the threshold.
 */
import { createHash } from 'node:crypto';
import type { Engine } from '../engine/engine.js';
import type { Region } from '../geo/regions.js';
import {
  type IndicatorDefinition,
  type Period,
  type SpecUse,
  type TemporalResolution,
  dailyOdSpecs,
  dayNumber,
  definition,
  periodComplete,
  periodOf,
  periodsOf,
  presenceSpec,
  relocationSpec,
  residentsSpec,
} from './catalog.js';
import { type DisclosureConfig, type Disclosed, type WithheldReason, disclosureConfig, discloseCount, discloseDensity, discloseDifference, discloseFlow, roundTo } from './disclosure.js';
import { SCALE_METHOD, scale, scaleFactor, significant } from './scale.js';
import { dpInfo, type PrivacyInfo } from '../privacy/dp/mechanism.js';
import { baselineOf, publicationId, publicationsOf, type PublisherLedger } from './publication.js';

/**
 * Differential privacy for indicators (docs/PRIVACY.md, "Indicators"): each
 * publication (a family below, for one period and unit) is noised once, with
 * noise keyed by the DP secret and (family, period, unit, the store's day
 * signature), so every token and every request sees the same values and the
 * publication's cost `rho` is paid once per period by the publisher, not by tokens.
 */
export interface IndicatorDp {
  secret: Uint8Array;
  /** zCDP cost of one publication (one noised vector of one period at one unit). */
  rho: number;
  /** Noisy values at or below k are withheld (post-processing). */
  k: number;
  delta: number;
  /** Where the publisher's spending is recorded, against its cap (publication.ts); absent: not recorded (tests, the CLI). */
  publisher?: PublisherLedger;
}

/**
 * The noised vectors behind the catalog: residents feeds residents.count/per_km2 (and the resident
 * floor and scaling of every indicator); presence feeds presence.count/per_km2; delta_arrived is
 * arrived - departed from the two noisy vectors (post-processing, no cost of its own).
 */
/**
 * The version in a publication's noise key: bumped when what a family computes changes (presence: v2 counts each
 * subscriber in at most its REGIONS_PER_SUBSCRIBER most-visited regions), so that new values never reuse the noise
 * of old ones (their difference would be exact); the new key is a new publication, charged to the publisher.
 */
export function publicationVersion(family: string): string {
  return family === 'presence' ? 'opal-indicator/v2' : 'opal-indicator/v1';
}

export const DP_PUBLICATIONS = ['residents', 'presence', 'relocations.od', 'residents.arrived', 'residents.departed', 'movements.od', 'presence.trips_in', 'presence.trips_out'] as const;


export interface ScaleOptions {
  /**
   * The period whose resident subscribers fix each region's factor
   * (population / resident subscribers). Default: the store's first period of
   * the same resolution, so that a later fall in residents shows as a fall in
   * people (with the current period's residents the scaled residents would
   * always equal the census population).
   */
  baseline?: Period;
}

export interface ComputeOptions {
  disclosure?: Parameters<typeof disclosureConfig>[0];
  /** Scale subscriber counts to people where regions carry a population (scalable indicators only). */
  scale?: boolean | ScaleOptions;
  /** Publish under DP (the service's DP tiers); absent: exact counts under disclosure control only. */
  dp?: IndicatorDp;
}

export interface RegionValue {
  pcod: string;
  name: string;
  value: number | null;
  withheld?: WithheldReason;
  /** Bounds when scaled. */
  lower?: number;
  upper?: number;
}

export interface FlowValue {
  pcod_from: string;
  pcod_to: string;
  value: number;
}

export interface IndicatorResult {
  indicator: string;
  category: IndicatorDefinition['category'];
  unit: string;
  aggregation_unit: string;
  period: { resolution: TemporalResolution; key: string; start: string; end: string; first_day: string; last_day: string; days: number };
  /** Region indicators: every region of the unit, value null when withheld. */
  values?: RegionValue[];
  /** OD indicators: the published pairs only. */
  flows?: FlowValue[];
  /** Values withheld, by reason: every region or off-diagonal pair not published, zero included (not for lack of a previous period, population or area). */
  withheld: Partial<Record<WithheldReason, number>>;
  /** Under DP: how the values were noised (scale and interval95 in subscribers, before scaling or division by area). */
  privacy?: PrivacyInfo;
  metadata: {
    definition: string;
    specs: SpecUse[];
    disclosure: DisclosureConfig;
    scaling?: { method: string; baseline_period: string; factors: Record<string, number | null> };
    notes: string[];
  };
}

// ---------------------------------------------------------------- OD sums

/** Sums of OD counts that passed the threshold k (every value returned is > k). */
export interface ThresholdedOdSums {
  /** Off-diagonal pair sums, key `${from}\t${to}` (p-codes). */
  pairs: Map<string, number>;
  /** Off-diagonal sums by destination. */
  inflow: Map<string, number>;
  /** Off-diagonal sums by origin. */
  outflow: Map<string, number>;
  /** Off-diagonal pairs with a positive sum that were withheld. */
  withheldPairs: number;
  /** Regions whose positive inflow / outflow sum was withheld (which ones, never their values). */
  withheldIn: Set<string>;
  withheldOut: Set<string>;
}

/**
 * The off-diagonal sums of one or more flows specs (all of one unit) per pair, by
 * destination and by origin, summed by the engine from the UNREDACTED counts and only
 * then thresholded (Engine.sumThenRedact): every value returned is > k.
 */
export async function thresholdedOdSums(engine: Engine, specs: readonly Record<string, unknown>[], unit: string, k: number, opts: { perSpecBound?: boolean } = {}): Promise<ThresholdedOdSums> {
  if (!(k >= engine.threshold)) throw new RangeError(`thresholdedOdSums: k ${k} is below the engine's threshold ${engine.threshold}`);
  const out: ThresholdedOdSums = { pairs: new Map(), inflow: new Map(), outflow: new Map(), withheldPairs: 0, withheldIn: new Set(), withheldOut: new Set() };
  if (specs.length === 0) return out;
  const r = await engine.sumThenRedact(specs, { k, perSpecBound: opts.perSpecBound });
  const regions = new Set(regionsOf(engine, unit).map((x) => x.pcod));
  for (const row of [...r.pairs, ...r.withheld.pairs]) {
    if (!regions.has(String(row.pcod_from))) throw new Error(`thresholdedOdSums: spec unit is not ${unit}`);
  }
  for (const row of r.pairs) out.pairs.set(`${row.pcod_from}\t${row.pcod_to}`, Number(row.value));
  for (const row of r.inflows) out.inflow.set(String(row.pcod_to), Number(row.value));
  for (const row of r.outflows) out.outflow.set(String(row.pcod_from), Number(row.value));
  out.withheldPairs = r.withheld.pairs.length;
  for (const row of r.withheld.inflows) out.withheldIn.add(String(row.pcod_to));
  for (const row of r.withheld.outflows) out.withheldOut.add(String(row.pcod_from));
  return out;
}

/**
 * The store content a period's publications depend on (its days, the previous period's for
 * relocations, the day before for day-to-day OD, as immutable day folders, and the dimension
 * tables): part of the noise key, so a period gets new noise only when its data changed.
 */
export function daySignature(engine: Engine, p: Period): string {
  const m = engine.store.manifest;
  const first = p.previous?.days[0] ?? p.dayBefore ?? p.days[0]!;
  const last = p.days.at(-1)!;
  const dirs = engine.store.days().filter((d) => d >= first && d <= last).map((d) => m.days[d]!.dir);
  return createHash('sha256').update(JSON.stringify([m.dimsHash ?? m.dims, dirs])).digest('hex');
}

/**
 * The DP counterpart of thresholdedOdSums: the vector(s) the indicator publishes noised
 * under their publication's key, then thresholded at k on the NOISY values. delta_arrived
 * uses the arrived and departed publications (two vectors, twice the variance and rho).
 */
async function noisyOdSums(
  engine: Engine,
  specs: readonly Record<string, unknown>[],
  k: number,
  dp: IndicatorDp,
  families: { pairs: string; inflows: string; outflows: string },
  id: string,
  keyOf: (family: string) => string,
  noised: (sigma2: number, publications?: number) => void,
): Promise<ThresholdedOdSums> {
  const out: ThresholdedOdSums = { pairs: new Map(), inflow: new Map(), outflow: new Map(), withheldPairs: 0, withheldIn: new Set(), withheldOut: new Set() };
  if (specs.length === 0) return out;
  const want = id.endsWith('.od') ? ['pairs'] : id.endsWith('delta_arrived') ? ['inflows', 'outflows'] : id.endsWith('arrived') || id.endsWith('trips_in') ? ['inflows'] : ['outflows'];
  const keys = Object.fromEntries(want.map((w) => [w, keyOf(families[w as keyof typeof families])]));
  const r = await engine.sumThenNoise(specs, { secret: dp.secret, rho: dp.rho, keys });
  if (want.length === 2) noised(2 * r.sigma2, 2);
  else noised(r.sigma2);
  for (const [key, v] of r.pairs ?? []) {
    if (v > k) out.pairs.set(key, v);
    else out.withheldPairs++;
  }
  for (const [pcod, v] of r.inflows ?? []) (v > k ? out.inflow.set(pcod, v) : out.withheldIn.add(pcod));
  for (const [pcod, v] of r.outflows ?? []) (v > k ? out.outflow.set(pcod, v) : out.withheldOut.add(pcod));
  return out;
}

/** The regions of an admin unit, in the engine's location order. */
export function regionsOf(engine: Engine, unit: string): Region[] {
  const level = engine.store.dims().regions.find((l) => l.unit === unit);
  if (!level) throw new RangeError(`unknown region unit ${JSON.stringify(unit)}; indicators use admin units`);
  return level.regions;
}

/** A region-per-row engine result (already redacted at k) as a map p-code -> value. */
async function byRegion(engine: Engine, spec: Record<string, unknown>): Promise<Map<string, number>> {
  const r = await engine.run(spec);
  return new Map(r.rows.map((row) => [String(row.pcod), Number(row.value)]));
}

/** Residents (engine-redacted subscriber counts) of a period, by p-code. */
export function residents(engine: Engine, period: Period, unit: string): Promise<Map<string, number>> {
  return byRegion(engine, residentsSpec(period, unit));
}

// ---------------------------------------------------------------- periods

export function periods(engine: Engine, resolution: TemporalResolution): Period[] {
  return periodsOf(engine.store.days(), resolution);
}

export function period(engine: Engine, resolution: TemporalResolution, date: string): Period {
  return periodOf(engine.store.days(), resolution, date);
}

// ---------------------------------------------------------------- compute

export async function computeIndicator(engine: Engine, indicator: string, p: Period, unit: string, opts: ComputeOptions = {}): Promise<IndicatorResult> {
  const def = definition(indicator);
  const dp = opts.dp;
  const cfg = disclosureConfig({ ...opts.disclosure, k: opts.disclosure?.k ?? dp?.k ?? engine.threshold });
  if (cfg.k < engine.threshold) throw new RangeError(`disclosure k ${cfg.k} is below the engine's ${engine.threshold}`);
  const regions = regionsOf(engine, unit);
  const withheld: Partial<Record<WithheldReason, number>> = {};
  const count = (d: Disclosed) => {
    if (d.value === null && d.withheld !== 'missing') withheld[d.withheld] = (withheld[d.withheld] ?? 0) + 1;
  };
  const notes: string[] = [];
  const result: IndicatorResult = {
    indicator: def.id,
    category: def.category,
    unit: def.unit,
    aggregation_unit: unit,
    period: { resolution: p.resolution, key: p.key, start: p.start, end: p.end, first_day: p.days[0]!, last_day: p.days.at(-1)!, days: p.days.length },
    withheld,
    metadata: { definition: def.description, specs: def.specs(p, unit), disclosure: cfg, notes },
  };
  const calendarDays = dayNumber(p.end) - dayNumber(p.start);
  if (p.days.length < calendarDays) notes.push(`the period is clipped to the store's days: ${p.days.length} of ${calendarDays}`);
  notes.push("the resident floor uses the period's residents at this unit (for flows: of both ends)");
  const noiseKey = (family: string, per: Period) => JSON.stringify([publicationVersion(family), family, per.resolution, per.key, unit, daySignature(engine, per)]);
  if (dp) {
    const withheldAll = withheldPublication(engine, def, p, unit, opts, dp, noiseKey);
    if (withheldAll) {
      notes.push(withheldAll.note);
      if (def.shape === 'od') {
        result.flows = [];
        withheld[withheldAll.reason] = regions.length * (regions.length - 1);
      } else {
        result.values = regions.map((r) => ({ pcod: r.pcod, name: r.name, value: null, withheld: withheldAll.reason }));
        withheld[withheldAll.reason] = regions.length;
      }
      result.privacy = { mode: 'dp', k: cfg.k };
      return result;
    }
  }
  /** sigma^2 of the published values' noise, and the publications' total rho. */
  let sigma2 = 0;
  let rhoSpent = 0;
  const noised = (s2: number, publications = 1) => {
    sigma2 += s2;
    rhoSpent += publications * dp!.rho;
  };
  const residentsOf = async (per: Period) =>
    dp ? (await engine.noisyRegionCounts(residentsSpec(per, unit), { secret: dp.secret, key: noiseKey('residents', per), rho: dp.rho })) : null;
  const noisyRes = await residentsOf(p);
  const res = noisyRes ? noisyRes.values : await residents(engine, p, unit);
  if (dp) notes.push(`differential privacy: each publication noised once per period and unit (discrete Gaussian, rho ${dp.rho}), values thresholded, rounded and compared after the noise`);
  const regionValues = (f: (r: Region) => Disclosed & { lower?: number; upper?: number }): RegionValue[] =>
    regions.map((r) => {
      const d = f(r);
      count(d);
      const v: RegionValue = { pcod: r.pcod, name: r.name, value: d.value };
      if (d.value === null && d.withheld !== undefined) v.withheld = d.withheld;
      if (d.value !== null && d.lower !== undefined) {
        v.lower = d.lower;
        v.upper = d.upper;
      }
      return v;
    });

  // Scaling to people (scalable indicators, regions with a population).
  let factors: Map<string, number | null> | null = null;
  if (opts.scale && def.scalable) {
    const baseline = (typeof opts.scale === 'object' && opts.scale.baseline) || periods(engine, p.resolution)[0]!;
    const base = dp ? (await residentsOf(baseline))!.values : await residents(engine, baseline, unit);
    // A factor is used (and stated) only for regions whose baseline residents pass the
    // threshold and the floor: a stated factor gives population / residents, so it
    // must not describe a region that could not itself be published.
    const usable = (n: number | undefined) => (n !== undefined && n > cfg.k && n >= cfg.residentFloor ? n : undefined);
    factors = new Map(regions.map((r) => [r.pcod, scaleFactor(r.population, usable(base.get(r.pcod)))]));
    result.metadata.scaling = {
      method: SCALE_METHOD,
      baseline_period: `${baseline.resolution} ${baseline.key}`,
      factors: Object.fromEntries([...factors].map(([k, f]) => [k, f === null ? null : significant(f)])),
    };
    result.unit = def.unit.replace(/subscribers(?: \(people when scaled\))?/, 'people').replace(/ \(people per km² when scaled\)/, '');
  }
  /** A subscriber count, scaled where asked, disclosed on the unscaled count. */
  const people = (r: Region, subs: number | undefined): Disclosed & { lower?: number; upper?: number } => {
    if (!factors) return discloseCount(cfg, { value: subs, residents: res.get(r.pcod), rounding: def.rounding === 'density' ? 'people' : def.rounding });
    const f = factors.get(r.pcod);
    if (subs === undefined) return discloseCount(cfg, { value: undefined, residents: undefined, rounding: 'people' });
    if (f === null || f === undefined) return { value: null, withheld: 'missing' };
    const s = scale(subs, f);
    const d = discloseCount(cfg, { value: s.value, support: subs, residents: res.get(r.pcod), rounding: 'people' });
    if (d.value === null) return d;
    return { ...d, lower: roundTo(s.lower, cfg.rounding.people), upper: roundTo(s.upper, cfg.rounding.people) };
  };

  switch (def.id) {
    case 'residents.count':
      if (noisyRes) noised(noisyRes.sigma2);
      result.values = regionValues((r) => people(r, res.get(r.pcod)));
      break;
    case 'residents.per_km2':
      if (noisyRes) noised(noisyRes.sigma2);
      result.values = regionValues((r) => discloseDensity(cfg, people(r, res.get(r.pcod)), r.areaKm2));
      break;
    case 'presence.count':
    case 'presence.per_km2': {
      let pres: Map<string, number>;
      if (dp) {
        const n = await engine.noisyRegionCounts(presenceSpec(p, unit), { secret: dp.secret, key: noiseKey('presence', p), rho: dp.rho });
        noised(n.sigma2);
        pres = n.values;
      } else pres = await byRegion(engine, presenceSpec(p, unit));
      result.values = regionValues((r) => (def.id === 'presence.count' ? people(r, pres.get(r.pcod)) : discloseDensity(cfg, people(r, pres.get(r.pcod)), r.areaKm2)));
      break;
    }
    case 'residents.arrived':
    case 'residents.departed':
    case 'residents.delta_arrived':
    case 'relocations.od': {
      const spec = relocationSpec(p, unit);
      if (!spec) {
        notes.push('no previous period in the store: relocations need two consecutive periods');
        if (def.shape === 'od') result.flows = [];
        else result.values = regionValues(() => ({ value: null, withheld: 'missing' }));
        break;
      }
      const od = dp
        ? await noisyOdSums(engine, [spec], cfg.k, dp, { pairs: 'relocations.od', inflows: 'residents.arrived', outflows: 'residents.departed' }, def.id, (f) => noiseKey(f, p), noised)
        : await thresholdedOdSums(engine, [spec], unit, cfg.k);
      finishOd(def, result, od, res, regions, cfg, count, regionValues);
      break;
    }
    case 'presence.trips_in':
    case 'presence.trips_out':
    case 'movements.od': {
      const specs = dailyOdSpecs(p, unit);
      if (specs.length === 0) notes.push("no day pair in the period (its first day is the store's first)");
      const od = dp
        ? await noisyOdSums(engine, specs, cfg.k, dp, { pairs: 'movements.od', inflows: 'presence.trips_in', outflows: 'presence.trips_out' }, def.id, (f) => noiseKey(f, p), noised)
        : await thresholdedOdSums(engine, specs, unit, cfg.k, { perSpecBound: cfg.tripSupport === 'distinct-lower-bound' });
      if (dp) notes.push(`contribution bound: one trip per day pair, ${specs.length} day pairs (L2 sensitivity ${specs.length})`);
      else if (cfg.tripSupport === 'distinct-lower-bound') notes.push(`trip sums thresholded at k x ${specs.length} day pairs (distinct-subscriber lower bound)`);
      finishOd(def, result, od, res, regions, cfg, count, regionValues);
      break;
    }
    default:
      throw new Error(`computeIndicator: no computation for ${def.id}`);
  }
  if (dp) result.privacy = sigma2 > 0 ? { ...dpInfo({ mode: 'dp', secret: dp.secret, rho: rhoSpent, k: cfg.k, delta: dp.delta }, sigma2) } : { mode: 'dp', k: cfg.k };
  return result;
}

/**
 * Under DP, why nothing of this result may be published, or null: the period (or the scaling
 * baseline) is not complete, or the publications it reads do not fit the publisher's cap for
 * their data period. Charges the publisher (all or none) when they fit.
 */
function withheldPublication(
  engine: Engine,
  def: IndicatorDefinition,
  p: Period,
  unit: string,
  opts: ComputeOptions,
  dp: IndicatorDp,
  noiseKey: (family: string, per: Period) => string,
): { reason: WithheldReason; note: string } | null {
  const baseline = opts.scale && def.scalable ? baselineOf(engine, p, opts.scale) : null;
  for (const per of baseline ? [p, baseline] : [p]) {
    if (!periodComplete(per)) {
      return {
        reason: 'incomplete',
        note: `differential privacy: ${per.resolution} ${per.key} is still filling (stored through ${per.days.at(-1) ?? 'no day'}, ends ${per.end}); it is published once complete, so that its noise is drawn once`,
      };
    }
  }
  if (!dp.publisher) return null;
  const uses = publicationsOf(def, p, unit, baseline);
  const items = uses.map((u) => ({
    period: `${u.period.resolution} ${u.period.key}`,
    key: publicationId(noiseKey(u.family, u.period), dp.secret, dp.rho),
    rho: dp.rho,
    publication: { family: u.family, resolution: u.period.resolution, period: u.period.key, unit },
  }));
  if (dp.publisher.accountant.chargePublications(dp.publisher.cap, items)) return null;
  return {
    reason: 'budget',
    note: `differential privacy: the publisher's budget for ${[...new Set(items.map((i) => i.period))].join(' and ')} (rho ${dp.publisher.cap} per period) does not allow this publication again; it is withheld rather than noised more weakly`,
  };
}

function finishOd(
  def: IndicatorDefinition,
  result: IndicatorResult,
  od: ThresholdedOdSums,
  res: Map<string, number>,
  regions: Region[],
  cfg: DisclosureConfig,
  count: (d: Disclosed) => void,
  regionValues: (f: (r: Region) => Disclosed) => RegionValue[],
): void {
  const bump = (reason: WithheldReason, n: number) => {
    if (n > 0) result.withheld[reason] = (result.withheld[reason] ?? 0) + n;
  };
  const sumOf = (id: string, r: Region) => (id.endsWith('arrived') || id.endsWith('trips_in') ? od.inflow.get(r.pcod) : od.outflow.get(r.pcod));
  if (def.shape === 'od') {
    // Every off-diagonal pair not above k is withheld for the threshold, zero included: counting only the positive
    // ones would tell how many pairs hold 1..k people (issue #13, item 6).
    bump('threshold', regions.length * (regions.length - 1) - od.pairs.size);
    const flows: FlowValue[] = [];
    for (const [key, v] of od.pairs) {
      const [from, to] = key.split('\t') as [string, string];
      const d = discloseFlow(cfg, { value: v, residentsFrom: res.get(from), residentsTo: res.get(to), rounding: def.rounding });
      count(d);
      if (d.value !== null) flows.push({ pcod_from: from, pcod_to: to, value: d.value });
    }
    result.flows = flows;
    return;
  }
  if (def.difference) {
    // Both terms disclosed first; the difference only where both are published and |d| > k.
    result.values = regionValues((r) => {
      const a = od.inflow.get(r.pcod);
      const b = od.outflow.get(r.pcod);
      const pa = discloseCount(cfg, { value: a, residents: res.get(r.pcod), rounding: 'relocations' });
      const pb = discloseCount(cfg, { value: b, residents: res.get(r.pcod), rounding: 'relocations' });
      return discloseDifference(cfg, { minuend: a ?? 0, subtrahend: b ?? 0, termsPublished: pa.value !== null && pb.value !== null, residents: res.get(r.pcod) });
    });
    return;
  }
  const below = def.id.endsWith('arrived') || def.id.endsWith('trips_in') ? od.withheldIn : od.withheldOut;
  result.values = regionValues((r) =>
    below.has(r.pcod) ? { value: null, withheld: 'threshold' } : discloseCount(cfg, { value: sumOf(def.id, r), residents: res.get(r.pcod), rounding: def.rounding }),
  );
}

/** An indicator over every period of a resolution the store holds, in order. */
export async function computeSeries(engine: Engine, indicator: string, resolution: TemporalResolution, unit: string, opts: ComputeOptions = {}): Promise<IndicatorResult[]> {
  const out: IndicatorResult[] = [];
  for (const p of periods(engine, resolution)) out.push(await computeIndicator(engine, indicator, p, unit, opts));
  return out;
}
