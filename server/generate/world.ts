/**
 * The static world behind the events: country, census, radio network,
 * subscribers and, for the displacement scenario, who moves where. Built in
 * that order, each stage from its own named random stream.
 */
import { Calendar } from './calendar.js';
import { buildCountry, type Country } from './country.js';
import { buildNetwork, type Network } from './network.js';
import { buildCensus, type Census } from './population.js';
import { planDisplacement, type Displacement, type Scenario } from './scenario.js';
import { SiteSampler } from './sites.js';
import { buildSubscribers, type Subscribers } from './subscribers.js';

export interface World {
  calendar: Calendar;
  country: Country;
  census: Census;
  network: Network;
  sites: SiteSampler;
  subscribers: Subscribers;
  displacement: Displacement | null;
}

/** `disasterDay`: the displacement's day index (options.ts checks it lies in the period); default: the middle day. */
export function buildWorld(seed: string, subscribers: number, calendar: Calendar, scenario: Scenario, disasterDay?: number): World {
  const country = buildCountry(seed);
  const census = buildCensus(seed, country);
  const network = buildNetwork(seed, country, census, calendar);
  const sites = new SiteSampler(country, network);
  const subs = buildSubscribers(seed, subscribers, country, census, network, sites);
  const displacement =
    scenario === 'displacement' ? planDisplacement(seed, country, network, sites, subs, calendar, disasterDay) : null;
  return { calendar, country, census, network, sites, subscribers: subs, displacement };
}
