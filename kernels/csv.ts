// CSV event rows from bytes: the fast path of CSV ingest. The host's parser
// (server/ingest/csv-events.ts) hands this kernel a buffer of rows; it takes
// every row it can prove ordinary and stops at the first one it cannot,
// which the host's general parser then reads (and reports, when it is bad),
// so the two together give exactly what the general parser alone gives.
//
// Ordinary: one line, no quote, ASCII only, the header's field count, every
// field good by docs/DATA.md in its common spelling - an all-digit MSISDN (and
// counterpart) of at most 14 digits, a time `YYYY-MM-DD[ T]HH:MM[:SS]` or
// `YYYY-MM-DD` without an offset (so already local time), plain digits for
// a duration, a plain decimal for an amount. Event types, directions and cell
// ids are looked up by their bytes in a memo the host fills: on a miss the
// kernel stops (STOP_MISS) naming the field, the host computes its value with
// the general rules and inserts it, and the call is repeated.
//
// Subscribers get parser-local ids in first-seen order from a table of
// digit keys that lives here, so that rows read here and rows read by the
// host draw ids from one sequence (the host calls csvSubscriber and
// csvOtherSubscriber for its rows). A row carries the subscriber's store
// index when the host has told it (the store map), else its tagged local id. Rows are read a block at a time and
// their ids resolved together: a national file's subscriber table is far
// larger than the caches, and the block's lookups then wait for their cache
// misses side by side rather than one after another.
//
// All memory is the host's: the state block (csvStateBytes, csvInit), the
// output columns, the subscriber table and its key list, the memo. The
// buffer must have CSV_SLACK writable bytes after `end`: the kernel puts a
// line feed at `end`, so a field scan needs no bounds check, and memo keys
// are read 8 bytes at a time.

import { DIR_SHIFT, DIR_UNKNOWN, NULL_U32, STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK, TYPE_CALLS, TYPE_SMS, TYPE_TOPUPS } from './shared/constants';
import {
  CSV_ADDED, CSV_COL, CSV_LINES, CSV_MEMO_CAPACITY, CSV_MEMO_TABLE, CSV_MEMO_USED, CSV_MISS_START, CSV_MISS_TAG, CSV_N, CSV_NCOLS,
  CSV_OUT_CELL, CSV_OUT_DURATION, CSV_OUT_KIND, CSV_OUT_PEER, CSV_OUT_RECHARGE, CSV_OUT_SUB, CSV_OUT_T, CSV_STOP, CSV_STOP_AT,
  CSV_STOP_CAPACITY, CSV_STOP_END, CSV_STOP_FULL, CSV_STOP_MISS, CSV_STOP_SLOW, CSV_SUBS_CAPACITY, CSV_SUBS_COUNT, CSV_SUBS_KEYS,
  CSV_SUBS_KEYS_CAPACITY, CSV_SUBS_TABLE, CSV_SUBS_USED, CSV_TAG_CELL, CSV_TAG_DIRECTION, CSV_TAG_TYPE,
  CSV_STORE_MAP, CSV_STORE_MAPPED, CSV_LOCAL_TAG, CSV_T_FROM, CSV_T_TO,
} from './shared/csv-layout';

// The state block: the host's half is in shared/csv-layout.ts; from S_LAST_DATE on it is the kernel's.
const S_NCOLS: usize = CSV_NCOLS;
const S_COL: usize = CSV_COL;
const S_N: usize = CSV_N;
const S_STOP: usize = CSV_STOP;
const S_MISS_TAG: usize = CSV_MISS_TAG;
const S_MISS_START: usize = CSV_MISS_START;
const S_LINES: usize = CSV_LINES;
const S_ADDED: usize = CSV_ADDED;
const S_OUT_SUB: usize = CSV_OUT_SUB;
const S_OUT_PEER: usize = CSV_OUT_PEER;
const S_OUT_CELL: usize = CSV_OUT_CELL;
const S_OUT_T: usize = CSV_OUT_T;
const S_OUT_KIND: usize = CSV_OUT_KIND;
const S_OUT_DURATION: usize = CSV_OUT_DURATION;
const S_OUT_RECHARGE: usize = CSV_OUT_RECHARGE;
const S_SUBS_TABLE: usize = CSV_SUBS_TABLE;
const S_SUBS_CAPACITY: usize = CSV_SUBS_CAPACITY;
const S_SUBS_USED: usize = CSV_SUBS_USED;
const S_SUBS_COUNT: usize = CSV_SUBS_COUNT;
const S_SUBS_KEYS: usize = CSV_SUBS_KEYS;
const S_SUBS_KEYS_CAPACITY: usize = CSV_SUBS_KEYS_CAPACITY;
const S_MEMO_TABLE: usize = CSV_MEMO_TABLE;
const S_MEMO_CAPACITY: usize = CSV_MEMO_CAPACITY;
const S_MEMO_USED: usize = CSV_MEMO_USED;
const S_STORE_MAP: usize = CSV_STORE_MAP;
const S_STORE_MAPPED: usize = CSV_STORE_MAPPED;
const S_T_FROM: usize = CSV_T_FROM;
const S_T_TO: usize = CSV_T_TO;
const LOCAL_TAG: u32 = CSV_LOCAL_TAG;
/** The day of the last date read, by its 10 bytes: most rows of a file share a few dates. */
const S_LAST_DATE: usize = 160; // u64 + u16
const S_LAST_DAY_SECS: usize = 172;
/** Keeps the table reads of the prefetch pass from being optimised away. */
const S_TOUCHED: usize = 176;
/** Per memo tag (1 to 3), a cache of 8 lines (u64 bytes, u32 length, i32 value) for fields of at most 8 bytes; tag t at + 128 t. */
const S_MEMO_CACHE: usize = 256;
/** Field bounds of the row being read: u32 starts, then ends. */
const S_FIELDS: usize = 768;
const MAX_FIELDS: u32 = 64;
/** Rows read before their ids are resolved: u64 sub key, u64 peer key (0: none), u32 output row. */
const S_PENDING: usize = S_FIELDS + 8 * MAX_FIELDS;
const BLOCK: u32 = 64;
const PENDING_BYTES: usize = 24;
const STATE_BYTES: usize = S_PENDING + <usize>BLOCK * PENDING_BYTES;

const STOP_END: i32 = CSV_STOP_END;
const STOP_AT: i32 = CSV_STOP_AT;
const STOP_FULL: i32 = CSV_STOP_FULL;
const STOP_MISS: i32 = CSV_STOP_MISS;
const STOP_SLOW: i32 = CSV_STOP_SLOW;
const STOP_CAPACITY: i32 = CSV_STOP_CAPACITY;
const TAG_TYPE: u32 = CSV_TAG_TYPE;
const TAG_DIRECTION: u32 = CSV_TAG_DIRECTION;
const TAG_CELL: u32 = CSV_TAG_CELL;
/** Longest field the memo keys. */
const MEMO_MAX: u32 = 24;

const COMMA: i8 = 0x2c;
const LF: i8 = 0x0a;
const QUOTE: i8 = 0x22;

const SUB_SLOT: usize = 12;
const MEMO_SLOT: usize = 32;

const C_MSISDN = 0;
const C_DATETIME = 1;
const C_CELL = 2;
const C_TYPE = 3;
const C_OUTGOING = 4;
const C_DURATION = 5;
const C_PEER = 6;
const C_RECHARGE = 7;

export function csvStateBytes(): usize {
  return STATE_BYTES;
}

/**
 * Sets up a state block. The field count, column indexes and output columns
 * (written before each csvRows call) and the tables are the host's to write.
 */
export function csvInit(st: usize): void {
  memory.fill(st, 0, STATE_BYTES);
  for (let c: usize = 0; c < 8; c++) store<i32>(st + S_COL + 4 * c, -1);
  store<u32>(st + S_T_TO, 0xffffffff);
  return STATUS_OK;
}

// ---- small readers -------------------------------------------------------------

@inline
function isSpace(b: u32): bool {
  return b == 0x20 || b - 0x09 <= 4;
}

/** The value of the ASCII digits [s, s + n), or -1 when one is not a digit. */
@inline
function digits(p: usize, n: u32): i32 {
  let v: u32 = 0;
  let bad: u32 = 0;
  for (let i: usize = 0; i < <usize>n; i++) {
    const c = <u32>load<u8>(p + i) - 48;
    bad |= <u32>(c > 9);
    v = v * 10 + c;
  }
  return bad ? -1 : <i32>v;
}

/**
 * The digit key of an id of 1 to 14 ASCII digits, as the host's digitsKey
 * packs it: hi = length << 20 | the digits before the last nine, lo = the last
 * nine. 0 for anything else (hi is never 0 for a real key).
 */
@inline
function digitKey(p: usize, n: u32): u64 {
  if (n - 1 >= 14) return 0;
  let lead: u32 = 0;
  let lo: u32 = 0;
  let bad: u32 = 0;
  if (n < 9) {
    for (let i: u32 = 0; i < n; i++) {
      const c = <u32>load<u8>(p + i) - 48;
      bad |= <u32>(c > 9);
      lo = lo * 10 + c;
    }
  } else {
    // The last eight digits in one word (an MSISDN has 9 to 14), the rest one by one.
    const last8 = load<u64>(p + n - 8);
    if (!eightDigits(last8)) return 0;
    const k = n - 9; // leading digits, 0 to 5
    if (k > 0) {
      // The first k bytes moved to the top of a word, '0's below: an eight-digit number worth the leading digits.
      const shift = <u64>(8 - k) << 3;
      const padded = (load<u64>(p) << shift) | (0x3030303030303030 >> (<u64>k << 3));
      if (!eightDigits(padded)) return 0;
      lead = valueOfEight(padded);
    }
    const ninth = <u32>load<u8>(p + n - 9) - 48;
    bad |= <u32>(ninth > 9);
    lo = ninth * 100000000 + valueOfEight(last8);
  }
  return bad ? 0 : (<u64>((n << 20) | lead) << 32) | <u64>lo;
}

/** Whether the eight ASCII bytes of `w` (none >= 0x80) are all digits: no byte below '0', none above '9'. */
@inline
function eightDigits(w: u64): bool {
  return (((w + 0x4646464646464646) | (w - 0x3030303030303030)) & 0x8080808080808080) == 0;
}

/**
 * The value of eight ASCII digits, the first in the low byte: pairs, then
 * quads, then the whole, each step one multiply over all lanes.
 * see: http://0x80.pl/notesen/2014-10-12-parsing-decimal-numbers-part-1-swar.html
 */
@inline
function valueOfEight(w: u64): u32 {
  let v = w & 0x0f0f0f0f0f0f0f0f;
  v = (v * 2561) >> 8; // byte k = 10 d(k) + d(k + 1)
  v = ((v & 0x00ff00ff00ff00ff) * 6553601) >> 16; // 16-bit lane j = 100 pair(j) + pair(j + 1)
  v = ((v & 0x0000ffff0000ffff) * 42949672960001) >> 32; // 10000 quad(0) + quad(1)
  return <u32>v;
}

/** Days since 1970-01-01 of a civil date (year >= 1970), or -1 when there is no such date. */
@inline
function civilDays(y: i32, m: i32, d: i32): i32 {
  if (m < 1 || m > 12 || d < 1) return -1;
  const leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const monthDays = m == 2 ? (leap ? 29 : 28) : 30 + ((m + (m >> 3)) & 1);
  if (d > monthDays) return -1;
  const yy = y - 1;
  const leaps = yy / 4 - yy / 100 + yy / 400 - 477; // 477 leap days before 1970
  const beforeMonth = (367 * m - 362) / 12 - (m > 2 ? (leap ? 1 : 2) : 0);
  return (y - 1970) * 365 + leaps + beforeMonth + d - 1;
}

/**
 * Local seconds of `YYYY-MM-DD`, `YYYY-MM-DD[ T]HH:MM` or `YYYY-MM-DD[ T]HH:MM:SS`
 * (seconds 60 read as 59, as the host does), or -1 for anything else.
 */
@inline
function localSeconds(st: usize, p: usize, n: u32): i64 {
  if (n != 19 && n != 10 && n != 16) return -1;
  if (load<u8>(p + 4) != 0x2d || load<u8>(p + 7) != 0x2d) return -1;
  let secs: i64;
  const date = load<u64>(p);
  const tail = load<u16>(p + 8);
  if (date == load<u64>(st + S_LAST_DATE) && tail == load<u16>(st + S_LAST_DATE + 8)) {
    secs = <i64>load<u32>(st + S_LAST_DAY_SECS);
  } else {
    const y = digits(p, 4);
    const mo = digits(p + 5, 2);
    const d = digits(p + 8, 2);
    if (y < 1970 || y >= 2106 || mo < 0 || d < 0) return -1;
    const day = civilDays(y, mo, d);
    if (day < 0) return -1;
    secs = <i64>day * 86400;
    store<u64>(st + S_LAST_DATE, date);
    store<u16>(st + S_LAST_DATE + 8, tail);
    store<u32>(st + S_LAST_DAY_SECS, <u32>secs);
  }
  if (n == 10) return secs;
  const sep = load<u8>(p + 10);
  if (sep != 0x20 && sep != 0x54) return -1;
  // `HH:MM:SS` (or `HH:MM` and two bytes that are not read) as one word: colons where they belong, digits elsewhere.
  const clock = load<u64>(p + 11);
  const digitBytes: u64 = n == 19 ? 0xffff00ffff00ffff : 0x000000ffff00ffff;
  const colonBytes: u64 = n == 19 ? 0x0000ff0000ff0000 : 0x0000000000ff0000;
  if ((clock & colonBytes) != (0x00003a00003a0000 & colonBytes)) return -1;
  if ((((clock + 0x4646464646464646) | (clock - 0x3030303030303030)) & 0x8080808080808080 & digitBytes) != 0) return -1;
  const d = clock - 0x3030303030303030; // digit values in their bytes (the colons' bytes are not read)
  const hh = <i32>((d & 0xff) * 10 + ((d >> 8) & 0xff));
  const mm = <i32>(((d >> 24) & 0xff) * 10 + ((d >> 32) & 0xff));
  if (hh > 23 || mm > 59) return -1;
  secs += <i64>(hh * 3600 + mm * 60);
  if (n == 16) return secs;
  const ss = <i32>(((d >> 48) & 0xff) * 10 + ((d >> 56) & 0xff));
  if (ss > 60) return -1;
  return secs + <i64>(ss < 59 ? ss : 59);
}

/**
 * `Number(text)` of a plain decimal `[-]digits[.digits]` (at most 15 digits,
 * a point followed by a digit), exactly as the host's decimalBytes computes it;
 * NaN for anything else.
 */
@inline
function decimal(p: usize, n: u32): f64 {
  let i: u32 = 0;
  const neg = load<u8>(p) == 0x2d;
  if (neg) i++;
  let m: f64 = 0;
  let count: u32 = 0;
  let scale: i32 = -1;
  for (; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    if (c - 48 <= 9) {
      m = m * 10 + <f64>(c - 48);
      count++;
      if (scale >= 0) scale++;
    } else if (c == 0x2e && scale < 0) {
      scale = 0;
    } else {
      return NaN;
    }
  }
  if (count == 0 || count > 15 || scale == 0) return NaN;
  let v = m;
  if (scale > 0) {
    let pow: f64 = 1;
    for (let k = 0; k < scale; k++) pow *= 10; // exact: 10^15 < 2^53
    v = m / pow;
  }
  return neg ? -v : v;
}

// ---- the memo ---------------------------------------------------------------

/** The low `n` bytes of a word (all eight from 8 up). */
@inline
function lowBytes(w: u64, n: u32): u64 {
  return n >= 8 ? w : w & ((<u64>1 << (<u64>n << 3)) - 1);
}

@inline
function memoHash(w0: u64, w1: u64, w2: u64, meta: u32): u32 {
  let h = w0 ^ (w1 * 0x9e3779b97f4a7c15) ^ (w2 * 0xc2b2ae3d27d4eb4f) ^ (<u64>meta * 0x165667b19e3779f9);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  return <u32>h;
}

/** The slot of field bytes [p, p + n) (1 <= n <= MEMO_MAX) under `tag`: its own, or the empty one where it belongs. */
@inline
function memoSlot(st: usize, tag: u32, p: usize, n: u32): usize {
  const w0 = lowBytes(load<u64>(p), n);
  const w1 = n > 8 ? lowBytes(load<u64>(p + 8), n - 8) : 0;
  const w2 = n > 16 ? lowBytes(load<u64>(p + 16), n - 16) : 0;
  const meta = (tag << 8) | n;
  const table = <usize>load<u32>(st + S_MEMO_TABLE);
  const mask = load<u32>(st + S_MEMO_CAPACITY) - 1;
  let i = memoHash(w0, w1, w2, meta) & mask;
  while (true) {
    const slot = table + <usize>i * MEMO_SLOT;
    const m = load<u32>(slot + 24);
    if (m == 0 || (m == meta && load<u64>(slot) == w0 && load<u64>(slot + 8) == w1 && load<u64>(slot + 16) == w2)) return slot;
    i = (i + 1) & mask;
  }
  return 0; // unreachable
}

const MEMO_ABSENT: i64 = 0x100000000;

/**
 * The memo's value of the field, or MEMO_ABSENT. Fields of at most 8 bytes
 * are first looked up in a small direct-mapped cache per tag: an event type
 * or direction has a handful of spellings, which then cost one compare.
 */
@inline
function memoGet(st: usize, tag: u32, p: usize, n: u32): i64 {
  const w0 = lowBytes(load<u64>(p), n);
  const line = st + S_MEMO_CACHE + (<usize>tag << 7) + (<usize>(((w0 ^ <u64>n) * 0x9e3779b97f4a7c15) >> 61) << 4);
  if (n <= 8 && w0 == load<u64>(line) && n == load<u32>(line + 8)) return <i64>load<i32>(line + 12);
  const slot = memoSlot(st, tag, p, n);
  if (load<u32>(slot + 24) == 0) return MEMO_ABSENT;
  const value = load<i32>(slot + 28);
  if (n <= 8) {
    store<u64>(line, w0);
    store<u32>(line + 8, n);
    store<i32>(line + 12, value);
  }
  return <i64>value;
}

/** Bytes of a memo of `capacity` slots. */
export function csvMemoBytes(capacity: u32): usize {
  return <usize>capacity * MEMO_SLOT;
}

/**
 * Records `value` for field bytes [buf + s, buf + e) under `tag` (the bytes
 * need CSV_SLACK readable bytes after them). Status; CAPACITY: the memo is
 * at 3/4 of its slots, rehash it into a larger one (csvMemoRehash) first.
 */
export function csvMemoInsert(st: usize, tag: u32, buf: usize, s: u32, e: u32, value: i32): i32 {
  const n = e - s;
  if (n < 1 || n > MEMO_MAX || tag < 1 || tag > 255) return STATUS_BAD_ARGUMENT;
  const used = load<u32>(st + S_MEMO_USED);
  const capacity = load<u32>(st + S_MEMO_CAPACITY);
  if (used + 1 > capacity - (capacity >> 2)) return STATUS_CAPACITY;
  const p = buf + s;
  const slot = memoSlot(st, tag, p, n);
  if (load<u32>(slot + 24) == 0) {
    store<u64>(slot, lowBytes(load<u64>(p), n));
    store<u64>(slot + 8, n > 8 ? lowBytes(load<u64>(p + 8), n - 8) : 0);
    store<u64>(slot + 16, n > 16 ? lowBytes(load<u64>(p + 16), n - 16) : 0);
    store<u32>(slot + 24, (tag << 8) | n);
    store<u32>(st + S_MEMO_USED, used + 1);
  }
  store<i32>(slot + 28, value);
  return STATUS_OK;
}

/** Moves the memo into `table` of `capacity` slots (a power of two; zeroed here). Status. */
export function csvMemoRehash(st: usize, table: usize, capacity: u32): i32 {
  if (capacity < 8 || (capacity & (capacity - 1)) != 0) return STATUS_BAD_ARGUMENT;
  const used = load<u32>(st + S_MEMO_USED);
  if (used + 1 > capacity - (capacity >> 2)) return STATUS_CAPACITY;
  memory.fill(table, 0, <usize>capacity * MEMO_SLOT);
  const old = <usize>load<u32>(st + S_MEMO_TABLE);
  const oldCapacity = load<u32>(st + S_MEMO_CAPACITY);
  const mask = capacity - 1;
  for (let j: u32 = 0; j < oldCapacity; j++) {
    const from = old + <usize>j * MEMO_SLOT;
    const meta = load<u32>(from + 24);
    if (meta == 0) continue;
    let i = memoHash(load<u64>(from), load<u64>(from + 8), load<u64>(from + 16), meta) & mask;
    while (load<u32>(table + <usize>i * MEMO_SLOT + 24) != 0) i = (i + 1) & mask;
    memory.copy(table + <usize>i * MEMO_SLOT, from, MEMO_SLOT);
  }
  store<u32>(st + S_MEMO_TABLE, <u32>table);
  store<u32>(st + S_MEMO_CAPACITY, capacity);
  return STATUS_OK;
}

// ---- subscribers ------------------------------------------------------------

@inline
function keyHash(key: u64): u32 {
  let h = key ^ (key >> 33);
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  return <u32>h;
}

/** Bytes of a subscriber table of `capacity` slots. */
export function csvSubsBytes(capacity: u32): usize {
  return <usize>capacity * SUB_SLOT;
}

/** Room for `ids` more local ids: in the key list, and (for digit keys) in the table under its 3/4 load cap. */
@inline
function hasRoom(st: usize, ids: u32): bool {
  const capacity = load<u32>(st + S_SUBS_CAPACITY);
  return load<u32>(st + S_SUBS_USED) + ids <= capacity - (capacity >> 2) && load<u32>(st + S_SUBS_COUNT) + ids <= load<u32>(st + S_SUBS_KEYS_CAPACITY);
}

/** A new local id with key [hi, lo]. The caller checked hasRoom. */
@inline
function newId(st: usize, hi: u32, lo: u32): u32 {
  const id = load<u32>(st + S_SUBS_COUNT);
  store<u32>(st + S_SUBS_COUNT, id + 1);
  const at = <usize>load<u32>(st + S_SUBS_KEYS) + (<usize>id << 3);
  store<u32>(at, hi);
  store<u32>(at + 4, lo);
  return id;
}

/** The slot of digit key `key` (non-zero) in the subscriber table: its own, or the empty one where it belongs. */
@inline
function subscriberSlot(table: usize, mask: u32, key: u64): usize {
  let i = keyHash(key) & mask;
  while (true) {
    const slot = table + <usize>i * SUB_SLOT;
    const found = load<u64>(slot);
    if (found == key || found == 0) return slot;
    i = (i + 1) & mask;
  }
  return 0; // unreachable
}

/**
 * The subscriber with digit key `key` (non-zero) as a row carries it: a slot
 * holds LOCAL_TAG | the local id until the host tells the store index
 * (csvLearn), then the store index. A new key gets the next local id. The
 * caller checked hasRoom.
 */
@inline
function subscriberOf(st: usize, table: usize, mask: u32, key: u64): u32 {
  const slot = subscriberSlot(table, mask, key);
  if (load<u64>(slot) == key) return load<u32>(slot + 8);
  const value = newId(st, <u32>(key >> 32), <u32>key) | LOCAL_TAG;
  store<u64>(slot, key);
  store<u32>(slot + 8, value);
  store<u32>(st + S_SUBS_USED, load<u32>(st + S_SUBS_USED) + 1);
  return value;
}

/** subscriberOf for the host's own rows (digit key [hi, lo], hi != 0); NULL_U32: no room, grow first. */
export function csvSubscriber(st: usize, hi: u32, lo: u32): u32 {
  if (hi == 0 || !hasRoom(st, 1)) return NULL_U32;
  const table = <usize>load<u32>(st + S_SUBS_TABLE);
  return subscriberOf(st, table, load<u32>(st + S_SUBS_CAPACITY) - 1, (<u64>hi << 32) | <u64>lo);
}

/**
 * Local ids [from, to) have their store indexes in the store map (written by
 * the host): the table's slots of the all-digit ones take them, and rows carry
 * them from now on. `from` must be where the map ended. Status.
 */
export function csvLearn(st: usize, from: u32, to: u32): i32 {
  if (from != load<u32>(st + S_STORE_MAPPED) || to < from || to > load<u32>(st + S_SUBS_COUNT)) return STATUS_BAD_ARGUMENT;
  const table = <usize>load<u32>(st + S_SUBS_TABLE);
  const mask = load<u32>(st + S_SUBS_CAPACITY) - 1;
  const keys = <usize>load<u32>(st + S_SUBS_KEYS);
  const map = <usize>load<u32>(st + S_STORE_MAP);
  for (let id = from; id < to; id++) {
    const key = load<u64>(keys + (<usize>id << 3));
    if (<u32>key == 0 && <u32>(key >> 32) == 0) continue; // not all digits: the host keeps it
    // The key list holds [hi, lo] as two u32 words: lo is the high word of this load.
    const slot = subscriberSlot(table, mask, (key << 32) | (key >> 32));
    store<u32>(slot + 8, load<u32>(map + (<usize>id << 2)));
  }
  store<u32>(st + S_STORE_MAPPED, to);
  return STATUS_OK;
}

/**
 * The store indexes of `n` all-digit subscribers another parser met first
 * (digit keys as i32 pairs [hi, lo] at `keys`, u32 indexes at `indexes`):
 * their slots take them, new slots if this parser has not met them, so that
 * its rows carry them from the start and it never hands them over as new.
 * Status; CAPACITY: no room for n more slots, grow first.
 */
export function csvKnow(st: usize, keys: usize, indexes: usize, n: u32): i32 {
  const capacity = load<u32>(st + S_SUBS_CAPACITY);
  const used = load<u32>(st + S_SUBS_USED);
  if (used + n > capacity - (capacity >> 2)) return STATUS_CAPACITY;
  const table = <usize>load<u32>(st + S_SUBS_TABLE);
  const mask = capacity - 1;
  let added: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const key = (<u64>load<u32>(keys + 8 * <usize>i) << 32) | <u64>load<u32>(keys + 8 * <usize>i + 4);
    if (key >> 32 == 0) return STATUS_BAD_ARGUMENT;
    const slot = subscriberSlot(table, mask, key);
    if (load<u64>(slot) != key) {
      store<u64>(slot, key);
      added++;
    }
    store<u32>(slot + 8, load<u32>(indexes + 4 * <usize>i));
  }
  store<u32>(st + S_SUBS_USED, used + added);
  return STATUS_OK;
}

/** A new local id (untagged) for a subscriber that is not all digits (the host keeps those by their bytes); -1: no room. */
export function csvOtherSubscriber(st: usize): i32 {
  if (!hasRoom(st, 1)) return -1;
  return <i32>newId(st, 0, 0);
}

/** Moves the subscriber table into `table` of `capacity` slots (a power of two; zeroed here). Status. */
export function csvSubsRehash(st: usize, table: usize, capacity: u32): i32 {
  if (capacity < 8 || (capacity & (capacity - 1)) != 0) return STATUS_BAD_ARGUMENT;
  if (load<u32>(st + S_SUBS_USED) > capacity - (capacity >> 2)) return STATUS_CAPACITY;
  memory.fill(table, 0, <usize>capacity * SUB_SLOT);
  const old = <usize>load<u32>(st + S_SUBS_TABLE);
  const oldCapacity = load<u32>(st + S_SUBS_CAPACITY);
  const mask = capacity - 1;
  for (let j: u32 = 0; j < oldCapacity; j++) {
    const from = old + <usize>j * SUB_SLOT;
    const key = load<u64>(from);
    if (key == 0) continue;
    let i = keyHash(key) & mask;
    while (load<u64>(table + <usize>i * SUB_SLOT) != 0) i = (i + 1) & mask;
    store<u64>(table + <usize>i * SUB_SLOT, key);
    store<u32>(table + <usize>i * SUB_SLOT + 8, load<u32>(from + 8));
  }
  store<u32>(st + S_SUBS_TABLE, <u32>table);
  store<u32>(st + S_SUBS_CAPACITY, capacity);
  return STATUS_OK;
}

/**
 * Gives the pending rows their subscribers (see subscriberOf), in row order
 * (sub, then peer):
 * first reads each key's home slot, so that the cache misses overlap, then
 * looks them up. A call's two parties often sit on adjacent rows, so the last
 * two keys are remembered.
 */
function resolvePending(st: usize, count: u32): void {
  const table = <usize>load<u32>(st + S_SUBS_TABLE);
  const mask = load<u32>(st + S_SUBS_CAPACITY) - 1;
  const pending = st + S_PENDING;
  let touched: u32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const row = pending + <usize>k * PENDING_BYTES;
    touched ^= load<u32>(table + <usize>(keyHash(load<u64>(row)) & mask) * SUB_SLOT);
    const peer = load<u64>(row + 8);
    if (peer != 0) touched ^= load<u32>(table + <usize>(keyHash(peer) & mask) * SUB_SLOT);
  }
  store<u32>(st + S_TOUCHED, touched);
  const subOut = <usize>load<u32>(st + S_OUT_SUB);
  const peerOut = <usize>load<u32>(st + S_OUT_PEER);
  let key0: u64 = 0;
  let id0: u32 = 0;
  let key1: u64 = 0;
  let id1: u32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const row = pending + <usize>k * PENDING_BYTES;
    const at = <usize>load<u32>(row + 16) << 2;
    for (let party: usize = 0; party < 2; party++) {
      const key = load<u64>(row + (party << 3));
      const out = party == 0 ? subOut : peerOut;
      if (key == 0) {
        store<u32>(out + at, NULL_U32);
        continue;
      }
      let id: u32;
      if (key == key0) {
        id = id0;
      } else if (key == key1) {
        id = id1;
      } else {
        id = subscriberOf(st, table, mask, key);
        key1 = key0;
        id1 = id0;
        key0 = key;
        id0 = id;
      }
      store<u32>(out + at, id);
    }
  }
}

// ---- rows -------------------------------------------------------------------

const SPLIT_UNUSUAL: u64 = 0xffffffffffffffff;

/**
 * Splits the row at `pos` into field bounds, thirty-two bytes at a time:
 * returns the offset of its line feed (`end` when only the sentinel ends it)
 * << 32 | its field count, or SPLIT_UNUSUAL when a quote or a byte >= 0x80
 * comes before the line feed, or the row has more than MAX_FIELDS fields.
 * `lfs`, `commas` and `quotes` are the three bytes splatted (made once per call).
 */
@inline
function splitRow(st: usize, buf: usize, pos: u32, lfs: v128, commas: v128, quotes: v128): u64 {
  const starts = st + S_FIELDS;
  const ends = starts + 4 * MAX_FIELDS;
  let p = pos;
  let fieldStart = pos;
  let f: u32 = 0;
  while (true) {
    const v0 = v128.load(buf + p);
    const v1 = v128.load(buf + p, 16);
    const lf = <u32>i8x16.bitmask(i8x16.eq(v0, lfs)) | (<u32>i8x16.bitmask(i8x16.eq(v1, lfs)) << 16);
    let delim = <u32>i8x16.bitmask(i8x16.eq(v0, commas)) | (<u32>i8x16.bitmask(i8x16.eq(v1, commas)) << 16);
    const unusual = <u32>i8x16.bitmask(v128.or(i8x16.eq(v0, quotes), v0)) | (<u32>i8x16.bitmask(v128.or(i8x16.eq(v1, quotes), v1)) << 16);
    const before = lf != 0 ? (lf & (~lf + 1)) - 1 : 0xffffffff; // the bytes before the first line feed
    delim &= before;
    if ((unusual & before) != 0 || f + popcnt(delim) >= MAX_FIELDS) return SPLIT_UNUSUAL;
    while (delim != 0) {
      const at = p + ctz(delim);
      store<u32>(starts + (<usize>f << 2), fieldStart);
      store<u32>(ends + (<usize>f << 2), at);
      f++;
      fieldStart = at + 1;
      delim &= delim - 1;
    }
    if (lf != 0) {
      const at = p + ctz(lf);
      store<u32>(starts + (<usize>f << 2), fieldStart);
      store<u32>(ends + (<usize>f << 2), at);
      return (<u64>at << 32) | <u64>(f + 1);
    }
    p += 32;
  }
  return SPLIT_UNUSUAL; // unreachable
}

/** Field `c` (a canonical column) of the row just split: trimmed [start, end) offsets from buf, packed; 0 when absent. */
@inline
function field(st: usize, buf: usize, c: i32): u64 {
  const f = load<i32>(st + S_COL + (<usize>c << 2));
  if (f < 0) return 0;
  let s = load<u32>(st + S_FIELDS + (<usize>f << 2));
  let e = load<u32>(st + S_FIELDS + 4 * MAX_FIELDS + (<usize>f << 2));
  // One compare for the usual field, which starts and ends with a printable byte (spaces are <= 0x20).
  if (s < e && load<u8>(buf + s) <= 0x20) while (s < e && isSpace(load<u8>(buf + s))) s++;
  if (e > s && load<u8>(buf + e - 1) <= 0x20) while (e > s && isSpace(load<u8>(buf + e - 1))) e--;
  return (<u64>e << 32) | <u64>s;
}

/** The memo's value of a split field (1 to MEMO_MAX bytes) under `tag`; MEMO_ABSENT after noting the field for the host (STOP_MISS). */
@inline
function memoField(st: usize, buf: usize, tag: u32, f: u64): i64 {
  const value = memoGet(st, tag, buf + startOf(f), lengthOf(f));
  if (value == MEMO_ABSENT) {
    store<u32>(st + S_MISS_TAG, tag);
    store<u64>(st + S_MISS_START, f); // start, then end: CSV_MISS_START, CSV_MISS_END
  }
  return value;
}

@inline
function startOf(f: u64): u32 {
  return <u32>f;
}

@inline
function lengthOf(f: u64): u32 {
  return <u32>(f >> 32) - <u32>f;
}

/**
 * Reads rows of buf[pos, end) into the output columns from row n (state),
 * stopping before a row at or after `stopAt`, after `maxRows` rows, at an
 * incomplete row, or at a row it cannot take (see STOP_*, left in the state
 * with the lines and rows consumed). Returns the offset where reading resumes.
 */
export function csvRows(st: usize, buf: usize, pos: u32, end: u32, stopAt: u32, maxRows: u32): u32 {
  store<u8>(buf + end, LF); // the sentinel: every field scan ends by `end`
  const ncols = load<u32>(st + S_NCOLS);
  let columnsOk = ncols >= 1 && ncols <= MAX_FIELDS;
  for (let c: usize = 0; c < 8; c++) if (load<i32>(st + S_COL + 4 * c) >= <i32>ncols) columnsOk = false;
  if (!columnsOk) {
    store<i32>(st + S_STOP, STOP_SLOW);
    store<u32>(st + S_LINES, 0);
    store<u32>(st + S_ADDED, 0);
    return pos;
  }
  const n0 = load<u32>(st + S_N);
  const tOut = <usize>load<u32>(st + S_OUT_T);
  const kindOut = <usize>load<u32>(st + S_OUT_KIND);
  const cellOut = <usize>load<u32>(st + S_OUT_CELL);
  const durationOut = <usize>load<u32>(st + S_OUT_DURATION);
  const rechargeOut = <usize>load<u32>(st + S_OUT_RECHARGE);
  const tFrom = <i64>load<u32>(st + S_T_FROM);
  const tTo = <i64>load<u32>(st + S_T_TO);
  const lfs = i8x16.splat(LF);
  const commas = i8x16.splat(COMMA);
  const quotes = i8x16.splat(QUOTE);
  let lines: u32 = 0;
  let added: u32 = 0;
  let pending: u32 = 0;
  let stop = STOP_END;
  while (true) {
    if (pos >= stopAt) {
      stop = STOP_AT;
      break;
    }
    if (added >= maxRows) {
      stop = STOP_FULL;
      break;
    }
    if (pending == 0 && !hasRoom(st, 2 * BLOCK)) {
      stop = STOP_CAPACITY;
      break;
    }
    if (pos >= end) break;
    if (load<u8>(buf + pos) == LF) {
      pos++; // a blank line
      lines++;
      continue;
    }
    const split = splitRow(st, buf, pos, lfs, commas, quotes);
    stop = STOP_SLOW;
    if (split == SPLIT_UNUSUAL) break;
    const p = <u32>(split >> 32);
    if (p >= end) {
      stop = STOP_END; // no line feed before `end`: incomplete
      break;
    }
    if (<u32>split != ncols) break;

    const msisdn = field(st, buf, C_MSISDN);
    const subKey = digitKey(buf + startOf(msisdn), lengthOf(msisdn));
    if (subKey == 0) break;
    const datetime = field(st, buf, C_DATETIME);
    const t = localSeconds(st, buf + startOf(datetime), lengthOf(datetime));
    if (t < tFrom || t >= tTo) break; // unreadable, or outside the plausible dates: the host reports it

    const typeField = field(st, buf, C_TYPE);
    let n = lengthOf(typeField);
    if (n - 1 >= MEMO_MAX) break;
    const type = memoField(st, buf, TAG_TYPE, typeField);
    if (type == MEMO_ABSENT) {
      stop = STOP_MISS;
      break;
    }
    if (type < 0) break;

    const outgoing = field(st, buf, C_OUTGOING);
    n = lengthOf(outgoing);
    let dir: i64 = DIR_UNKNOWN;
    if (n > 0) {
      if (n > MEMO_MAX) break;
      dir = memoField(st, buf, TAG_DIRECTION, outgoing);
      if (dir == MEMO_ABSENT) {
        stop = STOP_MISS;
        break;
      }
      if (dir < 0) break;
    }
    if (dir == DIR_UNKNOWN && (type == TYPE_CALLS || type == TYPE_SMS)) break;

    const durationField = field(st, buf, C_DURATION);
    n = lengthOf(durationField);
    let duration: u32 = NULL_U32;
    if (n > 0) {
      if (n > 9) break;
      const d = digits(buf + startOf(durationField), n);
      if (d < 0) break;
      duration = <u32>d;
    }

    const rechargeField = field(st, buf, C_RECHARGE);
    n = lengthOf(rechargeField);
    let recharge: f64 = NaN;
    if (n > 0) {
      recharge = decimal(buf + startOf(rechargeField), n);
      if (isNaN(recharge)) break;
    } else if (type == TYPE_TOPUPS) {
      break;
    }

    const peerField = field(st, buf, C_PEER);
    let peerKey: u64 = 0;
    if (lengthOf(peerField) > 0) {
      peerKey = digitKey(buf + startOf(peerField), lengthOf(peerField));
      if (peerKey == 0) break;
    }

    // The row is good: its cell last, as the host adds a cell only for a good row.
    const cellField = field(st, buf, C_CELL);
    n = lengthOf(cellField);
    let cell: u32 = NULL_U32;
    if (n > 0) {
      if (n > MEMO_MAX) break;
      const id = memoField(st, buf, TAG_CELL, cellField);
      if (id == MEMO_ABSENT) {
        stop = STOP_MISS;
        break;
      }
      cell = <u32>id;
    }
    stop = STOP_END;

    const i = n0 + added;
    store<u32>(tOut + (<usize>i << 2), <u32>t);
    store<u8>(kindOut + <usize>i, <u8>(<u32>type | (<u32>dir << DIR_SHIFT)));
    store<u32>(cellOut + (<usize>i << 2), cell);
    store<u32>(durationOut + (<usize>i << 2), duration);
    store<f64>(rechargeOut + (<usize>i << 3), recharge);
    const row = st + S_PENDING + <usize>pending * PENDING_BYTES;
    store<u64>(row, subKey);
    store<u64>(row + 8, peerKey);
    store<u32>(row + 16, i);
    added++;
    lines++;
    pos = p + 1;
    if (++pending == BLOCK) {
      resolvePending(st, pending);
      pending = 0;
    }
  }
  resolvePending(st, pending);
  store<u32>(st + S_N, n0 + added);
  store<i32>(st + S_STOP, stop);
  store<u32>(st + S_LINES, lines);
  store<u32>(st + S_ADDED, added);
  return pos;
}
