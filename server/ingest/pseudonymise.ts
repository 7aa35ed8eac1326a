/**
 * Pseudonymisation at ingest: every subscriber id (and counterpart) becomes a
 * keyed hash, HMAC-SHA-256 under a deployment secret, before anything is stored.
 * The raw id lives only in this process's memory, as a cache key, while a file
 * is read; it never reaches the store, a log or an error message.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IngestError } from '../errors.js';
import { HASH_BYTES } from '../store/schema.js';
import { digitsKey, digitsOfKey, IntPairIndex, MAX_KEY_DIGITS, StringIndex } from '../util/string-index.js';
import { isProduction } from '../util/production.js';
import { KeyedHash } from './hmac.js';

/** The pseudonymisation key: from OPALITE_PSEUDONYM_KEY, a key file, or a generated development key. */
export interface PseudonymKey {
  key: Buffer;
  /** Where it came from, for messages (never the key itself). */
  source: string;
}

/** Default home for development secrets: outside any repository. */
export function opaliteHome(): string {
  return process.env.OPALITE_HOME ?? path.join(os.homedir(), '.config', 'opalite');
}

/**
 * Resolves the key: the environment variable (hex or base64, at least 32 bytes)
 * wins, then `keyFile`, then, outside production only, a development key
 * generated once under opaliteHome() with mode 0600. In production
 * (isProduction) the fallback is refused: a key made on the spot would hash
 * this delivery's ids under a key the next ingest does not have.
 */
export function loadPseudonymKey(keyFile?: string): PseudonymKey {
  const fromEnv = process.env.OPALITE_PSEUDONYM_KEY;
  if (fromEnv) return { key: decodeKey(fromEnv, 'OPALITE_PSEUDONYM_KEY'), source: 'OPALITE_PSEUDONYM_KEY' };
  if (!keyFile && isProduction()) {
    throw new IngestError(
      'KEY_MISSING',
      'pseudonymisation key: expected OPALITE_PSEUDONYM_KEY or --key-file in production (NODE_ENV=production), found none; a generated development key is never used in production',
    );
  }
  const file = keyFile ?? path.join(opaliteHome(), 'pseudonym.key');
  if (!fs.existsSync(file)) {
    if (keyFile) throw new IngestError('KEY_MISSING', `${file}: pseudonymisation key file does not exist`);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return { key: decodeKey(fs.readFileSync(file, 'utf8').trim(), file), source: file };
}

function decodeKey(text: string, source: string): Buffer {
  const key = /^[0-9a-fA-F]+$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length < 32) {
    throw new IngestError('KEY_TOO_SHORT', `${source}: expected a key of at least 32 bytes, found ${key.length}`);
  }
  return key;
}

/** A public identifier of the key, so a store refuses ids hashed under another key. */
export function keyFingerprint(key: Buffer): string {
  return crypto.createHmac('sha256', key).update('opalite/key-fingerprint/v1').digest('hex').slice(0, 16);
}

/** HMAC-SHA-256 of one identifier. Ids are trimmed first so ` 123` and `123` are one subscriber. */
export function pseudonym(key: Buffer, id: string): Buffer {
  return crypto.createHmac('sha256', key).update(id.trim(), 'utf8').digest();
}

/**
 * Dense subscriber indexes: index i is the i-th distinct pseudonym the store has
 * seen, so kernels address per-subscriber state with plain arrays. Persisted as
 * the concatenation of the 32-byte hashes in index order.
 *
 * Keyed by the hash itself (open addressing on its first four bytes, which are
 * already uniform), so parsers on other threads can hand over hashes they
 * computed, and raw ids never need to cross a thread.
 */
export class SubscriberDictionary {
  /** The hashes in index order, HASH_BYTES each; grown by doubling. */
  private hashes: Uint8Array;
  private count = 0;
  /** Open-addressing slots: index + 1, 0 = empty. */
  private slots: Int32Array;
  private readonly keyed: KeyedHash;
  /** Raw id -> index, only for this process's lifetime: saves one HMAC per row of typed files. */
  private readonly rawCache = new StringIndex();
  /** rawCache slot -> subscriber index. */
  private readonly rawIndex: number[] = [];
  /** All-digit raw ids -> index (see digitsKey), and scratch for their key. */
  private readonly numeric = new IntPairIndex(1 << 12);
  private readonly digits = new Uint8Array(MAX_KEY_DIGITS);
  private readonly key = new Int32Array(2);

  constructor(key: Buffer, persisted?: Buffer) {
    this.keyed = new KeyedHash(key);
    if (persisted && persisted.length % HASH_BYTES !== 0) throw new Error('subscriber dictionary length is not a multiple of 32');
    const n = persisted ? persisted.length / HASH_BYTES : 0;
    this.hashes = new Uint8Array(Math.max(1024, n * 2) * HASH_BYTES);
    this.slots = new Int32Array(slotsFor(n));
    if (persisted) for (let i = 0; i < n; i++) this.indexOfHash(persisted, i * HASH_BYTES);
  }

  get size(): number {
    return this.count;
  }

  /** The index of a raw identifier, adding it when new. */
  indexOf(rawId: string): number {
    // Numeric ids (MSISDNs) by their digits: one probe of a flat table, no string compared.
    const n = rawId.length;
    let ascii = n <= MAX_KEY_DIGITS;
    for (let i = 0; i < n && ascii; i++) {
      const c = rawId.charCodeAt(i);
      ascii = c <= 0x7f;
      this.digits[i] = c;
    }
    if (ascii && digitsKey(this.digits, 0, n, this.key)) {
      let index = this.numeric.get(this.key[0]!, this.key[1]!);
      if (index < 0) {
        index = this.indexOfHash(this.keyed.digest(this.digits.subarray(0, n)), 0);
        this.numeric.getOrAdd(this.key[0]!, this.key[1]!, index);
      }
      return index;
    }
    const slot = this.rawCache.get(rawId);
    if (slot >= 0) return this.rawIndex[slot]!;
    const index = this.indexOfHash(this.keyed.digest(Buffer.from(rawId.trim(), 'utf8')), 0);
    this.rawIndex[this.rawCache.add(rawId)] = index;
    return index;
  }

  /**
   * The index of the all-digit id whose digitsKey is [hi, lo], adding it when
   * new: its digits are rebuilt from the key and HMAC'd only when this
   * dictionary has not met the key before (CSV parsers hand over keys, not pseudonyms).
   */
  indexOfDigitsKey(hi: number, lo: number): number {
    let index = this.numeric.get(hi, lo);
    if (index >= 0) return index;
    const n = digitsOfKey(hi, lo, this.digits);
    index = this.indexOfHash(this.keyed.digest(this.digits.subarray(0, n)), 0);
    this.numeric.getOrAdd(hi, lo, index);
    return index;
  }

  /**
   * The indexes of a batch's new parser ids, in id order, into `out` from `at`:
   * `keys` as ParsedEvents.newSubscriberKeys (an all-digit id's digitsKey, or
   * [0, 0] for the next pseudonym of `pseudonyms`). The all-digit ids this
   * dictionary has not met are HMAC'd together (KeyedHash.digestMany), then
   * every id is added in order, as one indexOfDigitsKey or indexOfHash call
   * each would add it.
   */
  indexesOf(keys: Int32Array, pseudonyms: Uint8Array, out: Uint32Array, at: number): void {
    const n = keys.length / 2;
    // Read each key's home slot first, in a loop with nothing else in it, so that the
    // cache misses of a table far larger than the caches overlap (IntPairIndex.touch).
    let touched = 0;
    for (let j = 0; j < n; j++) touched |= this.numeric.touch(keys[2 * j]!, keys[2 * j + 1]!);
    this.touched = touched;
    let missing = 0;
    for (let j = 0; j < n; j++) {
      const hi = keys[2 * j]!;
      const index = hi === 0 ? -1 : this.numeric.get(hi, keys[2 * j + 1]!);
      out[at + j] = index < 0 ? NOT_FOUND : index;
      if (hi !== 0 && index < 0) missing++;
    }
    const text = this.batchText(MAX_KEY_DIGITS * missing);
    const bounds = this.batchBounds(2 * missing);
    let m = 0;
    for (let j = 0; j < n; j++) {
      const hi = keys[2 * j]!;
      if (hi === 0 || out[at + j] !== NOT_FOUND) continue;
      const start = m === 0 ? 0 : bounds[2 * m - 1]!;
      bounds[2 * m] = start;
      bounds[2 * m + 1] = start + digitsOfKey(hi, keys[2 * j + 1]!, text, start);
      m++;
    }
    const hashes = this.batchHashes(missing);
    this.keyed.digestMany(text, bounds, missing, hashes);
    let h = 0;
    m = 0;
    for (let j = 0; j < n; j++) {
      const hi = keys[2 * j]!;
      if (hi === 0) {
        out[at + j] = this.indexOfHash(pseudonyms, h++ * HASH_BYTES);
      } else if (out[at + j] === NOT_FOUND) {
        const index = this.indexOfHash(hashes, m++ * HASH_BYTES);
        this.numeric.getOrAdd(hi, keys[2 * j + 1]!, index);
        out[at + j] = index;
      }
    }
  }

  /** Keeps indexesOf's reads from being optimised away. */
  touched = 0;
  // Scratch for indexesOf, grown to the largest batch.
  private text = new Uint8Array(0);
  private bounds = new Uint32Array(0);
  private hashScratch = new Uint8Array(0);
  private batchText(n: number): Uint8Array {
    if (this.text.length < n) this.text = new Uint8Array(2 * n);
    return this.text;
  }
  private batchBounds(n: number): Uint32Array {
    if (this.bounds.length < n) this.bounds = new Uint32Array(2 * n);
    return this.bounds;
  }
  private batchHashes(n: number): Uint8Array {
    if (this.hashScratch.length < n * HASH_BYTES) this.hashScratch = new Uint8Array(2 * n * HASH_BYTES);
    return this.hashScratch;
  }

  /** The index of the pseudonym at bytes [at, at + 32) of `hash`, adding it when new. */
  indexOfHash(hash: Uint8Array, at: number): number {
    const mask = this.slots.length - 1;
    const hashes = this.hashes;
    let i = ((hash[at]! << 24) | (hash[at + 1]! << 16) | (hash[at + 2]! << 8) | hash[at + 3]!) & mask;
    for (; ; i = (i + 1) & mask) {
      const s = this.slots[i]!;
      if (s === 0) break;
      const base = (s - 1) * HASH_BYTES;
      let same = true;
      for (let b = 0; b < HASH_BYTES && same; b++) same = hashes[base + b] === hash[at + b];
      if (same) return s - 1;
    }
    const index = this.count++;
    if (this.count * HASH_BYTES > this.hashes.length) {
      const grown = new Uint8Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes.set(hash.subarray(at, at + HASH_BYTES), index * HASH_BYTES);
    this.slots[i] = index + 1;
    if (this.count * 2 > this.slots.length) this.rehash();
    return index;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    const h = this.hashes;
    for (let index = 0; index < this.count; index++) {
      const at = index * HASH_BYTES;
      let i = ((h[at]! << 24) | (h[at + 1]! << 16) | (h[at + 2]! << 8) | h[at + 3]!) & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = index + 1;
    }
  }

  /** The pseudonym of an index, hex, as results that need a stable id would show it. */
  hashOf(index: number): string {
    return Buffer.from(this.hashes.buffer, this.hashes.byteOffset + index * HASH_BYTES, HASH_BYTES).toString('hex');
  }

  serialise(): Buffer {
    return Buffer.from(this.hashes.slice(0, this.count * HASH_BYTES).buffer);
  }
}

/** indexesOf: an id not found yet. */
const NOT_FOUND = 0xffffffff;

/** A power of two at least twice `n` (load factor <= 1/2). */
function slotsFor(n: number): number {
  let cap = 2048;
  while (cap < n * 2) cap *= 2;
  return cap;
}
