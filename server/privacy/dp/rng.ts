/**
 * The only source of randomness for differential privacy: a keyed CSPRNG
 * stream. The key is HMAC-SHA256(server secret, labels), the stream is
 * AES-256-CTR's keystream under that key (zero IV: each key is used for one
 * stream only). So the same (secret, labels) replays the same noise (a query
 * asked again returns the same noisy answer), and different labels give
 * streams that are independent for anyone without the secret. Never
 * Math.random: noise that can be predicted or replayed by an analyst is no
 * noise (Mironov 2012 shows what floats do to it as well).
 */
import { createCipheriv, createHmac, type Cipher } from 'node:crypto';

const DOMAIN = 'opalite-dp/v1';
const CHUNK = 4096;
const ZEROS = Buffer.alloc(CHUNK);

export class KeyedRandom {
  private readonly cipher: Cipher;
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;

  /** `secret`: the server's DP secret (at least 32 bytes); `labels`: what this stream is for (query id, node, row key). */
  constructor(secret: Uint8Array, ...labels: readonly string[]) {
    if (secret.length < 32) throw new Error(`dp secret: expected at least 32 bytes, found ${secret.length}`);
    const h = createHmac('sha256', secret);
    // Length-prefixed labels: ('ab', 'c') and ('a', 'bc') must not share a stream.
    h.update(DOMAIN);
    for (const l of labels) h.update(`\0${Buffer.byteLength(l)}:${l}`);
    this.cipher = createCipheriv('aes-256-ctr', h.digest(), Buffer.alloc(16));
  }

  /** The next byte of the stream (the samplers' fast paths read it directly). */
  byte(): number {
    if (this.at === this.buf.length) {
      this.buf = this.cipher.update(ZEROS);
      this.at = 0;
    }
    return this.buf[this.at++]!;
  }

  /** 32 uniform bits as an unsigned integer. */
  uint32(): number {
    return ((this.byte() << 24) | (this.byte() << 16) | (this.byte() << 8) | this.byte()) >>> 0;
  }

  /** A uniform integer in [0, n), n >= 1, exactly (rejection, no modulo bias). */
  below(n: bigint): bigint {
    if (n <= 0n) throw new RangeError(`below: expected n >= 1, found ${n}`);
    if (n === 1n) return 0n;
    const bits = (n - 1n).toString(2).length;
    const bytes = Math.ceil(bits / 8);
    const topMask = (1 << (bits - 8 * (bytes - 1))) - 1;
    for (;;) {
      let v = BigInt(this.byte() & topMask);
      for (let i = 1; i < bytes; i++) v = (v << 8n) | BigInt(this.byte());
      if (v < n) return v;
    }
  }

  /**
   * below(n) for a Number n, 1 <= n <= 2^53: the same bytes read in the same
   * order and the same value as below(BigInt(n)), in Number arithmetic (every
   * intermediate stays below 2^53, so it is exact).
   */
  belowNumber(n: number): number {
    if (n === 1) return 0;
    const bits = bitLength(n - 1);
    const bytes = Math.ceil(bits / 8);
    const topMask = (1 << (bits - 8 * (bytes - 1))) - 1;
    for (;;) {
      let v = this.byte() & topMask;
      for (let i = 1; i < bytes; i++) v = v * 256 + this.byte();
      if (v < n) return v;
    }
  }

  /** Advances the stream by `count` bytes, as reading them would. */
  skip(count: number): void {
    while (count > 0) {
      if (this.at === this.buf.length) {
        this.buf = this.cipher.update(ZEROS);
        this.at = 0;
      }
      const step = Math.min(count, this.buf.length - this.at);
      this.at += step;
      count -= step;
    }
  }
}

/** Bits of a non-negative integer x < 2^53 (0 for 0), exactly: the division by 2^32 of an integer is exact. */
export function bitLength(x: number): number {
  if (x < 2 ** 32) return 32 - Math.clz32(x);
  return 64 - Math.clz32(Math.floor(x / 2 ** 32));
}
