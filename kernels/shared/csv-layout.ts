// The CSV row kernel's state block (kernels/csv.ts) as both sides see it: the
// host (server/ingest/csv-kernel.ts) writes a call's inputs and reads its
// results at these byte offsets. Valid in both languages: plain numeric consts only.

/** i32: fields per row. */
export const CSV_NCOLS = 0;
/** 8 x i32: field index of msisdn, datetime, cell_id, event_type, outgoing, duration, msisdn_counterpart, recharge_amount; -1 when absent. */
export const CSV_COL = 4;
/** u32: rows already in the output columns; a call appends from there. */
export const CSV_N = 36;
/** i32: why the last call stopped (CSV_STOP_*). */
export const CSV_STOP = 40;
/** u32 x 3: on CSV_STOP_MISS, the field's tag and its trimmed bytes [start, end) from the buffer. */
export const CSV_MISS_TAG = 44;
export const CSV_MISS_START = 48;
export const CSV_MISS_END = 52;
/** u32: line feeds the last call consumed, and good rows it added. */
export const CSV_LINES = 56;
export const CSV_ADDED = 60;
/** u32 offsets of the output columns: sub, peer, cell, t (u32); kind (u8); duration (u32); recharge (f64). */
export const CSV_OUT_SUB = 64;
export const CSV_OUT_PEER = 68;
export const CSV_OUT_CELL = 72;
export const CSV_OUT_T = 76;
export const CSV_OUT_KIND = 80;
export const CSV_OUT_DURATION = 84;
export const CSV_OUT_RECHARGE = 88;
/** The subscriber table: offset, capacity (slots, a power of two), live slots. */
export const CSV_SUBS_TABLE = 92;
export const CSV_SUBS_CAPACITY = 96;
export const CSV_SUBS_USED = 100;
/** Local ids handed out; the key list (an i32 pair per id) and its capacity in ids. */
export const CSV_SUBS_COUNT = 104;
export const CSV_SUBS_KEYS = 108;
export const CSV_SUBS_KEYS_CAPACITY = 112;
/** The memo: offset, capacity (slots, a power of two), live slots. */
export const CSV_MEMO_TABLE = 116;
export const CSV_MEMO_CAPACITY = 120;
export const CSV_MEMO_USED = 124;

/**
 * The store map: u32 store index per local subscriber id, for the ids below
 * CSV_STORE_MAPPED (its capacity is the key list's). The host writes it as
 * the main thread learns the store indexes.
 */
export const CSV_STORE_MAP = 128;
export const CSV_STORE_MAPPED = 132;

/**
 * u32 x 2: the plausible event times, local seconds [from, to): a row outside
 * them goes to the host, which rejects it with its line (ingest/dates.ts).
 * csvInit sets [0, 2^32 - 1).
 */
export const CSV_T_FROM = 136;
export const CSV_T_TO = 140;

/** A subscriber in a parsed row: its store index, or LOCAL_TAG | its local id while the store map lacks it. */
export const CSV_LOCAL_TAG = 0x80000000;

/** Bytes the host keeps writable after a buffer's end (a sentinel, and memo keys read 8 bytes at a time). */
export const CSV_SLACK = 32;

/** Why csvRows stopped. */
export const CSV_STOP_END = 0; // no complete row before `end`
export const CSV_STOP_AT = 1; // reached `stopAt`
export const CSV_STOP_FULL = 2; // added maxRows rows
export const CSV_STOP_MISS = 3; // a memo miss: the row is not consumed
export const CSV_STOP_SLOW = 4; // the row needs the general parser: not consumed
export const CSV_STOP_CAPACITY = 5; // the subscriber table or key list has no room for a block of rows

/** Memo tags: which field's bytes a memo key holds. */
export const CSV_TAG_TYPE = 1;
export const CSV_TAG_DIRECTION = 2;
export const CSV_TAG_CELL = 3;
