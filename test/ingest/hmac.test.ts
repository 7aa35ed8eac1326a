import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyedHash, ONE_BLOCK_MAX } from '../../server/ingest/hmac.js';
import { rng } from '../util/rng.js';

describe('KeyedHash', () => {
  it('equals node:crypto HMAC-SHA-256 for every message length 0..120, for short, block-sized and long keys', () => {
    const r = rng(5);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
    for (const keyLength of [32, 64, 65, 100]) {
      const key = bytes(keyLength);
      const keyed = new KeyedHash(key);
      for (let n = 0; n <= 120; n++) {
        const msg = bytes(n + 7);
        const out = Buffer.alloc(40);
        keyed.digestInto(msg, 3, 3 + n, out, 5);
        const expected = crypto.createHmac('sha256', key).update(msg.subarray(3, 3 + n)).digest();
        expect(out.subarray(5, 37).toString('hex'), `key ${keyLength}, message ${n}`).toBe(expected.toString('hex'));
      }
    }
    expect(ONE_BLOCK_MAX).toBe(55);
  });

  it('hashes many messages at once (four lanes at a time) exactly as one by one, for batch sizes around the lane count and a long message', () => {
    const r = rng(9);
    const key = Buffer.from(Array.from({ length: 32 }, () => Math.floor(r() * 256)));
    const keyed = new KeyedHash(key);
    for (const n of [0, 1, 3, 15, 16, 17, 18, 19, 250]) {
      for (const long of n > 0 ? [false, true] : [false]) {
        const lengths = Array.from({ length: n }, (_, i) => (long && i === n >> 1 ? 56 + Math.floor(r() * 40) : Math.floor(r() * (ONE_BLOCK_MAX + 1))));
        const msgs = Buffer.from(Array.from({ length: lengths.reduce((a, b) => a + b, 0) }, () => Math.floor(r() * 256)));
        const bounds = new Uint32Array(2 * n);
        for (let i = 0, at = 0; i < n; at += lengths[i]!, i++) bounds.set([at, at + lengths[i]!], 2 * i);
        const out = new Uint8Array(32 * n);
        keyed.digestMany(msgs, bounds, n, out);
        for (let i = 0; i < n; i++) {
          const expected = crypto.createHmac('sha256', key).update(msgs.subarray(bounds[2 * i]!, bounds[2 * i + 1]!)).digest('hex');
          expect(Buffer.from(out.subarray(32 * i, 32 * i + 32)).toString('hex'), `batch ${n}, message ${i} of ${lengths[i]} bytes`).toBe(expected);
        }
      }
    }
  });
});
