/**
 * Event generation, one time slice (a quarter hour) at a time.
 *
 * Each subscriber's primary events (calls made, sms sent, data sessions,
 * top-ups) form a Poisson process whose rate is their activity times the
 * hour's and the weekday's rhythm. The superposition of all of them is one
 * Poisson process whose events belong to subscriber i with probability
 * rate_i / total. So a slice draws its event count once, then that many
 * sorted uniform points (exponential spacings) on the cumulative rate line,
 * and walks the subscribers once to find whose each point is. Cost is per
 * event, not per subscriber-slice, and subscribers are visited in memory
 * order, which matters when there are millions of them.
 *
 * A call or sms to an on-network contact makes a second row for the callee,
 * at the same second, at the callee's own cell. Rows are then sorted by time.
 */
import { CALLS, EventBatch, INCOMING, MDS, NO_DIRECTION, NONE, OUTGOING, SMS, TOPUPS } from './batch.js';
import type { Calendar } from './calendar.js';
import { NUMBER_SPACE } from './msisdn.js';
import { NEIGHBOURS, type Network } from './network.js';
import { QuantileTable, Rng } from './prng.js';
import { CONTACT_COUNT, CONTACT_START, NUMBER, STRIDE, type DayPlan } from './schedule.js';
import type { Subscribers } from './subscribers.js';

/** Seconds per slice: the unit of generation, sorting and progress. */
export const SLICE_SECONDS = 900;
export const SLICES_PER_DAY = 86_400 / SLICE_SECONDS;

/** Relative activity by hour of day: quiet at night, peaks at midday and in the evening. */
const HOURLY = [
  0.12, 0.06, 0.04, 0.03, 0.04, 0.12, 0.35, 0.75, 1.05, 1.15, 1.2, 1.25, 1.3, 1.2, 1.15, 1.15, 1.2, 1.3, 1.45, 1.5,
  1.35, 1.05, 0.65, 0.3,
];
const HOURLY_SUM = HOURLY.reduce((s, w) => s + w, 0);
/** Relative activity by day of the week, Sunday first. */
const WEEKLY = [0.85, 1, 1, 1, 1, 1, 0.93];

/** Cumulative probabilities of the primary event types: calls, sms, mds, topups. */
const TYPE_CUMULATIVE = [0.4, 0.74, 0.95, 1];
/** Share of calls and sms to off-network parties that the subscriber made (the rest were received). */
const OFF_NET_OUTGOING = 0.55;
/** Chance that an event is served by a neighbouring site instead of the planned one, by day and by night. */
const ROAM_DAY = 0.1;
const ROAM_NIGHT = 0.03;
/** Chance that a top-up (often made by USSD or at a shop's terminal) has no cell. */
const TOPUP_UNLOCATED = 0.4;
const TOPUP_AMOUNTS = [100, 200, 250, 500, 1000, 2000, 5000];
const TOPUP_CUMULATIVE = [0.15, 0.35, 0.45, 0.75, 0.9, 0.97, 1];
/** Call length: log-normal, median 50 s; data session: median 4 min. */
const CALL_SECONDS = QuantileTable.logNormal(50, 1, 1, 5400);
const SESSION_SECONDS = QuantileTable.logNormal(240, 1.2, 1, 7200);

/** Expected primary events in a slice, from the total daily rate: also used to balance files. */
export function expectedInSlice(totalRate: number, weekday: number, slice: number): number {
  const hour = Math.floor((slice * SLICE_SECONDS) / 3600);
  return (totalRate * WEEKLY[weekday]! * HOURLY[hour]! * SLICE_SECONDS) / 3600 / HOURLY_SUM;
}

export class EventGenerator {
  /** Cumulative activity: subscriber i owns [cumulative[i-1], cumulative[i]). */
  private readonly cumulative: Float64Array;
  readonly totalRate: number;
  /** Live cells of each site on the current day, up to 4 per site. */
  private readonly dayCells: Int32Array;
  private readonly dayCellCount: Uint8Array;
  private day = -1;
  private readonly staging = new EventBatch();
  private points = new Float64Array(1 << 12);
  private readonly counts = new Int32Array(SLICE_SECONDS + 1);

  constructor(
    private readonly seed: string,
    private readonly subs: Subscribers,
    private readonly network: Network,
    private readonly plan: DayPlan,
    private readonly calendar: Calendar,
  ) {
    this.cumulative = new Float64Array(subs.count);
    let sum = 0;
    for (let i = 0; i < subs.count; i++) this.cumulative[i] = sum += subs.rate[i]!;
    this.totalRate = sum;
    this.dayCells = new Int32Array(network.siteCount * 4);
    this.dayCellCount = new Uint8Array(network.siteCount);
  }

  /**
   * Generates slice `slice` of day `day` into `out`, sorted by time. Each
   * slice has its own random stream, so its rows do not depend on how many
   * draws other slices made.
   */
  slice(day: number, slice: number, out: EventBatch): void {
    if (day !== this.day) this.startDay(day);
    const rng = Rng.derive(this.seed, 'events', day, slice);
    const people = this.plan.people;
    const contacts = this.subs.contacts;
    const b = this.staging;
    b.length = 0;
    b.day = day;
    const from = slice * SLICE_SECONDS;
    const n = rng.poisson(expectedInSlice(this.totalRate, this.calendar.weekday(day), slice));
    const points = this.sortedPoints(rng, n);
    // At most two rows per primary event.
    b.reserve(2 * n);
    const roam = from >= 6 * 3600 && from < 22 * 3600 ? ROAM_DAY : ROAM_NIGHT;
    const last = this.subs.count - 1;
    let s = 0;
    for (let e = 0; e < n; e++) {
      while (s < last && this.cumulative[s]! <= points[e]!) s++;
      const sec = from + Math.floor(rng.next() * SLICE_SECONDS);
      const u = rng.next();
      const type = u < TYPE_CUMULATIVE[0]! ? CALLS : u < TYPE_CUMULATIVE[1]! ? SMS : u < TYPE_CUMULATIVE[2]! ? MDS : TOPUPS;
      let i = b.length++;
      b.party[i] = people[s * STRIDE + NUMBER]!;
      b.sec[i] = sec;
      b.type[i] = type;
      b.cell[i] = this.cellAt(rng, s, sec, roam);
      b.outgoing[i] = NO_DIRECTION;
      b.duration[i] = NONE;
      b.counterpart[i] = NONE;
      b.amount[i] = NONE;
      if (type === MDS) {
        b.duration[i] = SESSION_SECONDS.draw(rng);
        continue;
      }
      if (type === TOPUPS) {
        b.amount[i] = TOPUP_AMOUNTS[pick(rng, TOPUP_CUMULATIVE)]!;
        if (rng.next() < TOPUP_UNLOCATED) b.cell[i] = NONE;
        continue;
      }
      const duration = type === CALLS ? CALL_SECONDS.draw(rng) : NONE;
      b.duration[i] = duration;
      // A contact, favouring the first (closest) ones; an off-network number for the contactless.
      const k = people[s * STRIDE + CONTACT_COUNT]!;
      const v = rng.next();
      const c = k > 0 ? contacts[people[s * STRIDE + CONTACT_START]! + Math.floor(k * v * v)]! : -1 - Math.floor(v * NUMBER_SPACE);
      if (c < 0) {
        b.outgoing[i] = rng.next() < OFF_NET_OUTGOING ? OUTGOING : INCOMING;
        b.counterpart[i] = c - 1; // off-network number m: contacts hold -(m + 1), rows -(m + 2)
        continue;
      }
      // On-network: the caller's row, then the callee's own row.
      b.outgoing[i] = OUTGOING;
      b.counterpart[i] = people[c * STRIDE + NUMBER]!;
      i = b.length++;
      b.party[i] = people[c * STRIDE + NUMBER]!;
      b.sec[i] = sec;
      b.type[i] = type;
      b.cell[i] = this.cellAt(rng, c, sec, roam);
      b.outgoing[i] = INCOMING;
      b.duration[i] = duration;
      b.counterpart[i] = people[s * STRIDE + NUMBER]!;
      b.amount[i] = NONE;
    }
    b.sortInto(out, from, SLICE_SECONDS, this.counts);
  }

  /** n sorted uniform points in [0, totalRate): normalised partial sums of n + 1 exponential variates. */
  private sortedPoints(rng: Rng, n: number): Float64Array {
    if (this.points.length < n + 1) this.points = new Float64Array(2 * (n + 1));
    const p = this.points;
    let sum = 0;
    for (let k = 0; k <= n; k++) p[k] = sum -= Math.log(1 - rng.next());
    const scale = this.totalRate / sum;
    for (let k = 0; k < n; k++) p[k] = p[k]! * scale;
    return p;
  }

  /** The cell serving subscriber s at second `sec`: their planned site (or a neighbour), one of its live cells. */
  private cellAt(rng: Rng, s: number, sec: number, roam: number): number {
    let site = this.plan.locate(s, sec);
    if (rng.next() < roam) site = this.network.siteNeighbours[site * NEIGHBOURS + Math.floor(rng.next() * NEIGHBOURS)]!;
    return this.dayCells[site * 4 + Math.floor(rng.next() * this.dayCellCount[site]!)]!;
  }

  private startDay(day: number): void {
    this.day = day;
    this.plan.plan(day);
    const net = this.network;
    for (let site = 0; site < net.siteCount; site++) {
      let k = 0;
      for (let c = net.siteCellStart[site]!; c < net.siteCellStart[site + 1]! && k < 4; c++) {
        if (day >= net.cellFirstDay[c]! && day <= net.cellLastDay[c]!) this.dayCells[site * 4 + k++] = c;
      }
      this.dayCellCount[site] = k;
    }
  }
}

function pick(rng: Rng, cumulative: readonly number[]): number {
  const u = rng.next();
  let k = 0;
  while (u >= cumulative[k]!) k++;
  return k;
}
