/**
 * Raw phone numbers. Subscribers get "22507" + 8 digits, off-network parties
 * "22505" + 8 digits (another operator's prefix). A subscriber's 8 digits
 * are a keyed permutation of their index, so numbers are unique by
 * construction and look random (no runs of consecutive numbers).
 *
 * Rows carry the 8-digit number as an integer and writers spell it out, so
 * writing a row never looks up a per-subscriber text table (a cache miss per
 * field with millions of subscribers).
 */
import { hashString, mix32 } from './prng.js';

export const MSISDN_LENGTH = 13;
/** Numbers per prefix: 8 digits. */
export const NUMBER_SPACE = 100_000_000;
const ON_NET_PREFIX = [50, 50, 53, 48, 55]; // "22507"
const OFF_NET_PREFIX = [50, 50, 53, 48, 53]; // "22505"

/** "00" .. "99" as byte pairs. */
const PAIRS = (() => {
  const out = new Uint8Array(200);
  for (let i = 0; i < 100; i++) {
    out[2 * i] = 48 + Math.floor(i / 10);
    out[2 * i + 1] = 48 + (i % 10);
  }
  return out;
})();

/** The permutation key of a seed's subscriber numbers. */
export function numberKey(seed: string): number {
  return hashString(`${seed}/msisdn`);
}

/**
 * A bijection on [0, 10^8): a 4-round Feistel network on 28 bits with
 * cycle-walking back into range (2^28 / 10^8 < 3 steps on average).
 * see: J. Black, P. Rogaway, "Ciphers with Arbitrary Finite Domains", 2002
 */
export function permuteNumber(i: number, key: number): number {
  let x = i;
  do {
    let left = x >>> 14;
    let right = x & 0x3fff;
    for (let round = 0; round < 4; round++) {
      const next = left ^ (mix32(key ^ mix32(right + round * 0x4000)) & 0x3fff);
      left = right;
      right = next;
    }
    x = (left << 14) | right;
  } while (x >= NUMBER_SPACE);
  return x;
}

/** Writes "22507" + the 8 digits of on-network number n (13 bytes) at out[at..]. */
export function writeOnNet(out: Uint8Array, at: number, n: number): void {
  for (let k = 0; k < 5; k++) out[at + k] = ON_NET_PREFIX[k]!;
  writeDigits8(out, at + 5, n);
}

/** Writes "22505" + the 8 digits of off-network number n (13 bytes) at out[at..]. */
export function writeOffNet(out: Uint8Array, at: number, n: number): void {
  for (let k = 0; k < 5; k++) out[at + k] = OFF_NET_PREFIX[k]!;
  writeDigits8(out, at + 5, n);
}

/** Eight digits, zero-padded, two at a time. */
function writeDigits8(out: Uint8Array, at: number, n: number): void {
  for (let k = 6; k >= 0; k -= 2) {
    const pair = n % 100;
    n = (n - pair) / 100;
    out[at + k] = PAIRS[2 * pair]!;
    out[at + k + 1] = PAIRS[2 * pair + 1]!;
  }
}
