// Constants shared by the AssemblyScript kernels and the TypeScript host.
// This file must stay valid in both languages: plain numeric consts only.

/** Event type codes, the low two bits of the `kind` column. */
export const TYPE_CALLS = 0;
export const TYPE_SMS = 1;
export const TYPE_MDS = 2;
export const TYPE_TOPUPS = 3;
export const TYPE_MASK = 3;

/** Direction codes, bits 2-3 of the `kind` column (from this subscriber's side). */
export const DIR_UNKNOWN = 0;
export const DIR_OUT = 1;
export const DIR_IN = 2;
export const DIR_SHIFT = 2;

/** Null in a u32 column (no cell, no counterpart, no duration). */
export const NULL_U32 = 0xffffffff;

/** Seconds in a day; times are local wall-clock seconds since 1970-01-01. */
export const SECONDS_PER_DAY = 86400;

/** Kernel status codes; the host maps each to a typed KernelError in one place. */
export const STATUS_OK = 0;
export const STATUS_CAPACITY = 1;
export const STATUS_BAD_ARGUMENT = 2;
