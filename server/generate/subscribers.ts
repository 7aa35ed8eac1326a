/**
 * Subscribers: a number, a home site, maybe a work site, an activity level
 * and a social graph. Activity is log-normal (a few subscribers very active,
 * many rare). Contacts are mostly people living in the same admin2, some
 * anywhere in the country, some on other networks (no second row).
 */
import type { Country } from './country.js';
import { groupBy } from './csr.js';
import { NUMBER_SPACE, numberKey, permuteNumber } from './msisdn.js';
import type { Network } from './network.js';
import type { Census } from './population.js';
import { Rng } from './prng.js';
import type { SiteSampler } from './sites.js';

/** Median primary events (calls made, sms sent, data sessions, top-ups) per subscriber-day. */
const MEDIAN_RATE = 1.9;
const RATE_SIGMA = 1.1;
const WORKER_SHARE = 0.68;

export interface Subscribers {
  count: number;
  /** The 8 digits of each subscriber's "22507" number, unique. */
  number: Int32Array;
  home: Int32Array;
  /** Work site, -1 for subscribers who do not commute. */
  work: Int32Array;
  /** Mean primary events per day. */
  rate: Float64Array;
  /** Contacts of subscriber i are contacts[contactStart[i] .. contactStart[i+1]-1]; the first ones are called most. */
  contactStart: Int32Array;
  /** >= 0: a subscriber index; < 0: an off-network number n encoded as -(n + 1). */
  contacts: Int32Array;
}

export function buildSubscribers(
  seed: string,
  count: number,
  country: Country,
  census: Census,
  network: Network,
  sites: SiteSampler,
): Subscribers {
  const rng = Rng.derive(seed, 'subscribers');
  const number = new Int32Array(count);
  const key = numberKey(seed);
  for (let i = 0; i < count; i++) number[i] = permuteNumber(i, key);

  const home = new Int32Array(count);
  const work = new Int32Array(count).fill(-1);
  const rate = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const h = sites.anyHome(rng);
    home[i] = h;
    rate[i] = Math.min(250, Math.max(0.02, rng.logNormal(MEDIAN_RATE, RATE_SIGMA)));
    if (!rng.chance(WORKER_SHARE)) continue;
    const a3 = network.siteAdmin3[h]!;
    const u = rng.next();
    // Half work in their own admin2, a third commute into the nearest city, the rest anywhere.
    if (u < 0.5) work[i] = sites.inAdmin2(rng, country.admin3[a3]!.parent);
    else if (u < 0.83) work[i] = sites.inAdmin3(rng, census.cities[census.nearestCity[a3]!]!.admin3);
    else work[i] = sites.anyHome(rng);
  }
  // A few people live on the lake's stilt village and work on the offshore platform,
  // so that both unlocatable cells carry traffic even in small datasets.
  const few = Math.max(2, Math.round(count * 0.0008));
  for (let k = 0; k < few && count > 0; k++) home[rng.int(count)] = network.lakeSite;
  for (let k = 0; k < few && count > 0; k++) work[rng.int(count)] = network.offshoreSite;

  const { contactStart, contacts } = buildContacts(rng, country, network, home);
  return { count, number, home, work, rate, contactStart, contacts };
}

/** Each subscriber gets 2 + Poisson(5) contacts: 60% same admin2, 25% anywhere, 15% off-network. */
function buildContacts(
  rng: Rng,
  country: Country,
  network: Network,
  home: Int32Array,
): { contactStart: Int32Array; contacts: Int32Array } {
  const count = home.length;
  const siteAdmin2 = Int32Array.from(network.siteAdmin3, (a3) => country.admin3[a3]!.parent);
  const homeAdmin2 = Int32Array.from(home, (site) => siteAdmin2[site]!);
  const admin2Of = (i: number) => homeAdmin2[i]!;
  // Subscribers grouped by home admin2, to draw neighbours quickly.
  const [groupStart, members] = groupBy(count, country.admin2.length, admin2Of);

  // Sizes first, so that the list is one typed array even for millions of subscribers.
  const contactStart = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) contactStart[i + 1] = contactStart[i]! + 2 + rng.poisson(5);
  const contacts = new Int32Array(contactStart[count]!);
  for (let i = 0; i < count; i++) {
    const g = admin2Of(i);
    const size = groupStart[g + 1]! - groupStart[g]!;
    for (let j = contactStart[i]!; j < contactStart[i + 1]!; j++) {
      const u = rng.next();
      let c = -1;
      if (u < 0.6 && size > 1) c = members[groupStart[g]! + rng.int(size)]!;
      else if (u < 0.85 && count > 1) c = rng.int(count);
      contacts[j] = c === i || c < 0 ? -(rng.int(NUMBER_SPACE) + 1) : c;
    }
  }
  return { contactStart, contacts };
}
