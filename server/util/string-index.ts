/**
 * Id -> dense index maps for the ingest hot path: StringIndex (strings),
 * ByteStringIndex (bytes in a file buffer) and IntPairIndex (numeric ids).
 *
 * A string -> dense index map for the ingest hot path (raw subscriber and cell
 * ids). Open addressing over an Int32Array with the strings kept in insertion
 * order: measured about twice as fast as a Map<string, number> once it holds
 * hundreds of thousands of ids, because a probe touches one typed array and
 * one string instead of a hash table of heap objects.
 */
/**
 * The open addressing both string indexes probe: per slot the index of its key
 * (-1 empty) and that key's hash, linear probing, kept at most half full.
 */
abstract class HashedSlots {
  protected slots: Int32Array;
  protected hashes: Int32Array;
  protected mask: number;

  constructor(capacity: number) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.hashes = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Puts key `index` (hash h) in the empty slot i its probe ended on; grows once `count` keys fill half the slots. */
  protected claim(i: number, index: number, h: number, count: number): void {
    this.slots[i] = index;
    this.hashes[i] = h;
    if (count * 2 > this.slots.length) this.grow();
  }

  private grow(): void {
    const cap = this.slots.length * 2;
    const slots = new Int32Array(cap).fill(-1);
    const hashes = new Int32Array(cap);
    const mask = cap - 1;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      if (slot === -1) continue;
      let j = this.hashes[i]! & mask;
      while (slots[j] !== -1) j = (j + 1) & mask;
      slots[j] = slot;
      hashes[j] = this.hashes[i]!;
    }
    this.slots = slots;
    this.hashes = hashes;
    this.mask = mask;
  }
}

export class StringIndex extends HashedSlots {
  readonly keys: string[] = [];

  constructor(capacity = 1024) {
    super(capacity);
  }


  get size(): number {
    return this.keys.length;
  }

  /** The index of `key`, or -1. */
  get(key: string): number {
    const h = hash(key);
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const slot = this.slots[i]!;
      if (slot === -1) return -1;
      if (this.hashes[i] === h && this.keys[slot] === key) return slot;
    }
  }

  /** The index of `key`, adding it (as the next index) when absent. */
  add(key: string): number {
    const h = hash(key);
    let i = h & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const slot = this.slots[i]!;
      if (slot === -1) break;
      if (this.hashes[i] === h && this.keys[slot] === key) return slot;
    }
    const index = this.keys.length;
    this.keys.push(key);
    this.claim(i, index, h, this.keys.length);
    return index;
  }
}

/** FNV-1a over UTF-16 code units, then a murmur finaliser so short digit strings spread. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

/**
 * The same map keyed by byte strings: ids straight from a file's bytes, with
 * no string made per row. Keys are copied into one growing arena; index i is
 * the i-th distinct key added.
 */
export class ByteStringIndex extends HashedSlots {
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  /** Key i is arena[offsets[i], offsets[i + 1]). */
  private offsets = new Int32Array(1025);
  private count = 0;


  get size(): number {
    return this.count;
  }

  /** The index of bytes [start, end) of `buf`, or -1. */
  get(buf: Uint8Array, start: number, end: number): number {
    const h = hashBytes(buf, start, end);
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const slot = this.slots[i]!;
      if (slot === -1) return -1;
      if (this.hashes[i] === h && this.equals(slot, buf, start, end)) return slot;
    }
  }

  /** The index of bytes [start, end) of `buf`, adding them (as the next index) when absent. */
  add(buf: Uint8Array, start: number, end: number): number {
    const h = hashBytes(buf, start, end);
    let i = h & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const slot = this.slots[i]!;
      if (slot === -1) break;
      if (this.hashes[i] === h && this.equals(slot, buf, start, end)) return slot;
    }
    const n = end - start;
    if (this.used + n > this.arena.length) {
      const arena = new Uint8Array(Math.max(this.arena.length * 2, this.used + n));
      arena.set(this.arena.subarray(0, this.used));
      this.arena = arena;
    }
    if (this.count + 2 > this.offsets.length) {
      const offsets = new Int32Array(this.offsets.length * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
    }
    this.arena.set(buf.subarray(start, end), this.used);
    this.used += n;
    const index = this.count++;
    this.offsets[this.count] = this.used;
    this.claim(i, index, h, this.count);
    return index;
  }

  /** The bytes of key `index` (a view into the arena, valid until the next add). */
  key(index: number): Uint8Array {
    return this.arena.subarray(this.offsets[index]!, this.offsets[index + 1]!);
  }

  private equals(slot: number, buf: Uint8Array, start: number, end: number): boolean {
    const s = this.offsets[slot]!;
    if (this.offsets[slot + 1]! - s !== end - start) return false;
    const arena = this.arena;
    for (let i = start; i < end; i++) if (arena[s + i - start] !== buf[i]) return false;
    return true;
  }
}

/** FNV-1a over bytes, then the same finaliser as hash(). */
function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

/**
 * Keys that are pairs of int32s (a numeric id split in two) -> values: one
 * probe reads the key and its value from 12 adjacent bytes, with no bytes to
 * compare and no floating point. For MSISDNs, which are numbers in disguise.
 */
export class IntPairIndex {
  /** Triples [hi, lo, value + 1]; value + 1 = 0 marks an empty slot. */
  private table: Int32Array;
  private mask: number;
  private count = 0;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.table = new Int32Array(cap * 3);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The value of the key (hi, lo), or -1 when absent. */
  get(hi: number, lo: number): number {
    const table = this.table;
    for (let i = hashPair(hi, lo) & this.mask; ; i = (i + 1) & this.mask) {
      const at = 3 * i;
      const v = table[at + 2]!;
      if (v === 0) return -1;
      if (table[at + 1] === lo && table[at] === hi) return v - 1;
    }
  }

  /**
   * Reads the key's first slot and returns what is there, for nothing but
   * the read: touching the slots of a run of keys before looking them up lets
   * the CPU fetch their cache lines side by side instead of one miss after
   * another (a table of a million keys is far larger than the caches).
   */
  touch(hi: number, lo: number): number {
    return this.table[3 * (hashPair(hi, lo) & this.mask) + 2]!;
  }

  /** The value of the key (hi, lo), or `ifNew` (then stored as its value) when absent. */
  getOrAdd(hi: number, lo: number, ifNew: number): number {
    const table = this.table;
    for (let i = hashPair(hi, lo) & this.mask; ; i = (i + 1) & this.mask) {
      const at = 3 * i;
      const v = table[at + 2]!;
      if (v === 0) {
        table[at] = hi;
        table[at + 1] = lo;
        table[at + 2] = ifNew + 1;
        if (++this.count * 2 > this.mask + 1) this.grow();
        return ifNew;
      }
      if (table[at + 1] === lo && table[at] === hi) return v - 1;
    }
  }

  private grow(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    const table = new Int32Array(cap * 3);
    const mask = cap - 1;
    for (let j = 0; j < old.length; j += 3) {
      if (old[j + 2] === 0) continue;
      let i = hashPair(old[j]!, old[j + 1]!) & mask;
      while (table[3 * i + 2] !== 0) i = (i + 1) & mask;
      table[3 * i] = old[j]!;
      table[3 * i + 1] = old[j + 1]!;
      table[3 * i + 2] = old[j + 2]!;
    }
    this.table = table;
    this.mask = mask;
  }
}

/** E.164 numbers have at most 15 digits; up to 14 pack exactly into a DigitsKey. */
export const MAX_KEY_DIGITS = 14;

/**
 * An id of 1 to MAX_KEY_DIGITS ASCII digits as an IntPairIndex key, written to
 * `out`: [length << 20 | leading digits (at most 5), last 9 digits]. The length
 * keeps leading zeros apart ('0123' is not '123'). False (out untouched) for
 * anything else.
 */
export function digitsKey(b: Uint8Array, start: number, end: number, out: Int32Array): boolean {
  const n = end - start;
  if (n < 1 || n > MAX_KEY_DIGITS) return false;
  let lead = 0;
  let lo = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) return false;
    if (end - i > 9) lead = lead * 10 + c;
    else lo = lo * 10 + c;
  }
  out[0] = (n << 20) | lead;
  out[1] = lo;
  return true;
}

/** The inverse of digitsKey: writes the ASCII digits of key [hi, lo] to `out` from `at` and returns their count. */
export function digitsOfKey(hi: number, lo: number, out: Uint8Array, at = 0): number {
  const n = hi >>> 20;
  let lead = hi & 0xfffff;
  let rest = lo;
  // Both parts are below 2^31: integer division by `| 0`, no floating point.
  for (let i = n - 1; i >= 0; i--) {
    if (n - i > 9) {
      const q = (lead / 10) | 0;
      out[at + i] = 48 + lead - 10 * q;
      lead = q;
    } else {
      const q = (rest / 10) | 0;
      out[at + i] = 48 + rest - 10 * q;
      rest = q;
    }
  }
  return n;
}

function hashPair(hi: number, lo: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  return h;
}
