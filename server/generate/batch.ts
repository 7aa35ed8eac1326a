/**
 * A batch of generated event rows, column-major in typed arrays: the form in
 * which rows pass from the generator to the writers. Values are codes, not
 * text; writers turn them into bytes through the tables in text.ts.
 */

/** event_type codes, in the order of EVENT_TYPES. */
export const CALLS = 0;
export const SMS = 1;
export const MDS = 2;
export const TOPUPS = 3;
export const EVENT_TYPES = ['calls', 'sms', 'mds', 'topups'] as const;

/** `outgoing` codes. */
export const INCOMING = 0;
export const OUTGOING = 1;
export const NO_DIRECTION = 2;

/** Absent integer value (duration, amount, cell). */
export const NONE = -1;

export class EventBatch {
  /** Day index of every row in the batch. */
  day = 0;
  length = 0;
  capacity: number;
  /** The 8 digits of the party's on-network number (msisdn.ts). */
  party: Int32Array;
  /** Second of the day, [0, 86400). */
  sec: Int32Array;
  /** Cell index, NONE for an event without location. */
  cell: Int32Array;
  type: Uint8Array;
  outgoing: Uint8Array;
  /** Seconds, NONE when absent. */
  duration: Int32Array;
  /** >= 0: an on-network number; NONE: no counterpart; <= -2: off-network number n as -(n + 2). */
  counterpart: Int32Array;
  /** Top-up amount in whole currency units, NONE when absent. */
  amount: Int32Array;

  constructor(capacity = 1 << 14) {
    this.capacity = capacity;
    this.party = new Int32Array(capacity);
    this.sec = new Int32Array(capacity);
    this.cell = new Int32Array(capacity);
    this.type = new Uint8Array(capacity);
    this.outgoing = new Uint8Array(capacity);
    this.duration = new Int32Array(capacity);
    this.counterpart = new Int32Array(capacity);
    this.amount = new Int32Array(capacity);
  }

  /** Makes room for `extra` more rows, keeping the current ones. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.capacity) return;
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    this.party = grow(this.party, cap);
    this.sec = grow(this.sec, cap);
    this.cell = grow(this.cell, cap);
    this.type = grow(this.type, cap);
    this.outgoing = grow(this.outgoing, cap);
    this.duration = grow(this.duration, cap);
    this.counterpart = grow(this.counterpart, cap);
    this.amount = grow(this.amount, cap);
    this.capacity = cap;
  }

  /** Appends all rows of `from` (same day assumed). */
  append(from: EventBatch): void {
    this.reserve(from.length);
    const at = this.length;
    const n = from.length;
    this.party.set(from.party.subarray(0, n), at);
    this.sec.set(from.sec.subarray(0, n), at);
    this.cell.set(from.cell.subarray(0, n), at);
    this.type.set(from.type.subarray(0, n), at);
    this.outgoing.set(from.outgoing.subarray(0, n), at);
    this.duration.set(from.duration.subarray(0, n), at);
    this.counterpart.set(from.counterpart.subarray(0, n), at);
    this.amount.set(from.amount.subarray(0, n), at);
    this.length += n;
  }

  /**
   * Stable counting sort of the rows by second, into `out` (cleared first).
   * Rows must lie in [from, from + span) seconds; the two legs of a call,
   * generated one after the other, stay next to each other.
   */
  sortInto(out: EventBatch, from: number, span: number, counts: Int32Array): void {
    counts.fill(0, 0, span + 1);
    for (let i = 0; i < this.length; i++) counts[this.sec[i]! - from + 1]++;
    for (let k = 0; k < span; k++) counts[k + 1] = counts[k + 1]! + counts[k]!;
    out.length = 0;
    out.day = this.day;
    out.reserve(this.length);
    for (let i = 0; i < this.length; i++) {
      const j = counts[this.sec[i]! - from]!++;
      out.party[j] = this.party[i]!;
      out.sec[j] = this.sec[i]!;
      out.cell[j] = this.cell[i]!;
      out.type[j] = this.type[i]!;
      out.outgoing[j] = this.outgoing[i]!;
      out.duration[j] = this.duration[i]!;
      out.counterpart[j] = this.counterpart[i]!;
      out.amount[j] = this.amount[i]!;
    }
    out.length = this.length;
  }
}

function grow<T extends Int32Array | Uint8Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}
