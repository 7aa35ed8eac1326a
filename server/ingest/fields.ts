/**
 * The data contract for one event row, field by field (docs/DATA.md): how a field's
 * trimmed text becomes a store value, and which failure is reported when a
 * row breaks the contract. Both ingest paths use these - the string path for
 * typed files (normalise.ts) and the byte path for CSV (csv-events.ts), whose
 * fast paths fall back here for anything unusual - so every format accepts
 * and rejects exactly the same rows, with the same reasons.
 */
import { DIR_IN, DIR_OUT, DIR_UNKNOWN, NULL_U32, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';

/** A Map, not an object literal: `constructor` or `__proto__` must not name an event type. */
const EVENT_TYPES = new Map<string, number>([
  ['calls', TYPE_CALLS],
  ['call', TYPE_CALLS],
  ['voice', TYPE_CALLS],
  ['sms', TYPE_SMS],
  ['mds', TYPE_MDS],
  ['data', TYPE_MDS],
  ['topups', TYPE_TOPUPS],
  ['topup', TYPE_TOPUPS],
  ['recharge', TYPE_TOPUPS],
]);

/** eventTypeOf: the field is empty. */
export const TYPE_EMPTY = -1;
/** eventTypeOf: the field names no event type. */
export const TYPE_INVALID = -2;

/** The event type of a trimmed field, or TYPE_EMPTY / TYPE_INVALID. */
export function eventTypeOf(text: string): number {
  if (text === '') return TYPE_EMPTY;
  // Exact spelling first: lower-casing every row would allocate a string per row.
  return EVENT_TYPES.get(text) ?? EVENT_TYPES.get(text.toLowerCase()) ?? TYPE_INVALID;
}

/** directionOf: not one of the accepted spellings. */
export const DIR_INVALID = -1;

/** The direction of a trimmed `outgoing` field: DIR_OUT, DIR_IN, DIR_UNKNOWN when empty, or DIR_INVALID. */
export function directionOf(text: string): number {
  const t = text === 'true' || text === 'false' || text.length <= 1 ? text : text.toLowerCase();
  if (t === 'true' || t === '1' || t === 't') return DIR_OUT;
  if (t === 'false' || t === '0' || t === 'f') return DIR_IN;
  return t === '' ? DIR_UNKNOWN : DIR_INVALID;
}

/** durationOf: not a duration. */
export const DURATION_INVALID = -1;

/** Whole seconds of a trimmed `duration` field: NULL_U32 when empty, or DURATION_INVALID. */
export function durationOf(text: string): number {
  if (text === '') return NULL_U32;
  const d = Number(text);
  if (!Number.isFinite(d) || d < 0 || d >= NULL_U32) return DURATION_INVALID;
  return Math.round(d);
}

/** rechargeOf: not a number (any finite number is an amount, so Infinity can mark it). */
export const AMOUNT_INVALID = Infinity;

/** The amount of a trimmed `recharge_amount` field: NaN when empty, or AMOUNT_INVALID. */
export function rechargeOf(text: string): number {
  if (text === '') return NaN;
  const v = Number(text);
  return Number.isFinite(v) ? v : AMOUNT_INVALID;
}

/** Event time codes below 0: why a row has no usable time. */
export const TIME_MISSING = -1;
export const TIME_INVALID = -2;
export const TIME_OUT_OF_RANGE = -3;
/** A readable time outside the delivery's plausible dates (dates.ts). */
export const TIME_IMPLAUSIBLE = -4;
/** rowFailure's code for TIME_IMPLAUSIBLE: reported with the delivery's own bounds (PlausibleDates.failure), not FAILURES'. */
export const FAILURE_IMPLAUSIBLE = 12;

/** What is reported for each failure code, as [field, reason]; code 0 is a good row. */
export const FAILURES: readonly (readonly [string, string])[] = [
  ['', ''],
  ['msisdn', 'missing'],
  ['datetime', 'missing'],
  ['datetime', 'expected an ISO 8601 time like 2016-01-01 08:15:02'],
  ['datetime', 'outside [1970, 2106)'],
  ['event_type', 'missing'],
  ['event_type', 'expected calls, sms, mds or topups'],
  ['outgoing', 'expected true, false, 1 or 0'],
  ['outgoing', 'missing (required for calls and sms)'],
  ['duration', 'expected a non-negative number of seconds'],
  ['recharge_amount', 'expected a number'],
  ['recharge_amount', 'missing (required for topups)'],
  ['datetime', 'outside the plausible dates'],
];

/**
 * The first broken rule of a row, in the contract's order, as an index into
 * FAILURES (0 when the row is good). `t` is local seconds or a TIME_* code;
 * the others are the results of the functions above.
 */
export function rowFailure(msisdnEmpty: boolean, t: number, type: number, dir: number, duration: number, recharge: number): number {
  if (msisdnEmpty) return 1;
  if (t < 0) return t === TIME_MISSING ? 2 : t === TIME_INVALID ? 3 : t === TIME_IMPLAUSIBLE ? FAILURE_IMPLAUSIBLE : 4;
  if (type < 0) return type === TYPE_EMPTY ? 5 : 6;
  if (dir === DIR_INVALID) return 7;
  if (dir === DIR_UNKNOWN && (type === TYPE_CALLS || type === TYPE_SMS)) return 8;
  if (duration === DURATION_INVALID) return 9;
  if (recharge === AMOUNT_INVALID) return 10;
  if (recharge !== recharge && type === TYPE_TOPUPS) return 11;
  return 0;
}

/** A parsed time as the row check wants it: NaN -> TIME_INVALID, before 1970 or from 2106 on -> TIME_OUT_OF_RANGE. */
export function timeCode(t: number): number {
  if (t !== t) return TIME_INVALID;
  return t >= 0 && t < 2 ** 32 ? t : TIME_OUT_OF_RANGE;
}

/** Local seconds of a typed timestamp (wall-clock time in its UTC fields), or TIME_OUT_OF_RANGE. */
export function timeOfDate(d: Date): number {
  const t = Math.floor(d.getTime() / 1000);
  return t === t ? timeCode(t) : TIME_OUT_OF_RANGE;
}
