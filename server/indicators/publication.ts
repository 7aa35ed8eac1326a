/**
 * When an indicator may be published under DP, and what its publication costs
 * the publisher (docs/PRIVACY.md, "Indicators").
 *
 * - Only COMPLETE periods are published to DP tiers: a period whose stored days
 *   reach its last calendar day. A period still filling would be computed again,
 *   and noised again, each time a day lands (its data, so its noise key,
 *   changes); the daily re-publications of one period are independent draws
 *   around nearly the same counts, and their average is sqrt(days) times more
 *   exact than the interval each one states (test/privacy/dp-publication.test.ts
 *   runs that attack). A continual-release mechanism cannot help the indicators
 *   that are not sums of daily increments (a period's home is the modal location
 *   over all its days: adding a day can move it), so the period waits.
 * - Every publication a result reads (its own noised vectors, the period's
 *   residents for the resident floor, the baseline's for scaling) is charged to
 *   the publisher's ledger once, by its noise key, against a cap per data period:
 *   a period whose data changes after it was published (a day re-ingested or
 *   pruned) is published again only while the cap allows; past it the result is
 *   withheld (`budget`), never noised more weakly.
 */
import { createHash } from 'node:crypto';
import type { Engine } from '../engine/engine.js';
import type { Accountant } from '../privacy/dp/accountant.js';
import { secretFingerprint } from '../privacy/dp/secret.js';
import { dailyOdSpecs, type IndicatorDefinition, type Period, periodsOf, relocationSpec } from './catalog.js';

/** The publisher's ledger and its cap: rho per data period (one resolution and period key, every unit and family). */
export interface PublisherLedger {
  accountant: Pick<Accountant, 'chargePublications'>;
  cap: number;
}

/** One noised vector a result reads: its family and the period it is of. */
export interface PublicationUse {
  family: string;
  period: Period;
}

/**
 * The publications an indicator of period `p` reads: the period's residents (the resident
 * floor of every indicator), the baseline's residents when scaled, and its own vector(s).
 */
export function publicationsOf(def: IndicatorDefinition, p: Period, unit: string, baseline: Period | null): PublicationUse[] {
  const out: PublicationUse[] = [{ family: 'residents', period: p }];
  if (baseline) out.push({ family: 'residents', period: baseline });
  const id = def.id;
  if (id.startsWith('presence.') && !id.includes('trips')) out.push({ family: 'presence', period: p });
  else if (id === 'relocations.od' || (id.startsWith('residents.') && id !== 'residents.count' && id !== 'residents.per_km2')) {
    if (relocationSpec(p, unit)) {
      if (id === 'residents.delta_arrived') out.push({ family: 'residents.arrived', period: p }, { family: 'residents.departed', period: p });
      else out.push({ family: id, period: p });
    }
  } else if (id === 'movements.od' || id === 'presence.trips_in' || id === 'presence.trips_out') {
    if (dailyOdSpecs(p, unit).length > 0) out.push({ family: id, period: p });
  }
  return out;
}

/** The baseline period of a scaled indicator (the store's first of the resolution unless named). */
export function baselineOf(engine: Engine, p: Period, scale: boolean | { baseline?: Period } | undefined): Period {
  return (typeof scale === 'object' && scale.baseline) || periodsOf(engine.store.days(), p.resolution)[0]!;
}

/**
 * The ledger's name of a publication: its noise key hashed (the key holds the day signature, so a data change is a
 * new publication) with the secret's fingerprint and the rho (a new secret, or privacy.indicatorRho changed, draws
 * new noise for the same key: a new publication, paid for again; test/privacy/attack-rotation.test.ts).
 */
export function publicationId(noiseKey: string, secret: Uint8Array, rho: number): string {
  return createHash('sha256').update(noiseKey).update(`\0${secretFingerprint(secret)}\0${rho}`).digest('hex');
}
