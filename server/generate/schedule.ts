/**
 * Where each subscriber is during one day: at home at night, at work during
 * working hours on days they commute (most weekdays, few weekend days),
 * sometimes visiting a friend or another place in the evening or at the
 * weekend. Planned once per day for everyone, then looked up per event, so
 * the callee of a call is found where their own day puts them.
 *
 * Everything an event needs about a subscriber (today's places, their
 * contacts, their number) sits in one 32-byte record: with millions of
 * subscribers each record read is a cache miss, so there is one per party.
 */
import type { Calendar } from './calendar.js';
import { NEIGHBOURS } from './network.js';
import { Rng } from './prng.js';
import type { Displacement } from './scenario.js';
import type { SiteSampler } from './sites.js';
import type { Subscribers } from './subscribers.js';

/** Probability that a commuter goes to work, by day of the week (Sunday first). */
const WORKDAY = [0.1, 0.9, 0.9, 0.9, 0.9, 0.85, 0.35];
/** Probability of a visit elsewhere, by day of the week. */
const VISIT_CHANCE = [0.35, 0.15, 0.15, 0.15, 0.15, 0.2, 0.35];

/** Record fields. Spans are [from, to) in minutes of the day, packed as from | to << 16; NO_SPAN never matches. */
export const HOME = 0;
const WORK = 1;
const WORK_SPAN = 2;
const VISIT = 3;
const VISIT_SPAN = 4;
export const CONTACT_START = 5;
export const CONTACT_COUNT = 6;
export const NUMBER = 7;
export const STRIDE = 8;
const NO_SPAN = -1;

export class DayPlan {
  /** One record of STRIDE fields per subscriber. */
  readonly people: Int32Array;

  constructor(
    private readonly seed: string,
    private readonly subscribers: Subscribers,
    private readonly sites: SiteSampler,
    private readonly calendar: Calendar,
    private readonly displacement: Displacement | null,
  ) {
    const people = new Int32Array(subscribers.count * STRIDE);
    for (let i = 0; i < subscribers.count; i++) {
      const o = i * STRIDE;
      people[o + CONTACT_START] = subscribers.contactStart[i]!;
      people[o + CONTACT_COUNT] = subscribers.contactStart[i + 1]! - subscribers.contactStart[i]!;
      people[o + NUMBER] = subscribers.number[i]!;
    }
    this.people = people;
  }

  /** Plans day `day` for every subscriber (replaces the previous day's plan). */
  plan(day: number): void {
    const rng = Rng.derive(this.seed, 'day', day);
    const { subscribers: subs, people } = this;
    const weekday = this.calendar.weekday(day);
    const weekend = weekday === 0 || weekday === 6;
    const moved = this.displacement && day >= this.displacement.disaster.day ? this.displacement : null;
    for (let i = 0; i < subs.count; i++) {
      people[i * STRIDE + HOME] = moved && moved.homeAfter[i]! >= 0 ? moved.homeAfter[i]! : subs.home[i]!;
    }
    for (let i = 0; i < subs.count; i++) {
      const o = i * STRIDE;
      const after = moved ? moved.workAfter[i]! : -2;
      const work = after === -2 ? subs.work[i]! : after;
      people[o + WORK_SPAN] = NO_SPAN;
      if (work >= 0 && rng.chance(WORKDAY[weekday]!)) {
        const from = Math.floor((7 + rng.next() * 2.5) * 60);
        people[o + WORK] = work;
        people[o + WORK_SPAN] = span(from, from + Math.floor((weekend ? 4 : 8 + rng.next() * 2) * 60));
      }
      people[o + VISIT_SPAN] = NO_SPAN;
      if (rng.chance(VISIT_CHANCE[weekday]!)) {
        const from = Math.floor((weekend ? 10 + rng.next() * 8 : 18 + rng.next() * 3) * 60);
        people[o + VISIT] = this.placeToVisit(rng, i);
        people[o + VISIT_SPAN] = span(from, from + Math.floor((1 + rng.next() * 3) * 60));
      }
    }
  }

  /** Half the visits go to a contact's home, some nearby, a few anywhere in the country. */
  private placeToVisit(rng: Rng, i: number): number {
    const subs = this.subscribers;
    const u = rng.next();
    if (u < 0.5) {
      const n = subs.contactStart[i + 1]! - subs.contactStart[i]!;
      const c = n > 0 ? subs.contacts[subs.contactStart[i]! + rng.int(n)]! : -1;
      if (c >= 0) return this.people[c * STRIDE + HOME]!;
    }
    if (u < 0.85) return this.sites.neighbour(this.people[i * STRIDE + HOME]!, rng.int(NEIGHBOURS));
    return this.sites.anyHome(rng);
  }

  /** The site where subscriber i is at second `sec` of the planned day. */
  locate(i: number, sec: number): number {
    const p = this.people;
    const o = i * STRIDE;
    const minute = (sec / 60) | 0;
    const visit = p[o + VISIT_SPAN]!;
    if (minute >= (visit & 0xffff) && minute < visit >>> 16) return p[o + VISIT]!;
    const work = p[o + WORK_SPAN]!;
    if (minute >= (work & 0xffff) && minute < work >>> 16) return p[o + WORK]!;
    return p[o + HOME]!;
  }
}

function span(from: number, to: number): number {
  return from | (to << 16);
}
