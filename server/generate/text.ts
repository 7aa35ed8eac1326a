/**
 * The text of every value a row can hold, as ASCII bytes prepared once
 * (cell ids, event types, dates, times of day) or spelt out (numbers). Writers copy bytes from these
 * tables instead of building strings per row; CSV, Arrow and Parquet all
 * read the same tables, so they hold the same values by construction.
 */
import { EVENT_TYPES } from './batch.js';
import type { Calendar } from './calendar.js';
import { writeOffNet, writeOnNet } from './msisdn.js';

/** Length of "YYYY-MM-DD HH:MM:SS". */
export const DATETIME_LENGTH = 19;

/** "HH:MM:SS" for every second of a day, 8 bytes each. */
const CLOCK = (() => {
  const out = new Uint8Array(86_400 * 8);
  for (let s = 0; s < 86_400; s++) {
    const text = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((v) => String(v).padStart(2, '0')).join(':');
    for (let k = 0; k < 8; k++) out[s * 8 + k] = text.charCodeAt(k);
  }
  return out;
})();

/** A list of short strings as one byte buffer with offsets. */
export interface ByteTable {
  bytes: Uint8Array;
  /** Entry i is bytes[offsets[i] .. offsets[i+1]). */
  offsets: Int32Array;
}

export function byteTable(values: readonly string[]): ByteTable {
  const offsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => (offsets[i + 1] = offsets[i]! + Buffer.byteLength(v, 'latin1')));
  const bytes = new Uint8Array(offsets[values.length]!);
  values.forEach((v, i) => bytes.set(Buffer.from(v, 'latin1'), offsets[i]!));
  return { bytes, offsets };
}

export class RowText {
  readonly cells: ByteTable;
  readonly types = byteTable(EVENT_TYPES);
  /** "YYYY-MM-DD " for each day of the period, 11 bytes each. */
  private readonly datePrefix: Uint8Array;

  constructor(cellIds: readonly string[], calendar: Calendar) {
    this.cells = byteTable(cellIds);
    this.datePrefix = new Uint8Array(calendar.days * 11);
    for (let d = 0; d < calendar.days; d++) {
      const text = `${calendar.date(d)} `;
      for (let k = 0; k < 11; k++) this.datePrefix[d * 11 + k] = text.charCodeAt(k);
    }
  }

  /** Writes "YYYY-MM-DD HH:MM:SS" (19 bytes) at out[at..]. */
  datetime(out: Uint8Array, at: number, day: number, sec: number): void {
    const p = this.datePrefix;
    const d = day * 11;
    for (let k = 0; k < 11; k++) out[at + k] = p[d + k]!;
    const c = sec * 8;
    for (let k = 0; k < 8; k++) out[at + 11 + k] = CLOCK[c + k]!;
  }

  /** Writes a party's on-network number (13 bytes) at out[at..]. */
  party(out: Uint8Array, at: number, number: number): void {
    writeOnNet(out, at, number);
  }

  /** Writes a counterpart code's number (13 bytes) at out[at..]; the code must not be NONE. */
  counterpart(out: Uint8Array, at: number, code: number): void {
    if (code >= 0) writeOnNet(out, at, code);
    else writeOffNet(out, at, -code - 2);
  }

  /** Writes entry i of a table at out[at..]; returns the bytes written. */
  static entry(table: ByteTable, out: Uint8Array, at: number, i: number): number {
    const from = table.offsets[i]!;
    const to = table.offsets[i + 1]!;
    for (let k = from; k < to; k++) out[at + k - from] = table.bytes[k]!;
    return to - from;
  }
}

/** Writes the decimal digits of a non-negative integer at out[at..]; returns the bytes written. */
export function writeUint(out: Uint8Array, at: number, n: number): number {
  if (n < 10) {
    out[at] = 48 + n;
    return 1;
  }
  let len = 0;
  for (let v = n; v > 0; v = Math.floor(v / 10)) len++;
  for (let k = len - 1; k >= 0; k--) {
    out[at + k] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return len;
}
