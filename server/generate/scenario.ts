/**
 * The displacement scenario: on a disaster day (the middle of the period unless
 * chosen), a
 * share of the residents of one populous coastal admin2 (a flood) move their home to a
 * neighbouring admin2 and stay there for the rest of the period. Those who
 * worked inside the struck region stop commuting. Recorded in dataset.json so
 * that tests and demos know what to look for.
 */
import type { Calendar } from './calendar.js';
import type { Country } from './country.js';
import type { Network } from './network.js';
import { Rng } from './prng.js';
import type { SiteSampler } from './sites.js';
import type { Subscribers } from './subscribers.js';

export const SCENARIOS = ['none', 'displacement'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Share of the struck region's residents who leave. */
export const DISPLACED_SHARE = 0.4;

export interface Disaster {
  /** Day index of the disaster: homes move from this day on. */
  day: number;
  date: string;
  level: 'admin2';
  /** admin2 index. */
  region: number;
  pcod: string;
  name: string;
  share: number;
  residents: number;
  displaced: number;
}

/** Where displaced subscribers live and work from the disaster day on (-1: unchanged). */
export interface Displacement {
  disaster: Disaster;
  homeAfter: Int32Array;
  /** Work site after the disaster; -2 when unchanged, -1 when no longer commuting. */
  workAfter: Int32Array;
}

export function planDisplacement(
  seed: string,
  country: Country,
  network: Network,
  sites: SiteSampler,
  subscribers: Subscribers,
  calendar: Calendar,
  /** Day index of the disaster, in [1, days); default: the middle day. */
  disasterDay: number = Math.floor(calendar.days / 2),
): Displacement {
  const rng = Rng.derive(seed, 'displacement');
  const a2 = country.admin2;
  // One of the three most populous coastal admin2s, so that the move is visible even in a small sample.
  const byPopulation = (x: number, y: number) => a2[y]!.population - a2[x]!.population || x - y;
  let candidates = a2.map((_, i) => i).filter((i) => country.coastalAdmin2[i]);
  if (candidates.length === 0) candidates = a2.map((_, i) => i);
  candidates = candidates.sort(byPopulation).slice(0, 3);
  const region = candidates[rng.int(candidates.length)]!;
  const day = disasterDay;
  const neighbours = country.admin2Neighbours[region]!;
  const a2OfSite = (s: number) => country.admin3[network.siteAdmin3[s]!]!.parent;

  const homeAfter = new Int32Array(subscribers.count).fill(-1);
  const workAfter = new Int32Array(subscribers.count).fill(-2);
  let residents = 0;
  let displaced = 0;
  for (let i = 0; i < subscribers.count; i++) {
    if (a2OfSite(subscribers.home[i]!) !== region) continue;
    residents++;
    if (!rng.chance(DISPLACED_SHARE) || neighbours.length === 0) continue;
    displaced++;
    homeAfter[i] = sites.inAdmin2(rng, neighbours[rng.int(neighbours.length)]!);
    const w = subscribers.work[i]!;
    if (w >= 0 && a2OfSite(w) === region) workAfter[i] = -1;
  }
  return {
    disaster: {
      day,
      date: calendar.date(day),
      level: 'admin2',
      region,
      pcod: a2[region]!.pcode,
      name: a2[region]!.name,
      share: DISPLACED_SHARE,
      residents,
      displaced,
    },
    homeAfter,
    workAfter,
  };
}
